//! `cargo xtask bench`: performance figures, measured side by side in one run (this machine is
//! shared and noisy, so ratios between configurations are what to read). Release build.

use std::process::Command;
use std::time::Instant;

use nix::sys::resource::{UsageWho, getrusage};

use crate::{exec, root};

struct Pipeline {
    samples: u64,
    wall: f64,
    cpu: f64,
    peak_rss_kib: i64,
}

/// Runs a release `plse-batch` command; returns wall seconds, CPU seconds of it and all its
/// descendants (workers included: they are reaped inside its tree), and its stdout+stderr.
fn timed(args: &[&str]) -> Result<(f64, f64, i64, String), String> {
    timed_bin("plse-batch", args)
}

/// [`timed`] for a measurement of the release `plse-bench`.
fn bench(args: &[&str]) -> Result<(f64, f64, i64, String), String> {
    timed_bin("plse-bench", args)
}

fn timed_bin(name: &str, args: &[&str]) -> Result<(f64, f64, i64, String), String> {
    let bin = crate::target_dir().join("release").join(name);
    let before = getrusage(UsageWho::RUSAGE_CHILDREN).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let out = Command::new(&bin).args(args).current_dir(root()).env("NO_COLOR", "1").output().map_err(|e| e.to_string())?;
    let wall = start.elapsed().as_secs_f64();
    let after = getrusage(UsageWho::RUSAGE_CHILDREN).map_err(|e| e.to_string())?;
    let secs = |u: nix::sys::resource::Usage| {
        let (a, b) = (u.user_time(), u.system_time());
        a.tv_sec() as f64 + a.tv_usec() as f64 / 1e6 + b.tv_sec() as f64 + b.tv_usec() as f64 / 1e6
    };
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(format!("{name} {} failed:\n{text}", args.join(" ")));
    }
    Ok((wall, secs(after) - secs(before), after.max_rss(), text))
}

fn pipeline(paths: &[&str], seeds: &str, unconfined: bool, jobs: Option<&str>) -> Result<Pipeline, String> {
    let mut args = vec!["lint", "--exec", "--seeds", seeds];
    if let Some(j) = jobs {
        args.extend(["--jobs", j]);
    }
    args.extend_from_slice(paths);
    if unconfined {
        args.push("--unsafe-no-sandbox");
    }
    let (wall, cpu, rss, text) = timed(&args)?;
    let line = text.lines().find(|l| l.starts_with("validated ")).ok_or("no `validated` line")?;
    let samples: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).ok_or("bad `validated` line")?;
    let secs: f64 = line.split_whitespace().nth(4).and_then(|s| s.trim_end_matches('s').parse().ok()).ok_or("bad `validated` line")?;
    // Report the validation phase's wall time (without loading and the static lint).
    let _ = wall;
    Ok(Pipeline { samples, wall: secs, cpu, peak_rss_kib: rss })
}

/// A field of the JSON line a measurement ends with (commands it runs may print before it).
fn json_field(text: &str, key: &str) -> f64 {
    let line = text.lines().rev().find(|l| l.trim_start().starts_with('{')).unwrap_or("");
    serde_json::from_str::<serde_json::Value>(line.trim())
        .ok()
        .and_then(|v| v.get(key).and_then(serde_json::Value::as_f64))
        .unwrap_or(f64::NAN)
}

