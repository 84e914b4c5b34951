//! What can go wrong building, verifying or comparing a release.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// A release error.
#[derive(Debug, Error)]
pub enum ReleaseError {
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The run's store could not be read.
    #[error("reading the run: {0}")]
    Source(String),
    /// A row or a file that is not the JSON expected.
    #[error("bad JSON: {0}")]
    Json(String),
    /// Arrow rejected a batch.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// The Parquet writer or reader failed.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// A release that does not match its manifest.
    #[error("{0}")]
    Verify(String),
    /// Options that cannot be used together, or a benchmark that cannot be loaded.
    #[error("{0}")]
    Usage(String),
}

/// Wraps an I/O error with the path it happened on.
pub fn io(path: &Path, source: std::io::Error) -> ReleaseError {
    ReleaseError::Io { path: path.to_path_buf(), source }
}
