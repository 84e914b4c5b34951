//! `plse-batch diff OLD NEW`: what changed between two releases — rows by id (added, removed,
//! changed), counts per pattern and category, the library (patterns added, removed, changed by
//! hash), and the distributions (task and difficulty shares, token lengths, splits).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{ReleaseError, io};
use crate::formats::Format;
use crate::manifest::{Manifest, read};
use crate::stats::Stats;

/// A count that moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delta {
    /// In the old release.
    pub old: u64,
    /// In the new one.
    pub new: u64,
}

/// The comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Diff {
    /// Rows only in the new release.
    pub added: u64,
    /// Rows only in the old one.
    pub removed: u64,
    /// Rows with the same id whose content differs.
    pub changed: u64,
    /// Rows identical in both.
    pub unchanged: u64,
    /// Some ids of each kind (at most 20).
    pub examples: BTreeMap<String, Vec<String>>,
    /// Rows per pattern that differ.
    pub by_pattern: BTreeMap<String, Delta>,
    /// Rows per category that differ.
    pub by_category: BTreeMap<String, Delta>,
    /// Patterns only in the new library.
    pub patterns_added: Vec<String>,
    /// Patterns only in the old library.
    pub patterns_removed: Vec<String>,
    /// Patterns whose file changed.
    pub patterns_changed: Vec<String>,
    /// Whether the library is the same (by hash).
    pub same_library: bool,
    /// Shares and medians that moved: name → (old, new).
    pub shifts: BTreeMap<String, (f64, f64)>,
    /// Arguments that differ: name → (old, new).
    pub arguments: BTreeMap<String, (String, String)>,
}

fn stats(dir: &Path) -> Result<Stats, ReleaseError> {
    let p = dir.join("stats.json");
    let text = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
    serde_json::from_str(&text).map_err(|e| ReleaseError::Json(format!("{}: {e}", p.display())))
}

/// The row config to compare rows by: the first of sft, alpaca, sharegpt the release has.
fn row_config(m: &Manifest) -> Option<Format> {
    [Format::Sft, Format::Alpaca, Format::Sharegpt].into_iter().find(|f| m.formats.contains(f))
}

/// A row as `diff` compares it: a hash of its content, its pattern and category.
type RowKey = ([u8; 8], String, String);

/// id → key of every row of a release.
fn rows(dir: &Path, m: &Manifest, format: Format) -> Result<HashMap<String, RowKey>, ReleaseError> {
    let mut out = HashMap::new();
    let prefix = format!("data/{format}/");
    for f in m.files.iter().filter(|f| f.path.starts_with(&prefix) && f.path.ends_with(".jsonl")) {
        let path = dir.join(&f.path);
        let file = std::fs::File::open(&path).map_err(|e| io(&path, e))?;
        for line in BufReader::new(file).lines() {
            let line = line.map_err(|e| io(&path, e))?;
            let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| ReleaseError::Json(format!("{}: {e}", path.display())))?;
            let mut h = [0u8; 8];
            h.copy_from_slice(&Sha256::digest(line.as_bytes())[..8]);
            let get = |k: &str| v[k].as_str().unwrap_or("").to_owned();
            out.insert(get("id"), (h, get("pattern_id"), get("category")));
        }
    }
    Ok(out)
}

fn delta_maps(old: &BTreeMap<String, u64>, new: &BTreeMap<String, u64>) -> BTreeMap<String, Delta> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (o, n) = (*old.get(k).unwrap_or(&0), *new.get(k).unwrap_or(&0));
            (o != n).then(|| (k.clone(), Delta { old: o, new: n }))
        })
        .collect()
}

fn shares(m: &BTreeMap<String, u64>) -> BTreeMap<String, f64> {
    let total: u64 = m.values().sum();
    m.iter().map(|(k, v)| (k.clone(), if total == 0 { 0.0 } else { *v as f64 / total as f64 })).collect()
}

