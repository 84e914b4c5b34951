//! Output tabs: instruction, code (highlighted, with ruff markers), tests, explanation, the
//! flawed/fixed diff of paired patterns, the training row (task, user and assistant turns), and
//! the JSON row and preference pair exactly as `plse-batch render --row / --preference` print them.

use leptos::html::Div;
use leptos::prelude::*;

use crate::checks::RuffFinding;
use crate::ffi;
use crate::state::{AppState, Tab};
use crate::wire::{RowView, SampleView};

#[derive(serde::Serialize)]
struct CodeMarker {
    row: usize,
    column: usize,
    end_row: usize,
    end_column: usize,
    severity: &'static str,
    message: String,
}

fn code_markers(findings: &[RuffFinding]) -> String {
    let rules = plse_check::reject::default_rules();
    let markers: Vec<CodeMarker> = findings
        .iter()
        .map(|f| CodeMarker {
            row: f.row,
            column: f.column,
            end_row: f.end_row,
            end_column: f.end_column,
            severity: if plse_check::rejects(&rules, &f.code) { "error" } else { "warning" },
            message: format!("{} {}", f.code, f.message),
        })
        .collect();
    serde_json::to_string(&markers).unwrap_or_default()
}

/// Runs `f` on the CodeMirror view kept in `slot`, creating it in `host` on first use (a view
/// is created once its tab is first shown, and kept).
fn with_view<V: 'static>(
    slot: StoredValue<Option<V>, LocalStorage>,
    host: &web_sys::HtmlElement,
    make: fn(&web_sys::HtmlElement) -> V,
    f: impl FnOnce(&V),
) {
    if slot.with_value(Option::is_none) {
        slot.set_value(Some(make(host)));
    }
    slot.with_value(|v| {
        if let Some(v) = v {
            f(v);
        }
    });
}

/// What the task means, next to its name.
fn task_note(task: Option<&str>) -> &'static str {
    match task {
        Some("write") => " — write the code; the answer is the code and the explanation",
        Some("fix") => {
            " — the flawed code is in the prompt; the answer explains the flaw and gives the fix (set is_anti_pattern to switch)"
        }
        Some("compare") => " — the answer states the rule for choosing, then the code that measures both",
        _ => "",
    }
}

