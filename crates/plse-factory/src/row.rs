//! What an accepted answer becomes: a chat SFT row with the keys of `plse-dataset`'s
//! `TrainingRow` (so a release built from a run's store carries factory rows like pattern rows)
//! plus the scene's own fields (`question`, `answer`, `citations`; `design`) and the thinking
//! trace in its own field.
//!
//! A row teaches the assistant turn given the user turn, so:
//! - **The user turn holds the code the answer relies on**: for a question, the chunk in
//!   question, the headers of the definitions around it and the shown blocks its citations
//!   fall in, fenced with their language, then the question; for a design, the file tree and the representative code the model saw, then the
//!   requirement. It never refers to code it does not contain.
//! - **The assistant turn is the answer**, with the validator's `quote` markers removed from
//!   its fences; the thinking trace is in `thinking`, and also inlined as a leading
//!   `<think>…</think>` block when [`Think::Inline`].
//! - Rows are a pure function of the exchange and the run's settings: no timings, no hosts.

use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::answer::{Citation, Proposal, QaItem, without_quote_markers};
use crate::context::{DesignContext, QaContext, Shown};
use crate::schedule::Scene;
use crate::validate::BlockCheck;

/// Where the thinking trace goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Think {
    /// In the row's `thinking` field only.
    #[default]
    Field,
    /// In `thinking`, and also as `<think>…</think>` before the answer in the assistant turn.
    Inline,
}

impl Think {
    /// `field` or `inline`.
    pub fn as_str(self) -> &'static str {
        match self {
            Think::Field => "field",
            Think::Inline => "inline",
        }
    }
}

/// Where a row's thinking trace came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThinkingSource {
    /// The model's reasoning channel (`reasoning_content`, or a leading `<think>` block).
    Reasoning,
    /// The reasoning channel of an exchange that answered several questions: one trace for all.
    SharedReasoning,
    /// The `thinking` field the prompt asks for.
    Field,
}

/// The thinking trace of one item of an exchange that answered `items` items: the reasoning
/// channel when the exchange answered one item (the trace is that item's), else the item's own
/// `thinking` field, else the shared reasoning. `None` when the model gave neither.
pub fn thinking(reasoning: Option<&str>, field: Option<&str>, items: usize) -> Option<(String, ThinkingSource)> {
    let reasoning = reasoning.map(str::trim).filter(|r| !r.is_empty());
    let field = field.map(str::trim).filter(|f| !f.is_empty());
    match (reasoning, field) {
        (Some(r), _) if items <= 1 => Some((r.to_owned(), ThinkingSource::Reasoning)),
        (_, Some(f)) => Some((f.to_owned(), ThinkingSource::Field)),
        (Some(r), None) => Some((r.to_owned(), ThinkingSource::SharedReasoning)),
        (None, None) => None,
    }
}

/// One message of a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// `user` or `assistant`.
    pub role: &'static str,
    /// The text.
    pub content: String,
}

/// The artifact of a row (a pattern row's code artifact; an answer here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Artifact {
    /// Always `markdown`: the target is a Markdown answer.
    pub kind: &'static str,
    /// No file.
    pub path: Option<String>,
}

/// How a row was verified.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// The stages it passed, in order.
    pub verified: Vec<&'static str>,
    /// What was found about each code block of the answer.
    pub blocks: Vec<BlockCheck>,
}

/// A factory training row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FactoryRow {
    /// `qa-EXCHANGE-ITEM-HASH` or `design-EXCHANGE-0-HASH`: unique within a run.
    pub id: String,
    /// The scene (`qa`, `design`).
    pub task: Scene,
    /// The exchange: user turn, then assistant turn.
    pub messages: Vec<ChatMessage>,
    /// The thinking trace, if the model gave one.
    pub thinking: Option<String>,
    /// Alpaca: the question (or the requirement and the ask).
    pub instruction: String,
    /// Alpaca: the code context of the user turn.
    pub input: String,
    /// Alpaca: the assistant turn.
    pub output: String,
    /// The source file the row is about (what splits group by).
    pub pattern_id: String,
    /// The first 12 hex digits of that file's SHA-256.
    pub pattern_version: String,
    /// `codebase-qa` or `codebase-design`.
    pub category: &'static str,
    /// Not rated: `unrated`.
    pub difficulty: &'static str,
    /// The chunk's qualified name, or the proposal's title.
    pub concept: String,
    /// `codebase`, the scene, the language (and the chunk kind).
    pub tags: Vec<String>,
    /// The language of the code the row is about.
    pub language: String,
    /// The run's seed.
    pub seed: u64,
    /// The exchange's index in its scene.
    pub index: u64,
    /// Where the row comes from: scene, repository, focus, exchange, item, model, thinking source.
    pub parameters: Map<String, Value>,
    /// The code the row is about: the chunk in question (empty for a design).
    pub code: String,
    /// Empty: the explanation is the assistant turn.
    pub explanation: String,
    /// None.
    pub tests: Vec<String>,
    /// None.
    pub requires: Vec<String>,
    /// A Markdown answer.
    pub artifact: Artifact,
    /// None.
    pub capabilities: Vec<String>,
    /// The question (questions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// The answer without its thinking (questions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// The lines the answer relies on (questions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citations: Option<Vec<Citation>>,
    /// The proposal's fields (designs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub design: Option<Proposal>,
    /// How it was verified.
    pub verification: Verification,
}

