//! The scenes against the fixture repository: what is asked about, the prompts a fixed chunk
//! and a fixed design render to (snapshots), the checks an answer goes through, and the rows.
#![allow(clippy::unwrap_used)] // panics are test failures

mod common;

use plse_factory::answer::{self, Citation, QaItem};
use plse_factory::context::{self, QaContext};
use plse_factory::prompt::Templates;
use plse_factory::repo::{self, CitationError, Repo, RepoIndex};
use plse_factory::row::{self, RowMeta, Think};
use plse_factory::schedule::{self, Eligibility, Scene};
use plse_factory::validate::{self, BlockOutcome, Reject, Stage};

fn scanned() -> Repo {
    let dir = common::fixture_copy();
    let mut repo = repo::scan(dir.path(), &repo::ScanOptions::default()).unwrap();
    // The temporary directory's name is random; prompts name the repository by it.
    repo.root = "fixture-repo".into();
    repo
}

fn chunk<'r>(repo: &'r Repo, path: &str, name: &str) -> &'r repo::Chunk {
    repo.chunks().find(|c| c.path == path && c.name == name).unwrap_or_else(|| panic!("no chunk {name} in {path}"))
}

fn area_context(repo: &Repo) -> QaContext {
    context::qa_context(repo, chunk(repo, "pkg/shapes.py", "Circle.area"), 900)
}

#[test]
fn the_question_prompt_of_a_fixed_chunk() {
    let repo = scanned();
    let ctx = area_context(&repo);
    assert_eq!(ctx.enclosing.as_deref(), Some("class Circle(Shape)"));
    assert!(ctx.blocks.iter().filter(|b| b.focus).count() == 1);
    assert!(ctx.blocks.windows(2).all(|w| w[0].end_line < w[1].start_line), "blocks are in file order and do not overlap");
    let prompt = Templates::builtin().render_qa(&ctx, 2).unwrap();
    insta::assert_snapshot!("qa_prompt_circle_area", format!("--- system\n{}\n--- user\n{}", prompt.system, prompt.user));
}

#[test]
fn the_design_prompt_of_a_fixed_focus() {
    let repo = scanned();
    let ctx = context::design_context(&repo, "pkg/report.py", 7, 0, 2000);
    assert!(ctx.samples.iter().any(|s| s.path == "pkg/report.py"));
    assert!(ctx.tree.contains("pkg/shapes.py (75 lines): registry, Shape, Circle, Square"), "{}", ctx.tree);
    let short = context::tree_within(&repo, 200, 60);
    assert!(short.len() < 100 && short.ends_with("more files"), "{short}");
    let prompt = Templates::builtin().render_design(&ctx).unwrap();
    insta::assert_snapshot!("design_prompt_report", format!("--- system\n{}\n--- user\n{}", prompt.system, prompt.user));
}

#[test]
fn the_schedule_depends_on_the_seed_only() {
    let repo = scanned();
    let names = |seed| schedule::qa_targets(&repo, &Eligibility::default(), seed).iter().map(|c| c.location()).collect::<Vec<_>>();
    assert_eq!(names(1), names(1));
    assert_ne!(names(1), names(2), "another seed, another order");
    let mut sorted_1 = names(1);
    let mut sorted_2 = names(2);
    sorted_1.sort();
    sorted_2.sort();
    assert_eq!(sorted_1, sorted_2, "the same chunks");
    assert!(names(1).iter().all(|l| !l.starts_with("docs/")), "text is not asked about");
    let designs = schedule::design_targets(&repo, 3);
    assert!(designs.contains(&"pkg/shapes.py") && !designs.contains(&"docs/guide.md"));
}

/// An answer with enough substance to pass, so that the citation is what is judged.
const OK_ANSWER: &str = "It returns pi times the radius squared, the area of the circle.";

/// `code` after a sentence of prose (an answer of code alone is too thin to keep).
fn with_prose(code: &str) -> String {
    format!("{OK_ANSWER}\n\n{code}")
}

fn item(answer: &str, citations: &[(&str, usize, usize)]) -> QaItem {
    QaItem {
        question: "Why does `Circle.area` square the radius?".into(),
        thinking: Some("The area of a circle is pi r squared.".into()),
        answer: answer.into(),
        citations: citations.iter().map(|(p, s, e)| Citation { path: (*p).into(), start_line: *s, end_line: *e }).collect(),
    }
}

