//! What can go wrong scanning a repository, and why a citation or a quote does not hold.

use std::path::PathBuf;

use thiserror::Error;

use super::classify::SkipReason;

/// A repository that cannot be scanned at all. (Problems with single files are not errors:
/// the file is skipped with its [`SkipReason`], or the walker's message is kept in
/// [`Repo::warnings`](super::Repo).)
#[derive(Debug, Error)]
pub enum RepoError {
    /// The root cannot be read.
    #[error("cannot read the repository root {}: {source}", root.display())]
    Root {
        /// The root given.
        root: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The root is not a directory.
    #[error("the repository root {} is not a directory", root.display())]
    NotADirectory {
        /// The root given.
        root: PathBuf,
    },
}

/// Why a citation `path:start-end` does not point at lines of a scanned file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CitationError {
    /// No file at that path (ignored files count as absent).
    #[error("no file `{path}` in the repository{}", did_you_mean(.similar.as_deref()))]
    NoSuchFile {
        /// The path cited.
        path: String,
        /// A scanned file with the same name elsewhere, if there is one.
        similar: Option<String>,
    },
    /// The file exists but was not scanned, so its lines cannot be checked.
    #[error("`{path}` was skipped: {reason}")]
    Skipped {
        /// The path cited.
        path: String,
        /// Why the file, or a directory above it, was skipped.
        reason: SkipReason,
    },
    /// Line numbers start at 1.
    #[error("`{path}` has no line 0: lines are numbered from 1")]
    LineZero {
        /// The path cited.
        path: String,
    },
    /// The range ends before it starts.
    #[error("`{path}:{start}-{end}` is inverted: the range ends before it starts")]
    Inverted {
        /// The path cited.
        path: String,
        /// The first line cited.
        start: usize,
        /// The last line cited.
        end: usize,
    },
    /// The range goes past the file's last line.
    #[error("`{path}:{start}-{end}` is past the end of the file, which has {line_count} lines")]
    PastEnd {
        /// The path cited.
        path: String,
        /// The first line cited.
        start: usize,
        /// The last line cited.
        end: usize,
        /// How many lines the file has.
        line_count: usize,
    },
}

fn did_you_mean(similar: Option<&str>) -> String {
    similar.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
}

/// Why quoted code does not count as found in the repository.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QuoteError {
    /// Too little code to say where it comes from (see [`MIN_QUOTE_CHARS`](super::MIN_QUOTE_CHARS)).
    #[error("the quote is too short to count: {chars} non-whitespace characters, at least {min} are needed")]
    TooShort {
        /// Non-whitespace characters in the quote.
        chars: usize,
        /// The minimum.
        min: usize,
    },
    /// No scanned file holds these lines.
    #[error("the quote is not in any scanned file")]
    NotFound,
}
