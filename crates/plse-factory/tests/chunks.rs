//! Chunking one file's text: Python's definitions, names, decorators, docstrings, parts and
//! syntax errors; the brace fallback for Go, Java, C, C++ and TypeScript; text blocks.
#![allow(clippy::unwrap_used)] // panics are test failures

use plse_factory::repo::{Chunk, ChunkOptions, Language, MAX_DEPTH_CEILING, chunk_source};
use sha2::{Digest, Sha256};

fn chunks(path: &str, language: Language, text: &str) -> Vec<Chunk> {
    chunk_source(path, language, text, &ChunkOptions::default()).chunks
}

/// `start-end kind name` per chunk.
fn outline(chunks: &[Chunk]) -> Vec<String> {
    chunks.iter().map(|c| format!("{}-{} {} {}", c.start_line, c.end_line, c.kind, c.name)).collect()
}

const SHAPES: &str = r#"import math


@register
@dataclass(frozen=True)
class Circle(
    Shape,
):
    """A circle.

    Given by its radius.
    """

    radius: float = 1.0

    @property
    async def area(self, *, precise: bool = False) -> float:  # comment
        '''Area.'''
        def exact():
            def deeper():
                return math.pi
            return deeper() * self.radius ** 2
        return exact()


def helper(x):
    return f"""{x}"""
"#;

#[test]
fn python_names_ranges_signatures_and_docstrings() {
    let found = chunks("geo/shapes.py", Language::Python, SHAPES);
    assert_eq!(
        outline(&found),
        [
            "1-1 module geo.shapes",
            "4-23 class Circle",
            "16-23 method Circle.area",
            "19-22 function Circle.area.exact",
            "20-21 function Circle.area.exact.deeper",
            "26-27 function helper",
        ]
    );
    let circle = &found[1];
    assert_eq!(circle.signature.as_deref(), Some("class Circle(Shape,)"));
    assert_eq!(circle.docstring.as_deref(), Some("A circle.\n\nGiven by its radius."));
    assert!(circle.text.starts_with("@register\n@dataclass"), "decorators are in the range");
    let area = &found[2];
    assert_eq!(area.signature.as_deref(), Some("async def area(self, *, precise: bool = False) -> float"));
    assert_eq!(area.docstring.as_deref(), Some("Area."));
    assert_eq!(found[5].docstring, None, "an f-string is not a docstring");
    assert!(found.iter().all(|c| c.path == "geo/shapes.py" && c.language == Language::Python));
}

#[test]
fn python_depth_limit_keeps_inner_definitions_in_their_parent() {
    let options = ChunkOptions { max_depth: 1, ..ChunkOptions::default() };
    let found = chunk_source("shapes.py", Language::Python, SHAPES, &options).chunks;
    let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["shapes", "Circle", "Circle.area", "helper"]);
}

#[test]
fn python_nesting_is_capped_whatever_the_options() {
    let text: String = (0..1000).map(|d| format!("{}def f{d}():\n", " ".repeat(d))).collect::<String>() + &" ".repeat(1000) + "pass\n";
    let options = ChunkOptions { max_depth: usize::MAX, ..ChunkOptions::default() };
    let found = chunk_source("deep.py", Language::Python, &text, &options).chunks;
    let deepest = found.iter().map(|c| c.name.split(' ').next().unwrap_or("").split('.').count()).max();
    assert_eq!(deepest, Some(MAX_DEPTH_CEILING + 1), "top level plus {MAX_DEPTH_CEILING} nested levels");
}

#[test]
fn python_long_bodies_are_cut_at_statements_and_small_statements_grouped() {
    let mut text = String::from("\"\"\"Docs.\"\"\"\nimport os\nimport sys\nX = 1\n\n\ndef long():\n");
    for i in 0..30 {
        text.push_str(&format!("    if x{i}:\n        y = {i}\n"));
    }
    text.push_str("\n\nY = 2\n");
    let options = ChunkOptions { max_lines: 25, ..ChunkOptions::default() };
    let found = chunk_source("m.py", Language::Python, &text, &options).chunks;
    assert_eq!(
        outline(&found),
        [
            "1-4 module m",
            "7-31 function long (part 1/3)",
            "32-55 function long (part 2/3)",
            "56-67 function long (part 3/3)",
            "70-70 module m"
        ]
    );
    assert_eq!(found[0].docstring.as_deref(), Some("Docs."), "the module docstring is on the module chunk");
    assert!(found[1..4].iter().all(|c| c.signature.as_deref() == Some("def long()")), "every part knows its definition");
    assert!(found[2].text.starts_with("    if x"), "parts start at a statement");
}

#[test]
fn python_syntax_errors_are_recorded_and_the_rest_still_chunks() {
    let cases = [
        ("def broken(x)\n    return x * 2\n", "missing colon"),
        ("def broken(x):\n    return x * * 2\n", "bad expression"),
        ("def broken(x):\n    return [x for\n", "unclosed bracket"),
        ("x = (1,\n", "unclosed parenthesis at top level"),
    ];
    for (broken, what) in cases {
        let text = format!("def fine(a):\n    return a\n\n{broken}\n\nclass StillParsed:\n    def method(self):\n        return 1\n");
        let found = chunk_source("b.py", Language::Python, &text, &ChunkOptions::default());
        assert!(!found.syntax_errors.is_empty(), "{what}: the error is recorded");
        let names: Vec<&str> = found.chunks.iter().map(|c| c.name.as_str()).collect();
        assert!(names.contains(&"fine"), "{what}: {names:?}");
        assert!(names.contains(&"StillParsed") && names.contains(&"StillParsed.method"), "{what}: {names:?}");
        let covered = |line: usize| found.chunks.iter().any(|c| (c.start_line..=c.end_line).contains(&line));
        let non_blank = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, _)| i + 1);
        assert!(non_blank.clone().all(covered), "{what}: every line is in a chunk, the broken ones too");
    }
}

