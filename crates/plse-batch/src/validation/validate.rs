//! The validation of one sample as `plse-batch` makes it: the check plan of `plse-check`
//! executed in sandboxed workers, timed, with the host-side stages (ruff's findings, computed
//! for the whole batch while the runs are made, or the artifact validator of the kind) in
//! front of each side's run stages.

use std::time::Instant;

use plse_check::verdict::{self, StageName};
use plse_check::{Plan, RunResult, SidePlan, Stage, Verdict};
use plse_dataset::Finding;
use plse_schema::ArtifactKind;

use crate::validation::sandbox::pool::Executor;
use crate::validation::sandbox::worker::Continuity;

/// Settings of the pipeline for one pattern.
pub struct Settings<'a> {
    /// Rule prefixes that reject.
    pub reject_rules: &'a [String],
    /// Modules the pattern requires (worker key).
    pub modules: Vec<String>,
    /// The samples validated just before and just after this one on the same executor, when
    /// children may be shared across samples: `continues`, the previous sample's last child
    /// may make this one's first runs; `more`, this one's last child may be kept for the next.
    pub neighbours: Continuity,
}

fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

/// Validates a sample by its check plan. `lint` gives each side's lint findings (same order as
/// [`Plan::sides`]) and ruff's mean time per file: it is called after the sides' runs, so ruff
/// may still be linting the batch while they are made.
pub fn validate(plan: &Plan, lint: impl FnOnce() -> (Vec<Vec<Finding>>, f64), exec: &mut Executor, settings: &Settings) -> Verdict {
    // The sample's requests in order (sides, then the defect-shown runs): one child may serve
    // them all (and its neighbours' too) while each run leaves it clean.
    let runs: Vec<(anyhow::Result<Vec<RunResult>>, f64)> = plan
        .sides
        .iter()
        .enumerate()
        .map(|(i, side)| {
            let sample = Continuity {
                continues: i > 0 || settings.neighbours.continues,
                more: i + 1 < plan.sides.len() || !plan.defect.is_empty() || settings.neighbours.more,
            };
            let t = Instant::now();
            (exec.run(&settings.modules, &plan.files(side), &side.runs, sample), ms(t))
        })
        .collect();
    let (lint, lint_ms) = lint();
    let mut stages = vec![Stage::new(StageName::Render, None, true, 0.0, "")];
    let mut findings = Vec::new();
    for ((side, lint), (results, run_ms)) in plan.sides.iter().zip(lint.into_iter().chain(std::iter::repeat_with(Vec::new))).zip(runs) {
        let mut side_findings = host_stage(plan, side, lint, lint_ms, settings, &mut stages);
        match results {
            Err(e) => stages.push(verdict::not_executed(side.tag, run_ms, format!("{e:#}"))),
            Ok(results) => stages.extend(verdict::run_stages(plan, side, &mut side_findings, &results)),
        }
        findings.push((side.label.to_owned(), side_findings));
    }
    if !plan.defect.is_empty() && stages.iter().all(|s| s.ok) {
        stages.push(defect_shown(plan, exec, settings));
    }
    Verdict::new(stages, findings)
}

/// The lint stage (Python, when the pattern asks for it) or the artifact validator of the
/// kind, whose findings are recorded like ruff's.
fn host_stage(
    plan: &Plan,
    side: &SidePlan,
    lint: Vec<Finding>,
    lint_ms: f64,
    settings: &Settings,
    stages: &mut Vec<Stage>,
) -> Vec<Finding> {
    if plan.kind == ArtifactKind::Python {
        if plan.lint {
            stages.push(verdict::lint_stage(&lint, settings.reject_rules, side.tag, lint_ms));
        }
        return lint;
    }
    let t = Instant::now();
    let checked = crate::validation::artifact::check(plan.kind, &plan.file, &side.code);
    stages.push(verdict::artifact_stage(&checked.errors, &checked.summary, side.tag, ms(t)));
    checked.findings()
}

/// The fixed side's tests, run against the flawed code, must fail: otherwise they do not
/// detect the defect the lesson is about.
fn defect_shown(plan: &Plan, exec: &mut Executor, settings: &Settings) -> Stage {
    let t = Instant::now();
    match exec.run(&settings.modules, &plan.defect_files(), &plan.defect, Continuity { continues: true, more: settings.neighbours.more }) {
        Ok(results) => verdict::defect_stage(&results, ms(t)),
        Err(e) => verdict::defect_not_executed(ms(t), format!("{e:#}")),
    }
}
