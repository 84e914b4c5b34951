//! Reading a model's answer: the JSON object the prompt asks for (tolerating a ```json fence,
//! prose around it, and raw line breaks inside strings), the scenes' shapes, and the fenced
//! code blocks of a Markdown text.

use serde::Serialize;
use serde_json::{Map, Value};
use thiserror::Error;

/// Why an answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// No JSON value could be found in the answer.
    #[error("the answer holds no JSON object: {detail}")]
    NotJson {
        /// The parser's complaint about the best candidate.
        detail: String,
    },
    /// The JSON does not have the shape the prompt asked for.
    #[error("the JSON does not have the expected shape: {detail}")]
    Shape {
        /// What is missing or mistyped.
        detail: String,
    },
}

/// The JSON value of an answer: the whole text, else the inside of its first fenced block,
/// else the span from the first `{` (or `[`) to the last `}` (or `]`). Line breaks and tabs
/// written raw inside strings (a common slip of small models) are escaped before parsing.
pub fn extract_json(content: &str) -> Result<Value, ParseError> {
    let text = content.trim();
    let mut candidates: Vec<&str> = vec![text];
    if let Some(block) = code_blocks(text).into_iter().find(|b| matches!(b.lang.as_str(), "json" | "" | "javascript" | "js")) {
        candidates.push(block.text_ref(text));
    }
    for (open, close) in [('{', '}'), ('[', ']')] {
        if let (Some(a), Some(b)) = (text.find(open), text.rfind(close))
            && a < b
        {
            candidates.push(&text[a..=b]);
        }
    }
    // A complete object followed by more text (a small model running on past the end of a
    // schema-constrained object): the object.
    if let Some(a) = text.find('{')
        && let Some(Ok(v)) = serde_json::Deserializer::from_str(&text[a..]).into_iter::<Value>().next()
        && v.is_object()
    {
        return Ok(v);
    }
    let mut first_error = None;
    for c in candidates {
        for attempt in [std::borrow::Cow::Borrowed(c), std::borrow::Cow::Owned(escape_raw_controls(c))] {
            match serde_json::from_str::<Value>(&attempt) {
                Ok(v) if v.is_object() || v.is_array() => return Ok(v),
                Ok(_) => {}
                Err(e) => {
                    first_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
    Err(ParseError::NotJson { detail: first_error.unwrap_or_else(|| "the answer is empty".to_owned()) })
}

/// `text` with `\n`, `\r` and `\t` inside JSON strings written as escapes.
fn escape_raw_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                '\n' => {
                    out.push_str("\\n");
                    continue;
                }
                '\r' => {
                    out.push_str("\\r");
                    continue;
                }
                '\t' => {
                    out.push_str("\\t");
                    continue;
                }
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

/// Lines of a file an answer relies on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Citation {
    /// The file, repository-relative.
    pub path: String,
    /// First line, 1-based.
    pub start_line: usize,
    /// Last line, inclusive.
    pub end_line: usize,
}

impl Citation {
    /// `path:start-end`.
    pub fn location(&self) -> String {
        format!("{}:{}-{}", self.path, self.start_line, self.end_line)
    }

    /// A citation from its JSON: `{"path", "start_line", "end_line"}` (also `file`, `start`,
    /// `end`, `line`), or a string `path:start-end` / `path:line`.
    fn from_json(v: &Value) -> Result<Self, String> {
        if let Some(s) = v.as_str() {
            return Self::parse(s).ok_or_else(|| format!("citation `{s}` is not `path:start-end`"));
        }
        let obj = v.as_object().ok_or_else(|| format!("citation {v} is neither an object nor a string"))?;
        let path = str_field(obj, &["path", "file"]).ok_or_else(|| format!("citation {v} has no `path`"))?;
        let line = |keys: &[&str]| keys.iter().find_map(|k| obj.get(*k)).and_then(as_line);
        let start = line(&["start_line", "start", "line"]).ok_or_else(|| format!("citation {v} has no `start_line`"))?;
        let end = line(&["end_line", "end", "line"]).unwrap_or(start);
        Ok(Citation { path: clean_path(path), start_line: start, end_line: end })
    }

    /// `path:start-end` or `path:line`.
    pub fn parse(s: &str) -> Option<Self> {
        let (path, lines) = s.trim().rsplit_once(':')?;
        let (a, b) = lines.split_once('-').unwrap_or((lines, lines));
        Some(Citation { path: clean_path(path), start_line: a.trim().parse().ok()?, end_line: b.trim().parse().ok()? })
    }
}

/// A path as the repository spells it: trimmed, `/` separators, no leading `./` or backticks.
fn clean_path(path: &str) -> String {
    let mut p = path.trim().trim_matches('`').replace('\\', "/");
    while let Some(rest) = p.strip_prefix("./") {
        p = rest.to_owned();
    }
    p
}

fn as_line(v: &Value) -> Option<usize> {
    v.as_u64().map(|n| n as usize).or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn str_field<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| obj.get(*k)).and_then(Value::as_str)
}

/// Text of a field; a list of strings counts, joined by line breaks.
fn text_field(obj: &Map<String, Value>, keys: &[&str]) -> String {
    match keys.iter().find_map(|k| obj.get(*k)) {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::trim).collect::<Vec<_>>().join("\n"),
        _ => String::new(),
    }
}

fn optional_text(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    Some(text_field(obj, keys)).filter(|t| !t.is_empty())
}

/// One question of a question exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QaItem {
    /// The question.
    pub question: String,
    /// The reasoning the model wrote in its `thinking` field, if any.
    pub thinking: Option<String>,
    /// The answer (Markdown).
    pub answer: String,
    /// The lines the answer relies on.
    pub citations: Vec<Citation>,
}

