//! The browser's checks of a rendered sample — the same runs `plse-batch` makes, minus what
//! only the sandbox can do: ruff on each side's code, then each test snippet executed by
//! Pyodide as `code + "\n\n" + snippet`, and for paired patterns the fixed side's tests on
//! the flawed code (which must fail: the defect is shown).

use plse_render::Sample;
use plse_render::imports::sample_modules;
use plse_schema::ArtifactKind;
use serde::{Deserialize, Serialize};

/// One Python execution, as sent to the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    /// `flawed`, `fixed` or `sample`.
    pub side: &'static str,
    /// `test 1`, ..., or `defect shown`.
    pub name: String,
    /// The program.
    pub source: String,
    /// File name for tracebacks.
    pub filename: String,
    /// Whether the run must fail to count as a pass (defect shown).
    pub expect_failure: bool,
}

/// One run's outcome, as the worker reports it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct RunResult {
    /// Side.
    pub side: String,
    /// Name.
    pub name: String,
    /// Whether the program ran to completion with its tests passing.
    pub ok: bool,
    /// Killed by the timeout.
    #[serde(default)]
    pub timed_out: bool,
    /// Captured stdout.
    #[serde(default)]
    pub stdout: String,
    /// Captured stderr (tracebacks, unittest output).
    #[serde(default)]
    pub stderr: String,
    /// Wall time in ms.
    #[serde(default)]
    pub duration_ms: f64,
    /// Whether failing was the expectation.
    #[serde(default)]
    pub expect_failure: bool,
}

impl RunResult {
    /// Pass in the check's own sense (a defect-shown run passes when the program failed).
    pub fn passed(&self) -> bool {
        if self.expect_failure { !self.ok && !self.timed_out } else { self.ok }
    }
}

/// A ruff finding, as the lint worker reports it (1-based rows and columns, UTF-16).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Finding {
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
    pub findings: Vec<Finding>,
}

/// What the sample's checks need, decided before anything loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// (side, code) pairs to lint.
    pub lint: Vec<(&'static str, String)>,
    /// Python runs.
    pub runs: Vec<Run>,
    /// Top-level modules the code imports (the worker reports those it lacks).
    pub modules: Vec<String>,
    /// Snippets the browser cannot run (shell commands), by side and name.
    pub skipped: Vec<(String, String)>,
    /// Set when the artifact is not Python: nothing runs in the browser.
    pub not_python: Option<ArtifactKind>,
}

/// The checks of `sample`.
pub fn plan(sample: &Sample) -> Plan {
    let mut plan = Plan {
        lint: Vec::new(),
        runs: Vec::new(),
        modules: sample_modules(sample),
        skipped: Vec::new(),
        not_python: (sample.artifact.kind != ArtifactKind::Python).then_some(sample.artifact.kind),
    };
    if plan.not_python.is_some() {
        return plan;
    }
    for (side, s) in &sample.sides() {
        // As plse-batch writes it to disk for ruff: with a final newline.
        plan.lint.push((side, format!("{}\n", s.code)));
        for (i, t) in s.tests.iter().enumerate() {
            let name = format!("test {}", i + 1);
            if t.trim_start().starts_with("shell_exec:") {
                plan.skipped.push(((*side).to_owned(), name));
                continue;
            }
            plan.runs.push(Run {
                side,
                name,
                source: format!("{}\n\n{t}", s.code),
                filename: format!("test_{}.py", i + 1),
                expect_failure: false,
            });
        }
    }
    if let Some(pair) = &sample.pair {
        for (i, t) in pair.fixed.tests.iter().enumerate().filter(|(_, t)| !t.trim_start().starts_with("shell_exec:")) {
            plan.runs.push(Run {
                side: "flawed",
                name: format!("defect shown by fixed test {}", i + 1),
                source: format!("{}\n\n{t}", pair.flawed.code),
                filename: format!("test_{}.py", i + 1),
                expect_failure: true,
            });
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Input, evaluate};
    use crate::library;

    fn sample(id: &str) -> Sample {
        let item = library::bundled().into_iter().find(|i| i.id == id).unwrap();
        evaluate(&Input { name: &item.path, text: &item.text, category: &item.category, seed: 0, index: 0, params: &[] }).sample.unwrap()
    }

    #[test]
    fn single_pattern_runs_each_snippet_after_the_code() {
        let s = sample("python.core.enumerate");
        let p = plan(&s);
        assert_eq!(p.lint.len(), 1);
        assert_eq!(p.runs.len(), s.tests.len());
        assert!(p.runs[0].source.starts_with(&s.code) && p.runs[0].source.ends_with(&s.tests[0]));
        assert!(p.runs.iter().all(|r| r.side == "sample" && !r.expect_failure));
    }

    #[test]
    fn paired_pattern_checks_both_sides_and_the_defect() {
        let s = sample("python.anti.mutable_default_argument");
        let pair = s.pair.clone().unwrap();
        let p = plan(&s);
        assert_eq!(p.lint.iter().map(|(side, _)| *side).collect::<Vec<_>>(), ["flawed", "fixed"]);
        let defect: Vec<&Run> = p.runs.iter().filter(|r| r.expect_failure).collect();
        assert_eq!(defect.len(), pair.fixed.tests.len());
        assert!(defect[0].source.starts_with(&pair.flawed.code) && defect[0].source.ends_with(&pair.fixed.tests[0]));
    }

    #[test]
    fn non_python_artifacts_run_nothing() {
        let p = plan(&sample("orchestration.packaging.pyproject_toml"));
        assert_eq!(p.not_python, Some(ArtifactKind::Toml));
        assert!(p.runs.is_empty() && p.lint.is_empty());
    }

    #[test]
    fn a_defect_run_passes_by_failing() {
        let r = RunResult {
            side: "flawed".into(),
            name: "defect".into(),
            ok: false,
            timed_out: false,
            stdout: String::new(),
            stderr: String::new(),
            duration_ms: 1.0,
            expect_failure: true,
        };
        assert!(r.passed());
        assert!(!RunResult { ok: true, ..r.clone() }.passed());
        assert!(!RunResult { timed_out: true, ..r }.passed());
    }
}
