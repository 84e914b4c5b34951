//! The C family (Rust, JavaScript, TypeScript, Go, Java, C, C++) by balanced braces, without a
//! parser.
//!
//! A lexer follows brace and parenthesis depth line by line, skipping comments (`//`, `/* */`,
//! nested in Rust), strings (`"`, `'` except Rust lifetimes, Rust raw strings, JS/Go
//! backticks) as well as it reasonably can: a string that is still open at the end of a line
//! closes there, except where the language lets strings span lines, so a misread quote cannot
//! swallow the rest of the file. Regex literals and the preprocessor are not understood.
//!
//! The file is then cut into top-level *items*: an item starts at a line at depth 0 (with the
//! comments, attributes `#[..]` and decorators `@..` right above it) and ends where depth is
//! back at 0 after a brace block, or at the end of a statement. An item with a brace block whose
//! head looks like a definition (`fn`, `struct`, `class`, `func`, `function`, a C function
//! `int main(void)`, ...) becomes a definition span; the other items between definitions are
//! grouped into module spans. Inside an `impl`, `trait`, class, `mod` or `namespace` the same
//! cut one level down gives methods (`Type::method`, `Class.method`) and module functions.

use super::{Boundary, ChunkKind, ChunkOptions, Span, one_line, sorted};
use crate::repo::language::Language;
use crate::repo::lines::is_blank;

/// The most lines a definition's head is read from.
const SIGNATURE_LINES: usize = 20;

/// What the lexer needs to know about a language.
#[derive(Debug, Clone, Copy)]
struct Dialect {
    language: Language,
    /// Nested block comments, lifetimes, raw strings and multi-line strings.
    rust: bool,
    /// Backtick strings (JS template literals, Go raw strings), which span lines.
    backtick: bool,
    /// `@decorator` lines lead the next item.
    decorators: bool,
    /// Between a type and its member in a name.
    separator: &'static str,
}

impl Dialect {
    fn of(language: Language) -> Self {
        Self {
            language,
            rust: language == Language::Rust,
            backtick: matches!(language, Language::JavaScript | Language::TypeScript | Language::Go),
            decorators: matches!(language, Language::JavaScript | Language::TypeScript | Language::Java),
            separator: if matches!(language, Language::Rust | Language::Cpp) { "::" } else { "." },
        }
    }
}

/// Where the lexer is between characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Code,
    /// In a block comment, nested this deep.
    Comment(u32),
    /// In a string closed by this quote.
    Str(char),
    /// In a Rust raw string with this many `#`.
    Raw(usize),
    /// In a backtick string.
    Backtick,
}

/// What the lexer saw on one line.
#[derive(Debug, Clone, Default)]
struct LineInfo {
    depth_start: usize,
    depth_end: usize,
    /// The deepest brace depth reached on the line.
    max_depth: usize,
    paren_end: usize,
    /// The line ends outside comments and strings.
    code_at_end: bool,
    /// The line has something outside comments.
    has_code: bool,
    /// The last character outside comments.
    last_code: Option<char>,
    blank: bool,
}

struct Lexer {
    dialect: Dialect,
    mode: Mode,
    depth: usize,
    paren: usize,
}

impl Lexer {
    fn lex(lines: &[&str], dialect: Dialect) -> Vec<LineInfo> {
        let mut lexer = Self { dialect, mode: Mode::Code, depth: 0, paren: 0 };
        lines.iter().map(|line| lexer.line(line)).collect()
    }

    fn line(&mut self, line: &str) -> LineInfo {
        let chars: Vec<char> = line.chars().collect();
        let mut info = LineInfo { depth_start: self.depth, max_depth: self.depth, blank: is_blank(line), ..LineInfo::default() };
        let mut i = 0;
        while i < chars.len() {
            i = self.step(&chars, i, &mut info);
        }
        if let Mode::Str(quote) = self.mode
            && !(self.dialect.rust && quote == '"')
        {
            self.mode = Mode::Code;
        }
        info.depth_end = self.depth;
        info.paren_end = self.paren;
        info.code_at_end = self.mode == Mode::Code;
        info
    }

