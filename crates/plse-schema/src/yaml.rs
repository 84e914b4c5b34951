//! A YAML loader that keeps the byte span of every node and refuses hostile input.
//!
//! Built on `yaml-rust2`'s event parser rather than a serde deserializer because every
//! diagnostic needs the position of the offending key or value, and because expanding
//! aliases ourselves lets us bound the work ("billion laughs") and the nesting depth.

use std::collections::HashMap;
use std::ops::Range;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diagnostic::{Code, Diagnostic};
use crate::source::SourceFile;

/// Deepest nesting of mappings and sequences accepted.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a document may hold once aliases are expanded.
pub const MAX_NODES: usize = 100_000;

/// A YAML node with the byte span of its text.
#[derive(Debug, Clone)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Byte range of the node's first token in the source (whole scalar for one-line scalars).
    pub span: Range<usize>,
    /// Node count of this subtree (used to bound alias expansion).
    weight: usize,
}

/// The value of a node.
#[derive(Debug, Clone)]
pub enum Value {
    /// A scalar.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order. Keys are scalars.
    Map(Vec<(Node, Node)>),
}

/// A scalar: its text as written and how YAML resolves it.
#[derive(Debug, Clone)]
pub struct Scalar {
    /// The scalar's text after YAML unescaping/folding.
    pub text: String,
    /// How it resolves (core schema, plain scalars only; quoted and block scalars are strings).
    pub kind: ScalarKind,
    /// How it was written.
    pub style: Style,
    /// Where the scalar's content starts: the byte offset of its first character for plain
    /// and quoted scalars; for block scalars the 1-based line of the first content line and
    /// the content indentation.
    pub origin: Origin,
}

/// Where a scalar's content sits in the file, so offsets inside it (template errors) can be
/// mapped back to `line:col`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Content starts at this byte offset and continues on the same line.
    Inline(usize),
    /// Block scalar: content line `i` is file line `first_line + i`, indented by `indent`.
    Block {
        /// 1-based file line of the first content line.
        first_line: usize,
        /// Indentation (characters) of the content.
        indent: usize,
    },
}

/// Core-schema resolution of a scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScalarKind {
    /// `null`, `~` or empty.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Anything else, and every quoted or block scalar.
    Str,
}

/// How a scalar was written; templates need it to map their offsets back to the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Unquoted.
    Plain,
    /// `'...'` or `"..."`.
    Quoted,
    /// `|` or `>` block; content starts on the next line.
    Block,
}

impl Node {
    /// The scalar, if this is one.
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// A short name of the node's type for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
            Value::Scalar(s) => match s.kind {
                ScalarKind::Null => "null",
                ScalarKind::Bool(_) => "a boolean",
                ScalarKind::Int(_) => "an integer",
                ScalarKind::Float(_) => "a number",
                ScalarKind::Str => "a string",
            },
        }
    }
}

/// Parses one YAML document. Returns the root (if the text parsed) and the problems found.
/// Duplicate keys are reported but do not stop loading; syntax errors and limits do.
pub fn parse(source: &SourceFile) -> (Option<Node>, Vec<Diagnostic>) {
    let mut builder = Builder { source, stack: Vec::new(), anchors: HashMap::new(), nodes: 0, root: None, diags: Vec::new(), documents: 0 };
    let mut parser = Parser::new_from_str(source.text());
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) => break,
            Ok((event, mark)) => {
                if let Err(d) = builder.event(event, mark) {
                    builder.diags.push(*d);
                    return (None, builder.diags);
                }
            }
            Err(e) => {
                let at = offset(source, e.marker());
                let d = Diagnostic::error(Code::YamlSyntax, at..at, format!("invalid YAML: {}", e.info()))
                    .with_label(e.info().to_owned())
                    .with_help("check indentation and quoting around this point; block templates need `|`");
                builder.diags.push(d);
                return (None, builder.diags);
            }
        }
    }
    (builder.root, builder.diags)
}

fn offset(source: &SourceFile, mark: &Marker) -> usize {
    // The marker counts lines from 1 and columns (in characters) from 0.
    source.offset_of(mark.line(), mark.col())
}

