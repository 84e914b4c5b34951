//! `plse-bench`: the measurements `cargo xtask bench` reads (not a user command, so not a
//! subcommand of `plse-batch`). Each prints one JSON line.

use std::time::Instant;

use anyhow::Result;
use clap::{Parser, Subcommand};
use serde_json::json;

use plse_dataset::{TaskDeduper, TaskMix, draw};
use plse_dedup::Params;
use plse_render::Prepared;
use plse_sampling::Overrides;

use plse_batch::discover::{load_library, pattern_files};
use plse_batch::store::{Accepted, Export, Store, StoredSample};
use plse_batch::validation::sandbox::launch;
use plse_schema::Library;

/// The measurements.
#[derive(Debug, Parser)]
#[command(name = "plse-bench", about = "Measurements for `cargo xtask bench` (not a user command).")]
struct Bench {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Render-only throughput, one thread.
    Render(BenchArgs),
    /// The host side of an N-sample run: rendering, dedup index, store, export.
    Memory(BenchArgs),
    /// The release of the run `memory --dir DIR` left, in a fresh process.
    Export(BenchArgs),
    /// Fork-to-verdict overhead of one worker family.
    Fork(BenchArgs),
    /// A sharded run of `--shards` complete shards holding `--samples` rows (plus 3 % surplus
    /// to trim), written as `generate --num-shards` leaves it, into `--dir`.
    Shards(BenchArgs),
    /// `plse-batch merge --no-release` of the run `shards --dir DIR` left, in this process.
    Merge(BenchArgs),
    /// Validation of `--samples` samples of a pattern mix, in batches as `generate` makes them,
    /// with where the CPU time went (host, ruff, workers, their runs).
    Validate(ValidateArgs),
    /// Internal: the sandbox launcher (`fork` starts workers from this binary).
    #[command(name = "__sandbox-worker", hide = true)]
    SandboxWorker(plse_batch::validation::sandbox::launch::LaunchArgs),
}

/// Arguments of the measurements.
#[derive(Debug, clap::Args)]
struct BenchArgs {
    /// Samples.
    #[arg(long, default_value_t = 100_000)]
    samples: u64,
    /// `memory`: keep the run's store in DIR (for `export`); `export`: the run to release.
    #[arg(long, value_name = "DIR")]
    dir: Option<std::path::PathBuf>,
    /// `fork`: the modules whose worker family is measured (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "torch")]
    requires: Vec<String>,
    /// `fork`: measure the unconfined worker instead of the sandboxed one.
    #[arg(long)]
    unsafe_no_sandbox: bool,
    /// `shards`: how many.
    #[arg(long, default_value_t = 32)]
    shards: u64,
    #[command(flatten)]
    library: plse_batch::cli::LibraryArgs,
}

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
struct ValidateArgs {
    /// Samples: sample 0 of seeds 0, 1, ... of each pattern of the mix, round robin.
    #[arg(long, default_value_t = 256)]
    samples: u64,
    /// The patterns (ids; repeatable). Default: the many-pattern stdlib mix ([`MANY_MIX`]).
    #[arg(long = "pattern", value_name = "ID")]
    pattern_ids: Vec<String>,
    #[command(flatten)]
    library: plse_batch::cli::LibraryArgs,
    #[command(flatten)]
    exec: plse_batch::cli::ExecArgs,
}

/// The many-pattern stdlib mix: 21 core patterns (8 paired, with their defect-shown runs),
/// 2-4 test snippets each, 19 different sets of modules they import.
const MANY_MIX: &[&str] = &[
    "python.anti.assert_for_input_validation",
    "python.anti.float_equality",
    "python.anti.mutable_default_argument",
    "python.anti.zip_silent_truncation",
    "python.anti.late_binding_closures",
    "python.anti.generator_consumed_twice",
    "python.anti.is_for_value_comparison",
    "python.anti.inplace_method_return_value",
    "python.core.enumerate",
    "python.stdlib.memoization_lru_cache",
    "python.core.comprehensions",
    "python.iteration.sorting_key_functions",
    "python.formats.struct_binary_records",
    "python.text.report_formatting",
    "python.formats.decimal_money",
    "python.text.regex_named_groups",
    "python.datamodel.container_protocol",
    "python.datamodel.value_objects_total_ordering",
    "python.typing.typeddict_payloads",
    "python.formats.datetime_zoneinfo",
    "python.tradeoffs.set_vs_list_membership",
];

