//! `plse-batch generate`: exactly N valid, unique samples.
//!
//! Candidates are drawn in a deterministic schedule (per-pattern index cursors, round-robin
//! within each category's remaining need), validated in parallel, then accepted in schedule
//! order: the dataset depends on (library, seed, count, targets), not on `--jobs` or on
//! interruptions. Failing and duplicate candidates are replaced by further indices; a pattern
//! that keeps failing or stops yielding new samples is quarantined and reported.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::json;

use plse_dedup::{Deduper, Duplicate, Params};
use plse_render::{Prepared, Sample};
use plse_sampling::Overrides;
use plse_schema::Pattern;

use crate::cli::GenerateArgs;
use crate::discover::{load_library, pattern_files};
use crate::report::table;
use crate::store::{Accepted, Cursor, Rejected, Store};
use crate::validate::Verdict;

/// Files written to the output directory.
pub const DATASET: &str = "training_dataset.jsonl";
/// Rejected candidates with their stage and reason.
pub const REJECTS: &str = "rejects.jsonl";

const REST: &str = "*";

/// One drawn candidate of a batch.
struct Candidate {
    src: usize,
    index: u64,
    sample: Result<Sample, String>,
    dup: Option<Duplicate>,
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
    for (e, p) in lib.patterns() {
        let bucket = if targets.contains_key(&e.category) { e.category.clone() } else { REST.to_owned() };
        let prepared = Prepared::new(p, &e.category).map_err(|e| anyhow::anyhow!("{e}"))?;
        sources.push(Source { pattern: p, category: e.category.clone(), prepared, bucket });
    }
    if sources.is_empty() {
        bail!("no usable patterns in {}", root.display());
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
    let config =
        json!({ "seed": args.seed, "count": args.count, "targets": targets, "patterns": ids, "dedup_threshold": args.dedup_threshold })
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
    let ctx = crate::exec::Context::new(&args.exec, sources.iter().map(|s| s.pattern))?;

    // State, rebuilt from the store on --resume.
    let mut dedup = Deduper::new(Params::with_threshold(args.dedup_threshold));
    for (id, code) in store.accepted_codes()? {
        let _ = dedup.check_and_insert(&id, &code);
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
            active.sort_by_key(|&i| (cursors[&sources[i].pattern.pattern_id].accepted, i));
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
                let sample = sources[src].prepared.render(args.seed, index, &Overrides::none()).map_err(|e| e.to_string());
                let dup = sample.as_ref().ok().and_then(|s| dedup.check(&s.code).err());
                Candidate { src, index, sample, dup }
            })
            .collect();
        let ok_samples: Vec<(&Pattern, &Sample)> = candidates
            .iter()
            .filter(|c| c.dup.is_none())
            .filter_map(|c| c.sample.as_ref().ok().map(|s| (sources[c.src].pattern, s)))
            .collect();
        let mut verdicts = ctx.validate_all(&ok_samples)?.into_iter();

