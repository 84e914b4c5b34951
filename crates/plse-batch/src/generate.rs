//! `plse-batch generate`: exactly N valid, unique samples.
//!
//! Candidates are drawn in a deterministic schedule (per-pattern index cursors, round-robin
//! within each category's remaining need), validated in parallel, then accepted in schedule
//! order: the dataset depends on (library, seed, count, targets), not on `--jobs` or on
//! interruptions. Failing and duplicate candidates are replaced by further indices; a pattern
//! that keeps failing or stops yielding new samples is quarantined and reported.
//!
//! Each candidate is drawn as a task (write, fix, compare; `--tasks`) and becomes a training
//! row through `plse-dataset`; duplicates are judged within a task. Rows hold no timings:
//! those go to the store's stage statistics.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::json;

use plse_dataset::{Drawn, StageOutcome, Task, TaskDeduper, Verification, draw_as, preference};
use plse_dedup::{Duplicate, Params};
use plse_release::decontam::{Hit, Index};
use plse_render::{Prepared, Sample};
use plse_sampling::Overrides;
use plse_schema::Pattern;

use crate::cli::GenerateArgs;
use crate::discover::{load_library, pattern_files};
use crate::pyenv::Tier;
use crate::report::table;
use crate::store::{Accepted, Cursor, Export, Rejected, Store};
use plse_check::{StageName, Verdict};
use plse_render::imports::pattern_modules;

/// Files written to the output directory.
pub const DATASET: &str = "training_dataset.jsonl";
/// Rejected candidates with their stage and reason.
pub const REJECTS: &str = "rejects.jsonl";
/// Preference pairs (TRL conversational format) from the paired patterns' accepted rows.
pub const PREFERENCE: &str = "preference.jsonl";

const REST: &str = "*";

/// One drawn candidate of a batch.
struct Candidate {
    src: usize,
    index: u64,
    task: Task,
    drawn: Result<Drawn, String>,
    /// Why it is rejected before validation, if it is.
    early: Option<Early>,
}

/// Rejections decided before the sandbox runs anything.
enum Early {
    /// It duplicates an accepted row of its task.
    Dup(Duplicate),
    /// Its text matches a benchmark item.
    Contaminated(Hit),
}

impl Early {
    /// (stage, reason, extra fields of the reject record).
    fn reject(&self) -> (String, String, serde_json::Value) {
        match self {
            Self::Dup(d) => {
                let (stage, reason) = dup_reason(d.clone());
                (stage, reason, json!({}))
            }
            Self::Contaminated(h) => (
                "decontamination".to_owned(),
                format!("matches {} {} ({}: \"{}\")", h.benchmark, h.item, h.kind, h.evidence),
                json!({ "benchmark": h.benchmark, "item": h.item, "match": h.kind, "evidence": h.evidence }),
            ),
        }
    }
}

struct Source<'a> {
    pattern: &'a Pattern,
    category: String,
    prepared: Prepared<'a>,
    bucket: String,
}