/// The items of a question exchange: `{"questions": [...]}` (or `items`, `qa`), a bare list,
/// or a single item. Each item parses on its own: a malformed item is an `Err` with why,
/// the others still count. At most `max` items are read.
pub fn parse_qa(content: &str, max: usize) -> Result<Vec<Result<QaItem, String>>, ParseError> {
    let value = extract_json(content)?;
    let items: Vec<Value> = match value {
        Value::Array(items) => items,
        Value::Object(obj) => match ["questions", "items", "qa"].iter().find_map(|k| obj.get(*k)) {
            Some(Value::Array(items)) => items.clone(),
            Some(other) => return Err(ParseError::Shape { detail: format!("`questions` is not a list but {}", kind(other)) }),
            None if obj.contains_key("question") => vec![Value::Object(obj)],
            None => return Err(ParseError::Shape { detail: "no `questions` list".to_owned() }),
        },
        other => return Err(ParseError::Shape { detail: format!("expected an object, got {}", kind(&other)) }),
    };
    if items.is_empty() {
        return Err(ParseError::Shape { detail: "the `questions` list is empty".to_owned() });
    }
    Ok(items.iter().take(max).map(qa_item).collect())
}

fn qa_item(v: &Value) -> Result<QaItem, String> {
    let obj = v.as_object().ok_or_else(|| format!("an item is {}, not an object", kind(v)))?;
    let citations = match obj.get("citations").or_else(|| obj.get("sources")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list.iter().map(Citation::from_json).collect::<Result<_, _>>()?,
        Some(one) => vec![Citation::from_json(one)?],
    };
    Ok(QaItem {
        question: text_field(obj, &["question", "q"]),
        thinking: optional_text(obj, &["thinking", "reasoning", "thinking_trace"]),
        answer: text_field(obj, &["answer", "a"]),
        citations,
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// What a design proposal does to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// An existing file changes.
    Modify,
    /// A new file.
    Add,
    /// An existing file goes.
    Delete,
}

impl Change {
    fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "modify" | "modified" | "change" | "update" | "edit" | "" => Some(Change::Modify),
            "add" | "added" | "new" | "create" => Some(Change::Add),
            "delete" | "deleted" | "remove" | "removed" => Some(Change::Delete),
            _ => None,
        }
    }

    /// `modify`, `add` or `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Modify => "modify",
            Change::Add => "add",
            Change::Delete => "delete",
        }
    }
}

/// A file a proposal touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AffectedFile {
    /// Repository-relative path.
    pub path: String,
    /// What happens to it.
    pub change: Change,
    /// Why, if the model said.
    pub why: Option<String>,
}

