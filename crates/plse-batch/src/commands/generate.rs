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
//!
//! With `--num-shards T` it runs one shard (`crate::shards`): the indices `i % T == K` of
//! every pattern, aiming at its share of each bucket plus a margin, into `OUT/shards/{K:05}`
//! (resumed when interrupted), then writes the shard's completion marker. SIGTERM and SIGINT
//! let the batch in flight commit, then end the run with exit 1, so a rerun resumes.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, IsTerminal};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::json;

use plse_dataset::{Drawn, StageOutcome, Task, TaskDeduper, Verification, draw_as, preference};
use plse_dedup::{Duplicate, Fingerprint, Params};
use plse_release::decontam::{Hit, Index};
use plse_render::{Prepared, Sample};
use plse_sampling::Overrides;
use plse_schema::Pattern;

use crate::cli::GenerateArgs;
use crate::commands::continuous::{Rotation, Stop, UNBOUNDED, target_count};
use crate::commands::rephrase::Rephraser;
use crate::discover::{load_library, pattern_files};
use crate::report::table;
use crate::shards::{self, Shard, code, layout};
use crate::store::{Accepted, Cursor, Export, Rejected, Store};
use crate::validation::pyenv::Tier;
use plse_check::{StageName, Verdict};
use plse_render::imports::pattern_modules;

/// Files written to the output directory.
pub const DATASET: &str = "training_dataset.jsonl";
/// Rejected candidates with their stage and reason.
pub const REJECTS: &str = "rejects.jsonl";
/// Preference pairs (TRL conversational format) from the paired patterns' accepted rows.
pub const PREFERENCE: &str = "preference.jsonl";

const REST: &str = "*";

/// Where a candidate ended: a validation stage, or one of the generator's own. Stored and
/// written (rejects, stage statistics) under the same names as ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// A stage of the check plan (`plse-check`).
    Check(StageName),
    /// The sample could not be rendered.
    Render,
    /// It matches a benchmark item.
    Decontamination,
    /// Same normalised text as an accepted row of its task.
    DedupExact,
    /// Near-duplicate of an accepted row of its task.
    DedupNear,
    /// No verdict came back.
    Validation,
}

impl Stage {
    /// The dedup stage in the stage statistics (exact and near together).
    const DEDUP: &'static str = "dedup";

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Check(s) => s.as_str(),
            Self::Render => "render",
            Self::Decontamination => "decontamination",
            Self::DedupExact => "dedup-exact",
            Self::DedupNear => "dedup-near",
            Self::Validation => "validation",
        }
    }

    fn is_dedup(self) -> bool {
        matches!(self, Self::DedupExact | Self::DedupNear)
    }
}

/// The stage and reason of a duplicate's reject record; `note` goes in the parenthesis (the
/// merge's "across shards").
pub(crate) fn duplicate_reason(d: &Duplicate, note: Option<&str>) -> (Stage, String) {
    match d {
        Duplicate::Exact { of } => {
            let note = note.map(|n| format!(" ({n})")).unwrap_or_default();
            (Stage::DedupExact, format!("same normalised code as {of}{note}"))
        }
        Duplicate::Near { of, similarity } => {
            let note = note.map(|n| format!(", {n}")).unwrap_or_default();
            (Stage::DedupNear, format!("near-duplicate of {of} (Jaccard ≈ {similarity:.2}{note})"))
        }
    }
}

/// A rejection: stage, reason and extra fields of the reject record.
struct Rejection {
    stage: Stage,
    reason: String,
    extra: serde_json::Map<String, serde_json::Value>,
}

impl Rejection {
    fn new(stage: Stage, reason: String) -> Self {
        Self { stage, reason, extra: serde_json::Map::new() }
    }

    fn duplicate(d: Duplicate) -> Self {
        let (stage, reason) = duplicate_reason(&d, None);
        Self::new(stage, reason)
    }

    fn contaminated(h: &Hit) -> Self {
        let reason = format!("matches {} {} ({}: \"{}\")", h.benchmark, h.item, h.kind, h.evidence);
        let extra = json!({ "benchmark": h.benchmark, "item": h.item, "match": h.kind, "evidence": h.evidence });
        Self { stage: Stage::Decontamination, reason, extra: extra.as_object().cloned().unwrap_or_default() }
    }

    fn failed(v: &Verdict) -> Self {
        let stage = v.stages.iter().find(|s| !s.ok).map_or(Stage::Validation, |s| Stage::Check(s.stage));
        Self::new(stage, v.reason().unwrap_or_default())
    }
}

/// One drawn candidate of a batch.
struct Candidate {
    src: usize,
    /// The pattern's sample index (global: a shard draws every T-th).
    index: u64,
    /// The position of the pattern's cursor it was drawn at.
    local: u64,
    task: Task,
    drawn: Result<Drawn, String>,
    /// What the dedup index compares, computed once: checked before validation, inserted
    /// on acceptance.
    fingerprint: Option<Fingerprint>,
    /// Why it is rejected before validation, if it is.
    early: Option<Rejection>,
}

