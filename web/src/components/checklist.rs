//! The contributor checklist: what CI will check on a pull request, with its state here.

use leptos::prelude::*;

use crate::checklist::check_lines;
use crate::client;
use crate::state::AppState;
use crate::wire::{Reply, Request};

/// Contributor checklist.
#[component]
pub fn ChecklistPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    // The static part renders the pattern over CI's 16 seeds in the engine worker (~100 ms
    // for the largest pattern): for the latest evaluation once the author has paused for
    // 400 ms, so that a render after a keystroke never waits behind it in the worker.
    let fixed = RwSignal::new(Vec::new());
    let pending = StoredValue::new_local(None::<TimeoutHandle>);
    Effect::new(move |_| {
        state.eval.track();
        pending.update_value(|p| {
            if let Some(h) = p.take() {
                h.clear();
            }
        });
        let handle = set_timeout_with_handle(
            move || {
                let id = state.eval.with_untracked(|ev| ev.id);
                leptos::task::spawn_local(async move {
                    // An answer for an evaluation that is no longer shown is dropped.
                    if let Some(Ok(Reply::Checklist { id: of, lines })) = client::call(&Request::Checklist { id }, "checklist").await
                        && state.eval.with_untracked(|ev| ev.id) == of
                    {
                        fixed.set(lines);
                    }
                });
            },
            std::time::Duration::from_millis(400),
        );
        pending.set_value(handle.ok());
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
