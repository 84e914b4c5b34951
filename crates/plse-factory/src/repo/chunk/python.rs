//! Python from a tree-sitter syntax tree.
//!
//! Spans: every `def` and `class` at the top level, in a class body or in a function body
//! (decorators included; methods named `Class.method`, nested definitions `outer.inner`, down
//! to [`ChunkOptions::max_depth`]), and the top-level code between them (named after the
//! module, `pkg/shapes.py` → `pkg.shapes`). Statements of a `module` or a `block` are where a
//! span may be cut, the shallower the better. tree-sitter recovers from syntax errors: the
//! tree still has the definitions it could read, and its `ERROR`/`MISSING` nodes become
//! [`SyntaxIssue`]s.

use tree_sitter::{Node, Parser, Tree};

use super::{Boundary, ChunkKind, ChunkOptions, MAX_DEPTH_CEILING, Span, SyntaxIssue, one_line, sorted};
use crate::repo::language::Language;
use crate::repo::lines::LineStarts;

/// The most syntax errors recorded per file.
const MAX_ISSUES: usize = 20;
/// The most times a file is parsed again after an error that swallowed the rest of it.
const MAX_RESYNCS: usize = 20;

/// What the Python chunker found in a file.
pub(crate) struct Found {
    pub(crate) spans: Vec<Span>,
    pub(crate) boundaries: Vec<Boundary>,
    pub(crate) issues: Vec<SyntaxIssue>,
}

/// The spans, cut points and syntax errors of a Python file.
///
/// A syntax error can make tree-sitter read much of the file as one top-level `ERROR` node (an
/// unclosed bracket: the rest of the file). The definitions it still recognised inside are
/// read; and when the node has a line that starts a top-level definition it did not recognise
/// (`def`, `class`, `async def` or a decorator at column 0, after the node's first line), the
/// error stops there and the file is parsed again from that line (at most [`MAX_RESYNCS`]
/// times), so one slip does not hide the definitions after it.
pub(crate) fn spans(path: &str, text: &str, lines: &[&str], options: &ChunkOptions) -> Found {
    let table = LineStarts::new(text);
    let mut chunker = Chunker::new(text, lines, module_name(path), options.max_depth.min(MAX_DEPTH_CEILING));
    let mut from_line = 1;
    for _ in 0..=MAX_RESYNCS {
        let offset = table.offset(from_line).unwrap_or(text.len());
        let Some(tree) = parse(text.get(offset..).unwrap_or("")) else {
            if from_line == 1 {
                let (spans, boundaries) = super::text::spans(path, Language::Python, lines);
                let issue = SyntaxIssue { line: 1, column: 1, message: "the Python parser gave up; chunked as plain text".into() };
                return Found { spans, boundaries, issues: vec![issue] };
            }
            break;
        };
        match chunker.tree(tree.root_node(), Base { byte: offset, line: from_line - 1 }) {
            Some(next) => from_line = next,
            None => break,
        }
    }
    chunker.finish()
}

fn parse(text: &str) -> Option<Tree> {
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_python::LANGUAGE.into()).ok()?;
    parser.parse(text, None)
}

/// The dotted module of a path: `pkg/shapes.py` → `pkg.shapes`, `pkg/__init__.py` → `pkg`.
fn module_name(path: &str) -> String {
    let stem = path.rsplit_once('.').map_or(path, |(stem, _)| stem);
    let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
    stem.replace('/', ".")
}

/// Where a tree's text starts in the file: its nodes' bytes and rows are relative to this.
#[derive(Debug, Clone, Copy)]
struct Base {
    byte: usize,
    /// Lines of the file before the tree's first line.
    line: usize,
}

impl Base {
    /// A node's first and last line in the file (1-based); a node that ends at the start of a
    /// line ends on the line before.
    fn lines(self, node: Node<'_>) -> (usize, usize) {
        let (start, end) = (node.start_position(), node.end_position());
        let last = if end.column == 0 && end.row > start.row { end.row } else { end.row + 1 };
        (self.line + start.row + 1, self.line + last.max(start.row + 1))
    }
}