    /// Reads the character at `i`; returns the index of the next one to read.
    fn step(&mut self, chars: &[char], i: usize, info: &mut LineInfo) -> usize {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match self.mode {
            Mode::Code => return self.code(chars, i, info),
            Mode::Comment(n) if c == '*' && next == Some('/') => {
                self.mode = if n > 1 { Mode::Comment(n - 1) } else { Mode::Code };
                return i + 2;
            }
            Mode::Comment(n) if self.dialect.rust && c == '/' && next == Some('*') => {
                self.mode = Mode::Comment(n + 1);
                return i + 2;
            }
            Mode::Comment(_) => {}
            Mode::Str(_) | Mode::Backtick if c == '\\' => return i + 2,
            Mode::Str(quote) if c == quote => self.close_string(c, info),
            Mode::Backtick if c == '`' => self.close_string(c, info),
            Mode::Raw(hashes) if c == '"' && chars.get(i + 1..i + 1 + hashes).is_some_and(|h| h.iter().all(|&x| x == '#')) => {
                self.close_string(c, info);
                return i + 1 + hashes;
            }
            Mode::Str(_) | Mode::Backtick | Mode::Raw(_) => info.has_code = true,
        }
        i + 1
    }

    fn close_string(&mut self, quote: char, info: &mut LineInfo) {
        self.mode = Mode::Code;
        info.has_code = true;
        info.last_code = Some(quote);
    }

    fn code(&mut self, chars: &[char], i: usize, info: &mut LineInfo) -> usize {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            return i + 1;
        }
        match (c, next) {
            ('/', Some('/')) => return chars.len(),
            ('/', Some('*')) => {
                self.mode = Mode::Comment(1);
                return i + 2;
            }
            _ => {}
        }
        info.has_code = true;
        info.last_code = Some(c);
        if self.dialect.rust
            && let Some((hashes, len)) = raw_string(chars, i)
        {
            self.mode = Mode::Raw(hashes);
            return i + len;
        }
        match c {
            '"' => self.mode = Mode::Str('"'),
            '\'' if !self.dialect.rust || char_literal(chars, i) => self.mode = Mode::Str('\''),
            '`' if self.dialect.backtick => self.mode = Mode::Backtick,
            '{' => {
                self.depth += 1;
                info.max_depth = info.max_depth.max(self.depth);
            }
            '}' => self.depth = self.depth.saturating_sub(1),
            '(' | '[' => self.paren += 1,
            ')' | ']' => self.paren = self.paren.saturating_sub(1),
            _ => {}
        }
        i + 1
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// A Rust raw string opening at `i` (`r"`, `r#"`, `br##"`): its `#` count and opening length.
fn raw_string(chars: &[char], i: usize) -> Option<(usize, usize)> {
    let before = |k: usize| i.checked_sub(k).and_then(|j| chars.get(j)).copied();
    let starts_token = match before(1) {
        None => true,
        Some('b') => before(2).is_none_or(|c| !is_ident_char(c)),
        Some(c) => !is_ident_char(c),
    };
    if chars[i] != 'r' || !starts_token {
        return None;
    }
    let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
    (chars.get(i + 1 + hashes) == Some(&'"')).then_some((hashes, hashes + 2))
}

/// Whether the `'` at `i` opens a Rust character literal (`'x'`, `'\n'`) rather than a lifetime.
fn char_literal(chars: &[char], i: usize) -> bool {
    match chars.get(i + 1) {
        Some('\\') => true,
        Some(_) => chars.get(i + 2) == Some(&'\''),
        None => false,
    }
}

/// A top-level (or member-level) piece of a file: 0-based line indices.
#[derive(Debug, Clone)]
struct Item {
    start: usize,
    end: usize,
    /// The first line that is not a comment, attribute or decorator.
    head: Option<usize>,
    /// A brace block opened after the head.
    block: bool,
}

/// A definition an item holds.
#[derive(Debug, Clone)]
struct Def {
    kind: ChunkKind,
    name: String,
    signature: String,
    /// The name its members are qualified with, if it has members to chunk.
    scope: Option<String>,
}

struct Cutter<'a> {
    lines: &'a [&'a str],
    info: Vec<LineInfo>,
    dialect: Dialect,
}

