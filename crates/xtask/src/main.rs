//! `cargo xtask`: the one entry point for project tasks, used by README, CI and people.
//!
//! - `ci` — everything CI checks: toolchain pieces, fmt, clippy (native and wasm32, `-D
//!   warnings`), the test suite, the library lint, the catalogue, native/wasm byte-identity.
//! - `wasm-check` — builds `web/` for wasm32 and compares its renders with `plse-batch`.
//! - `bench` — performance figures of the release build, side by side.
//! - `catalog [--check]` — regenerates (or checks) AVAILABLE_PATTERNS.md.
//! - `serve` — installs the playground's tools (trunk, wasm-bindgen-cli, npm packages,
//!   wasm-opt) and runs `trunk serve`.
//! - `web-build` — the static site in `dist/` (`trunk build --release`).
//! - `e2e` — the playground's end-to-end tests in headless Chromium.
//! - `budgets` — the playground's size and speed budgets, measured.
//! - `llm-e2e` — the codebase factory against a real local model (sets up the `llm` tier).
//! - `actionlint` — lints the GitHub Actions workflows (`.github/workflows/`).

mod actionlint;
mod bench;
mod ci;
mod llm;
mod pyenv;
mod wasm_check;
mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run_all(),
        Some("wasm-check") => wasm_check::check(),
        Some("bench") => bench::run(),
        Some("catalog") => ci::catalog(args.get(1).map(String::as_str) == Some("--check")),
        Some("serve") => web::serve(),
        Some("web-build") => web::build(),
        Some("e2e") => web::e2e(),
        Some("budgets") => web::budgets(),
        Some("llm-e2e") => llm::run(),
        Some("actionlint") => actionlint::run(),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | wasm-check | bench | catalog [--check] | serve | web-build | e2e | budgets | llm-e2e | actionlint>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap_or_else(|_| PathBuf::from("."))
}

/// Where cargo builds: `$CARGO_TARGET_DIR` (relative to the workspace root), else `target/`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// Runs a command in the workspace root with inherited output; fails on a non-zero exit.
pub fn exec(program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("\n$ {program} {}", args.join(" "));
    let status = Command::new(program).args(args).current_dir(root()).status().map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`{program} {}` failed ({status})", args.join(" "))) }
}

/// [`exec`] with extra environment variables.
pub fn exec_env(program: &str, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Result<(), String> {
    eprintln!("\n$ {program} {}", args.join(" "));
    let mut c = Command::new(program);
    c.args(args).current_dir(root());
    for (k, v) in env {
        c.env(k, v);
    }
    let status = c.status().map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`{program} {}` failed ({status})", args.join(" "))) }
}

/// Runs a command and returns its stdout; fails on a non-zero exit.
pub fn output(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program).args(args).current_dir(root()).output().map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!("`{program} {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Adds the wasm32 target when rustup lacks it (a fresh machine).
pub fn ensure_wasm_target() -> Result<(), String> {
    let installed = output("rustup", &["target", "list", "--installed"])?;
    if !installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        exec("rustup", &["target", "add", "wasm32-unknown-unknown"])?;
    }
    Ok(())
}
