//! Whether an answer may become a training row: every check a factory candidate passes, with a
//! typed reason ([`Reject`]) and the stage it belongs to ([`Stage`]) when it does not.
//!
//! The rules:
//! - **The exchange**: an answer cut by `max_tokens` (`finish_reason: length`) or empty is
//!   rejected whole; one that holds no JSON of the asked shape too.
//! - **Fields**: a question, answer, title, requirement or proposal may not be empty.
//! - **Citations** (questions): at least one; each must point at lines of a scanned file
//!   ([`RepoIndex::check_citation`]) **and** lie inside the code the prompt showed, so that the
//!   row's user turn, which repeats that code, holds everything the answer relies on.
//! - **Code blocks** (answers, proposals, rationales): a block marked as a quote (its info
//!   string has the word `quote`: ```` ```python quote ````) must be found in the repository
//!   ([`RepoIndex::find_quote`]; a quote under [`MIN_QUOTE_CHARS`] non-whitespace characters
//!   cannot be located and is let through, noted). An unmarked block found verbatim in the
//!   repository is a quote too. Any other block is new code and must parse by its language:
//!   JSON, TOML and YAML here; Python by CPython's `compile()`, which the caller runs (in the
//!   sandbox) on [`BlockOutcome::Python`]; other languages are not checked, noted.
//! - **Affected files** (designs): at least one; a file to modify or delete must exist in the
//!   repository, a file to add must not.

use std::fmt;

use serde::Serialize;
use thiserror::Error;

use crate::answer::{Change, Citation, CodeBlock, Proposal, QaItem, code_blocks};
use crate::context::QaContext;
use crate::repo::{CitationError, MIN_QUOTE_CHARS, QuoteError, QuoteMatch, RepoIndex};

/// Where a candidate was rejected (also the stage statistics' names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// The request failed for this exchange alone (the server refused it: too long, ...).
    Request,
    /// The answer was cut by the token budget.
    Truncated,
    /// The answer holds no JSON of the asked shape.
    Parse,
    /// A required field is empty.
    Empty,
    /// A citation does not hold.
    Citation,
    /// Quoted code is not in the repository.
    Quote,
    /// New code does not parse.
    Code,
    /// A design's affected files do not match the repository.
    AffectedFiles,
    /// Same normalised text as an accepted row of its scene.
    DedupExact,
    /// Near-duplicate of an accepted row of its scene.
    DedupNear,
}

impl Stage {
    /// Every stage a candidate passes, in order.
    pub const ALL: [Stage; 10] = [
        Stage::Request,
        Stage::Truncated,
        Stage::Parse,
        Stage::Empty,
        Stage::Citation,
        Stage::Quote,
        Stage::Code,
        Stage::AffectedFiles,
        Stage::DedupExact,
        Stage::DedupNear,
    ];

