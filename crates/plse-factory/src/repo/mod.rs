//! A repository as data: which files it has ([`scan`]), the chunks of each ([`chunk_source`]),
//! what was left out and why ([`SkipReason`]), and the index answers are checked against
//! ([`RepoIndex`]).
//!
//! `scan.rs` walks the root and reads files; `classify.rs` decides from a file's name and bytes
//! whether it is source to chunk; `language.rs` names its language; `chunk/` cuts text into
//! chunks (`python.rs` from a tree-sitter tree, `brace.rs` by balanced braces for the C family,
//! `text.rs` by blank-line blocks); `index.rs` answers citations, quotes and overlaps.

mod chunk;
mod classify;
mod error;
mod index;
mod language;
mod lines;
mod scan;

pub use chunk::{Chunk, ChunkKind, ChunkOptions, Chunked, MAX_DEPTH_CEILING, SyntaxIssue, chunk_source};
pub use classify::{GENERATED_MARKERS, LOCKFILES, SkipReason};
pub use error::{CitationError, QuoteError, RepoError};
pub use index::{MIN_QUOTE_CHARS, QuoteMatch, RepoIndex};
pub use language::Language;
pub use scan::{DEFAULT_VENDORED_DIRS, Repo, ScanOptions, Skipped, SourceFile, scan};