#[test]
fn answers_are_checked_against_the_repository_and_the_prompt() {
    let repo = scanned();
    let ctx = area_context(&repo);
    let index = RepoIndex::new(repo.clone());
    let focus = (ctx.focus.path.as_str(), ctx.focus.start_line, ctx.focus.end_line);
    let good = "It is πr²:\n\n```python quote\nreturn math.pi * self.radius ** 2\n```\n\nCall it as:\n\n```python\ntotal = Circle(3.0).area() + Circle(1.0).area()\n```\n\n```json\n{\"radius\": 2}\n```\n\n```rust\nfn f() {}\n```";
    let blocks = validate::check_qa(&index, &ctx, &item(good, &[focus])).unwrap();
    let outcomes: Vec<&BlockOutcome> = blocks.iter().map(|b| &b.outcome).collect();
    assert!(matches!(outcomes[0], BlockOutcome::Quoted { at } if at.path == "pkg/shapes.py"));
    assert_eq!(outcomes[1], &BlockOutcome::Python);
    assert_eq!(blocks[1].code, "total = Circle(3.0).area() + Circle(1.0).area()");
    assert_eq!(outcomes[2], &BlockOutcome::Parsed);
    assert!(matches!(outcomes[3], BlockOutcome::Unchecked { note } if note.contains("rust")));

    let reject = |answer: &str, citations: &[(&str, usize, usize)]| validate::check_qa(&index, &ctx, &item(answer, citations)).unwrap_err();
    let past = reject(OK_ANSWER, &[("pkg/shapes.py", 70, 90)]);
    assert!(matches!(&past, Reject::BadCitation { error: CitationError::PastEnd { .. }, .. }), "{past:?}");
    assert_eq!(past.stage(), Stage::Citation);
    assert!(matches!(reject(OK_ANSWER, &[("pkg/nope.py", 1, 2)]), Reject::BadCitation { error: CitationError::NoSuchFile { .. }, .. }));
    assert!(matches!(reject(OK_ANSWER, &[("pkg/shapes.py", 1, 3)]), Reject::NotShown { .. }), "real lines, but not shown");
    assert_eq!(reject(OK_ANSWER, &[]), Reject::NoCitation);
    assert_eq!(reject("  ", &[focus]), Reject::Empty { field: "answer" });
    let quote = reject(&with_prose("```python quote\nreturn math.tau * self.radius * self.radius\n```"), &[focus]);
    assert!(matches!(&quote, Reject::QuoteNotFound { block: 1, .. }), "{quote:?}");
    assert_eq!(quote.stage(), Stage::Quote);
    let json = reject(&with_prose("```json\n{\"radius\": }\n```"), &[focus]);
    assert!(matches!(&json, Reject::CodeSyntax { block: 1, language, .. } if language == "json"), "{json:?}");
    assert!(matches!(reject(&with_prose("```toml\n[a\nb = 1\n```"), &[focus]), Reject::CodeSyntax { .. }));
    assert!(matches!(reject(&with_prose("```yaml\na: [1, 2\n```"), &[focus]), Reject::CodeSyntax { .. }));
    let short = validate::check_qa(&index, &ctx, &item(&with_prose("```python quote\nreturn 1\n```"), &[focus])).unwrap();
    assert_eq!(short[0].outcome, BlockOutcome::ShortQuote);
}

