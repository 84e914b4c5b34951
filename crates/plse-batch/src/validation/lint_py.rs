//! The lint stage: ruff over many samples at once (one process per batch, not per sample).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

pub use plse_dataset::Finding;

/// The pinned rule set (also in the repo as `crates/plse-batch/python/ruff.toml`).
pub const RUFF_TOML: &str = include_str!("../../python/ruff.toml");

#[derive(Deserialize)]
struct RuffItem {
    code: Option<String>,
    message: String,
    filename: String,
    location: RuffLocation,
}

#[derive(Deserialize)]
struct RuffLocation {
    row: u32,
    column: u32,
}

/// Lints `codes` with `ruff`; returns the findings of each, in order.
pub fn lint(ruff: &Path, codes: &[&str]) -> Result<Vec<Vec<Finding>>> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    // A batch is a hundred small files written and deleted at once: in memory where the
    // machine has a tmpfs for it, rather than on a journaled disk.
    let shm = std::path::Path::new("/dev/shm");
    let dir = match tempfile::Builder::new().prefix("plse-ruff-").tempdir_in(shm) {
        Ok(d) => d,
        Err(_) => tempfile::tempdir().context("temp dir for ruff")?,
    };
    let config = dir.path().join("ruff.toml");
    std::fs::write(&config, RUFF_TOML)?;
    let src = dir.path().join("src");
    std::fs::create_dir(&src)?;
    for (i, code) in codes.iter().enumerate() {
        // A file ends with a newline; the rendered code has the template's one stripped.
        std::fs::write(src.join(format!("s{i}.py")), format!("{code}\n"))?;
    }
    let out = Command::new(ruff)
        .args(["check", "--no-cache", "--exit-zero", "--output-format", "json", "--config"])
        .arg(&config)
        .arg(&src)
        .env_clear()
        .output()
        .with_context(|| format!("running {}", ruff.display()))?;
    if !out.status.success() {
        bail!("ruff failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let items: Vec<RuffItem> = serde_json::from_slice(&out.stdout).context("reading ruff's JSON")?;
    let mut by_file: HashMap<usize, Vec<Finding>> = HashMap::new();
    for item in items {
        let stem = Path::new(&item.filename).file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let Some(i) = stem.strip_prefix('s').and_then(|n| n.parse::<usize>().ok()) else { continue };
        by_file.entry(i).or_default().push(Finding {
            code: item.code.unwrap_or_else(|| "invalid-syntax".into()),
            message: item.message,
            line: item.location.row,
            column: item.location.column,
        });
    }
    Ok((0..codes.len()).map(|i| by_file.remove(&i).unwrap_or_default()).collect())
}
