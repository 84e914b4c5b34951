//! The browser playground's tasks: `serve`, `web-build`, `e2e`, `budgets`, and the set-up
//! they share — everything a fresh machine lacks is installed here, so that afterwards plain
//! `trunk serve` works too.

use std::path::PathBuf;
use std::process::Command;

use crate::{ensure_wasm_target, exec, output, root};

/// The trunk release that installs on the machine's Rust (0.22 needs a newer rustc).
const TRUNK_VERSION: &str = "0.21.14";

fn has(program: &str, args: &[&str], expect: &str) -> bool {
    Command::new(program).args(args).output().is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains(expect))
}

/// The `wasm-bindgen` version locked in Cargo.lock (the CLI must equal it exactly).
fn locked_wasm_bindgen() -> Result<String, String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l == "name = \"wasm-bindgen\""
            && let Some(v) = lines.next().and_then(|v| v.strip_prefix("version = \""))
        {
            return Ok(v.trim_end_matches('"').to_owned());
        }
    }
    Err("no wasm-bindgen in Cargo.lock".into())
}

fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"), PathBuf::from)
        .join("bin")
}

/// npm packages from package-lock.json, reinstalled only when the lock file changed.
pub fn npm_packages() -> Result<(), String> {
    let lock = std::fs::read(root().join("package-lock.json")).map_err(|e| format!("package-lock.json: {e}"))?;
    let stamp = root().join("node_modules/.plse-lock");
    if std::fs::read(&stamp).is_ok_and(|s| s == lock) {
        return Ok(());
    }
    exec("npm", &["ci", "--no-audit", "--no-fund"])?;
    std::fs::write(&stamp, lock).map_err(|e| e.to_string())
}

/// The binaryen release of the npm `binaryen` package (`132.0.0` → `132`), checked against the
/// `wasm_opt` trunk pins in Trunk.toml so the two cannot drift apart.
fn binaryen_version() -> Result<String, String> {
    let package: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("package.json")).map_err(|e| format!("package.json: {e}"))?)
            .map_err(|e| format!("package.json: {e}"))?;
    let version = package["devDependencies"]["binaryen"].as_str().ok_or("package.json has no binaryen devDependency")?;
    let major = version.split('.').next().unwrap_or(version).to_owned();
    let trunk = std::fs::read_to_string(root().join("Trunk.toml")).map_err(|e| format!("Trunk.toml: {e}"))?;
    if !trunk.contains(&format!("wasm_opt = \"version_{major}\"")) {
        return Err(format!("Trunk.toml must pin wasm_opt = \"version_{major}\" (the binaryen of package.json)"));
    }
    Ok(major)
}

/// A `wasm-opt` on PATH (in cargo's bin directory) that runs the npm package's binaryen.
fn wasm_opt() -> Result<(), String> {
    let version = binaryen_version()?;
    if has("wasm-opt", &["--version"], &format!("version_{version}")) {
        return Ok(());
    }
    let target = cargo_bin().join("wasm-opt");
    let script = format!(
        "#!/bin/sh\n# Installed by `cargo xtask serve`: binaryen {version} from npm (Debian's breaks release builds).\nexec node \"{}\" \"$@\"\n",
        root().join("node_modules/binaryen/bin/wasm-opt").display()
    );
    std::fs::write(&target, script).map_err(|e| format!("{}: {e}", target.display()))?;
    exec("chmod", &["755", &target.to_string_lossy()])?;
    if !has("wasm-opt", &["--version"], &format!("version_{version}")) {
        let found = output("sh", &["-c", "command -v wasm-opt; wasm-opt --version"]).unwrap_or_default();
        return Err(format!(
            "installed {} but PATH finds another wasm-opt first:\n{found}put {} first on PATH",
            target.display(),
            cargo_bin().display()
        ));
    }
    Ok(())
}

/// Node 20 or newer: playwright-core requires it (Debian 12's own nodejs is 18).
fn node() -> Result<(), String> {
    let version = output("node", &["--version"]).map_err(|e| format!("{e}\nhint: install Node.js 20 or newer with npm"))?;
    let major: u32 = version.trim().trim_start_matches('v').split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    if major < 20 {
        return Err(format!("Node.js {} is too old: the playground's tools need 20 or newer", version.trim()));
    }
    Ok(())
}

/// Everything `trunk build` needs.
pub fn ensure_tools() -> Result<(), String> {
    node()?;
    ensure_wasm_target()?;
    if !has("trunk", &["--version"], &format!("trunk {TRUNK_VERSION}")) {
        eprintln!("installing trunk {TRUNK_VERSION} (about 9 minutes on 2 cores)");
        exec("cargo", &["install", "--locked", "trunk", "--version", TRUNK_VERSION])?;
    }
    let wbg = locked_wasm_bindgen()?;
    if !has("wasm-bindgen", &["--version"], &format!("wasm-bindgen {wbg}")) {
        eprintln!("installing wasm-bindgen-cli {wbg} (the version in Cargo.lock; about 6 minutes)");
        // Without --locked: its lock file once named a version the registry mirror lacked.
        exec("cargo", &["install", "wasm-bindgen-cli", "--version", &wbg])?;
    }
    npm_packages()?;
    wasm_opt()?;
    // trunk builds offline (Trunk.toml), so the crates must be here already.
    exec("cargo", &["fetch", "--locked"])
}

/// Debian's Chromium for the end-to-end tests.
pub fn ensure_chromium() -> Result<(), String> {
    if std::path::Path::new("/usr/bin/chromium").exists() {
        return Ok(());
    }
    exec("apt-get", &["update", "-qq"])?;
    exec("apt-get", &["install", "-y", "-qq", "chromium"])
        .map_err(|e| format!("{e}\nhint: the browser tests need Debian's chromium (as root: apt-get install chromium)"))
}

/// `cargo xtask serve`: set up, then `trunk serve` (http://127.0.0.1:8080).
pub fn serve() -> Result<(), String> {
    ensure_tools()?;
    exec("trunk", &["serve"])
}

/// `cargo xtask web-build`: the static site in dist/.
pub fn build() -> Result<(), String> {
    ensure_tools()?;
    exec("trunk", &["build", "--release"])
}

/// `cargo xtask e2e`: builds the site and drives it in headless Chromium.
pub fn e2e() -> Result<(), String> {
    build()?;
    ensure_chromium()?;
    exec("cargo", &["build", "--quiet", "--locked", "-p", "plse-batch"])?;
    run_e2e()
}

/// `web/e2e/run.mjs` against the `plse-batch` cargo built (wherever `CARGO_TARGET_DIR` puts it).
pub fn run_e2e() -> Result<(), String> {
    let batch = crate::target_dir().join("debug/plse-batch");
    crate::exec_env("node", &["web/e2e/run.mjs"], &[("PLSE_BATCH", batch.as_os_str())])
}

/// `cargo xtask budgets`: builds the site and measures its budgets.
pub fn budgets() -> Result<(), String> {
    build()?;
    ensure_chromium()?;
    exec("node", &["web/e2e/budgets.mjs"])
}
