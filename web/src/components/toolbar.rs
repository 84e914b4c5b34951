//! The header: new pattern, download, permalink, theme.

use leptos::prelude::*;

use crate::browser;
use crate::session::Session;
use crate::state::{AppState, THEME_KEY};

/// The starting point of "New pattern".
pub const NEW_PATTERN: &str = include_str!("../../templates/new_pattern.yaml");

/// A file name for downloads: the session's base name.
fn file_name(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    if base.ends_with(".yaml") || base.ends_with(".yml") { base.to_owned() } else { format!("{base}.yaml") }
}

/// Header and toolbar.
#[component]
pub fn Toolbar() -> impl IntoView {
    let state = expect_context::<AppState>();
    let link = RwSignal::new(None::<String>);
    let new_pattern = move |_| {
        state.open(Session {
            name: "my_new_pattern.yaml".into(),
            category: "best_practices".into(),
            text: NEW_PATTERN.into(),
            seed: "0".into(),
            index: "0".into(),
            params: Vec::new(),
        });
    };
    let download = move |_| state.session.with_untracked(|s| browser::download(&file_name(&s.name), &s.text));
    let permalink = move |_| {
        let url = browser::set_fragment(&state.session.with_untracked(Session::to_fragment));
        browser::copy(&url);
        link.set(Some(url));
    };
    let toggle_theme = move |_| {
        let dark = !state.dark.get_untracked();
        state.dark.set(dark);
        browser::apply_theme(dark);
        browser::store(THEME_KEY, if dark { "dark" } else { "light" });
    };
    view! {
        <header class="toolbar">
            <h1>"PLSE playground"</h1>
            <button on:click=new_pattern data-testid="new-pattern">"New pattern"</button>
            <button on:click=download data-testid="download">"Download YAML"</button>
            <button on:click=permalink data-testid="permalink" title="Put the pattern, seed and parameters in the URL">
                "Permalink"
            </button>
            <button
                on:click=toggle_theme
                data-testid="theme"
                aria-label="Switch between light and dark mode"
                aria-pressed=move || state.dark.get().to_string()
            >
                {move || if state.dark.get() { "Light mode" } else { "Dark mode" }}
            </button>
            {move || {
                link.get()
                    .map(|url| {
                        view! {
                            <label class="link">
                                <span>"Link (copied):"</span>
                                <input readonly type="text" data-testid="permalink-url" prop:value=url />
                            </label>
                        }
                    })
            }}
        </header>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Input, evaluate};

    #[test]
    fn the_new_pattern_template_renders_and_passes_lint() {
        let ev =
            evaluate(&Input { name: "my_new_pattern.yaml", text: NEW_PATTERN, category: "best_practices", seed: 0, index: 0, params: &[] });
        assert!(!ev.panes.has_errors && ev.panes.markers.is_empty(), "{}", ev.panes.diagnostics_text);
        let pattern = ev.pattern.unwrap();
        let report = plse_render::lint::lint(&pattern, "best_practices", &plse_schema::SourceFile::new("n.yaml", NEW_PATTERN), 0..16);
        assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    }

    #[test]
    fn download_names() {
        assert_eq!(file_name("anti_patterns/x.yaml"), "x.yaml");
        assert_eq!(file_name("mine"), "mine.yaml");
    }
}