/// Runs `generate`. Returns the process exit code.
pub fn run(args: &GenerateArgs) -> Result<i32> {
    let root = &args.library.patterns;
    let lib = load_library(root, &pattern_files(root)?)?;
    let broken = lib.entries.iter().filter(|e| e.file.has_errors()).count();
    if broken > 0 {
        eprintln!("warning: {broken} pattern file(s) have errors and are left out; run `plse-batch lint`");
    }
    let targets = parse_targets(&args.category_target)?;
    let mut sources = Vec::new();
    let mut left_out = Vec::new();
    let allowed: Vec<Tier> = args.tiers.iter().flat_map(|t| t.expand()).collect();
    let mut needs_tier: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for (e, p) in lib.patterns() {
        if Task::supported(p, &e.category).iter().all(|t| args.tasks.weight(*t) == 0.0) {
            left_out.push(p.pattern_id.clone());
            continue;
        }
        let missing: Vec<Tier> = pattern_modules(p).iter().filter_map(|m| Tier::for_module(m)).filter(|t| !allowed.contains(t)).collect();
        if let Some(t) = missing.first() {
            needs_tier.entry(t.name()).or_default().push(p.pattern_id.clone());
            continue;
        }
        let bucket = if targets.contains_key(&e.category) { e.category.clone() } else { REST.to_owned() };
        let prepared = Prepared::new(p, &e.category).map_err(|e| anyhow::anyhow!("{e}"))?;
        sources.push(Source { pattern: p, category: e.category.clone(), prepared, bucket });
    }
    if !left_out.is_empty() {
        eprintln!("note: --tasks {} gives {} pattern(s) no task; left out: {}", args.tasks.spec(), left_out.len(), left_out.join(", "));
    }
    for (tier, ids) in &needs_tier {
        eprintln!("note: {} pattern(s) need the `{tier}` tier, which --tiers leaves out (add `--tiers all` to include them)", ids.len());
    }
    if sources.is_empty() {
        bail!("no usable patterns in {} for --tasks {}", root.display(), args.tasks.spec());
    }
    let mut need: BTreeMap<String, u64> = BTreeMap::new();
    let targeted: u64 = targets.values().sum();
    if targeted > args.count {
        bail!("category targets add up to {targeted}, more than --count {}", args.count);
    }
    for (cat, n) in &targets {
        if !sources.iter().any(|s| &s.category == cat) {
            bail!("--category-target {cat}: no pattern has that category");
        }
        need.insert(cat.clone(), *n);
    }
    if args.count > targeted {
        if !sources.iter().any(|s| s.bucket == REST) {
            bail!("--count {} exceeds the category targets ({targeted}) and no other category is left to fill the rest", args.count);
        }
        need.insert(REST.to_owned(), args.count - targeted);
    }

    let out = &args.out;
    let mut store = Store::open(out)?;
    let ids: Vec<String> = sources.iter().map(|s| format!("{}@{}", s.pattern.pattern_id, s.pattern.version)).collect();
    let config = json!({ "seed": args.seed, "count": args.count, "targets": targets, "patterns": ids,
        "dedup_threshold": args.dedup_threshold, "tasks": args.tasks.spec(), "row_format": ROW_FORMAT,
        "decontaminate": args.release.decontaminate, "ngram": args.release.ngram, "patterns_dir": root.display().to_string(),
        "tiers": args.tiers.iter().map(|t| t.name()).collect::<Vec<_>>() })
    .to_string();
    match store.config()? {
        // The same run, already complete: nothing to add; export and summarise again.
        Some(c) if c == config && store.accepted_count()? >= args.count => {}
        Some(_) if !args.resume => bail!(
            "{} already holds an unfinished or different run ({} samples accepted); pass --resume to continue it, or choose another --out",
            out.join(crate::store::DB_FILE).display(),
            store.accepted_count()?
        ),
        _ => store.start(&config)?,
    }
    if store.library()?.is_empty() {
        store.record_library(&library_entries(&lib))?;
    }
    let benchmarks = crate::export::benchmarks(&args.release.decontaminate, args.exec.venv.as_deref())?;
    let decon = plse_release::decontam::index(&benchmarks, args.release.ngram as usize)?;
    let ctx = crate::exec::Context::new(&args.exec, sources.iter().map(|s| s.pattern))?;

    // State, rebuilt from the store on --resume.
    let mut dedup = TaskDeduper::new(Params::with_threshold(args.dedup_threshold));
    for (id, task, text) in store.accepted_texts()? {
        let _ = dedup.check_and_insert(task, &id, &text);
    }
    let mut cursors: HashMap<String, Cursor> = store.cursors()?.into_iter().collect();
    let mut accepted_in: BTreeMap<String, u64> = BTreeMap::new();
    for s in &sources {
        let c = cursors.entry(s.pattern.pattern_id.clone()).or_default();
        *accepted_in.entry(s.bucket.clone()).or_default() += c.accepted;
    }
    let resumed = store.accepted_count()?;
    if resumed > 0 {
        eprintln!("resuming: {resumed} samples already accepted");
    }

    let ranks: Vec<String> =
        sources.iter().map(|s| plse_sampling::rng::hex_digest(format!("{}\0{}", args.seed, s.pattern.pattern_id).as_bytes(), 16)).collect();
    let progress = Progress::new(args.count, resumed);
    // Fixed, not derived from --jobs: the schedule (and so the dataset) must not depend on it.
    let batch_size = 64;
    let started = Instant::now();
    let mut rejected_total = 0u64;
    loop {
        let total: u64 = store.accepted_count()?;
        if total >= args.count {
            break;
        }
        // The batch: for each bucket with remaining need, candidates round-robin over its
        // active patterns, fewest accepted first, drawing a little more than needed.
        let mut batch: Vec<(usize, u64)> = Vec::new();
        let mut next: HashMap<usize, u64> = HashMap::new();
        for (bucket, want) in &need {
            let remaining = want.saturating_sub(*accepted_in.get(bucket).unwrap_or(&0));
            if remaining == 0 {
                continue;
            }
            let mut active: Vec<usize> = (0..sources.len())
                .filter(|&i| &sources[i].bucket == bucket && cursors[&sources[i].pattern.pattern_id].quarantined.is_none())
                .collect();
            if active.is_empty() {
                eprintln!(
                    "error: no pattern is left to fill `{}` ({remaining} samples short)",
                    if bucket == REST { "the rest of the run" } else { bucket }
                );
                return finish(&store, out, args, &sources, &cursors, &dedup, started, false);
            }
            // Fewest accepted first; ties in an order drawn from the seed, so a run shorter than
            // the library samples patterns from every category, not the first ones by path.
            active.sort_by_key(|&i| (cursors[&sources[i].pattern.pattern_id].accepted, &ranks[i]));
            let draw = (remaining as usize + remaining as usize / 2 + 1).min(batch_size);
            for k in 0..draw {
                let i = active[k % active.len()];
                let idx = next.entry(i).or_insert(cursors[&sources[i].pattern.pattern_id].next_index);
                batch.push((i, *idx));
                *idx += 1;
            }
        }
        // Render (failures are rejects of stage `render`); candidates that duplicate an accepted
        // sample are rejected before the costly sandbox; the rest are validated in parallel.
        let candidates: Vec<Candidate> = batch
            .iter()
            .map(|&(src, index)| {
                let s = &sources[src];
                // Sources all have a task with weight > 0, so the mix always chooses one.
                let task = args.tasks.choose(s.pattern, &s.category, args.seed, index).unwrap_or(Task::Write);
                let drawn = draw_as(&s.prepared, args.seed, index, task, &Overrides::none()).map_err(|e| e.to_string());
                let early = drawn
                    .as_ref()
                    .ok()
                    .and_then(|d| dedup.check(task, &d.row.dedup_text()).err().map(Early::Dup).or_else(|| contamination(&decon, d)));
                Candidate { src, index, task, drawn, early }
            })
            .collect();
        let ok_samples: Vec<(&Pattern, &Sample)> = candidates
            .iter()
            .filter(|c| c.early.is_none())
            .filter_map(|c| c.drawn.as_ref().ok().map(|d| (sources[c.src].pattern, &d.sample)))
            .collect();
        let mut verdicts = ctx.validate_all(&ok_samples)?.into_iter();

        // Accept in schedule order.
        let mut acc_rows: Vec<AcceptedRow> = Vec::new();
        let mut rej_rows: Vec<(String, u64, String, String, String)> = Vec::new();
        let mut stage_rows: Vec<(String, String, bool, f64)> = Vec::new();
        let mut touched: Vec<String> = Vec::new();
        let mut total_now = total;
        for Candidate { src: i, index: idx, task, drawn: r, early } in candidates {
            let src = &sources[i];
            let pid = src.pattern.pattern_id.clone();
            let verdict = if r.is_ok() && early.is_none() { verdicts.next() } else { None };
            let bucket_left = need[&src.bucket].saturating_sub(*accepted_in.get(&src.bucket).unwrap_or(&0));
            if total_now >= args.count || bucket_left == 0 || cursors[&pid].quarantined.is_some() {
                continue; // not consumed: validated but surplus
            }
            let cursor = cursors.get_mut(&pid).unwrap_or_else(|| unreachable!());
            cursor.next_index = cursor.next_index.max(idx + 1);
            cursor.attempts += 1;
            if !touched.contains(&pid) {
                touched.push(pid.clone());
            }
            let no_extra = || json!({});
            let outcome = match (&r, &verdict, &early) {
                (Err(e), _, _) => Err(("render".to_owned(), e.clone(), no_extra())),
                (Ok(_), None, Some(early)) => Err(early.reject()),
                (Ok(_), Some(v), _) if !v.ok => {
                    let first = v.stages.iter().find(|s| !s.ok).map_or("validation", |s| s.stage.as_str());
                    Err((first.to_owned(), v.reason().unwrap_or_default(), no_extra()))
                }
                (Ok(d), Some(_), _) => dedup.check_and_insert(task, &d.row.id, &d.row.dedup_text()).map_err(|e| {
                    let (stage, reason) = dup_reason(e);
                    (stage, reason, no_extra())
                }),
                (Ok(_), None, None) => Err(("validation".to_owned(), "no verdict".to_owned(), no_extra())),
            };
            if let Some(v) = &verdict {
                for st in &v.stages {
                    stage_rows.push((pid.clone(), st.stage.as_str().to_owned(), st.ok, st.duration_ms));
                }
            }
            match outcome {
                Ok(()) => {
                    let (Ok(d), Some(v)) = (&r, &verdict) else { unreachable!() };
                    stage_rows.push((pid.clone(), "dedup".into(), true, 0.0));
                    cursor.accepted += 1;
                    cursor.streak = 0;
                    *accepted_in.entry(src.bucket.clone()).or_default() += 1;
                    total_now += 1;
                    let mut row = d.row.clone();
                    row.verification = Some(verification(v, task));
                    acc_rows.push(AcceptedRow {
                        id: row.id.clone(),
                        pattern_id: pid.clone(),
                        category: src.category.clone(),
                        task,
                        text: row.dedup_text(),
                        index: idx,
                        row: serde_json::to_string(&row)?,
                        preference: preference(&d.sample)
                            .map(|p| (p.id.clone(), serde_json::to_string(&p)))
                            .map(|(id, j)| j.map(|j| (id, j)))
                            .transpose()?,
                    });
                }
                Err((stage, reason, extra)) => {
                    if stage.starts_with("dedup") {
                        stage_rows.push((pid.clone(), "dedup".into(), false, 0.0));
                    } else {
                        cursor.failed += 1;
                    }
                    cursor.streak += 1;
                    rejected_total += 1;
                    let mut record = json!({ "pattern_id": pid, "category": src.category, "seed": args.seed, "index": idx, "task": task,
                        "stage": stage, "reason": reason, "sample_id": r.as_ref().ok().map(|d| d.row.id.clone()),
                        "stages": verdict.as_ref().map(outcomes) });
                    if let (Some(rec), serde_json::Value::Object(extra)) = (record.as_object_mut(), extra) {
                        rec.extend(extra);
                    }
                    rej_rows.push((pid.clone(), idx, stage, reason, record.to_string()));
                }
            }
            quarantine(cursor);
        }
        let acc: Vec<Accepted<'_>> = acc_rows
            .iter()
            .map(|a| Accepted {
                id: &a.id,
                pattern_id: &a.pattern_id,
                category: &a.category,
                task: a.task,
                index: a.index,
                text: &a.text,
                row: &a.row,
                preference: a.preference.as_ref().map(|(id, j)| (id.as_str(), j.as_str())),
            })
            .collect();
        let rej: Vec<Rejected<'_>> = rej_rows
            .iter()
            .map(|(p, idx, st, re, rec)| Rejected { pattern_id: p, index: *idx, stage: st, reason: re, record: rec })
            .collect();
        let cur: Vec<(&str, &Cursor)> = touched.iter().map(|p| (p.as_str(), &cursors[p])).collect();
        let st: Vec<(&str, &str, bool, f64)> = stage_rows.iter().map(|(p, s, ok, ms)| (p.as_str(), s.as_str(), *ok, *ms)).collect();
        store.commit(&acc, &rej, &cur, &st)?;
        progress.update(total_now, rejected_total);
    }
    progress.done();
    finish(&store, out, args, &sources, &cursors, &dedup, started, true)
}

