//! Writing one split of one config: Parquet shards (zstd, row groups of a bounded size) and the
//! same rows as JSONL, named as Hugging Face expects (`data/<config>/<split>-00000-of-00002.parquet`),
//! with their SHA-256 and row counts for the manifest. Rows stream through: a row group is the
//! most held in memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{ReleaseError, io};
use crate::formats::{Batch, Column, Format};

/// Rows per Parquet row group (and per flush of the builders).
pub const ROW_GROUP: usize = 1_000;

/// A file written, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    /// Path relative to the release directory.
    pub path: String,
    /// SHA-256 of the bytes.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Rows it holds.
    pub rows: u64,
}

/// The files of one split of one config, written shard by shard.
pub struct SplitWriter {
    format: Format,
    columns: Vec<Column>,
    dir: PathBuf,
    rel_dir: String,
    split: String,
    shards: usize,
    rows_per_shard: u64,
    shard: usize,
    in_shard: u64,
    batch: Batch,
    parquet: Option<(ArrowWriter<File>, PathBuf)>,
    jsonl: Option<(BufWriter<File>, PathBuf, u64)>,
    /// Files finished so far.
    pub files: Vec<FileEntry>,
}

impl SplitWriter {
    /// A writer for `expected` rows of `split`, sharded so no shard holds more than
    /// `rows_per_shard` rows, under `root/data/<config>/`.
    pub fn new(root: &Path, format: Format, split: &str, expected: u64, rows_per_shard: u64) -> Result<Self, ReleaseError> {
        let rel_dir = format!("data/{}", format.as_str());
        let dir = root.join(&rel_dir);
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let rows_per_shard = rows_per_shard.max(1);
        let shards = expected.div_ceil(rows_per_shard).max(1) as usize;
        Ok(Self {
            format,
            columns: format.columns(),
            dir,
            rel_dir,
            split: split.to_owned(),
            shards,
            rows_per_shard,
            shard: 0,
            in_shard: 0,
            batch: Batch::new(format),
            parquet: None,
            jsonl: None,
            files: Vec::new(),
        })
    }

    /// Shards this split is written as.
    pub fn shards(&self) -> usize {
        self.shards
    }

    fn name(&self, ext: &str) -> String {
        format!("{}-{:05}-of-{:05}.{ext}", self.split, self.shard, self.shards)
    }

    fn open(&mut self) -> Result<(), ReleaseError> {
        let p = self.dir.join(self.name("parquet"));
        let file = File::create(&p).map_err(|e| io(&p, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
            .set_max_row_group_row_count(Some(ROW_GROUP))
            .set_created_by(format!("plse-batch {}", env!("CARGO_PKG_VERSION")))
            .build();
        self.parquet = Some((ArrowWriter::try_new(file, self.format.schema(), Some(props))?, p));
        let j = self.dir.join(self.name("jsonl"));
        self.jsonl = Some((BufWriter::new(File::create(&j).map_err(|e| io(&j, e))?), j, 0));
        Ok(())
    }

    /// Writes one row (a training row or a preference pair, as JSON).
    pub fn write(&mut self, row: &Value) -> Result<(), ReleaseError> {
        if self.parquet.is_none() {
            self.open()?;
        }
        let values: Vec<Value> = self.columns.iter().map(|c| c.value(row)).collect();
        if let Some((w, path, n)) = &mut self.jsonl {
            let obj: Map<String, Value> = self.columns.iter().zip(&values).map(|(c, v)| (c.name.to_owned(), v.clone())).collect();
            serde_json::to_writer(&mut *w, &obj).map_err(|e| ReleaseError::Json(e.to_string()))?;
            w.write_all(b"\n").map_err(|e| io(path, e))?;
            *n += 1;
        }
        self.batch.push(&values);
        self.in_shard += 1;
        if self.batch.len() >= ROW_GROUP {
            self.flush_batch()?;
        }
        if self.in_shard >= self.rows_per_shard && self.shard + 1 < self.shards {
            self.close_shard()?;
            self.shard += 1;
            self.in_shard = 0;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<(), ReleaseError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = self.batch.finish()?;
        if let Some((w, _)) = &mut self.parquet {
            w.write(&batch)?;
        }
        Ok(())
    }

    fn close_shard(&mut self) -> Result<(), ReleaseError> {
        self.flush_batch()?;
        let rows = self.in_shard;
        if let Some((w, path)) = self.parquet.take() {
            w.close()?;
            self.files.push(entry(&self.rel_dir, &path, rows)?);
        }
        if let Some((mut w, path, n)) = self.jsonl.take() {
            w.flush().map_err(|e| io(&path, e))?;
            drop(w);
            self.files.push(entry(&self.rel_dir, &path, n)?);
        }
        Ok(())
    }

    /// Finishes the last shard (an empty split still gets its files, so every declared split
    /// loads) and returns every file written.
    pub fn finish(mut self) -> Result<Vec<FileEntry>, ReleaseError> {
        if self.parquet.is_none() {
            self.open()?;
        }
        self.close_shard()?;
        Ok(self.files)
    }
}

/// SHA-256 and size of a file, streamed.
pub fn digest_file(path: &Path) -> Result<(String, u64), ReleaseError> {
    let mut f = File::open(path).map_err(|e| io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = std::io::Read::read(&mut f, &mut buf).map_err(|e| io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((h.finalize().iter().map(|b| format!("{b:02x}")).collect(), bytes))
}

fn entry(rel_dir: &str, path: &Path, rows: u64) -> Result<FileEntry, ReleaseError> {
    let (sha256, bytes) = digest_file(path)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(FileEntry { path: format!("{rel_dir}/{name}"), sha256, bytes, rows })
}