    /// The stage's name (`citation`, `dedup-near`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Request => "request",
            Stage::Truncated => "truncated",
            Stage::Parse => "parse",
            Stage::Empty => "empty",
            Stage::Citation => "citation",
            Stage::Quote => "quote",
            Stage::Code => "code",
            Stage::AffectedFiles => "affected-files",
            Stage::DedupExact => "dedup-exact",
            Stage::DedupNear => "dedup-near",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a candidate is not a training row.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Reject {
    /// The server refused this request (and only it).
    #[error("the server refused the request: {detail}")]
    Request {
        /// The server's answer.
        detail: String,
    },
    /// `finish_reason: length`: the answer is cut.
    #[error("the answer was cut at the token limit (finish_reason: length)")]
    Truncated,
    /// No JSON of the asked shape, or a malformed item.
    #[error("{detail}")]
    Unparseable {
        /// What the parser found.
        detail: String,
    },
    /// A required field is empty.
    #[error("the {field} is empty")]
    Empty {
        /// Which field (`answer`, `question`, ...).
        field: &'static str,
    },
    /// A field with too few words to teach anything (`...`, a lone heading).
    #[error("the {field} has {words} word(s); at least {min} are needed")]
    Thin {
        /// Which field.
        field: &'static str,
        /// Its words.
        words: usize,
        /// The least it needs.
        min: usize,
    },
    /// A question that is not a question.
    #[error("the question does not end with a question mark")]
    NotAQuestion,
    /// An answer that only repeats the question.
    #[error("the answer repeats the question")]
    Echo,
    /// An answer without citations.
    #[error("the answer cites no lines")]
    NoCitation,
    /// A citation of lines that do not exist.
    #[error("citation `{citation}`: {error}")]
    BadCitation {
        /// The citation as `path:start-end`.
        citation: String,
        /// Why it does not hold.
        error: CitationError,
    },
    /// A citation of real lines the prompt did not show.
    #[error("citation `{citation}` is outside the code the prompt showed")]
    NotShown {
        /// The citation as `path:start-end`.
        citation: String,
    },
    /// A block marked as a quote that is not in the repository.
    #[error("code block {block} is marked as a quote but is not in the repository: {excerpt}")]
    QuoteNotFound {
        /// The block's number in its text, from 1.
        block: usize,
        /// Its first line.
        excerpt: String,
    },
    /// New code that does not parse.
    #[error("code block {block} ({language}) does not parse: {detail}")]
    CodeSyntax {
        /// The block's number in its text, from 1.
        block: usize,
        /// Its language tag.
        language: String,
        /// The parser's message.
        detail: String,
    },
    /// A design that names no file.
    #[error("the proposal names no affected file")]
    NoAffectedFiles,
    /// A file to modify or delete that the repository does not have.
    #[error("affected file `{path}` ({change}): {error}")]
    MissingFile {
        /// The path given.
        path: String,
        /// `modify` or `delete`.
        change: &'static str,
        /// Why it is not there.
        error: CitationError,
    },
    /// A file to add that already exists.
    #[error("affected file `{path}` is to be added but already exists")]
    NewFileExists {
        /// The path given.
        path: String,
    },
    /// The same normalised text as an accepted row of the scene (judged by the caller, with
    /// the shared dedup index).
    #[error("same normalised text as {of}")]
    Duplicate {
        /// The earlier row's id.
        of: String,
    },
    /// A near-duplicate of an accepted row of the scene.
    #[error("near-duplicate of {of} (Jaccard ≈ {similarity:.2})")]
    NearDuplicate {
        /// The earlier row's id.
        of: String,
        /// The estimated similarity.
        similarity: f64,
    },
}

impl Reject {
    /// The stage this reason belongs to.
    pub fn stage(&self) -> Stage {
        match self {
            Reject::Request { .. } => Stage::Request,
            Reject::Truncated => Stage::Truncated,
            Reject::Unparseable { .. } => Stage::Parse,
            Reject::Empty { .. } | Reject::Thin { .. } | Reject::NotAQuestion | Reject::Echo => Stage::Empty,
            Reject::NoCitation | Reject::BadCitation { .. } | Reject::NotShown { .. } => Stage::Citation,
            Reject::QuoteNotFound { .. } => Stage::Quote,
            Reject::CodeSyntax { .. } => Stage::Code,
            Reject::NoAffectedFiles | Reject::MissingFile { .. } | Reject::NewFileExists { .. } => Stage::AffectedFiles,
            Reject::Duplicate { .. } => Stage::DedupExact,
            Reject::NearDuplicate { .. } => Stage::DedupNear,
        }
    }
}

/// What was found about one code block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum BlockOutcome {
    /// Marked as a quote and found.
    Quoted {
        /// Where.
        at: QuoteMatch,
    },
    /// Marked as a quote, but too short to locate: not checked.
    ShortQuote,
    /// Not marked, but found verbatim in the repository.
    Verbatim {
        /// Where.
        at: QuoteMatch,
    },
    /// New code that parsed (JSON, TOML, YAML).
    Parsed,
    /// New Python code: the caller compiles [`python_source`] of it (and, when that fails
    /// only for a `return`, `await` or `yield` outside a function, [`python_wrapped`]).
    Python,
    /// New Python code that CPython compiled (set by the caller after compiling).
    Compiled,
    /// New code in a language without a parser here: not checked.
    Unchecked {
        /// Why.
        note: String,
    },
}

