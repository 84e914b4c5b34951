//! Hostile and odd input: nothing panics, and the chunk invariants hold for every language.
#![allow(clippy::unwrap_used)] // panics are test failures

mod common;

use std::fs;

use plse_factory::repo::{self, ChunkOptions, Language, RepoIndex, ScanOptions, SkipReason, chunk_source};

use common::check_chunks;

const LANGUAGES: [Language; 15] = [
    Language::Python,
    Language::Rust,
    Language::JavaScript,
    Language::TypeScript,
    Language::Go,
    Language::Java,
    Language::C,
    Language::Cpp,
    Language::Shell,
    Language::Yaml,
    Language::Toml,
    Language::Json,
    Language::Markdown,
    Language::Css,
    Language::Text,
];

/// Pieces that matter to some chunker: brackets, quotes of every kind, comment openers,
/// keywords, decorators, line breaks of every kind, tabs, multi-byte characters, NUL.
const PIECES: [&str; 48] = [
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "\"",
    "'",
    "`",
    "\"\"\"",
    "'''",
    "r#\"",
    "\"#",
    "//",
    "/*",
    "*/",
    "#",
    "<!--",
    "```",
    "\\",
    "def ",
    "class ",
    "async def ",
    "fn ",
    "impl ",
    "struct ",
    "func ",
    "function ",
    "mod ",
    "@deco",
    "#[attr]",
    "where",
    ":",
    ";",
    ",",
    "=",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "    ",
    " ",
    "é",
    "日本",
    "\u{feff}",
    "\0",
    "x",
    "'a",
];

/// A small deterministic generator (xorshift64*), so that failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn text(&mut self) -> String {
        let len = self.below(200);
        (0..len).map(|_| PIECES[self.below(PIECES.len())]).collect()
    }
}

fn check(language: Language, text: &str, options: &ChunkOptions) {
    let path = format!("fuzz/input.{}", language.name());
    let chunked = chunk_source(&path, language, text, options);
    let line_count = text.split('\n').count() - usize::from(text.is_empty() || text.ends_with('\n'));
    check_chunks(&path, text, line_count, &chunked.chunks, options.cap_for(language));
    let again = chunk_source(&path, language, text, options);
    assert_eq!(chunked, again, "deterministic");
}

#[test]
fn generated_text_in_every_language() {
    let tight = ChunkOptions { max_lines: 3, text_max_lines: 2, max_depth: 2 };
    let mut rng = Rng(0x5eed_f00d);
    for _ in 0..400 {
        let text = rng.text();
        for language in LANGUAGES {
            check(language, &text, &ChunkOptions::default());
            check(language, &text, &tight);
        }
    }
}

#[test]
fn odd_files_in_every_language() {
    let deep_python: String =
        (0..100).map(|d| format!("{}def f{d}():\n", "    ".repeat(d))).collect::<String>() + &"    ".repeat(100) + "pass\n";
    let long_line = format!("x = \"{}\"\n", "a".repeat(200_000));
    let cases = [
        String::new(),
        "\n".into(),
        "\r\n\r\n".into(),
        "\r".into(),
        "\u{feff}def f():\n    return 1\n".into(),
        "def f():\r\n\treturn 1\r\n\r\nclass A:\r\n\tdef m(self):\r\n\t\tpass\r\n".into(),
        "\t\t\t\n \t \n".into(),
        "é = (1,\n日本 = 2\n".into(),
        "}}}}{{{{\n))))((((\n".into(),
        "(".repeat(5_000),
        "{".repeat(5_000) + &"}".repeat(4_999),
        "/* never closed {\n".repeat(50),
        "\"never closed {\n".repeat(50),
        "r#\"raw { never closed\n".repeat(20),
        "`template {\n".repeat(20),
        "'a 'b' '\\'' '{'\n".repeat(20),
        deep_python,
        long_line,
        "class A:\n".to_owned() + &"    x = 1\n".repeat(500),
        "\0\0\0\n\0".into(),
    ];
    let tight = ChunkOptions { max_lines: 1, text_max_lines: 1, max_depth: 0 };
    let extreme = ChunkOptions { max_lines: 0, text_max_lines: usize::MAX, max_depth: usize::MAX };
    for text in &cases {
        for language in LANGUAGES {
            check(language, text, &ChunkOptions::default());
            check(language, text, &tight);
            check(language, text, &extreme);
        }
    }
}

