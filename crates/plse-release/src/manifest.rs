//! `manifest.json`: what a release is made of (generator, library, arguments, counts, every
//! file with its SHA-256), and `verify`, which holds a release directory to it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ReleaseError, io};
use crate::formats::Format;
use crate::writer::{FileEntry, digest_file};

/// Version of this manifest's shape.
pub const FORMAT_VERSION: u32 = 1;

/// One pattern file of the library a run used.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LibraryEntry {
    /// Path relative to the library root.
    pub path: String,
    /// Its pattern id.
    pub pattern_id: String,
    /// The pattern's revision.
    pub version: String,
    /// Its category.
    pub category: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
}

/// The library of a run, identified by one hash.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Library {
    /// SHA-256 over every file's path and hash.
    pub hash: String,
    /// The files, by path.
    pub patterns: Vec<LibraryEntry>,
}

impl Library {
    /// The library of these files (sorted by path; the hash covers paths and contents).
    pub fn new(mut patterns: Vec<LibraryEntry>) -> Self {
        patterns.sort();
        let mut h = Sha256::new();
        for p in &patterns {
            h.update(p.path.as_bytes());
            h.update(b"\0");
            h.update(p.sha256.as_bytes());
            h.update(b"\n");
        }
        Self { hash: h.finalize().iter().map(|b| format!("{b:02x}")).collect(), patterns }
    }
}

/// The manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Version of this shape.
    pub format_version: u32,
    /// `plse-batch <version>`.
    pub generator: String,
    /// The dataset's name.
    pub title: String,
    /// SPDX licence of the data.
    pub license: String,
    /// The library the run rendered.
    pub library: Library,
    /// The run's settings and the export's.
    pub arguments: serde_json::Map<String, serde_json::Value>,
    /// How rows were grouped for splitting.
    pub split_by: String,
    /// The split targets.
    pub split: String,
    /// Split names in order.
    pub splits: Vec<String>,
    /// The configs written.
    pub formats: Vec<Format>,
    /// Rows per config and split.
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    /// Every file of the release but this manifest and the card, with its hash.
    pub files: Vec<FileEntry>,
    /// The command that regenerates the run.
    pub reproduce: String,
}

impl Manifest {
    /// The splits of `format` that hold rows (an empty split is not written), in split order.
    pub fn splits_of(&self, format: Format) -> impl Iterator<Item = &String> {
        let counts = self.counts.get(format.as_str());
        self.splits.iter().filter(move |s| counts.is_some_and(|c| c.get(*s).is_some_and(|n| *n > 0)))
    }
}

/// File name of the manifest inside a release.
pub const MANIFEST: &str = "manifest.json";

/// Reads a release's manifest.
pub fn read(dir: &Path) -> Result<Manifest, ReleaseError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| ReleaseError::Json(format!("{}: {e}", path.display())))
}

/// What `verify` checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Files checked.
    pub files: usize,
    /// Rows in the data files.
    pub rows: u64,
}

/// Checks every file of the release against the manifest: present, same size and SHA-256,
/// the rows it claims (Parquet metadata, JSONL lines), counts that add up, and no data file
/// the manifest does not list. Every problem is reported, not only the first.
pub fn verify(dir: &Path) -> Result<Verified, ReleaseError> {
    let m = read(dir)?;
    let mut problems = Vec::new();
    let mut rows = 0;
    let mut per: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for f in &m.files {
        let path = dir.join(&f.path);
        if !path.is_file() {
            problems.push(format!("{}: missing", f.path));
            continue;
        }
        let (sha, bytes) = digest_file(&path)?;
        if sha != f.sha256 || bytes != f.bytes {
            problems.push(format!("{}: content differs from the manifest (sha256 {sha}, {bytes} bytes)", f.path));
            continue;
        }
        let Some(rest) = f.path.strip_prefix("data/") else { continue };
        let counted = if f.path.ends_with(".parquet") {
            let file = File::open(&path).map_err(|e| io(&path, e))?;
            SerializedFileReader::new(file)?.metadata().file_metadata().num_rows() as u64
        } else {
            let file = File::open(&path).map_err(|e| io(&path, e))?;
            BufReader::new(file).lines().count() as u64
        };
        if counted != f.rows {
            problems.push(format!("{}: holds {counted} rows, the manifest says {}", f.path, f.rows));
        }
        let (config, name) = rest.split_once('/').unwrap_or(("", rest));
        let split = name.split('-').next().unwrap_or("").to_owned();
        let e = per.entry((config.to_owned(), split)).or_default();
        if f.path.ends_with(".parquet") {
            e.0 += counted;
            rows += counted;
        } else {
            e.1 += counted;
        }
    }
    for (config, splits) in &m.counts {
        for (split, n) in splits {
            let (parquet, jsonl) = per.get(&(config.clone(), split.clone())).copied().unwrap_or((0, 0));
            if parquet != *n || jsonl != *n {
                problems.push(format!("{config}/{split}: {parquet} rows in Parquet and {jsonl} in JSONL, the manifest says {n}"));
            }
        }
    }
    let listed: std::collections::HashSet<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    let data = dir.join("data");
    if let Ok(configs) = std::fs::read_dir(&data) {
        for c in configs.flatten() {
            for f in std::fs::read_dir(c.path()).into_iter().flatten().flatten() {
                let rel = format!("data/{}/{}", c.file_name().to_string_lossy(), f.file_name().to_string_lossy());
                if !listed.contains(rel.as_str()) {
                    problems.push(format!("{rel}: not in the manifest"));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(Verified { files: m.files.len(), rows })
    } else {
        Err(ReleaseError::Verify(format!("{} does not match its manifest:\n  {}", dir.display(), problems.join("\n  "))))
    }
}