/// One code block and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockCheck {
    /// The block's number in its text, from 1.
    pub block: usize,
    /// Its language tag.
    pub language: String,
    /// What was found.
    #[serde(flatten)]
    pub outcome: BlockOutcome,
    /// The code (for Python blocks, what the caller compiles; empty otherwise).
    #[serde(skip)]
    pub code: String,
}

/// The exchange as a whole: not cut, not empty.
pub fn check_exchange(content: &str, truncated: bool) -> Result<(), Reject> {
    if truncated {
        return Err(Reject::Truncated);
    }
    if content.trim().is_empty() {
        return Err(Reject::Empty { field: "answer" });
    }
    Ok(())
}

/// A question item against the repository and its prompt's context: the code blocks found,
/// or why it is rejected.
pub fn check_qa(index: &RepoIndex, ctx: &QaContext, item: &QaItem) -> Result<Vec<BlockCheck>, Reject> {
    if item.question.trim().is_empty() {
        return Err(Reject::Empty { field: "question" });
    }
    if item.answer.trim().is_empty() {
        return Err(Reject::Empty { field: "answer" });
    }
    substance(item)?;
    if item.citations.is_empty() {
        return Err(Reject::NoCitation);
    }
    for c in &item.citations {
        check_citation(index, c)?;
        if ctx.covering(&c.path, c.start_line, c.end_line).is_none() {
            return Err(Reject::NotShown { citation: c.location() });
        }
    }
    check_blocks(index, &item.answer)
}

/// The least words a question, an answer and a thinking trace need to teach anything.
pub const MIN_WORDS: [(&str, usize); 3] = [("question", 4), ("answer", 8), ("thinking", 4)];

/// Words: runs of characters holding a letter or digit (`...` and `</h2>` are none).
fn words(text: &str) -> usize {
    text.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).count()
}

/// What every kept question row must be: a question (ending in `?`) of some words, an answer
/// of more that is not the question again, and a thinking trace of some words when there is
/// one. Rows are training targets: `...` is not an answer.
fn substance(item: &QaItem) -> Result<(), Reject> {
    let thinking = item.thinking.as_deref().unwrap_or("");
    for ((field, min), text) in MIN_WORDS.into_iter().zip([&item.question, &item.answer, &thinking.to_owned()]) {
        let n = words(text);
        if n < min && !(field == "thinking" && text.trim().is_empty()) {
            return Err(Reject::Thin { field, words: n, min });
        }
    }
    if !item.question.trim_end().ends_with('?') {
        return Err(Reject::NotAQuestion);
    }
    let norm = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    if norm(&item.answer) == norm(&item.question) {
        return Err(Reject::Echo);
    }
    Ok(())
}

/// A citation against the repository.
pub fn check_citation(index: &RepoIndex, c: &Citation) -> Result<(), Reject> {
    index.check_citation(&c.path, c.start_line, c.end_line).map_err(|error| Reject::BadCitation { citation: c.location(), error })
}

/// A design proposal against the repository: the code blocks found (proposal, then
/// rationale, numbered on), or why it is rejected.
pub fn check_design(index: &RepoIndex, p: &Proposal) -> Result<Vec<BlockCheck>, Reject> {
    for (field, text) in [("title", &p.title), ("requirement", &p.requirement), ("proposal", &p.proposal)] {
        if text.trim().is_empty() {
            return Err(Reject::Empty { field });
        }
    }
    if p.affected_files.is_empty() {
        return Err(Reject::NoAffectedFiles);
    }
    for f in &p.affected_files {
        let exists = match index.check_citation(&f.path, 1, 1) {
            // An empty file has no line 1, and a skipped file is still there.
            Ok(()) | Err(CitationError::PastEnd { .. } | CitationError::Skipped { .. }) => Ok(()),
            Err(e) => Err(e),
        };
        match (f.change, exists) {
            (Change::Add, Ok(())) => return Err(Reject::NewFileExists { path: f.path.clone() }),
            (Change::Add, Err(_)) | (Change::Modify | Change::Delete, Ok(())) => {}
            (change @ (Change::Modify | Change::Delete), Err(error)) => {
                return Err(Reject::MissingFile { path: f.path.clone(), change: change.as_str(), error });
            }
        }
    }
    let mut checks = check_blocks(index, &p.proposal)?;
    let offset = code_blocks(&p.proposal).len();
    for mut c in check_blocks(index, &p.rationale).map_err(|r| renumber(r, offset))? {
        c.block += offset;
        checks.push(c);
    }
    Ok(checks)
}

