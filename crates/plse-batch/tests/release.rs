//! Dataset releases from real runs: Hugging Face `datasets` and pyarrow load every config and
//! split, no pattern (or concept) crosses splits, the manifest catches tampering, a planted
//! HumanEval solution is rejected by decontamination, and `diff` reports what changed.
#![allow(clippy::unwrap_used)] // panics are test failures

mod common;
use common::{plse, root};

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

use serde_json::Value;

/// `generate` that must succeed.
fn generate(out: &Path, patterns: &Path, args: &[&str]) -> Output {
    let o = common::generate(out, patterns, args);
    assert!(o.status.success(), "{}\n{}", String::from_utf8_lossy(&o.stderr), String::from_utf8_lossy(&o.stdout));
    o
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Rows of a config's JSONL files, by split.
fn split_rows(release: &Path, config: &str) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for e in std::fs::read_dir(release.join("data").join(config)).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "jsonl") {
            let split = p.file_name().unwrap().to_string_lossy().split('-').next().unwrap().to_owned();
            out.entry(split).or_default().extend(jsonl(&p));
        }
    }
    out
}

/// Groups (by `key`) must not appear in two splits.
fn assert_disjoint(splits: &BTreeMap<String, Vec<Value>>, key: &str) {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (split, rows) in splits {
        for r in rows {
            let g = r[key].as_str().unwrap().to_owned();
            if let Some(other) = seen.insert(g.clone(), split.clone()) {
                assert_eq!(&other, split, "{key} `{g}` is in {other} and {split}");
            }
        }
    }
}

#[test]
#[ignore = "needs the Python test environment with `datasets` and pyarrow (`cargo xtask ci` installs it and runs this)"]
fn generate_writes_a_release_that_datasets_and_pyarrow_load() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &root().join("patterns"), &["--count", "100", "--seed", "4"]);
    let release = dir.path().join("release");
    let manifest = json(&release.join("manifest.json"));
    let script = r#"
import json, sys
import pyarrow.parquet as pq
from datasets import load_dataset
release = sys.argv[1]
manifest = json.load(open(f"{release}/manifest.json"))
out = {"counts": {}, "patterns": {}, "parquet_rows": {}, "features": {}}
for config, splits in manifest["counts"].items():
    out["counts"][config] = {}
    out["patterns"][config] = {}
    for split in splits:
        ds = load_dataset(release, config, split=split)
        out["counts"][config][split] = len(ds)
        out["patterns"][config][split] = sorted(set(ds["pattern_id"]))
    out["features"][config] = {k: repr(v) for k, v in ds.features.items()}
for f in manifest["files"]:
    if f["path"].endswith(".parquet"):
        out["parquet_rows"][f["path"]] = pq.read_table(f"{release}/{f['path']}").num_rows
