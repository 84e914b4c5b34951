//! PLSE dataset releases: a run's rows become a directory a training stack loads in one line
//! (`datasets.load_dataset(dir, "sft")`), with held-out splits by pattern or concept, Parquet
//! and JSONL per config (sft, preference, alpaca, sharegpt), a dataset card, `stats.json`, a
//! self-contained `report.html` with plots, and a `manifest.json` that `verify` checks.
//! `diff` compares two releases.
//!
//! The input is a [`RunSource`] (what `plse-batch` keeps in a run's store), read twice as a
//! stream: once to count groups and figures, once to write. Memory does not grow with the
//! number of rows beyond a few bytes per split group.
//!
//! **Boundary:** this crate reads a run and writes a release directory; it knows nothing of
//! SQLite, patterns or the sandbox.
pub mod card;
pub mod decontam;
pub mod diff;
pub mod error;
pub mod formats;
pub mod manifest;
pub mod report;
pub mod split;
pub mod stats;
pub mod writer;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use diff::{Diff, diff};
pub use error::ReleaseError;
pub use formats::Format;
pub use manifest::{Library, LibraryEntry, Manifest, Verified, verify};
pub use split::{SplitBy, SplitSpec};
pub use stats::Stats;

use crate::error::io;
use crate::stats::{Decontamination, PassFail, RowTally};
use crate::writer::{FileEntry, SplitWriter};

/// A stage's runs for one pattern over a run.
#[derive(Debug, Clone, PartialEq)]
pub struct StageCount {
    /// The pattern.
    pub pattern_id: String,
    /// The stage.
    pub stage: String,
    /// Runs that passed.
    pub passed: u64,
    /// Runs that failed.
    pub failed: u64,
    /// Milliseconds in all.
    pub ms: f64,
}

/// What a run knows about itself.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    /// The run's settings (seed, count, targets, tasks, dedup threshold, ...).
    pub config: serde_json::Map<String, Value>,
    /// The library it rendered.
    pub library: Vec<LibraryEntry>,
    /// Stage statistics per pattern.
    pub stages: Vec<StageCount>,
    /// The command that reproduces it.
    pub reproduce: String,
}

/// Where a release's rows come from: a finished run.
pub trait RunSource {
    /// The run's settings, library and statistics.
    fn info(&self) -> Result<RunInfo, ReleaseError>;
    /// Every accepted training row (JSON), in acceptance order.
    fn rows(&self, f: &mut dyn FnMut(&str) -> Result<(), ReleaseError>) -> Result<(), ReleaseError>;
    /// Every preference pair (JSON), in acceptance order.
    fn preference(&self, f: &mut dyn FnMut(&str) -> Result<(), ReleaseError>) -> Result<(), ReleaseError>;
    /// Every rejected candidate's record (JSON).
    fn rejects(&self, f: &mut dyn FnMut(&str) -> Result<(), ReleaseError>) -> Result<(), ReleaseError>;
}

/// How to build a release.
#[derive(Debug, Clone)]
pub struct Options {
    /// The release directory (replaced atomically when the export succeeds).
    pub out: PathBuf,
    /// Split targets.
    pub split: SplitSpec,
    /// What a split group is.
    pub split_by: SplitBy,
    /// Configs to write.
    pub formats: Vec<Format>,
    /// Benchmarks to decontaminate against.
    pub benchmarks: Vec<decontam::Benchmark>,
    /// n-gram length of decontamination.
    pub ngram: usize,
    /// SPDX licence of the data.
    pub license: String,
    /// Most rows per data file.
    pub rows_per_shard: u64,
    /// The dataset's name in the card.
    pub title: String,
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The release directory.
    pub dir: PathBuf,
    /// Rows per config and split.
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    /// Rows left out because they match a benchmark.
    pub removed: u64,
    /// Files written.
    pub files: usize,
}

fn parse(line: &str) -> Result<Value, ReleaseError> {
    serde_json::from_str(line).map_err(|e| ReleaseError::Json(e.to_string()))
}