/// What a definition is defined in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Module,
    Class,
    Function,
}

struct Chunker<'s> {
    src: &'s str,
    lines: &'s [&'s str],
    module: String,
    max_depth: usize,
    spans: Vec<Span>,
    boundaries: Vec<Boundary>,
    issues: Vec<SyntaxIssue>,
    /// The top-level code not yet in a module span starts here.
    gap_start: usize,
    /// The module docstring and its line.
    docstring: Option<(usize, String)>,
    /// The base of the tree being read.
    base: Base,
}

impl<'s> Chunker<'s> {
    fn new(src: &'s str, lines: &'s [&'s str], module: String, max_depth: usize) -> Self {
        let base = Base { byte: 0, line: 0 };
        Self {
            src,
            lines,
            module,
            max_depth,
            spans: Vec::new(),
            boundaries: Vec::new(),
            issues: Vec::new(),
            gap_start: 1,
            docstring: None,
            base,
        }
    }

    fn text(&self, node: Node<'_>) -> &'s str {
        self.src.get(self.base.byte + node.start_byte()..self.base.byte + node.end_byte()).unwrap_or("")
    }

    /// The top-level items of one tree: definitions become spans, the code between them waits
    /// for [`finish`](Self::finish). Returns the line to parse again from, if a top-level error
    /// swallowed a definition.
    fn tree(&mut self, root: Node<'_>, base: Base) -> Option<usize> {
        self.base = base;
        let mut cursor = root.walk();
        let items: Vec<Node<'_>> = root.named_children(&mut cursor).collect();
        if base.line == 0 {
            let first = items.iter().find(|n| n.kind() != "comment");
            self.docstring = first.and_then(|n| self.docstring(*n).map(|d| (base.lines(*n).0, d)));
        }
        let mut resync = None;
        for item in items {
            if item.is_error() {
                resync = self.error_item(item);
                if resync.is_some() {
                    break;
                }
            } else {
                self.top_level(item);
            }
        }
        let (boundaries, issues) = walk(root, base, self.lines);
        let before = |line: usize| resync.is_none_or(|r| line < r);
        self.boundaries.extend(boundaries.into_iter().filter(|b| before(b.line)));
        self.boundaries.extend(resync.map(|r| Boundary { line: r - 1, depth: 0 }));
        let room = MAX_ISSUES.saturating_sub(self.issues.len());
        self.issues.extend(issues.into_iter().filter(|i| before(i.line)).take(room));
        resync
    }

    /// A top-level statement: a definition gets its spans, other code waits in the gap.
    fn top_level(&mut self, item: Node<'_>) {
        let Some(def) = self.definition(item) else { return };
        let (start, end) = self.base.lines(item);
        self.end_gap(start);
        self.define(item, def, "", Container::Module, 0);
        self.gap_start = self.gap_start.max(end + 1);
    }

    /// A top-level `ERROR` node: the definitions the parser still recognised in it are read;
    /// the first line after its start that begins a definition it did not recognise is
    /// returned, to parse again from.
    fn error_item(&mut self, error: Node<'_>) -> Option<usize> {
        let mut cursor = error.walk();
        let children: Vec<Node<'_>> = error.named_children(&mut cursor).filter(|c| self.definition(*c).is_some()).collect();
        let ranges: Vec<(usize, usize)> = children.iter().map(|c| self.base.lines(*c)).collect();
        let (start, end) = self.base.lines(error);
        let recognised = |n: usize| ranges.iter().any(|(s, e)| (*s..=*e).contains(&n));
        let resync = (start + 1..=end).find(|&n| !recognised(n) && starts_definition(self.lines.get(n - 1).copied().unwrap_or("")));
        for (child, (child_start, _)) in children.into_iter().zip(ranges) {
            if resync.is_none_or(|r| child_start < r) {
                self.top_level(child);
            }
        }
        resync
    }

    /// The top-level code before line `next` (if any) as a module span.
    fn end_gap(&mut self, next: usize) {
        let (start, end) = (self.gap_start, next.saturating_sub(1));
        if start <= end {
            let mut span = Span::new(ChunkKind::Module, self.module.clone(), start, end);
            span.docstring = self.docstring.as_ref().filter(|(line, _)| (start..=end).contains(line)).map(|(_, d)| d.clone());
            self.spans.push(span);
        }
    }

    fn finish(mut self) -> Found {
        self.end_gap(self.lines.len() + 1);
        Found { spans: self.spans, boundaries: sorted(self.boundaries), issues: self.issues }
    }

    /// The `def` or `class` a statement is (itself, or under its decorators), if it has a name.
    fn definition<'t>(&self, node: Node<'t>) -> Option<Node<'t>> {
        let def = match node.kind() {
            "function_definition" | "class_definition" => node,
            "decorated_definition" => node.child_by_field_name("definition")?,
            _ => return None,
        };
        let named = def.child_by_field_name("name").is_some_and(|n| !self.text(n).is_empty());
        (named && matches!(def.kind(), "function_definition" | "class_definition")).then_some(def)
    }