pub fn run() -> Result<(), String> {
    // Both binaries: plse-batch (the pipelines) and plse-bench (the measurements).
    exec("cargo", &["build", "--release", "--locked", "-p", "plse-batch", "--bins"])?;
    exec("cargo", &["run", "--release", "--locked", "-q", "-p", "plse-batch", "--", "setup"])?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let (_, _, _, render) = bench(&["render", "--samples", "200000"])?;
    let run = root().join("target/bench-100k");
    let _ = std::fs::remove_dir_all(&run);
    let run_arg = run.to_string_lossy().into_owned();
    let (_, _, _, memory) = bench(&["memory", "--samples", "100000", "--dir", &run_arg])?;
    // The release of that run, in a process of its own (its peak RSS is the export's alone).
    let (_, _, _, export) = bench(&["export", "--dir", &run_arg])?;

    // Merge of 32 complete shards holding 103 000 distinct rows, in a process of its own.
    let sharded = root().join("target/bench-shards");
    let _ = std::fs::remove_dir_all(&sharded);
    let sharded_arg = sharded.to_string_lossy().into_owned();
    bench(&["shards", "--samples", "100000", "--shards", "32", "--dir", &sharded_arg])?;
    let (_, _, _, merge) = bench(&["merge", "--dir", &sharded_arg])?;
    let scaling = scaling(400)?;

    // The many-pattern stdlib mix (plse-bench's MANY_MIX: 21 core patterns, 8 paired), two
    // run sizes: the marginal CPU per validated sample and the fixed start-up; with the
    // snippets of a sample sharing a child (the default) and with a child per run.
    let many = many_mix()?;

    let small = ["patterns/enumerate_instead_of_range_len.yaml"];
    let small_sb = pipeline(&small, "600", false, None)?;
    let small_un = pipeline(&small, "600", true, None)?;
    let small_one = pipeline(&small, "600", false, Some("1"))?;
    // The library by tier: every pattern of the tier, a few seeds each, both ways.
    let tiers = tier_files()?;
    let mut mixes = Vec::new();
    for (tier, seeds, label) in [("core", "2", "core mix"), ("science", "2", "science mix"), ("ml", "4", "torch mix")] {
        let files: Vec<&str> = tiers.get(tier).map(|v| v.iter().map(String::as_str).collect()).unwrap_or_default();
        if files.is_empty() {
            continue;
        }
        let label = format!("{label} ({} patterns x {seeds} seeds)", files.len());
        mixes.push((label, pipeline(&files, seeds, false, None)?, pipeline(&files, seeds, true, None)?));
    }
    // Fork-to-verdict overhead per worker family, a no-op script in a warm worker.
    let mut forks = Vec::new();
    for (family, requires) in [("core", "json"), ("science", "numpy"), ("ml (torch)", "torch")] {
        let (_, _, _, sb) = bench(&["fork", "--samples", "200", "--requires", requires])?;
        let (_, _, _, un) = bench(&["fork", "--samples", "200", "--requires", requires, "--unsafe-no-sandbox"])?;
        forks.push((family, sb, un));
    }

    let rate = |p: &Pipeline| p.samples as f64 / p.wall;
    let ms = |p: &Pipeline| 1e3 * p.cpu / p.samples as f64;
    println!("\n## cargo xtask bench ({cores} cores)\n");
    println!("| measurement | value |\n|---|---|");
    println!(
        "| render only, one thread, library mix (full records: both sides, tests, explanation) | {:.0} samples/s |",
        json_field(&render, "samples_per_second")
    );
    println!(
        "| host peak RSS, 100k-sample run (render + dedup index of {:.0} entries + store + export) | {:.0} MB |",
        json_field(&memory, "dedup_entries"),
        json_field(&memory, "peak_rss_kib") / 1024.0
    );
    println!(
        "| release export of that 100k-row run (4 configs x 3 splits, Parquet + JSONL, o200k token counts, HumanEval decontamination, card, report), own process | {:.0} rows/s, {:.1} s, peak RSS {:.0} MB |",
        json_field(&export, "rows_per_second"),
        json_field(&export, "seconds"),
        json_field(&export, "peak_rss_kib") / 1024.0
    );
    println!(
        "| merge of 32 complete shards ({:.0} rows: 100 000 distinct + 3 % surplus; checksums, dedup index of every kept row, merged store, JSONL files), own process | {:.0} rows/s, {:.1} s, peak RSS {:.0} MB |",
        json_field(&merge, "rows_in"),
        json_field(&merge, "rows_per_second"),
        json_field(&merge, "seconds"),
        json_field(&merge, "peak_rss_kib") / 1024.0
    );
    println!(
        "| {} rows, 1 process (`generate`) vs 2 shards at once then `merge`: wall | {:.1} s vs {:.1} s + {:.1} s merge: 2 shards take {:.2}x the time of 1 process |",
        scaling.rows,
        scaling.one,
        scaling.two,
        scaling.merge,
        (scaling.two + scaling.merge) / scaling.one
    );
    println!("| generate: start-up, process start to the first validated sample (wall) | {:.2} s |", scaling.startup);
    for m in &many {
        println!(
            "| many-pattern stdlib mix ({} patterns, {} module sets, {:.1} runs per sample), {}: marginal CPU per validated sample, (CPU({}) - CPU({})) / {} | {:.2} ms (fixed start-up {:.2} s CPU; {:.0} samples/s) |",
            m.patterns,
            m.module_sets,
            m.runs_per_sample,
            m.label,
            m.n2,
            m.n1,
            m.n2 - m.n1,
            m.marginal_ms,
            m.fixed_s,
            m.rate
        );
        println!(
            "| same, {}: CPU per sample by process (run of {}): host / ruff / workers / their runs; children forked per sample | {:.2} / {:.2} / {:.2} / {:.2} ms; {:.2} |",
            m.label, m.n2, m.host_ms, m.ruff_ms, m.worker_ms, m.runs_ms, m.children
        );
    }
    let small_row = ("small stdlib sample (python.core.enumerate, 2 tests)".to_owned(), small_sb, small_un);
    for (name, sb, un) in std::iter::once(&small_row).chain(&mixes) {
        println!("| {name}: validated, sandboxed | {:.1} samples/s, {:.2} ms CPU/sample ({} samples) |", rate(sb), ms(sb), sb.samples);
        println!("| {name}: validated, --unsafe-no-sandbox | {:.1} samples/s, {:.2} ms CPU/sample |", rate(un), ms(un));
        println!(
            "| {name}: sandbox overhead | {:+.2} ms CPU/sample ({:+.1}%), {:+.1}% wall/sample |",
            ms(sb) - ms(un),
            100.0 * (ms(sb) / ms(un) - 1.0),
            100.0 * (rate(un) / rate(sb) - 1.0)
        );
    }
    for (family, sb, un) in &forks {
        println!(
            "| {family} worker: fork-to-verdict overhead of one sample beyond its own script (median of 200, warm worker), sandboxed / unconfined | {:.1} ms / {:.1} ms (worker start with preload {:.0} ms) |",
            json_field(sb, "fork_to_verdict_ms"),
            json_field(un, "fork_to_verdict_ms"),
            json_field(sb, "worker_start_ms")
        );
    }
    println!(
        "| small stdlib sample, sandboxed, ONE worker (no second worker competing for the core pair) | {:.0} samples/s, {:.2} ms CPU/sample |",
        rate(&small_one),
        ms(&small_one)
    );
    println!(
        "| peak RSS of one process in the sandboxed tier mixes (largest of plse-batch and its workers) | {:.0} MB |",
        mixes.iter().map(|(_, sb, _)| sb.peak_rss_kib).max().unwrap_or(0) as f64 / 1024.0
    );
    Ok(())
}

