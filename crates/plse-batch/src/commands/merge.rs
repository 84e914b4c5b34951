//! `plse-batch merge OUT`: the complete shards of a sharded run become exactly N rows and the
//! release. Checks every shard's marker and checksums, removes duplicates across shards,
//! trims each bucket to its target (`crate::shards::merge`), tops up the buckets the shards
//! fell short of (a run in `OUT/topup` over indices no shard draws, judged against every kept
//! row), and writes the merged run into OUT's own store, from which the JSONL files and the
//! release are exported as for an unsharded run (`plse-batch export OUT` works on it too).
//! Streams: a chunk of rows in memory at a time; what grows with N is the dedup index (as in
//! `generate`).

use anyhow::{Context, Result};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use plse_dataset::TaskDeduper;
use plse_dedup::{Duplicate, Params};

use crate::cli::{GenerateArgs, MergeArgs, ShardArgs};
use crate::commands::generate::{DATASET, PREFERENCE, REJECTS};
use crate::shards::merge::{Quota, pair_id, targets};
use crate::shards::{self, Shard, code, incomplete, layout};
use crate::store::{Accepted, Export, Rejected, Store, StoredSample};

/// Rows (and rejects) written to the merged store per transaction.
const CHUNK: usize = 1000;

/// The top-up's run directory, under OUT.
pub const TOPUP_DIR: &str = "topup";

/// What the merge did.
#[derive(Debug, Default)]
struct Tally {
    kept: u64,
    surplus: u64,
    exact: u64,
    near: u64,
    topped_up: u64,
}

/// Where merged rows come from: a shard, or the top-up.
#[derive(Debug, Clone, Copy)]
enum Origin {
    Shard(Shard),
    TopUp,
}

impl Origin {
    fn json(self) -> Value {
        match self {
            Self::Shard(s) => json!(s.index),
            Self::TopUp => json!(TOPUP_DIR),
        }
    }
}

/// What the merge carries from source to source.
struct Merging<'a> {
    merged: &'a mut Store,
    dedup: TaskDeduper,
    quota: Quota,
    tally: Tally,
    seed: Value,
}

/// Runs `merge`. Returns the process exit code.
pub fn run(args: &MergeArgs) -> Result<i32> {
    let out = &args.out;
    let st = layout::status(out)?;
    if !st.missing.is_empty() {
        return Err(incomplete(format!(
            "{} of {} shards are not complete (missing: {}); run them (Slurm: sbatch --array={} ...), then merge again",
            st.missing.len(),
            st.total,
            shards::array_list(&st.missing),
            shards::array_list(&st.missing)
        )));
    }
    let damaged: Vec<String> = st.complete.iter().flat_map(|m| layout::verify(out, m)).collect();
    if !damaged.is_empty() {
        return Err(incomplete(format!(
            "damaged shards (delete their {} and run them again):\n  {}",
            layout::MARKER,
            damaged.join("\n  ")
        )));
    }
    let (pin, _) = layout::read_pin(out)?;
    let count = pin["count"].as_u64().context("run.json has no count")?;
    let quota = Quota::new(count, &targets(&pin));
    let threshold = pin["dedup_threshold"].as_f64().context("run.json has no dedup_threshold")?;

    // The merged run: rebuilt from the shards every time, so a merge can be rerun.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(out.join(format!("{}{suffix}", crate::store::DB_FILE)));
    }
    let mut merged = Store::open(out)?;
    {
        let first = Store::open_existing(&layout::shard_dir(out, 0))?;
        let mut config: serde_json::Map<String, Value> =
            serde_json::from_str(&first.config()?.context("shard 0 holds no run")?).context("shard 0's configuration")?;
        config.remove("shard");
        config.insert("num_shards".into(), json!(st.total));
        config.insert("shard_margin".into(), pin["shard_margin"].clone());
        merged.start(&Value::Object(config).to_string())?;
        merged.record_library(&first.library()?)?;
    }
    let dedup = TaskDeduper::new(Params::with_threshold(threshold));
    let mut m = Merging { merged: &mut merged, dedup, quota, tally: Tally::default(), seed: pin["seed"].clone() };
    for marker in &st.complete {
        merge_shard(out, Shard { index: marker.shard, total: st.total }, marker, &mut m)?;
    }
    if !m.quota.done() {
        top_up(args, &pin, &st.complete, &mut m)?;
    }
    let tally = std::mem::take(&mut m.tally);
    let written = write_files(out, &merged)?;
    drop(merged);
    anyhow::ensure!(written == tally.kept && written == count, "merged {written} rows, kept {} of {count}", tally.kept);
    println!(
        "merged {} shards into {written} rows: {} duplicates across shards removed ({} exact, {} near), {} surplus rows trimmed, {} rows topped up",
        st.total,
        tally.exact + tally.near,
        tally.exact,
        tally.near,
        tally.surplus,
        tally.topped_up
    );
    println!("wrote {}, {} and {}", out.join(DATASET).display(), out.join(PREFERENCE).display(), out.join(REJECTS).display());
    if !args.no_release {
        let summary = crate::commands::export::release(out, &out.join("release"), &args.release, args.exec.venv.as_deref())?;
        crate::commands::export::print_summary(&summary);
    }
    Ok(code::OK)
}