fn group(row: &Value, by: SplitBy) -> String {
    let key = match by {
        SplitBy::Pattern => "pattern_id",
        SplitBy::Concept => "concept",
        SplitBy::Sample => "id",
    };
    row[key].as_str().unwrap_or("").to_owned()
}

/// The text of a row or pair that decontamination checks: every turn of the exchange.
fn exchange_text(row: &Value) -> String {
    ["messages", "prompt", "chosen", "rejected"]
        .iter()
        .flat_map(|k| row[*k].as_array().into_iter().flatten())
        .filter_map(|m| m["content"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Builds the release of `src` into `opts.out`.
pub fn export(src: &dyn RunSource, opts: &Options) -> Result<Summary, ReleaseError> {
    if opts.formats.is_empty() {
        return Err(ReleaseError::Usage("no config to write (--formats is empty)".into()));
    }
    let info = src.info()?;
    let index = decontam::index(&opts.benchmarks, opts.ngram)?;
    let bpe = tiktoken_rs::o200k_base().map_err(|e| ReleaseError::Usage(format!("tokenizer: {e}")))?;

    // Pass 1: figures, groups, decontamination.
    let mut tally = RowTally::default();
    let mut groups: BTreeMap<String, u64> = BTreeMap::new();
    let mut removed: HashSet<String> = HashSet::new();
    let mut decon = Decontamination {
        benchmarks: opts.benchmarks.iter().map(|b| b.name.clone()).collect(),
        items: index.len() as u64,
        ngram: index.ngram(),
        ..Decontamination::default()
    };
    src.rows(&mut |line| {
        let row = parse(line)?;
        if let Some(hit) = index.check(&exchange_text(&row)) {
            *decon.by_benchmark.entry(hit.benchmark.clone()).or_default() += 1;
            decon.removed_in_export += 1;
            if decon.examples.len() < 20 {
                decon.examples.push(serde_json::json!({ "row": row["id"], "pattern_id": row["pattern_id"], "benchmark": hit.benchmark, "item": hit.item, "kind": hit.kind, "evidence": hit.evidence }));
            }
            removed.insert(row["id"].as_str().unwrap_or("").to_owned());
            return Ok(());
        }
        let (user, answer) = (row["messages"][0]["content"].as_str().unwrap_or(""), row["messages"][1]["content"].as_str().unwrap_or(""));
        tally.add(&row, bpe.encode_ordinary(user).len(), bpe.encode_ordinary(answer).len());
        *groups.entry(group(&row, opts.split_by)).or_default() += 1;
        Ok(())
    })?;
    let mut pair_groups: BTreeMap<String, u64> = BTreeMap::new();
    let mut pairs = 0u64;
    src.preference(&mut |line| {
        let p = parse(line)?;
        if index.check(&exchange_text(&p)).is_none() {
            pairs += 1;
            *pair_groups.entry(group(&p, opts.split_by)).or_default() += 1;
        }
        Ok(())
    })?;
    let seed = info.config.get("seed").and_then(Value::as_u64).unwrap_or(0);
    let mut assignment = split::assign(&groups, &opts.split, seed);
    // Pairs follow their pattern's (or concept's) split; by sample they are split on their own.
    let extra: BTreeMap<String, u64> =
        pair_groups.iter().filter(|(g, _)| !assignment.contains_key(*g)).map(|(g, n)| (g.clone(), *n)).collect();
    assignment.extend(split::assign(&extra, &opts.split, seed));
    let names: Vec<String> = opts.split.names().map(str::to_owned).collect();

    // Pass 2: the data files, into a staging directory.
    let staging = staging_dir(&opts.out)?;
    let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut files: Vec<FileEntry> = Vec::new();
    let mut formats = Vec::new();
    for format in &opts.formats {
        let source_groups = if format.from_pairs() { &pair_groups } else { &groups };
        let mut expected = vec![0u64; names.len()];
        for (g, n) in source_groups {
            expected[assignment[g]] += n;
        }
        // A split without rows is not written (a declared split must hold data for
        // `datasets` to load the config); a config without rows is left out.
        if expected.iter().all(|n| *n == 0) {
            continue;
        }
        formats.push(*format);
        let mut writers: Vec<Option<SplitWriter>> = names
            .iter()
            .zip(&expected)
            .map(|(s, n)| if *n == 0 { Ok(None) } else { SplitWriter::new(&staging, *format, s, *n, opts.rows_per_shard).map(Some) })
            .collect::<Result<_, _>>()?;
        let mut write = |line: &str| -> Result<(), ReleaseError> {
            let v = parse(line)?;
            if format.from_pairs() {
                if index.check(&exchange_text(&v)).is_some() {
                    return Ok(());
                }
            } else if removed.contains(v["id"].as_str().unwrap_or("")) {
                return Ok(());
            }
            match &mut writers[assignment[&group(&v, opts.split_by)]] {
                Some(w) => w.write(&v),
                None => Err(ReleaseError::Source("a row of an empty split".into())),
            }
        };
        if format.from_pairs() {
            src.preference(&mut write)?
        } else {
            src.rows(&mut write)?
        };
        let c = counts.entry(format.as_str().to_owned()).or_default();
        for (w, (name, n)) in writers.into_iter().zip(names.iter().zip(&expected)) {
            if let Some(w) = w {
                c.insert(name.clone(), *n);
                files.extend(w.finish()?);
            }
        }
    }
    if formats.is_empty() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(ReleaseError::Usage("the run has no row for any of the configs asked for".into()));
    }

    // Figures, report, manifest, card.
    let mut stats = tally.finish();
    stats.preference_pairs = pairs;
    stats.splits = counts.clone();
    let total_rows: u64 = groups.values().sum::<u64>().max(1);
    let row_counts = counts.values().next().cloned().unwrap_or_default();
    for (name, target) in &opts.split.targets {
        let got = groups
            .iter()
            .filter(|(g, _)| assignment[*g] == names.iter().position(|n| n == name).unwrap_or(usize::MAX))
            .map(|(_, n)| n)
            .sum::<u64>();
        stats.split_shares.insert(name.clone(), (*target, got as f64 / total_rows as f64));
    }
    run_figures(&mut stats, &info, src, &mut decon)?;
    stats.decontamination = decon;
    let stats_json = serde_json::to_string_pretty(&stats).map_err(|e| ReleaseError::Json(e.to_string()))?;
    write_file(&staging, "stats.json", stats_json.as_bytes(), &mut files)?;
    let mut arguments = info.config.clone();
    arguments.insert("export".into(), serde_json::json!({
        "split": opts.split.spec(), "split_by": opts.split_by, "formats": opts.formats,
        "decontaminate": opts.benchmarks.iter().map(|b| b.name.clone()).collect::<Vec<_>>(), "ngram": opts.ngram, "license": opts.license,
    }));
    let mut manifest = Manifest {
        format_version: manifest::FORMAT_VERSION,
        generator: format!("plse-batch {}", env!("CARGO_PKG_VERSION")),
        title: opts.title.clone(),
        license: opts.license.clone(),
        library: Library::new(info.library.clone()),
        arguments,
        split_by: opts.split_by.to_string(),
        split: opts.split.spec(),
        splits: names.clone(),
        formats,
        counts: counts.clone(),
        files: Vec::new(),
        reproduce: info.reproduce.clone(),
    };
    let summary_lines = vec![
        ("rows".to_owned(), stats.rows.to_string()),
        ("preference pairs".to_owned(), stats.preference_pairs.to_string()),
        ("patterns".to_owned(), stats.by_pattern.len().to_string()),
        ("splits".to_owned(), names.iter().map(|n| format!("{n} {}", row_counts.get(n).unwrap_or(&0))).collect::<Vec<_>>().join(", ")),
        ("split by".to_owned(), opts.split_by.to_string()),
        ("library".to_owned(), manifest.library.hash[..12].to_owned()),
        ("tokenizer".to_owned(), stats.tokenizer.clone()),
    ];
    let html = report::html(&stats, &opts.title, &summary_lines);
    write_file(&staging, "report.html", html.as_bytes(), &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    manifest.files = files;
    let card = card::card(&manifest, &stats);
    std::fs::write(staging.join("README.md"), card).map_err(|e| io(&staging.join("README.md"), e))?;
    let mj = serde_json::to_string_pretty(&manifest).map_err(|e| ReleaseError::Json(e.to_string()))?;
    std::fs::write(staging.join(manifest::MANIFEST), mj).map_err(|e| io(&staging.join(manifest::MANIFEST), e))?;
    replace_dir(&staging, &opts.out)?;
    Ok(Summary { dir: opts.out.clone(), counts, removed: removed.len() as u64, files: manifest.files.len() + 2 })
}

/// Figures from the run itself: stage pass rates, rejections, near-duplicate similarities,
/// candidates rejected by decontamination, stage timings.
fn run_figures(stats: &mut Stats, info: &RunInfo, src: &dyn RunSource, decon: &mut Decontamination) -> Result<(), ReleaseError> {
    let mut ms: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    for c in &info.stages {
        let pf = PassFail { passed: c.passed, failed: c.failed };
        let e = stats.stages.entry(c.stage.clone()).or_default();
        e.passed += pf.passed;
        e.failed += pf.failed;
        let p = stats.patterns.entry(c.pattern_id.clone()).or_default();
        p.stages.insert(c.stage.clone(), pf);
        let t = ms.entry(c.stage.clone()).or_default();
        t.0 += c.ms;
        t.1 += c.passed + c.failed;
    }
    stats.mean_stage_ms =
        ms.into_iter().filter(|(_, (t, _))| *t > 0.0).map(|(k, (t, n))| (k, (t / n.max(1) as f64 * 1000.0).round() / 1000.0)).collect();
    for (p, n) in &stats.by_pattern {
        stats.patterns.entry(p.clone()).or_default().rows = *n;
    }
    let mut reasons: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut sims = Vec::new();
    src.rejects(&mut |line| {
        let r = parse(line)?;
        let stage = r["stage"].as_str().unwrap_or("?").to_owned();
        let reason: String = r["reason"].as_str().unwrap_or("").chars().take(160).collect();
        *stats.rejections.entry(stage.clone()).or_default() += 1;
        if stage == "dedup-near"
            && let Some(s) = stats::similarity_of(&reason)
        {
            sims.push(s);
        }
        if stage == "decontamination" {
            decon.rejected_in_generate += 1;
            let bench = r["benchmark"].as_str().unwrap_or("?").to_owned();
            *decon.by_benchmark.entry(bench).or_default() += 1;
            if decon.examples.len() < 20 {
                decon.examples.push(serde_json::json!({ "candidate": r["sample_id"], "pattern_id": r["pattern_id"], "benchmark": r["benchmark"], "item": r["item"], "kind": r["match"] }));
            }
        }
        *reasons.entry((stage, reason)).or_default() += 1;
        Ok(())
    })?;
    let mut top: Vec<((String, String), u64)> = reasons.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    stats.top_reasons = top.into_iter().take(10).map(|((s, r), n)| (s, r, n)).collect();
    stats.near_duplicate_similarity = stats::similarity_histogram(&sims);
    Ok(())
}

fn write_file(dir: &Path, name: &str, bytes: &[u8], files: &mut Vec<FileEntry>) -> Result<(), ReleaseError> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|e| io(&path, e))?;
    let (sha256, size) = writer::digest_file(&path)?;
    files.push(FileEntry { path: name.to_owned(), sha256, bytes: size, rows: 0 });
    Ok(())
}

/// A fresh directory beside `out` to build the release in.
fn staging_dir(out: &Path) -> Result<PathBuf, ReleaseError> {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "release".into());
    let staging = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| io(&staging, e))?;
    Ok(staging)
}

/// Puts the finished release in place of `out` by renames: readers see the old release or
/// the new one, never a mix.
fn replace_dir(staging: &Path, out: &Path) -> Result<(), ReleaseError> {
    let old = out.with_file_name(format!(
        ".{}.old-{}",
        out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        std::process::id()
    ));
    let had_old = out.exists();
    if had_old {
        std::fs::rename(out, &old).map_err(|e| io(out, e))?;
    }
    if let Err(e) = std::fs::rename(staging, out) {
        if had_old {
            let _ = std::fs::rename(&old, out);
        }
        return Err(io(out, e));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}