    /// A definition's span (`outer` includes the decorators), then the definitions in its body.
    fn define(&mut self, outer: Node<'_>, def: Node<'_>, prefix: &str, container: Container, depth: usize) {
        let name = def.child_by_field_name("name").map_or("", |n| self.text(n));
        let qualified = if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
        let is_class = def.kind() == "class_definition";
        let kind = match (is_class, container) {
            (true, _) => ChunkKind::Class,
            (false, Container::Class) => ChunkKind::Method,
            (false, _) => ChunkKind::Function,
        };
        let (start, end) = self.base.lines(outer);
        let body = def.child_by_field_name("body");
        let mut span = Span::new(kind, qualified.clone(), start, end);
        span.signature = Some(self.signature(def, body));
        span.docstring = body.and_then(first_statement).and_then(|s| self.docstring(s));
        self.spans.push(span);
        let Some(body) = body.filter(|_| depth < self.max_depth) else { return };
        let container = if is_class { Container::Class } else { Container::Function };
        let mut cursor = body.walk();
        let children: Vec<Node<'_>> = body.named_children(&mut cursor).collect();
        for child in children {
            if let Some(inner) = self.definition(child) {
                self.define(child, inner, &qualified, container, depth + 1);
            }
        }
    }

    /// `def name(params) -> type` / `class Name(bases)`: the definition up to the colon of its
    /// body, on one line, without comment lines.
    fn signature(&self, def: Node<'_>, body: Option<Node<'_>>) -> String {
        let mut cursor = def.walk();
        let colon = def.children(&mut cursor).filter(|c| c.kind() == ":").last();
        let end = colon.or(body).map_or(def.end_byte(), |n| n.start_byte());
        let raw = self.src.get(self.base.byte + def.start_byte()..self.base.byte + end).unwrap_or("");
        one_line(&raw.lines().filter(|l| !l.trim_start().starts_with('#')).collect::<Vec<_>>().join("\n"))
    }

    /// The docstring a statement is: a lone plain string literal, cleaned like `inspect.cleandoc`.
    fn docstring(&self, statement: Node<'_>) -> Option<String> {
        if statement.kind() != "expression_statement" || statement.named_child_count() != 1 {
            return None;
        }
        let string = statement.named_child(0).filter(|s| s.kind() == "string")?;
        let open = string.child(0).filter(|n| n.kind() == "string_start")?;
        let close = string.child(string.child_count().checked_sub(1)?).filter(|n| n.kind() == "string_end")?;
        if self.text(open).contains(['f', 'F', 'b', 'B']) {
            return None;
        }
        let doc = cleandoc(self.src.get(self.base.byte + open.end_byte()..self.base.byte + close.start_byte())?);
        (!doc.is_empty()).then_some(doc)
    }
}

