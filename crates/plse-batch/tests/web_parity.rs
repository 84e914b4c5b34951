//! The browser playground lints with the same ruff as this pipeline: same version
//! (`@astral-sh/ruff-wasm-web` in package.json = `ruff==` in the core requirements) and the
//! same settings (`web/js/src/ruff-settings.json` = `python/ruff.toml`).

use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn browser_ruff_settings_equal_the_pipeline_rule_set() {
    let native: toml::Value = toml::from_str(&read("crates/plse-batch/python/ruff.toml")).unwrap();
    let native = serde_json::to_value(native).unwrap();
    let web: serde_json::Value = serde_json::from_str(&read("web/js/src/ruff-settings.json")).unwrap();
    assert_eq!(native, web, "edit both files together");
}

#[test]
fn browser_ruff_version_equals_the_pipeline_version() {
    let reqs = read("crates/plse-batch/python/requirements/core.txt");
    let native = reqs.lines().find_map(|l| l.strip_prefix("ruff==")).expect("ruff pinned in core.txt").trim();
    let package: serde_json::Value = serde_json::from_str(&read("package.json")).unwrap();
    let web = package["dependencies"]["@astral-sh/ruff-wasm-web"].as_str().expect("ruff-wasm-web in package.json");
    assert_eq!(native, web);
}
