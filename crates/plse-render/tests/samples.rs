//! Rendering: snapshots of fixture samples, determinism, and the library as a whole.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // tests read their fixtures; panics are test failures

use std::path::{Path, PathBuf};

use plse_render::{Prepared, Sample};
use plse_sampling::Overrides;
use plse_schema::{Library, Pattern, load};

fn fixture(name: &str) -> Pattern {
    let path = format!("../plse-schema/tests/fixtures/valid/{name}");
    load(&path, &std::fs::read(&path).unwrap()).pattern.expect("valid fixture")
}

fn render(p: &Pattern, seed: u64, index: u64) -> Sample {
    Prepared::new(p, "fixtures").unwrap().render(seed, index, &Overrides::none()).unwrap()
}

fn library() -> Library {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../patterns");
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p: PathBuf = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                let rel = p.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
                files.push((rel.clone(), load(&rel, &std::fs::read(&p).unwrap())));
            }
        }
    }
    Library::new(files)
}

#[test]
fn fixture_samples_snapshot() {
    for (name, seed, index) in [("v2_original.yaml", 1, 0), ("v2_original.yaml", 2, 5), ("v3_all_types.yaml", 7, 3)] {
        let s = render(&fixture(name), seed, index);
        insta::assert_json_snapshot!(format!("{name}-seed{seed}-index{index}"), s);
    }
}