fn renumber(r: Reject, offset: usize) -> Reject {
    match r {
        Reject::QuoteNotFound { block, excerpt } => Reject::QuoteNotFound { block: block + offset, excerpt },
        Reject::CodeSyntax { block, language, detail } => Reject::CodeSyntax { block: block + offset, language, detail },
        other => other,
    }
}

/// The code blocks of a Markdown text (see the module docs for the rules).
pub fn check_blocks(index: &RepoIndex, markdown: &str) -> Result<Vec<BlockCheck>, Reject> {
    code_blocks(markdown).into_iter().map(|b| check_block(index, &b)).collect()
}

fn check_block(index: &RepoIndex, b: &CodeBlock) -> Result<BlockCheck, Reject> {
    let done = |outcome| Ok(BlockCheck { block: b.number, language: b.lang.clone(), outcome, code: String::new() });
    if b.quote {
        return match index.find_quote(&b.text) {
            Ok(at) => done(BlockOutcome::Quoted { at }),
            Err(QuoteError::TooShort { .. }) => done(BlockOutcome::ShortQuote),
            Err(QuoteError::NotFound) => Err(Reject::QuoteNotFound { block: b.number, excerpt: excerpt(&b.text) }),
        };
    }
    if let Ok(at) = index.find_quote(&b.text) {
        return done(BlockOutcome::Verbatim { at });
    }
    let syntax = |detail: String| Err(Reject::CodeSyntax { block: b.number, language: b.lang.clone(), detail });
    match b.lang.as_str() {
        "python" | "py" | "python3" | "py3" | "pycon" => {
            Ok(BlockCheck { block: b.number, language: b.lang.clone(), outcome: BlockOutcome::Python, code: b.text.clone() })
        }
        "json" => match serde_json::from_str::<serde_json::Value>(&b.text) {
            Ok(_) => done(BlockOutcome::Parsed),
            Err(e) => syntax(e.to_string()),
        },
        "toml" => match b.text.parse::<toml::Table>() {
            Ok(_) => done(BlockOutcome::Parsed),
            Err(e) => syntax(e.message().to_owned()),
        },
        "yaml" | "yml" => match yaml_rust2::YamlLoader::load_from_str(&b.text) {
            Ok(_) => done(BlockOutcome::Parsed),
            Err(e) => syntax(e.to_string()),
        },
        "" => done(BlockOutcome::Unchecked { note: "no language tag: not checked".to_owned() }),
        other => done(BlockOutcome::Unchecked { note: format!("no parser for `{other}` here: not checked") }),
    }
}

fn excerpt(text: &str) -> String {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let mut cut: String = first.chars().take(80).collect();
    if cut.len() < first.len() {
        cut.push('…');
    }
    cut
}

/// The Python source of a block to compile: a console session (`>>>` prompts) becomes its
/// input lines; common indentation is removed.
pub fn python_source(code: &str) -> String {
    let console = code.lines().any(|l| l.trim_start().starts_with(">>>"));
    let lines: Vec<&str> = if console {
        code.lines()
            .filter_map(|l| {
                let t = l.trim_start();
                t.strip_prefix(">>> ").or_else(|| t.strip_prefix("... ")).or_else(|| (t == ">>>" || t == "...").then_some(""))
            })
            .collect()
    } else {
        code.lines().collect()
    };
    dedent(&lines)
}

