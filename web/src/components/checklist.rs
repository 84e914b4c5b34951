//! The contributor checklist: what CI will check on a pull request, with its state here.

use leptos::prelude::*;

use crate::checklist::{check_lines, static_lines};
use crate::state::AppState;

/// Contributor checklist.
#[component]
pub fn ChecklistPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    // The static part renders the pattern over CI's seeds: once per evaluation, not again
    // when check results arrive.
    let fixed = Memo::new(move |_| {
        let ev = state.eval.get();
        let library = state.library.get_value();
        state.session.with_untracked(|s| static_lines(&s.name, &s.text, &s.category, &ev, &library))
    });
    let lines = move || {
        let mut all = fixed.get();
        all.extend(state.eval.with(|ev| state.checks.with(|c| check_lines(ev, c))));
        all
    };
    view! {
        <section class="panel checklist" aria-label="Contributor checklist">
            <h2>"Before you open a pull request"</h2>
            <ul data-testid="checklist">
                {move || {
                    lines()
                        .into_iter()
                        .map(|l| {
                            view! {
                                <li class=l.state.as_str() data-state=l.state.as_str()>
                                    <span class="state">{l.state.as_str()}</span>
                                    " "
                                    <strong>{l.title}</strong>
                                    " — "
                                    <code>{l.command}</code>
                                    <div class="detail">{l.detail}</div>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </section>
    }
}