#[test]
fn python_syntax_error_positions() {
    let found = chunk_source("e.py", Language::Python, "x = 1\ny = (2,\n", &ChunkOptions::default());
    let first = &found.syntax_errors[0];
    assert_eq!((first.line, first.message.as_str()), (2, "syntax error at `y = (2,`"));
}

#[test]
fn go_java_c_cpp_typescript_fallbacks() {
    let go = "package main\n\nimport (\n\t\"fmt\"\n)\n\ntype Server struct {\n\tname string\n}\n\n// Start starts.\nfunc (s *Server) Start() error {\n\tfmt.Println(\"{\")\n\treturn nil\n}\n\nfunc main() {\n\tvar s = `raw {\nstring`\n\t_ = s\n}\n";
    assert_eq!(
        outline(&chunks("main.go", Language::Go, go)),
        ["1-5 module main.go", "7-9 class Server", "11-15 method Server.Start", "17-21 function main"]
    );
    let java = "package x;\n\nimport java.util.List;\n\n/** Docs. */\npublic final class Shapes {\n    private int n = 0;\n\n    @Override\n    public String toString() {\n        return \"}\";\n    }\n\n    static int twice(int a) { return 2 * a; }\n}\n";
    assert_eq!(
        outline(&chunks("Shapes.java", Language::Java, java)),
        ["1-3 module Shapes.java", "5-15 class Shapes", "9-12 method Shapes.toString", "14-14 method Shapes.twice"]
    );
    let c = "#include <stdio.h>\n\nstatic int\nadd(int a, int b)\n{\n    return a + b; /* } */\n}\n\nstruct point {\n    int x, y;\n};\n\nint main(void) {\n    char c = '{';\n    return add(1, 2);\n}\n";
    assert_eq!(
        outline(&chunks("main.c", Language::C, c)),
        ["1-1 module main.c", "3-7 function add", "9-11 class point", "13-16 function main"]
    );
    let cpp = "namespace geo {\n\nclass Circle : public Shape {\npublic:\n    double area() const {\n        return 3.14 * r * r;\n    }\n};\n\n}\n\ndouble Circle::perimeter() const {\n    return 2 * r;\n}\n";
    assert_eq!(
        outline(&chunks("geo.cpp", Language::Cpp, cpp)),
        ["1-10 module geo", "3-8 class geo::Circle", "12-14 function Circle::perimeter"]
    );
    let ts = "export interface Shape {\n  area(): number;\n}\n\n@Component({\n  selector: \"app\",\n})\nexport class App {\n  title = \"x\";\n\n  render(): string {\n    return `${this.title}`;\n  }\n}\n";
    assert_eq!(outline(&chunks("app.ts", Language::TypeScript, ts)), ["1-3 class Shape", "5-14 class App", "11-13 method App.render"]);
}

#[test]
fn signatures_span_lines_without_comments() {
    let rust = "pub fn largest<T>(items: &[T]) -> Option<&T>\nwhere\n    T: Ord,\n{\n    items.iter().max()\n}\n";
    let found = chunks("lib.rs", Language::Rust, rust);
    assert_eq!(outline(&found), ["1-6 function largest"]);
    assert_eq!(found[0].signature.as_deref(), Some("pub fn largest<T>(items: &[T]) -> Option<&T> where T: Ord,"));
    let commented = "pub fn app(\n    /// The library.\n    library: Vec<Item>,\n) -> View {\n    view()\n}\n";
    let found = chunks("app.rs", Language::Rust, commented);
    assert_eq!(found[0].signature.as_deref(), Some("pub fn app(library: Vec<Item>,) -> View"), "comment lines are left out");
    let python = chunks("f.py", Language::Python, "def f(\n    # the a\n    a,\n):\n    pass\n");
    assert_eq!(python[0].signature.as_deref(), Some("def f(a,)"));
}

#[test]
fn markdown_sections_and_text_blocks() {
    let md = "Intro line.\n\n# Title\n\nText.\n\n## Part ##\n\n```\n# not a heading\n```\n";
    assert_eq!(outline(&chunks("README.md", Language::Markdown, md)), ["1-1 text README.md", "3-5 text Title", "7-11 text Part"]);
    let text: String = (1..=25).map(|i| if i % 5 == 0 { "\n".to_owned() } else { format!("line {i}\n") }).collect();
    let options = ChunkOptions { text_max_lines: 10, ..ChunkOptions::default() };
    let found = chunk_source("notes.txt", Language::Text, &text, &options).chunks;
    assert_eq!(
        outline(&found),
        ["1-9 text notes.txt (part 1/3)", "11-19 text notes.txt (part 2/3)", "21-24 text notes.txt (part 3/3)"],
        "cut after a block, before the cap"
    );
}

#[test]
fn chunk_text_and_hash() {
    let found = chunks("a.py", Language::Python, "def f():\r\n    return 1\r\n");
    assert_eq!(found[0].text, "def f():\n    return 1", "CRLF line breaks are not part of the text");
    let digest: String = Sha256::digest(b"def f():\n    return 1").iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(found[0].sha256, digest);
    assert_eq!(found[0].location(), "a.py:1-2");
}