/// A design proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Proposal {
    /// A short title.
    pub title: String,
    /// The new requirement, as a user would state it.
    pub requirement: String,
    /// The reasoning the model wrote in its `thinking` field, if any.
    pub thinking: Option<String>,
    /// The design (Markdown).
    pub proposal: String,
    /// Why it fits the existing architecture.
    pub rationale: String,
    /// The files it touches.
    pub affected_files: Vec<AffectedFile>,
    /// What could go wrong.
    pub risks: Vec<String>,
}

/// A design exchange's proposal.
pub fn parse_design(content: &str) -> Result<Proposal, ParseError> {
    let value = extract_json(content)?;
    let obj = match &value {
        Value::Object(o) => o.get("design").and_then(Value::as_object).unwrap_or(o),
        Value::Array(a) if a.len() == 1 && a[0].is_object() => a[0].as_object().unwrap_or_else(|| unreachable!()),
        other => return Err(ParseError::Shape { detail: format!("expected an object, got {}", kind(other)) }),
    };
    let affected_files = match obj.get("affected_files").or_else(|| obj.get("files")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => {
            list.iter().map(affected_file).collect::<Result<_, _>>().map_err(|detail| ParseError::Shape { detail })?
        }
        Some(other) => return Err(ParseError::Shape { detail: format!("`affected_files` is {}, not a list", kind(other)) }),
    };
    let risks = match obj.get("risks") {
        Some(Value::Array(list)) => list.iter().filter_map(|r| r.as_str().map(|s| s.trim().to_owned())).filter(|s| !s.is_empty()).collect(),
        Some(Value::String(s)) if !s.trim().is_empty() => vec![s.trim().to_owned()],
        _ => Vec::new(),
    };
    Ok(Proposal {
        title: text_field(obj, &["title", "name"]),
        requirement: text_field(obj, &["requirement", "request"]),
        thinking: optional_text(obj, &["thinking", "reasoning", "thinking_trace"]),
        proposal: text_field(obj, &["proposal", "design"]),
        rationale: text_field(obj, &["rationale", "why"]),
        affected_files,
        risks,
    })
}

fn affected_file(v: &Value) -> Result<AffectedFile, String> {
    if let Some(path) = v.as_str() {
        return Ok(AffectedFile { path: clean_path(path), change: Change::Modify, why: None });
    }
    let obj = v.as_object().ok_or_else(|| format!("an affected file is {}, not an object", kind(v)))?;
    let path = str_field(obj, &["path", "file"]).ok_or_else(|| format!("affected file {v} has no `path`"))?;
    let change_text = str_field(obj, &["change", "action", "kind"]).unwrap_or("");
    let change = Change::parse(change_text)
        .ok_or_else(|| format!("affected file `{path}`: unknown change `{change_text}` (modify, add or delete)"))?;
    Ok(AffectedFile { path: clean_path(path), change, why: optional_text(obj, &["why", "reason", "description"]) })
}

/// A fenced code block of a Markdown text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeBlock {
    /// Position among the text's blocks, from 1.
    pub number: usize,
    /// The info string after the fence, trimmed.
    pub info: String,
    /// Its first word, lowercased (`python`); empty when there is none.
    pub lang: String,
    /// Whether the info string marks the block as a verbatim quote of the repository (a word
    /// `quote`).
    pub quote: bool,
    /// The code.
    pub text: String,
    /// The line of the opening fence, 1-based.
    pub line: usize,
    /// Byte range of `text` in the Markdown.
    #[serde(skip)]
    range: std::ops::Range<usize>,
}

impl CodeBlock {
    fn text_ref<'a>(&self, markdown: &'a str) -> &'a str {
        &markdown[self.range.clone()]
    }
}

/// A fence line: (fence char, length, info string) when `line` opens or closes a block
/// (at most three spaces of indentation).
fn fence(line: &str) -> Option<(char, usize, &str)> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let c = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = trimmed.chars().take_while(|x| *x == c).count();
    if n < 3 {
        return None;
    }
    let info = trimmed[n..].trim();
    if c == '`' && info.contains('`') {
        return None;
    }
    Some((c, n, info))
}

