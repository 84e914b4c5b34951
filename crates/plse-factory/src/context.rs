//! What a prompt shows of the repository: for a question, the chunk in question and the code
//! around it in its file; for a design, the file tree and representative code. Both stay within
//! a size budget, and both are pure functions of the scanned repository and the seed.
//!
//! The code a prompt shows is a list of [`Shown`] blocks. They never overlap, are kept in file
//! order, and are what citations are checked against ([`Shown::covers`]) and what a training
//! row's user turn repeats, so that a row never refers to code its prompt does not contain.

use serde::Serialize;

use crate::repo::{Chunk, ChunkKind, Language, Repo};
use crate::schedule::rank;

/// A stretch of a file a prompt shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shown {
    /// The file, repository-relative.
    pub path: String,
    /// Its language.
    pub language: Language,
    /// The chunk's kind.
    pub kind: ChunkKind,
    /// The chunk's qualified name.
    pub name: String,
    /// First line, 1-based.
    pub start_line: usize,
    /// Last line, inclusive.
    pub end_line: usize,
    /// The lines, joined by `\n`.
    pub text: String,
    /// Whether this is the chunk the prompt is about.
    pub focus: bool,
    /// Whether this is the header of a definition around that chunk (a method's class line,
    /// decorators, docstring and attributes).
    pub enclosing: bool,
}

impl Shown {
    /// The block of `chunk`.
    pub fn of(chunk: &Chunk, focus: bool) -> Self {
        Shown {
            path: chunk.path.clone(),
            language: chunk.language,
            kind: chunk.kind,
            name: chunk.name.clone(),
            start_line: chunk.start_line,
            end_line: chunk.end_line,
            text: chunk.text.clone(),
            focus,
            enclosing: false,
        }
    }

    /// The text with each line prefixed by its number and `|`, numbers right-aligned:
    /// `  36 | class Circle(Shape):`.
    pub fn numbered(&self) -> String {
        let width = self.end_line.to_string().len();
        self.text
            .split('\n')
            .enumerate()
            .map(|(i, line)| format!("{:>width$} | {line}", self.start_line + i))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The Markdown fence around the text: opening (with the language tag) and closing, longer
    /// than any run of backticks in the text.
    pub fn fence(&self) -> (String, String) {
        let fence = fence_for(&self.text);
        (format!("{fence}{}", self.language.name()), fence)
    }

    /// The text as a fenced Markdown block (no line numbers).
    pub fn fenced(&self) -> String {
        let (open, close) = self.fence();
        format!("{open}\n{}\n{close}", self.text)
    }

    /// Whether lines `start..=end` of `path` lie inside this block.
    pub fn covers(&self, path: &str, start: usize, end: usize) -> bool {
        self.path == path && self.start_line <= start && end <= self.end_line
    }

    /// Whether the block shares a line with `other` (same file).
    fn overlaps(&self, path: &str, start: usize, end: usize) -> bool {
        self.path == path && self.start_line <= end && start <= self.end_line
    }
}

/// A backtick fence longer than any run of backticks in `text` (at least three).
pub fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// The repository as a prompt names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoSummary {
    /// The root directory's name.
    pub name: String,
    /// Files scanned.
    pub files: usize,
}

impl RepoSummary {
    /// The summary of `repo`.
    pub fn of(repo: &Repo) -> Self {
        let name = repo.root.file_name().map(|n| n.to_string_lossy().into_owned()).filter(|n| !n.is_empty());
        let name = name.or_else(|| {
            // `.` or `..`: the name of the directory it stands for is not knowable without the
            // file system; the scanned paths do not tell it either.
            repo.root.components().next_back().map(|c| c.as_os_str().to_string_lossy().into_owned())
        });
        RepoSummary { name: name.unwrap_or_else(|| "repository".to_owned()), files: repo.files.len() }
    }
}

/// What a question prompt shows: the chunk in question and code around it from its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QaContext {
    /// The repository.
    pub repo: RepoSummary,
    /// The chunk in question.
    pub focus: Shown,
    /// The definition around the chunk (`class Circle(Shape)`), if it is nested in one.
    pub enclosing: Option<String>,
    /// Every block shown, the focus among them, in file order; none overlap.
    pub blocks: Vec<Shown>,
}

impl QaContext {
    /// The blocks a citation of `path:start-end` lies in.
    pub fn covering(&self, path: &str, start: usize, end: usize) -> Option<&Shown> {
        self.blocks.iter().find(|b| b.covers(path, start, end))
    }
}

