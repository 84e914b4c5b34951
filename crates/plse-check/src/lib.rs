//! The check plan of a sample: which runs validate it, which lint findings reject it, and
//! the verdict its results give — one plan for `plse-batch` (the sandbox executes it) and
//! the browser playground (Pyodide executes what it can and reports the rest as not run).
//!
//! [`plan`] turns a rendered sample into [`Run`]s per side (syntax, each test snippet after
//! the code, `shell_exec:` snippets as shell commands, the expected-output run) plus the
//! defect-shown runs of a paired pattern; [`verdict`] turns findings and [`RunResult`]s into
//! [`Stage`]s. [`HARNESS_CORE_PY`] is the Python both workers run a script with.
//!
//! **Invariant:** no I/O. Executing runs (timing, processes, workers) is the caller's.
pub mod plan;
pub mod reject;
pub mod run;
pub mod verdict;

pub use plan::{Plan, SidePlan, plan};
pub use reject::{REJECT_RULES, rejecting, rejects};
pub use run::{Run, RunKind, RunResult, ScanFinding};
pub use verdict::{Stage, StageName, Verdict};

/// Seeds `plse-batch lint` renders per pattern by default, as CI runs it; the browser's
/// checklist renders the same.
pub const CI_SEEDS: u64 = 16;

/// The harness core both Python workers share: unittest snapshot and restore, the test
/// cases run, one script run to its verdict (`python/harness_core.py`).
pub const HARNESS_CORE_PY: &str = include_str!("../python/harness_core.py");