fn main() {
    plse_batch::process_start();
    let result = match &Bench::parse().command {
        BenchCommand::Render(a) => render(a),
        BenchCommand::Memory(a) => memory(a),
        BenchCommand::Export(a) => export(a),
        BenchCommand::Fork(a) => fork(a).map(|v| println!("{v}")),
        BenchCommand::Shards(a) => shards(a),
        BenchCommand::Merge(a) => merge(a),
        BenchCommand::Validate(a) => validate(a),
        BenchCommand::SandboxWorker(a) => match launch::run(a) {
            Ok(code) => std::process::exit(code),
            Err(e) => Err(e),
        },
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}

/// The library, loaded and prepared.
fn library(args: &BenchArgs) -> Result<Library> {
    let root = &args.library.patterns;
    load_library(root, &pattern_files(root)?)
}

fn prepare(lib: &Library) -> Result<Vec<(&plse_schema::Entry, Prepared<'_>)>> {
    Ok(lib.patterns().map(|(e, p)| Prepared::new(p, &e.category).map(|pr| (e, pr))).collect::<Result<_, _>>()?)
}

/// Render-only throughput, one thread: one JSON line.
fn render(args: &BenchArgs) -> Result<()> {
    let lib = library(args)?;
    let prepared = prepare(&lib)?;
    let none = Overrides::none();
    let start = Instant::now();
    let mut bytes = 0usize;
    for i in 0..args.samples {
        let (_, p) = &prepared[(i % prepared.len() as u64) as usize];
        let s = p.render(1, i, &none)?;
        bytes += s.code.len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({ "samples": args.samples, "seconds": secs, "samples_per_second": args.samples as f64 / secs, "code_bytes": bytes })
    );
    Ok(())
}

/// Everything the host keeps while generating N samples: rendering, a dedup index holding N
/// distinct entries (made distinct on purpose), the store and the export. One JSON line.
fn memory(args: &BenchArgs) -> Result<()> {
    let lib = library(args)?;
    let tmp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let mut store = Store::open(&dir)?;
    store.start(&json!({ "seed": 1, "count": args.samples, "tasks": mix_spec(), "dedup_threshold": 1.0, "bench": true }).to_string())?;
    store.record_library(&plse_batch::commands::generate::library_entries(&lib))?;
    // A threshold of 1.0 keeps every distinct sample, so the index holds all N entries: the
    // size a real N-sample run reaches.
    let mut dedup = TaskDeduper::new(Params::with_threshold(1.0));
    let start = Instant::now();
    let mut pending: Vec<Pending> = Vec::new();
    distinct_rows(&lib, args.samples, true, &mut |_, p| {
        let _ = dedup.check_and_insert(p.sample.task, &p.sample.id, &p.sample.text);
        pending.push(p);
        if pending.len() == 64 {
            flush(&mut store, &mut pending)?;
        }
        Ok(())
    })?;
    flush(&mut store, &mut pending)?;
    let exported = store.export(Export::Rows, &mut std::io::sink())?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({ "samples": args.samples, "dedup_entries": dedup.counts().unique, "exported": exported, "seconds": secs, "peak_rss_kib": peak_rss()? })
    );
    Ok(())
}

/// The release of a run `memory --dir DIR` left, with `export`'s default settings. One JSON line.
fn export(args: &BenchArgs) -> Result<()> {
    let Some(dir) = &args.dir else { anyhow::bail!("plse-bench export needs --dir (a run left by `plse-bench memory --dir`)") };
    let cli = <plse_batch::cli::Cli as Parser>::try_parse_from(["plse-batch", "export", &dir.to_string_lossy()])?;
    let plse_batch::cli::Command::Export(e) = cli.command else { unreachable!() };
    let start = Instant::now();
    let summary = plse_batch::commands::export::release(dir, &dir.join("release"), &e.release, None)?;
    let secs = start.elapsed().as_secs_f64();
    let rows: u64 = summary.counts.get("sft").map_or(0, |c| c.values().sum());
    println!("{}", json!({ "rows": rows, "seconds": secs, "rows_per_second": rows as f64 / secs, "peak_rss_kib": peak_rss()? }));
    Ok(())
}

