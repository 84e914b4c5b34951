//! `cargo xtask ci` and `cargo xtask catalog`.

use std::time::Instant;

use crate::{ensure_wasm_target, exec, output, root};

/// The shared crates (plus the web binding) that must build and lint clean for wasm32.
const WASM_CRATES: &[&str] = &[
    "-p",
    "plse-schema",
    "-p",
    "plse-sampling",
    "-p",
    "plse-render",
    "-p",
    "plse-dedup",
    "-p",
    "plse-dataset",
    "-p",
    "plse-check",
    "-p",
    "plse-permalink",
    "-p",
    "plse-wasm-probe",
    "-p",
    "plse-web",
];

/// A named CI step.
type Step = (&'static str, Box<dyn Fn() -> Result<(), String>>);

pub fn run_all() -> Result<(), String> {
    let steps: Vec<Step> = vec![
        ("toolchain", Box::new(toolchain)),
        ("fmt", Box::new(|| exec("cargo", &["fmt", "--all", "--check"]))),
        ("clippy (native)", Box::new(|| exec("cargo", &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"]))),
        (
            "clippy (wasm32)",
            Box::new(|| {
                let mut args = vec!["clippy", "--target", "wasm32-unknown-unknown", "--locked"];
                args.extend_from_slice(WASM_CRATES);
                args.extend_from_slice(&["--", "-D", "warnings"]);
                exec("cargo", &args)
            }),
        ),
        // The Python environment the validation tests run in (ruff; idempotent).
        ("python environment", Box::new(|| exec("cargo", &["run", "--quiet", "--locked", "-p", "plse-batch", "--", "setup"]))),
        (
            "tests (with those that need the Python test environment)",
            Box::new(|| {
                let python = crate::pyenv::ensure()?;
                // The real-model factory test has a step of its own (`llm-e2e`, below), which
                // sets up the model it needs.
                crate::exec_env(
                    "cargo",
                    &["test", "--workspace", "--locked", "--", "--include-ignored", "--skip", crate::llm::E2E_TEST],
                    &[("PLSE_TEST_PYTHON", python.as_os_str())],
                )
            }),
        ),
        ("library lint", Box::new(|| exec("cargo", &["run", "--quiet", "--locked", "-p", "plse-batch", "--", "lint"]))),
        (
            "library lint --exec --capacity (16 seeds validated in the sandbox; capacity floor 20)",
            Box::new(|| exec("cargo", &["run", "--quiet", "--locked", "-p", "plse-batch", "--", "lint", "--exec", "--capacity"])),
        ),
        ("catalogue up to date", Box::new(|| catalog(true))),
        ("workflows (actionlint)", Box::new(crate::actionlint::run)),
        ("native/wasm byte-identity", Box::new(crate::wasm_check::check)),
        (
            "playground tools (trunk, wasm-bindgen, npm, wasm-opt, chromium)",
            Box::new(|| crate::web::ensure_tools().and_then(|()| crate::web::ensure_chromium())),
        ),
        ("playground build (trunk build --release)", Box::new(|| exec("trunk", &["build", "--release"]))),
        (
            "playground end-to-end (headless Chromium)",
            Box::new(|| {
                exec("cargo", &["build", "--quiet", "--locked", "-p", "plse-batch"])?;
                crate::web::run_e2e()
            }),
        ),
        ("release report in headless Chromium (file://, no request, figures = stats.json)", Box::new(report_e2e)),
        // The codebase factory against a real local model (the llm tier: llama.cpp built once
        // per requirements hash, about 4 minutes on 2 cores; the test itself about 2.5).
        ("codebase factory against a real local model (llm-e2e)", Box::new(crate::llm::run)),
    ];
    let mut timings = Vec::new();
    for (name, step) in &steps {
        eprintln!("\n==> {name}");
        let start = Instant::now();
        step().map_err(|e| format!("step `{name}` failed: {e}"))?;
        timings.push((name, start.elapsed()));
    }
    eprintln!("\nci: all {} steps passed", steps.len());
    for (name, t) in timings {
        eprintln!("  {:>7.1}s  {name}", t.as_secs_f64());
    }
    Ok(())
}

/// A fresh run's `report.html`, opened from disk in headless Chromium (`web/e2e/report.mjs`).
fn report_e2e() -> Result<(), String> {
    let dir = root().join("target/report-e2e");
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.to_string_lossy().into_owned();
    exec("cargo", &["run", "--quiet", "--locked", "-p", "plse-batch", "--", "generate", "--count", "60", "--seed", "8", "--out", &out])?;
    exec("node", &["web/e2e/report.mjs", &format!("{out}/release")])
}

/// rustfmt and clippy ship with the default rustup profile but not the minimal one.
fn toolchain() -> Result<(), String> {
    let components = output("rustup", &["component", "list", "--installed"])?;
    for c in ["rustfmt", "clippy"] {
        if !components.lines().any(|l| l.starts_with(c)) {
            exec("rustup", &["component", "add", c])?;
        }
    }
    ensure_wasm_target()
}

/// Regenerates AVAILABLE_PATTERNS.md, or with `check` fails when it is stale.
pub fn catalog(check: bool) -> Result<(), String> {
    let target = root().join("AVAILABLE_PATTERNS.md");
    if !check {
        return exec("cargo", &["run", "--quiet", "-p", "plse-batch", "--", "list", "--markdown", "AVAILABLE_PATTERNS.md"]);
    }
    let tmp = root().join("target/AVAILABLE_PATTERNS.check.md");
    let tmp_arg = tmp.to_string_lossy().into_owned();
    exec("cargo", &["run", "--quiet", "--locked", "-p", "plse-batch", "--", "list", "--markdown", &tmp_arg])?;
    let fresh = std::fs::read_to_string(&tmp).map_err(|e| e.to_string())?;
    let committed = std::fs::read_to_string(&target).unwrap_or_default();
    if fresh != committed {
        return Err("AVAILABLE_PATTERNS.md is out of date; run `cargo xtask catalog` and commit it".into());
    }
    eprintln!("AVAILABLE_PATTERNS.md is up to date");
    Ok(())
}