/// The output tabs.
#[component]
pub fn OutputPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let code_host = NodeRef::<Div>::new();
    let tests_host = NodeRef::<Div>::new();
    let diff_host = NodeRef::<Div>::new();
    let code_view = StoredValue::new_local(None::<ffi::CodeView>);
    let tests_view = StoredValue::new_local(None::<ffi::CodeView>);
    // The tests, highlighted, one block per snippet under a comment naming it.
    Effect::new(move |_| {
        let Some(el) = tests_host.get() else { return };
        // Hidden views are brought up to date when their tab is opened.
        if state.tab.get() != Tab::Tests {
            return;
        }
        let text = state.eval.with(|e| {
            e.sample
                .as_ref()
                .map(|s| {
                    s.tests
                        .iter()
                        .enumerate()
                        .map(|(i, t)| format!("# ── test {} ──\n{}", i + 1, t.trim_end()))
                        .collect::<Vec<_>>()
                        .join("\n\n")
                })
                .unwrap_or_default()
        });
        with_view(tests_view, &el, ffi::code_view, |v| v.show(&text, "python", "[]"));
    });
    let diff_view = StoredValue::new_local(None::<ffi::DiffView>);
    // The code view follows the sample and ruff's findings for the drawn side.
    Effect::new(move |_| {
        let Some(el) = code_host.get() else { return };
        if state.tab.get() != Tab::Code {
            return;
        }
        let ev = state.eval.get();
        let findings = state.checks.with(|c| {
            let drawn = ev.sample.as_ref().map_or("sample", |s| s.side.as_str());
            c.lint.as_ref().and_then(|l| l.iter().find(|r| r.side == drawn)).map(|r| r.findings.clone()).unwrap_or_default()
        });
        let (text, lang) = ev.sample.as_ref().map_or((String::new(), "text"), |s| (s.code.clone(), s.language.as_str()));
        with_view(code_view, &el, ffi::code_view, |v| v.show(&text, lang, &code_markers(&findings)));
    });
    // The diff is rebuilt when shown (CodeMirror measures itself on creation).
    Effect::new(move |_| {
        let Some(el) = diff_host.get() else { return };
        if state.tab.get() != Tab::Diff {
            return;
        }
        let ev = state.eval.get();
        let Some(((flawed, fixed), lang)) = ev.sample.as_ref().and_then(|s| s.pair.as_ref().map(|p| (p, s.language.as_str()))) else {
            return;
        };
        with_view(diff_view, &el, ffi::diff_view, |v| v.show_diff(flawed, fixed, lang));
    });
    let paired = move || state.eval.with(|e| e.sample.as_ref().is_some_and(|s| s.pair.is_some()));
    let tab_button = move |tab: Tab, label: &'static str| {
        view! {
            <button
                role="tab"
                class="tab"
                data-tab=label
                aria-selected=move || (state.tab.get() == tab).to_string()
                on:click=move |_| state.tab.set(tab)
            >
                {label}
            </button>
        }
    };
    let sample_text = move |f: fn(&SampleView) -> String| move || state.eval.with(|e| e.sample.as_ref().map(f).unwrap_or_default());
    let shown = move |tab: Tab| move || state.tab.get() != tab;
    let row_text = move |f: fn(&RowView) -> String| move || state.eval.with(|e| e.row.as_ref().map(f).unwrap_or_default());
    let stale = move || state.eval.with(|e| e.panes.stale);
    view! {
        <section class="panel output" class:stale=stale aria-label="Rendered sample">
            <Show when=stale>
                <p class="stale-note" role="status" data-testid="stale">
                    "Stale: the file has errors, so this is the last sample that rendered. Fix the errors to see the current version."
                </p>
            </Show>
            <div role="tablist" class="tabs">
                {tab_button(Tab::Instruction, "Instruction")}
                {tab_button(Tab::Code, "Code")}
                {tab_button(Tab::Tests, "Tests")}
                {tab_button(Tab::Explanation, "Explanation")}
                <Show when=paired>{tab_button(Tab::Diff, "Flawed vs fixed")}</Show>
                {tab_button(Tab::Row, "Training row")}
                {tab_button(Tab::Json, "JSON row")}
            </div>
            <div class="tab-body" role="tabpanel" hidden=shown(Tab::Instruction) data-testid="out-instruction">
                <pre class="prose">{sample_text(|s| s.instruction.clone())}</pre>
            </div>
            <div class="tab-body code-host" role="tabpanel" hidden=shown(Tab::Code) node_ref=code_host data-testid="out-code"></div>
            <div class="tab-body code-host" role="tabpanel" hidden=shown(Tab::Tests) node_ref=tests_host data-testid="out-tests"></div>
            <div class="tab-body" role="tabpanel" hidden=shown(Tab::Explanation) data-testid="out-explanation">
                <pre class="prose">{sample_text(|s| s.explanation.clone().unwrap_or_else(|| "(this pattern has no explanation)".into()))}</pre>
            </div>
            <div class="tab-body diff-host" role="tabpanel" hidden=shown(Tab::Diff) node_ref=diff_host data-testid="out-diff"></div>
            <div class="tab-body" role="tabpanel" hidden=shown(Tab::Row) data-testid="out-training">
                <p class="task">
                    "Task: " <strong data-testid="out-task">{row_text(|r| r.task.clone())}</strong>
                    {move || state.eval.with(|e| task_note(e.row.as_ref().map(|r| r.task.as_str())))}
                </p>
                <h3>"User"</h3>
                <pre class="prose" data-testid="out-user">{row_text(|r| r.user.clone())}</pre>
                <h3>"Assistant (the training target)"</h3>
                <pre class="prose" data-testid="out-assistant">{row_text(|r| r.assistant.clone())}</pre>
            </div>
            <div class="tab-body" role="tabpanel" hidden=shown(Tab::Json)>
                <h3>"Row (" <code>"plse-batch render --row"</code> "; a generated dataset adds its " <code>"verification"</code> ")"</h3>
                <pre class="code" data-testid="out-row">{move || state.eval.with(|e| e.panes.row_json.clone())}</pre>
                <Show when=paired>
                    <h3>"Preference pair (" <code>"plse-batch render --preference"</code> ")"</h3>
                    <pre class="code" data-testid="out-preference">{move || state.eval.with(|e| e.panes.preference_json.clone().unwrap_or_default())}</pre>
                </Show>
                <h3>"Record (" <code>"plse-batch render --json"</code> ")"</h3>
                <pre class="code" data-testid="out-record">{move || state.eval.with(|e| e.panes.record_json.clone())}</pre>
            </div>
        </section>
    }
}
