//! Chunks: the pieces of a file that questions are asked about, cut along its syntax.
//!
//! Each language's chunker (`python.rs`, `brace.rs`, `text.rs`) finds *spans*: a definition or
//! a block of top-level code with its line range and the lines after which it may be cut. This
//! module turns spans into [`Chunk`]s: a span longer than its cap is cut into parts
//! (`name (part 2/3)`) at those lines, parts lose their blank edge lines, and the text and its
//! hash are taken from the file.
//!
//! Chunks of one file may nest (a method lies inside its class's chunk, a nested function inside
//! its function's), but top-level chunks never overlap, and together they cover every non-blank
//! line.

mod brace;
mod python;
mod text;

use std::cmp::Reverse;
use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::language::{Family, Language};
use super::lines::{self, LineStarts};

/// How chunks are cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkOptions {
    /// The most lines a code chunk has; a longer definition or block is cut into parts at
    /// statement boundaries (mid-statement only when one statement alone is longer). At least 1.
    pub max_lines: usize,
    /// The most lines a chunk of a text file (Markdown, YAML, ...) has. At least 1.
    pub text_max_lines: usize,
    /// How deeply definitions nest before inner ones stop getting chunks of their own (they stay
    /// inside their parent's chunk); 0 chunks top-level definitions only. At most
    /// [`MAX_DEPTH_CEILING`], whatever is asked, so that no nesting exhausts the stack.
    pub max_depth: usize,
}

/// The deepest nesting [`ChunkOptions::max_depth`] may ask for.
pub const MAX_DEPTH_CEILING: usize = 64;

impl ChunkOptions {
    /// The line cap of a file in `language`: `text_max_lines` for text files, else `max_lines`.
    pub fn cap_for(&self, language: Language) -> usize {
        if language.family() == Family::Text { self.text_max_lines } else { self.max_lines }
    }
}

impl Default for ChunkOptions {
    fn default() -> Self {
        Self { max_lines: 120, text_max_lines: 60, max_depth: 8 }
    }
}

/// What a chunk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChunkKind {
    /// Top-level code between definitions (imports, constants, a module docstring, a script's
    /// main block), or a Rust `mod`/C++ `namespace` block.
    Module,
    /// A function, not in a class (nested functions too: `outer.inner`).
    Function,
    /// A class, struct, enum, trait, interface or `impl` block.
    Class,
    /// A function defined in a class (`Class.method`) or an `impl` (`Type::method`).
    Method,
    /// A top-level brace block that is none of the above (an initialised constant, a macro).
    Block,
    /// A block of a text file (Markdown, YAML, shell, ...).
    Text,
}

impl fmt::Display for ChunkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Module => "module",
            Self::Function => "function",
            Self::Class => "class",
            Self::Method => "method",
            Self::Block => "block",
            Self::Text => "text",
        })
    }
}

/// A piece of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chunk {
    /// The file, repository-relative with `/` separators.
    pub path: String,
    /// The file's language.
    pub language: Language,
    /// What the chunk is.
    pub kind: ChunkKind,
    /// Qualified name (`Class.method`, `outer.inner`, `Type::method`, the module for top-level
    /// code, the section heading for Markdown), with ` (part k/n)` when a span was cut.
    pub name: String,
    /// First line, 1-based.
    pub start_line: usize,
    /// Last line, inclusive.
    pub end_line: usize,
    /// The definition's signature with whitespace collapsed (`def area(self) -> float`), when
    /// the chunker knows it.
    pub signature: Option<String>,
    /// The definition's docstring, cleaned of indentation (first part only).
    pub docstring: Option<String>,
    /// The lines `start_line..=end_line` joined by `\n`.
    pub text: String,
    /// SHA-256 of `text`, lowercase hex.
    pub sha256: String,
}

impl Chunk {
    /// The chunk's location as a citation: `path:start-end`.
    pub fn location(&self) -> String {
        format!("{}:{}-{}", self.path, self.start_line, self.end_line)
    }
}

/// A syntax error the parser recovered from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyntaxIssue {
    /// Line, 1-based.
    pub line: usize,
    /// Column in characters, 1-based.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// The chunks of a file and the syntax errors found on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunked {
    /// Ordered by start line, then longest first, then name.
    pub chunks: Vec<Chunk>,
    /// The first 20 of a file, in file order (only Python is parsed).
    pub syntax_errors: Vec<SyntaxIssue>,
}

/// A stretch of a file found by a language chunker, before it is cut to size.
#[derive(Debug, Clone)]
pub(crate) struct Span {
    pub(crate) kind: ChunkKind,
    pub(crate) name: String,
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) signature: Option<String>,
    pub(crate) docstring: Option<String>,
}

impl Span {
    pub(crate) fn new(kind: ChunkKind, name: impl Into<String>, start: usize, end: usize) -> Self {
        Self { kind, name: name.into(), start, end, signature: None, docstring: None }
    }
}

/// A line after which a span may be cut; a lower depth is a better place (a statement of the
/// span's own body rather than one nested inside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Boundary {
    pub(crate) line: usize,
    pub(crate) depth: usize,
}

