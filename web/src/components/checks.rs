//! The checks panel: run button, loading state of both workers, ruff findings and the
//! per-snippet test results (pass/fail, stdout/stderr, duration).

use leptos::prelude::*;

use crate::state::{AppState, ToolStatus};

fn status_line(name: &'static str, s: ToolStatus) -> impl IntoView {
    view! {
        <span class="tool" data-tool=name data-state=s.state.clone()>
            <span class="dot"></span>
            {format!("{name}: {}", s.state)}
            {(!s.detail.is_empty()).then(|| format!(" ({})", s.detail))}
        </span>
    }
}

/// Browser checks.
#[component]
pub fn ChecksPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let lint = move || {
        state.checks.with(|c| {
            c.lint.as_ref().map(|results| {
                results
                    .iter()
                    .map(|r| {
                        let side = r.side.clone();
                        let items = if r.findings.is_empty() {
                            view! { <li class="pass">"no findings"</li> }.into_any()
                        } else {
                            r.findings
                                .iter()
                                .map(|f| view! { <li>{format!("{}:{} {} {}", f.row, f.column, f.code, f.message)}</li> })
                                .collect_view()
                                .into_any()
                        };
                        view! {
                            <div class="lint-side" data-side=side.clone()>
                                <h3>{format!("ruff — {side}")}</h3>
                                <ul class="findings">{items}</ul>
                            </div>
                        }
                    })
                    .collect_view()
            })
        })
    };
    let runs = move || {
        state.checks.with(|c| {
            if !c.unavailable.is_empty() {
                return Some(
                    view! {
                        <p class="local" data-testid="needs-batch">
                            {format!(
                                "This pattern needs {} — not available in the browser. Execution needs plse-batch: `plse-batch lint --exec`. Syntax and lint above still apply.",
                                c.unavailable.join(", "),
                            )}
                        </p>
                    }
                    .into_any(),
                );
            }
            let verdict = c.verdict.as_ref()?;
            c.runs.as_ref().map(|runs| {
                view! {
                    <ul class="runs" data-testid="runs">
                        {runs
                            .iter()
                            .zip(&verdict.passed)
                            .map(|(r, &passed)| {
                                let verdict = if r.timed_out {
                                    "timeout"
                                } else if passed {
                                    "pass"
                                } else {
                                    "fail"
                                };
                                let (label, expect) =
                                    if r.expect_failure { (format!("fixed {}", r.name), " (must fail on the flawed code)") } else { (r.name.clone(), "") };
                                view! {
                                    <li class=verdict data-verdict=verdict>
                                        <span class="verdict">{verdict.to_uppercase()}</span>
                                        {format!(" {} · {label}{expect} · {:.0} ms", r.side, r.duration_ms)}
                                        {(!r.stdout.is_empty()).then(|| view! { <details><summary>"stdout"</summary><pre>{r.stdout.clone()}</pre></details> })}
                                        {(!r.stderr.is_empty()).then(|| view! { <details><summary>"stderr"</summary><pre>{r.stderr.clone()}</pre></details> })}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                    <ul class="runs not-run" data-testid="not-run">
                        {c.not_run
                            .iter()
                            .map(|(side, label, kind)| {
                                view! {
                                    <li class="local" data-verdict="local">
                                        <span class="verdict">"LOCAL"</span>
                                        {format!(" {side} · {label} ({}) · not run in the browser: `plse-batch lint --exec` runs it in the sandbox", if kind == "compile" { "compile and security scan" } else { kind.as_str() })}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            })
        })
    };
    view! {
        <section class="panel checks" aria-label="Checks">
            <div class="panel-head">
                <h2>"Checks"</h2>
                <button
                    class="primary"
                    data-testid="run-checks"
                    title="Syntax, lint and unit tests (Ctrl+Enter)"
                    disabled=move || state.busy.get()
                    on:click=move |_| state.run_checks(true)
                >
                    {move || if state.busy.get() { "Running…" } else { "Run checks (Ctrl+Enter)" }}
                </button>
            </div>
            <div class="tools" aria-live="polite">
                {move || status_line("ruff", state.ruff.get())}
                {move || status_line("python", state.python.get())}
            </div>
            {move || state.check_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {lint}
            {runs}
        </section>
    }
}
