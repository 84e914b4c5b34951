//! The index answers checked against the fixture repository: citations, quotes, overlaps.
#![allow(clippy::unwrap_used)] // panics are test failures

mod common;

use plse_factory::repo::{self, CitationError, MIN_QUOTE_CHARS, QuoteError, QuoteMatch, RepoIndex, SkipReason};

fn index() -> RepoIndex {
    let dir = common::fixture_copy();
    RepoIndex::new(repo::scan(dir.path(), &common::small_caps()).unwrap())
}

#[test]
fn valid_citations() {
    let index = index();
    assert_eq!(index.check_citation("pkg/shapes.py", 36, 58), Ok(()));
    assert_eq!(index.check_citation("pkg/shapes.py", 75, 75), Ok(()), "the last line");
    assert_eq!(index.check_citation("./pkg\\shapes.py", 1, 1), Ok(()), "./ and backslashes are accepted");
}

#[test]
fn citations_past_the_end_inverted_or_at_line_zero() {
    let index = index();
    let past = index.check_citation("pkg/shapes.py", 70, 76).unwrap_err();
    assert_eq!(past, CitationError::PastEnd { path: "pkg/shapes.py".into(), start: 70, end: 76, line_count: 75 });
    assert_eq!(past.to_string(), "`pkg/shapes.py:70-76` is past the end of the file, which has 75 lines");
    let inverted = index.check_citation("pkg/shapes.py", 20, 10).unwrap_err();
    assert_eq!(inverted, CitationError::Inverted { path: "pkg/shapes.py".into(), start: 20, end: 10 });
    assert_eq!(inverted.to_string(), "`pkg/shapes.py:20-10` is inverted: the range ends before it starts");
    assert_eq!(index.check_citation("pkg/shapes.py", 0, 3), Err(CitationError::LineZero { path: "pkg/shapes.py".into() }));
}

#[test]
fn citations_of_missing_files() {
    let index = index();
    let missing = index.check_citation("shapes.py", 1, 2).unwrap_err();
    assert_eq!(missing, CitationError::NoSuchFile { path: "shapes.py".into(), similar: Some("pkg/shapes.py".into()) });
    assert_eq!(missing.to_string(), "no file `shapes.py` in the repository (did you mean `pkg/shapes.py`?)");
    let nothing_like_it = index.check_citation("src/main.py", 1, 1).unwrap_err();
    assert_eq!(nothing_like_it.to_string(), "no file `src/main.py` in the repository");
    let ignored = index.check_citation("scratch/notes.py", 1, 1).unwrap_err();
    assert!(matches!(ignored, CitationError::NoSuchFile { .. }), "a gitignored file is not in the repository: {ignored}");
}

#[test]
fn citations_of_skipped_files_say_why() {
    let index = index();
    let generated = index.check_citation("pkg/messages_pb2.py", 1, 2).unwrap_err();
    assert!(matches!(&generated, CitationError::Skipped { reason: SkipReason::Generated { .. }, .. }), "{generated:?}");
    assert_eq!(generated.to_string(), "`pkg/messages_pb2.py` was skipped: generated: `DO NOT EDIT` in the header comment, line 2");
    let vendored = index.check_citation("vendor/six.py", 1, 1).unwrap_err();
    assert_eq!(
        vendored,
        CitationError::Skipped { path: "vendor/six.py".into(), reason: SkipReason::Vendored { dir: "vendor".into() } },
        "a file inside a skipped directory"
    );
    let binary = index.check_citation("assets/logo.png", 1, 1).unwrap_err();
    assert!(matches!(binary, CitationError::Skipped { reason: SkipReason::Binary { offset: 8 }, .. }), "{binary:?}");
    let lockfile = index.check_citation("poetry.lock", 1, 1).unwrap_err();
    assert!(matches!(lockfile, CitationError::Skipped { reason: SkipReason::Lockfile, .. }));
}

#[test]
fn quotes_exact_and_reindented() {
    let index = index();
    let at = |path: &str, start_line, end_line| Ok(QuoteMatch { path: path.into(), start_line, end_line });
    assert_eq!(index.find_quote("return math.pi * self.radius ** 2"), at("pkg/shapes.py", 44, 44));
    let reindented = "def area(self) -> float:\n\t\"\"\"Area of the circle.\"\"\"\n\n\n  return   math.pi * self.radius ** 2\n";
    assert_eq!(index.find_quote(reindented), at("pkg/shapes.py", 42, 44), "indentation, spacing and blank lines do not matter");
    let crlf = "pub fn area(&self) -> f64 {\r\n    std::f64::consts::PI * self.radius * self.radius\r\n}";
    assert_eq!(index.find_quote(crlf), at("native/src/lib.rs", 16, 18));
    let partial = "shapes = {}\n\n    def register(cls):\n        shapes[cls.__name__]";
    assert_eq!(index.find_quote(partial), at("pkg/shapes.py", 15, 18), "the last line may stop early");
}

#[test]
fn quotes_too_short_to_count() {
    let index = index();
    assert_eq!(index.find_quote("return x * x"), Err(QuoteError::TooShort { chars: 9, min: MIN_QUOTE_CHARS }));
    assert_eq!(index.find_quote("  \n\n   "), Err(QuoteError::TooShort { chars: 0, min: MIN_QUOTE_CHARS }));
    assert_eq!(index.find_quote("lines.append(FOOTER)").map(|m| (m.path, m.start_line)), Ok(("pkg/report.py".into(), 24)), "20 count");
    assert_eq!(index.find_quote("lines.append(FOOTE"), Err(QuoteError::TooShort { chars: 18, min: 20 }));
    assert_eq!(
        QuoteError::TooShort { chars: 9, min: 20 }.to_string(),
        "the quote is too short to count: 9 non-whitespace characters, at least 20 are needed"
    );
}

#[test]
fn quotes_that_are_not_there() {
    let index = index();
    assert_eq!(index.find_quote("return math.tau * self.radius ** 2"), Err(QuoteError::NotFound));
    assert_eq!(
        index.find_quote("def area(self) -> float:\n    return math.pi * self.radius ** 2"),
        Err(QuoteError::NotFound),
        "a line in between is missing"
    );
    assert_eq!(index.find_quote("PY3 = True and vendored code"), Err(QuoteError::NotFound), "skipped files are not searched");
}

#[test]
fn chunks_overlapping_a_range() {
    let index = index();
    let names = |path: &str, a, b| index.overlapping(path, a, b).iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    assert_eq!(names("pkg/shapes.py", 44, 44), ["Circle (part 1/2)", "Circle.area"]);
    assert_eq!(names("pkg/shapes.py", 52, 54), ["Circle (part 1/2)", "Circle.unit", "Circle (part 2/2)", "Circle.Meta"]);
    assert_eq!(names("pkg/shapes.py", 54, 52), names("pkg/shapes.py", 52, 54), "either order");
    assert!(names("pkg/shapes.py", 11, 12).is_empty(), "blank lines between chunks");
    assert!(names("nowhere.py", 1, 5).is_empty());
}
