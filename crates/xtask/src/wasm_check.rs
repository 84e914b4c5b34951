//! `cargo xtask wasm-check`: every library pattern and fixture, rendered by `plse-dataset`'s
//! render entry natively (in this process, through `plse_wasm_probe::handle`) and in wasm32
//! (the probe's build, run under Node), must give the same bytes: the sample record and its
//! training row, or the diagnostics. `plse-batch render` prints from the same entry.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::{ensure_wasm_target, exec, root, target_dir};

const SEEDS: &[u64] = &[0, 1, 7, 4_294_967_311, u64::MAX];
const INDICES: &[u64] = &[0, 3, 1_000_003];

struct Case {
    file: String,
    category: String,
    seed: u64,
    index: u64,
    params: Vec<String>,
}

pub fn check() -> Result<(), String> {
    ensure_wasm_target()?;
    exec("cargo", &["build", "--quiet", "--locked", "-p", "plse-wasm-probe", "--target", "wasm32-unknown-unknown", "--release"])?;
    let cases = cases()?;
    let requests = requests(&cases)?;
    // The same entry, natively: this very process runs it.
    let native: Vec<String> = requests.iter().map(|r| plse_wasm_probe::handle(&r.to_string())).collect();
    let wasm = wasm_render(&requests)?;
    let mut mismatches = 0;
    for ((case, n), w) in cases.iter().zip(&native).zip(&wasm) {
        if n != w {
            mismatches += 1;
            let at = n.bytes().zip(w.bytes()).position(|(a, b)| a != b).unwrap_or(n.len().min(w.len()));
            eprintln!(
                "MISMATCH {} seed {} index {}: first difference at byte {at}\n  native: {:?}\n  wasm:   {:?}",
                case.file,
                case.seed,
                case.index,
                excerpt(n, at),
                excerpt(w, at)
            );
        }
    }
    let errors = native.iter().filter(|n| n.starts_with("ERROR\n")).count();
    eprintln!("wasm-check: {} cases ({} samples, {} diagnostics), {mismatches} mismatches", cases.len(), cases.len() - errors, errors);
    if mismatches > 0 { Err(format!("{mismatches} cases differ between native and wasm32")) } else { Ok(()) }
}

fn excerpt(s: &str, at: usize) -> &str {
    let start = s.floor_char_boundary(at.saturating_sub(40));
    let end = s.ceil_char_boundary((at + 40).min(s.len()));
    &s[start..end]
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(yaml_files(&p));
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn cases() -> Result<Vec<Case>, String> {
    let root = root();
    let rel = |p: &Path| p.strip_prefix(&root).unwrap_or(p).to_string_lossy().replace('\\', "/");
    let mut cases = Vec::new();
    for f in yaml_files(&root.join("patterns")) {
        let file = rel(&f);
        let category = plse_schema::category_of(file.trim_start_matches("patterns/"));
        for &seed in SEEDS {
            for &index in INDICES {
                cases.push(Case { file: file.clone(), category: category.clone(), seed, index, params: Vec::new() });
            }
        }
    }
    let fixtures = root.join("crates/plse-schema/tests/fixtures");
    for f in yaml_files(&fixtures).into_iter().chain(yaml_files(&root.join("crates/plse-render/tests/fixtures"))) {
        // Outside the library, plse-batch files a pattern under the root category.
        cases.push(Case { file: rel(&f), category: plse_schema::library::ROOT_CATEGORY.into(), seed: 5, index: 2, params: Vec::new() });
    }
    let all_types = rel(&fixtures.join("valid/v3_all_types.yaml"));
    cases.push(Case {
        file: all_types,
        category: plse_schema::library::ROOT_CATEGORY.into(),
        seed: 3,
        index: 9,
        params: vec!["n=8".into(), "tags=cyan,red".into(), "ratio=0.257".into()],
    });
    if cases.len() < 40 {
        return Err(format!("only {} cases found; is the library there?", cases.len()));
    }
    Ok(cases)
}

/// The probe's requests for `cases`: each file's bytes and the draw.
fn requests(cases: &[Case]) -> Result<Vec<serde_json::Value>, String> {
    let root = root();
    cases
        .iter()
        .map(|c| {
            let yaml = std::fs::read(root.join(&c.file)).map_err(|e| format!("{}: {e}", c.file))?;
            Ok(json!({ "name": c.file, "bytes": yaml, "category": c.category, "seed": c.seed.to_string(), "index": c.index.to_string(), "params": c.params }))
        })
        .collect()
}

/// The wasm32 build's answers, under Node.
fn wasm_render(requests: &[serde_json::Value]) -> Result<Vec<String>, String> {
    let root = root();
    let dir = target_dir().join("wasm-check");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let req_path = dir.join("requests.json");
    std::fs::write(&req_path, serde_json::to_vec(requests).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let wasm = target_dir().join("wasm32-unknown-unknown/release/plse_wasm_probe.wasm");
    let out = Command::new("node")
        .current_dir(&root)
        .arg("crates/plse-wasm-probe/render-all.mjs")
        .arg(&wasm)
        .arg(&req_path)
        .output()
        .map_err(|e| format!("cannot run node (needed to execute the wasm build): {e}"))?;
    if !out.status.success() {
        return Err(format!("node failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("bad answer from node: {e}"))
}