enum Frame {
    Seq { items: Vec<Node>, start: usize, anchor: usize, weight: usize },
    Map { entries: Vec<(Node, Node)>, key: Option<Node>, start: usize, anchor: usize, weight: usize },
}

struct Builder<'a> {
    source: &'a SourceFile,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    root: Option<Node>,
    diags: Vec<Diagnostic>,
    documents: usize,
}

impl Builder<'_> {
    fn event(&mut self, event: Event, mark: Marker) -> Result<(), Box<Diagnostic>> {
        let at = offset(self.source, &mark);
        match event {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Box::new(
                        Diagnostic::error(Code::YamlLimit, at..at + 3, "a pattern file holds exactly one YAML document")
                            .with_label("second document starts here")
                            .with_help("put each pattern in its own file"),
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if let Some(tag) = tag {
                    let core = tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!";
                    if !core || !matches!(tag.suffix.as_str(), "str" | "int" | "float" | "bool" | "null") {
                        return Err(Box::new(unsupported_tag(at, &tag.handle, &tag.suffix)));
                    }
                }
                let node = self.scalar(text, style, at)?;
                self.finish(node, anchor)?;
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) if tag.is_some() => {
                let tag = tag.unwrap_or_else(|| unreachable!());
                let _ = anchor;
                return Err(Box::new(unsupported_tag(at, &tag.handle, &tag.suffix)));
            }
            Event::SequenceStart(anchor, _) => {
                self.open(Frame::Seq { items: Vec::new(), start: at, anchor, weight: 1 }, at)?;
            }
            Event::MappingStart(anchor, _) => {
                self.open(Frame::Map { entries: Vec::new(), key: None, start: at, anchor, weight: 1 }, at)?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = self.stack.pop().unwrap_or_else(|| unreachable!("parser balances events"));
                let (node, anchor) = match frame {
                    Frame::Seq { items, start, anchor, weight } => {
                        (Node { value: Value::Seq(items), span: start..self.first_token_end(start), weight }, anchor)
                    }
                    Frame::Map { entries, start, anchor, weight, .. } => {
                        (Node { value: Value::Map(entries), span: start..self.first_token_end(start), weight }, anchor)
                    }
                };
                self.finish(node, anchor)?;
            }
            Event::Alias(id) => {
                let Some(weight) = self.anchors.get(&id).map(|n| n.weight) else {
                    return Err(Box::new(Diagnostic::error(Code::YamlSyntax, at..at + 1, "alias to an unknown anchor")));
                };
                // Charge before cloning, so a bomb is refused before it is built.
                self.count(weight, at)?;
                let mut node = self.anchors[&id].clone();
                node.span = at..self.first_token_end(at);
                self.finish(node, 0)?;
            }
            Event::StreamStart | Event::DocumentEnd | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame, at: usize) -> Result<(), Box<Diagnostic>> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Box::new(
                Diagnostic::error(Code::YamlLimit, at..at + 1, format!("YAML nested deeper than {MAX_DEPTH} levels"))
                    .with_label("too deep")
                    .with_help("patterns never need this much nesting; flatten the structure"),
            ));
        }
        self.count(1, at)?;
        self.stack.push(frame);
        Ok(())
    }

    /// Charges `n` nodes against the document budget; aliases charge their whole subtree.
    fn count(&mut self, n: usize, at: usize) -> Result<(), Box<Diagnostic>> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(Box::new(
                Diagnostic::error(Code::YamlLimit, at..at + 1, format!("YAML expands to more than {MAX_NODES} nodes"))
                    .with_label("expansion limit reached here")
                    .with_help("aliases (`*name`) that repeat anchors multiply the document's size; write the values out"),
            ));
        }
        Ok(())
    }

    fn scalar(&mut self, text: String, style: TScalarStyle, at: usize) -> Result<Node, Box<Diagnostic>> {
        self.count(1, at)?;
        let (style, kind) = match style {
            TScalarStyle::Plain => (Style::Plain, resolve_plain(&text)),
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => (Style::Quoted, ScalarKind::Str),
            TScalarStyle::Literal | TScalarStyle::Folded => (Style::Block, ScalarKind::Str),
        };
        let (span, origin) = match style {
            Style::Plain => {
                let rest = &self.source.text()[at..];
                let end = if rest.starts_with(text.as_str()) { at + text.len() } else { self.first_token_end(at) };
                (at..end, Origin::Inline(at))
            }
            Style::Quoted => (at..self.quoted_end(at), Origin::Inline(at + 1)),
            Style::Block => self.block_origin(at),
        };
        Ok(Node { value: Value::Scalar(Scalar { text, kind, style, origin }), span, weight: 1 })
    }

    /// Attaches a completed node to its parent (or makes it the root) and records its anchor.
    fn finish(&mut self, node: Node, anchor: usize) -> Result<(), Box<Diagnostic>> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, weight, .. }) => {
                *weight = weight.saturating_add(node.weight);
                items.push(node);
            }
            Some(Frame::Map { entries, key, weight, .. }) => {
                *weight = weight.saturating_add(node.weight);
                match key.take() {
                    None => {
                        if node.as_scalar().is_none() {
                            return Err(Box::new(
                                Diagnostic::error(Code::YamlUnsupported, node.span.clone(), "mapping keys must be plain strings")
                                    .with_label("complex key"),
                            ));
                        }
                        *key = Some(node);
                    }
                    Some(k) => {
                        let name = k.as_scalar().map(|s| s.text.as_str()).unwrap_or_default();
                        if let Some((first, _)) = entries.iter().find(|(e, _)| e.as_scalar().is_some_and(|s| s.text == name)) {
                            let (line, col) = self.source.line_col(first.span.start);
                            self.diags.push(
                                Diagnostic::error(Code::DuplicateKey, k.span.clone(), format!("duplicate key `{name}`"))
                                    .with_label("repeated here")
                                    .with_note(format!(
                                        "first defined at {}:{line}:{col}; YAML would silently keep only one",
                                        self.source.name()
                                    )),
                            );
                        }
                        entries.push((k, node));
                    }
                }
            }
        }
        Ok(())
    }

    /// End of the token starting at `at`: up to the end of the line, trailing spaces trimmed.
    fn first_token_end(&self, at: usize) -> usize {
        let (line, _) = self.source.line_col(at);
        let end = self.source.line_end(line).max(at);
        at + self.source.text()[at..end].trim_end().len()
    }

    /// For a block scalar the parser's marker sits on its content; walk back to the `|`/`>`
    /// indicator (the span shown to users) and note where content lines start.
    fn block_origin(&self, at: usize) -> (Range<usize>, Origin) {
        let text = self.source.text();
        let indicator = text[..at].rfind(['|', '>']).unwrap_or(at);
        let (ind_line, _) = self.source.line_col(indicator);
        let (_, col) = self.source.line_col(at);
        (indicator..indicator + 1, Origin::Block { first_line: ind_line + 1, indent: col - 1 })
    }

    /// End of a quoted scalar starting at `at` (on its first line).
    fn quoted_end(&self, at: usize) -> usize {
        let text = self.source.text();
        let Some(quote) = text[at..].chars().next() else { return at };
        let line_end = self.source.line_end(self.source.line_col(at).0);
        let bytes = text.as_bytes();
        let mut i = at + 1;
        while i < line_end {
            if quote == '"' && bytes[i] == b'\\' {
                i += 2;
                continue;
            }
            if bytes[i] == quote as u8 {
                if quote == '\'' && bytes.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i += 1;
        }
        line_end.max(at)
    }
}