/// The spans of a brace-language file and where they may be cut.
pub(crate) fn spans(path: &str, language: Language, lines: &[&str], options: &ChunkOptions) -> (Vec<Span>, Vec<Boundary>) {
    let dialect = Dialect::of(language);
    let cutter = Cutter { lines, info: Lexer::lex(lines, dialect), dialect };
    let items = cutter.items(0, lines.len(), 0);
    let mut spans = Vec::new();
    let mut module: Option<(usize, usize)> = None;
    for item in &items {
        let Some(def) = cutter.describe(item) else {
            module = Some((module.map_or(item.start, |m| m.0), item.end));
            continue;
        };
        spans.extend(module.take().map(|(s, e)| Span::new(ChunkKind::Module, path, s + 1, e + 1)));
        if options.max_depth > 0 {
            spans.extend(cutter.members(item, &def));
        }
        let mut span = Span::new(def.kind, def.name, item.start + 1, item.end + 1);
        span.signature = Some(def.signature);
        spans.push(span);
    }
    spans.extend(module.map(|(s, e)| Span::new(ChunkKind::Module, path, s + 1, e + 1)));
    let mut boundaries: Vec<Boundary> = items.iter().map(|item| Boundary { line: item.end + 1, depth: 0 }).collect();
    boundaries.extend(cutter.info.iter().enumerate().filter_map(|(i, info)| {
        let ends_statement = info.code_at_end && info.paren_end == 0 && matches!(info.last_code, Some(';' | '}' | ','));
        ends_statement.then_some(Boundary { line: i + 1, depth: info.depth_end })
    }));
    (spans, sorted(boundaries))
}