impl FactoryRow {
    /// The text duplicates are judged on: the question and its answer, or the proposal's
    /// title, requirement and design.
    pub fn dedup_text(&self) -> String {
        match (&self.question, &self.answer, &self.design) {
            (Some(q), Some(a), _) => format!("{q}\n{a}"),
            (_, _, Some(d)) => format!("{}\n{}\n{}", d.title, d.requirement, d.proposal),
            _ => self.output.clone(),
        }
    }
}

/// What every row of an exchange shares.
#[derive(Debug, Clone, Copy)]
pub struct RowMeta<'a> {
    /// The run's seed.
    pub seed: u64,
    /// The exchange's index in its scene.
    pub exchange: u64,
    /// The model asked (as the request named it).
    pub model: &'a str,
    /// Where the thinking goes.
    pub think: Think,
    /// The repository's name.
    pub repo: &'a str,
    /// The SHA-256 of the file the row is about.
    pub file_sha256: &'a str,
}

/// The stages a row passed.
const VERIFIED: [&str; 6] = ["parse", "empty", "citation", "quote", "code", "dedup"];
const VERIFIED_DESIGN: [&str; 6] = ["parse", "empty", "affected-files", "quote", "code", "dedup"];

/// The row of an accepted question.
pub fn qa_row(
    ctx: &QaContext,
    item: &QaItem,
    item_index: usize,
    thinking: Option<(String, ThinkingSource)>,
    blocks: Vec<BlockCheck>,
    meta: &RowMeta<'_>,
) -> FactoryRow {
    let shown = shown_for(ctx, &item.citations);
    let input = shown.iter().map(|b| block_text(b)).collect::<Vec<_>>().join("\n\n");
    let user = format!("{input}\n\n{}", item.question.trim());
    let answer = without_quote_markers(item.answer.trim());
    let output = assistant(&answer, thinking.as_ref().map(|t| t.0.as_str()), meta.think);
    let focus = &ctx.focus;
    let mut parameters = Map::new();
    parameters.insert("scene".into(), json!("qa"));
    parameters.insert("repo".into(), json!(meta.repo));
    parameters.insert("focus".into(), json!(format!("{}:{}-{}", focus.path, focus.start_line, focus.end_line)));
    parameters.insert("chunk_kind".into(), json!(focus.kind));
    parameters.insert("chunk_name".into(), json!(focus.name));
    parameters.insert("exchange".into(), json!(meta.exchange));
    parameters.insert("item".into(), json!(item_index));
    parameters.insert("model".into(), json!(meta.model));
    parameters.insert("thinking_source".into(), json!(thinking.as_ref().map(|t| t.1)));
    FactoryRow {
        id: row_id(Scene::Qa, meta.exchange, item_index, &item.question),
        task: Scene::Qa,
        messages: vec![ChatMessage { role: "user", content: user }, ChatMessage { role: "assistant", content: output.clone() }],
        thinking: thinking.map(|t| t.0),
        instruction: item.question.trim().to_owned(),
        input,
        output,
        pattern_id: focus.path.clone(),
        pattern_version: short(meta.file_sha256),
        category: Scene::Qa.category(),
        difficulty: "unrated",
        concept: focus.name.clone(),
        tags: vec!["codebase".into(), "qa".into(), focus.language.name().into(), focus.kind.to_string()],
        language: focus.language.name().to_owned(),
        seed: meta.seed,
        index: meta.exchange,
        parameters,
        code: focus.text.clone(),
        explanation: String::new(),
        tests: Vec::new(),
        requires: Vec::new(),
        artifact: Artifact { kind: "markdown", path: None },
        capabilities: Vec::new(),
        question: Some(item.question.trim().to_owned()),
        answer: Some(answer),
        citations: Some(item.citations.clone()),
        design: None,
        verification: Verification { verified: VERIFIED.to_vec(), blocks },
    }
}

