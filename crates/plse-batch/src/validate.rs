//! The validation pipeline of one sample: render → artifact (non-Python) or lint (ruff, Python)
//! → syntax → security → sandboxed tests → expected output, each stage recorded with its
//! duration and message. Paired anti-patterns run both sides, plus a cross-check that the fixed
//! side's tests catch the flaw.

use std::time::Instant;

use serde::Serialize;

use plse_dataset::Finding;
use plse_render::{Sample, Side};
use plse_schema::{ArtifactKind, Capability};

use crate::lint_py::rejecting;
use crate::sandbox::pool::Executor;
use crate::sandbox::worker::{Run, RunResult, ScanFinding};

/// One stage's outcome.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stage {
    /// `render`, `artifact`, `lint`, `syntax`, `security`, `tests`, `expected-output`, `defect-shown`.
    pub stage: &'static str,
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
    /// The first failed stage, as `stage: message`.
    pub fn reason(&self) -> Option<String> {
        self.stages.iter().find(|s| !s.ok).map(|s| {
            let side = s.side.map(|x| format!(" ({x})")).unwrap_or_default();
            format!("{}{side}: {}", s.stage, s.message)
        })
    }
}

/// Settings of the pipeline for one pattern.
pub struct Settings<'a> {
    /// Rule prefixes that reject.
    pub reject_rules: &'a [String],
    /// Modules the pattern requires (worker key).
    pub modules: Vec<String>,
    /// Whether the lint stage applies (`validation.linter_checks`).
    pub linter_checks: bool,
    /// `validation.expected_output`.
    pub expected: &'a serde_json::Value,
    /// What the pattern declares its code may do.
    pub capabilities: &'a [Capability],
}

fn runs_for(code: &str, tests: &[String], kind: ArtifactKind) -> Vec<Run> {
    let mut runs = Vec::new();
    if kind == ArtifactKind::Python {
        runs.push(Run {
            name: "syntax".into(),
            kind: "compile",
            source: Some(code.to_owned()),
            filename: Some("sample.py".into()),
            command: None,
        });
    }
    for (i, t) in tests.iter().enumerate() {
        let name = format!("test {}", i + 1);
        match t.trim_start().strip_prefix("shell_exec:") {
            Some(cmd) => runs.push(Run { name, kind: "shell", source: None, filename: None, command: Some(cmd.trim().to_owned()) }),
            None => runs.push(Run {
                name,
                kind: "python",
                source: Some(format!("{code}\n\n{t}")),
                filename: Some(format!("test_{}.py", i + 1)),
                command: None,
            }),
        }
    }
    runs
}

fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