        // Accept in schedule order.
        let mut acc_rows: Vec<(String, String, String, String, u64, String)> = Vec::new();
        let mut rej_rows: Vec<(String, u64, String, String, String)> = Vec::new();
        let mut stage_rows: Vec<(String, String, bool)> = Vec::new();
        let mut touched: Vec<String> = Vec::new();
        let mut total_now = total;
        for Candidate { src: i, index: idx, sample: r, dup: early_dup } in candidates {
            let src = &sources[i];
            let pid = src.pattern.pattern_id.clone();
            let verdict = if r.is_ok() && early_dup.is_none() { verdicts.next() } else { None };
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
            let outcome = match (&r, &verdict) {
                (Err(e), _) => Err(("render".to_owned(), e.clone())),
                (Ok(_), None) if early_dup.is_some() => Err(dup_reason(early_dup.unwrap_or_else(|| unreachable!()))),
                (Ok(_), Some(v)) if !v.ok => {
                    let first = v.stages.iter().find(|s| !s.ok).map_or("validation", |s| s.stage);
                    Err((first.to_owned(), v.reason().unwrap_or_default()))
                }
                (Ok(s), Some(_)) => dedup.check_and_insert(&s.id, &s.code).map_err(dup_reason),
                (Ok(_), None) => Err(("validation".to_owned(), "no verdict".to_owned())),
            };
            if let Some(v) = &verdict {
                for st in &v.stages {
                    stage_rows.push((pid.clone(), st.stage.to_owned(), st.ok));
                }
            }
            match outcome {
                Ok(()) => {
                    let (Ok(s), Some(v)) = (&r, &verdict) else { unreachable!() };
                    stage_rows.push((pid.clone(), "dedup".into(), true));
                    cursor.accepted += 1;
                    cursor.streak = 0;
                    *accepted_in.entry(src.bucket.clone()).or_default() += 1;
                    total_now += 1;
                    acc_rows.push((s.id.clone(), pid.clone(), src.category.clone(), s.code.clone(), idx, dataset_row(s, v).to_string()));
                }
                Err((stage, reason)) => {
                    if stage.starts_with("dedup") {
                        stage_rows.push((pid.clone(), "dedup".into(), false));
                    } else {
                        cursor.failed += 1;
                    }
                    cursor.streak += 1;
                    rejected_total += 1;
                    let record = json!({ "pattern_id": pid, "category": src.category, "seed": args.seed, "index": idx, "stage": stage, "reason": reason,
                        "sample_id": r.as_ref().ok().map(|s| s.id.clone()), "stages": verdict.as_ref().map(|v| &v.stages) });
                    rej_rows.push((pid.clone(), idx, stage, reason, record.to_string()));
                }
            }
            quarantine(cursor);
        }
        let acc: Vec<Accepted<'_>> =
            acc_rows.iter().map(|(id, p, c, code, idx, row)| Accepted { id, pattern_id: p, category: c, index: *idx, code, row }).collect();
        let rej: Vec<Rejected<'_>> = rej_rows
            .iter()
            .map(|(p, idx, st, re, rec)| Rejected { pattern_id: p, index: *idx, stage: st, reason: re, record: rec })
            .collect();
        let cur: Vec<(&str, &Cursor)> = touched.iter().map(|p| (p.as_str(), &cursors[p])).collect();
        let st: Vec<(&str, &str, bool)> = stage_rows.iter().map(|(p, s, ok)| (p.as_str(), s.as_str(), *ok)).collect();
        store.commit(&acc, &rej, &cur, &st)?;
        progress.update(total_now, rejected_total);
    }
    progress.done();
    finish(&store, out, args, &sources, &cursors, &dedup, started, true)
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

/// One line of `training_dataset.jsonl`: the v2.0 row, chat `messages`, and metadata.
fn dataset_row(s: &Sample, v: &Verdict) -> serde_json::Value {
    json!({
        "instruction": s.instruction,
        "input": "",
        "output": s.code,
        "messages": [{ "role": "user", "content": s.instruction }, { "role": "assistant", "content": s.code }],
        "id": s.id,
        "pattern_id": s.pattern_id,
        "pattern_version": s.pattern_version,
        "category": s.category,
        "difficulty": s.difficulty,
        "concept": s.concept,
        "tags": s.tags,
        "seed": s.seed,
        "index": s.index,
        "parameters": s.parameters,
        "explanation": s.explanation,
        "tests": s.tests,
        "requires": s.requires,
        "artifact": s.artifact,
        "pair": s.pair,
        "stages": v.stages,
        "lint": v.lint.iter().map(|(side, f)| json!({ "side": side, "findings": f })).collect::<Vec<_>>(),
    })
}

#[allow(clippy::too_many_arguments)]
fn finish(
    store: &Store,
    out: &Path,
    args: &GenerateArgs,
    sources: &[Source<'_>],
    cursors: &HashMap<String, Cursor>,
    dedup: &Deduper,
    started: Instant,
    complete: bool,
) -> Result<i32> {
    let dataset = out.join(DATASET);
    let mut written = 0;
    crate::atomic::write_with(&dataset, |w| {
        written = store.export(false, w)?;
        Ok(())
    })?;
    crate::atomic::write_with(&out.join(REJECTS), |w| store.export(true, w).map(|_| ()))?;
    print_summary(store, sources, cursors, dedup, started.elapsed())?;
    println!("wrote {written} samples to {} (rejects: {})", dataset.display(), out.join(REJECTS).display());
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
    dedup: &Deduper,
    elapsed: Duration,
) -> Result<()> {
    let stages = store.stage_counts()?;
    let names = ["syntax", "artifact", "lint", "tests", "expected-output", "defect-shown", "dedup"];
    let rate = |pid: &str, stage: &str| -> String {
        let (p, f) = stages.iter().filter(|(x, s, _, _)| x == pid && s == stage).fold((0, 0), |(a, b), (_, _, p, f)| (a + p, b + f));
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
