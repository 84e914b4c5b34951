//! `plse-batch __bench`: measurements `cargo xtask bench` reads (hidden; not a user command).

use std::time::Instant;

use anyhow::Result;
use serde_json::json;

use plse_dataset::{Task, TaskDeduper, TaskMix, draw};
use plse_dedup::Params;
use plse_render::Prepared;
use plse_sampling::Overrides;

use crate::discover::{load_library, pattern_files};
use crate::store::{Accepted, Export, Store};

/// Arguments of `__bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// `render` (render-only throughput, one thread), `memory` (host side of an N-sample run)
    /// or `export` (the release of the run `memory --keep DIR` left, in a fresh process).
    pub what: String,
    /// Samples.
    #[arg(long, default_value_t = 100_000)]
    pub samples: u64,
    /// `memory`: keep the run's store in DIR (for `export`); `export`: the run to release.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
    /// `fork`: the modules whose worker family is measured (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "torch")]
    pub requires: Vec<String>,
    /// `fork`: measure the unconfined worker instead of the sandboxed one.
    #[arg(long)]
    pub unsafe_no_sandbox: bool,
    #[command(flatten)]
    pub library: crate::cli::LibraryArgs,
}

/// Prints one JSON line of results.
pub fn run(args: &BenchArgs) -> Result<i32> {
    if args.what == "fork" {
        println!("{}", fork(args)?);
        return Ok(0);
    }
    let root = &args.library.patterns;
    let lib = load_library(root, &pattern_files(root)?)?;
    let prepared: Vec<(&plse_schema::Entry, Prepared<'_>)> =
        lib.patterns().map(|(e, p)| Prepared::new(p, &e.category).map(|pr| (e, pr))).collect::<Result<_, _>>()?;
    let none = Overrides::none();
    match args.what.as_str() {
        "render" => {
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
        }
        "memory" => {
            // Everything the host keeps while generating N samples: rendering, a dedup index
            // holding N distinct entries (made distinct on purpose), the store and the export.
            let tmp = tempfile::tempdir()?;
            let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
            let mut store = Store::open(&dir)?;
            store.start(
                &json!({ "seed": 1, "count": args.samples, "tasks": mix_spec(), "dedup_threshold": 1.0, "bench": true }).to_string(),
            )?;
            store.record_library(&crate::generate::library_entries(&lib))?;
            // A threshold of 1.0 keeps every distinct sample, so the index holds all N entries:
            // the size a real N-sample run reaches.
            let mut dedup = TaskDeduper::new(Params::with_threshold(1.0));
            let mix = TaskMix::default();
            let start = Instant::now();
            let mut pending: Vec<Pending> = Vec::new();
            for i in 0..args.samples {
                let (e, p) = &prepared[(i % prepared.len() as u64) as usize];
                let Some(drawn) = draw(p, &e.category, 1, i, &mix, &none) else { continue };
                let drawn = drawn?;
                let drawn_sample = drawn.sample;
                let mut row = drawn.row;
                row.id = format!("{}-{i}", row.id);
                let text = format!("{}\nSAMPLE_NUMBER_{i} = {i}\n", row.dedup_text());
                let _ = dedup.check_and_insert(row.task, &row.id, &text);
                let json = serde_json::to_string(&row)?;
                let pair = plse_dataset::preference(&drawn_sample)
                    .map(|mut p| {
                        p.id = format!("{}-{i}", p.id);
                        serde_json::to_string(&p).map(|j| (p.id, j))
                    })
                    .transpose()?;
                pending.push(Pending {
                    id: row.id,
                    pattern_id: row.pattern_id,
                    category: row.category,
                    task: row.task,
                    text,
                    row: json,
                    index: i,
                    pair,
                });
                if pending.len() == 64 {
                    flush(&mut store, &mut pending)?;
                }
            }
            flush(&mut store, &mut pending)?;
            let mut sink = std::io::sink();
            let exported = store.export(Export::Rows, &mut sink)?;
            let secs = start.elapsed().as_secs_f64();
            let rss = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)?.max_rss();
            println!(
                "{}",
                json!({ "samples": args.samples, "dedup_entries": dedup.counts().unique, "exported": exported, "seconds": secs, "peak_rss_kib": rss })
            );
        }
        "export" => {
            let Some(dir) = &args.dir else { anyhow::bail!("__bench export needs --dir (a run left by `__bench memory --dir`)") };
            let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(["plse-batch", "export", &dir.to_string_lossy()])?;
            let crate::cli::Command::Export(e) = cli.command else { unreachable!() };
            let start = Instant::now();
            let summary = crate::export::release(dir, &dir.join("release"), &e.release, None)?;
            let secs = start.elapsed().as_secs_f64();
            let rows: u64 = summary.counts.get("sft").map_or(0, |c| c.values().sum());
            let rss = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)?.max_rss();
            println!("{}", json!({ "rows": rows, "seconds": secs, "rows_per_second": rows as f64 / secs, "peak_rss_kib": rss }));
        }
        other => anyhow::bail!("unknown benchmark `{other}` (render | memory | export | fork)"),
    }
    Ok(0)
}

struct Pending {
    id: String,
    pattern_id: String,
    category: String,
    task: Task,
    text: String,
    row: String,
    index: u64,
    pair: Option<(String, String)>,
}

fn mix_spec() -> String {
    TaskMix::default().spec()
}

fn flush(store: &mut Store, pending: &mut Vec<Pending>) -> Result<()> {
    let acc: Vec<Accepted<'_>> = pending
        .iter()
        .map(|p| Accepted {
            id: &p.id,
            pattern_id: &p.pattern_id,
            category: &p.category,
            task: p.task,
            index: p.index,
            text: &p.text,
            row: &p.row,
            preference: p.pair.as_ref().map(|(id, j)| (id.as_str(), j.as_str())),
        })
        .collect();
    store.commit(&acc, &[], &[], &[])?;
    pending.clear();
    Ok(())
}

/// Fork-to-verdict overhead of one worker family: a script that does next to nothing (it uses
/// a module the family preloads) run `--samples` times in a warm worker. Whatever a run costs
/// beyond the script's own time (`work_ms`, measured inside the child) is the per-sample price
/// of forking, confining, limiting and reporting. Medians, in milliseconds.
fn fork(args: &BenchArgs) -> Result<serde_json::Value> {
    use crate::sandbox::pool::Shared;
    use crate::sandbox::worker::{Limits, Mode};
    use plse_check::{Run, RunKind};
    let mode = if args.unsafe_no_sandbox { Mode::Unconfined } else { Mode::Sandboxed };
    let env = crate::pyenv::PyEnv { dir: crate::pyenv::default_dir() };
    // Memory 0: the family's own default, as in a real run.
    let shared = Shared::new(env, mode, Limits { memory_bytes: 0, ..Limits::default() })?;
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
    let once = |exec: &mut crate::sandbox::pool::Executor| -> Result<(f64, plse_check::RunResult)> {
        let t = Instant::now();
        let r = exec.run(&args.requires, &[], std::slice::from_ref(&run))?.pop().ok_or_else(|| anyhow::anyhow!("no result"))?;
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
        "family": crate::sandbox::pool::family(&args.requires).0,
        "sandboxed": mode == Mode::Sandboxed,
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
