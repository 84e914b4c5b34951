//! The stages of a verdict, decided from findings and run results: what `plse-batch`
//! records per sample and what the browser's checklist shows, from the same functions.

use serde::Serialize;

use plse_dataset::Finding;
use plse_schema::Capability;

use crate::plan::{EXPECTED_OUTPUT, Plan, SYNTAX, SidePlan};
use crate::reject::rejecting;
use crate::run::{RunResult, ScanFinding};

/// A stage of the validation pipeline. Serialised (and stored, and written into rows) as
/// its kebab-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageName {
    /// The sample rendered.
    Render,
    /// The validator of a non-Python artifact's kind.
    Artifact,
    /// Ruff (Python).
    Lint,
    /// `compile` (Python) or `sh -n` (shell).
    Syntax,
    /// Capabilities used against capabilities declared.
    Security,
    /// The unit-test snippets.
    Tests,
    /// stdout against `validation.expected_output`.
    ExpectedOutput,
    /// The fixed side's tests fail on the flawed code.
    DefectShown,
}

impl StageName {
    /// Every stage after `render`, in pipeline order.
    pub const CHECKS: [Self; 7] =
        [Self::Artifact, Self::Lint, Self::Syntax, Self::Security, Self::Tests, Self::ExpectedOutput, Self::DefectShown];

    /// The name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Render => "render",
            Self::Artifact => "artifact",
            Self::Lint => "lint",
            Self::Syntax => "syntax",
            Self::Security => "security",
            Self::Tests => "tests",
            Self::ExpectedOutput => "expected-output",
            Self::DefectShown => "defect-shown",
        }
    }
}

impl std::fmt::Display for StageName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stage's outcome.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stage {
    /// Which stage.
    pub stage: StageName,
    /// `flawed` / `fixed` for paired samples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<&'static str>,
    /// Passed.
    pub ok: bool,
    /// Time spent.
    pub duration_ms: f64,
    /// What happened (failure reason, or a summary).
    pub message: String,
}

impl Stage {
    /// A stage outcome.
    pub fn new(stage: StageName, side: Option<&'static str>, ok: bool, duration_ms: f64, message: impl Into<String>) -> Self {
        Self { stage, side, ok, duration_ms, message: message.into() }
    }
}

/// The verdict on a sample.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verdict {
    /// All stages passed.
    pub ok: bool,
    /// Stages in order.
    pub stages: Vec<Stage>,
    /// Lint findings per side (`flawed`, `fixed` or `sample`).
    pub lint: Vec<(String, Vec<Finding>)>,
}

impl Verdict {
    /// The verdict of `stages`.
    pub fn new(stages: Vec<Stage>, lint: Vec<(String, Vec<Finding>)>) -> Self {
        Self { ok: stages.iter().all(|s| s.ok), stages, lint }
    }

    /// The first failed stage, as `stage (side): message`.
    pub fn reason(&self) -> Option<String> {
        first_failure(&self.stages)
    }
}

/// The first failed stage of `stages`, as `stage (side): message`.
pub fn first_failure(stages: &[Stage]) -> Option<String> {
    stages.iter().find(|s| !s.ok).map(|s| {
        let side = s.side.map(|x| format!(" ({x})")).unwrap_or_default();
        format!("{}{side}: {}", s.stage, s.message)
    })
}

/// `line:column: code message`, as stages quote a finding.
pub fn quote(f: &Finding) -> String {
    format!("{}:{}: {} {}", f.line, f.column, f.code, f.message)
}

/// The lint stage of one side: the findings under the `reject` prefixes fail it.
pub fn lint_stage<S: AsRef<str>>(findings: &[Finding], reject: &[S], side: Option<&'static str>, duration_ms: f64) -> Stage {
    let bad: Vec<String> = rejecting(findings, reject).into_iter().map(quote).collect();
    let message = if bad.is_empty() { format!("{} findings", findings.len()) } else { bad.join("; ") };
    Stage::new(StageName::Lint, side, bad.is_empty(), duration_ms, message)
}

