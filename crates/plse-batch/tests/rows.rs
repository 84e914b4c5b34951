//! Training rows from real runs: what every assistant turn teaches, fix prompts that contain
//! their flawed code, verifier-safe tests, lint by kind, byte-identical reruns, preference
//! pairs, and the security stage.
#![allow(clippy::unwrap_used)] // panics are test failures

mod common;
use common::{generate, is_root, plse, root};

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde_json::Value;

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// Keys anywhere in a JSON value.
fn keys(v: &Value, out: &mut HashSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.insert(k.clone());
                keys(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| keys(x, out)),
        _ => {}
    }
}

/// Whether a paragraph of prose still has line breaks inside it (lists, tables and code aside).
fn hard_wrapped(text: &str) -> bool {
    let mut in_fence = false;
    text.split("\n\n").any(|para| {
        para.lines().skip(1).any(|l| {
            if l.trim_start().starts_with("```") {
                in_fence = !in_fence;
            }
            let structural = in_fence
                || l.starts_with("- ")
                || l.starts_with("* ")
                || l.starts_with("    ")
                || l.starts_with('|')
                || l.starts_with("```")
                || l.split_once(". ").is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit()));
            !structural
        }) && !para.starts_with("```")
    })
}

/// What every row of a run must satisfy. Returns the count of rows per task.
fn check_rows(rows: &[Value]) -> BTreeMap<String, usize> {
    let mut tasks = BTreeMap::new();
    for r in rows {
        let id = s(&r["id"]);
        let task = s(&r["task"]);
        *tasks.entry(task.to_owned()).or_default() += 1;
        let msgs = r["messages"].as_array().unwrap();
        assert_eq!((s(&msgs[0]["role"]), s(&msgs[1]["role"])), ("user", "assistant"), "{id}");
        let (user, answer) = (s(&msgs[0]["content"]), s(&msgs[1]["content"]));
        assert_eq!(r["output"], msgs[1]["content"], "{id}: Alpaca output is the assistant turn");
        // A fenced block with the language tag, holding the answer's code.
        let lang = s(&r["language"]);
        assert!(!lang.is_empty());
        assert!(
            answer.contains(&format!("```{lang}\n{}\n```", s(&r["code"]).trim_end_matches('\n'))),
            "{id}: no ```{lang} block with the code:\n{answer}"
        );
        // Prose from the explanation, every paragraph of it.
        let explanation = s(&r["explanation"]);
        assert!(explanation.split_whitespace().count() >= 8, "{id}: no real prose: {explanation:?}");
        for para in explanation.split("\n\n") {
            assert!(answer.contains(para), "{id}: explanation paragraph missing from the answer: {para:?}");
        }
        assert!(!hard_wrapped(explanation), "{id}: YAML hard wraps left in the prose: {explanation:?}");
        match r.get("pair") {
            Some(pair) if !pair.is_null() => {
                let (flawed, fixed) = (s(&pair["flawed"]["code"]), s(&pair["fixed"]["code"]));
                assert_ne!(norm(flawed), norm(fixed));
                // The fixed code may legitimately keep the flawed function whole (a fix that adds
                // `@cache` above it), so look for the flawed code outside the answer's code block.
                let outside = answer.replace(fixed.trim_end_matches('\n'), "");
                assert!(!norm(&outside).contains(&norm(flawed)), "{id}: the flawed code is a training target:\n{answer}");
                assert_eq!(s(&r["code"]), fixed, "{id}: the answer's code is the fixed side");
                let verified: Vec<&str> = r["verification"]["verified"].as_array().unwrap().iter().map(s).collect();
                assert!(verified.contains(&"defect-shown"), "{id}: {verified:?}");
                if task == "fix" {
                    assert!(
                        user.contains(&format!("```{lang}\n{}\n```", flawed.trim_end_matches('\n'))),
                        "{id}: fix prompt lacks its flawed code:\n{user}"
                    );
                    assert_eq!(s(&r["input"]), flawed, "{id}: Alpaca input is the flawed code");
                    assert!(s(&r["verification"]["proof"]).contains("fail on the flawed code"), "{id}");
                } else {
                    assert_eq!(task, "write", "{id}");
                    assert!(!norm(user).contains(&norm(flawed)), "{id}");
                    assert_eq!(s(&r["input"]), "", "{id}");
                }
            }
            _ => {
                assert_ne!(task, "fix", "{id}: only paired patterns give fix rows");
                assert_eq!(s(&r["input"]), "", "{id}");
                assert_eq!(task == "compare", s(&r["category"]) == "tradeoffs", "{id}: trade-offs are compare tasks");
            }
        }
        // Lint by kind: ruff only for Python; other kinds record their validator's findings.
        let kind = s(&r["artifact"]["kind"]);
        for side in r["verification"]["lint"].as_array().unwrap() {
            for f in side["findings"].as_array().unwrap() {
                let code = s(&f["code"]);
                assert_ne!(code, "invalid-syntax", "{id}: {f}");
                if kind != "python" {
                    assert!(code.contains('-'), "{id}: a {kind} artifact got a ruff finding {f}");
                }
            }
        }
        // Deterministic rows: no timings.
        let mut all = HashSet::new();
        keys(r, &mut all);
        assert!(!all.iter().any(|k| k.contains("duration") || k.ends_with("_ms")), "{id}: timing in a row: {all:?}");
    }
    tasks
}