#[test]
fn designs_are_checked_against_the_repository() {
    let repo = scanned();
    let index = RepoIndex::new(repo);
    let parse = |files: &str| {
        answer::parse_design(&format!(
            r#"{{"title": "Perimeters", "requirement": "Report perimeters.", "proposal": "Add a column.\n\n```python\ndef perimeter_total(shapes):\n    return sum(s.perimeter for s in shapes)\n```", "rationale": "Fits.", "affected_files": {files}, "risks": []}}"#
        ))
        .unwrap()
    };
    let ok = validate::check_design(
        &index,
        &parse(r#"[{"path": "pkg/report.py", "change": "modify"}, {"path": "pkg/perimeter.py", "change": "add"}]"#),
    )
    .unwrap();
    assert_eq!(ok[0].outcome, BlockOutcome::Python);
    let missing = validate::check_design(&index, &parse(r#"[{"path": "report.py", "change": "modify"}]"#)).unwrap_err();
    assert!(matches!(&missing, Reject::MissingFile { path, .. } if path == "report.py"), "{missing:?}");
    assert!(missing.to_string().contains("did you mean"), "{missing}");
    assert_eq!(missing.stage(), Stage::AffectedFiles);
    let exists = validate::check_design(&index, &parse(r#"[{"path": "pkg/shapes.py", "change": "add"}]"#)).unwrap_err();
    assert_eq!(exists, Reject::NewFileExists { path: "pkg/shapes.py".into() });
    assert_eq!(validate::check_design(&index, &parse("[]")).unwrap_err(), Reject::NoAffectedFiles);
}

#[test]
fn a_question_row_carries_the_code_it_needs() {
    let repo = scanned();
    let ctx = area_context(&repo);
    let describe = ctx.blocks.iter().find(|b| !b.focus).unwrap().clone();
    let it = item(
        "It squares the radius.\n\n```python quote\nreturn math.pi * self.radius ** 2\n```",
        &[("pkg/shapes.py", ctx.focus.start_line, ctx.focus.end_line), ("pkg/shapes.py", describe.start_line, describe.start_line)],
    );
    let sha = repo.file("pkg/shapes.py").unwrap().sha256.clone();
    let meta = RowMeta { seed: 3, exchange: 12, model: "m", think: Think::Inline, repo: "fixture-repo", file_sha256: &sha };
    let thinking = row::thinking(Some("Read the return line."), it.thinking.as_deref(), 1);
    let r = row::qa_row(&ctx, &it, 0, thinking, Vec::new(), &meta);
    let user = &r.messages[0].content;
    assert!(user.contains(&ctx.focus.text) && user.contains(&describe.text), "the user turn holds every cited block:\n{user}");
    assert!(user.ends_with("Why does `Circle.area` square the radius?"));
    assert_eq!(
        r.messages[1].content,
        "<think>\nRead the return line.\n</think>\n\nIt squares the radius.\n\n```python\nreturn math.pi * self.radius ** 2\n```"
    );
    assert_eq!(r.thinking.as_deref(), Some("Read the return line."));
    assert_eq!(r.answer.as_deref(), Some("It squares the radius.\n\n```python\nreturn math.pi * self.radius ** 2\n```"));
    assert_eq!((r.pattern_id.as_str(), r.category, r.task), ("pkg/shapes.py", "codebase-qa", Scene::Qa));
    assert!(r.id.starts_with("qa-00012-0-"));
    assert_eq!(r.parameters["thinking_source"], "reasoning");
    let field =
        row::qa_row(&ctx, &it, 0, row::thinking(None, it.thinking.as_deref(), 1), Vec::new(), &RowMeta { think: Think::Field, ..meta });
    assert!(!field.messages[1].content.contains("<think>"));
    assert_eq!(field.parameters["thinking_source"], "field");
}

/// The schema a constrained server decodes to: a question's citations are the blocks shown,
/// whole; each format wraps it as its servers expect; a schema-shaped answer parses.
#[test]
fn the_answer_schema_offers_only_the_blocks_shown() {
    use plse_factory::schema::{self, ResponseFormat};
    let repo = scanned();
    let ctx = area_context(&repo);
    let s = schema::qa(&ctx, 2);
    let offered = s["properties"]["questions"]["items"]["properties"]["citations"]["items"]["enum"].as_array().unwrap().clone();
    assert_eq!(offered.len(), ctx.blocks.len());
    for (o, b) in offered.iter().zip(&ctx.blocks) {
        assert_eq!((o["path"].as_str().unwrap(), o["start_line"].as_u64().unwrap() as usize), (b.path.as_str(), b.start_line));
        assert!(ctx.covering(&b.path, b.start_line, o["end_line"].as_u64().unwrap() as usize).is_some());
    }
    assert_eq!(s["properties"]["questions"]["maxItems"], 2);
    assert!(ResponseFormat::None.wrap("qa", s.clone()).is_none());
    assert_eq!(ResponseFormat::JsonObject.wrap("qa", s.clone()).unwrap()["schema"], s);
    assert_eq!(ResponseFormat::JsonSchema.wrap("qa", s.clone()).unwrap()["json_schema"]["schema"], s);
    let answer = serde_json::json!({ "questions": [{ "question": "What does Circle.area return?", "thinking": "It multiplies.",
        "answer": "The area of the circle, pi times the radius squared.", "citations": [offered[0].clone()] }] });
    let items = plse_factory::answer::parse_qa(&answer.to_string(), 2).unwrap();
    assert_eq!(items.len(), 1);
    assert!(items[0].is_ok());
    let design = schema::design(&["pkg/shapes.py".to_owned()]);
    assert_eq!(
        design["properties"]["affected_files"]["items"]["properties"]["change"]["enum"],
        serde_json::json!(["modify", "add", "delete"])
    );
}