struct Source<'a> {
    pattern: &'a Pattern,
    category: String,
    prepared: Prepared<'a>,
    bucket: String,
}

/// What the run draws from and how much of each bucket it needs.
struct Plan<'a> {
    sources: Vec<Source<'a>>,
    targets: BTreeMap<String, u64>,
    /// Per bucket: rows this process aims at (the whole run's, or a shard's share).
    need: BTreeMap<String, u64>,
    /// Rows this process aims at in all (`--count`, or a shard's share).
    count: u64,
    /// The part of every pattern's index space this process draws from ...
    shard: Shard,
    /// ... shifted by this.
    base: u64,
    /// Per source: its tie-break rank, drawn from the seed.
    ranks: Vec<String>,
}

/// What a run knows between batches (rebuilt from the store on --resume).
struct State {
    dedup: TaskDeduper,
    cursors: HashMap<String, Cursor>,
    accepted_in: BTreeMap<String, u64>,
    rejected: u64,
}

/// One batch's results, on their way to the store in one transaction.
#[derive(Default)]
struct Records {
    accepted: Vec<AcceptedRow>,
    rejected: Vec<(String, u64, String, String, String)>,
    stages: Vec<(String, String, bool, f64)>,
    touched: Vec<String>,
}

/// Set by SIGTERM or SIGINT: finish the batch in flight, commit it and stop.
static STOP: std::sync::LazyLock<Arc<AtomicBool>> = std::sync::LazyLock::new(|| Arc::new(AtomicBool::new(false)));

/// Whether a stop signal arrived.
pub(crate) fn stopped() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// SIGTERM (Slurm's preemption and time limit, Kubernetes' pod deletion) and SIGINT set
/// [`STOP`] instead of killing the run mid-batch (signal-hook: the handler only stores to the
/// atomic, which is async-signal-safe).
pub(crate) fn catch_stop_signals() {
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        // Registering fails only for signals that cannot be caught; these two can.
        let _ = signal_hook::flag::register(sig, Arc::clone(&STOP));
    }
}

/// Runs `generate`. Returns the process exit code.
pub fn run(args: &GenerateArgs) -> Result<i32> {
    match args.shard.num_shards {
        None => run_part(args, Shard::WHOLE),
        Some(total) => run_shard(args, total),
    }
}

/// The merge's top-up (`crate::shards::merge`): `args` asks for the rows the shards fell
/// short of, drawn from the indices at [`shards::TOPUP_BASE`] upward (which no shard reaches),
/// judged against `prior`, the dedup index of every row the merge kept. Resumes from
/// `args.out` like any run.
pub(crate) fn top_up(args: &GenerateArgs, prior: TaskDeduper) -> Result<i32> {
    run_with(args, Part { shard: Shard::WHOLE, base: shards::TOPUP_BASE, prior: Some(prior) })
}

/// The part of every pattern's index space a process draws from.
struct Part {
    /// A shard's indices (`Shard::WHOLE`: all of them) ...
    shard: Shard,
    /// ... shifted by this (0, or the top-up's base).
    base: u64,
    /// Rows already kept elsewhere that new rows must not duplicate.
    prior: Option<TaskDeduper>,
}

/// One shard of a sharded run: pins (or checks) the run's settings, skips a complete shard,
/// runs (or resumes) an incomplete one into its folder and marks it complete.
fn run_shard(args: &GenerateArgs, total: u64) -> Result<i32> {
    let shard = shards::resolve(total, args.shard.shard_index, args.shard.shard_offset, &|v| std::env::var(v).ok())?;
    let root = &args.library.patterns;
    let lib = load_library(root, &pattern_files(root)?)?;
    let settings = pinned_settings(args, &lib)?;
    let run = layout::pin(&args.out, &settings)?;
    let dir = layout::shard_dir(&args.out, shard.index);
    if let Some(m) = layout::marker(&args.out, shard, &run) {
        println!("shard {} of {total} is already complete ({} rows in {}): nothing to do", shard.index, m.rows, dir.display());
        return Ok(code::OK);
    }
    let mut part = args.clone();
    part.out = dir.clone();
    part.resume = true;
    part.no_release = true;
    let result = run_part(&part, shard);
    let exit = match result {
        Ok(c) => c,
        // Failures past the checks of the settings (the sandbox, the store, a signal) are
        // worth a retry; configuration errors keep their code.
        Err(e) if shards::exit_code(&e, code::TRANSIENT) == code::TRANSIENT && stopped() => {
            eprintln!("error: {e:#}");
            code::TRANSIENT
        }
        Err(e) => return Err(e),
    };
    if exit != code::OK {
        return Ok(exit);
    }
    let rows = std::io::BufReader::new(std::fs::File::open(dir.join(DATASET))?).lines().count() as u64;
    layout::write_marker(&args.out, shard, &run, rows, &[DATASET, PREFERENCE, REJECTS])?;
    println!("shard {} of {total} complete: {rows} rows in {}", shard.index, dir.display());
    Ok(code::OK)
}