impl Cutter<'_> {
    /// Lines `from..to` cut into items at brace depth `base`.
    fn items(&self, from: usize, to: usize, base: usize) -> Vec<Item> {
        let mut items = Vec::new();
        let mut current: Option<Item> = None;
        let mut in_attribute = false;
        for i in from..to.min(self.info.len()) {
            let info = &self.info[i];
            if current.is_none() && info.blank {
                continue;
            }
            let item = current.get_or_insert(Item { start: i, end: i, head: None, block: false });
            item.end = i;
            let leading = in_attribute || self.leading(i);
            in_attribute = leading && info.paren_end > 0;
            if !leading && !info.blank && item.head.is_none() {
                item.head = Some(i);
            }
            if item.head.is_some() && info.max_depth > base {
                item.block = true;
            }
            let closed = info.depth_end <= base && info.paren_end == 0 && info.code_at_end && !in_attribute;
            if closed && self.ends_item(item, i, to) {
                items.extend(current.take());
            }
        }
        items.extend(current);
        items
    }

    /// Whether the item ends at line `i`, where depth is back at the item's base.
    fn ends_item(&self, item: &Item, i: usize, to: usize) -> bool {
        let next = (i + 1 < to).then(|| self.lines.get(i + 1)).flatten().filter(|l| !is_blank(l));
        let Some(head) = item.head else {
            return next.is_none();
        };
        if item.block {
            return true;
        }
        let Some(next) = next else { return true };
        if matches!(self.info[i].last_code, Some(';' | '}')) {
            return true;
        }
        let following = next.trim_start();
        let continued = following.starts_with('{') || following.starts_with("where") || following.starts_with("->");
        !(continued || indent(next) > indent(self.lines[head]) || self.c_return_type(i))
    }

    /// A C or C++ line that ends in a type with the function's name on the next line
    /// (`static int` / `add(int a, int b)`); not a preprocessor line.
    fn c_return_type(&self, i: usize) -> bool {
        matches!(self.dialect.language, Language::C | Language::Cpp)
            && !self.lines[i].trim_start().starts_with('#')
            && self.info[i].last_code.is_some_and(|c| is_ident_char(c) || c == '*')
    }

    /// A comment-only line, an attribute or a decorator: it belongs to the item below it.
    fn leading(&self, i: usize) -> bool {
        let info = &self.info[i];
        let text = self.lines[i].trim_start();
        (!info.has_code && !info.blank)
            || (self.dialect.rust && text.starts_with("#["))
            || (self.dialect.decorators && text.starts_with('@'))
    }

    /// The definition an item holds, if it is a brace block with a definition-like head.
    fn describe(&self, item: &Item) -> Option<Def> {
        let head = item.head.filter(|_| item.block)?;
        let signature = self.signature(head, item.end);
        let tokens = tokens(&signature);
        let (kind, name, scope) = classify(&tokens, self.dialect)?;
        Some(Def { kind, name: name.unwrap_or_else(|| signature.clone()), signature, scope })
    }

    /// The head of a definition up to its opening brace (outside brackets), on one line,
    /// without comment lines; read from at most [`SIGNATURE_LINES`] lines.
    fn signature(&self, head: usize, end: usize) -> String {
        let mut text = String::new();
        let mut depth = 0usize;
        let lines = self.lines[head..=end].iter().zip(&self.info[head..=end]).filter(|(_, info)| info.has_code);
        'lines: for (line, _) in lines.take(SIGNATURE_LINES) {
            text.push(' ');
            for c in line.chars() {
                match c {
                    '(' | '[' => depth += 1,
                    ')' | ']' => depth = depth.saturating_sub(1),
                    '{' if depth == 0 => break 'lines,
                    _ => {}
                }
                text.push(c);
            }
        }
        truncate(one_line(&text).trim_end_matches([' ', '=']), 200)
    }

    /// The methods (or a module's functions and types) of a definition with members.
    fn members(&self, item: &Item, def: &Def) -> Vec<Span> {
        let Some(scope) = &def.scope else { return Vec::new() };
        let Some(base) = item.head.map(|h| self.info[h].depth_start) else { return Vec::new() };
        let Some(open) = (item.start..item.end).find(|&i| self.info[i].depth_end > base) else { return Vec::new() };
        let in_module = def.kind == ChunkKind::Module;
        self.items(open + 1, item.end, base + 1)
            .iter()
            .filter_map(|member| {
                let inner = self.describe(member)?;
                let kind = match inner.kind {
                    ChunkKind::Function if !in_module => ChunkKind::Method,
                    ChunkKind::Function | ChunkKind::Class => inner.kind,
                    _ => return None,
                };
                let name = format!("{scope}{}{}", self.dialect.separator, inner.name);
                let mut span = Span::new(kind, name, member.start + 1, member.end + 1);
                span.signature = Some(inner.signature);
                Some(span)
            })
            .collect()
    }
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Identifiers, string literals and single punctuation characters.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let mut end = start + c.len_utf8();
        if is_ident_char(c) {
            while let Some(&(i, d)) = chars.peek().filter(|(_, d)| is_ident_char(*d)) {
                end = i + d.len_utf8();
                chars.next();
            }
        } else if c == '"' {
            for (i, d) in chars.by_ref() {
                end = i + d.len_utf8();
                if d == '"' {
                    break;
                }
            }
        } else if c.is_whitespace() {
            continue;
        }
        out.push(&text[start..end]);
    }
    out
}

