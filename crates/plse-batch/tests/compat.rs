//! PLSE v2.0 compatibility: the corpus in `tests/compat/v2/` (one file per difference found
//! between this engine and the Python one: YAML 1.1 scalars, Python string methods, templated
//! `requires`, undeclared names, lexing next to Python braces, distribution names, orchestration
//! artifacts, a paired anti-pattern) loads, renders as Jinja2 renders it, gets each artifact its
//! kind's validator, and validates in the sandbox.
#![allow(clippy::unwrap_used)] // tests

mod common;

use std::path::PathBuf;

use common::{is_root, plse, root, test_python};

fn corpus() -> PathBuf {
    root().join("crates/plse-batch/tests/compat/v2")
}

fn files() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> =
        std::fs::read_dir(corpus()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "yaml")).collect();
    out.sort();
    assert!(out.len() >= 13, "the corpus lost files: {out:?}");
    out
}

fn render_json(file: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let o = plse(&["render"]).arg(file).args(["--json"]).args(args).output().unwrap();
    assert!(o.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
#[ignore = "needs the Python test environment with Jinja2 and PyYAML (`cargo xtask ci` installs it and runs this)"]
fn the_corpus_renders_as_jinja2_renders_it() {
    let reference = root().join("crates/plse-batch/tests/compat/jinja2_reference.py");
    for file in files() {
        for seed in 0..6 {
            let o = plse(&["render"]).arg(&file).args(["--json", "--seed", &seed.to_string()]).output().unwrap();
            assert!(o.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&o.stderr));
            let mut py = std::process::Command::new(test_python())
                .arg(&reference)
                .arg(&file)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            py.stdin.take().unwrap().write_all(&o.stdout).unwrap();
            let out = py.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let diffs = report["diffs"].as_array().unwrap();
            assert!(diffs.is_empty(), "{} seed {seed} renders differently from Jinja2:\n{report:#}", file.display());
        }
    }
}

#[test]
fn every_file_loads_and_undeclared_names_are_located_warnings() {
    let o = plse(&["lint", "--patterns"]).arg(corpus()).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    // `__file__`, `model` and `debug` are not declared: Jinja2 renders them empty, so do we, and
    // each is a warning at its place in the file.
    for (name, at) in
        [("__file__", "undeclared_names.yaml:34:8"), ("debug", "undeclared_names.yaml:36:9"), ("model", "undeclared_names.yaml:41:49")]
    {
        let line = format!("warning[undefined-variable]: `{name}` in `template` is not a parameter");
        let i = err.find(&line).unwrap_or_else(|| panic!("no warning for `{name}`:\n{err}"));
        assert!(err[i..].lines().nth(1).is_some_and(|l| l.ends_with(at)), "`{name}` not located at {at}:\n{err}");
    }
    let rec = render_json(&corpus().join("undeclared_names.yaml"), &[]);
    let code = rec["code"].as_str().unwrap();
    assert!(code.starts_with("# \nimport configparser\n") && !code.contains("logging") && code.contains("fallback: str = \"\""), "{code}");
    // A v3 file stays strict: the same name is an error.
    let dir = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(corpus().join("undeclared_names.yaml")).unwrap().replace("plse_version: \"2.0\"", "plse_version: \"3\"");
    std::fs::write(dir.path().join("v3.yaml"), text).unwrap();
    let o = plse(&["render"]).arg(dir.path().join("v3.yaml")).output().unwrap();
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("error[undefined-variable]"));
}

#[test]
fn yaml11_scalars_read_as_pyyaml_reads_them() {
    let rec = render_json(&corpus().join("yaml11_scalars.yaml"), &["--param", "verbose=true"]);
    let code = rec["code"].as_str().unwrap();
    for line in ["BATCH_SIZE = 500000", "MASK = 255", "VERBOSE = True", "TOLERANCE = 1e-3", "LEARNING_RATE = 1e-05", "WEIGHT_DECAY = 1e-4"]
    {
        assert!(code.contains(line), "{line} missing:\n{code}");
    }
}

#[test]
fn templated_requires_render_per_sample_and_distributions_are_not_imported() {
    let file = corpus().join("templated_requires.yaml");
    let deque = render_json(&file, &["--param", "container=deque"]);
    assert_eq!(deque["requires"], serde_json::json!(["from collections.abc import Iterable", "from collections import deque"]));
    let listed = render_json(&file, &["--param", "container=list"]);
    assert_eq!(listed["requires"], serde_json::json!(["from collections.abc import Iterable", "import itertools"]));
    assert!(listed["code"].as_str().unwrap().starts_with("from collections.abc import Iterable\nimport itertools\n\n"));
    let web = render_json(&corpus().join("distribution_requires.yaml"), &[]);
    let code = web["code"].as_str().unwrap();
    assert!(!code.contains("multipart") && code.starts_with("from typing import Annotated\n"), "{code}");
    let o = plse(&["list", "--json", "--patterns"]).arg(corpus()).output().unwrap();
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let entry = list.as_array().unwrap().iter().find(|p| p["pattern_id"] == "compat.v2.distribution_requires").unwrap();
    assert_eq!(entry["tier"], "web", "{entry}");
}

#[test]
fn orchestration_artifacts_get_their_kind() {
    for (file, kind, path) in [
        ("orchestration_dockerfile.yaml", "dockerfile", "Dockerfile"),
        ("orchestration_compose.yaml", "yaml", "docker-compose.yml"),
        ("orchestration_workflow.yaml", "yaml", ".github/workflows/ci.yml"),
        ("orchestration_pyproject.yaml", "toml", "pyproject.toml"),
        ("orchestration_shell.yaml", "shell", "script.sh"),
        ("orchestration_makefile.yaml", "text", "Makefile"),
    ] {
        let rec = render_json(&corpus().join(file), &[]);
        assert_eq!(rec["artifact"], serde_json::json!({"kind": kind, "path": path}), "{file}");
    }
    for file in ["string_methods.yaml", "lexing.yaml", "paired_late_binding.yaml"] {
        assert_eq!(render_json(&corpus().join(file), &[])["artifact"]["kind"], "python", "{file}");
    }
}

#[test]
fn the_corpus_validates_in_the_sandbox() {
    let mut c = plse(&["lint", "--exec", "--seeds", "4", "--patterns"]);
    c.arg(corpus());
    if !is_root() {
        c.arg("--unsafe-no-sandbox");
    }
    let o = c.output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    let summary = format!("{} files linted over 4 seeds: {} ok, 0 failed", files().len(), files().len());
    assert!(out.contains(&summary), "{out}");
}
