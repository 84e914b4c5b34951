//! Snapshot tests: every invalid fixture's diagnostics (the error text is product), and the
//! parsed shape of every valid fixture.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // tests read their fixtures; panics are test failures

use plse_schema::{Code, RenderStyle, load, render_all};

fn fixture_name(path: &std::path::Path) -> String {
    format!("fixtures/{}/{}", path.parent().unwrap().file_name().unwrap().to_string_lossy(), path.file_name().unwrap().to_string_lossy())
}

#[test]
fn invalid_fixtures_report_every_problem_with_location() {
    insta::glob!("fixtures/invalid/*.yaml", |path| {
        let bytes = std::fs::read(path).unwrap();
        let file = load(&fixture_name(path), &bytes);
        assert!(file.pattern.is_none(), "{} should not load", path.display());
        assert!(file.has_errors());
        let text = render_all(&file.diagnostics, &file.source, RenderStyle::Plain);
        // Every diagnostic names file:line:col.
        for d in &file.diagnostics {
            assert!(text.contains(&d.location(&file.source)), "{text}");
        }
        insta::assert_snapshot!(text);
    });
}

#[test]
fn valid_fixtures_load_without_errors() {
    insta::glob!("fixtures/valid/*.yaml", |path| {
        let bytes = std::fs::read(path).unwrap();
        let file = load(&fixture_name(path), &bytes);
        let text = render_all(&file.diagnostics, &file.source, RenderStyle::Plain);
        assert!(!file.has_errors(), "{text}");
        let p = file.pattern.expect("valid fixture");
        let params: Vec<String> =
            p.parameters.iter().map(|q| format!("{}: {} (default {})", q.name, q.kind.type_name(), q.default)).collect();
        let summary = format!(
            "id: {}\nformat: {:?}\nversion: {}\ndifficulty: {}\nparameters:\n  {}\ntemplates: {}\nrequires: {:?}\nartifact: {:?}\npaired: {}\nwarnings:\n{text}",
            p.pattern_id,
            p.format,
            p.version,
            p.metadata.difficulty.as_str(),
            params.join("\n  "),
            p.templates().iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", "),
            p.requires,
            p.artifact,
            p.is_paired(),
        );
        insta::assert_snapshot!(summary);
    });
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let huge = vec![b'a'; 50 * 1024 * 1024];
    let file = load("huge.yaml", &huge);
    assert_eq!(file.diagnostics.len(), 1);
    assert_eq!(file.diagnostics[0].code, Code::FileTooLarge);
    assert!(file.source.text().is_empty(), "the text of a refused file is not kept");
}

#[test]
fn errors_from_several_sections_are_all_collected() {
    let bytes = std::fs::read("tests/fixtures/invalid/wrong_types.yaml").unwrap();
    let file = load("wrong_types.yaml", &bytes);
    let codes: Vec<Code> = file.diagnostics.iter().map(|d| d.code).collect();
    assert!(codes.iter().filter(|c| **c == Code::WrongType).count() >= 5, "{codes:?}");
}

#[test]
fn json_view_has_one_based_positions() {
    let file = load("x.yaml", b"plse_version: \"3\"\npattern_id: ok\nbogus: 1\n");
    let view: Vec<_> = file.diagnostics.iter().map(|d| d.to_view(&file.source)).collect();
    let unknown = view.iter().find(|v| v.code == Code::UnknownField).unwrap();
    assert_eq!((unknown.line, unknown.column, unknown.end_column), (3, 1, 6));
}