/// What pins a sharded run (`OUT/run.json`): everything the rows depend on.
fn pinned_settings(args: &GenerateArgs, lib: &plse_schema::Library) -> Result<serde_json::Value> {
    let targets = parse_targets(&args.category_target)?;
    Ok(json!({
        "plse_version": env!("CARGO_PKG_VERSION"), "num_shards": args.shard.num_shards, "shard_margin": args.shard.shard_margin,
        "count": args.count, "seed": args.seed, "targets": targets, "tasks": args.tasks.spec(), "dedup_threshold": args.dedup_threshold,
        "tiers": args.tiers.iter().map(|t| t.name()).collect::<Vec<_>>(), "decontaminate": args.release.decontaminate,
        "ngram": args.release.ngram, "row_format": ROW_FORMAT,
        "library": library_hash(lib),
    }))
    .map(|mut v| {
        with_rephrase(&mut v, &args.rephrase);
        v
    })
}

/// What a run's rephrasing changes in its rows (`null` when it does not rephrase).
pub(crate) fn rephrase_setting(r: &crate::cli::RephraseArgs) -> serde_json::Value {
    if r.enabled() { json!({ "fraction": r.fraction, "model": r.model }) } else { serde_json::Value::Null }
}

/// Adds the rephrasing to a run's settings, only when there is one (so the settings of runs
/// without it are as they always were).
fn with_rephrase(settings: &mut serde_json::Value, r: &crate::cli::RephraseArgs) {
    if let (true, Some(map)) = (r.enabled(), settings.as_object_mut()) {
        map.insert("rephrase".into(), rephrase_setting(r));
    }
}

/// The hash of a library's usable pattern files (paths and contents), as `run.json` pins it.
pub(crate) fn library_hash(lib: &plse_schema::Library) -> String {
    let library: Vec<String> = library_entries(lib).iter().map(|e| format!("{} {}", e.sha256, e.path)).collect();
    plse_sampling::rng::hex_digest(library.join("\n").as_bytes(), 64)
}

/// The run, or one shard of it, in `args.out`.
fn run_part(args: &GenerateArgs, shard: Shard) -> Result<i32> {
    run_with(args, Part { shard, base: 0, prior: None })
}

fn run_with(args: &GenerateArgs, part: Part) -> Result<i32> {
    let root = &args.library.patterns;
    let lib = load_library(root, &pattern_files(root)?)?;
    let plan = plan(args, &lib, part.shard, part.base)?;
    // First the sandbox: its workers start in the background while the store opens and the
    // first batch is drawn and linted.
    let ctx = crate::validation::exec::Context::new(&args.exec, plan.sources.iter().map(|s| s.pattern))?;
    let mut store = open_store(args, &plan, &lib)?;
    let benchmarks = crate::commands::export::benchmarks(&args.release.decontaminate, args.exec.venv.as_deref())?;
    let decon = plse_release::decontam::index(&benchmarks, args.release.ngram as usize)?;
    let mut state = resume(args, &plan, &store, part.prior)?;
    let progress = Progress::new(plan.count, store.accepted_count()?);
    let started = Instant::now();
    let mut rotation = Rotation::new(args, started)?;
    let mut rephraser = Rephraser::new(args)?;
    catch_stop_signals();
    loop {
        let total = store.accepted_count()?;
        if total >= plan.count {
            break;
        }
        if stopped() || rotation.as_ref().is_some_and(Rotation::out_of_time) {
            progress.done();
            if let Some(r) = &mut rotation {
                return stop_continuous(r, &store, args, &plan, &state, started);
            }
            eprintln!("interrupted: {total} of {} samples committed; run the same command again to resume", plan.count);
            return Ok(code::TRANSIENT);
        }
        let Some(batch) = schedule(&plan, &state) else {
            if let Some(r) = &mut rotation {
                r.stop(&store, false)?;
            }
            return finish(&store, args, &plan, &state, started, End::Short);
        };
        let candidates = draw_batch(args, &plan, &state, &decon, &batch);
        let verdicts = validate_batch(&ctx, &plan, &candidates)?;
        if let Some(t) = ctx.first_verdict() {
            let _ = STARTUP.set(t.duration_since(crate::process_start()));
        }
        let mut records = accept(args, &plan, &mut state, candidates, verdicts, total)?;
        if let Some(r) = &mut rephraser {
            r.apply(records.accepted.iter_mut().map(|a| &mut a.row))?;
        }
        commit(&mut store, &state, &records)?;
        if let Some(r) = &mut rotation {
            r.rotate(&store)?;
        }
        progress.update(total + records.accepted.len() as u64, state.rejected);
    }
    progress.done();
    if let Some(r) = &rephraser {
        eprintln!("{}", r.report());
    }
    if let Some(r) = &mut rotation {
        r.stop(&store, false)?;
    }
    finish(&store, args, &plan, &state, started, End::Complete)
}

