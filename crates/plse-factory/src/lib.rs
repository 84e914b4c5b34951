//! PLSE's codebase data factory, repository side: read a local code repository, cut its source
//! into chunks along its syntax, and index it so that answers grounded in it can be checked.
//!
//! ```no_run
//! use plse_factory::repo::{self, RepoIndex, ScanOptions};
//!
//! let repo = repo::scan("path/to/repo".as_ref(), &ScanOptions::default())?;
//! for skipped in &repo.skipped {
//!     println!("skipped {}: {}", skipped.path, skipped.reason);
//! }
//! let index = RepoIndex::new(repo);
//! index.check_citation("pkg/shapes.py", 10, 24)?;
//! let found = index.find_quote("return math.pi * self.radius ** 2")?;
//! println!("quoted from {}:{}-{}", found.path, found.start_line, found.end_line);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **Boundary:** [`repo::scan`] is the only code that touches the file system (it reads files
//! under the root it is given, never writes, runs no process and reads no clock);
//! [`repo::chunk_source`] and [`repo::RepoIndex`] work on text in memory. Nothing here talks to
//! an LLM or knows about prompts: the scenes that ask questions about a repository build on
//! this crate.
//!
//! Invariants:
//! - **Scanning never panics**, whatever the bytes of the files or the options: a file that
//!   cannot be read as text is skipped with its reason; a file that does not parse is still
//!   chunked, with its syntax errors recorded.
//! - **Chunks are a deterministic function of the files** under the root (their paths and
//!   bytes) and the options: files and skips are sorted by path, chunks by position, and no
//!   ignore file outside the root (parent directories, the user's global git excludes) takes part.
//! - **Line numbers are 1-based and inclusive**; a line ends at `\n` (a `\r` before it belongs
//!   to the line break), a UTF-8 byte-order mark is not part of the text.
//! - **Every non-blank line of a scanned file lies in at least one chunk**, and **no chunk is
//!   longer than its line cap**; a chunk's `text` is exactly its lines joined by `\n`, and its
//!   `sha256` is the hash of that text.
//! - **Paths are repository-relative with `/` separators**, the same in chunks, skips and
//!   citations.

pub mod repo;
