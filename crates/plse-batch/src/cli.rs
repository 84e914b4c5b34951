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
    /// Check patterns: schema, templates, and rendering over several seeds.
    Lint(LintArgs),
}

/// Where the library lives.
#[derive(Debug, Args)]
pub struct LibraryArgs {
    /// Library directory, searched recursively for .yaml and .yml files.
    #[arg(long = "patterns", value_name = "DIR", default_value = "patterns", env = "PLSE_PATTERNS")]
    pub patterns: PathBuf,
}

/// `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
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
    /// Print the sample record as JSON.
    #[arg(long, conflicts_with = "row")]
    pub json: bool,
    /// Print the v2.0 output row {instruction, input, output} as JSON.
    #[arg(long)]
    pub row: bool,
}

/// `lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub library: LibraryArgs,
    /// Files or directories to lint (default: the whole library).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Seeds rendered per pattern.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub seeds: u64,
    /// Treat warnings as failures.
    #[arg(long)]
    pub deny_warnings: bool,
}