/// Validates a rendered sample, given its [`Sample::sides`] and their lint findings (same order),
/// computed in a batch beforehand.
pub fn validate(
    sample: &Sample,
    sides: &[(&'static str, Side)],
    lint: Vec<Vec<Finding>>,
    lint_ms: f64,
    exec: &mut Executor,
    settings: &Settings,
) -> Verdict {
    let mut stages = vec![Stage { stage: "render", side: None, ok: true, duration_ms: 0.0, message: String::new() }];
    let mut verdict = Verdict { ok: true, stages: Vec::new(), lint: Vec::new() };
    let kind = sample.artifact.kind;
    let file = sample.artifact.path.clone().unwrap_or_else(|| plse_render::default_file_name(kind).to_owned());
    let paired = sides.len() == 2;
    for ((label, side), mut findings) in sides.iter().zip(lint) {
        let side_tag = if paired { Some(*label) } else { None };
        if kind == ArtifactKind::Python {
            if settings.linter_checks {
                let bad: Vec<String> = rejecting(&findings, settings.reject_rules)
                    .iter()
                    .map(|f| format!("{}:{}: {} {}", f.line, f.column, f.code, f.message))
                    .collect();
                let msg = if bad.is_empty() { format!("{} findings", findings.len()) } else { bad.join("; ") };
                stages.push(Stage { stage: "lint", side: side_tag, ok: bad.is_empty(), duration_ms: lint_ms, message: msg });
            }
        } else {
            // Other kinds: the validator of their kind, its findings recorded like ruff's.
            let t = Instant::now();
            let checked = crate::artifact::check(kind, &file, &side.code);
            let ok = checked.errors.is_empty();
            let message = if ok {
                checked.summary.clone()
            } else {
                checked.errors.iter().map(|f| format!("{}:{}: {} {}", f.line, f.column, f.code, f.message)).collect::<Vec<_>>().join("; ")
            };
            stages.push(Stage { stage: "artifact", side: side_tag, ok, duration_ms: ms(t), message });
            findings = checked.findings();
        }
        let mut runs = runs_for(&side.code, &side.tests, kind);
        if kind == ArtifactKind::Shell {
            runs.insert(
                0,
                Run { name: "syntax".into(), kind: "shell", source: None, filename: None, command: Some(format!("sh -n {file}")) },
            );
        }
        let expected_stdout = settings.expected.get("stdout").and_then(|v| v.as_str());
        if expected_stdout.is_some() && kind == ArtifactKind::Python {
            runs.push(Run {
                name: "expected-output".into(),
                kind: "python",
                source: Some(side.code.clone()),
                filename: Some(file.clone()),
                command: None,
            });
        }
        let t = Instant::now();
        let files = vec![(file.clone(), side.code.clone())];
        match exec.run(&settings.modules, &files, &runs) {
            Err(e) => stages.push(Stage { stage: "tests", side: side_tag, ok: false, duration_ms: ms(t), message: format!("{e:#}") }),
            Ok(results) => {
                let mut results = results.into_iter().peekable();
                if let Some(r) = results.next_if(|r| r.name == "syntax") {
                    stages.push(Stage {
                        stage: "syntax",
                        side: side_tag,
                        ok: r.ok,
                        duration_ms: r.duration_ms,
                        message: if r.ok { String::new() } else { last_line(&r.stderr) },
                    });
                    if r.ok && kind == ArtifactKind::Python {
                        stages.push(security(&mut findings, &r.findings, settings.capabilities, side_tag));
                    }
                }
                let all: Vec<RunResult> = results.collect();
                let (out, tests): (Vec<RunResult>, Vec<RunResult>) = all.into_iter().partition(|r| r.name == "expected-output");
                let failed: Vec<String> = tests.iter().filter(|r| !r.ok).map(describe).collect();
                let total: u32 = tests.iter().map(|r| r.tests_run).sum();
                let ok = failed.is_empty() && total >= 1;
                let message = if !failed.is_empty() {
                    failed.join("; ")
                } else if total == 0 {
                    "no test ran: a sample needs at least one unit-test snippet".into()
                } else {
                    format!("{total} tests passed")
                };
                stages.push(Stage { stage: "tests", side: side_tag, ok, duration_ms: tests.iter().map(|r| r.duration_ms).sum(), message });
                if let (Some(want), Some(r)) = (expected_stdout, out.first()) {
                    let ok = r.ok && r.stdout.trim_end() == want.trim_end();
                    let message = if ok {
                        String::new()
                    } else if !r.ok {
                        describe(r)
                    } else {
                        format!("stdout was {:?}, expected {:?}", r.stdout.trim_end(), want.trim_end())
                    };
                    stages.push(Stage { stage: "expected-output", side: side_tag, ok, duration_ms: r.duration_ms, message });
                }
            }
        }
        verdict.lint.push(((*label).to_owned(), findings));
    }
    if paired && stages.iter().all(|s| s.ok) {
        // The fixed side's tests, run against the flawed code, must fail: otherwise they do not
        // detect the defect the lesson is about.
        let (flawed, fixed) = (&sides[0].1, &sides[1].1);
        let t = Instant::now();
        let runs = runs_for(&flawed.code, &fixed.tests, kind).into_iter().filter(|r| r.name != "syntax").collect::<Vec<_>>();
        let (ok, message) = match exec.run(&settings.modules, &[(file.clone(), flawed.code.clone())], &runs) {
            Ok(results) => {
                let caught: Vec<&str> = results.iter().filter(|r| !r.ok).map(|r| r.name.as_str()).collect();
                if caught.is_empty() {
                    (false, "the fixed side's tests also pass on the flawed code: they do not detect the defect".to_owned())
                } else {
                    (true, format!("flaw caught by {}", caught.join(", ")))
                }
            }
            Err(e) => (false, format!("{e:#}")),
        };
        stages.push(Stage { stage: "defect-shown", side: None, ok, duration_ms: ms(t), message });
    }
    verdict.ok = stages.iter().all(|s| s.ok);
    verdict.stages = stages;
    verdict
}

/// The security stage of one side: what ruff's `S` rules and the worker's scan show the code
/// doing, against what the pattern declares. The scan's findings join the side's findings.
fn security(findings: &mut Vec<Finding>, scan: &[ScanFinding], declared: &[Capability], side: Option<&'static str>) -> Stage {
    let mut used: Vec<(Capability, String)> = Vec::new();
    for f in findings.iter() {
        if let Some(c) = Capability::for_ruff_rule(&f.code) {
            used.push((c, format!("{}:{}: {} {}", f.line, f.column, f.code, f.message)));
        }
    }
    for f in scan {
        // An unknown capability name (a newer scanner) counts as undeclared under its own name.
        let c = Capability::parse(&f.capability);
        findings.push(Finding { code: f.code.clone(), message: f.message.clone(), line: f.line, column: f.column });
        match c {
            Some(c) => used.push((c, format!("{}:{}: {} {}", f.line, f.column, f.code, f.message))),
            None => used.push((Capability::DynamicCode, format!("{}: unknown capability `{}`", f.code, f.capability))),
        }
    }
    let undeclared: Vec<&(Capability, String)> = used.iter().filter(|(c, _)| !declared.contains(c)).collect();
    let names = |list: &mut dyn Iterator<Item = &Capability>| {
        let mut caps: Vec<&str> = list.map(|c| c.as_str()).collect();
        caps.sort_unstable();
        caps.dedup();
        caps.join(", ")
    };
    let (ok, message) = if !undeclared.is_empty() {
        let caps = names(&mut undeclared.iter().map(|(c, _)| c));
        let detail: Vec<&str> = undeclared.iter().map(|(_, m)| m.as_str()).collect();
        (
            false,
            format!("undeclared capability {caps}: {} (a pattern that teaches this declares `capabilities: [{caps}]`)", detail.join("; "),),
        )
    } else if used.is_empty() {
        (true, "no capability used".to_owned())
    } else {
        (true, format!("uses declared capabilities: {}", names(&mut used.iter().map(|(c, _)| c))))
    };
    Stage { stage: "security", side, ok, duration_ms: 0.0, message }
}

fn describe(r: &RunResult) -> String {
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

fn last_line(s: &str) -> String {
    s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").chars().take(300).collect()
}
