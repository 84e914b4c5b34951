//! The Python the tests drive as a user's training stack would (Hugging Face `datasets`,
//! pyarrow): a venv of its own, separate from the sandbox's, rebuilt only when
//! `crates/plse-batch/tests/python/requirements.txt` changes (its SHA-256 is stamped inside).

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::{exec, root};

const REQUIREMENTS: &str = "crates/plse-batch/tests/python/requirements.txt";

/// Where the venv lives: `$PLSE_TEST_VENV`, else `/opt/plse/test-venv` as root (outside the
/// clone, so CI reuses it), else `~/.local/share/plse/test-venv`.
fn dir() -> PathBuf {
    if let Some(d) = std::env::var_os("PLSE_TEST_VENV") {
        return PathBuf::from(d);
    }
    if running_as_root() {
        return PathBuf::from("/opt/plse/test-venv");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".local/share/plse/test-venv")
}

pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// Installs (or reuses) the test venv; returns its interpreter.
pub fn ensure() -> Result<PathBuf, String> {
    let reqs = std::fs::read(root().join(REQUIREMENTS)).map_err(|e| format!("{REQUIREMENTS}: {e}"))?;
    let hash: String = Sha256::digest(&reqs).iter().map(|b| format!("{b:02x}")).collect();
    let dir = dir();
    let python = dir.join("bin/python");
    let stamp = dir.join(".requirements.sha256");
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == hash) {
        eprintln!("test environment up to date: {}", dir.display());
        return Ok(python);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_string_lossy().into_owned();
    exec("/usr/bin/python3", &["-m", "venv", &d])?;
    let py = python.to_string_lossy().into_owned();
    exec(&py, &["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS])?;
    std::fs::write(&stamp, &hash).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(python)
}
