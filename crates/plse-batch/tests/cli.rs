//! The `plse-batch` binary, run as a user would.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // tests run the binary and read files; panics are test failures

mod common;
use common::root;

use std::path::Path;
use std::process::{Command, Output};

fn plse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plse-batch"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("PLSE_PATTERNS")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn library() -> Vec<serde_json::Value> {
    let out = plse(&["list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap().as_array().unwrap().clone()
}

fn library_ids() -> Vec<String> {
    library().iter().map(|p| p["pattern_id"].as_str().unwrap().to_owned()).collect()
}

fn copy_fixture(dir: &Path, rel: &str, fixture: &str) {
    let dest = dir.join(rel);
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::copy(root().join(fixture), dest).unwrap();
}

#[test]
fn every_command_has_help() {
    for args in [&["--help"][..], &["list", "--help"], &["render", "--help"], &["lint", "--help"]] {
        let out = plse(args);
        assert!(out.status.success(), "{args:?}");
        assert!(stdout(&out).contains("Usage: plse-batch"), "{args:?}: {}", stdout(&out));
    }
    let out = plse(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn list_shows_every_pattern_as_table_json_and_markdown() {
    let ids = library_ids();
    assert!(ids.len() >= 12, "{ids:?}");
    let table = stdout(&plse(&["list"]));
    for id in &ids {
        assert!(table.contains(id.as_str()), "{id} missing from table");
    }
    assert!(table.contains(&format!("{} patterns in patterns", ids.len())));

    let cats: std::collections::BTreeSet<String> = library().iter().map(|p| p["category"].as_str().unwrap().to_owned()).collect();
    for c in ["best_practices", "anti_patterns", "orchestration"] {
        assert!(cats.contains(c), "{cats:?}");
    }

    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("CATALOG.md");
    let out = plse(&["list", "--markdown", md.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains("## Anti Patterns") && text.contains("## Orchestration"), "{text}");
    for id in &ids {
        assert!(text.contains(&format!("`{id}`")), "{id} missing from markdown");
    }
}

#[test]
fn render_is_reproducible_and_honours_overrides() {
    let a = plse(&["render", "python.core.comprehensions", "--seed", "42", "--json"]);
    assert!(a.status.success(), "{}", stderr(&a));
    let b = plse(&["render", "python.core.comprehensions", "--seed", "42", "--json"]);
    assert_eq!(a.stdout, b.stdout, "same triple, same bytes");
    let c = plse(&["render", "python.core.comprehensions", "--seed", "43", "--json"]);
    assert_ne!(a.stdout, c.stdout);

    let rec: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    for field in [
        "id",
        "pattern_id",
        "category",
        "difficulty",
        "tags",
        "concept",
        "seed",
        "index",
        "parameters",
        "instruction",
        "code",
        "tests",
        "explanation",
        "requires",
    ] {
        assert!(rec.get(field).is_some(), "record lacks {field}");
    }
    assert_eq!(rec["seed"], 42);

    let o = plse(&["render", "python.core.comprehensions", "--seed", "42", "--json", "--param", "comp_type=dict"]);
    let rec: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rec["parameters"]["comp_type"], "dict");

    let row = plse(&["render", "python.core.comprehensions", "--seed", "42", "--row"]);
    let row: serde_json::Value = serde_json::from_slice(&row.stdout).unwrap();
    let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
    for k in ["id", "task", "messages", "instruction", "input", "output", "pattern_id", "code", "explanation", "tests"] {
        assert!(keys.iter().any(|x| *x == k), "row lacks {k}: {keys:?}");
    }
    assert!(row.get("verification").is_none(), "render has not verified anything");
    assert_eq!((row["task"].as_str(), row["input"].as_str()), (Some("write"), Some("")));
    assert_eq!(row["messages"][1]["content"], row["output"]);
    assert!(row["output"].as_str().unwrap().starts_with("```python\n"), "{}", row["output"]);

    let text = stdout(&plse(&["render", "python.core.comprehensions", "--seed", "42"]));
    assert!(text.contains("## instruction") && text.contains("## code") && text.contains("## test 1"), "{text}");
    assert!(text.contains("# training row · task write") && text.contains("## assistant\n```python"), "{text}");
}

#[test]
fn render_refuses_bad_overrides_and_unknown_ids() {
    let o = plse(&["render", "python.core.comprehensions", "--param", "comp_type=tuple"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected one of: list, dict, set"), "{}", stderr(&o));
    let o = plse(&["render", "python.core.comprehensions", "--param", "no_such=1"]);
    assert_eq!(o.status.code(), Some(2));
    let o = plse(&["render", "python.core.comprehension"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("did you mean `python.core.comprehensions`?"), "{}", stderr(&o));
    let o = plse(&["list", "--patterns", "no/such/dir"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
}

#[test]
fn paired_pattern_renders_both_sides() {
    let lib = library();
    let id = lib.iter().find(|p| p["paired"] == true).expect("a paired pattern")["pattern_id"].as_str().unwrap().to_owned();
    let text = stdout(&plse(&["render", &id, "--seed", "1"]));
    assert!(text.contains("## code (flawed)") && text.contains("## code (fixed)"), "{text}");
    let flawed = plse(&["render", &id, "--seed", "1", "--json", "--param", "is_anti_pattern=true"]);
    let rec: serde_json::Value = serde_json::from_slice(&flawed.stdout).unwrap();
    assert_eq!(rec["code"], rec["pair"]["flawed"]["code"]);
    assert_ne!(rec["pair"]["flawed"]["code"], rec["pair"]["fixed"]["code"]);
    // The paired switch is the task: the flawed side drawn is a fix, shown in the prompt.
    let fix: serde_json::Value =
        serde_json::from_slice(&plse(&["render", &id, "--seed", "1", "--row", "--param", "is_anti_pattern=true"]).stdout).unwrap();
    assert_eq!(fix["task"], "fix");
    assert_eq!(fix["input"], rec["pair"]["flawed"]["code"]);
    assert_eq!(fix["code"], rec["pair"]["fixed"]["code"]);
    let same: serde_json::Value = serde_json::from_slice(&plse(&["render", &id, "--seed", "1", "--row", "--task", "fix"]).stdout).unwrap();
    assert_eq!(same, fix);
    // A preference pair: the prompt asks for the code, the fix is chosen, the flaw rejected.
    let pair: serde_json::Value = serde_json::from_slice(&plse(&["render", &id, "--seed", "1", "--preference"]).stdout).unwrap();
    assert!(pair["chosen"][0]["content"].as_str().unwrap().contains(rec["pair"]["fixed"]["code"].as_str().unwrap().trim_end()));
    assert!(pair["rejected"][0]["content"].as_str().unwrap().contains(rec["pair"]["flawed"]["code"].as_str().unwrap().trim_end()));
    // Tasks a pattern cannot be drawn as, and contradictions, are refused.
    let o = plse(&["render", &id, "--task", "compare"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("supports: write, fix"), "{}", stderr(&o));
    let o = plse(&["render", &id, "--task", "write", "--param", "is_anti_pattern=true"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(plse(&["render", "python.core.comprehensions", "--preference"]).status.code(), Some(2));
}

#[test]
fn render_of_a_broken_file_shows_located_errors() {
    let o = plse(&["render", "crates/plse-schema/tests/fixtures/invalid/undefined_variable.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("--> crates/plse-schema/tests/fixtures/invalid/undefined_variable.yaml:12:6"), "{err}");
    assert!(err.contains("did you mean `count`?"), "{err}");
    assert!(stdout(&o).is_empty());
}

#[test]
fn lint_passes_the_library() {
    let o = plse(&["lint"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains(" 0 failed"), "{}", stdout(&o));
}

#[test]
fn lint_fails_on_invalid_and_hostile_patterns() {
    let o = plse(&["lint", "crates/plse-schema/tests/fixtures/invalid", "--seeds", "2"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let invalid = std::fs::read_dir(root().join("crates/plse-schema/tests/fixtures/invalid")).unwrap().count();
    assert_eq!(out.lines().filter(|l| l.starts_with("FAIL")).count(), invalid, "{out}");

    let o = plse(&["lint", "crates/plse-render/tests/fixtures/hostile/endless_loop.yaml", "--seeds", "3"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("error[render-error]") && err.contains("endless_loop.yaml:13:3"), "{err}");
    assert!(err.contains("seen with seeds 0, 1, 2"), "{err}");
}

#[test]
fn lint_finds_duplicate_ids_across_files_and_discovers_recursively() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path();
    copy_fixture(lib, "a.yaml", "crates/plse-schema/tests/fixtures/valid/v3_all_types.yaml");
    copy_fixture(lib, "nested/deeper/b.yml", "crates/plse-schema/tests/fixtures/valid/v3_all_types.yaml");
    copy_fixture(lib, "orchestration/legacy.yaml", "crates/plse-schema/tests/fixtures/valid/v2_original.yaml");
    std::fs::write(lib.join("notes.txt"), "not a pattern").unwrap();
    let o = plse(&["lint", "--patterns", lib.to_str().unwrap(), "--seeds", "3"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("error[duplicate-pattern-id]: pattern_id `fixture.all_types` is already used"), "{err}");
    assert!(err.contains("first used at"), "{err}");
    assert_eq!(stdout(&o).lines().filter(|l| l.starts_with("ok") || l.starts_with("FAIL") || l.starts_with("warn")).count(), 3);

    // list still shows the usable patterns, with categories from folders.
    let o = plse(&["list", "--json", "--patterns", lib.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let cats: Vec<&str> = v.as_array().unwrap().iter().map(|p| p["category"].as_str().unwrap()).collect();
    assert_eq!(cats, ["best_practices", "orchestration"]);
    assert!(stderr(&o).contains("1 file(s) have errors"), "{}", stderr(&o));
}

#[test]
fn contributing_example_is_the_library_file_and_valid() {
    let guide = std::fs::read_to_string(root().join("CONTRIBUTING.md")).unwrap();
    let start = guide.find("```yaml\n").unwrap() + "```yaml\n".len();
    let end = start + guide[start..].find("```").unwrap();
    let file = std::fs::read_to_string(root().join("patterns/enumerate_instead_of_range_len.yaml")).unwrap();
    assert_eq!(&guide[start..end], file, "CONTRIBUTING.md's example drifted from the library file");
    let o = plse(&["lint", "patterns/enumerate_instead_of_range_len.yaml"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_fifty_megabyte_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("huge.yaml");
    // Sparse: 50 MB long, no disk used; reading it would still cost time and memory.
    std::fs::File::create(&big).unwrap().set_len(50 * 1024 * 1024).unwrap();
    let o = plse(&["lint", big.to_str().unwrap(), "--patterns", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("error[file-too-large]: file is 52428800 bytes; a pattern file may have at most 1048576"), "{err}");
    assert!(err.contains("huge.yaml:1:1"), "{err}");
}

#[test]
fn render_prints_a_permalink_the_playground_opens() {
    let file = "patterns/anti_patterns/bare_except_swallowing.yaml";
    // The same seed, index and override for a file path and for a pattern id.
    let permalink = |target: &str| {
        let args = ["render", target, "--seed", "7", "--index", "3", "--param", "is_anti_pattern=true"];
        plse(&[&args[..], &["--permalink", "http://127.0.0.1:8080/plse/"]].concat())
    };
    let out = permalink(file);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let link = text.trim_end();
    assert_eq!(text.lines().count(), 1, "{text}");
    let (base, fragment) = link.split_once('#').unwrap();
    assert_eq!(base, "http://127.0.0.1:8080/plse/");
    let session = plse_permalink::Session::from_fragment(fragment).unwrap();
    assert_eq!(session.name, "anti_patterns/bare_except_swallowing.yaml");
    assert_eq!(session.category, "anti_patterns");
    assert_eq!(session.text, std::fs::read_to_string(root().join(file)).unwrap());
    assert_eq!((session.seed(), session.index()), (7, 3));
    assert_eq!(session.params, ["is_anti_pattern=true"]);

    // The same by pattern id; a file outside the library is named by its file name.
    let by_id = permalink("python.anti.bare_except_swallowing");
    let dir = tempfile::tempdir().unwrap();
    copy_fixture(dir.path(), "mine.yaml", file);
    let outside = plse(&["render", dir.path().join("mine.yaml").to_str().unwrap(), "--permalink", "https://example.org/"]);
    let outside = plse_permalink::Session::from_fragment(stdout(&outside).trim_end().split_once('#').unwrap().1).unwrap();
    assert_eq!((outside.name.as_str(), outside.category.as_str()), ("mine.yaml", "best_practices"));
    assert_eq!(stdout(&by_id), text, "{}", stderr(&by_id));

    // Not a web address; combined with an output format.
    let bad = plse(&["render", file, "--permalink", "example.org/plse"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("not an http:// or https:// URL"), "{}", stderr(&bad));
    assert!(bad.stdout.is_empty());
    assert_eq!(plse(&["render", file, "--row", "--permalink", "https://example.org/"]).status.code(), Some(2));
}