/// The artifact stage of one side: its validator's errors fail it.
pub fn artifact_stage(errors: &[Finding], summary: &str, side: Option<&'static str>, duration_ms: f64) -> Stage {
    let message = if errors.is_empty() { summary.to_owned() } else { errors.iter().map(quote).collect::<Vec<_>>().join("; ") };
    Stage::new(StageName::Artifact, side, errors.is_empty(), duration_ms, message)
}

/// The stages a side's run results decide: syntax, security (Python, after a clean
/// compile), tests and expected output. Results are matched by name, so runs that were not
/// made (the browser's) leave their stage out; the security scan's findings join `findings`.
pub fn run_stages(plan: &Plan, side: &SidePlan, findings: &mut Vec<Finding>, results: &[RunResult]) -> Vec<Stage> {
    let mut stages = Vec::new();
    if let Some(r) = results.iter().find(|r| r.name == SYNTAX) {
        let message = if r.ok { String::new() } else { last_line(&r.stderr) };
        stages.push(Stage::new(StageName::Syntax, side.tag, r.ok, r.duration_ms, message));
        if r.ok && plan.kind == plse_schema::ArtifactKind::Python {
            stages.push(security(findings, &r.findings, &plan.capabilities, side.tag));
        }
    }
    let tests: Vec<&RunResult> = results.iter().filter(|r| r.name != SYNTAX && r.name != EXPECTED_OUTPUT).collect();
    stages.push(tests_stage(&tests, side.tag));
    if let (Some(want), Some(r)) = (&plan.expected_stdout, results.iter().find(|r| r.name == EXPECTED_OUTPUT)) {
        stages.push(expected_output_stage(want, r, side.tag));
    }
    stages
}

/// The tests stage: every test run passed, and at least one test ran.
fn tests_stage(tests: &[&RunResult], side: Option<&'static str>) -> Stage {
    let failed: Vec<String> = tests.iter().filter(|r| !r.ok).map(|r| describe(r)).collect();
    let total: u32 = tests.iter().map(|r| r.tests_run).sum();
    let message = if !failed.is_empty() {
        failed.join("; ")
    } else if total == 0 {
        "no test ran: a sample needs at least one unit-test snippet".into()
    } else {
        format!("{total} tests passed")
    };
    Stage::new(StageName::Tests, side, failed.is_empty() && total >= 1, tests.iter().map(|r| r.duration_ms).sum(), message)
}

fn expected_output_stage(want: &str, r: &RunResult, side: Option<&'static str>) -> Stage {
    let ok = r.ok && r.stdout.trim_end() == want.trim_end();
    let message = if ok {
        String::new()
    } else if !r.ok {
        describe(r)
    } else {
        format!("stdout was {:?}, expected {:?}", r.stdout.trim_end(), want.trim_end())
    };
    Stage::new(StageName::ExpectedOutput, side, ok, r.duration_ms, message)
}

/// The tests stage of a side whose runs could not be made at all (the worker failed).
pub fn not_executed(side: Option<&'static str>, duration_ms: f64, error: String) -> Stage {
    Stage::new(StageName::Tests, side, false, duration_ms, error)
}

/// The defect-shown stage from the defect runs' results: at least one of the fixed side's
/// tests must fail on the flawed code, or the tests do not detect the defect.
pub fn defect_stage(results: &[RunResult], duration_ms: f64) -> Stage {
    let caught: Vec<&str> = results.iter().filter(|r| !r.ok).map(|r| r.name.as_str()).collect();
    let (ok, message) = if caught.is_empty() {
        (false, "the fixed side's tests also pass on the flawed code: they do not detect the defect".to_owned())
    } else {
        (true, format!("flaw caught by {}", caught.join(", ")))
    };
    Stage::new(StageName::DefectShown, None, ok, duration_ms, message)
}