/// A continuous run stopping before its count (a signal, or `--until DURATION`): publishes
/// what is left, writes the files, and ends with 0 (done for now) or 1 (interrupted before
/// its `--until` count: a retry resumes).
fn stop_continuous(r: &mut Rotation, store: &Store, args: &GenerateArgs, plan: &Plan<'_>, state: &State, started: Instant) -> Result<i32> {
    match r.stop(store, stopped())? {
        Stop::Reached => finish(store, args, plan, state, started, End::Complete),
        Stop::Paused => finish(store, args, plan, state, started, End::Paused),
        Stop::Interrupted => finish(store, args, plan, state, started, End::Paused).map(|_| code::TRANSIENT),
    }
}

/// How a run's loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Every row it aimed at is accepted.
    Complete,
    /// No pattern is left to fill a bucket.
    Short,
    /// A continuous run stopped before a count (it has none, or it resumes later).
    Paused,
}

/// The usable patterns (those with a task under the mix and their tiers allowed), the
/// category targets and each bucket's need (a shard's share of it).
fn plan<'a>(args: &GenerateArgs, lib: &'a plse_schema::Library, shard: Shard, base: u64) -> Result<Plan<'a>> {
    let broken = lib.entries.iter().filter(|e| e.file.has_errors()).count();
    if broken > 0 {
        eprintln!("warning: {broken} pattern file(s) have errors and are left out; run `plse-batch lint`");
    }
    let targets = parse_targets(&args.category_target)?;
    let sources = sources(args, lib, &targets)?;
    let need: BTreeMap<String, u64> =
        need(args, &sources, &targets)?.into_iter().map(|(b, n)| (b, shard.need(n, args.shard.shard_margin))).collect();
    let count = need.values().sum();
    let ranks =
        sources.iter().map(|s| plse_sampling::rng::hex_digest(format!("{}\0{}", args.seed, s.pattern.pattern_id).as_bytes(), 16)).collect();
    Ok(Plan { sources, targets, need, count, shard, base, ranks })
}

fn sources<'a>(args: &GenerateArgs, lib: &'a plse_schema::Library, targets: &BTreeMap<String, u64>) -> Result<Vec<Source<'a>>> {
    let mut usable = Vec::new();
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
        usable.push((p, e, bucket));
    }
    // Compiling every pattern's templates is most of a run's start-up after loading: in
    // parallel, in library order.
    let sources: Vec<Source<'a>> = {
        use rayon::prelude::*;
        usable
            .into_par_iter()
            .map(|(p, e, bucket)| {
                let prepared = Prepared::new(p, &e.category).map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(Source { pattern: p, category: e.category.clone(), prepared, bucket })
            })
            .collect::<Result<_>>()?
    };
    if !left_out.is_empty() {
        eprintln!("note: --tasks {} gives {} pattern(s) no task; left out: {}", args.tasks.spec(), left_out.len(), left_out.join(", "));
    }
    for (tier, ids) in &needs_tier {
        eprintln!("note: {} pattern(s) need the `{tier}` tier, which --tiers leaves out (add `--tiers all` to include them)", ids.len());
    }
    if sources.is_empty() {
        bail!("no usable patterns in {} for --tasks {}", args.library.patterns.display(), args.tasks.spec());
    }
    Ok(sources)
}

