//! Walking a repository: which files are read and chunked, which are skipped and why.
//!
//! The walk is `ignore`'s (ripgrep's): `.gitignore`, `.ignore` and `.git/info/exclude` are
//! honoured, even when the root is not a git checkout (a tarball keeps its `.gitignore`);
//! hidden files and directories are left out unless [`ScanOptions::include_hidden`]; `.git`,
//! `.hg` and `.svn` are never entered. For determinism, ignore files above the root and the
//! user's global git excludes are not read. What the ignore rules leave out is not part of the
//! repository and is not listed; what they keep but the scan does not chunk is listed in
//! [`Repo::skipped`] with its [`SkipReason`].

use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use ignore::{DirEntry, WalkBuilder};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::chunk::{Chunk, ChunkOptions, SyntaxIssue, chunk_source};
use super::classify::{self, SkipReason};
use super::error::RepoError;
use super::language::Language;
use super::lines::LineStarts;

/// Directories of vendored code and build output, skipped by default wherever they are.
pub const DEFAULT_VENDORED_DIRS: [&str; 9] =
    ["vendor", "third_party", "node_modules", ".venv", "venv", "site-packages", "target", "dist", "build"];

/// Version-control directories, never entered and not listed.
const VCS_DIRS: [&str; 3] = [".git", ".hg", ".svn"];

/// How a repository is scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// Files larger than this many bytes are skipped unread.
    pub max_file_bytes: u64,
    /// Whether hidden files and directories (names starting with `.`) are scanned.
    pub include_hidden: bool,
    /// Directory names that are skipped wherever they occur (not below the root itself).
    pub vendored_dirs: Vec<String>,
    /// How files are chunked.
    pub chunk: ChunkOptions,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            max_file_bytes: 1024 * 1024,
            include_hidden: false,
            vendored_dirs: DEFAULT_VENDORED_DIRS.iter().map(|d| (*d).to_owned()).collect(),
            chunk: ChunkOptions::default(),
        }
    }
}

/// A scanned repository.
#[derive(Debug, Clone, Serialize)]
pub struct Repo {
    /// The root as given.
    pub root: PathBuf,
    /// The files read and chunked, sorted by path.
    pub files: Vec<SourceFile>,
    /// What was not chunked and why, sorted by path; a skipped directory's path ends with `/`.
    pub skipped: Vec<Skipped>,
    /// Problems of the walk itself (an unreadable directory, a malformed ignore file), in the
    /// walker's words.
    pub warnings: Vec<String>,
}

impl Repo {
    /// The file at a repository-relative path, if it was scanned.
    pub fn file(&self, path: &str) -> Option<&SourceFile> {
        self.files.binary_search_by(|f| f.path.as_str().cmp(path)).ok().map(|i| &self.files[i])
    }

    /// Every chunk, file by file.
    pub fn chunks(&self) -> impl Iterator<Item = &Chunk> {
        self.files.iter().flat_map(|f| &f.chunks)
    }
}

/// A file that was read and chunked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceFile {
    /// Repository-relative, `/` separators.
    pub path: String,
    /// Its language, from the extension.
    pub language: Language,
    /// Its size in bytes.
    pub bytes: u64,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
    /// Its text (without a byte-order mark).
    pub text: String,
    /// How many lines it has.
    pub line_count: usize,
    /// Its chunks, ordered by start line.
    pub chunks: Vec<Chunk>,
    /// Syntax errors the parser recovered from (Python only).
    pub syntax_errors: Vec<SyntaxIssue>,
}

/// A file or directory left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Repository-relative, `/` separators; a directory's ends with `/`.
    pub path: String,
    /// Why.
    pub reason: SkipReason,
}

/// Reads the repository at `root`: every file the ignore rules keep is chunked or listed as
/// skipped. Fails only when the root itself cannot be read; never panics.
pub fn scan(root: &Path, options: &ScanOptions) -> Result<Repo, RepoError> {
    let metadata = std::fs::metadata(root).map_err(|source| RepoError::Root { root: root.to_path_buf(), source })?;
    if !metadata.is_dir() {
        return Err(RepoError::NotADirectory { root: root.to_path_buf() });
    }
    let vendored = Arc::new(Mutex::new(Vec::new()));
    let mut repo = Repo { root: root.to_path_buf(), files: Vec::new(), skipped: Vec::new(), warnings: Vec::new() };
    for entry in walker(root, options, Arc::clone(&vendored)) {
        match entry {
            Ok(entry) => visit(&mut repo, root, &entry, options),
            Err(error) => repo.warnings.push(error.to_string()),
        }
    }
    repo.skipped.append(&mut vendored.lock().unwrap_or_else(PoisonError::into_inner));
    repo.files.sort_by(|a, b| a.path.cmp(&b.path));
    repo.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(repo)
}

