//! Structured output: the JSON Schema of each scene's answer, sent as the request's
//! `response_format` when the run asks for it (`--response-format`).
//!
//! Servers that constrain decoding to a schema (llama.cpp and llama-cpp-python through a
//! grammar, vLLM through guided decoding, OpenAI's strict mode) then return JSON of the shape
//! [`crate::answer`] parses, whatever the model. The schema also narrows what the answer may
//! claim: a question's citations are one of the blocks the prompt showed, whole, so a cited
//! range is one the user turn contains. Validation still runs on every answer: a schema is a
//! request, not a guarantee (a server may ignore it).

use serde_json::{Value, json};

use crate::context::QaContext;

/// How the schema is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    /// No `response_format`: the prompt alone asks for JSON.
    None,
    /// `{"type": "json_object", "schema": S}`: llama.cpp's server, llama-cpp-python, vLLM.
    JsonObject,
    /// `{"type": "json_schema", "json_schema": {"name", "schema": S}}`: OpenAI's structured
    /// outputs (also accepted by llama.cpp's server and vLLM).
    JsonSchema,
}

impl ResponseFormat {
    /// The `response_format` value for `schema` named `name`, if any.
    pub fn wrap(self, name: &str, schema: Value) -> Option<Value> {
        match self {
            Self::None => None,
            Self::JsonObject => Some(json!({ "type": "json_object", "schema": schema })),
            Self::JsonSchema => Some(json!({ "type": "json_schema", "json_schema": { "name": name, "schema": schema } })),
        }
    }
}

/// What a question's text may be (see [`qa`]). The bounds stay small: llama.cpp expands a
/// bounded repetition into one grammar rule per repeat.
pub const QUESTION_PATTERN: &str = "^[A-Za-z`][^\"\\\\\n]{8,400}[?]$";

/// A non-empty string of at least `min` characters.
fn text(min: usize) -> Value {
    json!({ "type": "string", "minLength": min })
}

/// The answer to a question prompt: `questions` items, each citing whole blocks of those shown.
pub fn qa(ctx: &QaContext, questions: usize) -> Value {
    let shown: Vec<Value> =
        ctx.blocks.iter().map(|b| json!({ "path": b.path, "start_line": b.start_line, "end_line": b.end_line })).collect();
    let item = json!({
        "type": "object",
        "properties": {
            // One line that starts with a word or a code span and ends in a question mark. The
            // pattern is matched against the raw characters between the JSON quotes, so it
            // leaves out `"` and `\\`: a grammar built from a broader class lets the model close
            // the string early or write an escape JSON does not have (a small model then
            // writes the whole object inside `question`).
            "question": { "type": "string", "pattern": QUESTION_PATTERN },
            "thinking": text(20),
            "answer": text(40),
            "citations": { "type": "array", "minItems": 1, "maxItems": shown.len(), "items": { "enum": shown } },
        },
        // The prompt asks for `thinking`; a model may still leave it out (a row without a
        // trace is kept; a thin trace is not).
        "required": ["question", "answer", "citations"],
    });
    json!({
        "type": "object",
        "properties": { "questions": { "type": "array", "minItems": 1, "maxItems": questions, "items": item } },
        "required": ["questions"],
    })
}

/// The most repository files a design schema names in its enum (larger repositories leave the
/// path free and rely on validation).
const MAX_ENUM_FILES: usize = 200;

/// The answer to a design prompt; `files` are the repository's files (offered to the model
/// by name; a new file may have any path).
pub fn design(files: &[String]) -> Value {
    let path =
        if files.len() <= MAX_ENUM_FILES && !files.is_empty() { json!({ "anyOf": [ { "enum": files }, text(1) ] }) } else { text(1) };
    let affected = json!({
        "type": "object",
        "properties": { "path": path, "change": { "enum": ["modify", "add", "delete"] }, "why": text(1) },
        "required": ["path", "change", "why"],
    });
    json!({
        "type": "object",
        "properties": {
            "title": text(4),
            "requirement": text(12),
            "thinking": text(1),
            "proposal": text(24),
            "rationale": text(12),
            "affected_files": { "type": "array", "minItems": 1, "maxItems": 12, "items": affected },
            "risks": { "type": "array", "minItems": 1, "maxItems": 8, "items": text(4) },
        },
        "required": ["title", "requirement", "thinking", "proposal", "rationale", "affected_files", "risks"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_are_one_line_without_raw_quotes() {
        let re = regex::Regex::new(QUESTION_PATTERN).unwrap_or_else(|e| panic!("{e}"));
        for q in ["Why does `total` raise for a negative quantity?", "`unit_price` rounds down: when does that cost a cent?"] {
            assert!(re.is_match(q), "{q}");
        }
        // A copied placeholder, a statement, two lines, and characters that would end the
        // JSON string or start an escape inside the grammar's raw match.
        for q in ["...?", "...", "Why does total raise", "Why does\ntotal raise?", "Why does \"total\" raise?", "Why does \\total raise?"] {
            assert!(!re.is_match(q), "{q}");
        }
    }
}