/// The context of a question about `focus`, within `budget_chars` of shown text (the focus is
/// always shown, whatever its size): the chunk; the header of each definition around it (a
/// method's class line, decorators, docstring and attributes, up to its first nested chunk);
/// then the chunks beside it in the same definition, nearest first; then the file's top-level
/// chunks, nearest first. No block overlaps another.
pub fn qa_context(repo: &Repo, focus: &Chunk, budget_chars: usize) -> QaContext {
    let mut blocks = vec![Shown::of(focus, true)];
    let mut used = focus.text.len();
    let file = repo.file(&focus.path);
    let siblings: &[Chunk] = file.map_or(&[], |f| f.chunks.as_slice());
    let span = |c: &Chunk| (c.start_line, c.end_line);
    let contains = |outer: &Chunk, inner: (usize, usize)| outer.start_line <= inner.0 && inner.1 <= outer.end_line && span(outer) != inner;
    let parent = |c: &Chunk| siblings.iter().filter(|p| contains(p, span(c))).min_by_key(|p| p.end_line - p.start_line);
    let mut ancestors: Vec<&Chunk> = siblings.iter().filter(|p| contains(p, span(focus))).collect();
    ancestors.sort_by_key(|p| std::cmp::Reverse(p.end_line - p.start_line));
    let enclosing = ancestors.last().map(|c| c.signature.clone().unwrap_or_else(|| format!("{} {}", c.kind, c.name)));
    let lines: Vec<&str> = file.map_or_else(Vec::new, |f| f.text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect());
    for a in &ancestors {
        let first_child = siblings.iter().filter(|c| contains(a, span(c))).map(|c| c.start_line).min().unwrap_or(a.end_line + 1);
        let mut end = first_child.saturating_sub(1).min(a.end_line);
        while end > a.start_line && lines.get(end - 1).is_some_and(|l| l.trim().is_empty()) {
            end -= 1;
        }
        if end < a.start_line || lines.len() < end {
            continue;
        }
        let text = lines[a.start_line - 1..end].join("\n");
        if used + text.len() > budget_chars || blocks.iter().any(|b| b.overlaps(&a.path, a.start_line, end)) {
            continue;
        }
        used += text.len();
        blocks.push(Shown { start_line: a.start_line, end_line: end, text, enclosing: true, ..Shown::of(a, false) });
    }
    let distance =
        |c: &Chunk| if c.end_line < focus.start_line { focus.start_line - c.end_line } else { c.start_line.saturating_sub(focus.end_line) };
    let focus_parent = parent(focus).map(span);
    let beside = |c: &&Chunk| c.end_line < focus.start_line || c.start_line > focus.end_line;
    let mut same: Vec<&Chunk> =
        siblings.iter().filter(beside).filter(|c| focus_parent.is_some() && parent(c).map(span) == focus_parent).collect();
    let mut top: Vec<&Chunk> = siblings.iter().filter(beside).filter(|c| parent(c).is_none()).collect();
    same.sort_by_key(|c| (distance(c), c.start_line));
    top.sort_by_key(|c| (distance(c), c.start_line));
    for c in same.into_iter().chain(top) {
        if used + c.text.len() > budget_chars || blocks.iter().any(|b| b.overlaps(&c.path, c.start_line, c.end_line)) {
            continue;
        }
        used += c.text.len();
        blocks.push(Shown::of(c, false));
    }
    blocks.sort_by_key(|b| b.start_line);
    QaContext { repo: RepoSummary::of(repo), focus: Shown::of(focus, true), enclosing, blocks }
}

/// What a design prompt shows: the file tree and representative code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesignContext {
    /// The repository.
    pub repo: RepoSummary,
    /// The file tree with each file's top-level definitions ([`tree_within`] the budget).
    pub tree: String,
    /// The file the requirement should touch.
    pub focus: String,
    /// Representative code: the focus file's top-level chunks first, then top-level definitions
    /// of other files drawn from the seed; in path and line order; none overlap.
    pub samples: Vec<Shown>,
}

/// The most lines of [`tree`] a design prompt shows.
pub const TREE_MAX_LINES: usize = 200;
/// The most top-level names the tree lists per file.
const TREE_MAX_NAMES: usize = 8;
/// The most code samples a design prompt shows.
pub const MAX_SAMPLES: usize = 8;

/// The files of `repo`, one a line with their line count and top-level definitions, at most
/// `max_lines` lines (then how many more there are).
pub fn tree(repo: &Repo, max_lines: usize) -> String {
    tree_within(repo, max_lines, usize::MAX)
}

