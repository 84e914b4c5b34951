//! Shared by the integration tests: the fixture repository in a temporary copy, the invariants
//! every scan must keep, and the text form snapshots take.
#![allow(dead_code, clippy::unwrap_used)] // each test binary uses some helpers; panics are test failures

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use plse_factory::repo::{Chunk, ChunkOptions, Repo, ScanOptions, SourceFile};
use sha2::{Digest, Sha256};

/// The fixture repository in the source tree.
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/repo")
}

/// A copy of the fixture repository plus what is not committed: a binary file (NUL bytes in
/// a PNG header) and, on Unix, a symbolic link.
pub fn fixture_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    fs::create_dir_all(dir.path().join("assets")).unwrap();
    fs::write(dir.path().join("assets/logo.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("pkg/shapes.py", dir.path().join("shapes_link.py")).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The options the fixture snapshots use: small caps, so that splitting shows.
pub fn small_caps() -> ScanOptions {
    ScanOptions { chunk: ChunkOptions { max_lines: 20, text_max_lines: 8, ..ChunkOptions::default() }, ..ScanOptions::default() }
}

/// A scan as text: files, chunks, syntax errors, skips and warnings.
pub fn render(repo: &Repo) -> String {
    let mut out = String::from("# files\n");
    for f in &repo.files {
        writeln!(out, "{} {} {} lines", f.path, f.language, f.line_count).unwrap();
    }
    out.push_str("\n# chunks\n");
    for c in repo.chunks() {
        writeln!(out, "{} {} {}", c.location(), c.kind, c.name).unwrap();
    }
    out.push_str("\n# syntax errors\n");
    for f in &repo.files {
        for e in &f.syntax_errors {
            writeln!(out, "{}:{}:{} {}", f.path, e.line, e.column, e.message).unwrap();
        }
    }
    out.push_str("\n# skipped\n");
    for s in &repo.skipped {
        writeln!(out, "{}: {}", s.path, s.reason).unwrap();
    }
    out.push_str("\n# warnings\n");
    for w in &repo.warnings {
        writeln!(out, "{w}").unwrap();
    }
    out
}

/// Checks what the crate promises of every scanned file (see the crate docs).
pub fn check_invariants(repo: &Repo, options: &ScanOptions) {
    let paths: Vec<&str> = repo.files.iter().map(|f| f.path.as_str()).collect();
    assert!(paths.windows(2).all(|w| w[0] < w[1]), "files sorted by path, no duplicates");
    let skipped: Vec<&str> = repo.skipped.iter().map(|s| s.path.as_str()).collect();
    assert!(skipped.windows(2).all(|w| w[0] < w[1]), "skips sorted by path, no duplicates");
    for file in &repo.files {
        check_file(file, options);
    }
}

/// The invariants of one file's chunks.
pub fn check_file(file: &SourceFile, options: &ScanOptions) {
    check_chunks(&file.path, &file.text, file.line_count, &file.chunks, options.chunk.cap_for(file.language));
}

/// The invariants of chunks of `text`: in range, at most `cap` lines, text and hash exact, no
/// blank edges, every non-blank line covered, ordered.
pub fn check_chunks(path: &str, text: &str, line_count: usize, chunks: &[Chunk], cap: usize) {
    let lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let lines = if text.is_empty() || text.ends_with('\n') { &lines[..lines.len() - 1] } else { &lines[..] };
    assert_eq!(lines.len(), line_count, "{path}: line count");
    let mut covered = BTreeSet::new();
    for c in chunks {
        let at = c.location();
        assert_eq!(c.path, path, "{at}: path");
        assert!(c.start_line >= 1 && c.start_line <= c.end_line && c.end_line <= line_count, "{at}: range in the file");
        assert!(c.end_line - c.start_line < cap.max(1), "{at}: no longer than the cap {cap}");
        assert_eq!(c.text, lines[c.start_line - 1..c.end_line].join("\n"), "{at}: text is the lines");
        assert_eq!(c.sha256, hex(&Sha256::digest(c.text.as_bytes())), "{at}: sha256 of the text");
        assert!(!lines[c.start_line - 1].trim().is_empty() && !lines[c.end_line - 1].trim().is_empty(), "{at}: no blank edge lines");
        covered.extend(c.start_line..=c.end_line);
    }
    for (i, line) in lines.iter().enumerate() {
        assert!(line.trim().is_empty() || covered.contains(&(i + 1)), "{path}:{}: non-blank line in no chunk", i + 1);
    }
    let order: Vec<(usize, std::cmp::Reverse<usize>)> = chunks.iter().map(|c| (c.start_line, std::cmp::Reverse(c.end_line))).collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{path}: chunks ordered");
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