const MODIFIERS: [&str; 28] = [
    "pub",
    "mut",
    "export",
    "default",
    "declare",
    "abstract",
    "async",
    "unsafe",
    "extern",
    "static",
    "public",
    "private",
    "protected",
    "internal",
    "final",
    "inline",
    "virtual",
    "sealed",
    "override",
    "readonly",
    "constexpr",
    "synchronized",
    "strictfp",
    "native",
    "typedef",
    "explicit",
    "friend",
    "partial",
];

const CONTROL: [&str; 16] =
    ["if", "else", "for", "while", "do", "switch", "try", "catch", "finally", "return", "loop", "match", "case", "new", "throw", "sizeof"];

fn is_ident(token: &str) -> bool {
    token.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
}

/// Past the modifiers (`pub(crate)`, `export default`, `extern "C"`, `template <..>`, Rust's
/// `const fn`, ...) at the start of a head.
fn skip_modifiers(tokens: &[&str]) -> usize {
    let mut i = 0;
    while let Some(&token) = tokens.get(i) {
        let next = tokens.get(i + 1).copied();
        i = match token {
            "pub" if next == Some("(") => tokens[i..].iter().position(|t| *t == ")").map_or(i + 1, |p| i + p + 1),
            "template" if next == Some("<") => skip_angles(tokens, i + 1),
            "const" if matches!(next, Some("fn" | "unsafe" | "async" | "extern")) => i + 1,
            t if MODIFIERS.contains(&t) || t.starts_with('"') => i + 1,
            _ => break,
        };
    }
    i
}

