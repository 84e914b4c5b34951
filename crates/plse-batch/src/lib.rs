//! `plse-batch`'s library: the command layer over the shared crates, the validation
//! subsystem (the check plan executed in sandboxed workers) and the run's store. It owns
//! files, processes, threads and clocks; pattern logic lives in the pure crates
//! (`plse-schema`, `plse-sampling`, `plse-render`, `plse-dataset`, `plse-check`).
//!
//! Binaries: `plse-batch` (the user's commands, `main.rs`) and `plse-bench` (the measurements
//! `cargo xtask bench` reads, `bin/plse-bench.rs`); both answer the sandbox launcher's hidden
//! `__sandbox-worker` subcommand, since a worker is started from the running binary.

pub mod cli;
pub mod commands;
pub mod discover;
pub mod llm;
pub mod report;
pub mod shards;
pub mod store;
pub mod validation;

/// When this process started: the first call, which each binary's `main` makes first thing.
/// (`generate` reports its start-up against it.)
pub fn process_start() -> std::time::Instant {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *START.get_or_init(std::time::Instant::now)
}