/// The fenced code blocks of `markdown`, in order (an unclosed block runs to the end).
pub fn code_blocks(markdown: &str) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut open: Option<(char, usize, String, usize, usize)> = None; // char, len, info, line, text start
    let mut offset = 0;
    for (i, raw) in markdown.split_inclusive('\n').enumerate() {
        let line = raw.trim_end_matches(['\n', '\r']);
        let next = offset + raw.len();
        match &open {
            None => {
                if let Some((c, n, info)) = fence(line) {
                    open = Some((c, n, info.to_owned(), i + 1, next));
                }
            }
            Some((c, n, _, _, _)) => {
                if let Some((c2, n2, info)) = fence(line)
                    && c2 == *c
                    && n2 >= *n
                    && info.is_empty()
                    && let Some((_, _, info, at, start)) = open.take()
                {
                    blocks.push(block(markdown, blocks.len() + 1, info, at, start..offset));
                }
            }
        }
        offset = next;
    }
    if let Some((_, _, info, at, start)) = open {
        blocks.push(block(markdown, blocks.len() + 1, info, at, start.min(markdown.len())..markdown.len()));
    }
    blocks
}

fn block(markdown: &str, number: usize, info: String, line: usize, range: std::ops::Range<usize>) -> CodeBlock {
    let text = markdown[range.clone()].trim_end_matches(['\n', '\r']).to_owned();
    let words: Vec<&str> = info.split_whitespace().collect();
    let quote = words.iter().any(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).eq_ignore_ascii_case("quote"));
    let lang = words.first().filter(|w| !w.trim_matches(|c: char| !c.is_alphanumeric()).eq_ignore_ascii_case("quote"));
    let lang = lang.map(|w| w.trim_matches(|c: char| c == '{' || c == '}' || c == '.').to_ascii_lowercase()).unwrap_or_default();
    CodeBlock { number, info, lang, quote, text, line, range }
}

