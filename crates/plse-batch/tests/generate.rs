//! `plse-batch generate`: exact counts, category targets, and crash safety (kill -9 at any
//! point, then --resume: exactly N unique samples, none lost, none duplicated).
#![allow(clippy::unwrap_used)] // panics are test failures

mod common;
use common::{is_root, root};

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn command(out: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_plse-batch"));
    c.arg("generate").args(args).arg("--out").arg(out).arg("--patterns").arg(root().join("patterns")).env("NO_COLOR", "1");
    // The store is what is under test here; without root there is no sandbox, and the
    // library's own patterns are trusted.
    if !is_root() {
        c.arg("--unsafe-no-sandbox");
    }
    c
}

fn run(out: &Path, args: &[&str]) -> Output {
    command(out, args).output().unwrap()
}

/// Dataset rows, whole (they hold no timings, so runs compare exactly).
fn rows(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("training_dataset.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn accepted(db: &Path) -> u64 {
    let Ok(conn) = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) else { return 0 };
    conn.query_row("SELECT COUNT(*) FROM samples", [], |r| r.get::<_, i64>(0)).unwrap_or(0) as u64
}

fn kill_when(child: &mut Child, db: &Path, at_least: u64) {
    let start = Instant::now();
    while accepted(db) < at_least {
        assert!(child.try_wait().unwrap().is_none(), "finished before it could be killed");
        assert!(start.elapsed() < Duration::from_secs(300), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGKILL: no destructor, no flush, no chance to tidy up.
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn kill_9_then_resume_gives_exactly_the_uninterrupted_dataset() {
    // More than two batches of 64, so the kills land between commits.
    let n = "150";
    let reference = tempfile::tempdir().unwrap();
    let o = run(reference.path(), &["--count", n, "--seed", "11"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = rows(reference.path());
    assert_eq!(want.len(), 150);

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plse-run.sqlite");
    for at in [8, 90] {
        let args: Vec<&str> = if at == 8 { vec!["--count", n, "--seed", "11"] } else { vec!["--count", n, "--seed", "11", "--resume"] };
        let mut child = command(dir.path(), &args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        kill_when(&mut child, &db, at);
        let conn = rusqlite::Connection::open(&db).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "store corrupt after kill -9");
    }
    // Without --resume the run refuses to touch the existing store.
    let o = run(dir.path(), &["--count", n, "--seed", "11"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("pass --resume"), "{}", String::from_utf8_lossy(&o.stderr));
    // A different configuration cannot be resumed into this store.
    let o = run(dir.path(), &["--count", "151", "--seed", "11", "--resume"]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));

    let o = run(dir.path(), &["--count", n, "--seed", "11", "--resume"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = rows(dir.path());
    let ids: std::collections::HashSet<&str> = got.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 150, "duplicates after resume");
    assert_eq!(got, want, "the resumed run differs from the uninterrupted one");
    // Running the finished run again (README's command twice) just exports it again.
    let o = run(dir.path(), &["--count", n, "--seed", "11"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(rows(dir.path()), want);
    let rejects = std::fs::read_to_string(dir.path().join("rejects.jsonl")).unwrap();
    assert!(rejects.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
    // No temp files left behind by the atomic writes.
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn category_targets_are_met_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let o =
        run(dir.path(), &["--count", "24", "--seed", "3", "--category-target", "anti_patterns=9", "--category-target", "orchestration=5"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}\n{stdout}", String::from_utf8_lossy(&o.stderr));
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    for r in rows(dir.path()) {
        *per.entry(r["category"].as_str().unwrap().to_owned()).or_default() += 1;
        // Every row carries the Alpaca fields and chat messages; only a fix has an input.
        assert_eq!(r["input"] == "", r["task"] != "fix");
        assert_eq!(r["messages"][1]["content"], r["output"]);
    }
    assert_eq!(per["anti_patterns"], 9);
    assert_eq!(per["orchestration"], 5);
    assert_eq!(per.values().sum::<usize>(), 24);
    assert!(stdout.contains("top rejection reasons") || stdout.contains("dedup"), "{stdout}");
    // Impossible targets are refused up front.
    let o = run(tempfile::tempdir().unwrap().path(), &["--count", "5", "--category-target", "anti_patterns=9"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The published parts of a continuous run: the manifest's entries (checked against their
/// files' SHA-256 and their row ranges, which must be contiguous) and all their rows in order.
fn parts(out: &Path) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    use sha2::Digest;
    let dir = out.join("parts");
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let entries = manifest["parts"].as_array().unwrap().clone();
    let mut all = Vec::new();
    for p in &entries {
        let bytes = std::fs::read(dir.join(p["file"].as_str().unwrap())).unwrap();
        let sum: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(p["sha256"].as_str().unwrap(), sum, "{p}");
        assert_eq!(p["first_row"].as_u64().unwrap(), all.len() as u64, "parts overlap or leave a gap: {p}");
        let rows: Vec<serde_json::Value> = String::from_utf8(bytes).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(p["rows"].as_u64().unwrap(), rows.len() as u64);
        let pairs = std::fs::read_to_string(dir.join(p["preference_file"].as_str().unwrap())).unwrap();
        assert_eq!(p["pairs"].as_u64().unwrap(), pairs.lines().count() as u64);
        all.extend(rows);
    }
    (entries, all)
}

#[test]
fn continuous_runs_rotate_parts_and_a_sigterm_resumes_to_the_same_rows() {
    let args = ["--continuous", "--until", "140", "--rotate-every", "25", "--seed", "4", "--no-release", "--decontaminate", "none"];
    let reference = tempfile::tempdir().unwrap();
    let o = run(reference.path(), &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = rows(reference.path());
    assert_eq!(want.len(), 140);
    let (entries, published) = parts(reference.path());
    let sizes: Vec<u64> = entries.iter().map(|p| p["rows"].as_u64().unwrap()).collect();
    assert_eq!(sizes, [25, 25, 25, 25, 25, 15]);
    assert_eq!(published, want, "the parts are not the run's rows in order");

    // SIGTERM after the first committed batch: the batch commits, the rows so far are
    // published, exit 1 (short of its --until count); the same command resumes.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("plse-run.sqlite");
    let mut child = command(dir.path(), &args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let start = Instant::now();
    while accepted(&db) < 30 {
        assert!(child.try_wait().unwrap().is_none(), "finished before the signal");
        assert!(start.elapsed() < Duration::from_secs(300), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    assert_eq!(child.wait().unwrap().code(), Some(1));
    let (_, early) = parts(dir.path());
    assert_eq!(early.len() as u64, accepted(&db), "committed rows left unpublished");
    assert!(early.len() < 140);
    let o = run(dir.path(), &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(rows(dir.path()), want, "the resumed run differs from the uninterrupted one");
    let (_, published) = parts(dir.path());
    assert_eq!(published, want);

    // A higher bound continues the same run; published parts stay as they were.
    let before = std::fs::read(dir.path().join("parts/part-000001.jsonl")).unwrap();
    let mut more = args;
    more[2] = "170";
    let o = run(dir.path(), &more);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_, published) = parts(dir.path());
    assert_eq!(published.len(), 170);
    assert_eq!(published[..140], want[..]);
    assert_eq!(std::fs::read(dir.path().join("parts/part-000001.jsonl")).unwrap(), before);

    // A duration bound ends the invocation with 0, everything committed published.
    let timed = tempfile::tempdir().unwrap();
    let o = run(timed.path(), &["--continuous", "--until", "1s", "--rotate-every", "10", "--seed", "4", "--decontaminate", "none"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("stopped at"), "{}", String::from_utf8_lossy(&o.stdout));
    let (_, published) = parts(timed.path());
    assert_eq!(published, rows(timed.path()));
    assert!(!published.is_empty());
    // --continuous has no --count to honour.
    let o = run(tempfile::tempdir().unwrap().path(), &["--continuous", "--count", "5"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The stub's rephrasing: the instruction with a polite opener, or, for an instruction with a
/// code span and an even length, the instruction without its code spans (a rephrasing that
/// drops a fact, which the check must refuse).
fn rephrase_answer(user: &str) -> serde_json::Value {
    let instruction = user.split_once("Rewrite this instruction:\n\n").map_or("", |(_, i)| i);
    let text = if instruction.contains('`') && instruction.len().is_multiple_of(2) {
        instruction.split('`').step_by(2).collect::<String>()
    } else {
        format!("Please help with this task. {instruction}")
    };
    common::stub::completion(&text, None, "stop")
}

/// `--rephrase 0.5`: about half the rows get their instruction said another way by the model
/// (the server here is a local stub); everything the sandbox verified stays the pattern's,
/// refused rephrasings leave their row as it was, and each chosen row is asked once, cached.
#[test]
fn rephrased_rows_keep_their_verified_answer() {
    let plain = tempfile::tempdir().unwrap();
    let o = run(plain.path(), &["--count", "24", "--seed", "5", "--no-release", "--decontaminate", "none"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let baseline: BTreeMap<String, serde_json::Value> =
        rows(plain.path()).into_iter().map(|r| (r["id"].as_str().unwrap().to_owned(), r)).collect();

    let server = common::stub::Server::start(rephrase_answer);
    let dir = tempfile::tempdir().unwrap();
    let args = ["--count", "24", "--seed", "5", "--no-release", "--decontaminate", "none", "--rephrase", "0.5", "--rephrase-model", "stub"];
    let o = command(dir.path(), &args).args(["--rephrase-base-url", &server.url]).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let got = rows(dir.path());
    assert_eq!(got.len(), 24);
    let mut rephrased = 0;
    for row in &got {
        let id = row["id"].as_str().unwrap();
        let base =
            baseline.get(id).unwrap_or_else(|| panic!("{id} not in the plain run: {:?}\n{stderr}", baseline.keys().collect::<Vec<_>>()));
        // The training target and what verified it are the pattern's, rephrased or not.
        for key in ["code", "tests", "output", "explanation", "verification"] {
            assert_eq!(row[key], base[key], "{key} of {id}");
        }
        assert_eq!(row["messages"][1], base["messages"][1]);
        if row.get("rephrased").is_some() {
            rephrased += 1;
            let instruction = row["instruction"].as_str().unwrap();
            assert!(instruction.starts_with("Please help with this task. "), "{instruction}");
            assert_eq!(row["rephrased"]["original"], base["instruction"]);
            assert_eq!(row["rephrased"]["model"], "stub");
            assert!(row["messages"][0]["content"].as_str().unwrap().starts_with(instruction));
            assert_eq!(row["input"], base["input"], "a fix keeps its flawed code");
        } else {
            assert_eq!(row, base, "a row not rephrased is the pattern's row");
        }
    }
    let asked = server.requests();
    assert!(rephrased > 0 && rephrased < 24 && asked >= rephrased, "{rephrased} rephrased, {asked} asked\n{stderr}");
    assert!(stderr.contains(&format!("rephrased {rephrased} instruction(s) with stub")), "{stderr}");
    let db = rusqlite::Connection::open(dir.path().join("plse-run.sqlite")).unwrap();
    let cached: i64 = db.query_row("SELECT COUNT(*) FROM llm_cache", [], |r| r.get(0)).unwrap();
    assert_eq!(cached as usize, asked, "every answer cached, each row asked once");

    // The finished run again: no request, the same rows.
    let before = std::fs::read(dir.path().join("training_dataset.jsonl")).unwrap();
    let o = command(dir.path(), &args).args(["--rephrase-base-url", &server.url]).output().unwrap();
    assert!(o.status.success());
    assert_eq!(server.requests(), asked);
    assert_eq!(std::fs::read(dir.path().join("training_dataset.jsonl")).unwrap(), before);
    // A rephrasing run without its model is refused up front.
    let o = run(tempfile::tempdir().unwrap().path(), &["--count", "2", "--rephrase", "0.5"]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
}