/// [`python_source`] as the body of an `async def`: for a fragment that uses `return`,
/// `await` or `yield` outside a function, which is new code all the same.
pub fn python_wrapped(code: &str) -> String {
    let body: Vec<String> =
        python_source(code).lines().map(|l| if l.trim().is_empty() { String::new() } else { format!("    {l}") }).collect();
    format!("async def _snippet():\n{}\n    pass\n", body.join("\n"))
}

fn dedent(lines: &[&str]) -> String {
    let indent = lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    lines.iter().map(|l| l.get(indent..).unwrap_or("").trim_end()).collect::<Vec<_>>().join("\n")
}

/// Whether a CPython compile error of a fragment is only about where it stands (a `return`,
/// `await` or `yield` outside a function), so that [`python_wrapped`] decides.
pub fn is_placement_error(message: &str) -> bool {
    message.contains("outside function") || message.contains("outside async function") || message.contains("not properly in loop")
}

/// The note a quote too short to locate gets (see [`MIN_QUOTE_CHARS`]).
pub fn short_quote_note() -> String {
    format!("quote under {MIN_QUOTE_CHARS} characters: not located")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qa(question: &str, thinking: Option<&str>, answer: &str) -> QaItem {
        QaItem { question: question.into(), thinking: thinking.map(Into::into), answer: answer.into(), citations: Vec::new() }
    }

    #[test]
    fn rows_need_substance() {
        let q = "Why does `total` refuse a negative quantity?";
        let a = "Because a negative count of units has no price: it raises ValueError before any arithmetic.";
        assert_eq!(substance(&qa(q, Some("It checks quantity first, then multiplies."), a)), Ok(()));
        assert_eq!(substance(&qa(q, None, a)), Ok(()), "no trace is allowed; a thin one is not");
        assert_eq!(substance(&qa(q, Some("..."), a)), Err(Reject::Thin { field: "thinking", words: 0, min: 4 }));
        assert_eq!(substance(&qa("....the code above", None, a)), Err(Reject::Thin { field: "question", words: 3, min: 4 }));
        assert_eq!(substance(&qa(q, None, "...</h2> <h2>question2.txt")), Err(Reject::Thin { field: "answer", words: 2, min: 8 }));
        assert_eq!(substance(&qa("Explain what total does with negative input", None, a)), Err(Reject::NotAQuestion));
        let long_q = "Why does `total` refuse a negative quantity when every other caller passes zero or more units?";
        assert_eq!(substance(&qa(long_q, None, &long_q.to_uppercase())), Err(Reject::Echo));
        assert_eq!(Reject::Thin { field: "answer", words: 2, min: 8 }.stage(), Stage::Empty);
    }

    #[test]
    fn python_sources() {
        assert_eq!(python_source("    x = 1\n    if x:\n        y = 2"), "x = 1\nif x:\n    y = 2");
        assert_eq!(python_source(">>> x = [1]\n>>> for i in x:\n...     print(i)\n1\n"), "x = [1]\nfor i in x:\n    print(i)");
        assert_eq!(python_wrapped("return 1"), "async def _snippet():\n    return 1\n    pass\n");
        assert!(is_placement_error("SyntaxError: 'return' outside function"));
        assert!(!is_placement_error("SyntaxError: invalid syntax"));
    }

    #[test]
    fn stages_and_reasons() {
        assert_eq!(Reject::Truncated.stage(), Stage::Truncated);
        assert_eq!(Reject::NotShown { citation: "a:1-2".into() }.stage(), Stage::Citation);
        assert_eq!(Stage::AffectedFiles.as_str(), "affected-files");
        assert_eq!(Reject::Empty { field: "answer" }.to_string(), "the answer is empty");
        assert_eq!(check_exchange("x", true), Err(Reject::Truncated));
        assert_eq!(check_exchange(" \n", false), Err(Reject::Empty { field: "answer" }));
        assert_eq!(check_exchange("{}", false), Ok(()));
    }
}