/// The sorted walk, which leaves out VCS directories and records vendored ones.
fn walker(root: &Path, options: &ScanOptions, vendored: Arc<Mutex<Vec<Skipped>>>) -> ignore::Walk {
    let mut builder = WalkBuilder::new(root);
    builder
        .hidden(!options.include_hidden)
        .parents(false)
        .git_global(false)
        .git_ignore(true)
        .git_exclude(true)
        .ignore(true)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b));
    let names = options.vendored_dirs.clone();
    let root = root.to_path_buf();
    builder.filter_entry(move |entry| {
        if entry.depth() == 0 || !entry.file_type().is_some_and(|t| t.is_dir()) {
            return true;
        }
        let name = entry.file_name().to_string_lossy();
        if VCS_DIRS.contains(&name.as_ref()) {
            return false;
        }
        let Some(dir) = names.iter().find(|n| **n == name) else { return true };
        let path = format!("{}/", relative(&root, entry.path()).unwrap_or_else(|lossy| lossy));
        vendored.lock().unwrap_or_else(PoisonError::into_inner).push(Skipped { path, reason: SkipReason::Vendored { dir: dir.clone() } });
        false
    });
    builder.build()
}

/// One entry of the walk: a file is read or skipped; directories were decided by the filter.
fn visit(repo: &mut Repo, root: &Path, entry: &DirEntry, options: &ScanOptions) {
    let Some(file_type) = entry.file_type().filter(|t| entry.depth() > 0 && !t.is_dir()) else { return };
    let path = match relative(root, entry.path()) {
        Ok(path) => path,
        Err(lossy) => return repo.skipped.push(Skipped { path: lossy, reason: SkipReason::NonUtf8Path }),
    };
    let outcome = if file_type.is_symlink() {
        Err(SkipReason::Symlink)
    } else if !file_type.is_file() {
        Err(SkipReason::NotRegularFile)
    } else {
        read_source(entry.path(), &path, options)
    };
    match outcome {
        Ok(file) => repo.files.push(file),
        Err(reason) => repo.skipped.push(Skipped { path, reason }),
    }
}

/// `path` relative to `root` with `/` separators; the lossy form when it is not UTF-8.
fn relative(root: &Path, path: &Path) -> Result<String, String> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<&str> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_str()),
            _ => None,
        })
        .collect::<Option<_>>()
        .ok_or_else(|| rel.to_string_lossy().replace('\\', "/"))?;
    Ok(parts.join("/"))
}

/// A regular file read, classified and chunked.
fn read_source(path: &Path, rel: &str, options: &ScanOptions) -> Result<SourceFile, SkipReason> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    if classify::is_lockfile(name) {
        return Err(SkipReason::Lockfile);
    }
    let bytes = read_capped(path, options.max_file_bytes)?;
    let sha256 = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let size = bytes.len() as u64;
    let text = classify::decode(bytes)?;
    let language = Language::detect(rel, text.lines().next().unwrap_or(""));
    if let Some(reason) = classify::generated_or_minified(rel, language, &text) {
        return Err(reason);
    }
    let chunked = chunk_source(rel, language, &text, &options.chunk);
    Ok(SourceFile {
        path: rel.to_owned(),
        language,
        bytes: size,
        sha256,
        line_count: LineStarts::new(&text).len(),
        text,
        chunks: chunked.chunks,
        syntax_errors: chunked.syntax_errors,
    })
}

/// A file's bytes, refusing files over `limit` (checked before reading, and while reading in
/// case the file grows).
fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, SkipReason> {
    let unreadable = |e: std::io::Error| SkipReason::Unreadable { message: e.to_string() };
    let file = File::open(path).map_err(unreadable)?;
    let len = file.metadata().map_err(unreadable)?.len();
    if len > limit {
        return Err(SkipReason::TooLarge { bytes: len, limit });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() as u64 > limit {
        return Err(SkipReason::TooLarge { bytes: bytes.len() as u64, limit });
    }
    Ok(bytes)
}
