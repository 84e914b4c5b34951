//! Checking an answer against the repository: do the cited lines exist, does the quoted code,
//! and which chunks does a range touch.
//!
//! Quotes are compared line by line after normalising whitespace: each line is trimmed and its
//! runs of whitespace become one space (indentation does not matter), and blank lines are
//! dropped on both sides. A quote of one line may be any part of a file line; a quote of
//! several lines may start inside its first line and stop inside its last, while the lines
//! between must match whole. **A quote counts only with at least [`MIN_QUOTE_CHARS`]
//! non-whitespace characters**, so that `return x` or `self.x = x`, which occur anywhere,
//! prove nothing.

use serde::Serialize;

use super::chunk::Chunk;
use super::classify::SkipReason;
use super::error::{CitationError, QuoteError};
use super::lines::LineStarts;
use super::scan::{Repo, SourceFile};

/// The fewest non-whitespace characters a quote needs to count as found.
pub const MIN_QUOTE_CHARS: usize = 20;

/// Where a quote was found: the first match in path order, then line order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuoteMatch {
    /// The file.
    pub path: String,
    /// The first non-blank line matched.
    pub start_line: usize,
    /// The last non-blank line matched.
    pub end_line: usize,
}

/// A scanned repository, ready to check citations and quotes against.
#[derive(Debug, Clone)]
pub struct RepoIndex {
    repo: Repo,
    /// Per file (same order as `repo.files`): its non-blank lines as (line number, normalised).
    normalised: Vec<Vec<(usize, String)>>,
}

impl RepoIndex {
    /// Indexes a scanned repository.
    pub fn new(repo: Repo) -> Self {
        let normalised = repo.files.iter().map(|f| normalised_lines(&f.text)).collect();
        Self { repo, normalised }
    }

    /// The repository indexed.
    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    /// Whether lines `start..=end` (1-based) of `path` exist in a scanned file. `path` is
    /// repository-relative; a leading `./` and `\` separators are accepted.
    pub fn check_citation(&self, path: &str, start: usize, end: usize) -> Result<(), CitationError> {
        let path = normalise_path(path);
        let Some(file) = self.repo.file(&path) else {
            return Err(match self.skip_reason(&path) {
                Some(reason) => CitationError::Skipped { path, reason: reason.clone() },
                None => CitationError::NoSuchFile { similar: self.similar(&path), path },
            });
        };
        if start == 0 {
            return Err(CitationError::LineZero { path });
        }
        if start > end {
            return Err(CitationError::Inverted { path, start, end });
        }
        if end > file.line_count {
            return Err(CitationError::PastEnd { path, start, end, line_count: file.line_count });
        }
        Ok(())
    }

    /// Where the quoted code is in the repository (see the module docs for the matching rules).
    pub fn find_quote(&self, quote: &str) -> Result<QuoteMatch, QuoteError> {
        let wanted: Vec<String> = quote.lines().map(normalise_line).filter(|l| !l.is_empty()).collect();
        let chars = wanted.iter().map(|l| l.chars().filter(|c| !c.is_whitespace()).count()).sum();
        if chars < MIN_QUOTE_CHARS {
            return Err(QuoteError::TooShort { chars, min: MIN_QUOTE_CHARS });
        }
        self.repo
            .files
            .iter()
            .zip(&self.normalised)
            .find_map(|(file, lines)| {
                find_lines(lines, &wanted).map(|(start_line, end_line)| QuoteMatch { path: file.path.clone(), start_line, end_line })
            })
            .ok_or(QuoteError::NotFound)
    }

    /// The chunks of `path` that share at least one line with `start..=end` (either order),
    /// in chunk order; none for a file that was not scanned.
    pub fn overlapping(&self, path: &str, start: usize, end: usize) -> Vec<&Chunk> {
        let (low, high) = (start.min(end), start.max(end));
        self.repo
            .file(&normalise_path(path))
            .map(|f| f.chunks.iter().filter(|c| c.start_line <= high && c.end_line >= low).collect())
            .unwrap_or_default()
    }

    /// Why `path`, or a directory above it, was skipped.
    fn skip_reason(&self, path: &str) -> Option<&SkipReason> {
        let dirs = path.match_indices('/').map(|(i, _)| &path[..=i]);
        std::iter::once(path).chain(dirs).find_map(|p| {
            let i = self.repo.skipped.binary_search_by(|s| s.path.as_str().cmp(p)).ok()?;
            Some(&self.repo.skipped[i].reason)
        })
    }

    /// A scanned file with the same file name as `path`.
    fn similar(&self, path: &str) -> Option<String> {
        let name = path.rsplit('/').next()?;
        self.repo.files.iter().map(|f: &SourceFile| &f.path).find(|p| p.rsplit('/').next() == Some(name)).cloned()
    }
}

/// A cited path in the repository's form: `/` separators, no leading `./`.
fn normalise_path(path: &str) -> String {
    let mut path = path.trim().replace('\\', "/");
    while let Some(rest) = path.strip_prefix("./") {
        path = rest.to_owned();
    }
    path
}

/// A line trimmed, with its runs of whitespace as one space.
fn normalise_line(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn normalised_lines(text: &str) -> Vec<(usize, String)> {
    let table = LineStarts::new(text);
    (1..=table.len()).map(|n| (n, normalise_line(table.line(text, n)))).filter(|(_, l)| !l.is_empty()).collect()
}

/// The first run of `lines` that `wanted` matches: (first line, last line).
fn find_lines(lines: &[(usize, String)], wanted: &[String]) -> Option<(usize, usize)> {
    let (first, rest) = wanted.split_first()?;
    let Some((last, middle)) = rest.split_last() else {
        return lines.iter().find(|(_, l)| l.contains(first.as_str())).map(|(n, _)| (*n, *n));
    };
    lines
        .windows(wanted.len())
        .find(|w| {
            w[0].1.ends_with(first.as_str())
                && w[w.len() - 1].1.starts_with(last.as_str())
                && w[1..w.len() - 1].iter().zip(middle).all(|((_, l), m)| l == m)
        })
        .map(|w| (w[0].0, w[w.len() - 1].0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<(usize, String)> {
        normalised_lines(text)
    }

    #[test]
    fn matching_lines() {
        let file = lines("def f(x):\n\n    if x:\n        return  x + 1\n    return 0\n");
        let want = |q: &str| q.lines().map(normalise_line).filter(|l| !l.is_empty()).collect::<Vec<_>>();
        assert_eq!(find_lines(&file, &want("return x + 1")), Some((4, 4)));
        assert_eq!(find_lines(&file, &want("f(x):\nif x:\n  return x + 1")), Some((1, 4)), "partial first line, blank skipped");
        assert_eq!(find_lines(&file, &want("if x:\nreturn x")), Some((3, 4)), "partial last line");
        assert_eq!(find_lines(&file, &want("if x:\nreturn 0")), None, "lines must be consecutive");
        assert_eq!(find_lines(&file, &want("def f(x):\nif y:\nreturn 0")), None);
    }

    #[test]
    fn paths() {
        assert_eq!(normalise_path("././pkg\\a.py"), "pkg/a.py");
        assert_eq!(normalise_path(" pkg/a.py "), "pkg/a.py");
    }
}