print(json.dumps(out))
"#;
    let printed = common::run_python(script, &[release.as_os_str()]);
    let got: Value = serde_json::from_str(printed.trim().lines().last().unwrap()).unwrap();
    // Every config and split loads with the number of rows the manifest records.
    assert_eq!(got["counts"], manifest["counts"]);
    let configs: BTreeSet<&str> = manifest["counts"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(configs, BTreeSet::from(["alpaca", "preference", "sft", "sharegpt"]));
    let sft_total: u64 = manifest["counts"]["sft"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(sft_total, 100);
    assert_eq!(manifest["counts"]["sft"].as_object().unwrap().len(), 3, "train, validation and test");
    // No pattern crosses splits, in any config.
    for (config, splits) in got["patterns"].as_object().unwrap() {
        let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
        for (split, patterns) in splits.as_object().unwrap() {
            for p in patterns.as_array().unwrap() {
                let prev = owner.insert(p.as_str().unwrap(), split);
                assert!(prev.is_none_or(|s| s == split), "{config}: {p} in {prev:?} and {split}");
            }
        }
    }
    // pyarrow reads every Parquet file, with the rows the manifest says.
    for f in manifest["files"].as_array().unwrap().iter().filter(|f| f["path"].as_str().unwrap().ends_with(".parquet")) {
        assert_eq!(got["parquet_rows"][f["path"].as_str().unwrap()], f["rows"], "{}", f["path"]);
    }
    // Typed columns a trainer filters on.
    let sft = &got["features"]["sft"];
    assert_eq!(sft["tags"], "List(Value('string'))");
    assert_eq!(sft["verified"], "List(Value('string'))");
    assert_eq!(sft["seed"], "Value('uint64')");
    assert!(sft["messages"].as_str().unwrap().contains("'role': Value('string')"), "{sft}");
    assert!(got["features"]["sharegpt"]["conversations"].as_str().unwrap().contains("'from'"));
    // The card states the achieved split sizes and how to reproduce the run.
    let card = std::fs::read_to_string(release.join("README.md")).unwrap();
    assert!(card.contains("Splits are by **pattern**") && card.contains("plse-batch generate --count 100 --seed 4"), "{card}");
    let o = plse(&["export", "--verify"]).arg(&release).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn export_rebuilds_a_release_with_other_options_and_verify_catches_tampering() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &root().join("patterns"), &["--count", "60", "--seed", "6", "--no-release"]);
    assert!(!dir.path().join("release").exists(), "--no-release");
    let out = dir.path().join("by-concept");
    let o = plse(&["export"])
        .arg(dir.path())
        .arg("--out")
        .arg(&out)
        .args(["--split", "train=0.8,test=0.2", "--split-by", "concept", "--formats", "sft,alpaca", "--license", "apache-2.0"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let configs: BTreeSet<String> =
        std::fs::read_dir(out.join("data")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(configs, BTreeSet::from(["alpaca".to_owned(), "sft".to_owned()]));
    let splits = split_rows(&out, "sft");
    assert_eq!(splits.keys().cloned().collect::<Vec<_>>(), ["test", "train"]);
    assert_disjoint(&splits, "concept");
    assert_eq!(splits.values().map(Vec::len).sum::<usize>(), 60);
    let manifest = json(&out.join("manifest.json"));
    assert_eq!(manifest["split_by"], "concept");
    let card = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(card.starts_with("---\nlicense: apache-2.0\n") && !card.contains("config_name: preference"), "{card}");

    // The manifest is checked file by file.
    let verify = |dir: &Path| plse(&["export", "--verify"]).arg(dir).output().unwrap();
    assert!(verify(&out).status.success());
    let victim = out.join("data/sft/train-00000-of-00001.jsonl");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&victim, bytes).unwrap();
    std::fs::write(out.join("data/sft/extra-00000-of-00001.parquet"), b"x").unwrap();
    std::fs::remove_file(out.join("data/alpaca/test-00000-of-00001.parquet")).unwrap();
    let o = verify(&out);
    assert_eq!(o.status.code(), Some(1), "a release that does not match is a problem found (exit 1)");
    let err = stderr(&o);
    for want in [
        "train-00000-of-00001.jsonl: content differs",
        "extra-00000-of-00001.parquet: not in the manifest",
        "test-00000-of-00001.parquet: missing",
    ] {
        assert!(err.contains(want), "{want}:\n{err}");
    }

    // Bad input gets a clear error and writes nothing.
    let o = plse(&["export"]).arg(dir.path()).args(["--split", "train=0.5,test=0.4"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("add up to 0.9000, not 1"), "{}", stderr(&o));
    let o = plse(&["export", "/no/such/run"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("holds no run"), "{}", stderr(&o));
    assert!(!dir.path().join("release").exists());
}

/// HumanEval/0's canonical solution, planted in a pattern for one of its two variants.
const PLANTED: &str = r#"plse_version: "3"
pattern_id: test.decontam.planted
metadata:
  author: tests
  description: Finds close pairs.
  tags: [t]
  pedagogy: {concept: closeness, difficulty: beginner}
instruction: "Write `close_pair(numbers, threshold)` ({{ variant }}, limit {{ limit }})."
parameters:
  variant: {type: choice, description: v, default: planted, constraints: {options: [planted, own]}}
  limit: {type: int, description: l, default: 1, constraints: {min: 1, max: 40}}
template: |
  LIMIT = {{ limit }}


  def close_pair(numbers: list[float], threshold: float) -> bool:
  {% if variant == "planted" %}
      for idx, elem in enumerate(numbers):
          for idx2, elem2 in enumerate(numbers):
              if idx != idx2:
                  distance = abs(elem - elem2)
                  if distance < threshold:
                      return True

      return False
  {% else %}
      ordered = sorted(numbers)
      return any(b - a < threshold for a, b in zip(ordered, ordered[1:]))
  {% endif %}
explanation: |
  Two values are close when their difference is below the threshold; after sorting, only
  neighbours need comparing, so the check is one pass over adjacent pairs.
validation:
  unit_test_snippets:
    - "assert close_pair([1.0, 2.0, 2.05], 0.1) and not close_pair([1.0, 2.0], 0.5)"
"#;

#[test]
fn decontamination_rejects_a_planted_humaneval_solution_and_the_run_reaches_its_count() {
    let lib = tempfile::tempdir().unwrap();
    std::fs::write(lib.path().join("planted.yaml"), PLANTED).unwrap();
    std::fs::copy(root().join("patterns/enumerate_instead_of_range_len.yaml"), lib.path().join("enumerate.yaml")).unwrap();
    let out = tempfile::tempdir().unwrap();
    generate(out.path(), lib.path(), &["--count", "12", "--seed", "3", "--dedup-threshold", "1"]);
    let rows = jsonl(&out.path().join("training_dataset.jsonl"));
    assert_eq!(rows.len(), 12, "the run still reaches its count");
    assert!(rows.iter().all(|r| !r["code"].as_str().unwrap().contains("for idx2, elem2 in enumerate(numbers)")), "a planted row was kept");
    assert!(rows.iter().any(|r| r["pattern_id"] == "test.decontam.planted"), "the pattern's own variant is kept");
    let rejects = jsonl(&out.path().join("rejects.jsonl"));
    let hits: Vec<&Value> = rejects.iter().filter(|r| r["stage"] == "decontamination").collect();
    assert!(!hits.is_empty(), "no decontamination reject");
    for h in &hits {
        assert_eq!((h["benchmark"].as_str(), h["item"].as_str()), (Some("humaneval"), Some("HumanEval/0")), "{h}");
        assert!(h["reason"].as_str().unwrap().starts_with("matches humaneval HumanEval/0"), "{h}");
    }
    let stats = json(&out.path().join("release/stats.json"));
    assert_eq!(stats["decontamination"]["rejected_in_generate"], hits.len());
    assert_eq!(stats["decontamination"]["by_benchmark"]["humaneval"], hits.len());
    let card = std::fs::read_to_string(out.path().join("release/README.md")).unwrap();
    assert!(card.contains(&format!("{} candidates were rejected during generation", hits.len())), "{card}");

    // A user's benchmark file, by field; the export leaves matching rows out of the release.
    let bench = out.path().join("mine.jsonl");
    std::fs::write(
        &bench,
        "{\"text\": \"ordered = sorted(numbers)\\nreturn any(b - a < threshold for a, b in zip(ordered, ordered[1:]))\", \"other\": 1}\n",
    )
    .unwrap();
    let spec = format!("{}:text", bench.display());
    let o = plse(&["export"])
        .arg(out.path())
        .args(["--out"])
        .arg(out.path().join("r2"))
        .args(["--decontaminate", &spec, "--ngram", "8"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let stats = json(&out.path().join("r2/stats.json"));
    let removed = stats["decontamination"]["removed_in_export"].as_u64().unwrap();
    assert!(removed > 0, "{}", stats["decontamination"]);
    assert_eq!(stats["rows"].as_u64().unwrap() + removed, 12);
}

#[test]
fn diff_reports_rows_counts_and_library_changes() {
    let lib = root().join("patterns");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(a.path(), &lib, &["--count", "40", "--seed", "1"]);
    generate(b.path(), &lib, &["--count", "40", "--seed", "2"]);
    let diff = |x: &Path, y: &Path| {
        let o = plse(&["diff", "--json"]).arg(x.join("release")).arg(y.join("release")).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    let d = diff(a.path(), b.path());
    assert_eq!(d["same_library"], true);
    assert!(d["added"].as_u64().unwrap() > 0 && d["removed"].as_u64().unwrap() > 0, "{d}");
    assert_eq!(d["added"].as_u64().unwrap() + d["changed"].as_u64().unwrap() + d["unchanged"].as_u64().unwrap(), 40);
    assert_eq!(d["arguments"]["seed"], serde_json::json!(["1", "2"]));
    let same = diff(a.path(), a.path());
    assert_eq!((same["added"].as_u64(), same["removed"].as_u64(), same["changed"].as_u64()), (Some(0), Some(0), Some(0)));

    // A library with one more pattern.
    let bigger = tempfile::tempdir().unwrap();
    copy_dir(&lib, bigger.path());
    let extra = std::fs::read_to_string(lib.join("enumerate_instead_of_range_len.yaml"))
        .unwrap()
        .replace("python.core.enumerate", "python.core.enumerate_copy");
    std::fs::write(bigger.path().join("enumerate_copy.yaml"), extra).unwrap();
    // More rows than core patterns: each gets one before any gets two, the new one included.
    let c = tempfile::tempdir().unwrap();
    generate(c.path(), bigger.path(), &["--count", "130", "--seed", "1"]);
    let d = diff(a.path(), c.path());
    assert_eq!(d["same_library"], false);
    assert_eq!(d["patterns_added"], serde_json::json!(["python.core.enumerate_copy"]));
    assert!(d["by_pattern"]["python.core.enumerate_copy"]["new"].as_u64().unwrap() > 0, "{d}");
    let text = plse(&["diff"]).arg(a.path().join("release")).arg(c.path().join("release")).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("library: 1 patterns added") && text.contains("added: python.core.enumerate_copy"), "{text}");
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