/// The benchmark item a candidate's exchange matches, if any.
fn contamination(index: &Index, d: &Drawn) -> Option<Early> {
    if index.is_empty() {
        return None;
    }
    let text: Vec<&str> = d.row.messages.iter().map(|m| m.content.as_str()).collect();
    index.check(&text.join("\n")).map(Early::Contaminated)
}

/// Every usable pattern file of the library with its hash, for the run's record.
pub fn library_entries(lib: &plse_schema::Library) -> Vec<plse_release::LibraryEntry> {
    lib.patterns()
        .map(|(e, p)| plse_release::LibraryEntry {
            path: e.rel_path.clone(),
            pattern_id: p.pattern_id.clone(),
            version: p.version.clone(),
            category: e.category.clone(),
            sha256: plse_sampling::rng::hex_digest(e.file.source.text().as_bytes(), 64),
        })
        .collect()
}

fn dup_reason(d: Duplicate) -> (String, String) {
    match d {
        Duplicate::Exact { of } => ("dedup-exact".to_owned(), format!("same normalised code as {of}")),
        Duplicate::Near { of, similarity } => ("dedup-near".to_owned(), format!("near-duplicate of {of} (Jaccard ≈ {similarity:.2})")),
    }
}

/// Takes a pattern out of the run when it keeps failing or stops yielding new samples.
fn quarantine(c: &mut Cursor) {
    if c.quarantined.is_some() {
        return;
    }
    c.quarantined = if c.failed >= 10 && c.accepted == 0 {
        Some(format!("none of its first {} candidates passed validation", c.failed))
    } else if c.attempts >= 30 && c.failed as f64 > 0.9 * c.attempts as f64 {
        Some(format!("{} of {} candidates failed validation", c.failed, c.attempts))
    } else if c.streak >= 40 {
        Some(format!("{} candidates in a row gave no new sample (parameter space exhausted?)", c.streak))
    } else {
        None
    };
}