/// Rows as the memory measurement makes them: library draws made distinct (a numbered line
/// in the dedup text and the id), with their preference pairs (numbered too when
/// `number_pairs`; a merge finds a row's pair by the id its parameters give, so not there);
/// `f` gets each with its number.
fn distinct_rows(lib: &Library, total: u64, number_pairs: bool, f: &mut dyn FnMut(u64, Pending) -> Result<()>) -> Result<()> {
    let prepared = prepare(lib)?;
    let none = Overrides::none();
    let mix = TaskMix::default();
    for i in 0..total {
        let (e, p) = &prepared[(i % prepared.len() as u64) as usize];
        let Some(drawn) = draw(p, &e.category, 1, i, &mix, &none) else { continue };
        let drawn = drawn?;
        let mut row = drawn.row;
        row.id = format!("{}-{i}", row.id);
        let text = format!("{}\nSAMPLE_NUMBER_{i} = {i}\n", row.dedup_text());
        let json = serde_json::to_string(&row)?;
        let pair = plse_dataset::preference(&drawn.sample)
            .map(|mut p| {
                if number_pairs {
                    p.id = format!("{}-{i}", p.id);
                }
                serde_json::to_string(&p).map(|j| (p.id, j))
            })
            .transpose()?;
        let sample =
            StoredSample { id: row.id, pattern_id: row.pattern_id, category: row.category, task: row.task, index: i, text, row: json };
        f(i, Pending { sample, pair })?;
    }
    Ok(())
}

/// A complete sharded run of distinct rows: `run.json` (threshold 1.0, so the merge's index
/// holds every row, as in `memory`), and per shard its store, JSONL files and marker.
fn shards(args: &BenchArgs) -> Result<()> {
    use plse_batch::commands::generate::{DATASET, PREFERENCE, REJECTS};
    use plse_batch::shards::{Shard, layout};
    let Some(out) = &args.dir else { anyhow::bail!("plse-bench shards needs --dir") };
    let total = args.shards;
    let made = args.samples + args.samples * 3 / 100;
    let pin = json!({ "plse_version": "bench", "num_shards": total, "shard_margin": 3, "count": args.samples, "seed": 1,
        "targets": {}, "tasks": mix_spec(), "dedup_threshold": 1.0, "tiers": ["core"], "decontaminate": ["none"], "ngram": 13,
        "row_format": 3, "library": "bench" });
    let run = layout::pin(out, &pin)?;
    let lib = library(args)?;
    let mut stores: Vec<(Store, Vec<Pending>)> = Vec::new();
    for k in 0..total {
        let mut s = Store::open(&layout::shard_dir(out, k))?;
        s.start(&json!({ "seed": 1, "count": args.samples, "tasks": mix_spec(), "dedup_threshold": 1.0, "shard": { "index": k, "total": total } }).to_string())?;
        s.record_library(&plse_batch::commands::generate::library_entries(&lib))?;
        stores.push((s, Vec::new()));
    }
    let start = Instant::now();
    distinct_rows(&lib, made, false, &mut |i, p| {
        let (store, pending) = &mut stores[(i % total) as usize];
        pending.push(p);
        if pending.len() == 64 {
            flush(store, pending)?;
        }
        Ok(())
    })?;
    for (k, (mut store, mut pending)) in stores.into_iter().enumerate() {
        flush(&mut store, &mut pending)?;
        let dir = layout::shard_dir(out, k as u64);
        let mut rows = 0;
        for (file, what) in [(DATASET, Export::Rows), (PREFERENCE, Export::Preference), (REJECTS, Export::Rejects)] {
            let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join(file))?);
            let n = store.export(what, &mut w)?;
            if what == Export::Rows {
                rows = n;
            }
        }
        layout::write_marker(out, Shard { index: k as u64, total }, &run, rows, &[DATASET, PREFERENCE, REJECTS])?;
    }
    println!("{}", json!({ "shards": total, "rows": made, "seconds": start.elapsed().as_secs_f64() }));
    Ok(())
}