/// [`tree`] within `max_chars` characters too (the line saying how many files are left out
/// aside).
pub fn tree_within(repo: &Repo, max_lines: usize, max_chars: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut used = 0;
    for f in repo.files.iter().take(max_lines) {
        let names: Vec<&str> = f.chunks.iter().filter(|c| is_top_level_definition(c)).map(|c| c.name.as_str()).collect();
        let mut line = format!("{} ({} lines)", f.path, f.line_count);
        if !names.is_empty() {
            let shown: Vec<&str> = names.iter().take(TREE_MAX_NAMES).copied().collect();
            line.push_str(": ");
            line.push_str(&shown.join(", "));
            if names.len() > TREE_MAX_NAMES {
                line.push_str(&format!(", … ({} more)", names.len() - TREE_MAX_NAMES));
            }
        }
        if used + line.len() + 1 > max_chars {
            break;
        }
        used += line.len() + 1;
        lines.push(line);
    }
    if repo.files.len() > lines.len() {
        lines.push(format!("… and {} more files", repo.files.len() - lines.len()));
    }
    lines.join("\n")
}

fn is_top_level_definition(c: &Chunk) -> bool {
    matches!(c.kind, ChunkKind::Function | ChunkKind::Class)
        && !c.name.contains('.')
        && !c.name.contains("::")
        && !c.name.contains(" (part")
}

/// The context of design `exchange` about `focus` (a file path), within `budget_chars`: the
/// tree (at most half the budget), then the focus file's top-level chunks (code between
/// definitions too) in order, then top-level definitions of other files ranked by (seed,
/// exchange), while the samples stay within the rest of the budget and [`MAX_SAMPLES`].
pub fn design_context(repo: &Repo, focus: &str, seed: u64, exchange: u64, budget_chars: usize) -> DesignContext {
    let tree = tree_within(repo, TREE_MAX_LINES, budget_chars / 2);
    let budget_chars = budget_chars.saturating_sub(tree.len());
    let mut samples: Vec<Shown> = Vec::new();
    let mut used = 0;
    let mut take = |c: &Chunk, samples: &mut Vec<Shown>| {
        if samples.len() >= MAX_SAMPLES || used + c.text.len() > budget_chars {
            return;
        }
        if samples.iter().any(|s| s.overlaps(&c.path, c.start_line, c.end_line)) {
            return;
        }
        used += c.text.len();
        samples.push(Shown::of(c, c.path == focus));
    };
    if let Some(f) = repo.file(focus) {
        // The focus file's top-level code (imports, constants) and definitions, in order.
        let nested = |c: &Chunk| {
            f.chunks.iter().any(|p| {
                p.start_line <= c.start_line && c.end_line <= p.end_line && (p.start_line, p.end_line) != (c.start_line, c.end_line)
            })
        };
        for c in f.chunks.iter().filter(|c| !nested(c)) {
            take(c, &mut samples);
        }
    }
    let scope = format!("design-samples/{exchange}");
    let mut others: Vec<&Chunk> = repo.chunks().filter(|c| c.path != focus && is_top_level_definition(c)).collect();
    others.sort_by_cached_key(|c| rank(seed, &scope, &c.location()));
    for c in others {
        take(c, &mut samples);
    }
    samples.sort_by(|a, b| (a.path.as_str(), a.start_line).cmp(&(b.path.as_str(), b.start_line)));
    DesignContext { repo: RepoSummary::of(repo), tree, focus: focus.to_owned(), samples }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str, start: usize) -> Shown {
        Shown {
            path: "a.py".into(),
            language: Language::Python,
            kind: ChunkKind::Function,
            name: "f".into(),
            start_line: start,
            end_line: start + text.split('\n').count() - 1,
            text: text.into(),
            focus: true,
            enclosing: false,
        }
    }

    #[test]
    fn numbered_lines_align() {
        let s = shown("def f():\n    return 1", 9);
        assert_eq!(s.numbered(), " 9 | def f():\n10 |     return 1");
        assert!(s.covers("a.py", 9, 10) && !s.covers("a.py", 9, 11) && !s.covers("b.py", 9, 9));
    }

    #[test]
    fn fences_outgrow_the_text() {
        assert_eq!(fence_for("x = 1"), "```");
        assert_eq!(fence_for("s = '````'"), "`````");
        assert_eq!(shown("x", 1).fence(), ("```python".to_owned(), "```".to_owned()));
    }
}