/// One shard's rows, preference pairs, rejects and statistics into the merged store; checks
/// that its store holds exactly the rows its marker's checksum covers.
fn merge_shard(out: &std::path::Path, shard: Shard, marker: &layout::Marker, m: &mut Merging<'_>) -> Result<()> {
    let dir = layout::shard_dir(out, shard.index);
    let src = Store::open_existing(&dir)?;
    let sum = merge_store(&src, &dir, Origin::Shard(shard), m)?;
    if marker.files.get(DATASET) != Some(&sum) {
        return Err(incomplete(format!(
            "{}: the store's rows do not match the {DATASET} its marker covers; delete {} and run shard {} again",
            dir.display(),
            dir.join(layout::MARKER).display(),
            shard.index
        )));
    }
    Ok(())
}

/// One source store's rows (those its buckets still want and that duplicate no kept row),
/// their preference pairs, its rejects and statistics into the merged store. Returns the
/// SHA-256 of the source's rows as its JSONL file holds them.
fn merge_store(src: &Store, dir: &std::path::Path, origin: Origin, m: &mut Merging<'_>) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut pairs = std::collections::HashSet::new();
    let mut rows: Vec<StoredSample> = Vec::new();
    let mut rejects: Vec<(StoredSample, Duplicate)> = Vec::new();
    src.for_each_sample(&mut |s| {
        hasher.update(s.row.as_bytes());
        hasher.update(b"\n");
        if !m.quota.wants(&s.category) {
            m.tally.surplus += 1;
            return Ok(());
        }
        match m.dedup.check_and_insert(s.task, &s.id, &s.text) {
            Ok(()) => {
                m.quota.take(&s.category);
                m.tally.kept += 1;
                if let Some(p) = pair_id(&serde_json::from_str(&s.row)?) {
                    pairs.insert(p);
                }
                rows.push(s.clone());
            }
            Err(d) => {
                match d {
                    Duplicate::Exact { .. } => m.tally.exact += 1,
                    Duplicate::Near { .. } => m.tally.near += 1,
                }
                rejects.push((s.clone(), d));
            }
        }
        if rows.len() >= CHUNK || rejects.len() >= CHUNK {
            flush(m.merged, &mut rows, &mut rejects, origin, &m.seed)?;
        }
        Ok(())
    })?;
    flush(m.merged, &mut rows, &mut rejects, origin, &m.seed)?;
    merge_preferences(src, dir, pairs, m.merged)?;
    merge_rejects(src, m.merged)?;
    m.merged.add_stage_counts(&src.stage_counts()?)?;
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The preference pairs of the kept rows, in the source's order.
fn merge_preferences(src: &Store, dir: &std::path::Path, mut pairs: std::collections::HashSet<String>, merged: &mut Store) -> Result<()> {
    let mut kept_pairs: Vec<(String, String)> = Vec::new();
    let mut merge_err: Option<anyhow::Error> = None;
    src.for_each(Export::Preference, &mut |line| {
        let id = serde_json::from_str::<Value>(line).ok().and_then(|v| v["id"].as_str().map(str::to_owned)).unwrap_or_default();
        if pairs.remove(&id) {
            kept_pairs.push((id, line.to_owned()));
        }
        if kept_pairs.len() >= CHUNK {
            if let Err(e) = merged.insert_preferences(&kept_pairs) {
                merge_err = Some(e);
            }
            kept_pairs.clear();
        }
        Ok(())
    })?;
    if let Some(e) = merge_err {
        return Err(e);
    }
    merged.insert_preferences(&kept_pairs)?;
    if !pairs.is_empty() {
        anyhow::bail!("{}: {} kept rows have no preference pair in the store", dir.display(), pairs.len());
    }
    Ok(())
}

/// The source's own rejects, as they are.
fn merge_rejects(src: &Store, merged: &mut Store) -> Result<()> {
    let mut batch: Vec<(String, u64, String, String, String)> = Vec::new();
    let mut result: Result<()> = Ok(());
    src.for_each(Export::Rejects, &mut |line| {
        let v: Value = serde_json::from_str(line).unwrap_or_default();
        batch.push((
            v["pattern_id"].as_str().unwrap_or("").to_owned(),
            v["index"].as_u64().unwrap_or(0),
            v["stage"].as_str().unwrap_or("").to_owned(),
            v["reason"].as_str().unwrap_or("").to_owned(),
            line.to_owned(),
        ));
        if batch.len() >= CHUNK && result.is_ok() {
            result = commit_rejects(merged, &batch);
            batch.clear();
        }
        Ok(())
    })?;
    result?;
    commit_rejects(merged, &batch)
}

/// Tops up the buckets the shards fell short of: a run in `OUT/topup` of exactly the missing
/// rows per bucket, under the pinned settings, drawn from indices no shard draws and judged
/// against every row kept so far; its rows then join the merged store. A function of the
/// shards' contents: a rerun of the merge resumes (or reuses) the same top-up.
fn top_up(args: &MergeArgs, pin: &Value, shards: &[layout::Marker], m: &mut Merging<'_>) -> Result<()> {
    let short = m.quota.short();
    let missing: u64 = short.iter().map(|(_, n)| n).sum();
    let lib_hash = library_hash(&args.library.patterns)?;
    if pin["library"].as_str() != Some(lib_hash.as_str()) {
        return Err(shards::config_error(format!(
            "the shards are {missing} rows short after removing {} duplicates across shards, and topping up needs the run's library: \
             {} is not the library run.json pins (pass --patterns DIR with the library the shards ran with)",
            m.tally.exact + m.tally.near,
            args.library.patterns.display()
        )));
    }
    let pinned_rephrase = pin.get("rephrase").cloned().unwrap_or(Value::Null);
    let ours = crate::commands::generate::rephrase_setting(&args.rephrase);
    if pinned_rephrase != ours {
        return Err(shards::config_error(format!(
            "the shards are {missing} rows short and the top-up must rephrase as they did: run.json pins rephrase {pinned_rephrase}, \
             this merge has {ours} (pass the shards' --rephrase, --rephrase-model and the server flags to merge)"
        )));
    }
    let topup = topup_args(args, pin, &m.quota)?;
    prepare_topup_dir(&topup, shards, &short)?;
    eprintln!("merge: the shards are {missing} rows short ({}); topping up in {}", describe(&short), topup.out.display());
    let exit = crate::commands::generate::top_up(&topup, m.dedup.clone())?;
    if exit != code::OK {
        return Err(shards::config_error(format!(
            "the top-up in {} could not find the {missing} missing unique rows ({}): the library's patterns are exhausted for this run; \
             start it again in a new OUT with a larger --shard-margin (pinned: {}%) or a smaller --count",
            topup.out.display(),
            describe(&short),
            pin["shard_margin"]
        )));
    }
    let before = m.tally.kept;
    let src = Store::open_existing(&topup.out)?;
    merge_store(&src, &topup.out, Origin::TopUp, m)?;
    m.tally.topped_up = m.tally.kept - before;
    anyhow::ensure!(m.quota.done(), "the top-up's rows did not fill {}", describe(&m.quota.short()));
    Ok(())
}

fn describe(short: &[(String, u64)]) -> String {
    short.iter().map(|(b, n)| format!("{n} in `{b}`")).collect::<Vec<_>>().join(", ")
}

/// The library's hash as `run.json` pins it.
fn library_hash(dir: &std::path::Path) -> Result<String> {
    let lib = crate::discover::load_library(dir, &crate::discover::pattern_files(dir)?)?;
    Ok(crate::commands::generate::library_hash(&lib))
}

/// The top-up run's arguments: the pinned settings, the missing rows per bucket, OUT/topup.
fn topup_args(args: &MergeArgs, pin: &Value, quota: &Quota) -> Result<GenerateArgs> {
    let setting = |k: &str| pin.get(k).ok_or_else(|| anyhow::anyhow!("run.json has no `{k}`"));
    let targets: Vec<String> = targets(pin).keys().map(|c| format!("{c}={}", quota.left(c))).collect();
    let tiers = setting("tiers")?
        .as_array()
        .context("run.json: tiers")?
        .iter()
        .map(|t| <crate::validation::pyenv::Tier as clap::ValueEnum>::from_str(t.as_str().unwrap_or(""), true).map_err(anyhow::Error::msg))
        .collect::<Result<Vec<_>>>()?;
    let mut release = args.release.clone();
    release.decontaminate = serde_json::from_value(setting("decontaminate")?.clone()).context("run.json: decontaminate")?;
    release.ngram = setting("ngram")?.as_u64().context("run.json: ngram")?;
    Ok(GenerateArgs {
        library: args.library.clone(),
        count: quota.short().iter().map(|(_, n)| n).sum(),
        seed: setting("seed")?.as_u64().context("run.json: seed")?,
        out: args.out.join(TOPUP_DIR),
        category_target: targets,
        resume: true,
        dedup_threshold: setting("dedup_threshold")?.as_f64().context("run.json: dedup_threshold")?,
        tasks: crate::cli::parse_mix(setting("tasks")?.as_str().unwrap_or("")).map_err(anyhow::Error::msg)?,
        tiers,
        no_release: true,
        release,
        exec: args.exec.clone(),
        shard: ShardArgs { num_shards: None, shard_index: None, shard_offset: 0, shard_margin: 0 },
        continuous: crate::cli::ContinuousArgs::default(),
        rephrase: args.rephrase.clone(),
    })
}

/// What a top-up was judged against: the shards' rows (their checksums) and the shortage.
const BASIS_FILE: &str = "basis.json";

/// Makes the top-up's directory ready: kept (to resume or reuse) when it was made for these
/// shards, this shortage and library path, else emptied — its rows were judged against other kept rows.
fn prepare_topup_dir(topup: &GenerateArgs, shards: &[layout::Marker], short: &[(String, u64)]) -> Result<()> {
    let dir = &topup.out;
    let sums: Vec<Option<&String>> = shards.iter().map(|m| m.files.get(DATASET)).collect();
    let patterns = topup.library.patterns.display().to_string();
    let basis = serde_json::to_string_pretty(&json!({ "shards": sums, "short": short, "patterns": patterns }))? + "\n";
    let path = dir.join(BASIS_FILE);
    if std::fs::read_to_string(&path).ok().as_deref() == Some(basis.as_str()) {
        return Ok(());
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing the stale top-up in {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    crate::store::atomic::write(&path, basis.as_bytes())
}

fn commit_rejects(merged: &mut Store, batch: &[(String, u64, String, String, String)]) -> Result<()> {
    let rej: Vec<Rejected<'_>> =
        batch.iter().map(|(p, idx, st, re, rec)| Rejected { pattern_id: p, index: *idx, stage: st, reason: re, record: rec }).collect();
    merged.commit(&[], &rej, &[], &[])
}

/// Kept rows and cross-shard duplicates into the merged store, in one transaction.
fn flush(
    merged: &mut Store,
    rows: &mut Vec<StoredSample>,
    rejects: &mut Vec<(StoredSample, Duplicate)>,
    origin: Origin,
    seed: &Value,
) -> Result<()> {
    let acc: Vec<Accepted<'_>> = rows.iter().map(|s| s.accepted(None)).collect();
    let records: Vec<(String, String, String)> = rejects
        .iter()
        .map(|(s, d)| {
            let (stage, reason) = crate::commands::generate::duplicate_reason(d, Some("across shards"));
            let stage = stage.as_str();
            let record = json!({ "pattern_id": s.pattern_id, "category": s.category, "seed": seed, "index": s.index, "task": s.task,
                "stage": stage, "reason": reason, "sample_id": s.id, "shard": origin.json() });
            (stage.to_owned(), reason, record.to_string())
        })
        .collect();
    let rej: Vec<Rejected<'_>> = rejects
        .iter()
        .zip(&records)
        .map(|((s, _), (stage, reason, record))| Rejected { pattern_id: &s.pattern_id, index: s.index, stage, reason, record })
        .collect();
    merged.commit(&acc, &rej, &[], &[])?;
    rows.clear();
    rejects.clear();
    Ok(())
}

/// The merged run's JSONL files, as `generate` writes them.
fn write_files(out: &std::path::Path, store: &Store) -> Result<u64> {
    let mut written = 0;
    crate::store::atomic::write_with(&out.join(DATASET), |w| {
        written = store.export(Export::Rows, w)?;
        Ok(())
    })?;
    crate::store::atomic::write_with(&out.join(REJECTS), |w| store.export(Export::Rejects, w).map(|_| ()))?;
    crate::store::atomic::write_with(&out.join(PREFERENCE), |w| store.export(Export::Preference, w).map(|_| ()))?;
    Ok(written)
}
