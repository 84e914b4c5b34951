//! Rotated parts of a continuous run (`generate --continuous`): every `--rotate-every` rows,
//! the rows accepted since the last part become a finished file under `OUT/parts/`, with the
//! preference pairs of those rows beside it, and the manifest lists it.
//!
//! ```text
//! OUT/parts/part-000001.jsonl             rows 0..N, in acceptance order
//! OUT/parts/part-000001.preference.jsonl  the preference pairs of those rows
//! OUT/parts/manifest.json                 every published part: rows, first row, SHA-256
//! ```
//!
//! Invariants:
//! - **A part is published when the manifest lists it**, and the manifest is replaced
//!   atomically after the part's files are in place: a consumer that reads only listed parts
//!   never sees a partial or changing file.
//! - **Parts never overlap and leave no gap**: part k+1 starts at the row after part k's last;
//!   the manifest, not the store, says how far rotation got, so a resumed run continues it.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Store, atomic};

/// The folder of the parts, under OUT.
pub const PARTS_DIR: &str = "parts";
/// The list of published parts.
pub const MANIFEST: &str = "manifest.json";

/// One published part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// The rows' file name, under `OUT/parts`.
    pub file: String,
    /// The preference pairs' file name.
    pub preference_file: String,
    /// Rows in the part.
    pub rows: u64,
    /// Preference pairs in the part.
    pub pairs: u64,
    /// The run's row number (0-based, acceptance order) of its first row.
    pub first_row: u64,
    /// SHA-256 of the rows' file.
    pub sha256: String,
    /// SHA-256 of the preference pairs' file.
    pub preference_sha256: String,
}

/// Every published part, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The parts.
    pub parts: Vec<Part>,
}

impl Manifest {
    /// The manifest of the run in `out` (empty when nothing was rotated yet).
    pub fn read(out: &Path) -> Result<Self> {
        let path = out.join(PARTS_DIR).join(MANIFEST);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| format!("reading {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Rows in published parts.
    pub fn rotated(&self) -> u64 {
        self.parts.iter().map(|p| p.rows).sum()
    }
}

/// When to cut parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Only full parts of `every` rows.
    Full,
    /// Full parts, then the rest as a last, shorter part (the run is stopping).
    All,
}

/// Publishes the parts the store's rows fill: parts of `every` rows, and with [`Cut::All`] the
/// rows left over. Returns how many parts it published.
pub fn rotate(out: &Path, store: &Store, manifest: &mut Manifest, every: u64, cut: Cut) -> Result<usize> {
    let dir = out.join(PARTS_DIR);
    let total = store.accepted_count()?;
    let mut published = 0;
    loop {
        let first = manifest.rotated();
        let left = total.saturating_sub(first);
        let rows = match cut {
            _ if left >= every => every,
            Cut::All if left > 0 => left,
            _ => return Ok(published),
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let part = write_part(&dir, store, manifest.parts.len() + 1, first, rows)?;
        manifest.parts.push(part);
        atomic::write(&dir.join(MANIFEST), (serde_json::to_string_pretty(manifest)? + "\n").as_bytes())?;
        published += 1;
    }
}

/// Writes part `n` (rows `first..first + rows`) and its preference pairs, atomically each.
fn write_part(dir: &Path, store: &Store, n: usize, first: u64, rows: u64) -> Result<Part> {
    let file = format!("part-{n:06}.jsonl");
    let preference_file = format!("part-{n:06}.preference.jsonl");
    let mut pair_ids: Vec<String> = Vec::new();
    let mut written = 0;
    let sha256 = write_hashed(&dir.join(&file), |w| {
        store.for_each_row_in(first, rows, &mut |row| {
            if let Some(id) = crate::shards::merge::pair_id(&serde_json::from_str(row)?) {
                pair_ids.push(id);
            }
            written += 1;
            w.write_all(row.as_bytes())?;
            Ok(w.write_all(b"\n")?)
        })
    })?;
    anyhow::ensure!(written == rows, "the store holds {written} of rows {first}..{}", first + rows);
    pair_ids.dedup();
    let mut pairs = 0;
    let preference_sha256 = write_hashed(&dir.join(&preference_file), |w| {
        for id in &pair_ids {
            if let Some(p) = store.preference(id)? {
                pairs += 1;
                w.write_all(p.as_bytes())?;
                w.write_all(b"\n")?;
            }
        }
        Ok(())
    })?;
    Ok(Part { file, preference_file, rows, pairs, first_row: first, sha256, preference_sha256 })
}

/// Writes a file atomically through `fill`; returns its SHA-256.
fn write_hashed(path: &Path, fill: impl FnOnce(&mut dyn std::io::Write) -> Result<()>) -> Result<String> {
    struct Hashing<'a> {
        inner: &'a mut dyn std::io::Write,
        hash: Sha256,
    }
    impl std::io::Write for Hashing<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.hash.update(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.inner.flush()
        }
    }
    let mut digest = String::new();
    atomic::write_with(path, |w| {
        let mut h = Hashing { inner: w, hash: Sha256::new() };
        fill(&mut h)?;
        digest = h.hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(())
    })?;
    Ok(digest)
}
