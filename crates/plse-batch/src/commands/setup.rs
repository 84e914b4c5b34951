//! `plse-batch setup`: creates or completes the Python environment validation runs in.

use anyhow::Result;

use crate::cli::SetupArgs;
use crate::validation::pyenv;

/// Runs `setup`. Returns the process exit code.
pub fn run(args: &SetupArgs) -> Result<i32> {
    let dir = args.venv.clone().unwrap_or_else(pyenv::default_dir);
    pyenv::setup(&dir, args.tier, args.python.as_deref()).map(|_| 0)
}
