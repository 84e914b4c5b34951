//! Scanning: the fixture repository's chunks and skips (snapshotted), the invariants on every
//! file, determinism, options, root errors, and this repository's own crates.
#![allow(clippy::unwrap_used)] // panics are test failures

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use plse_factory::repo::{self, Language, RepoError, ScanOptions, SkipReason};

use common::{check_invariants, fixture_copy, render, small_caps};

#[test]
fn fixture_chunks_and_skips() {
    let dir = fixture_copy();
    let repo = repo::scan(dir.path(), &small_caps()).unwrap();
    insta::assert_snapshot!("fixture", render(&repo));
}

#[test]
fn fixture_with_default_options() {
    let dir = fixture_copy();
    let repo = repo::scan(dir.path(), &ScanOptions::default()).unwrap();
    check_invariants(&repo, &ScanOptions::default());
    let report: Vec<String> = repo.file("pkg/report.py").unwrap().chunks.iter().map(|c| format!("{} {}", c.location(), c.name)).collect();
    assert_eq!(
        report,
        ["pkg/report.py:1-10 pkg.report", "pkg/report.py:13-36 build_report", "pkg/report.py:39-42 main"],
        "under the default cap nothing is cut"
    );
}

#[test]
fn invariants_hold_on_the_fixture() {
    let dir = fixture_copy();
    let options = small_caps();
    let repo = repo::scan(dir.path(), &options).unwrap();
    check_invariants(&repo, &options);
    let sources: BTreeSet<&str> = repo.files.iter().map(|f| f.path.as_str()).collect();
    assert!(!sources.contains("debug.log") && !sources.contains("scratch/notes.py"), "gitignored files are not scanned");
    assert!(!repo.skipped.iter().any(|s| s.path.starts_with("scratch")), "nor listed as skipped");
    assert!(!sources.contains(".hidden/secret.py") && !sources.contains(".gitignore"), "hidden files are not scanned");
}

#[test]
fn scanning_is_deterministic() {
    let dir = fixture_copy();
    let first = repo::scan(dir.path(), &small_caps()).unwrap();
    let second = repo::scan(dir.path(), &small_caps()).unwrap();
    assert_eq!(first.files, second.files);
    assert_eq!(first.skipped, second.skipped);
    let elsewhere = fixture_copy();
    let third = repo::scan(elsewhere.path(), &small_caps()).unwrap();
    assert_eq!(first.files, third.files, "the root's location does not matter");
}

#[test]
fn options_change_what_is_scanned() {
    let dir = fixture_copy();
    let options = ScanOptions { max_file_bytes: 100, include_hidden: true, vendored_dirs: vec!["vendor".into()], ..ScanOptions::default() };
    let repo = repo::scan(dir.path(), &options).unwrap();
    assert!(repo.file(".hidden/secret.py").is_some(), "hidden files on request");
    assert!(repo.file("third_party/lib/util.js").is_some(), "third_party/ is not in this vendored list");
    let too_large = repo.skipped.iter().find(|s| s.path == "pkg/shapes.py").map(|s| &s.reason);
    assert!(matches!(too_large, Some(SkipReason::TooLarge { limit: 100, bytes }) if *bytes > 100), "{too_large:?}");
    assert!(repo.skipped.iter().all(|s| !s.path.starts_with(".git/")), ".git is never entered");
}

#[test]
fn root_errors() {
    let missing = repo::scan(Path::new("/nonexistent/plse-factory-root"), &ScanOptions::default());
    assert!(matches!(missing, Err(RepoError::Root { .. })), "{missing:?}");
    let file = common::fixture().join("config.yaml");
    let not_dir = repo::scan(&file, &ScanOptions::default()).unwrap_err();
    assert!(matches!(not_dir, RepoError::NotADirectory { .. }));
    assert!(not_dir.to_string().ends_with("config.yaml is not a directory"), "{not_dir}");
}

/// This repository's `crates/`: scanned without error, and every `.rs` file outside build
/// output and test fixtures is read and chunked.
#[test]
fn own_crates_scan() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates");
    let options = ScanOptions::default();
    let repo = repo::scan(&root, &options).unwrap();
    assert!(repo.warnings.is_empty(), "{:?}", repo.warnings);
    check_invariants(&repo, &options);
    let on_disk = rust_files(&root, "");
    assert!(on_disk.len() > 50, "found {} .rs files", on_disk.len());
    for path in &on_disk {
        let file = repo.file(path).unwrap_or_else(|| panic!("{path} not scanned: {:?}", repo.skipped.iter().find(|s| &s.path == path)));
        assert_eq!(file.language, Language::Rust);
        assert!(!file.chunks.is_empty() || file.text.trim().is_empty(), "{path} has no chunks");
        assert!(file.syntax_errors.is_empty());
    }
    let chunked_here = repo.file("plse-factory/src/repo/chunk/brace.rs").unwrap();
    assert!(chunked_here.chunks.iter().any(|c| c.name == "Lexer::step"), "methods of an impl are chunks");
}

/// `.rs` files under `dir`, repository-relative, not in hidden or vendored directories.
fn rust_files(dir: &Path, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = format!("{prefix}{name}");
        let kind = entry.file_type().unwrap();
        if kind.is_dir() && !name.starts_with('.') && !repo::DEFAULT_VENDORED_DIRS.contains(&name.as_str()) {
            found.extend(rust_files(&entry.path(), &format!("{path}/")));
        } else if kind.is_file() && name.ends_with(".rs") {
            found.insert(path);
        }
    }
    found
}