/// Files a repository may hold, through the whole scan and the index.
#[test]
fn odd_files_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut rng = Rng(42);
    let random: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
    let files: [(&str, &[u8]); 10] = [
        ("empty.py", b""),
        ("bom_crlf.py", b"\xef\xbb\xbfdef f():\r\n    return 1\r\n"),
        ("tabs.rs", b"fn f() {\n\tif x {\n\t\ty();\n\t}\n}\n"),
        ("random.bin", &random),
        ("latin1.txt", b"caf\xe9\n"),
        ("utf16.txt", b"\xff\xfeh\0i\0"),
        ("only_bom.md", b"\xef\xbb\xbf"),
        ("lone_cr.js", b"function f() {\r  return 1;\r}\r"),
        ("deep/a/b/c/d/e/f/g/h.go", b"package h\n"),
        ("cpp/x.hpp", b"template <typename T>\nclass Box {\n  T get() const { return v; }\n};\n"),
    ];
    for (path, bytes) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }
    fs::write(root.join("huge_line.js"), format!("var a = '{}';\n", "x".repeat(20_000))).unwrap();
    #[cfg(unix)]
    unix_oddities(root);

    let options = ScanOptions::default();
    let repo = repo::scan(root, &options).unwrap();
    common::check_invariants(&repo, &options);
    let reason = |path: &str| repo.skipped.iter().find(|s| s.path == path).map(|s| s.reason.clone());
    assert!(matches!(reason("random.bin"), Some(SkipReason::Binary { .. } | SkipReason::NotUtf8 { .. })));
    assert_eq!(reason("latin1.txt"), Some(SkipReason::NotUtf8 { offset: 3 }));
    assert_eq!(reason("utf16.txt"), Some(SkipReason::Binary { offset: 3 }));
    assert!(matches!(reason("huge_line.js"), Some(SkipReason::Minified { by_name: false, .. })));
    assert_eq!(repo.file("empty.py").unwrap().line_count, 0);
    assert_eq!(repo.file("only_bom.md").unwrap().text, "");
    let bom = repo.file("bom_crlf.py").unwrap();
    assert_eq!((bom.chunks[0].name.as_str(), bom.chunks[0].text.as_str()), ("f", "def f():\n    return 1"));
    assert_eq!(repo.file("lone_cr.js").unwrap().line_count, 1, "a lone \\r does not end a line");
    let index = RepoIndex::new(repo);
    assert!(index.check_citation("empty.py", 1, 1).is_err());
    assert!(index.find_quote("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0").is_err());
}

#[cfg(unix)]
fn unix_oddities(root: &std::path::Path) {
    use std::os::unix::ffi::OsStrExt;
    fs::write(root.join(std::ffi::OsStr::from_bytes(b"bad\xffname.py")), b"x = 1\n").unwrap();
    std::os::unix::fs::symlink(".", root.join("loop")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("outside.txt")).unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(root.join("socket")).unwrap();
}

#[cfg(unix)]
#[test]
fn special_files_are_skipped_not_read() {
    let dir = tempfile::tempdir().unwrap();
    unix_oddities(dir.path());
    let repo = repo::scan(dir.path(), &ScanOptions::default()).unwrap();
    let listed: Vec<(String, SkipReason)> = repo.skipped.iter().map(|s| (s.path.clone(), s.reason.clone())).collect();
    assert_eq!(
        listed,
        [
            ("bad\u{fffd}name.py".to_owned(), SkipReason::NonUtf8Path),
            ("loop".to_owned(), SkipReason::Symlink),
            ("outside.txt".to_owned(), SkipReason::Symlink),
            ("socket".to_owned(), SkipReason::NotRegularFile),
        ]
    );
    assert!(repo.files.is_empty());
}