fn unsupported_tag(at: usize, handle: &str, suffix: &str) -> Diagnostic {
    Diagnostic::error(Code::YamlUnsupported, at..at + 1, format!("YAML tag `{handle}{suffix}` is not supported"))
        .with_label("tag")
        .with_help("remove the tag; pattern files use plain strings, numbers, booleans, lists and mappings")
}

/// YAML 1.2 core schema resolution for plain scalars (what PyYAML users expect, minus
/// YAML 1.1's `yes`/`no`).
fn resolve_plain(text: &str) -> ScalarKind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarKind::Null,
        "true" | "True" | "TRUE" => return ScalarKind::Bool(true),
        "false" | "False" | "FALSE" => return ScalarKind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" => return ScalarKind::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return ScalarKind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return ScalarKind::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_or(ScalarKind::Str, ScalarKind::Int);
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).map_or(ScalarKind::Str, ScalarKind::Int);
    }
    let looks_numeric = digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && digits.bytes().any(|b| b.is_ascii_digit());
    if looks_numeric {
        return text.parse().map_or(ScalarKind::Str, ScalarKind::Float);
    }
    ScalarKind::Str
}

/// Re-resolves every plain scalar of `node` as PyYAML (YAML 1.1) does, for files written for
/// the Python engine: `500_000` and `0x_ff` are integers, `yes`/`off` booleans, `010` octal,
/// `1:30` sexagesimal (90), and a float needs a dot (`1e-3` stays a string, `1.0e-3` does not).
pub fn resolve_as_yaml11(node: &mut Node) {
    match &mut node.value {
        Value::Scalar(s) if s.style == Style::Plain => s.kind = resolve_yaml11(&s.text),
        Value::Scalar(_) => {}
        Value::Seq(items) => items.iter_mut().for_each(resolve_as_yaml11),
        Value::Map(entries) => entries.iter_mut().for_each(|(_, v)| resolve_as_yaml11(v)),
    }
}

