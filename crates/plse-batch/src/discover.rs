//! Finding and reading pattern files: the only place the library touches the disk.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use plse_schema::{Library, LoadedFile, MAX_FILE_BYTES, load, too_large};

/// Whether a path names a pattern file.
pub fn is_pattern_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

/// Every pattern file under `dir`, recursively, sorted; symlinks are not followed.
pub fn pattern_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        bail!("library directory `{}` does not exist (use --patterns DIR)", dir.display());
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(false).sort_by_file_name() {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        if entry.file_type().is_file() && is_pattern_file(entry.path()) {
            out.push(entry.into_path());
        }
    }
    Ok(out)
}

/// Reads and loads one file. Oversized files are refused before reading them.
pub fn load_file(path: &Path) -> Result<LoadedFile> {
    let name = display_name(path);
    let mut file = File::open(path).with_context(|| format!("cannot open {name}"))?;
    let len = file.metadata().with_context(|| format!("cannot stat {name}"))?.len();
    if len > MAX_FILE_BYTES as u64 {
        return Ok(too_large(&name, len));
    }
    let mut bytes = Vec::new();
    // `take` guards against a file that grows while we read it.
    file.by_ref().take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes).with_context(|| format!("cannot read {name}"))?;
    Ok(load(&name, &bytes))
}

/// The path as shown in diagnostics: relative to the working directory when possible.
pub fn display_name(path: &Path) -> String {
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf());
    shown.to_string_lossy().replace('\\', "/")
}

/// Path of `file` relative to the library root (decides its category), or its file name
/// when it lies outside the library.
pub fn rel_path(root: &Path, file: &Path) -> String {
    let abs = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let rel =
        abs(file).strip_prefix(abs(root)).map(Path::to_path_buf).unwrap_or_else(|_| PathBuf::from(file.file_name().unwrap_or_default()));
    rel.to_string_lossy().replace('\\', "/")
}

/// Loads the given files as one library rooted at `root`.
pub fn load_library(root: &Path, files: &[PathBuf]) -> Result<Library> {
    use rayon::prelude::*;
    let loaded: Result<Vec<(String, LoadedFile)>> = files.par_iter().map(|f| Ok((rel_path(root, f), load_file(f)?))).collect();
    Ok(Library::new(loaded?))
}
