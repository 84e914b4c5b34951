//! The files of a sharded run under OUT: `run.json` (the pinned settings), and per shard
//! `shards/{K:05}/` with its own store, JSONL files and, written last, its marker.
//!
//! ```text
//! OUT/run.json                      settings, T, library hash, version (written once)
//! OUT/shards/00003/plse-run.sqlite  the shard's store (resumed when interrupted)
//! OUT/shards/00003/*.jsonl          its rows, preference pairs, rejects
//! OUT/shards/00003/COMPLETE.json    the marker: checksums of the above, by rename
//! ```

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Shard, config_error};

/// The pinned settings of a sharded run.
pub const RUN_FILE: &str = "run.json";
/// The folder of the shards.
pub const SHARDS_DIR: &str = "shards";
/// A shard's completion marker.
pub const MARKER: &str = "COMPLETE.json";

/// `OUT/shards/{K:05}`.
pub fn shard_dir(out: &Path, k: u64) -> PathBuf {
    out.join(SHARDS_DIR).join(format!("{k:05}"))
}

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex SHA-256 of a file, streamed.
pub fn file_sha256(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// Pins `settings` in `OUT/run.json` if no run is pinned yet, else checks that they are the
/// pinned ones (exit 2 naming each difference). Returns the pin's hash (markers carry it).
pub fn pin(out: &Path, settings: &Value) -> Result<String> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join(RUN_FILE);
    let text = serde_json::to_string_pretty(settings)? + "\n";
    if !path.exists() {
        // Written beside, then hard-linked: link() fails when another shard won the race,
        // and then its pin is the one to match.
        let tmp = out.join(format!(".{RUN_FILE}.tmp-{}", std::process::id()));
        std::fs::write(&tmp, &text).with_context(|| format!("writing {}", tmp.display()))?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => return Ok(sha256_hex(text.as_bytes())),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
    let (pinned, hash) = read_pin(out)?;
    let differences = differences(&pinned, settings);
    if !differences.is_empty() {
        return Err(config_error(format!(
            "{} pins another run; this shard was started with different settings:\n{}\nuse the pinned settings, or another --out",
            path.display(),
            differences.join("\n")
        )));
    }
    Ok(hash)
}

/// The pinned settings and their hash; exit 2 when OUT holds no sharded run.
pub fn read_pin(out: &Path) -> Result<(Value, String)> {
    let path = out.join(RUN_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        config_error(format!(
            "{} holds no sharded run ({}: {e}); start one with `plse-batch generate --num-shards T`",
            out.display(),
            path.display()
        ))
    })?;
    let value: Value = serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    Ok((value, sha256_hex(text.as_bytes())))
}

/// The number of shards a pin holds.
pub fn pinned_total(pin: &Value) -> Result<u64> {
    pin["num_shards"].as_u64().filter(|t| *t > 0).ok_or_else(|| config_error(format!("{RUN_FILE} has no num_shards")))
}

fn differences(pinned: &Value, now: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (a, b) = (pinned.as_object().unwrap_or(&empty), now.as_object().unwrap_or(&empty));
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            let show = |v: Option<&Value>| v.map_or_else(|| "(absent)".to_owned(), Value::to_string);
            format!("  {k}: pinned {}, now {}", show(a.get(k)), show(b.get(k)))
        })
        .collect()
}

/// What a complete shard wrote: its identity, the run it belongs to and the checksums of its
/// files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    /// K.
    pub shard: u64,
    /// T.
    pub num_shards: u64,
    /// SHA-256 of the `run.json` it ran under.
    pub run: String,
    /// Rows it accepted.
    pub rows: u64,
    /// File name → SHA-256.
    pub files: BTreeMap<String, String>,
}

/// Writes the marker of shard `k` (last, atomically) with the checksums of `files`.
pub fn write_marker(out: &Path, shard: Shard, run: &str, rows: u64, files: &[&str]) -> Result<()> {
    let dir = shard_dir(out, shard.index);
    let mut sums = BTreeMap::new();
    for f in files {
        sums.insert((*f).to_owned(), file_sha256(&dir.join(f))?);
    }
    let m = Marker { shard: shard.index, num_shards: shard.total, run: run.to_owned(), rows, files: sums };
    crate::store::atomic::write(&dir.join(MARKER), (serde_json::to_string_pretty(&m)? + "\n").as_bytes())
}

/// The marker of shard `k`, when it exists and belongs to the pinned run `run`.
pub fn marker(out: &Path, shard: Shard, run: &str) -> Option<Marker> {
    let text = std::fs::read_to_string(shard_dir(out, shard.index).join(MARKER)).ok()?;
    let m: Marker = serde_json::from_str(&text).ok()?;
    (m.shard == shard.index && m.num_shards == shard.total && m.run == run).then_some(m)
}

/// Checks a complete shard's files against its marker: the problems found.
pub fn verify(out: &Path, m: &Marker) -> Vec<String> {
    let dir = shard_dir(out, m.shard);
    m.files
        .iter()
        .filter_map(|(name, want)| match file_sha256(&dir.join(name)) {
            Ok(got) if &got == want => None,
            Ok(got) => Some(format!("{}: checksum {got}, the marker says {want}", dir.join(name).display())),
            Err(e) => Some(format!("{e:#}")),
        })
        .collect()
}

/// Which shards of the pinned run are complete.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// T.
    pub total: u64,
    /// The pin's hash.
    pub run: String,
    /// Shards with a valid marker, with it.
    pub complete: Vec<Marker>,
    /// Shards without one.
    pub missing: Vec<u64>,
    /// Missing shards that have started (a folder exists): running, or interrupted.
    pub started: Vec<u64>,
}

/// The status of the sharded run in `out`.
pub fn status(out: &Path) -> Result<Status> {
    let (pin, run) = read_pin(out)?;
    let total = pinned_total(&pin)?;
    let mut st = Status { total, run: run.clone(), complete: Vec::new(), missing: Vec::new(), started: Vec::new() };
    for k in 0..total {
        match marker(out, Shard { index: k, total }, &run) {
            Some(m) => st.complete.push(m),
            None => {
                st.missing.push(k);
                if shard_dir(out, k).exists() {
                    st.started.push(k);
                }
            }
        }
    }
    Ok(st)
}
