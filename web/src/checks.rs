//! The browser's side of the checks. What is checked is `plse-check`'s plan — the very runs
//! `plse-batch` makes in the sandbox: each side's test snippets after its code, the
//! expected-output run, and for paired patterns the fixed side's tests on the flawed code
//! (which must fail). Ruff's wasm lints each side and Pyodide executes the Python runs; the
//! runs only the sandbox can make (shell commands, the compile run with its security scan)
//! are reported as not run in the browser.

use plse_check::plan::EXPECTED_OUTPUT;
use plse_check::{Plan, Run, RunResult};
use plse_render::Sample;
use plse_render::imports::sample_modules;
use plse_schema::{ArtifactKind, Pattern};
use serde::{Deserialize, Serialize};

/// A ruff finding as the lint worker reports it: ruff-wasm's shape, with the range the code
/// view marks (1-based rows and columns, UTF-16).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct RuffFinding {
    /// Rule code (`F821`, `invalid-syntax`).
    pub code: String,
    /// Message.
    pub message: String,
    /// Start row.
    pub row: usize,
    /// Start column.
    pub column: usize,
    /// End row.
    pub end_row: usize,
    /// End column.
    pub end_column: usize,
}

/// Ruff's findings for one side.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct LintResult {
    /// Side.
    pub side: String,
    /// Findings.
    pub findings: Vec<RuffFinding>,
}

/// The sample's check plan, split by what the browser can do, decided before anything loads.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowserPlan {
    /// The plan `plse-batch` executes.
    pub plan: Plan,
    /// (side, code) pairs to lint, as `plse-batch` writes them for ruff.
    pub lint: Vec<(&'static str, String)>,
    /// The runs Pyodide makes.
    pub runs: Vec<Run>,
    /// The runs only `plse-batch` can make.
    pub not_run: Vec<Run>,
    /// Top-level modules the code imports (the worker reports those it lacks).
    pub modules: Vec<String>,
    /// Set when the artifact is not Python: its validator runs in `plse-batch` only.
    pub not_python: Option<ArtifactKind>,
}

/// The checks of `sample`, drawn from `pattern`.
pub fn plan(pattern: &Pattern, sample: &Sample) -> BrowserPlan {
    let plan = plse_check::plan(pattern, sample);
    let python = plan.kind == ArtifactKind::Python;
    // Other kinds are checked by their validator first, which only plse-batch has.
    let (runs, not_run): (Vec<Run>, Vec<Run>) = plan.all_runs().cloned().partition(|r| python && r.in_browser());
    BrowserPlan {
        lint: if python { plan.sides.iter().map(|s| (s.label, s.lint_source())).collect() } else { Vec::new() },
        runs,
        not_run,
        modules: sample_modules(sample),
        not_python: (!python).then_some(plan.kind),
        plan,
    }
}

/// Whether one run passed on its own, as its line shows it: a defect-shown run by failing,
/// the expected-output run by printing what the pattern expects.
pub fn run_passed(plan: &Plan, r: &RunResult) -> bool {
    match &plan.expected_stdout {
        Some(want) if r.name == EXPECTED_OUTPUT && !r.expect_failure => r.ok && r.stdout.trim_end() == want.trim_end(),
        _ => r.passed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Input, evaluate};
    use crate::library;
    use plse_check::RunKind;

    fn drawn(id: &str) -> (Pattern, Sample) {
        let item = library::bundled().into_iter().find(|i| i.id == id).unwrap();
        let ev = evaluate(&Input { name: &item.path, text: &item.text, category: &item.category, seed: 0, index: 0, params: &[] });
        (ev.pattern.unwrap(), ev.sample.unwrap())
    }

    #[test]
    fn single_pattern_runs_each_snippet_after_the_code() {
        let (p, s) = drawn("python.core.enumerate");
        let bp = plan(&p, &s);
        assert_eq!(bp.lint.len(), 1);
        assert_eq!(bp.runs.len(), s.tests.len());
        assert!(bp.runs[0].source.as_ref().unwrap().starts_with(&s.code) && bp.runs[0].source.as_ref().unwrap().ends_with(&s.tests[0]));
        assert!(bp.runs.iter().all(|r| r.side == "sample" && !r.expect_failure));
        // The compile run (syntax and the security scan) is the sandbox's, and said so.
        assert_eq!(bp.not_run.iter().map(|r| (r.name.as_str(), r.kind)).collect::<Vec<_>>(), [("syntax", RunKind::Compile)]);
    }

    #[test]
    fn paired_pattern_checks_both_sides_and_the_defect() {
        let (p, s) = drawn("python.anti.mutable_default_argument");
        let pair = s.pair.clone().unwrap();
        let bp = plan(&p, &s);
        assert_eq!(bp.lint.iter().map(|(side, _)| *side).collect::<Vec<_>>(), ["flawed", "fixed"]);
        let defect: Vec<&Run> = bp.runs.iter().filter(|r| r.expect_failure).collect();
        assert_eq!(defect.len(), pair.fixed.tests.len());
        let source = defect[0].source.as_ref().unwrap();
        assert!(source.starts_with(&pair.flawed.code) && source.ends_with(&pair.fixed.tests[0]));
        // Exactly the runs plse-batch makes, minus those it alone can make.
        assert_eq!(bp.runs.len() + bp.not_run.len(), bp.plan.all_runs().count());
    }

    #[test]
    fn non_python_artifacts_run_nothing() {
        let (p, s) = drawn("orchestration.packaging.pyproject_toml");
        let bp = plan(&p, &s);
        assert_eq!(bp.not_python, Some(ArtifactKind::Toml));
        assert!(bp.runs.is_empty() && bp.lint.is_empty());
    }

    #[test]
    fn a_defect_run_passes_by_failing() {
        let (p, s) = drawn("python.anti.mutable_default_argument");
        let bp = plan(&p, &s);
        let r = RunResult {
            side: "flawed".into(),
            name: "test 1".into(),
            ok: false,
            duration_ms: 1.0,
            expect_failure: true,
            ..RunResult::default()
        };
        assert!(run_passed(&bp.plan, &r));
        assert!(!run_passed(&bp.plan, &RunResult { ok: true, ..r.clone() }));
        assert!(!run_passed(&bp.plan, &RunResult { timed_out: true, ..r }));
    }
}