/// The stored tests of paired rows are the fixed side's (the ones the answer passes), as
/// `render` shows them for the same sample.
fn check_verifier_tests(rows: &[Value]) {
    for r in rows.iter().filter(|r| !r["pair"].is_null()) {
        let (seed, index) = (r["seed"].to_string(), r["index"].to_string());
        let o =
            plse(&["render", s(&r["pattern_id"]), "--seed", &seed, "--index", &index, "--task", s(&r["task"]), "--json"]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let rec: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(r["tests"], rec["pair"]["fixed"]["tests"], "{}", r["id"]);
        assert_ne!(r["tests"], rec["pair"]["flawed"]["tests"], "{}: flawed-side tests exported as a verifier", r["id"]);
    }
}

fn check_preference(pairs: &[Value], rows: &[Value]) {
    let paired: HashSet<&str> = rows.iter().filter(|r| !r["pair"].is_null()).map(|r| s(&r["pattern_id"])).collect();
    let with_pairs: HashSet<&str> = pairs.iter().map(|p| s(&p["pattern_id"])).collect();
    assert_eq!(paired, with_pairs, "every paired pattern with rows yields preference pairs");
    let mut ids = HashSet::new();
    for p in pairs {
        assert!(ids.insert(s(&p["id"])), "duplicate pair {}", p["id"]);
        let (prompt, chosen, rejected) = (&p["prompt"][0], &p["chosen"][0], &p["rejected"][0]);
        assert_eq!((s(&prompt["role"]), s(&chosen["role"]), s(&rejected["role"])), ("user", "assistant", "assistant"));
        assert_ne!(chosen["content"], rejected["content"]);
        assert!(s(&chosen["content"]).starts_with("```") || s(&chosen["content"]).starts_with('`'), "{p}");
    }
}

#[test]
fn default_run_rows_teach_the_right_thing_and_repeat_byte_for_byte() {
    let lib = root().join("patterns");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [&a, &b] {
        let o = generate(dir.path(), &lib, &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    for file in ["training_dataset.jsonl", "preference.jsonl"] {
        let (x, y) = (std::fs::read(a.path().join(file)).unwrap(), std::fs::read(b.path().join(file)).unwrap());
        assert!(x == y, "{file} differs between two identical runs");
    }
    let rows = jsonl(&a.path().join("training_dataset.jsonl"));
    assert_eq!(rows.len(), 100);
    let tasks = check_rows(&rows);
    for t in ["write", "fix", "compare"] {
        assert!(tasks.get(t).copied().unwrap_or(0) > 0, "no {t} rows: {tasks:?}");
    }
    check_verifier_tests(&rows);
    check_preference(&jsonl(&a.path().join("preference.jsonl")), &rows);
}

#[test]
fn thousand_row_run_rows_teach_the_right_thing() {
    let dir = tempfile::tempdir().unwrap();
    let o = generate(dir.path(), &root().join("patterns"), &["--count", "1000", "--seed", "5", "--dedup-threshold", "1"]);
    assert!(o.status.success(), "{}\n{}", String::from_utf8_lossy(&o.stderr), String::from_utf8_lossy(&o.stdout));
    let rows = jsonl(&dir.path().join("training_dataset.jsonl"));
    assert_eq!(rows.len(), 1000);
    check_rows(&rows);
    check_preference(&jsonl(&dir.path().join("preference.jsonl")), &rows);
}

#[test]
fn the_task_mix_decides_the_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let o = generate(dir.path(), &root().join("patterns"), &["--count", "12", "--tasks", "fix=1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("left out"), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = jsonl(&dir.path().join("training_dataset.jsonl"));
    assert!(rows.iter().all(|r| r["task"] == "fix"), "--tasks fix=1 gives fix rows only");
    let o = generate(tempfile::tempdir().unwrap().path(), &root().join("patterns"), &["--tasks", "mend=1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown task `mend`"));
}

const PROBE: &str = r#"plse_version: "3"
pattern_id: test.security.port_probe
metadata:
  author: tests
  description: Reports whether a TCP service answers on a local port.
  tags: [network]
  pedagogy: {concept: sockets, difficulty: beginner}
instruction: "Write `reachable(port)` that reports whether a TCP service answers on localhost port {{ port }}."
parameters:
  port: {type: int, description: the port, default: 8000, constraints: {min: 8000, max: 8050}}
CAPABILITIES
template: |
  import socket


  def reachable(port: int = {{ port }}, timeout: float = 0.2) -> bool:
      """Whether something accepts TCP connections on localhost:port."""
      try:
          with socket.create_connection(("127.0.0.1", port), timeout=timeout):
              return True
      except OSError:
          return False
explanation: |
  `socket.create_connection` resolves the address and connects with a timeout; a refused or
  unreachable port raises `OSError`, which becomes `False`.
validation:
  unit_test_snippets:
    - "assert reachable() is False"
"#;

#[test]
fn security_stage_rejects_an_undeclared_network_call_and_accepts_a_declared_one() {
    for declared in [false, true] {
        let lib = tempfile::tempdir().unwrap();
        let text = PROBE.replace("CAPABILITIES", if declared { "capabilities: [network]" } else { "" });
        std::fs::write(lib.path().join("probe.yaml"), text).unwrap();
        let out = tempfile::tempdir().unwrap();
        let o = generate(out.path(), lib.path(), &["--count", "4", "--dedup-threshold", "1"]);
        let rejects = jsonl(&out.path().join("rejects.jsonl"));
        let rows = jsonl(&out.path().join("training_dataset.jsonl"));
        if declared {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(rows.len(), 4);
            for r in &rows {
                assert_eq!(r["capabilities"], serde_json::json!(["network"]));
                let sec = r["verification"]["stages"].as_array().unwrap().iter().find(|st| st["stage"] == "security").unwrap();
                assert_eq!((sec["ok"].as_bool(), s(&sec["message"])), (Some(true), "uses declared capabilities: network"));
            }
            assert!(rejects.iter().all(|r| r["stage"] != "security"));
        } else {
            assert_eq!(o.status.code(), Some(1), "the run cannot reach its count");
            assert!(rows.is_empty());
            assert!(!rejects.is_empty());
            for r in &rejects {
                assert_eq!(s(&r["stage"]), "security", "{r}");
                let reason = s(&r["reason"]);
                assert!(reason.contains("SEC001") && reason.contains("network") && reason.contains("capabilities: [network]"), "{reason}");
            }
        }
    }
}

/// One pattern per capability, none declared: each is rejected by the security stage with the
/// rule that saw it; a clean control passes.
#[test]
fn security_scan_names_each_capability() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "network",
            "import socket\n\n\ndef connect(port: int) -> socket.socket:\n    return socket.create_connection((\"127.0.0.1\", port))",
            "SEC001",
        ),
        ("subprocess", "import subprocess\n\n\ndef run() -> None:\n    subprocess.run([\"true\"], check=True)", "SEC010"),
        ("environment", "import os\n\n\ndef home() -> str | None:\n    return os.environ.get(\"HOME\")", "SEC020"),
        (
            "filesystem",
            "def hostname() -> str:\n    with open(\"/etc/hostname\", encoding=\"utf-8\") as f:\n        return f.read()",
            "SEC031",
        ),
        ("signals", "import os\nimport signal\n\n\ndef stop_parent() -> None:\n    os.kill(os.getppid(), signal.SIGTERM)", "SEC040"),
        ("detach", "import os\n\n\ndef detach() -> None:\n    os.setsid()", "SEC050"),
        ("native", "import ctypes\n\n\ndef libc() -> ctypes.CDLL:\n    return ctypes.CDLL(None)", "SEC060"),
        ("dynamic-code", "def run(source: str) -> None:\n    exec(source)", "S102"),
        ("namespaces", "import os\n\n\ndef isolate() -> None:\n    os.unshare(0)", "SEC080"),
        ("none", "def add(a: int, b: int) -> int:\n    return a + b", ""),
    ];
    let lib = tempfile::tempdir().unwrap();
    for (cap, code, _) in cases {
        let name = cap.replace('-', "_");
        let body: String = code.lines().map(|l| format!("  {l}\n")).collect();
        let yaml = format!(
            "plse_version: \"3\"\npattern_id: test.security.{name}\nmetadata:\n  author: tests\n  description: d\n  tags: [t]\n  pedagogy: {{concept: c, difficulty: beginner}}\ninstruction: \"Write it.\"\nparameters: {{}}\ntemplate: |\n{body}validation:\n  unit_test_snippets:\n    - \"assert True\"\n"
        );
        std::fs::write(lib.path().join(format!("{name}.yaml")), yaml).unwrap();
    }
    let mut c = plse(&["lint", "--exec", "--seeds", "1", "--patterns"]);
    c.arg(lib.path());
    if !is_root() {
        c.arg("--unsafe-no-sandbox");
    }
    let o = c.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{err}\n{out}");
    for (cap, _, rule) in cases {
        let file = format!("{}.yaml", cap.replace('-', "_"));
        let line = err.lines().find(|l| l.contains(&file)).map(str::to_owned);
        if rule.is_empty() {
            assert!(line.is_none(), "the clean control failed: {line:?}");
            assert!(out.lines().any(|l| l.starts_with("ok") && l.contains(&file)), "{out}");
        } else {
            let line = line.unwrap_or_else(|| panic!("{file} was not rejected:\n{err}"));
            assert!(line.contains("security") && line.contains(&format!("undeclared capability {cap}")) && line.contains(rule), "{line}");
        }
    }
}

#[test]
#[ignore = "needs the Python test environment with `datasets` (`cargo xtask ci` installs it and runs this)"]
fn rows_and_preference_pairs_load_with_hf_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let o = generate(dir.path(), &root().join("patterns"), &["--count", "40", "--seed", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let script = r#"
import json, sys
from datasets import load_dataset
sft = load_dataset("json", data_files=sys.argv[1], split="train")
pref = load_dataset("json", data_files=sys.argv[2], split="train")
assert {"messages", "instruction", "input", "output", "task", "pattern_id"} <= set(sft.column_names), sft.column_names
for ex in sft:
    assert [m["role"] for m in ex["messages"]] == ["user", "assistant"]
assert {"prompt", "chosen", "rejected"} <= set(pref.column_names), pref.column_names
for ex in pref:
    assert [m["role"] for m in ex["prompt"]] == ["user"]
    assert [m["role"] for m in ex["chosen"]] == ["assistant"] == [m["role"] for m in ex["rejected"]]
    assert ex["chosen"][0]["content"] != ex["rejected"][0]["content"]
print(json.dumps({"sft": len(sft), "preference": len(pref), "tasks": sorted(set(sft["task"]))}))
"#;
    let out = common::run_python(
        script,
        &[dir.path().join("training_dataset.jsonl").as_os_str(), dir.path().join("preference.jsonl").as_os_str()],
    );
    let got: Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    assert_eq!(got["sft"], 40);
    assert_eq!(got["preference"].as_u64().unwrap(), jsonl(&dir.path().join("preference.jsonl")).len() as u64);
    assert!(got["preference"].as_u64().unwrap() > 0);
    assert_eq!(got["tasks"], serde_json::json!(["compare", "fix", "write"]));
}