/// The many-pattern mix measured at two run sizes.
struct Mix {
    label: &'static str,
    patterns: u64,
    module_sets: u64,
    runs_per_sample: f64,
    n1: u64,
    n2: u64,
    marginal_ms: f64,
    fixed_s: f64,
    rate: f64,
    host_ms: f64,
    ruff_ms: f64,
    worker_ms: f64,
    runs_ms: f64,
    children: f64,
}

/// `plse-bench validate` of the many-pattern mix at 84 and 420 samples (4 and 20 of each
/// pattern), three times each, interleaved; medians of the process trees' CPU time.
fn many_mix() -> Result<Vec<Mix>, String> {
    let (n1, n2) = (84u64, 420u64);
    let mut out = Vec::new();
    let variants = [
        ("children shared across samples", None),
        ("a sample's snippets sharing a child (`--one-child-per-sample`)", Some("--one-child-per-sample")),
        ("a child per run (`--one-child-per-run`)", Some("--one-child-per-run")),
    ];
    for (label, extra) in variants {
        let (mut c1, mut c2, mut last) = (Vec::new(), Vec::new(), String::new());
        for _ in 0..3 {
            for (n, cpu) in [(n1, &mut c1), (n2, &mut c2)] {
                let n = n.to_string();
                let mut args = vec!["validate", "--samples", n.as_str()];
                args.extend(extra);
                let (_, secs, _, text) = bench(&args)?;
                cpu.push(secs);
                last = text;
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (m1, m2) = (median(&mut c1), median(&mut c2));
        let marginal = (m2 - m1) / (n2 - n1) as f64;
        let field = |k: &str| json_field(&last, k);
        out.push(Mix {
            label,
            patterns: field("patterns") as u64,
            module_sets: field("module_sets") as u64,
            runs_per_sample: field("runs") / n2 as f64,
            n1,
            n2,
            marginal_ms: marginal * 1e3,
            fixed_s: m1 - marginal * n1 as f64,
            rate: field("samples_per_second"),
            host_ms: field("host_ms_per_sample"),
            ruff_ms: field("ruff_ms_per_sample"),
            worker_ms: field("worker_ms_per_sample"),
            runs_ms: field("runs_ms_per_sample"),
            children: field("children_per_sample"),
        });
    }
    Ok(out)
}

/// Wall seconds of one run as one process and as two shards running at once (plus their merge).
struct Scaling {
    rows: u64,
    one: f64,
    two: f64,
    merge: f64,
    /// The one-process run's start-up: process start to the first validated sample (seconds).
    startup: f64,
}

/// `rows` rows (seed 1, no release, no decontamination: generation alone) as one `generate`
/// process, then as `--num-shards 2` with both shards started together, then `merge`. Each
/// process uses its default one worker per core, as a user on one machine would run them.
fn scaling(rows: u64) -> Result<Scaling, String> {
    let dir = root().join("target/bench-scaling");
    let _ = std::fs::remove_dir_all(&dir);
    let n = rows.to_string();
    let common = ["--count", n.as_str(), "--seed", "1", "--no-release", "--decontaminate", "none"];
    let one_out = dir.join("one").to_string_lossy().into_owned();
    let mut args = vec!["generate", "--out", one_out.as_str()];
    args.extend(common);
    let (one, _, _, text) = timed(&args)?;
    let startup = text
        .lines()
        .find_map(|l| l.strip_prefix("start-up: ").and_then(|r| r.split('s').next()).and_then(|n| n.parse().ok()))
        .unwrap_or(f64::NAN);
    let two_out = dir.join("two").to_string_lossy().into_owned();
    let bin = crate::target_dir().join("release").join("plse-batch");
    let start = Instant::now();
    let children: Vec<std::process::Child> = ["0", "1"]
        .iter()
        .map(|k| {
            Command::new(&bin)
                .args(["generate", "--num-shards", "2", "--shard-index", k, "--out", two_out.as_str()])
                .args(common)
                .current_dir(root())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    for mut c in children {
        let status = c.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("a shard of the scaling run failed ({status}); rerun it by hand in {two_out}"));
        }
    }
    let two = start.elapsed().as_secs_f64();
    let (merge, _, _, _) = timed(&["merge", "--no-release", two_out.as_str()])?;
    Ok(Scaling { rows, one, two, merge, startup })
}

/// The library's pattern files by tier, from `plse-batch list --json`.
fn tier_files() -> Result<std::collections::BTreeMap<String, Vec<String>>, String> {
    let (_, _, _, text) = timed(&["list", "--json"])?;
    let start = text.find('[').ok_or("`list --json` printed no array")?;
    let list: Vec<serde_json::Value> = serde_json::from_str(&text[start..]).map_err(|e| format!("`list --json`: {e}"))?;
    let mut by_tier = std::collections::BTreeMap::<String, Vec<String>>::new();
    for p in &list {
        let (Some(tier), Some(path)) = (p["tier"].as_str(), p["path"].as_str()) else { continue };
        by_tier.entry(tier.to_owned()).or_default().push(format!("patterns/{path}"));
    }
    Ok(by_tier)
}
