//! Rows composed from fixture and library patterns, snapshotted: the exact text a model is
//! trained on for each task, the preference pair, and an author's `answer` template.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // tests read their fixtures; panics are test failures

use std::path::Path;

use plse_dataset::{Task, TaskMix, draw, draw_as, preference};
use plse_render::Prepared;
use plse_sampling::Overrides;

fn load(rel: &str) -> plse_schema::Pattern {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read(&path).unwrap();
    let file = plse_schema::load(rel, &text);
    assert!(!file.has_errors(), "{}", plse_schema::render_all(&file.diagnostics, &file.source, plse_schema::RenderStyle::Plain));
    file.pattern.unwrap()
}

fn row(rel: &str, category: &str, task: Task, seed: u64) -> serde_json::Value {
    let pattern = load(rel);
    let prepared = Prepared::new(&pattern, category).unwrap();
    serde_json::to_value(draw_as(&prepared, seed, 0, task, &Overrides::none()).unwrap().row).unwrap()
}

#[test]
fn library_rows_per_task() {
    insta::assert_json_snapshot!("write", row("../../patterns/enumerate_instead_of_range_len.yaml", "best_practices", Task::Write, 1));
    insta::assert_json_snapshot!("fix", row("../../patterns/anti_patterns/mutable_default_argument.yaml", "anti_patterns", Task::Fix, 3));
    insta::assert_json_snapshot!(
        "paired_write",
        row("../../patterns/anti_patterns/mutable_default_argument.yaml", "anti_patterns", Task::Write, 3)
    );
    insta::assert_json_snapshot!("compare", row("../../patterns/tradeoffs/set_vs_list_membership.yaml", "tradeoffs", Task::Compare, 2));
}

#[test]
fn an_answer_template_composes_the_assistant_turn() {
    let fix = row("tests/fixtures/answer_template.yaml", "anti_patterns", Task::Fix, 0);
    let answer = fix["messages"][1]["content"].as_str().unwrap();
    let shape = fix["parameters"]["shape"].as_str().unwrap();
    assert_eq!(
        answer,
        format!(
            "**What is wrong.** It adds the side to itself instead of multiplying.\n\n```python\ndef area(side: float) -> float:\n    return side * side\n```\n\n**Why.** The area of a {shape} is the side times itself. (a {shape}, task fix)"
        )
    );
    assert!(
        fix["messages"][0]["content"]
            .as_str()
            .unwrap()
            .ends_with("```python\ndef area(side: float) -> float:\n    return side + side\n```")
    );
    let write = row("tests/fixtures/answer_template.yaml", "anti_patterns", Task::Write, 0);
    assert!(write["messages"][1]["content"].as_str().unwrap().starts_with("```python\n"), "{}", write["messages"][1]["content"]);
}

#[test]
fn preference_pairs_and_scheduled_tasks() {
    let pattern = load("../../patterns/anti_patterns/mutable_default_argument.yaml");
    let prepared = Prepared::new(&pattern, "anti_patterns").unwrap();
    let drawn = draw(&prepared, "anti_patterns", 3, 0, &TaskMix::default(), &Overrides::none()).unwrap().unwrap();
    insta::assert_json_snapshot!("preference", preference(&drawn.sample).unwrap());
    // The schedule gives both tasks; the mix can exclude one.
    let tasks: std::collections::BTreeSet<Task> = (0..40)
        .map(|i| draw(&prepared, "anti_patterns", 3, i, &TaskMix::default(), &Overrides::none()).unwrap().unwrap().row.task)
        .collect();
    assert_eq!(tasks.into_iter().collect::<Vec<_>>(), [Task::Write, Task::Fix]);
    let only_fix = TaskMix::parse("fix=1").unwrap();
    assert!((0..40).all(|i| draw(&prepared, "anti_patterns", 3, i, &only_fix, &Overrides::none()).unwrap().unwrap().row.task == Task::Fix));
    let enumerate = load("../../patterns/enumerate_instead_of_range_len.yaml");
    let prepared = Prepared::new(&enumerate, "best_practices").unwrap();
    assert!(draw(&prepared, "best_practices", 0, 0, &only_fix, &Overrides::none()).is_none(), "a write-only pattern gets no task");
}

/// A rephrased fix keeps the flawed code after the new instruction, and everything the
/// sandbox verified (answer, code, tests) as it was; the row records the original.
#[test]
fn a_rephrasing_replaces_only_the_instruction() {
    let pattern = load("../../patterns/anti_patterns/mutable_default_argument.yaml");
    let prepared = Prepared::new(&pattern, "anti_patterns").unwrap();
    let row = draw_as(&prepared, 3, 0, Task::Fix, &Overrides::none()).unwrap().row;
    let new = format!("Could you look at this and correct it? {}", row.instruction);
    let out = plse_dataset::rephrase::apply(&row, &new, "gemma-3-270m");
    assert!(out.messages[0].content.starts_with(&new));
    assert!(out.messages[0].content.ends_with(&row.messages[0].content[row.instruction.len()..]));
    assert!(out.messages[0].content.contains(&row.input) && !row.input.is_empty(), "the flawed code stays in the prompt");
    assert_eq!(out.instruction, new);
    assert_eq!((&out.messages[1], &out.output, &out.code, &out.tests), (&row.messages[1], &row.output, &row.code, &row.tests));
    let v = serde_json::to_value(&out).unwrap();
    assert_eq!(v["rephrased"]["original"], row.instruction.as_str());
    assert_eq!(v["rephrased"]["model"], "gemma-3-270m");
    assert!(serde_json::to_value(&row).unwrap().get("rephrased").is_none(), "rows without a rephrasing keep their shape");
}
