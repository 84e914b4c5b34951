//! Hostile templates: each must fail with a located error, in bounded work.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // tests read their fixtures; panics are test failures

use plse_render::Prepared;
use plse_sampling::Overrides;
use plse_schema::{RenderStyle, load};

fn render_error(name: &str) -> (minijinja::ErrorKind, String) {
    let path = format!("tests/fixtures/hostile/{name}");
    let file = load(&path, &std::fs::read(&path).unwrap());
    let pattern = file.pattern.as_ref().expect("schema-valid; only rendering is hostile");
    let err = Prepared::new(pattern, "hostile").unwrap().render(0, 0, &Overrides::none()).unwrap_err();
    let text = err.to_diagnostic(pattern, &file.source).render(&file.source, RenderStyle::Plain);
    (err.source.kind(), text)
}

#[test]
fn endless_loop_runs_out_of_fuel() {
    let (kind, text) = render_error("endless_loop.yaml");
    assert_eq!(kind, minijinja::ErrorKind::OutOfFuel);
    insta::assert_snapshot!(text);
}

#[test]
fn unbounded_recursion_is_stopped() {
    let (kind, text) = render_error("deep_recursion.yaml");
    assert_eq!(kind, minijinja::ErrorKind::InvalidOperation);
    assert!(text.contains("recursion"), "{text}");
    insta::assert_snapshot!(text);
}