/// Version of the row shape in `training_dataset.jsonl` (recorded with a run: a store written
/// with another shape is not resumed).
pub const ROW_FORMAT: u32 = 3;

/// An accepted row on its way to the store.
struct AcceptedRow {
    id: String,
    pattern_id: String,
    category: String,
    task: Task,
    text: String,
    index: u64,
    row: String,
    preference: Option<(String, String)>,
}

/// Stage outcomes as rows and rejects record them: no timings (those are run statistics).
fn outcomes(v: &Verdict) -> Vec<StageOutcome> {
    v.stages
        .iter()
        .filter(|s| s.stage != StageName::Render)
        .map(|s| StageOutcome { stage: s.stage.as_str().to_owned(), side: s.side.map(str::to_owned), ok: s.ok, message: s.message.clone() })
        .collect()
}

/// The verification block of an accepted row.
fn verification(v: &Verdict, task: Task) -> Verification {
    let mut verified: Vec<String> = Vec::new();
    for s in v.stages.iter().filter(|s| s.stage != StageName::Render) {
        if !verified.iter().any(|x| x == s.stage.as_str()) {
            verified.push(s.stage.as_str().to_owned());
        }
    }
    verified.push("dedup".to_owned());
    Verification {
        verified,
        stages: outcomes(v),
        lint: v.lint.iter().map(|(side, f)| plse_dataset::SideFindings { side: side.clone(), findings: f.clone() }).collect(),
        proof: (task == Task::Fix).then(|| plse_dataset::row::FIX_PROOF.to_owned()),
    }
}