fn resolve_yaml11(text: &str) -> ScalarKind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarKind::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return ScalarKind::Bool(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => return ScalarKind::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return ScalarKind::Float(f64::NAN),
        _ => {}
    }
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return ScalarKind::Float(if negative { f64::NEG_INFINITY } else { f64::INFINITY });
    }
    let sign = |v: f64| if negative { -v } else { v };
    let digits_ = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c == '_' || c.is_digit(radix));
    let int = |s: &str, radix: u32| {
        let clean: String = s.chars().filter(|c| *c != '_').collect();
        let v = if clean.is_empty() { Some(0) } else { i64::from_str_radix(&clean, radix).ok() };
        v.map_or(ScalarKind::Str, |v| ScalarKind::Int(if negative { -v } else { v }))
    };
    if let Some(b) = body.strip_prefix("0b").filter(|b| digits_(b, 2)) {
        return int(b, 2);
    }
    if let Some(h) = body.strip_prefix("0x").filter(|h| digits_(h, 16)) {
        return int(h, 16);
    }
    if body == "0" {
        return ScalarKind::Int(0);
    }
    if let Some(o) = body.strip_prefix('0').filter(|o| digits_(o, 8)) {
        return int(o, 8);
    }
    if body.starts_with(|c: char| c.is_ascii_digit() && c != '0') && digits_(body, 10) {
        return int(body, 10);
    }
    if let Some(v) = sexagesimal(body) {
        return match v {
            Sexagesimal::Int(i) => ScalarKind::Int(if negative { -i } else { i }),
            Sexagesimal::Float(f) => ScalarKind::Float(sign(f)),
        };
    }
    if is_yaml11_float(text) {
        let clean: String = body.chars().filter(|c| *c != '_').collect();
        return clean.parse::<f64>().map_or(ScalarKind::Str, |f| ScalarKind::Float(sign(f)));
    }
    ScalarKind::Str
}

enum Sexagesimal {
    Int(i64),
    Float(f64),
}

/// `1:30` (90) and `1:30.5` (90.5): base-60 parts after a first part `[1-9][0-9_]*`.
fn sexagesimal(body: &str) -> Option<Sexagesimal> {
    let mut parts: Vec<&str> = body.split(':').collect();
    if parts.len() < 2 || !parts[0].starts_with(|c: char| c.is_ascii_digit() && c != '0') {
        return None;
    }
    let last = parts.pop()?;
    let (last_int, frac) = match last.split_once('.') {
        Some((i, f)) if f.chars().all(|c| c.is_ascii_digit() || c == '_') => (i, Some(f)),
        Some(_) => return None,
        None => (last, None),
    };
    let base60 = |p: &str| (1..=2).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()) && (p.len() == 1 || p.as_bytes()[0] <= b'5');
    if !parts[0].chars().all(|c| c.is_ascii_digit() || c == '_') || !parts[1..].iter().all(|p| base60(p)) || !base60(last_int) {
        return None;
    }
    let mut v: i64 = parts[0].replace('_', "").parse().ok()?;
    for p in parts[1..].iter().chain(std::iter::once(&last_int)) {
        v = v.checked_mul(60)?.checked_add(p.parse().ok()?)?;
    }
    Some(match frac {
        None => Sexagesimal::Int(v),
        Some(f) => Sexagesimal::Float(v as f64 + format!("0.{}", f.replace('_', "")).parse::<f64>().unwrap_or(0.0)),
    })
}