/// The first statement of a block, past comments.
fn first_statement(block: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = block.walk();
    block.named_children(&mut cursor).find(|n| n.kind() != "comment")
}

/// Whether a line starts a top-level definition.
fn starts_definition(line: &str) -> bool {
    ["def ", "class ", "async def ", "@"].iter().any(|p| line.starts_with(p))
}

/// Every statement's last line as a cut point (depth: how many blocks it is in), and the
/// syntax errors, in one iterative walk (no recursion, so no nesting depth overflows the stack).
fn walk(root: Node<'_>, base: Base, lines: &[&str]) -> (Vec<Boundary>, Vec<SyntaxIssue>) {
    let mut boundaries = Vec::new();
    let mut issues = Vec::new();
    let mut cursor = root.walk();
    let mut ancestors: Vec<(&str, bool)> = Vec::new();
    let (mut blocks, mut errors) = (0usize, 0usize);
    loop {
        let node = cursor.node();
        if node.is_named() && matches!(ancestors.last(), Some(("block" | "module", _))) {
            boundaries.push(Boundary { line: base.lines(node).1, depth: blocks });
        }
        if errors == 0 && (node.is_error() || node.is_missing()) && issues.len() < MAX_ISSUES {
            issues.push(issue(node, base, lines));
        }
        if cursor.goto_first_child() {
            blocks += usize::from(node.kind() == "block");
            errors += usize::from(node.is_error());
            ancestors.push((node.kind(), node.is_error()));
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return (boundaries, issues);
            }
            if let Some((kind, error)) = ancestors.pop() {
                blocks -= usize::from(kind == "block");
                errors -= usize::from(error);
            }
        }
    }
}

/// A syntax error at an `ERROR` or `MISSING` node.
fn issue(node: Node<'_>, base: Base, lines: &[&str]) -> SyntaxIssue {
    let at = node.start_position();
    let line = base.line + at.row + 1;
    let line_text = lines.get(line - 1).copied().unwrap_or("");
    let column = line_text.get(..at.column).map_or(at.column, |before| before.chars().count()) + 1;
    let message = if node.is_missing() {
        format!("missing `{}`", node.kind())
    } else {
        let rest = line_text.get(at.column..).unwrap_or("").trim();
        let snippet: String = rest.chars().take(30).collect();
        if snippet.is_empty() { "syntax error".to_owned() } else { format!("syntax error at `{snippet}`") }
    };
    SyntaxIssue { line, column, message }
}

/// A docstring's text as `inspect.cleandoc` leaves it: the first line without its leading
/// whitespace, the others without their common indentation, no blank lines at either end.
fn cleandoc(raw: &str) -> String {
    let lines: Vec<&str> = raw.lines().collect();
    let indent = lines.iter().skip(1).filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    let cleaned: Vec<&str> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { l.trim() } else { l.get(indent..).unwrap_or_else(|| l.trim_start()).trim_end() })
        .collect();
    let first = cleaned.iter().position(|l| !l.is_empty()).unwrap_or(cleaned.len());
    let last = cleaned.iter().rposition(|l| !l.is_empty()).map_or(first, |i| i + 1);
    cleaned[first..last.max(first)].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        assert_eq!(module_name("pkg/shapes.py"), "pkg.shapes");
        assert_eq!(module_name("pkg/__init__.py"), "pkg");
        assert_eq!(module_name("setup.py"), "setup");
        assert_eq!(module_name("bin/tool"), "bin.tool");
    }

    #[test]
    fn cleandoc_like_inspect() {
        assert_eq!(cleandoc("Area.\n\n        Returns it.\n        "), "Area.\n\nReturns it.");
        assert_eq!(cleandoc("\n    Indented.\n      More.\n    "), "Indented.\n  More.");
        assert_eq!(cleandoc("   "), "");
    }
}
