//! One execution and its outcome: what the sandbox worker (`python/worker.py`) and the
//! browser's Pyodide worker (`web/js/src/py-worker.js`) receive and send back, as JSON.

use serde::{Deserialize, Serialize};

/// How a run executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// CPython `compile` of the code, then the static security scan: nothing runs.
    Compile,
    /// A script run by the harness: a fresh `__main__`, its unittest cases run.
    Python,
    /// A shell command beside the code file.
    Shell,
}

impl RunKind {
    /// The name the workers read (`compile`, `python`, `shell`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compile => "compile",
            Self::Python => "python",
            Self::Shell => "shell",
        }
    }
}

/// One run of a check plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    /// `flawed`, `fixed` or `sample`: the side whose code is executed.
    pub side: &'static str,
    /// Name shown in reports: `syntax`, `test 1`, ..., `expected-output`.
    pub name: String,
    /// How it executes.
    pub kind: RunKind,
    /// The script (`compile`, `python`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// File name the script is compiled as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The command (`shell`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// A defect-shown run: the fixed side's test on the flawed code, which must fail.
    pub expect_failure: bool,
}

impl Run {
    /// Whether the browser can make this run. Shell commands need the sandbox, and the
    /// `compile` run carries the security scan, which only the sandbox worker has (the browser
    /// sees syntax errors through ruff's `invalid-syntax`).
    pub fn in_browser(&self) -> bool {
        self.kind == RunKind::Python
    }

    /// The label a report shows: the run's name, or for a defect-shown run which of the fixed
    /// side's tests it is.
    pub fn label(&self) -> String {
        if self.expect_failure { format!("fixed {}", self.name) } else { self.name.clone() }
    }
}

/// A finding of the worker's security scan (`python/security_scan.py`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct ScanFinding {
    /// Rule code (`SEC020`).
    pub code: String,
    /// The capability the code needs (`environment`).
    pub capability: String,
    /// What the code does.
    pub message: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// The result of one run, as a worker reports it. The sandbox worker leaves `side` and
/// `expect_failure` out (the host knows them from the run); the browser's glue echoes them.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct RunResult {
    /// Side of the run (browser results).
    #[serde(default)]
    pub side: String,
    /// Name of the run.
    pub name: String,
    /// Passed: harness verdict with at least one test (python), exit 0 (shell), compiled
    /// (compile).
    pub ok: bool,
    /// Exit code (negative: killed by that signal; none in the browser).
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Killed at the wall-clock limit.
    #[serde(default)]
    pub timed_out: bool,
    /// Wall time, from the fork (or the worker call) to the verdict.
    #[serde(default)]
    pub duration_ms: f64,
    /// Of that, the time the script itself took (compile, run, test cases); 0 when it failed.
    #[serde(default)]
    pub work_ms: f64,
    /// Tests the harness saw pass.
    #[serde(default)]
    pub tests_run: u32,
    /// Captured stdout (capped).
    #[serde(default)]
    pub stdout: String,
    /// Captured stderr (capped).
    #[serde(default)]
    pub stderr: String,
    /// What the security scan found in the code (the `compile` run only).
    #[serde(default)]
    pub findings: Vec<ScanFinding>,
    /// Whether failing was the expectation (browser results of defect-shown runs).
    #[serde(default)]
    pub expect_failure: bool,
}

impl RunResult {
    /// Pass of this one run in its own sense (a defect-shown run passes when the program
    /// failed without timing out). The stage verdicts ([`crate::verdict`]) judge runs
    /// together, as CI does.
    pub fn passed(&self) -> bool {
        if self.expect_failure { !self.ok && !self.timed_out } else { self.ok }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_worker_result_shape_reads() {
        let json = r#"{"name": "test 1", "ok": true, "exit_code": 0, "timed_out": false, "duration_ms": 2.5, "work_ms": 1.0, "tests_run": 3, "stdout": "", "stderr": ""}"#;
        let r: RunResult = serde_json::from_str(json).unwrap();
        assert_eq!((r.tests_run, r.exit_code, r.side.as_str()), (3, Some(0), ""));
    }
}