/// The row of an accepted design proposal.
pub fn design_row(
    ctx: &DesignContext,
    language: &str,
    proposal: &Proposal,
    thinking: Option<(String, ThinkingSource)>,
    blocks: Vec<BlockCheck>,
    meta: &RowMeta<'_>,
) -> FactoryRow {
    let input = design_input(ctx);
    let instruction = format!(
        "Requirement: {}\n\nDesign this change for the project: the API, data model, storage and workflow changes, why the design fits the existing architecture, the files it touches, and its risks.",
        proposal.requirement.trim()
    );
    let user = format!("{input}\n\n{instruction}");
    let answer = design_answer(proposal);
    let output = assistant(&answer, thinking.as_ref().map(|t| t.0.as_str()), meta.think);
    let mut parameters = Map::new();
    parameters.insert("scene".into(), json!("design"));
    parameters.insert("repo".into(), json!(meta.repo));
    parameters.insert("focus".into(), json!(ctx.focus));
    parameters.insert("exchange".into(), json!(meta.exchange));
    parameters.insert("item".into(), json!(0));
    parameters.insert("model".into(), json!(meta.model));
    parameters.insert("thinking_source".into(), json!(thinking.as_ref().map(|t| t.1)));
    let mut design = proposal.clone();
    design.thinking = None;
    FactoryRow {
        id: row_id(Scene::Design, meta.exchange, 0, &proposal.title),
        task: Scene::Design,
        messages: vec![ChatMessage { role: "user", content: user }, ChatMessage { role: "assistant", content: output.clone() }],
        thinking: thinking.map(|t| t.0),
        instruction,
        input,
        output,
        pattern_id: ctx.focus.clone(),
        pattern_version: short(meta.file_sha256),
        category: Scene::Design.category(),
        difficulty: "unrated",
        concept: proposal.title.trim().to_owned(),
        tags: vec!["codebase".into(), "design".into(), language.to_owned()],
        language: language.to_owned(),
        seed: meta.seed,
        index: meta.exchange,
        parameters,
        code: String::new(),
        explanation: String::new(),
        tests: Vec::new(),
        requires: Vec::new(),
        artifact: Artifact { kind: "markdown", path: None },
        capabilities: Vec::new(),
        question: None,
        answer: None,
        citations: None,
        design: Some(design),
        verification: Verification { verified: VERIFIED_DESIGN.to_vec(), blocks },
    }
}

/// The shown blocks a question's user turn repeats: the chunk in question, the headers of
/// the definitions around it, and every block a citation falls in, in file order.
pub fn shown_for<'c>(ctx: &'c QaContext, citations: &[Citation]) -> Vec<&'c Shown> {
    ctx.blocks.iter().filter(|b| b.focus || b.enclosing || citations.iter().any(|c| b.covers(&c.path, c.start_line, c.end_line))).collect()
}

fn block_text(b: &Shown) -> String {
    format!("`{}`, lines {}-{}:\n{}", b.path, b.start_line, b.end_line, b.fenced())
}

/// The design user turn's context: the tree and the representative code.
fn design_input(ctx: &DesignContext) -> String {
    let mut out = format!("Project `{}`. Its files, with their top-level definitions:\n\n```text\n{}\n```", ctx.repo.name, ctx.tree);
    if !ctx.samples.is_empty() {
        out.push_str("\n\nRepresentative code:");
        for b in &ctx.samples {
            out.push_str("\n\n");
            out.push_str(&block_text(b));
        }
    }
    out
}

/// A proposal as the assistant's Markdown answer.
pub fn design_answer(p: &Proposal) -> String {
    let mut out = format!("## {}\n\n{}", p.title.trim(), without_quote_markers(p.proposal.trim()));
    if !p.rationale.trim().is_empty() {
        out.push_str(&format!("\n\n### Rationale\n\n{}", without_quote_markers(p.rationale.trim())));
    }
    out.push_str("\n\n### Affected files\n");
    for f in &p.affected_files {
        out.push_str(&format!("\n- `{}` ({})", f.path, f.change.as_str()));
        if let Some(why) = f.why.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
            out.push_str(&format!(": {why}"));
        }
    }
    if !p.risks.is_empty() {
        out.push_str("\n\n### Risks\n");
        for r in &p.risks {
            out.push_str(&format!("\n- {r}"));
        }
    }
    out
}

/// The assistant turn: the answer, after `<think>…</think>` when inlined.
fn assistant(answer: &str, thinking: Option<&str>, think: Think) -> String {
    match (think, thinking) {
        (Think::Inline, Some(t)) => format!("<think>\n{t}\n</think>\n\n{answer}"),
        _ => answer.to_owned(),
    }
}

fn row_id(scene: Scene, exchange: u64, item: usize, text: &str) -> String {
    let digest = Sha256::digest(text.trim().as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{scene}-{exchange:05}-{item}-{hash}")
}

fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinking_prefers_the_channel_for_one_item() {
        assert_eq!(thinking(Some("r"), Some("f"), 1), Some(("r".to_owned(), ThinkingSource::Reasoning)));
        assert_eq!(thinking(Some("r"), Some("f"), 3), Some(("f".to_owned(), ThinkingSource::Field)));
        assert_eq!(thinking(Some("r"), None, 3), Some(("r".to_owned(), ThinkingSource::SharedReasoning)));
        assert_eq!(thinking(Some("  "), Some("f"), 1), Some(("f".to_owned(), ThinkingSource::Field)));
        assert_eq!(thinking(None, None, 1), None);
    }

    #[test]
    fn inline_thinking() {
        assert_eq!(assistant("A", Some("T"), Think::Inline), "<think>\nT\n</think>\n\nA");
        assert_eq!(assistant("A", Some("T"), Think::Field), "A");
        assert_eq!(assistant("A", None, Think::Inline), "A");
    }
}