/// The chunks of one file's text. Pure: no I/O, and the same input gives the same chunks.
pub fn chunk_source(path: &str, language: Language, text: &str, options: &ChunkOptions) -> Chunked {
    let table = LineStarts::new(text);
    let lines = table.all(text);
    let (spans, boundaries, syntax_errors) = match language.family() {
        Family::Python => {
            let found = python::spans(path, text, &lines, options);
            (found.spans, found.boundaries, found.issues)
        }
        Family::Braces => {
            let (spans, boundaries) = brace::spans(path, language, &lines, options);
            (spans, boundaries, Vec::new())
        }
        Family::Text => {
            let (spans, boundaries) = text::spans(path, language, &lines);
            (spans, boundaries, Vec::new())
        }
    };
    let cap = options.cap_for(language);
    let mut chunks: Vec<Chunk> = spans.into_iter().flat_map(|span| cut(path, language, &lines, span, &boundaries, cap)).collect();
    chunks.sort_by(|a, b| (a.start_line, Reverse(a.end_line), &a.name, a.kind).cmp(&(b.start_line, Reverse(b.end_line), &b.name, b.kind)));
    chunks.dedup_by(|a, b| a.start_line == b.start_line && a.end_line == b.end_line && a.name == b.name && a.kind == b.kind);
    Chunked { chunks, syntax_errors }
}

/// A span as chunks: one, or its parts when it is longer than `cap`.
fn cut(path: &str, language: Language, lines: &[&str], span: Span, boundaries: &[Boundary], cap: usize) -> Vec<Chunk> {
    let end = span.end.min(lines.len());
    let Some((start, end)) = trim_blank(lines, span.start.max(1), end) else {
        return Vec::new();
    };
    let parts: Vec<(usize, usize)> = split(start, end, boundaries, cap).into_iter().filter_map(|(s, e)| trim_blank(lines, s, e)).collect();
    let count = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, (start_line, end_line))| {
            let name = if count > 1 { format!("{} (part {}/{count})", span.name, i + 1) } else { span.name.clone() };
            let text = lines::join(lines, start_line, end_line);
            let sha256 = Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
            Chunk {
                path: path.to_owned(),
                language,
                kind: span.kind,
                name,
                start_line,
                end_line,
                signature: span.signature.clone(),
                docstring: if i == 0 { span.docstring.clone() } else { None },
                text,
                sha256,
            }
        })
        .collect()
}

/// `start..=end` without its blank first and last lines; `None` when every line is blank.
fn trim_blank(lines: &[&str], start: usize, end: usize) -> Option<(usize, usize)> {
    let blank = |n: usize| lines.get(n.wrapping_sub(1)).is_none_or(|l| lines::is_blank(l));
    let first = (start..=end).find(|&n| !blank(n))?;
    let last = (first..=end).rev().find(|&n| !blank(n))?;
    Some((first, last))
}

/// `start..=end` cut into parts of at most `cap` lines. A cut goes after a boundary line: among
/// those that leave the part at least half full, the shallowest, latest one; failing that, the
/// latest that fits; failing that (one statement longer than the cap), exactly at the cap.
pub(crate) fn split(start: usize, end: usize, boundaries: &[Boundary], cap: usize) -> Vec<(usize, usize)> {
    let cap = cap.max(1);
    let mut parts = Vec::new();
    let mut from = start;
    while from <= end {
        let last_allowed = from.saturating_add(cap - 1);
        if end <= last_allowed {
            parts.push((from, end));
            break;
        }
        let half_full = from.saturating_add(cap / 2).saturating_sub(1);
        let first = boundaries.partition_point(|b| b.line < from);
        let fitting = boundaries[first..].iter().take_while(|b| b.line <= last_allowed);
        let preferred = fitting.clone().filter(|b| b.line >= half_full).min_by_key(|b| (b.depth, Reverse(b.line)));
        let cut = preferred.or_else(|| fitting.max_by_key(|b| b.line)).map_or(last_allowed, |b| b.line);
        parts.push((from, cut));
        from = cut + 1;
    }
    parts
}

/// A signature as one line: runs of whitespace as one space, none just inside brackets
/// (`fn f(\n    a: u8,\n)` → `fn f(a: u8,)`).
pub(crate) fn one_line(signature: &str) -> String {
    let collapsed = signature.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.replace("( ", "(").replace(" )", ")").replace("[ ", "[").replace(" ]", "]")
}

/// Sorted, deduplicated boundaries (the order [`split`] needs).
pub(crate) fn sorted(mut boundaries: Vec<Boundary>) -> Vec<Boundary> {
    boundaries.sort();
    boundaries.dedup_by_key(|b| b.line);
    boundaries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(line: usize, depth: usize) -> Boundary {
        Boundary { line, depth }
    }

    #[test]
    fn split_prefers_shallow_boundaries_in_the_upper_half() {
        assert_eq!(split(1, 5, &[], 10), vec![(1, 5)]);
        assert_eq!(split(1, 25, &[], 10), vec![(1, 10), (11, 20), (21, 25)], "no boundary: cut at the cap");
        let bounds = sorted(vec![b(3, 0), b(7, 1), b(8, 2), b(12, 0), b(18, 0)]);
        assert_eq!(split(1, 20, &bounds, 10), vec![(1, 7), (8, 12), (13, 20)]);
        assert_eq!(split(1, 20, &[b(2, 0)], 10), vec![(1, 2), (3, 12), (13, 20)], "a low boundary beats a mid-statement cut");
        assert_eq!(split(5, 5, &[], 0), vec![(5, 5)], "a cap of 0 counts as 1");
        assert_eq!(split(1, 3, &[], usize::MAX), vec![(1, 3)]);
    }

    #[test]
    fn signatures_on_one_line() {
        assert_eq!(one_line("fn add(\n    &mut self,\n    x: u8,\n) -> u8"), "fn add(&mut self, x: u8,) -> u8");
        assert_eq!(one_line("def f(\n\ta,\n\tb\n)"), "def f(a, b)");
    }

    #[test]
    fn sorted_keeps_the_shallowest_boundary_per_line() {
        assert_eq!(sorted(vec![b(4, 2), b(4, 1), b(2, 0)]), vec![b(2, 0), b(4, 1)]);
    }
}