/// Samples each bucket needs: the targeted categories, and the rest of the count.
fn need(args: &GenerateArgs, sources: &[Source<'_>], targets: &BTreeMap<String, u64>) -> Result<BTreeMap<String, u64>> {
    let mut need: BTreeMap<String, u64> = BTreeMap::new();
    let targeted: u64 = targets.values().sum();
    let count = target_count(args);
    if targeted > count {
        bail!("category targets add up to {targeted}, more than --count {count}");
    }
    for (cat, n) in targets {
        if !sources.iter().any(|s| &s.category == cat) {
            bail!("--category-target {cat}: no pattern has that category");
        }
        need.insert(cat.clone(), *n);
    }
    if count > targeted {
        if !sources.iter().any(|s| s.bucket == REST) {
            bail!("--count {count} exceeds the category targets ({targeted}) and no other category is left to fill the rest");
        }
        need.insert(REST.to_owned(), count - targeted);
    }
    Ok(need)
}

/// Opens the run's store: a new run, the same run to continue (`--resume`) or to export again.
fn open_store(args: &GenerateArgs, plan: &Plan<'_>, lib: &plse_schema::Library) -> Result<Store> {
    let out = &args.out;
    let mut store = Store::open(out)?;
    let ids: Vec<String> = plan.sources.iter().map(|s| format!("{}@{}", s.pattern.pattern_id, s.pattern.version)).collect();
    // A continuous run's bound may change from one invocation to the next.
    let count = if args.continuous.continuous { json!("continuous") } else { json!(args.count) };
    let config = json!({ "seed": args.seed, "count": count, "targets": plan.targets, "patterns": ids,
        "dedup_threshold": args.dedup_threshold, "tasks": args.tasks.spec(), "row_format": ROW_FORMAT,
        "decontaminate": args.release.decontaminate, "ngram": args.release.ngram, "patterns_dir": args.library.patterns.display().to_string(),
        "tiers": args.tiers.iter().map(|t| t.name()).collect::<Vec<_>>() });
    let config = match (args.shard.num_shards, config) {
        (Some(_), serde_json::Value::Object(mut c)) => {
            c.insert("shard".into(), json!({ "index": plan.shard.index, "total": plan.shard.total, "margin": args.shard.shard_margin }));
            serde_json::Value::Object(c)
        }
        (_, c) => c,
    };
    let mut config = config;
    with_rephrase(&mut config, &args.rephrase);
    let config = match (plan.base, config) {
        (0, c) => c,
        (base, serde_json::Value::Object(mut c)) => {
            c.insert("index_base".into(), json!(base));
            serde_json::Value::Object(c)
        }
        (_, c) => c,
    }
    .to_string();
    match store.config()? {
        // The same run, already complete: nothing to add; export and summarise again.
        Some(c) if c == config && store.accepted_count()? >= plan.count => {}
        // A continuous run (like a shard) resumes by running the same command again.
        Some(_) if !args.resume && !args.continuous.continuous => bail!(
            "{} already holds an unfinished or different run ({} samples accepted); pass --resume to continue it, or choose another --out",
            out.join(crate::store::DB_FILE).display(),
            store.accepted_count()?
        ),
        _ => store.start(&config)?,
    }
    if store.library()?.is_empty() {
        store.record_library(&library_entries(lib))?;
    }
    Ok(store)
}

/// The dedup index (over `prior` rows kept elsewhere, if any), cursors and per-bucket
/// counts, from what the store holds.
fn resume(args: &GenerateArgs, plan: &Plan<'_>, store: &Store, prior: Option<TaskDeduper>) -> Result<State> {
    let mut dedup = prior.unwrap_or_else(|| TaskDeduper::new(Params::with_threshold(args.dedup_threshold)));
    for (id, task, text) in store.accepted_texts()? {
        let _ = dedup.check_and_insert(task, &id, &text);
    }
    let mut cursors: HashMap<String, Cursor> = store.cursors()?.into_iter().collect();
    let mut accepted_in: BTreeMap<String, u64> = BTreeMap::new();
    for s in &plan.sources {
        let c = cursors.entry(s.pattern.pattern_id.clone()).or_default();
        *accepted_in.entry(s.bucket.clone()).or_default() += c.accepted;
    }
    let resumed = store.accepted_count()?;
    if resumed > 0 {
        eprintln!("resuming: {resumed} samples already accepted");
    }
    Ok(State { dedup, cursors, accepted_in, rejected: 0 })
}

/// Process start to the first sample's verdict, for the summary (the run's fixed cost: loading
/// and compiling the library, the store, the first batch's draw, ruff and worker start-up).
static STARTUP: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();

/// Fixed, not derived from --jobs: the schedule (and so the dataset) must not depend on it.
const BATCH_SIZE: usize = 64;

/// The next batch, (source, index) in schedule order: for each bucket with remaining need,
/// candidates round-robin over its active patterns, fewest accepted first, drawing a little
/// more than needed. `None` when a bucket has no pattern left to fill it.
fn schedule(plan: &Plan<'_>, state: &State) -> Option<Vec<(usize, u64)>> {
    let cursor = |i: usize| &state.cursors[&plan.sources[i].pattern.pattern_id];
    let mut batch: Vec<(usize, u64)> = Vec::new();
    let mut next: HashMap<usize, u64> = HashMap::new();
    for (bucket, want) in &plan.need {
        let remaining = want.saturating_sub(*state.accepted_in.get(bucket).unwrap_or(&0));
        if remaining == 0 {
            continue;
        }
        let mut active: Vec<usize> =
            (0..plan.sources.len()).filter(|&i| &plan.sources[i].bucket == bucket && cursor(i).quarantined.is_none()).collect();
        if active.is_empty() {
            let what = if bucket == REST { "the rest of the run" } else { bucket };
            eprintln!("error: no pattern is left to fill `{what}` ({remaining} samples short)");
            return None;
        }
        // Fewest accepted first; ties in an order drawn from the seed, so a run shorter than
        // the library samples patterns from every category, not the first ones by path.
        active.sort_by_key(|&i| (cursor(i).accepted, &plan.ranks[i]));
        let draw = (remaining as usize + remaining as usize / 2 + 1).min(BATCH_SIZE);
        for k in 0..draw {
            let i = active[k % active.len()];
            let idx = next.entry(i).or_insert(cursor(i).next_index);
            batch.push((i, *idx));
            *idx += 1;
        }
    }
    Some(batch)
}

/// Renders the batch (failures are rejects of stage `render`); candidates that duplicate an
/// accepted row or match a benchmark are rejected before the costly sandbox.
fn draw_batch(args: &GenerateArgs, plan: &Plan<'_>, state: &State, decon: &Index, batch: &[(usize, u64)]) -> Vec<Candidate> {
    batch
        .iter()
        .map(|&(src, local)| {
            let index = plan.base + plan.shard.global(local);
            let s = &plan.sources[src];
            // Sources all have a task with weight > 0, so the mix always chooses one.
            let task = args.tasks.choose(s.pattern, &s.category, args.seed, index).unwrap_or(Task::Write);
            let drawn = draw_as(&s.prepared, args.seed, index, task, &Overrides::none()).map_err(|e| e.to_string());
            let fingerprint = drawn.as_ref().ok().map(|d| state.dedup.fingerprint(&d.row.dedup_text()));
            let early = match (&drawn, &fingerprint) {
                (Ok(d), Some(fp)) => {
                    state.dedup.check_fingerprint(task, fp).err().map(Rejection::duplicate).or_else(|| contamination(decon, d))
                }
                _ => None,
            };
            Candidate { src, index, local, task, drawn, fingerprint, early }
        })
        .collect()
}

/// The verdicts of the candidates that reach validation, in order.
fn validate_batch(
    ctx: &crate::validation::exec::Context,
    plan: &Plan<'_>,
    candidates: &[Candidate],
) -> Result<std::vec::IntoIter<Verdict>> {
    let samples: Vec<(&Pattern, &Sample)> = candidates
        .iter()
        .filter(|c| c.early.is_none())
        .filter_map(|c| c.drawn.as_ref().ok().map(|d| (plan.sources[c.src].pattern, &d.sample)))
        .collect();
    Ok(ctx.validate_all(&samples)?.into_iter())
}

/// Accepts or rejects the batch's candidates in schedule order, up to the count and each
/// bucket's need; surplus candidates are left unconsumed.
fn accept(
    args: &GenerateArgs,
    plan: &Plan<'_>,
    state: &mut State,
    candidates: Vec<Candidate>,
    mut verdicts: std::vec::IntoIter<Verdict>,
    mut total: u64,
) -> Result<Records> {
    let mut records = Records::default();
    for c in candidates {
        let src = &plan.sources[c.src];
        let pid = src.pattern.pattern_id.clone();
        let verdict = if c.drawn.is_ok() && c.early.is_none() { verdicts.next() } else { None };
        let bucket_left = plan.need[&src.bucket].saturating_sub(*state.accepted_in.get(&src.bucket).unwrap_or(&0));
        if total >= plan.count || bucket_left == 0 || state.cursors[&pid].quarantined.is_some() {
            continue; // not consumed: validated but surplus
        }
        let cursor = state.cursors.get_mut(&pid).unwrap_or_else(|| unreachable!());
        cursor.next_index = cursor.next_index.max(c.local + 1);
        cursor.attempts += 1;
        if !records.touched.contains(&pid) {
            records.touched.push(pid.clone());
        }
        if let Some(v) = &verdict {
            records.stages.extend(v.stages.iter().map(|st| (pid.clone(), st.stage.as_str().to_owned(), st.ok, st.duration_ms)));
        }
        match judge(&mut state.dedup, &c, verdict.as_ref()) {
            Ok(()) => {
                let (Ok(d), Some(v)) = (&c.drawn, &verdict) else { unreachable!() };
                records.stages.push((pid.clone(), Stage::DEDUP.into(), true, 0.0));
                let cursor = state.cursors.get_mut(&pid).unwrap_or_else(|| unreachable!());
                cursor.accepted += 1;
                cursor.streak = 0;
                *state.accepted_in.entry(src.bucket.clone()).or_default() += 1;
                total += 1;
                records.accepted.push(accepted_row(&pid, &src.category, &c, d, v)?);
            }
            Err(rejection) => {
                let cursor = state.cursors.get_mut(&pid).unwrap_or_else(|| unreachable!());
                if rejection.stage.is_dedup() {
                    records.stages.push((pid.clone(), Stage::DEDUP.into(), false, 0.0));
                } else {
                    cursor.failed += 1;
                }
                cursor.streak += 1;
                state.rejected += 1;
                records.rejected.push(reject_record(args, &pid, &src.category, &c, verdict.as_ref(), rejection));
            }
        }
        quarantine(state.cursors.get_mut(&pid).unwrap_or_else(|| unreachable!()));
    }
    Ok(records)
}

/// A candidate's fate: rejected (render, early, validation, or as a duplicate of a row
/// accepted earlier in this batch), or accepted into the dedup index.
fn judge(dedup: &mut TaskDeduper, c: &Candidate, verdict: Option<&Verdict>) -> Result<(), Rejection> {
    match (&c.drawn, verdict, &c.early) {
        (Err(e), _, _) => Err(Rejection::new(Stage::Render, e.clone())),
        (Ok(_), None, Some(early)) => Err(Rejection { stage: early.stage, reason: early.reason.clone(), extra: early.extra.clone() }),
        (Ok(_), Some(v), _) if !v.ok => Err(Rejection::failed(v)),
        (Ok(d), Some(_), _) => match &c.fingerprint {
            Some(fp) => dedup.check_and_insert_fingerprint(c.task, &d.row.id, fp.clone()).map_err(Rejection::duplicate),
            None => Err(Rejection::new(Stage::Validation, "no fingerprint".to_owned())),
        },
        (Ok(_), None, None) => Err(Rejection::new(Stage::Validation, "no verdict".to_owned())),
    }
}

fn accepted_row(pid: &str, category: &str, c: &Candidate, d: &Drawn, v: &Verdict) -> Result<AcceptedRow> {
    let mut row = d.row.clone();
    row.verification = Some(verification(v, c.task));
    let preference = match preference(&d.sample) {
        Some(p) => Some((p.id.clone(), serde_json::to_string(&p)?)),
        None => None,
    };
    Ok(AcceptedRow {
        id: row.id.clone(),
        pattern_id: pid.to_owned(),
        category: category.to_owned(),
        task: c.task,
        text: row.dedup_text(),
        index: c.index,
        row,
        preference,
    })
}

fn reject_record(
    args: &GenerateArgs,
    pid: &str,
    category: &str,
    c: &Candidate,
    verdict: Option<&Verdict>,
    r: Rejection,
) -> (String, u64, String, String, String) {
    let stage = r.stage.as_str();
    let mut record = json!({ "pattern_id": pid, "category": category, "seed": args.seed, "index": c.index, "task": c.task,
        "stage": stage, "reason": r.reason, "sample_id": c.drawn.as_ref().ok().map(|d| d.row.id.clone()),
        "stages": verdict.map(outcomes) });
    if let Some(rec) = record.as_object_mut() {
        rec.extend(r.extra);
    }
    (pid.to_owned(), c.index, stage.to_owned(), r.reason, record.to_string())
}

/// The batch's rows, rejects, cursors and stage statistics, in one transaction.
fn commit(store: &mut Store, state: &State, r: &Records) -> Result<()> {
    let rows: Vec<String> = r.accepted.iter().map(|a| serde_json::to_string(&a.row)).collect::<Result<_, _>>()?;
    let acc: Vec<Accepted<'_>> = r
        .accepted
        .iter()
        .zip(&rows)
        .map(|(a, row)| Accepted {
            id: &a.id,
            pattern_id: &a.pattern_id,
            category: &a.category,
            task: a.task,
            index: a.index,
            text: &a.text,
            row,
            preference: a.preference.as_ref().map(|(id, j)| (id.as_str(), j.as_str())),
        })
        .collect();
    let rej: Vec<Rejected<'_>> = r
        .rejected
        .iter()
        .map(|(p, idx, st, re, rec)| Rejected { pattern_id: p, index: *idx, stage: st, reason: re, record: rec })
        .collect();
    let cur: Vec<(&str, &Cursor)> = r.touched.iter().map(|p| (p.as_str(), &state.cursors[p])).collect();
    let st: Vec<(&str, &str, bool, f64)> = r.stages.iter().map(|(p, s, ok, ms)| (p.as_str(), s.as_str(), *ok, *ms)).collect();
    store.commit(&acc, &rej, &cur, &st)
}

/// The benchmark item a candidate's exchange matches, if any.
fn contamination(index: &Index, d: &Drawn) -> Option<Rejection> {
    if index.is_empty() {
        return None;
    }
    let text: Vec<&str> = d.row.messages.iter().map(|m| m.content.as_str()).collect();
    index.check(&text.join("\n")).as_ref().map(Rejection::contaminated)
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
    /// Serialised at the commit (a rephrasing may change its instruction first).
    row: plse_dataset::TrainingRow,
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
    verified.push(Stage::DEDUP.to_owned());
    Verification {
        verified,
        stages: outcomes(v),
        lint: v.lint.iter().map(|(side, f)| plse_dataset::SideFindings { side: side.clone(), findings: f.clone() }).collect(),
        proof: (task == Task::Fix).then(|| plse_dataset::row::FIX_PROOF.to_owned()),
    }
}

fn finish(store: &Store, args: &GenerateArgs, plan: &Plan<'_>, state: &State, started: Instant, end: End) -> Result<i32> {
    let sources = &plan.sources;
    let out = &args.out;
    let dataset = out.join(DATASET);
    let mut written = 0;
    crate::store::atomic::write_with(&dataset, |w| {
        written = store.export(Export::Rows, w)?;
        Ok(())
    })?;
    crate::store::atomic::write_with(&out.join(REJECTS), |w| store.export(Export::Rejects, w).map(|_| ()))?;
    let mut pairs = 0;
    crate::store::atomic::write_with(&out.join(PREFERENCE), |w| {
        pairs = store.export(Export::Preference, w)?;
        Ok(())
    })?;
    print_summary(store, sources, state, started.elapsed())?;
    println!(
        "wrote {written} rows to {} ({pairs} preference pairs: {}; rejects: {})",
        dataset.display(),
        out.join(PREFERENCE).display(),
        out.join(REJECTS).display()
    );
    if end == End::Paused {
        println!("stopped at {written} rows; `plse-batch export {}` builds a release of them", out.display());
        return Ok(code::OK);
    }
    let complete = end == End::Complete;
    if complete && written >= plan.count && !args.no_release {
        match crate::commands::export::release(out, &out.join("release"), &args.release, args.exec.venv.as_deref()) {
            Ok(summary) => crate::commands::export::print_summary(&summary),
            Err(e) => {
                eprintln!("error: building the release in {} failed: {e:#}", out.join("release").display());
                return Ok(1);
            }
        }
    }
    if !complete || written < plan.count {
        eprintln!("error: reached {written} of {} samples", plan.count);
        return Ok(1);
    }
    Ok(0)
}

fn print_summary(store: &Store, sources: &[Source<'_>], state: &State, elapsed: Duration) -> Result<()> {
    let cursors = &state.cursors;
    let dedup = &state.dedup;
    let stages = store.stage_counts()?;
    let names: Vec<&str> = StageName::CHECKS.iter().map(|s| s.as_str()).chain([Stage::DEDUP]).collect();
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
    header.extend(&names);
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
    if let Some(t) = STARTUP.get() {
        println!("start-up: {:.2}s to the first validated sample", t.as_secs_f64());
    }
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
pub(crate) struct Progress {
    label: &'static str,
    bar: Option<indicatif::ProgressBar>,
    start: Instant,
    last: std::cell::Cell<Instant>,
    total: u64,
    base: u64,
}

impl Progress {
    fn new(total: u64, done: u64) -> Self {
        Self::labelled("generate", total, done)
    }

    /// A progress display whose plain lines start with `label`.
    pub(crate) fn labelled(label: &'static str, total: u64, done: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let (b, template) = if total >= UNBOUNDED {
                (indicatif::ProgressBar::new_spinner(), "{spinner} {pos} accepted · {msg} · {per_sec}")
            } else {
                (indicatif::ProgressBar::new(total), "{bar:40.cyan/blue} {pos}/{len} accepted · {msg} · {per_sec} · ETA {eta}")
            };
            b.set_style(indicatif::ProgressStyle::with_template(template).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
            b.set_position(done);
            b.reset_eta();
            b
        });
        Self { label, bar, start: Instant::now(), last: std::cell::Cell::new(Instant::now()), total, base: done }
    }

    pub(crate) fn update(&self, accepted: u64, rejected: u64) {
        match &self.bar {
            Some(b) => {
                b.set_position(accepted);
                b.set_message(format!("{rejected} rejected"));
            }
            None if self.last.get().elapsed() >= Duration::from_secs(2) || accepted >= self.total => {
                self.last.set(Instant::now());
                let secs = self.start.elapsed().as_secs_f64().max(1e-3);
                let rate = (accepted - self.base) as f64 / secs;
                if self.total >= UNBOUNDED {
                    eprintln!("{}: {accepted} accepted, {rejected} rejected, {rate:.1} samples/s", self.label);
                    return;
                }
                let eta = if rate > 0.0 { format!("{:.0}s", (self.total - accepted) as f64 / rate) } else { "?".into() };
                eprintln!("{}: {accepted}/{} accepted, {rejected} rejected, {rate:.1} samples/s, ETA {eta}", self.label, self.total);
            }
            None => {}
        }
    }

    pub(crate) fn done(&self) {
        if let Some(b) = &self.bar {
            b.finish();
        }
    }
}
