//! The contributor checklist: what CI checks when a pattern arrives in a pull request
//! (`cargo xtask ci` runs `plse-batch lint`, `lint --exec` and `catalog --check`), each with
//! its state for the pattern being edited, as far as the browser can know it.

use plse_check::{CI_SEEDS, REJECT_RULES, RunResult, rejects};
use plse_render::lint::lint;
use plse_schema::SourceFile;
use serde::{Deserialize, Serialize};

use crate::checks::LintResult;
use crate::engine::Evaluation;
use crate::library::Item;
use crate::wire::{PlanView, Shown, Verdict};

/// The state of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Checked here and fine.
    Pass,
    /// Checked here and failing.
    Fail,
    /// Checkable here, not run yet (run the checks).
    Pending,
    /// Only `plse-batch` can check it (sandbox, native modules, repository files).
    Local,
}

impl State {
    /// Lower-case name (CSS class, test hook).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Pending => "pending",
            Self::Local => "local",
        }
    }
}

/// One checklist line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// What CI checks.
    pub title: String,
    /// The CI command doing it.
    pub command: String,
    /// State here.
    pub state: State,
    /// Why (the first problem, or what to do).
    pub detail: String,
}

/// What the browser's checks found, if they ran for the current sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckState {
    /// Ruff results.
    pub lint: Option<Vec<LintResult>>,
    /// Python runs.
    pub runs: Option<Vec<RunResult>>,
    /// Modules the browser lacks (execution needs plse-batch).
    pub unavailable: Vec<String>,
    /// The runs of the plan only plse-batch makes: (side, label, kind of run).
    pub not_run: Vec<(String, String, String)>,
    /// How `runs` fared against the plan (the engine worker judges them).
    pub verdict: Option<Verdict>,
}

fn item(title: &'static str, command: &'static str, state: State, detail: impl Into<String>) -> Line {
    Line { title: title.to_owned(), command: command.to_owned(), state, detail: detail.into() }
}

/// The items the browser decides from the pattern alone (loads, renders over CI's seeds, id
/// unique). Costs [`CI_SEEDS`] renders: the engine worker computes it once per evaluation.
pub fn static_lines(name: &str, text: &str, category: &str, ev: &Evaluation, library: &[Item]) -> Vec<Line> {
    let mut out = Vec::new();
    let first_error = ev.panes.markers.iter().find(|m| m.severity == "error");
    out.push(match first_error {
        Some(m) => item("The file loads without errors", "plse-batch lint", State::Fail, format!("{}:{}: {}", m.line, m.column, m.message)),
        None => item("The file loads without errors", "plse-batch lint", State::Pass, "schema, parameters and templates are valid"),
    });
    let Some(pattern) = &ev.pattern else { return out };
    let report = lint(pattern, category, &SourceFile::new(name, text.to_owned()), 0..CI_SEEDS);
    out.push(match report.diagnostics.iter().find(|d| d.is_error()).or(report.diagnostics.first()) {
        Some(d) => item(
            "Renders for every CI seed, with tests and variety",
            "plse-batch lint --seeds 16",
            if report.has_errors() { State::Fail } else { State::Pass },
            format!("{} of {} seeds rendered; {}", report.rendered, report.tried, d.message),
        ),
        None => item(
            "Renders for every CI seed, with tests and variety",
            "plse-batch lint --seeds 16",
            State::Pass,
            format!("{} seeds rendered, {} distinct codes", report.rendered, report.distinct),
        ),
    });
    let clash = library.iter().find(|i| i.id == pattern.pattern_id && i.path != name);
    out.push(match clash {
        None if library.is_empty() => {
            item("pattern_id is unique in the library", "plse-batch lint", State::Pending, "the library is still loading")
        }
        Some(i) => {
            item("pattern_id is unique in the library", "plse-batch lint", State::Fail, format!("`{}` is already used by {}", i.id, i.path))
        }
        None => item("pattern_id is unique in the library", "plse-batch lint", State::Pass, pattern.pattern_id.clone()),
    });
    out
}

/// The items that depend on the browser's checks, then the one only a checkout can do.
pub fn check_lines(shown: &Shown, checks: &CheckState) -> Vec<Line> {
    let mut out = Vec::new();
    // A stale sample is an earlier text's: nothing to judge until this one renders.
    if !shown.pattern_loaded || shown.panes.stale {
        return out;
    }
    match shown.plan.as_ref().filter(|p| p.not_python.is_none()) {
        Some(plan) => {
            out.push(lint_line(plan, checks));
            out.push(tests_line(checks));
        }
        None => out.push(item(
            "Artifact validates",
            "plse-batch lint --exec",
            State::Local,
            "TOML/YAML/Dockerfile validators run in plse-batch",
        )),
    }
    out.push(item(
        "AVAILABLE_PATTERNS.md lists the pattern",
        "cargo xtask catalog --check",
        State::Local,
        "after adding the file under patterns/, run `cargo xtask catalog`",
    ));
    out
}

const LINT_TITLE: &str = "Syntax and lint (ruff) clean";
const TESTS_TITLE: &str = "Unit tests pass in the sandbox";
const EXEC: &str = "plse-batch lint --exec";