#[test]
fn same_triple_gives_same_bytes() {
    let p = fixture("v3_all_types.yaml");
    let a = serde_json::to_string(&render(&p, 11, 4)).unwrap();
    let b = serde_json::to_string(&render(&p, 11, 4)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn different_seeds_and_indices_give_different_samples() {
    let p = fixture("v3_all_types.yaml");
    let base = render(&p, 1, 0);
    assert_ne!(base.id, render(&p, 2, 0).id);
    assert_ne!(base.id, render(&p, 1, 1).id);
    let distinct: std::collections::HashSet<String> = (0..50).map(|i| render(&p, 1, i).code).collect();
    assert!(distinct.len() > 40, "only {} distinct codes in 50 samples", distinct.len());
}

#[test]
fn sample_i_does_not_depend_on_drawing_order() {
    let p = fixture("v3_all_types.yaml");
    let prepared = Prepared::new(&p, "fixtures").unwrap();
    let forward: Vec<Sample> = (0..64).map(|i| prepared.render(9, i, &Overrides::none()).unwrap()).collect();
    // A fixed permutation of 0..64 (multiplication by an odd number mod 64).
    for k in 0..64u64 {
        let i = (k * 37 + 11) % 64;
        let fresh = Prepared::new(&p, "fixtures").unwrap();
        assert_eq!(fresh.render(9, i, &Overrides::none()).unwrap(), forward[i as usize]);
    }
}

#[test]
fn draws_stay_within_constraints() {
    let p = fixture("v3_all_types.yaml");
    let (mut flags, mut apples) = (0, 0);
    for i in 0..400 {
        let s = render(&p, 3, i);
        let v = &s.parameters;
        let n = v["n"].as_i64().unwrap();
        assert!((2..=20).contains(&n) && n % 2 == 0, "{n}");
        let ratio = v["ratio"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&ratio) && (ratio * 100.0 - (ratio * 100.0).round()).abs() < 1e-9, "{ratio}");
        let grid = v["grid"].as_f64().unwrap();
        assert!((0.5..=3.0).contains(&grid) && ((grid - 0.5) / 0.25).fract() == 0.0, "{grid}");
        let tags = v["tags"].as_array().unwrap();
        assert!((1..=3).contains(&tags.len()));
        assert_eq!(v["fixed"], "always this");
        assert_eq!(v["total"].as_f64().unwrap(), n as f64 * grid);
        flags += usize::from(v["flag"] == true);
        apples += usize::from(v["unit"] == "apples");
    }
    // probability 0.25 and weight 6/10: loose bounds, far from chance failures at n = 400.
    assert!((60..=140).contains(&flags), "{flags}");
    assert!((190..=290).contains(&apples), "{apples}");
}

#[test]
fn overrides_fix_values_and_reject_bad_ones() {
    let p = fixture("v3_all_types.yaml");
    let o = Overrides::parse(&p, &["n=6", "unit=plums", "tags=blue,red", "flag=true", "ratio=0.123"]).unwrap();
    let s = Prepared::new(&p, "f").unwrap().render(1, 0, &o).unwrap();
    assert_eq!(s.parameters["n"], 6);
    assert_eq!(s.parameters["unit"], "plums");
    assert_eq!(s.parameters["tags"], serde_json::json!(["red", "blue"]));
    assert_eq!(s.parameters["ratio"], 0.12);
    for bad in ["n=7", "n=22", "n=x", "unit=kiwi", "tags=black", "flag=maybe", "total=3", "nope=1", "n"] {
        assert!(Overrides::parse(&p, &[bad]).is_err(), "{bad} should be refused");
    }
}

#[test]
fn paired_patterns_render_both_sides() {
    let p = fixture("v2_original.yaml");
    let s = render(&p, 4, 0);
    let pair = s.pair.as_ref().expect("paired");
    assert!(pair.flawed.code.contains("bucket=[]"));
    assert!(pair.fixed.code.contains("bucket=None"));
    assert!(pair.flawed.tests[0].contains("[1, 2]") && pair.fixed.tests[0].contains("== [2]"));
    let drawn_flawed = s.parameters["is_anti_pattern"] == true;
    assert_eq!(s.code, if drawn_flawed { &pair.flawed.code } else { &pair.fixed.code }.clone());
    assert_eq!(s.row().output, s.code);
    assert_eq!(s.row().input, "");
}

#[test]
fn every_library_pattern_loads_renders_and_varies() {
    let lib = library();
    let broken: Vec<String> = lib
        .entries
        .iter()
        .filter(|e| e.file.has_errors())
        .map(|e| plse_schema::render_all(&e.file.diagnostics, &e.file.source, plse_schema::RenderStyle::Plain))
        .collect();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    assert!(lib.patterns().count() >= 12);
    for (e, p) in lib.patterns() {
        let prepared = Prepared::new(p, &e.category).unwrap();
        let codes: std::collections::HashSet<String> =
            (0..32).map(|seed| prepared.render(seed, 0, &Overrides::none()).unwrap().code).collect();
        assert!(codes.len() > 1, "{} renders the same code for 32 seeds", p.pattern_id);
        assert!(!p.validation.unit_test_snippets.is_empty(), "{} has no tests", p.pattern_id);
        assert!(p.explanation.is_some(), "{} has no explanation", p.pattern_id);
    }
}

#[test]
fn the_meta_pattern_emits_valid_patterns() {
    let lib = library();
    let (entry, meta) = lib.find("plse.meta.paired_pattern_generator").expect("meta-pattern in the library");
    let prepared = Prepared::new(meta, &entry.category).unwrap();
    let mut ids = std::collections::HashSet::new();
    for seed in 0..24 {
        let emitted = prepared.render(seed, 0, &Overrides::none()).unwrap();
        let file = load("emitted.yaml", emitted.code.as_bytes());
        let text = plse_schema::render_all(&file.diagnostics, &file.source, plse_schema::RenderStyle::Plain);
        let pattern = file.pattern.unwrap_or_else(|| panic!("seed {seed} emitted an invalid pattern:\n{text}\n{}", emitted.code));
        assert!(file.diagnostics.is_empty(), "seed {seed}: {text}");
        assert!(pattern.is_paired(), "the meta-pattern teaches paired patterns");
        // And what it emits renders in turn.
        let inner = Prepared::new(&pattern, "emitted").unwrap().render(seed, 1, &Overrides::none()).unwrap();
        assert_ne!(inner.pair.as_ref().unwrap().flawed.code, inner.pair.as_ref().unwrap().fixed.code);
        ids.insert(pattern.pattern_id);
    }
    assert!(ids.len() >= 3, "the meta-pattern should emit several distinct patterns: {ids:?}");
}