/// `merge --no-release` of a run `shards` left: throughput and this process's peak RSS.
fn merge(args: &BenchArgs) -> Result<()> {
    let Some(dir) = &args.dir else { anyhow::bail!("plse-bench merge needs --dir (a run left by `plse-bench shards --dir`)") };
    let cli = <plse_batch::cli::Cli as Parser>::try_parse_from(["plse-batch", "merge", "--no-release", &dir.to_string_lossy()])?;
    let plse_batch::cli::Command::Merge(m) = cli.command else { unreachable!() };
    let rows_in: u64 = std::fs::read_dir(dir.join(plse_batch::shards::layout::SHARDS_DIR))?
        .map(|e| -> Result<u64> {
            let text = std::fs::read_to_string(e?.path().join(plse_batch::shards::layout::MARKER))?;
            Ok(serde_json::from_str::<serde_json::Value>(&text)?["rows"].as_u64().unwrap_or(0))
        })
        .sum::<Result<u64>>()?;
    let start = Instant::now();
    let code = plse_batch::commands::merge::run(&m)?;
    anyhow::ensure!(code == 0, "merge exited {code}");
    let secs = start.elapsed().as_secs_f64();
    println!("{}", json!({ "rows_in": rows_in, "seconds": secs, "rows_per_second": rows_in as f64 / secs, "peak_rss_kib": peak_rss()? }));
    Ok(())
}

fn peak_rss() -> Result<i64> {
    Ok(nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)?.max_rss())
}

/// A stored sample and its preference pair (id, JSON), waiting for the batch's commit.
struct Pending {
    sample: StoredSample,
    pair: Option<(String, String)>,
}

fn mix_spec() -> String {
    TaskMix::default().spec()
}

fn flush(store: &mut Store, pending: &mut Vec<Pending>) -> Result<()> {
    let acc: Vec<Accepted<'_>> =
        pending.iter().map(|p| p.sample.accepted(p.pair.as_ref().map(|(id, j)| (id.as_str(), j.as_str())))).collect();
    store.commit(&acc, &[], &[], &[])?;
    pending.clear();
    Ok(())
}

/// Fork-to-verdict overhead of one worker family: a script that does next to nothing (it uses
/// a module the family preloads) run `--samples` times in a warm worker. Whatever a run costs
/// beyond the script's own time (`work_ms`, measured inside the child) is the per-sample price
/// of forking, confining, limiting and reporting. Medians, in milliseconds.
fn fork(args: &BenchArgs) -> Result<serde_json::Value> {
    use plse_batch::validation::sandbox::pool::Shared;
    use plse_batch::validation::sandbox::worker::{Limits, Mode};
    use plse_check::{Run, RunKind};
    let mode = if args.unsafe_no_sandbox { Mode::Unconfined } else { Mode::Sandboxed };
    let env = plse_batch::validation::pyenv::PyEnv { dir: plse_batch::validation::pyenv::default_dir() };
    // Memory 0: the family's own default, as in a real run.
    let shared = Shared::new(env, mode, Limits { memory_bytes: 0, ..Limits::default() }, Vec::new())?;
    let mut exec = shared.executor();
    let source: String = args.requires.iter().map(|m| format!("import {m}\nassert {m}.__name__ == {m:?}\n")).collect();
    let run = Run {
        side: "sample",
        name: "noop".into(),
        kind: RunKind::Python,
        source: Some(source),
        filename: Some("test_sample.py".into()),
        command: None,
        expect_failure: false,
    };
    let once = |exec: &mut plse_batch::validation::sandbox::pool::Executor| -> Result<(f64, plse_check::RunResult)> {
        let t = Instant::now();
        let r = exec
            .run(&args.requires, &[], std::slice::from_ref(&run), Default::default())?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no result"))?;
        anyhow::ensure!(r.ok, "the no-op sample failed: {}", r.stderr);
        Ok((t.elapsed().as_secs_f64() * 1e3, r))
    };
    let t = Instant::now();
    once(&mut exec)?; // spawns the worker and imports the family's modules
    let warm_up_ms = t.elapsed().as_secs_f64() * 1e3;
    let (mut host, mut worker, mut work) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.samples {
        let (host_ms, r) = once(&mut exec)?;
        host.push(host_ms - r.work_ms);
        worker.push(r.duration_ms - r.work_ms);
        work.push(r.work_ms);
    }
    Ok(json!({
        "family": plse_batch::validation::sandbox::pool::family(&args.requires).0,
        "sandboxed": mode == Mode::Sandboxed,
        "rootless": shared.rootless(),
        "runs": args.samples,
        "worker_start_ms": warm_up_ms,
        "script_ms": median(&mut work),
        "fork_to_verdict_ms": median(&mut worker),
        "host_round_trip_overhead_ms": median(&mut host),
    }))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// CPU time of this process (all threads), ms.
fn self_cpu_ms() -> Result<f64> {
    let u = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)?;
    let (a, b) = (u.user_time(), u.system_time());
    Ok((a.tv_sec() + b.tv_sec()) as f64 * 1e3 + (a.tv_usec() + b.tv_usec()) as f64 / 1e3)
}