/// Ruff's findings under CI's reject rules (a syntax error always rejects; the rules only
/// when the pattern keeps the lint stage, as `plse-batch` judges them).
fn lint_line(plan: &PlanView, checks: &CheckState) -> Line {
    let Some(results) = &checks.lint else { return item(LINT_TITLE, EXEC, State::Pending, "run the checks (Ctrl+Enter)") };
    let rules: Vec<&str> = if plan.lint_rules { plse_check::reject::default_rules() } else { Vec::new() };
    let bad = results.iter().flat_map(|r| r.findings.iter().map(move |f| (r, f))).find(|(_, f)| rejects(&rules, &f.code));
    match bad {
        Some((r, f)) => item(LINT_TITLE, EXEC, State::Fail, format!("{} {}:{}: {} {}", r.side, f.row, f.column, f.code, f.message)),
        None => item(LINT_TITLE, EXEC, State::Pass, format!("no {REJECT_RULES} findings")),
    }
}

/// The stages CI decides from the runs (tests, expected output, defect shown), from the
/// browser's results as the engine worker judged them.
fn tests_line(checks: &CheckState) -> Line {
    if !checks.unavailable.is_empty() {
        let detail = format!("needs {} (not available in the browser): run `plse-batch lint --exec`", checks.unavailable.join(", "));
        return item(TESTS_TITLE, EXEC, State::Local, detail);
    }
    let (Some(runs), Some(verdict)) = (&checks.runs, &checks.verdict) else {
        return item(TESTS_TITLE, EXEC, State::Pending, "run the checks (Ctrl+Enter)");
    };
    match &verdict.failure {
        Some(reason) => item(TESTS_TITLE, EXEC, State::Fail, reason.clone()),
        None => item(TESTS_TITLE, EXEC, State::Pass, passed_detail(runs, &checks.not_run)),
    }
}

fn passed_detail(runs: &[RunResult], not_run: &[(String, String, String)]) -> String {
    let mut detail = format!("{} runs passed in Pyodide", runs.len());
    let sandbox_only: Vec<&str> = not_run.iter().filter(|(_, _, kind)| kind == "shell").map(|(_, label, _)| label.as_str()).collect();
    if !sandbox_only.is_empty() {
        detail.push_str(&format!("; not run in the browser: {} (shell, `plse-batch lint --exec`)", sandbox_only.join(", ")));
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::RuffFinding as Finding;
    use crate::host::Host;
    use crate::library;
    use crate::wire::{Reply, Request};

    /// The whole checklist as the page shows it: the worker's static lines, then the page's
    /// lines from `checks` (whose runs the worker judges first, as the page asks it to).
    fn states(name: &str, text: &str, checks: &CheckState) -> Vec<(String, State)> {
        let mut host = Host::new(|| 0.0).with_library(library::bundled());
        let request = Request::Evaluate {
            name: name.into(),
            text: text.into(),
            category: "best_practices".into(),
            seed: 0,
            index: 0,
            params: Vec::new(),
        };
        let Reply::Shown(shown) = host.handle(request) else { panic!("not shown") };
        let Reply::Checklist { mut lines, .. } = host.handle(Request::Checklist { id: shown.id }) else { panic!("no checklist") };
        let mut checks = checks.clone();
        if let Some(runs) = checks.runs.clone() {
            let Reply::Verdict(v) = host.handle(Request::Verdict { id: shown.id, runs }) else { panic!("no verdict") };
            checks.verdict = Some(v);
        }
        lines.extend(check_lines(&shown, &checks));
        lines.into_iter().map(|i| (i.title, i.state)).collect()
    }

    fn enumerate() -> library::Item {
        library::bundled().into_iter().find(|i| i.id == "python.core.enumerate").unwrap()
    }

    #[test]
    fn library_pattern_passes_static_items_and_waits_for_checks() {
        let e = enumerate();
        let s = states(&e.path, &e.text, &CheckState::default());
        assert_eq!(s[0].1, State::Pass);
        assert_eq!(s[1].1, State::Pass);
        assert_eq!(s[2].1, State::Pass);
        assert_eq!(s[3].1, State::Pending);
        assert_eq!(s[4].1, State::Pending);
        assert_eq!(s.last().unwrap().1, State::Local);
    }

    #[test]
    fn a_copy_under_another_name_clashes_and_a_broken_file_fails_first() {
        let e = enumerate();
        let s = states("my_copy.yaml", &e.text, &CheckState::default());
        assert_eq!(s[2], ("pattern_id is unique in the library".to_owned(), State::Fail));
        let s = states("broken.yaml", "pattern_id: [", &CheckState::default());
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].1, State::Fail);
    }

    #[test]
    fn check_results_set_the_states() {
        let e = enumerate();
        let finding = |code: &str| Finding { code: code.into(), message: "m".into(), row: 1, column: 1, end_row: 1, end_column: 2 };
        let run = RunResult {
            side: "sample".into(),
            name: "test 1".into(),
            ok: true,
            timed_out: false,
            stdout: String::new(),
            stderr: String::new(),
            duration_ms: 1.0,
            tests_run: 1,
            expect_failure: false,
            ..RunResult::default()
        };
        let ok = CheckState {
            lint: Some(vec![LintResult { side: "sample".into(), findings: vec![finding("E501")] }]),
            runs: Some(vec![run.clone()]),
            ..CheckState::default()
        };
        let s = states(&e.path, &e.text, &ok);
        assert_eq!((s[3].1, s[4].1), (State::Pass, State::Pass), "E501 is recorded, not rejected");
        let bad = CheckState {
            lint: Some(vec![LintResult { side: "sample".into(), findings: vec![finding("F821")] }]),
            runs: Some(vec![RunResult { timed_out: true, ok: false, ..run }]),
            ..CheckState::default()
        };
        let s = states(&e.path, &e.text, &bad);
        assert_eq!((s[3].1, s[4].1), (State::Fail, State::Fail));
        let numpy = CheckState { unavailable: vec!["numpy".into()], ..CheckState::default() };
        assert_eq!(states(&e.path, &e.text, &numpy)[4].1, State::Local);
    }
}
