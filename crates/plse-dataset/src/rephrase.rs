//! LLM-assisted variety: a row's instruction said another way, with its verified code, tests
//! and answer untouched.
//!
//! A pattern phrases each instruction a few ways; a model can add more. This module is the
//! pure part: the request's messages ([`prompt`]), the check a rephrasing must pass before it
//! replaces anything ([`check`]), and the row with the new instruction ([`apply`]). The
//! provider call and its cache live in `plse-batch`.
//!
//! **Invariant:** a rephrasing only ever replaces the instruction text. The assistant turn,
//! the code, the tests and the verification are the pattern's, so the row's training target
//! is exactly what the sandbox verified; a rephrasing that drops a name, a number or a literal
//! the instruction states (the spec the code was verified against) is refused, and the row
//! keeps its own instruction.

use serde::Serialize;

use crate::TrainingRow;

/// The system turn of a rephrasing request.
pub const SYSTEM: &str = "You rewrite programming task instructions. Say the same task in different words, as a different \
developer might ask it. Keep every name, number, literal and requirement exactly; add nothing, drop nothing, do not solve \
the task, do not add code. Reply with the rewritten instruction only.";

/// The messages (system, user) that ask for a rephrasing of `instruction`.
pub fn prompt(instruction: &str) -> [(&'static str, String); 2] {
    [("system", SYSTEM.to_owned()), ("user", format!("Rewrite this instruction:\n\n{instruction}"))]
}

/// Where a rephrased instruction came from (kept on the row, so a trainer can tell them apart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rephrased {
    /// The pattern's own instruction, which this row's replaced.
    pub original: String,
    /// The model that wrote the new one.
    pub model: String,
}

/// Why a rephrasing was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Nothing, or only whitespace, came back.
    #[error("the rephrasing is empty")]
    Empty,
    /// It is the instruction itself (after trimming and case).
    #[error("the rephrasing repeats the instruction")]
    Unchanged,
    /// Much shorter or longer than the instruction: something was dropped or added.
    #[error("the rephrasing is {got} characters against the instruction's {want}: outside 0.5x-2x")]
    Length {
        /// Its length.
        got: usize,
        /// The instruction's.
        want: usize,
    },
    /// A code fence: a rephrasing must not bring code of its own.
    #[error("the rephrasing contains a code block")]
    Code,
    /// A name, number or literal of the instruction is missing.
    #[error("the rephrasing drops `{0}`, which the instruction states")]
    Drops(String),
}

/// The rephrasing to use, tidied (surrounding quotes and a "Rewritten instruction:" label
/// removed), or why it is refused: it must keep every inline-code span (`` `name` ``), every
/// number and every quoted literal of the instruction, add no code block and stay within half
/// to twice its length.
pub fn check(instruction: &str, candidate: &str) -> Result<String, Refused> {
    let text = tidy(candidate);
    if text.is_empty() {
        return Err(Refused::Empty);
    }
    if text.to_lowercase() == instruction.trim().to_lowercase() {
        return Err(Refused::Unchanged);
    }
    let (got, want) = (text.chars().count(), instruction.trim().chars().count());
    if got * 2 < want || got > want * 2 {
        return Err(Refused::Length { got, want });
    }
    if text.contains("```") {
        return Err(Refused::Code);
    }
    match facts(instruction).into_iter().find(|f| !text.contains(f.as_str())) {
        Some(missing) => Err(Refused::Drops(missing)),
        None => Ok(text),
    }
}

/// `row` with `instruction` in place of its own (the user turn and the Alpaca instruction;
/// a fix keeps the flawed code after it), recording where it came from.
pub fn apply(row: &TrainingRow, instruction: &str, model: &str) -> TrainingRow {
    let mut out = row.clone();
    if let Some(user) = out.messages.first_mut() {
        // The user turn is the instruction, then (for a fix) the flawed code.
        let rest = user.content.strip_prefix(row.instruction.as_str()).unwrap_or("");
        user.content = format!("{instruction}{rest}");
    }
    out.instruction = instruction.to_owned();
    out.rephrased = Some(Rephrased { original: row.instruction.clone(), model: model.to_owned() });
    out
}

/// A model's reply without the wrapping models like to add.
fn tidy(candidate: &str) -> String {
    let mut t = candidate.trim();
    for label in ["Rewritten instruction:", "Rewritten:", "Instruction:"] {
        if let Some(rest) = t.strip_prefix(label) {
            t = rest.trim();
        }
    }
    for (open, close) in [('"', '"'), ('“', '”'), ('\'', '\'')] {
        if t.len() > 2 && t.starts_with(open) && t.ends_with(close) {
            t = t[open.len_utf8()..t.len() - close.len_utf8()].trim();
        }
    }
    t.to_owned()
}

/// What an instruction states that a rephrasing must keep: its inline-code spans, its
/// double-quoted literals and its numbers.
fn facts(instruction: &str) -> Vec<String> {
    let mut out = Vec::new();
    for delim in ['`', '"'] {
        out.extend(instruction.split(delim).skip(1).step_by(2).filter(|s| !s.trim().is_empty() && !s.contains('\n')).map(str::to_owned));
    }
    let outside_code: String = instruction.split('`').step_by(2).collect::<Vec<_>>().join(" ");
    out.extend(
        outside_code
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .map(|s| s.trim_matches('.'))
            .filter(|s| !s.is_empty() && s.chars().any(|c| c.is_ascii_digit()))
            .map(str::to_owned),
    );
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const INSTRUCTION: &str = "Write `parse_rows(text: str) -> list[dict]` that skips lines starting with \"#\" and stops after 100 rows.";

    #[test]
    fn a_faithful_rephrasing_passes_tidied() {
        let ok = "\"I need `parse_rows(text: str) -> list[dict]`: ignore any line beginning with \"#\", and read at most 100 rows.\"";
        let got = check(INSTRUCTION, ok).unwrap();
        assert!(got.starts_with("I need `parse_rows") && !got.ends_with('"'), "{got}");
        assert_eq!(check(INSTRUCTION, &format!("Rewritten instruction: {got}")).unwrap(), got);
    }

    #[test]
    fn dropped_facts_and_other_failures_are_refused() {
        let no_name = "Write a parser that skips lines starting with \"#\" and stops after 100 rows of input text.";
        assert_eq!(check(INSTRUCTION, no_name), Err(Refused::Drops("parse_rows(text: str) -> list[dict]".into())));
        let no_number = "Write `parse_rows(text: str) -> list[dict]` that skips lines starting with \"#\" and stops early.";
        assert_eq!(check(INSTRUCTION, no_number), Err(Refused::Drops("100".into())));
        let no_literal = "Write `parse_rows(text: str) -> list[dict]` that skips comment lines and stops after 100 rows.";
        assert_eq!(check(INSTRUCTION, no_literal), Err(Refused::Drops("#".into())));
        assert_eq!(check(INSTRUCTION, "  "), Err(Refused::Empty));
        assert_eq!(check(INSTRUCTION, &INSTRUCTION.to_uppercase().to_lowercase()), Err(Refused::Unchanged));
        assert!(matches!(check(INSTRUCTION, "`parse_rows(text: str) -> list[dict]` \"#\" 100"), Err(Refused::Length { .. })));
        let code = format!("{INSTRUCTION}\n```python\npass\n```");
        assert_eq!(check(INSTRUCTION, &code), Err(Refused::Code));
    }

    #[test]
    fn numbers_inside_code_spans_count_once_and_versions_stay_whole() {
        let f = facts("Use `range(10)` and Python 3.11, retry 3 times.");
        assert_eq!(f, ["3", "3.11", "range(10)"]);
    }
}
