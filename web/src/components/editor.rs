//! The pattern editor (CodeMirror) and its diagnostics list.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use leptos::html::Div;
use leptos::prelude::*;

use crate::ffi;
use crate::state::AppState;

/// Delay between the last keystroke and the render.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// Editor plus diagnostics.
#[component]
pub fn EditorPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let host = NodeRef::<Div>::new();
    Effect::new(move |_| {
        let Some(el) = host.get() else { return };
        if state.editor.with_value(Option::is_some) {
            return;
        }
        let pending: Rc<RefCell<Option<TimeoutHandle>>> = Rc::default();
        let on_change = ffi::callback(move |text: String| {
            if let Some(h) = pending.borrow_mut().take() {
                h.clear();
            }
            let handle = set_timeout_with_handle(move || state.session.update(|s| s.text = text), DEBOUNCE);
            *pending.borrow_mut() = handle.ok();
        });
        let on_run = ffi::callback0(move || state.run_checks(true));
        let text = state.session.with_untracked(|s| s.text.clone());
        let editor = ffi::yaml_editor(&el, &text, &on_change, &on_run);
        let markers = state.eval.with_untracked(|e| serde_json::to_string(&e.panes.markers).unwrap_or_default());
        editor.set_markers(&markers, &text);
        state.editor.set_value(Some(editor));
    });
    let diagnostics = move || {
        let ev = state.eval.get();
        if ev.panes.markers.is_empty() {
            return view! { <p class="ok" data-testid="no-diagnostics">"No problems."</p> }.into_any();
        }
        view! {
            <ul class="diagnostics" data-testid="diagnostics">
                {ev
                    .panes.markers
                    .iter()
                    .map(|m| {
                        let from = u32::try_from(m.from).unwrap_or(u32::MAX);
                        let full = m.rendered.clone();
                        view! {
                            <li class=m.severity.clone()>
                                <button
                                    class="diagnostic"
                                    title="Jump to this place in the editor"
                                    on:click=move |_| state.with_editor(|e| e.jump(from))
                                >
                                    <span class="loc">{format!("{}:{}", m.line, m.column)}</span>
                                    " "
                                    <span class="sev">{m.severity.clone()}</span>
                                    ": "
                                    {m.message.clone()}
                                </button>
                                <details>
                                    <summary>"full message"</summary>
                                    <pre class="rendered">{full}</pre>
                                </details>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any()
    };
    let override_error =
        move || state.eval.with(|e| e.panes.override_error.clone()).map(|e| view! { <p class="error" role="alert">{e}</p> });
    view! {
        <section class="panel editor-panel" aria-label="Pattern editor">
            <div class="panel-head">
                <h2>{move || state.session.with(|s| s.name.clone())}</h2>
                <span class="muted" data-testid="render-time">
                    {move || format!("rendered in {:.1} ms", state.render_ms.get())}
                </span>
            </div>
            <div class="editor" node_ref=host data-testid="editor"></div>
            {override_error}
            {diagnostics}
        </section>
    }
}
