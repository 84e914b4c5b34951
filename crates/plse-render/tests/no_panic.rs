//! No panic on any user input: every library file and fixture, mutated thousands of ways
//! (byte flips, cuts, splices, duplicated lines), goes through load → render → lint.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // tests read their fixtures; panics are test failures

use std::path::{Path, PathBuf};

use plse_render::Prepared;
use plse_render::lint::lint;
use plse_sampling::Overrides;
use plse_schema::{RenderStyle, load, render_all};

/// xorshift64*: a tiny deterministic generator, so a failure reproduces exactly.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
}

/// Tokens that steer mutations into interesting YAML and Jinja territory.
const SPLICES: &[&str] = &[
    "{{",
    "}}",
    "{%",
    "%}",
    "{% for x in range(99999) %}",
    "{% endfor %}",
    "&a",
    "*a",
    "!!str ",
    ": ",
    "- ",
    "\n  ",
    "\t",
    "\"",
    "'",
    "|",
    ">-",
    "[",
    "]",
    "{",
    "}",
    "\u{0}",
    "\u{feff}",
    "é",
    "\u{10ffff}",
    "~",
    "null",
    "-1",
    "1e309",
    "9223372036854775808",
];

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(6) {
            0 if !b.is_empty() => {
                let i = at.min(b.len() - 1);
                b[i] = rng.next() as u8;
            }
            1 => b.truncate(at),
            2 => {
                let s = SPLICES[rng.below(SPLICES.len())].as_bytes();
                b.splice(at..at, s.iter().copied());
            }
            3 if !b.is_empty() => {
                let end = (at + rng.below(40)).min(b.len());
                b.drain(at.min(end)..end);
            }
            4 => {
                // Duplicate a line somewhere else.
                let text = b.clone();
                let lines: Vec<&[u8]> = text.split(|c| *c == b'\n').collect();
                let line = lines[rng.below(lines.len())].to_vec();
                b.splice(at..at, line.into_iter().chain([b'\n']));
            }
            _ => b.insert(at, b' '),
        }
    }
    b
}

#[test]
fn mutated_patterns_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in ["patterns", "crates/plse-schema/tests/fixtures", "crates/plse-render/tests/fixtures"] {
        yaml_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 30);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut loaded, mut rendered) = (0, 0);
    for f in &files {
        let base = std::fs::read(f).unwrap();
        for _ in 0..150 {
            let bytes = mutate(&mut rng, &base);
            let file = load("mutant.yaml", &bytes);
            let _ = render_all(&file.diagnostics, &file.source, RenderStyle::Plain);
            for d in &file.diagnostics {
                let _ = d.to_view(&file.source);
            }
            let Some(p) = &file.pattern else { continue };
            loaded += 1;
            if let Ok(prepared) = Prepared::new(p, "fuzz") {
                for seed in 0..3 {
                    if prepared.render(seed, rng.next(), &Overrides::none()).is_ok() {
                        rendered += 1;
                    }
                }
            }
            let report = lint(p, "fuzz", &file.source, 0..2);
            let _ = render_all(&report.diagnostics, &file.source, RenderStyle::Plain);
        }
    }
    // The mutations must not all be rejected early, or this test would prove little.
    assert!(loaded > 300 && rendered > 800, "loaded {loaded}, rendered {rendered}");
}