#[allow(clippy::too_many_arguments)]
fn finish(
    store: &Store,
    out: &Path,
    args: &GenerateArgs,
    sources: &[Source<'_>],
    cursors: &HashMap<String, Cursor>,
    dedup: &TaskDeduper,
    started: Instant,
    complete: bool,
) -> Result<i32> {
    let dataset = out.join(DATASET);
    let mut written = 0;
    crate::atomic::write_with(&dataset, |w| {
        written = store.export(Export::Rows, w)?;
        Ok(())
    })?;
    crate::atomic::write_with(&out.join(REJECTS), |w| store.export(Export::Rejects, w).map(|_| ()))?;
    let mut pairs = 0;
    crate::atomic::write_with(&out.join(PREFERENCE), |w| {
        pairs = store.export(Export::Preference, w)?;
        Ok(())
    })?;
    print_summary(store, sources, cursors, dedup, started.elapsed())?;
    println!(
        "wrote {written} rows to {} ({pairs} preference pairs: {}; rejects: {})",
        dataset.display(),
        out.join(PREFERENCE).display(),
        out.join(REJECTS).display()
    );
    if complete && written >= args.count && !args.no_release {
        match crate::export::release(out, &out.join("release"), &args.release, args.exec.venv.as_deref()) {
            Ok(summary) => crate::export::print_summary(&summary),
            Err(e) => {
                eprintln!("error: building the release in {} failed: {e:#}", out.join("release").display());
                return Ok(1);
            }
        }
    }
    if !complete || written < args.count {
        eprintln!("error: reached {written} of {} samples", args.count);
        return Ok(1);
    }
    Ok(0)
}

fn print_summary(
    store: &Store,
    sources: &[Source<'_>],
    cursors: &HashMap<String, Cursor>,
    dedup: &TaskDeduper,
    elapsed: Duration,
) -> Result<()> {
    let stages = store.stage_counts()?;
    let names = ["artifact", "lint", "syntax", "security", "tests", "expected-output", "defect-shown", "dedup"];
    let rate = |pid: &str, stage: &str| -> String {
        let (p, f) =
            stages.iter().filter(|c| c.pattern_id == pid && c.stage == stage).fold((0, 0), |(a, b), c| (a + c.passed, b + c.failed));
        if p + f == 0 { "—".into() } else { format!("{:.0}%", 100.0 * p as f64 / (p + f) as f64) }
    };
    let mut rows = Vec::new();
    let mut by_cat: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for s in sources {
        let c = &cursors[&s.pattern.pattern_id];
        let e = by_cat.entry(&s.category).or_default();
        e.0 += c.accepted;
        e.1 += c.attempts;
        let mut row = vec![s.category.clone(), s.pattern.pattern_id.clone(), c.accepted.to_string(), c.attempts.to_string()];
        row.extend(names.iter().map(|n| rate(&s.pattern.pattern_id, n)));
        row.push(c.quarantined.clone().map_or_else(String::new, |q| format!("QUARANTINED: {q}")));
        rows.push(row);
    }
    let mut header = vec!["CATEGORY", "PATTERN", "ACCEPTED", "TRIED"];
    header.extend(names);
    header.push("NOTE");
    println!("\n{}", table(&header, &rows));
    let cat_rows: Vec<Vec<String>> = by_cat
        .iter()
        .map(|(c, (a, t))| vec![c.to_string(), a.to_string(), t.to_string(), format!("{:.0}%", 100.0 * *a as f64 / (*t).max(1) as f64)])
        .collect();
    println!("{}", table(&["CATEGORY", "ACCEPTED", "TRIED", "YIELD"], &cat_rows));
    let d = dedup.counts();
    println!("dedup (this session): {} unique, {} exact duplicates, {} near-duplicates", d.unique, d.exact, d.near);
    let mut time_by_stage: BTreeMap<&str, (f64, u64)> = BTreeMap::new();
    for c in &stages {
        let e = time_by_stage.entry(c.stage.as_str()).or_default();
        e.0 += c.ms;
        e.1 += c.passed + c.failed;
    }
    let times: Vec<String> = names
        .iter()
        .filter_map(|n| time_by_stage.get(n).filter(|(ms, _)| *ms > 0.0).map(|(ms, k)| format!("{n} {:.1} ms", ms / (*k).max(1) as f64)))
        .collect();
    if !times.is_empty() {
        println!("mean time per stage run: {}", times.join(", "));
    }
    let reasons = store.top_reasons(5)?;
    if !reasons.is_empty() {
        println!("top rejection reasons:");
        for (stage, reason, n) in reasons {
            println!("  {n:>5}  {stage}: {reason}");
        }
    }
    println!("time: {:.1}s", elapsed.as_secs_f64());
    Ok(())
}

fn parse_targets(specs: &[String]) -> Result<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for s in specs {
        let Some((cat, n)) = s.split_once('=') else { bail!("--category-target `{s}`: expected CATEGORY=N") };
        let n: u64 = n.trim().parse().map_err(|_| anyhow::anyhow!("--category-target `{s}`: `{n}` is not a count"))?;
        out.insert(cat.trim().to_owned(), n);
    }
    Ok(out)
}

/// A progress bar on a terminal, periodic plain lines otherwise (CI logs).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    start: Instant,
    last: std::cell::Cell<Instant>,
    total: u64,
    base: u64,
}

impl Progress {
    fn new(total: u64, done: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(total);
            b.set_style(
                indicatif::ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} accepted · {msg} · {per_sec} · ETA {eta}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b.set_position(done);
            b.reset_eta();
            b
        });
        Self { bar, start: Instant::now(), last: std::cell::Cell::new(Instant::now()), total, base: done }
    }

    fn update(&self, accepted: u64, rejected: u64) {
        match &self.bar {
            Some(b) => {
                b.set_position(accepted);
                b.set_message(format!("{rejected} rejected"));
            }
            None if self.last.get().elapsed() >= Duration::from_secs(2) || accepted >= self.total => {
                self.last.set(Instant::now());
                let secs = self.start.elapsed().as_secs_f64().max(1e-3);
                let rate = (accepted - self.base) as f64 / secs;
                let eta = if rate > 0.0 { format!("{:.0}s", (self.total - accepted) as f64 / rate) } else { "?".into() };
                eprintln!("generate: {accepted}/{} accepted, {rejected} rejected, {rate:.1} samples/s, ETA {eta}", self.total);
            }
            None => {}
        }
    }

    fn done(&self) {
        if let Some(b) = &self.bar {
            b.finish();
        }
    }
}
