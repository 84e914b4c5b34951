//! PLSE's codebase data factory: read a local code repository, cut its source into chunks
//! along its syntax, and index it ([`repo`]); choose what to ask about ([`schedule`]), show it
//! to a model ([`context`], [`prompt`]), read the answers ([`answer`]), check them against the
//! repository ([`validate`]) and shape the training rows ([`row`]). The model itself is asked
//! elsewhere (`plse-batch factory`, through `plse-llm`): everything here takes text and returns
//! values.
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
//! under the root it is given, never writes, runs no process and reads no clock); everything
//! else works on text in memory. Nothing here talks to a network or runs a process: Python code
//! blocks are handed back ([`validate::BlockOutcome::Python`]) for the caller to compile in its
//! sandbox.
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
//! - **What a run asks is a function of the repository and the seed**: targets, contexts and
//!   prompts never depend on timing, concurrency or interruptions ([`schedule`]).
//! - **A row never refers to code its user turn does not contain**: citations must lie in the
//!   code the prompt showed, and the user turn repeats the blocks they fall in ([`row`]).

pub mod answer;
pub mod context;
pub mod prompt;
pub mod repo;
pub mod row;
pub mod schedule;
pub mod schema;
pub mod validate;