/// Validates `--samples` samples of the mix in batches of 64 (as `generate` does) and says
/// where the CPU time went: this process (the host: plans, requests, verdicts), ruff, the
/// workers themselves (start-up, imports, compiles, forks) and their runs (the forked
/// children), and the rest (the sandbox launchers). One JSON line.
fn validate(args: &ValidateArgs) -> Result<()> {
    use plse_batch::validation::exec::{Context, children_cpu_ms};
    let started = Instant::now();
    let lib = {
        let root = &args.library.patterns;
        load_library(root, &pattern_files(root)?)?
    };
    let ids: Vec<&str> =
        if args.pattern_ids.is_empty() { MANY_MIX.to_vec() } else { args.pattern_ids.iter().map(String::as_str).collect() };
    let mut mix = Vec::new();
    for id in &ids {
        let (e, p) = lib.patterns().find(|(_, p)| p.pattern_id == *id).ok_or_else(|| anyhow::anyhow!("no pattern {id}"))?;
        mix.push((p, Prepared::new(p, &e.category)?));
    }
    let module_sets: std::collections::BTreeSet<Vec<String>> = mix.iter().map(|(p, _)| plse_render::imports::pattern_modules(p)).collect();
    let none = Overrides::none();
    let samples: Vec<(&plse_schema::Pattern, plse_render::Sample)> = (0..args.samples)
        .map(|i| {
            let (p, prepared) = &mix[(i % mix.len() as u64) as usize];
            prepared.render(i / mix.len() as u64, 0, &none).map(|s| (*p, s))
        })
        .collect::<Result<_, _>>()?;
    let runs: usize = samples.iter().map(|(p, s)| plse_check::plan(p, s).all_runs().count()).sum();
    let ctx = Context::new(&args.exec, mix.iter().map(|(p, _)| *p))?;
    let (host0, children0, wall0) = (self_cpu_ms()?, children_cpu_ms(), Instant::now());
    let mut ok = 0;
    let mut first_batch_s = None;
    for batch in samples.chunks(64) {
        let refs: Vec<(&plse_schema::Pattern, &plse_render::Sample)> = batch.iter().map(|(p, s)| (*p, s)).collect();
        ok += ctx.validate_all(&refs)?.iter().filter(|v| v.ok).count();
        first_batch_s.get_or_insert(started.elapsed().as_secs_f64());
    }
    let wall = wall0.elapsed().as_secs_f64();
    let first_verdict_s = ctx.first_verdict().map(|t| t.duration_since(plse_batch::process_start()).as_secs_f64());
    let host_ms = self_cpu_ms()? - host0;
    let stats = ctx.stats();
    drop(ctx); // ends the workers: their CPU time and their launchers' now count as reaped
    let children_ms = children_cpu_ms() - children0;
    let n = args.samples.max(1) as f64;
    let per = |ms: f64| ms / n;
    let other = children_ms - stats.ruff.cpu_ms - stats.workers.worker_ms - stats.workers.runs_ms;
    println!(
        "{}",
        json!({
            "patterns": mix.len(), "module_sets": module_sets.len(), "samples": args.samples, "ok": ok, "runs": runs,
            "worker_starts": stats.worker_starts, "ruff_processes": stats.ruff.processes,
            "wall_seconds": wall, "samples_per_second": n / wall, "first_batch_seconds": first_batch_s,
            "first_verdict_seconds": first_verdict_s,
            "cpu_ms": host_ms + children_ms, "cpu_ms_per_sample": per(host_ms + children_ms),
            "host_ms_per_sample": per(host_ms), "ruff_ms_per_sample": per(stats.ruff.cpu_ms),
            "worker_ms_per_sample": per(stats.workers.worker_ms), "runs_ms_per_sample": per(stats.workers.runs_ms),
            "other_ms_per_sample": per(other),
            "children_per_sample": stats.requests.children as f64 / n, "grouped_runs": stats.requests.grouped,
            "groups_given_back": stats.requests.again, "group_ended_by": stats.requests.dirty,
        })
    );
    Ok(())
}
