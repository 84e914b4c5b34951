//! `plse-batch merge OUT`: the complete shards of a sharded run become exactly N rows and the
//! release. Checks every shard's marker and checksums, removes duplicates across shards,
//! trims each bucket to its target (`crate::shards::merge`), and writes the merged run into
//! OUT's own store, from which the JSONL files and the release are exported as for an
//! unsharded run (`plse-batch export OUT` works on it too). Streams: one row in memory at a
//! time; what grows with N is the dedup index (as in `generate`).

use anyhow::{Context, Result};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use plse_dataset::TaskDeduper;
use plse_dedup::{Duplicate, Params};

use crate::cli::MergeArgs;
use crate::commands::generate::{DATASET, PREFERENCE, REJECTS};
use crate::shards::merge::{Quota, pair_id, targets};
use crate::shards::{self, Shard, code, incomplete, layout};
use crate::store::{Accepted, Export, Rejected, Store, StoredSample};

/// Rows (and rejects) written to the merged store per transaction.
const CHUNK: usize = 1000;

/// What the merge did.
#[derive(Debug, Default)]
struct Tally {
    kept: u64,
    surplus: u64,
    exact: u64,
    near: u64,
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
    let mut quota = Quota::new(count, &targets(&pin));
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
    let mut dedup = TaskDeduper::new(Params::with_threshold(threshold));
    let mut tally = Tally::default();
    let seed = pin["seed"].clone();
    for m in &st.complete {
        let shard = Shard { index: m.shard, total: st.total };
        merge_shard(out, shard, m, &mut merged, &mut dedup, &mut quota, &mut tally, &seed)?;
    }
    if !quota.done() {
        let short: Vec<String> = quota.short().iter().map(|(b, n)| format!("{n} in `{b}`")).collect();
        return Err(shards::config_error(format!(
            "the shards hold too few unique rows for --count {count}: short by {} after removing {} duplicates across shards; \
             start the run again in a new OUT with a larger --shard-margin (pinned: {}%)",
            short.join(", "),
            tally.exact + tally.near,
            pin["shard_margin"]
        )));
    }
    let written = write_files(out, &merged)?;
    drop(merged);
    anyhow::ensure!(written == tally.kept && written == count, "merged {written} rows, kept {} of {count}", tally.kept);
    println!(
        "merged {} shards into {written} rows: {} duplicates across shards removed ({} exact, {} near), {} surplus rows trimmed",
        st.total,
        tally.exact + tally.near,
        tally.exact,
        tally.near,
        tally.surplus
    );
    println!("wrote {}, {} and {}", out.join(DATASET).display(), out.join(PREFERENCE).display(), out.join(REJECTS).display());
    if !args.no_release {
        let summary = crate::commands::export::release(out, &out.join("release"), &args.release, args.venv.as_deref())?;
        crate::commands::export::print_summary(&summary);
    }
    Ok(code::OK)
}

/// One shard's rows, preference pairs, rejects and statistics into the merged store; checks
/// that its store holds exactly the rows its marker's checksum covers.
#[allow(clippy::too_many_arguments)]
fn merge_shard(
    out: &std::path::Path,
    shard: Shard,
    marker: &layout::Marker,
    merged: &mut Store,
    dedup: &mut TaskDeduper,
    quota: &mut Quota,
    tally: &mut Tally,
    seed: &Value,
) -> Result<()> {
    let dir = layout::shard_dir(out, shard.index);
    let src = Store::open_existing(&dir)?;
    let mut hasher = Sha256::new();
    let mut pairs = std::collections::HashSet::new();
    let mut rows: Vec<StoredSample> = Vec::new();
    let mut rejects: Vec<(StoredSample, Duplicate)> = Vec::new();
    src.for_each_sample(&mut |s| {
        hasher.update(s.row.as_bytes());
        hasher.update(b"\n");
        if !quota.wants(&s.category) {
            tally.surplus += 1;
            return Ok(());
        }
        match dedup.check_and_insert(s.task, &s.id, &s.text) {
            Ok(()) => {
                quota.take(&s.category);
                tally.kept += 1;
                if let Some(p) = pair_id(&serde_json::from_str(&s.row)?) {
                    pairs.insert(p);
                }
                rows.push(s.clone());
            }
            Err(d) => {
                match d {
                    Duplicate::Exact { .. } => tally.exact += 1,
                    Duplicate::Near { .. } => tally.near += 1,
                }
                rejects.push((s.clone(), d));
            }
        }
        if rows.len() >= CHUNK || rejects.len() >= CHUNK {
            flush(merged, &mut rows, &mut rejects, shard, seed)?;
        }
        Ok(())
    })?;
    flush(merged, &mut rows, &mut rejects, shard, seed)?;
    let sum: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    if marker.files.get(DATASET) != Some(&sum) {
        return Err(incomplete(format!(
            "{}: the store's rows do not match the {DATASET} its marker covers; delete {} and run shard {} again",
            dir.display(),
            dir.join(layout::MARKER).display(),
            shard.index
        )));
    }
    // The pairs of the kept rows, in the shard's order.
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
        anyhow::bail!("{}: {} kept rows have no preference pair in the shard's store", dir.display(), pairs.len());
    }
    // Its own rejects, then its statistics.
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
    commit_rejects(merged, &batch)?;
    merged.add_stage_counts(&src.stage_counts()?)?;
    Ok(())
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
    shard: Shard,
    seed: &Value,
) -> Result<()> {
    let acc: Vec<Accepted<'_>> = rows.iter().map(|s| s.accepted(None)).collect();
    let records: Vec<(String, String, String)> = rejects
        .iter()
        .map(|(s, d)| {
            let (stage, reason) = crate::commands::generate::duplicate_reason(d, Some("across shards"));
            let stage = stage.as_str();
            let record = json!({ "pattern_id": s.pattern_id, "category": s.category, "seed": seed, "index": s.index, "task": s.task,
                "stage": stage, "reason": reason, "sample_id": s.id, "shard": shard.index });
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