/// The defect-shown stage of runs that could not be made (the worker failed).
pub fn defect_not_executed(duration_ms: f64, error: String) -> Stage {
    Stage::new(StageName::DefectShown, None, false, duration_ms, error)
}

/// The stages the results of a plan's runs decide, side by side then defect-shown (only
/// when every side passed, as `plse-batch` runs it): the browser's view of a verdict, whose
/// results carry their side.
pub fn of_results(plan: &Plan, results: &[RunResult]) -> Vec<Stage> {
    let mut stages = Vec::new();
    for side in &plan.sides {
        let mine: Vec<RunResult> = results.iter().filter(|r| r.side == side.label && !r.expect_failure).cloned().collect();
        // A side none of whose runs were made (shell snippets only) is judged where it can be.
        if !mine.is_empty() {
            stages.extend(run_stages(plan, side, &mut Vec::new(), &mine));
        }
    }
    let defect: Vec<RunResult> = results.iter().filter(|r| r.expect_failure).cloned().collect();
    if !defect.is_empty() && stages.iter().all(|s| s.ok) {
        stages.push(defect_stage(&defect, defect.iter().map(|r| r.duration_ms).sum()));
    }
    stages
}

/// The security stage of one side: what ruff's `S` rules and the worker's scan show the code
/// doing, against what the pattern declares. The scan's findings join the side's findings.
pub fn security(findings: &mut Vec<Finding>, scan: &[ScanFinding], declared: &[Capability], side: Option<&'static str>) -> Stage {
    let mut used: Vec<(Capability, String)> =
        findings.iter().filter_map(|f| Capability::for_ruff_rule(&f.code).map(|c| (c, quote(f)))).collect();
    for f in scan {
        let finding = Finding { code: f.code.clone(), message: f.message.clone(), line: f.line, column: f.column };
        // An unknown capability name (a newer scanner) counts as undeclared under its own name.
        used.push(match Capability::parse(&f.capability) {
            Some(c) => (c, quote(&finding)),
            None => (Capability::DynamicCode, format!("{}: unknown capability `{}`", f.code, f.capability)),
        });
        findings.push(finding);
    }
    let undeclared: Vec<&(Capability, String)> = used.iter().filter(|(c, _)| !declared.contains(c)).collect();
    let (ok, message) = if !undeclared.is_empty() {
        let caps = capability_names(undeclared.iter().map(|(c, _)| c));
        let detail: Vec<&str> = undeclared.iter().map(|(_, m)| m.as_str()).collect();
        (
            false,
            format!("undeclared capability {caps}: {} (a pattern that teaches this declares `capabilities: [{caps}]`)", detail.join("; ")),
        )
    } else if used.is_empty() {
        (true, "no capability used".to_owned())
    } else {
        (true, format!("uses declared capabilities: {}", capability_names(used.iter().map(|(c, _)| c))))
    };
    Stage::new(StageName::Security, side, ok, 0.0, message)
}

fn capability_names<'a>(caps: impl Iterator<Item = &'a Capability>) -> String {
    let mut names: Vec<&str> = caps.map(|c| c.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.join(", ")
}

/// Why a run failed, in one line.
pub fn describe(r: &RunResult) -> String {
    if r.timed_out {
        format!("{} timed out", r.name)
    } else if r.exit_code == Some(0) {
        format!("{} exited 0 without the harness verdict (os._exit, or a forged pass)", r.name)
    } else {
        let why = last_line(&r.stderr);
        format!(
            "{} failed (exit {}){}",
            r.name,
            r.exit_code.map_or("?".into(), |c| c.to_string()),
            if why.is_empty() { String::new() } else { format!(": {why}") }
        )
    }
}

/// The last non-blank line of `s`, at most 300 characters.
pub fn last_line(s: &str) -> String {
    s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").chars().take(300).collect()
}
