//! The library browser: search, category / difficulty / tag filters, and the list.

use leptos::prelude::*;

use crate::library::{Filter, Item, difficulty_name, facet};
use crate::state::AppState;

/// The library panel.
#[component]
pub fn LibraryPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let filter = RwSignal::new(Filter::default());
    let categories: fn(&[Item]) -> Vec<String> = |items| facet(items, |i| vec![i.category.clone()]);
    let difficulties: fn(&[Item]) -> Vec<String> =
        |items| facet(items, |i| i.difficulty.map(|d| difficulty_name(d).to_owned()).into_iter().collect());
    let tags: fn(&[Item]) -> Vec<String> = |items| facet(items, |i| i.tags.clone());
    let select = move |label: &'static str, testid: &'static str, options: fn(&[Item]) -> Vec<String>, set: fn(&mut Filter, String)| {
        view! {
            <label class="facet">
                <span>{label}</span>
                <select data-testid=testid on:change=move |ev| filter.update(|f| set(f, event_target_value(&ev)))>
                    <option value="">"any"</option>
                    {move || state.library.with(|items| options(items)).into_iter().map(|o| view! { <option value=o.clone()>{o.clone()}</option> }).collect_view()}
                </select>
            </label>
        }
    };
    let list = move || {
        let f = filter.get();
        let current = state.session.with(|s| s.name.clone());
        let items = state.library.get();
        if items.is_empty() {
            return view! { <p class="muted" role="status">"Loading the library…"</p> }.into_any();
        }
        let shown: Vec<usize> = (0..items.len()).filter(|&i| f.matches(&items[i])).collect();
        if shown.is_empty() {
            return view! { <p class="muted">"No pattern matches."</p> }.into_any();
        }
        view! {
            <ul class="library-list" aria-label="Library patterns">
                {shown
                    .into_iter()
                    .map(|i| {
                        let item = items[i].clone();
                        let active = item.path == current;
                        let path = item.path.clone();
                        view! {
                            <li>
                                <button
                                    class="library-item"
                                    class:active=active
                                    data-path=path
                                    title=item.description.clone()
                                    on:click=move |_| state.library.with_untracked(|items| state.open_item(&items[i]))
                                >
                                    <span class="item-id">{item.id.clone()}</span>
                                    <span class="item-meta">
                                        {item.category.clone()} " · " {item.difficulty.map(difficulty_name).unwrap_or("?")}
                                    </span>
                                </button>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <nav class="panel library" aria-label="Pattern library">
            <h2>"Library"</h2>
            <input
                type="search"
                placeholder="Search patterns"
                aria-label="Search patterns"
                data-testid="library-search"
                on:input=move |ev| filter.update(|f| f.query = event_target_value(&ev))
            />
            {select("Category", "filter-category", categories, |f, v| f.category = v)}
            {select("Difficulty", "filter-difficulty", difficulties, |f, v| f.difficulty = v)}
            {select("Tag", "filter-tag", tags, |f, v| f.tag = v)}
            {list}
        </nav>
    }
}
