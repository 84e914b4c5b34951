//! Helpers shared by the integration tests of `plse-batch`.
#![allow(dead_code)] // each test binary uses its own subset

pub mod stub;

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether the tests run as root (the sandbox needs it; CI runs as root).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}

/// The interpreter of the Python test environment (Hugging Face `datasets`, pyarrow):
/// `$PLSE_TEST_PYTHON`, which `cargo xtask ci` sets after installing it. Tests that need it are
/// `#[ignore]`d in a plain `cargo test` (reported as ignored) and run by `cargo xtask ci`.
pub fn test_python() -> PathBuf {
    let python = std::env::var_os("PLSE_TEST_PYTHON").map(PathBuf::from);
    match python {
        Some(p) if p.exists() => p,
        _ => {
            panic!("PLSE_TEST_PYTHON is not set to an interpreter with `datasets`: run `cargo xtask ci` (it installs the test environment)")
        }
    }
}

/// Runs `script` with the test environment's Python; panics with its output on failure.
pub fn run_python(script: &str, args: &[&std::ffi::OsStr]) -> String {
    let o = std::process::Command::new(test_python())
        .arg("-c")
        .arg(script)
        .args(args)
        .env("HF_DATASETS_OFFLINE", "1")
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("running the test Python");
    assert!(o.status.success(), "python failed:\n{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `plse-batch ARGS` from the workspace root, without colour.
pub fn plse(args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_plse-batch"));
    c.args(args).current_dir(root()).env("NO_COLOR", "1");
    c
}

/// `plse-batch generate ARGS --out OUT --patterns PATTERNS`, sandboxed when the tests run as
/// root; without root the library's own patterns are trusted and run unconfined, so these tests
/// also run where user namespaces are forbidden (the rootless sandbox has its own tests in
/// `sandbox.rs`).
pub fn generate(out: &Path, patterns: &Path, args: &[&str]) -> std::process::Output {
    let mut c = plse(&["generate"]);
    c.args(args).arg("--out").arg(out).arg("--patterns").arg(patterns);
    if !is_root() {
        c.arg("--unsafe-no-sandbox");
    }
    c.output().unwrap()
}