/// `markdown` with the `quote` marker removed from every fence's info string (```python quote
/// becomes ```python): the marker is an instruction to the validator, not part of the answer a
/// model should learn to write.
pub fn without_quote_markers(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut open: Option<(char, usize)> = None;
    for raw in markdown.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let ending = &raw[line.len()..];
        match (open, fence(line)) {
            (None, Some((c, n, info))) => {
                open = Some((c, n));
                let kept: Vec<&str> = info
                    .split_whitespace()
                    .filter(|w| !w.trim_matches(|c: char| !c.is_alphanumeric()).eq_ignore_ascii_case("quote"))
                    .collect();
                let indent = &line[..line.len() - line.trim_start_matches(' ').len()];
                out.push_str(indent);
                out.push_str(&c.to_string().repeat(n));
                out.push_str(&kept.join(" "));
                out.push_str(ending);
                continue;
            }
            (Some((c, n)), Some((c2, n2, info))) if c2 == c && n2 >= n && info.is_empty() => open = None,
            _ => {}
        }
        out.push_str(raw);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_followed_by_more_text_is_the_object() {
        let v = extract_json("{ \"question\": \"Why?\" } ? #? Question 16 (Q.5): {\"x\": 1}").unwrap();
        assert_eq!(v, serde_json::json!({ "question": "Why?" }));
    }

    #[test]
    fn json_in_a_fence_with_prose_around() {
        let v = extract_json("Sure! Here it is:\n```json\n{\"a\": [1, 2]}\n```\nHope it helps.").unwrap();
        assert_eq!(v, serde_json::json!({"a": [1, 2]}));
        let bare = extract_json("  {\"a\": 1}  ").unwrap();
        assert_eq!(bare["a"], 1);
        let embedded = extract_json("The answer is {\"a\": {\"b\": 2}} as asked").unwrap();
        assert_eq!(embedded["a"]["b"], 2);
    }

    #[test]
    fn raw_line_breaks_in_strings_are_escaped() {
        let v = extract_json("{\"answer\": \"line one\nline two\", \"n\": 1}").unwrap();
        assert_eq!(v["answer"], "line one\nline two");
    }

    #[test]
    fn no_json_is_an_error() {
        assert!(matches!(extract_json("I cannot answer that."), Err(ParseError::NotJson { .. })));
        assert!(matches!(extract_json(""), Err(ParseError::NotJson { .. })));
    }

    #[test]
    fn qa_items_parse_one_by_one() {
        let text = r#"{"questions": [
            {"question": "Why?", "thinking": "Look.", "answer": "Because.", "citations": [{"path": "./a.py", "start_line": 1, "end_line": 3}, "b.py:4-5", {"file": "`c.py`", "line": 7}]},
            {"question": "What?", "answer": "This.", "citations": [{"start_line": 1}]},
            "not an item"
        ]}"#;
        let items = parse_qa(text, 10).unwrap();
        assert_eq!(items.len(), 3);
        let first = items[0].as_ref().unwrap();
        assert_eq!(first.thinking.as_deref(), Some("Look."));
        assert_eq!(
            first.citations,
            vec![
                Citation { path: "a.py".into(), start_line: 1, end_line: 3 },
                Citation { path: "b.py".into(), start_line: 4, end_line: 5 },
                Citation { path: "c.py".into(), start_line: 7, end_line: 7 }
            ]
        );
        assert!(items[1].as_ref().unwrap_err().contains("has no `path`"));
        assert!(items[2].is_err());
        assert_eq!(parse_qa(text, 1).unwrap().len(), 1, "at most `max` items");
        assert!(matches!(parse_qa(r#"{"questions": []}"#, 3), Err(ParseError::Shape { .. })));
        assert!(matches!(parse_qa(r#"{"answers": []}"#, 3), Err(ParseError::Shape { .. })));
        let single = parse_qa(r#"{"question": "Q", "answer": "A", "citations": []}"#, 3).unwrap();
        assert_eq!(single[0].as_ref().unwrap().question, "Q");
    }

    #[test]
    fn design_parses() {
        let p = parse_design(
            r#"```json
{"title": "Cache", "requirement": "Make it fast.", "thinking": "Hot path.", "proposal": "Add a cache.", "rationale": "Fits.",
 "affected_files": [{"path": "a.py", "change": "modify", "why": "the hot path"}, {"path": "cache.py", "change": "add"}, "b.py"],
 "risks": ["Stale data.", ""]}
```"#,
        )
        .unwrap();
        assert_eq!(p.title, "Cache");
        assert_eq!(p.affected_files.iter().map(|f| f.change).collect::<Vec<_>>(), [Change::Modify, Change::Add, Change::Modify]);
        assert_eq!(p.affected_files[0].why.as_deref(), Some("the hot path"));
        assert_eq!(p.risks, ["Stale data."]);
        let bad = parse_design(r#"{"title": "x", "affected_files": [{"path": "a", "change": "rename"}]}"#).unwrap_err();
        assert!(bad.to_string().contains("unknown change `rename`"), "{bad}");
    }

    #[test]
    fn code_blocks_with_info_strings() {
        let md =
            "Text\n```python quote\ndef f():\n    return 1\n```\n\n~~~json\n{\"a\": 1}\n~~~\n````\n```inner```\n````\n```rust\nfn open() {";
        let blocks = code_blocks(md);
        assert_eq!(blocks.len(), 4);
        assert_eq!((blocks[0].lang.as_str(), blocks[0].quote, blocks[0].line), ("python", true, 2));
        assert_eq!(blocks[0].text, "def f():\n    return 1");
        assert_eq!((blocks[1].lang.as_str(), blocks[1].text.as_str()), ("json", "{\"a\": 1}"));
        assert_eq!((blocks[2].lang.as_str(), blocks[2].text.as_str()), ("", "```inner```"));
        assert_eq!((blocks[3].lang.as_str(), blocks[3].text.as_str()), ("rust", "fn open() {"), "unclosed runs to the end");
        assert_eq!(code_blocks("```quote\nx\n```")[0].lang, "", "a bare marker is no language");
    }

    #[test]
    fn quote_markers_are_removed() {
        let md = "A\n```python quote\nx = 1\n```\n```python\ny = 2\n```\n";
        assert_eq!(without_quote_markers(md), "A\n```python\nx = 1\n```\n```python\ny = 2\n```\n");
        assert_eq!(without_quote_markers("```quote\nx\n```"), "```\nx\n```");
    }
}