/// Compares two release directories.
pub fn diff(old_dir: &Path, new_dir: &Path) -> Result<Diff, ReleaseError> {
    let (om, nm) = (read(old_dir)?, read(new_dir)?);
    let (os, ns) = (stats(old_dir)?, stats(new_dir)?);
    let mut d = Diff { same_library: om.library.hash == nm.library.hash, ..Diff::default() };
    let old_lib: BTreeMap<&str, &str> = om.library.patterns.iter().map(|p| (p.pattern_id.as_str(), p.sha256.as_str())).collect();
    let new_lib: BTreeMap<&str, &str> = nm.library.patterns.iter().map(|p| (p.pattern_id.as_str(), p.sha256.as_str())).collect();
    for (id, sha) in &new_lib {
        match old_lib.get(id) {
            None => d.patterns_added.push((*id).to_owned()),
            Some(old) if old != sha => d.patterns_changed.push((*id).to_owned()),
            Some(_) => {}
        }
    }
    d.patterns_removed = old_lib.keys().filter(|id| !new_lib.contains_key(*id)).map(|id| (*id).to_owned()).collect();
    match (row_config(&om), row_config(&nm)) {
        (Some(fo), Some(fnew)) if fo == fnew => {
            let mut old_rows = rows(old_dir, &om, fo)?;
            let new_rows = rows(new_dir, &nm, fnew)?;
            let mut ids: Vec<&String> = new_rows.keys().collect();
            ids.sort();
            for id in ids {
                let (h, _, _) = &new_rows[id];
                let kind = match old_rows.remove(id) {
                    None => "added",
                    Some((oh, _, _)) if oh != *h => "changed",
                    Some(_) => "unchanged",
                };
                match kind {
                    "added" => d.added += 1,
                    "changed" => d.changed += 1,
                    _ => d.unchanged += 1,
                }
                if kind != "unchanged" {
                    let e = d.examples.entry(kind.to_owned()).or_default();
                    if e.len() < 20 {
                        e.push(id.clone());
                    }
                }
            }
            d.removed = old_rows.len() as u64;
            let mut removed: Vec<&String> = old_rows.keys().collect();
            removed.sort();
            d.examples.insert("removed".into(), removed.into_iter().take(20).cloned().collect());
        }
        _ => return Err(ReleaseError::Usage("the two releases share no row config (sft, alpaca or sharegpt) to compare rows by".into())),
    }
    d.by_pattern = delta_maps(&os.by_pattern, &ns.by_pattern);
    d.by_category = delta_maps(&os.by_category, &ns.by_category);
    for (name, (o, n)) in [
        ("task", (&os.by_task, &ns.by_task)),
        ("difficulty", (&os.by_difficulty, &ns.by_difficulty)),
        ("category", (&os.by_category, &ns.by_category)),
    ] {
        let (so, sn) = (shares(o), shares(n));
        let keys: BTreeSet<&String> = so.keys().chain(sn.keys()).collect();
        for k in keys {
            let (a, b) = (*so.get(k).unwrap_or(&0.0), *sn.get(k).unwrap_or(&0.0));
            if (a - b).abs() >= 0.005 {
                d.shifts.insert(format!("{name} share: {k}"), (a, b));
            }
        }
    }
    for (name, a, b) in [
        ("prompt tokens p50", os.prompt_tokens.p50, ns.prompt_tokens.p50),
        ("prompt tokens p90", os.prompt_tokens.p90, ns.prompt_tokens.p90),
        ("answer tokens p50", os.answer_tokens.p50, ns.answer_tokens.p50),
        ("answer tokens p90", os.answer_tokens.p90, ns.answer_tokens.p90),
        ("rows", os.rows, ns.rows),
        ("preference pairs", os.preference_pairs, ns.preference_pairs),
    ] {
        if a != b {
            d.shifts.insert(name.to_owned(), (a as f64, b as f64));
        }
    }
    let keys: BTreeSet<&String> = om.arguments.keys().chain(nm.arguments.keys()).collect();
    for k in keys {
        let (a, b) = (
            om.arguments.get(k).map(|v| v.to_string()).unwrap_or_default(),
            nm.arguments.get(k).map(|v| v.to_string()).unwrap_or_default(),
        );
        if a != b {
            d.arguments.insert(k.clone(), (a, b));
        }
    }
    Ok(d)
}

impl Diff {
    /// The comparison as a person reads it.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ =
            writeln!(out, "rows: {} added, {} removed, {} changed, {} unchanged", self.added, self.removed, self.changed, self.unchanged);
        for (kind, ids) in &self.examples {
            if !ids.is_empty() {
                let _ = writeln!(
                    out,
                    "  {kind}: {}{}",
                    ids.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                    if ids.len() > 5 { ", ..." } else { "" }
                );
            }
        }
        if self.same_library {
            out.push_str("library: unchanged\n");
        } else {
            let _ = writeln!(
                out,
                "library: {} patterns added, {} removed, {} changed",
                self.patterns_added.len(),
                self.patterns_removed.len(),
                self.patterns_changed.len()
            );
            for (label, list) in [("added", &self.patterns_added), ("removed", &self.patterns_removed), ("changed", &self.patterns_changed)]
            {
                for p in list {
                    let _ = writeln!(out, "  {label}: {p}");
                }
            }
        }
        for (title, map) in [("rows per category", &self.by_category), ("rows per pattern", &self.by_pattern)] {
            if !map.is_empty() {
                let _ = writeln!(out, "{title}:");
                for (k, v) in map {
                    let _ = writeln!(out, "  {k}: {} -> {} ({:+})", v.old, v.new, v.new as i64 - v.old as i64);
                }
            }
        }
        if !self.shifts.is_empty() {
            out.push_str("distribution shifts:\n");
            for (k, (a, b)) in &self.shifts {
                if a.fract() == 0.0 && b.fract() == 0.0 && *a > 1.0 {
                    let _ = writeln!(out, "  {k}: {a} -> {b}");
                } else {
                    let _ = writeln!(out, "  {k}: {:.1} % -> {:.1} %", a * 100.0, b * 100.0);
                }
            }
        }
        if !self.arguments.is_empty() {
            out.push_str("arguments:\n");
            for (k, (a, b)) in &self.arguments {
                let _ = writeln!(out, "  {k}: {a} -> {b}");
            }
        }
        out
    }
}