/// `[-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?` or `\.[0-9_]+([eE][-+][0-9]+)?`.
fn is_yaml11_float(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let exponent_ok =
        exponent.is_none_or(|e| e.strip_prefix(['-', '+']).is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())));
    let Some((int, frac)) = mantissa.split_once('.') else { return false };
    let digits_ = |s: &str| s.chars().all(|c| c.is_ascii_digit() || c == '_');
    let signed = int.strip_prefix(['-', '+']).unwrap_or(int);
    let with_int = signed.starts_with(|c: char| c.is_ascii_digit()) && digits_(signed) && digits_(frac);
    let bare = int.is_empty() && !frac.is_empty() && digits_(frac);
    exponent_ok && (with_int || bare)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (Option<Node>, Vec<Diagnostic>) {
        parse(&SourceFile::new("t.yaml", text))
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let text = "a: 1\nbé: \"x y\"\nc: |\n  line\n";
        let (root, diags) = load(text);
        assert!(diags.is_empty(), "{diags:?}");
        let Some(Node { value: Value::Map(entries), .. }) = root else { panic!("not a map") };
        assert_eq!(&text[entries[1].0.span.clone()], "bé");
        assert_eq!(&text[entries[1].1.span.clone()], "\"x y\"");
        assert_eq!(&text[entries[2].1.span.clone()], "|");
        assert!(matches!(entries[0].1.as_scalar().map(|s| s.kind), Some(ScalarKind::Int(1))));
        let block = entries[2].1.as_scalar().map(|s| s.origin);
        assert_eq!(block, Some(Origin::Block { first_line: 4, indent: 2 }));
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let (root, diags) = load(&text);
        assert!(root.is_none());
        assert_eq!(diags[0].code, Code::YamlLimit);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let (root, diags) = load(&text);
        assert!(root.is_none());
        assert!(matches!(diags[0].code, Code::YamlLimit | Code::YamlSyntax), "{diags:?}");
    }

    #[test]
    fn plain_scalars_resolve_like_the_core_schema() {
        assert_eq!(resolve_plain("2.0"), ScalarKind::Float(2.0));
        assert_eq!(resolve_plain("-3"), ScalarKind::Int(-3));
        assert_eq!(resolve_plain("yes"), ScalarKind::Str);
        assert_eq!(resolve_plain("1e3"), ScalarKind::Float(1000.0));
        assert_eq!(resolve_plain("1.2.3"), ScalarKind::Str);
    }

    #[test]
    fn yaml11_scalars_resolve_as_pyyaml_does() {
        use ScalarKind::*;
        let cases = [
            ("500_000", Int(500_000)),
            ("-1_0", Int(-10)),
            ("0x_ff", Int(255)),
            ("0b101", Int(5)),
            ("010", Int(8)),
            ("0", Int(0)),
            ("09", Str),
            ("1:30", Int(90)),
            ("1:30.5", Float(90.5)),
            ("yes", Bool(true)),
            ("Off", Bool(false)),
            ("y", Str),
            ("1e-3", Str),
            ("1.0e-3", Float(0.001)),
            ("1.0e3", Str),
            ("1.5", Float(1.5)),
            ("1_000.5", Float(1000.5)),
            ("1.", Float(1.0)),
            (".5", Float(0.5)),
            ("-.inf", Float(f64::NEG_INFINITY)),
            ("2.0", Float(2.0)),
            ("1.2.3", Str),
            ("12:61", Str),
            ("~", Null),
        ];
        for (text, want) in cases {
            assert_eq!(resolve_yaml11(text), want, "{text}");
        }
    }
}