/// The index after the `>` that closes the `<` at `open`.
fn skip_angles(tokens: &[&str], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match *token {
            "<" => depth += 1,
            ">" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

/// The first identifier at or after `i`.
fn ident_at(tokens: &[&str], i: usize) -> Option<String> {
    tokens.get(i).filter(|t| is_ident(t)).map(|t| (*t).to_owned())
}

type Described = (ChunkKind, Option<String>, Option<String>);

/// What a head is: kind, name (`None`: use the signature) and the scope its members get.
fn classify(tokens: &[&str], dialect: Dialect) -> Option<Described> {
    let i = skip_modifiers(tokens);
    let keyword = *tokens.get(i)?;
    let next = ident_at(tokens, i + 1);
    let c_like = matches!(dialect.language, Language::C | Language::Cpp);
    let has_paren = tokens[i..].contains(&"(");
    Some(match keyword {
        "fn" => (ChunkKind::Function, next, None),
        "class" | "interface" | "trait" | "record" => (ChunkKind::Class, next.clone(), next),
        "struct" | "union" | "enum" if c_like && has_paren => return c_function(tokens, i),
        "struct" | "union" | "enum" => {
            let scope = if dialect.language == Language::Cpp || dialect.language == Language::Java { next.clone() } else { None };
            (ChunkKind::Class, next, scope)
        }
        "impl" => (ChunkKind::Class, None, impl_type(tokens, i + 1)),
        "mod" | "namespace" | "module" if next.is_some() || tokens.len() == i + 1 => {
            (ChunkKind::Module, next.clone(), Some(next.unwrap_or_else(|| keyword.to_owned())))
        }
        "type" => (ChunkKind::Class, next, None),
        "func" => return go_func(tokens, i),
        "function" => (ChunkKind::Function, ident_at(tokens, i + 1).or_else(|| ident_at(tokens, i + 2)), None),
        "macro_rules" => (ChunkKind::Block, ident_at(tokens, i + 2).map(|n| format!("macro_rules! {n}")), None),
        "const" | "let" | "var" | "static" => {
            let function = tokens.windows(2).any(|w| w == ["=", ">"]) || tokens.contains(&"function");
            (if function { ChunkKind::Function } else { ChunkKind::Block }, binding_name(tokens, i), None)
        }
        k if CONTROL.contains(&k) || !is_ident(k) => return None,
        "use" | "import" | "package" | "from" | "using" | "require" | "include" => return None,
        _ if tokens.get(i + 1) == Some(&":") && tokens.get(i + 2) != Some(&":") => (ChunkKind::Block, Some(keyword.to_owned()), None),
        _ if has_paren => return c_function(tokens, i),
        _ => {
            let name = tokens.iter().position(|t| *t == "=").and_then(|p| p.checked_sub(1)).and_then(|p| ident_at(tokens, p));
            (ChunkKind::Block, name, None)
        }
    })
}

/// The name a `const`/`let`/`var`/`static` at `i` binds: the identifier after the keyword when
/// a type annotation follows it (`const X: T =`), else the one before `=` (`const struct s x =`).
fn binding_name(tokens: &[&str], i: usize) -> Option<String> {
    let equals = tokens.iter().position(|t| *t == "=").unwrap_or(tokens.len());
    if tokens[i..equals].contains(&":") || equals == tokens.len() {
        let after = if tokens.get(i + 1) == Some(&"mut") { i + 2 } else { i + 1 };
        ident_at(tokens, after)
    } else {
        equals.checked_sub(1).and_then(|p| ident_at(tokens, p))
    }
}

/// A function whose head has no keyword (`int main(void)`, `public int add(int a)`,
/// `void Foo::bar()`, a JS method `area() {`): named by the identifier before the first `(`,
/// qualified with `::` when it is.
fn c_function(tokens: &[&str], from: usize) -> Option<Described> {
    let paren = from + tokens[from..].iter().position(|t| *t == "(")?;
    if tokens[from..paren].contains(&"=") {
        let name =
            tokens[from..paren].iter().position(|t| *t == "=").and_then(|p| (from + p).checked_sub(1)).and_then(|p| ident_at(tokens, p));
        return Some((ChunkKind::Block, name, None));
    }
    let mut at = paren.checked_sub(1).filter(|&p| p >= from)?;
    let last = *tokens.get(at)?;
    if !is_ident(last) || CONTROL.contains(&last) {
        return None;
    }
    let mut name = last.to_owned();
    while at >= from + 3 && tokens[at - 1] == ":" && tokens[at - 2] == ":" && is_ident(tokens[at - 3]) {
        name = format!("{}::{name}", tokens[at - 3]);
        at -= 3;
    }
    Some((ChunkKind::Function, Some(name), None))
}

/// A Go `func`: a function, or with a receiver `(s *Server)` the method `Server.Name`.
fn go_func(tokens: &[&str], i: usize) -> Option<Described> {
    if tokens.get(i + 1) != Some(&"(") {
        return Some((ChunkKind::Function, ident_at(tokens, i + 1), None));
    }
    let close = i + 1 + tokens[i + 1..].iter().position(|t| *t == ")")?;
    let receiver = tokens[i + 2..close].iter().take_while(|t| **t != "[").filter(|t| is_ident(t)).last().copied();
    let name = ident_at(tokens, close + 1);
    Some(match (receiver, name) {
        (Some(r), Some(n)) => (ChunkKind::Method, Some(format!("{r}.{n}")), None),
        (_, name) => (ChunkKind::Function, name, None),
    })
}

/// The type an `impl` is for: `impl<T> fmt::Display for Circle<T>` → `Circle`.
fn impl_type(tokens: &[&str], mut i: usize) -> Option<String> {
    if tokens.get(i) == Some(&"<") {
        i = skip_angles(tokens, i);
    }
    let rest = tokens.get(i..)?;
    let mut depth = 0usize;
    let mut start = 0;
    for (k, token) in rest.iter().enumerate() {
        match *token {
            "<" => depth += 1,
            ">" => depth = depth.saturating_sub(1),
            "for" if depth == 0 => start = k + 1,
            "where" | "{" if depth == 0 => break,
            _ => {}
        }
    }
    let path = rest.get(start..)?.iter().take_while(|t| !matches!(**t, "<" | "{" | "where" | "(" | "[")).filter(|t| is_ident(t));
    path.filter(|t| !matches!(**t, "dyn" | "mut")).last().map(|t| (*t).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn describe(language: Language, head: &str) -> Option<(ChunkKind, Option<String>, Option<String>)> {
        classify(&tokens(head), Dialect::of(language))
    }

    #[test]
    fn heads() {
        let f = |name: &str| Some((ChunkKind::Function, Some(name.to_owned()), None));
        assert_eq!(describe(Language::Rust, "pub(crate) const unsafe fn area(&self) -> f64"), f("area"));
        assert_eq!(describe(Language::C, "static int main(int argc, char **argv)"), f("main"));
        assert_eq!(describe(Language::Cpp, "void Foo::bar(int x) const"), f("Foo::bar"));
        assert_eq!(describe(Language::Java, "public static void main(String[] args)"), f("main"));
        assert_eq!(describe(Language::JavaScript, "export async function load(url)"), f("load"));
        assert_eq!(describe(Language::JavaScript, "const add = (a, b) =>"), f("add"));
        assert_eq!(describe(Language::C, "struct point *make_point(int x)"), f("make_point"));
        assert_eq!(
            describe(Language::Go, "func (s *Server[T]) Start(ctx context.Context) error"),
            Some((ChunkKind::Method, Some("Server.Start".into()), None))
        );
        assert_eq!(
            describe(Language::Rust, "impl<T: Clone> fmt::Display for Circle<T> where T: Copy"),
            Some((ChunkKind::Class, None, Some("Circle".into())))
        );
        assert_eq!(describe(Language::Rust, "#[cfg(test)] mod tests").map(|d| d.0), None, "an attribute is not a head");
        assert_eq!(describe(Language::Rust, "mod tests"), Some((ChunkKind::Module, Some("tests".into()), Some("tests".into()))));
        assert_eq!(describe(Language::JavaScript, "if (x)"), None);
        assert_eq!(describe(Language::Rust, "use std::{fmt, io};"), None);
        assert_eq!(describe(Language::JavaScript, "(function ()"), None);
        let block = |name: &str| Some((ChunkKind::Block, Some(name.to_owned()), None));
        assert_eq!(describe(Language::C, "static const struct ops my_ops ="), block("my_ops"));
        assert_eq!(describe(Language::Rust, "pub static mut TABLE: [u8; 4] ="), block("TABLE"));
        assert_eq!(describe(Language::Rust, "static RE: Lazy<Regex> = Lazy::new(||"), block("RE"));
        assert_eq!(describe(Language::TypeScript, "const config: Config ="), block("config"));
        assert_eq!(describe(Language::JavaScript, "module.exports ="), block("exports"));
    }

    #[test]
    fn raw_strings_and_lifetimes() {
        let chars: Vec<char> = "let s = br##\"{\"##;".chars().collect();
        assert_eq!(raw_string(&chars, 9), Some((2, 4)));
        assert_eq!(raw_string(&chars, 8), None);
        let chars: Vec<char> = "fn f<'a>(c: char) { '{' }".chars().collect();
        assert!(!char_literal(&chars, 5));
        assert!(char_literal(&chars, 20));
    }

    #[test]
    fn lexer_skips_strings_and_comments() {
        let lines = ["fn f() { // {", "    let s = \"}\"; /* { */", "    let c = '}';", "}"];
        let info = Lexer::lex(&lines, Dialect::of(Language::Rust));
        let depths: Vec<usize> = info.iter().map(|i| i.depth_end).collect();
        assert_eq!(depths, vec![1, 1, 1, 0]);
        let unterminated = ["char *s = \"{;", "int x;"];
        let info = Lexer::lex(&unterminated, Dialect::of(Language::C));
        assert!(info[0].code_at_end, "a C string does not run past the end of its line");
    }
}
