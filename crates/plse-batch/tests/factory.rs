//! `plse-batch factory` against a small repository built in a temporary directory and a
//! scripted OpenAI-compatible server on 127.0.0.1 (fault injection: bad citations, missing
//! quotes, code that does not compile, empty and truncated answers, server errors). What a
//! user relies on: rows with valid citations, each fault rejected with its reason, the response
//! cache (a rerun sends nothing and writes the same bytes; a replay elsewhere too), resuming
//! after a failure, the dry run, the API key never written anywhere, and the release.
#![allow(clippy::unwrap_used, clippy::expect_used)] // panics are test failures

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// The repository.

const CART: &str = r#""""A shopping cart."""

from shop.pricing import apply_tax


class Cart:
    """Items and their quantities."""

    def __init__(self):
        self.items = {}
        self.closed = False

    def add(self, item, quantity=1):
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self.items[item] = self.items.get(item, 0) + quantity

    def remove(self, item):
        if item not in self.items:
            raise KeyError(item)
        del self.items[item]

    def total(self, prices):
        subtotal = sum(prices[item] * n for item, n in self.items.items())
        return apply_tax(subtotal)
"#;

const PRICING: &str = r#""""Prices and taxes."""

TAX_RATE = 0.2


def apply_tax(amount, rate=TAX_RATE):
    """The amount with tax added."""
    if amount < 0:
        raise ValueError("negative amount")
    return round_price(amount * (1 + rate))


def round_price(value):
    """Round to whole cents, half up."""
    cents = int(value * 100 + 0.5)
    return cents / 100
"#;

const INVENTORY: &str = r#""""Stock levels."""


class Inventory:
    def __init__(self, stock):
        self.stock = dict(stock)
        self.reserved = {}

    def reserve(self, item, n):
        if self.stock.get(item, 0) - self.reserved.get(item, 0) < n:
            return False
        self.reserved[item] = self.reserved.get(item, 0) + n
        return True

    def release(self, item, n):
        held = self.reserved.get(item, 0)
        self.reserved[item] = max(0, held - n)
"#;

/// The eligible chunks (functions, methods, classes of 3 lines or more).
const QA_TARGETS: usize = 11;
/// The chunks the server answers wrongly, one fault each.
const FAULTY: [&str; 5] = ["Cart.remove", "Inventory.reserve", "apply_tax", "round_price", "Inventory.release"];

fn make_repo() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("shop-repo-").tempdir().unwrap();
    let files = [
        ("README.md", "# shop\n\nA tiny shop: carts, prices and stock.\n"),
        ("shop/__init__.py", ""),
        ("shop/cart.py", CART),
        ("shop/pricing.py", PRICING),
        ("shop/inventory.py", INVENTORY),
    ];
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

// ---------------------------------------------------------------------------------------------
// The scripted server (`common::stub`), answering as `answer` says.

struct Server(common::stub::Server);

impl Server {
    fn start() -> Self {
        Server(common::stub::Server::start(answer))
    }
}

impl std::ops::Deref for Server {
    type Target = common::stub::Server;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

use common::stub::completion;

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

/// The scripted answer to a prompt: a question prompt names its chunk ("Below is `PATH`,
/// lines A-B: the KIND `NAME`"), a design prompt its file ("would change `PATH`").
fn answer(user: &str) -> Value {
    if let Some(focus) = between(user, "whose implementation would change `", "`") {
        return design_answer(focus);
    }
    let path = between(user, "Below is `", "`").unwrap_or("?").to_owned();
    let lines = between(user, "`, lines ", ":").unwrap_or("1-1");
    let (a, b) = lines.split_once('-').unwrap();
    let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
    let after_kind = between(user, &format!("lines {a}-{b}: the "), "\n").unwrap_or("");
    let name = between(after_kind, "`", "`").unwrap_or("?").to_owned();
    // The first code line of the chunk, from the numbered block of the code in question.
    let first =
        between(user, "(the code in question):\n```python\n", "\n").and_then(|l| l.split_once(" | ")).map_or("", |(_, code)| code.trim());
    let quote = if first.chars().filter(|c| !c.is_whitespace()).count() >= 20 {
        format!("\n\n```python quote\n{first}\n```")
    } else {
        String::new()
    };
    let cite = json!([{"path": path, "start_line": a, "end_line": b}]);
    let item = |answer: String, citations: Value| {
        json!({"questions": [{"question": format!("What does `{name}` in `{path}` do, and why?"),
               "thinking": format!("I read lines {a}-{b} of {path} to see what {name} does."),
               "answer": answer, "citations": citations}]})
    };
    let good = format!(
        "`{name}` is defined at lines {a}-{b} of `{path}`.{quote}\n\nUsed like this:\n\n```python\nresult = {}\n```",
        name.replace('.', "_").to_lowercase() + "()"
    );
    match name.as_str() {
        "Cart.remove" => completion(&item(good, json!([{"path": path, "start_line": 900, "end_line": 901}])).to_string(), None, "stop"),
        "Inventory.reserve" => completion(
            &item("It reserves the requested units of stock for the order until they expire.\n\n```python quote\nthis_line_is_not_in_the_repository = compute_everything()\n```".to_owned(), cite)
                .to_string(),
            None,
            "stop",
        ),
        "apply_tax" => {
            completion(&item("It adds the tax rate to the amount and returns the total, like this:\n\n```python\ndef broken(:\n    return amount\n```".to_owned(), cite).to_string(), None, "stop")
        }
        "round_price" => completion(&item(String::new(), cite).to_string(), None, "stop"),
        "Inventory.release" => completion("{\"questions\": [{\"question\": \"What does release do?\", \"answer\": \"It", None, "length"),
        _ => {
            // As many questions as asked for, each its own.
            let asked: usize = between(user, "\nWrite ", " question").and_then(|n| n.parse().ok()).unwrap_or(1);
            let mut all = item(good, cite);
            let items = all["questions"].as_array_mut().unwrap();
            for k in 1..asked {
                let mut more = items[0].clone();
                more["question"] = json!(format!("What happens when `{name}` is called twice? ({k})"));
                more["answer"] = json!(format!("Calling `{name}` again repeats its effect, case {k}."));
                items.push(more);
            }
            match name.as_str() {
                // A reasoning model: the trace comes in its own channel, the JSON in a fence.
                "Cart.add" => completion(&format!("```json\n{all}\n```"), Some("The channel's reasoning about Cart.add."), "stop"),
                _ => completion(&all.to_string(), None, "stop"),
            }
        }
    }
}

fn design_answer(focus: &str) -> Value {
    let module = focus.trim_end_matches(".py").replace('/', ".");
    let (modify, title) = if focus == "shop/pricing.py" {
        ("shop/prices.py".to_owned(), "Currency support".to_owned())
    } else {
        (focus.to_owned(), format!("Audit log for {module}"))
    };
    let proposal = format!(
        "Record every change made through `{module}` in an append-only log.\n\n```python\nclass AuditLog:\n    def __init__(self):\n        self.entries = []\n\n    def record(self, action, **details):\n        self.entries.append((action, details))\n```"
    );
    let body = json!({"title": title, "requirement": format!("As an operator I want to see every change made through {module}."),
        "thinking": format!("{focus} holds the state that changes; a log beside it keeps the change small."),
        "proposal": proposal, "rationale": "The modules are small and hold their own state; a separate log class keeps that.",
        "affected_files": [{"path": modify, "change": "modify", "why": "calls the log"}, {"path": "shop/audit.py", "change": "add", "why": "the log"}],
        "risks": ["The log grows without bound."]});
    completion(&body.to_string(), None, "stop")
}

// ---------------------------------------------------------------------------------------------
// Running the command.

/// A secret no test ever writes, in a variable named for this process only.
fn key_env() -> (String, String) {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    (format!("PLSE_FACTORY_TEST_KEY_{}_{nanos}", std::process::id()), format!("sk-test-{nanos:x}-do-not-write"))
}

fn factory(args: &[&str], repo: &Path, out: &Path, server: &Server, key: Option<&(String, String)>) -> Output {
    let mut c = common::plse(&["factory"]);
    c.args(args).arg("--repo").arg(repo).arg("--out").arg(out).args([
        "--base-url",
        &server.url,
        "--model",
        "stub-model",
        "--max-attempts",
        "1",
        "--decontaminate",
        "none",
    ]);
    if let Some((name, value)) = key {
        c.args(["--api-key-env", name]).env(name, value);
    }
    if !common::is_root() {
        c.arg("--unsafe-no-sandbox");
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Every file under `dir`, relative path → bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The output files a rerun must reproduce byte for byte (not the store: SQLite pages).
fn outputs(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files(dir).into_iter().filter(|(p, _)| !p.to_string_lossy().contains("plse-run.sqlite")).collect()
}

/// Debugging: with `PLSE_FACTORY_TEST_KEEP=DIR`, a test's output directory is copied to
/// `DIR/name` (the temporary one is removed when the test ends).
fn keep(name: &str, dir: &Path) {
    let Some(root) = std::env::var_os("PLSE_FACTORY_TEST_KEEP") else { return };
    for (path, bytes) in files(dir) {
        let target = PathBuf::from(&root).join(name).join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, bytes).unwrap();
    }
}

fn assert_no_secret(dir: &Path, secret: &str) {
    for (path, bytes) in files(dir) {
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "the API key is written in {}", path.display());
    }
}

fn rejects_by_focus(out: &Path) -> BTreeMap<String, Value> {
    lines(&out.join("rejects.jsonl")).into_iter().map(|r| (r["focus"].as_str().unwrap().to_owned(), r)).collect()
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// Every fault is rejected with its reason; the other answers become rows with citations of
/// real lines; a count the repository cannot reach ends with a clear error once every chunk
/// was asked; the key reaches the server and nothing else.
#[test]
fn faults_are_rejected_with_their_reason_and_rows_cite_real_lines() {
    let repo = make_repo();
    let out = tempfile::tempdir().unwrap();
    let server = Server::start();
    let key = key_env();
    let good = QA_TARGETS - FAULTY.len();
    let count = (good + 1).to_string();
    let o = factory(&["qa", "--count", &count, "--questions", "1", "--seed", "5"], repo.path(), out.path(), &server, Some(&key));
    keep("faults", out.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let why = format!("reached {good} of {count} rows: every one of the {QA_TARGETS} qa targets of the repository has been asked about");
    assert!(stderr.contains(&why), "{}", text(&o));
    assert_eq!(server.requests(), QA_TARGETS, "one request per chunk, each once");
    assert!(
        server.seen().iter().all(|s| s.authorization.as_deref() == Some(&format!("Bearer {}", key.1))),
        "the key is sent as the bearer token"
    );

    let rows = lines(&out.path().join("training_dataset.jsonl"));
    assert_eq!(rows.len(), good);
    for r in &rows {
        assert_eq!(r["task"], "qa");
        let messages = r["messages"].as_array().unwrap();
        assert_eq!((messages[0]["role"].as_str(), messages[1]["role"].as_str()), (Some("user"), Some("assistant")));
        let user = messages[0]["content"].as_str().unwrap();
        assert!(user.ends_with(r["question"].as_str().unwrap()), "the user turn ends with the question");
        assert!(!user.contains(" | "), "the user turn's code has no line numbers: {user}");
        assert!(!messages[1]["content"].as_str().unwrap().contains("quote\n"), "quote markers are removed");
        assert!(!r["thinking"].as_str().unwrap().is_empty());
        for c in r["citations"].as_array().unwrap() {
            let text = std::fs::read_to_string(repo.path().join(c["path"].as_str().unwrap())).unwrap();
            let (start, end) = (c["start_line"].as_u64().unwrap() as usize, c["end_line"].as_u64().unwrap() as usize);
            assert!(1 <= start && start <= end && end <= text.lines().count(), "{c}");
            let cited: Vec<&str> = text.lines().skip(start - 1).take(end - start + 1).collect();
            assert!(user.contains(&cited.join("\n")), "the user turn holds the cited lines {c}");
        }
        assert!(r["verification"]["blocks"].as_array().unwrap().iter().any(|b| b["outcome"] == "compiled"), "new Python was compiled: {r}");
    }
    let add = rows.iter().find(|r| r["concept"] == "Cart.add").unwrap();
    assert_eq!(add["thinking"], "The channel's reasoning about Cart.add.");
    assert_eq!(add["parameters"]["thinking_source"], "reasoning");

    let rejects = rejects_by_focus(out.path());
    assert_eq!(rejects.len(), FAULTY.len(), "{rejects:#?}");
    let by_name = |name: &str| {
        rejects
            .values()
            .find(|r| r["focus"].as_str().unwrap().contains("shop/") && r["reason"].is_string() && chunk_name(repo.path(), r) == name)
            .unwrap()
            .clone()
    };
    let r = by_name("Cart.remove");
    assert_eq!(r["stage"], "citation");
    assert!(r["reason"].as_str().unwrap().contains("past the end of the file"), "{r}");
    let r = by_name("Inventory.reserve");
    assert_eq!(r["stage"], "quote");
    assert!(r["reason"].as_str().unwrap().contains("not in the repository"), "{r}");
    let r = by_name("apply_tax");
    assert_eq!(r["stage"], "code");
    assert!(r["reason"].as_str().unwrap().contains("SyntaxError"), "{r}");
    let r = by_name("round_price");
    assert_eq!((r["stage"].as_str(), r["reason"].as_str()), (Some("empty"), Some("the answer is empty")));
    let r = by_name("Inventory.release");
    assert_eq!(r["stage"], "truncated");
    assert!(r["reason"].as_str().unwrap().contains("finish_reason: length"), "{r}");

    let raw = lines(&out.path().join("raw.jsonl"));
    assert_eq!(raw.len(), QA_TARGETS, "every exchange");
    for x in &raw {
        assert_eq!(x["request"]["model"], "stub-model");
        let body: Value = serde_json::from_str(x["response"].as_str().unwrap()).unwrap();
        assert!(body["choices"].is_array(), "the body as received: {x}");
    }
    assert_eq!(raw.iter().filter(|x| x["finish_reason"] == "length").count(), 1);
    assert!(!out.path().join("release").exists(), "a short run builds no release");
    assert_no_secret(out.path(), &key.1);
}

/// The chunk name a reject is about, from its focus `path:start-end`.
fn chunk_name(repo: &Path, r: &Value) -> String {
    let focus = r["focus"].as_str().unwrap();
    let (path, lines) = focus.rsplit_once(':').unwrap();
    let start: usize = lines.split('-').next().unwrap().parse().unwrap();
    let text = std::fs::read_to_string(repo.join(path)).unwrap();
    let line = text.lines().nth(start - 1).unwrap().trim();
    let name = line.trim_start_matches("def ").trim_start_matches("class ").split(['(', ':']).next().unwrap().to_owned();
    let indented = text.lines().nth(start - 1).unwrap().starts_with("    ");
    if indented {
        let class = text.lines().take(start).filter(|l| l.starts_with("class ")).last().unwrap();
        format!("{}.{name}", class.trim_start_matches("class ").split(['(', ':']).next().unwrap())
    } else {
        name
    }
}

/// Both scenes to completion, with the release; the same command again sends nothing and
/// writes the same bytes; a replay elsewhere from the cache too; `export` builds the release.
#[test]
fn a_complete_run_reruns_and_replays_from_its_cache() {
    let repo = make_repo();
    let out = tempfile::tempdir().unwrap();
    let server = Server::start();
    let key = key_env();
    let args = ["all", "--count", "8", "--design-count", "2", "--questions", "1", "--seed", "9", "--think", "inline"];
    let o = factory(&args, repo.path(), out.path(), &server, Some(&key));
    keep("complete", out.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let sent = server.requests();
    assert!(sent >= 8, "{sent}");
    let rows = lines(&out.path().join("training_dataset.jsonl"));
    assert_eq!(rows.iter().filter(|r| r["task"] == "qa").count(), 6);
    let designs: Vec<&Value> = rows.iter().filter(|r| r["task"] == "design").collect();
    assert_eq!(designs.len(), 2);
    for d in &designs {
        assert_eq!(d["category"], "codebase-design");
        assert!(d["design"]["affected_files"].as_array().unwrap().iter().any(|f| f["change"] == "add"));
        let assistant = d["messages"][1]["content"].as_str().unwrap();
        assert!(assistant.starts_with("<think>\n") && assistant.contains("</think>\n\n## "), "inline thinking: {assistant}");
        assert!(d["messages"][0]["content"].as_str().unwrap().contains("```text\n"), "the user turn holds the tree");
    }
    assert!(designs.iter().all(|d| d["pattern_id"] != "shop/pricing.py"), "the design that modifies a missing file is rejected");
    if let Some(r) = lines(&out.path().join("rejects.jsonl")).iter().find(|r| r["scene"] == "design") {
        assert_eq!(r["stage"], "affected-files");
        assert!(r["reason"].as_str().unwrap().contains("shop/prices.py"), "{r}");
    }
    let release = out.path().join("release");
    assert!(release.join("manifest.json").is_file() && release.join("README.md").is_file(), "{}", text(&o));
    let sft = std::fs::read_to_string(release.join("data/sft/train-00000-of-00001.jsonl")).unwrap_or_default()
        + &std::fs::read_to_string(release.join("data/sft/validation-00000-of-00001.jsonl")).unwrap_or_default()
        + &std::fs::read_to_string(release.join("data/sft/test-00000-of-00001.jsonl")).unwrap_or_default();
    let released: Vec<Value> = sft.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(released.len(), 8, "every row is in the release's sft config");
    assert!(released.iter().all(|r| r["thinking"].as_str().is_some_and(|t| !t.is_empty())), "the thinking column");

    // Every answer is in the run's store, keyed by its request.
    let db = rusqlite::Connection::open(out.path().join("plse-run.sqlite")).unwrap();
    let cached: i64 = db.query_row("SELECT COUNT(*) FROM llm_cache", [], |r| r.get(0)).unwrap();
    assert_eq!(cached as usize, sent, "one cache entry per request sent");
    let exchanges: i64 = db.query_row("SELECT COUNT(*) FROM exchanges", [], |r| r.get(0)).unwrap();
    assert_eq!(exchanges as usize, lines(&out.path().join("raw.jsonl")).len());
    drop(db);

    // The same command again: nothing is sent, every output is the same.
    let before = outputs(out.path());
    let again = factory(&args, repo.path(), out.path(), &server, Some(&key));
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(server.requests(), sent, "a rerun makes no request");
    assert_eq!(outputs(out.path()), before, "a rerun writes the same bytes");

    // A replay elsewhere, from this run's cache, without a server.
    let elsewhere = tempfile::tempdir().unwrap();
    let mut replay_args = args.to_vec();
    replay_args.extend(["--provider", "replay", "--cache-from", out.path().to_str().unwrap()]);
    let o = factory(&replay_args, repo.path(), elsewhere.path(), &server, None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(server.requests(), sent, "a replay makes no request");
    let (a, b) = (outputs(out.path()), outputs(elsewhere.path()));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        assert!(b[path] == *bytes, "{} differs after a replay", path.display());
    }

    // `export` on the factory's directory.
    let exported = tempfile::tempdir().unwrap();
    let o = common::plse(&["export"])
        .arg(out.path())
        .arg("--out")
        .arg(exported.path().join("rel"))
        .args(["--decontaminate", "none"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = common::plse(&["export", "--verify"]).arg(exported.path().join("rel")).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let card = std::fs::read_to_string(exported.path().join("rel/README.md")).unwrap();
    assert!(card.contains("plse-batch factory all"), "the card's reproduce command is the factory's");
    assert_no_secret(out.path(), &key.1);
    assert_no_secret(elsewhere.path(), &key.1);
}

/// A server failure stops the run; `--resume` continues from the store without asking again
/// what was answered, and ends with the same dataset as an uninterrupted run.
#[test]
fn a_failed_run_resumes_without_asking_again() {
    let repo = make_repo();
    let server = Server::start();
    let args = ["qa", "--count", "6", "--questions", "1", "--seed", "2", "--no-release"];
    let whole = tempfile::tempdir().unwrap();
    // One request at a time here, four below: the dataset does not depend on it.
    let one_at_a_time = [args.as_slice(), &["--concurrency", "1"]].concat();
    let o = factory(&one_at_a_time, repo.path(), whole.path(), &server, None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let uninterrupted = server.requests();

    let out = tempfile::tempdir().unwrap();
    server.fail_on(Some(("Cart.total", 503)));
    let o = factory(&args, repo.path(), out.path(), &server, None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"), "{}", text(&o));
    let o = factory(&args, repo.path(), out.path(), &server, None);
    assert_eq!(o.status.code(), Some(2), "an unfinished run needs --resume: {}", text(&o));
    server.fail_on(None);
    let first = server.requests() - uninterrupted;
    let mut resume = args.to_vec();
    resume.push("--resume");
    let o = factory(&resume, repo.path(), out.path(), &server, None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let second = server.requests() - uninterrupted - first;
    assert_eq!(first + second, uninterrupted + 1, "only the failed request is asked again ({first} + {second})");
    for f in ["training_dataset.jsonl", "rejects.jsonl", "raw.jsonl"] {
        assert_eq!(std::fs::read(out.path().join(f)).unwrap(), std::fs::read(whole.path().join(f)).unwrap(), "{f}");
    }
}

/// The dry run sends nothing and writes the requests a run would send, with estimates.
#[test]
fn a_dry_run_sends_nothing() {
    let repo = make_repo();
    let out = tempfile::tempdir().unwrap();
    let server = Server::start();
    let o =
        factory(&["all", "--count", "7", "--design-count", "2", "--questions", "2", "--dry-run"], repo.path(), out.path(), &server, None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(server.requests(), 0);
    let requests = lines(&out.path().join("requests.jsonl"));
    assert_eq!(requests.len(), 3 + 2, "ceil(5 / 2) question exchanges and 2 design exchanges");
    for r in &requests {
        assert!(r["estimated_prompt_tokens"].as_u64().unwrap() > 100);
        assert_eq!(r["request"]["model"], "stub-model");
        assert_eq!(r["request"]["messages"][0]["role"], "system");
    }
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(out.path().join("dry_run.json")).unwrap()).unwrap();
    assert_eq!(summary["requests"], 5);
    assert_eq!(summary["scenes"]["qa"]["targets"], QA_TARGETS);
    assert!(!out.path().join("plse-run.sqlite").exists(), "a dry run keeps no store");
}

/// A broken prompt template is reported at its line and column, with the line, before any
/// request.
#[test]
fn a_broken_template_is_located() {
    let repo = make_repo();
    let out = tempfile::tempdir().unwrap();
    let templates = tempfile::tempdir().unwrap();
    std::fs::write(
        templates.path().join("qa.jinja"),
        "{% block system %}Be brief.{% endblock %}\n{% block user %}\nAsk about {{ focus.name }.\n{% endblock %}\n",
    )
    .unwrap();
    let server = Server::start();
    let dir = templates.path().to_str().unwrap();
    let o = factory(&["qa", "--count", "2", "--templates", dir], repo.path(), out.path(), &server, None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("error[template-syntax]") && stderr.contains("qa.jinja:3:"), "{stderr}");
    assert!(stderr.contains("Ask about {{ focus.name }."), "the snippet: {stderr}");
    assert_eq!(server.requests(), 0);
    // An unknown variable is caught the same way, with a suggestion.
    std::fs::write(
        templates.path().join("qa.jinja"),
        "{% block system %}s{% endblock %}\n{% block user %}{{ focus.name }} {{ questoins }}{% endblock %}\n",
    )
    .unwrap();
    let o = factory(&["qa", "--count", "2", "--templates", dir], repo.path(), out.path(), &server, None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean `questions`?"), "{}", text(&o));
}

/// A key variable that is not set is named, before anything is started.
#[test]
fn a_missing_key_variable_is_named() {
    let repo = make_repo();
    let out = tempfile::tempdir().unwrap();
    let server = Server::start();
    let mut c = common::plse(&["factory", "qa", "--count", "2", "--model", "m", "--api-key-env", "PLSE_FACTORY_TEST_NO_SUCH_KEY"]);
    let o = c.arg("--repo").arg(repo.path()).arg("--out").arg(out.path()).args(["--base-url", &server.url]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`PLSE_FACTORY_TEST_NO_SUCH_KEY` is not set"), "{}", text(&o));
    assert!(!out.path().join("plse-run.sqlite").exists(), "no store was started");
    assert_eq!(server.requests(), 0);
}

/// `--combine-with` a `generate` run: its rows, then the factory's, in combined.jsonl and in
/// one release.
#[test]
fn rows_combine_with_a_pattern_run() {
    let patterns = tempfile::tempdir().unwrap();
    for name in ["comprehensions.yaml", "context_managers.yaml"] {
        std::fs::copy(common::root().join("patterns").join(name), patterns.path().join(name)).unwrap();
    }
    let generated = tempfile::tempdir().unwrap();
    let o = common::generate(generated.path(), patterns.path(), &["--count", "4", "--decontaminate", "none", "--no-release"]);
    assert!(o.status.success(), "{}", text(&o));
    let repo = make_repo();
    let out = tempfile::tempdir().unwrap();
    let server = Server::start();
    let g = generated.path().to_str().unwrap();
    let o = factory(&["qa", "--count", "3", "--questions", "1", "--combine-with", g], repo.path(), out.path(), &server, None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let combined = lines(&out.path().join("combined.jsonl"));
    assert_eq!(combined.len(), 4 + 3);
    assert!(combined[..4].iter().all(|r| r["task"] != "qa") && combined[4..].iter().all(|r| r["task"] == "qa"));
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(out.path().join("release/manifest.json")).unwrap()).unwrap();
    let sft: u64 = manifest["counts"]["sft"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(sft, 7, "the release holds both runs' rows");
    assert!(manifest["arguments"]["combined_run"].is_object());
    let card = std::fs::read_to_string(out.path().join("release/README.md")).unwrap();
    assert!(card.contains("**write**") && card.contains("**qa**"), "the card describes both kinds of rows");
    // A factory run is not something to combine with.
    let again = tempfile::tempdir().unwrap();
    let o = factory(
        &["qa", "--count", "3", "--questions", "1", "--combine-with", out.path().to_str().unwrap()],
        repo.path(),
        again.path(),
        &server,
        None,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("that is a factory run"), "{}", text(&o));
}

/// The dry run over this repository works offline: every crate is scanned, requests written.
#[test]
fn a_dry_run_over_this_repository() {
    let out = tempfile::tempdir().unwrap();
    let o = common::plse(&["factory", "all", "--repo", ".", "--count", "12", "--dry-run", "--out"]).arg(out.path()).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(out.path().join("dry_run.json")).unwrap()).unwrap();
    assert_eq!(summary["repo"]["name"], common::root().canonicalize().unwrap().file_name().unwrap().to_str().unwrap());
    assert!(summary["scenes"]["qa"]["targets"].as_u64().unwrap() > 500, "{summary}");
    assert_eq!(summary["requests"].as_u64().unwrap() as usize, lines(&out.path().join("requests.jsonl")).len());
    assert_eq!(summary["requests"], 3 + 3, "ceil(9 / 3) question exchanges and 3 design exchanges");
}

/// A factory release loads in Hugging Face `datasets`, the thinking trace in its own column.
#[test]
#[ignore = "needs the Python test environment with `datasets` and pyarrow (`cargo xtask ci` installs it and runs this)"]
fn a_factory_release_loads_in_datasets() {
    let repo = make_repo();
    let out = tempfile::tempdir().unwrap();
    let server = Server::start();
    let o = factory(&["all", "--count", "6", "--design-count", "2", "--questions", "1"], repo.path(), out.path(), &server, None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let script = r#"
import json, sys
from datasets import load_dataset
ds = load_dataset(sys.argv[1], "sft", split="train")
print(json.dumps({"rows": len(ds), "thinking": str(ds.features["thinking"]), "traces": sum(1 for t in ds["thinking"] if t),
                  "tasks": sorted(set(ds["task"])), "roles": sorted({m["role"] for ms in ds["messages"] for m in ms})}))
"#;
    let printed = common::run_python(script, &[out.path().join("release").as_os_str()]);
    let got: Value = serde_json::from_str(printed.trim().lines().last().unwrap()).unwrap();
    assert_eq!(got["rows"], 6);
    assert_eq!(got["thinking"], "Value('string')");
    assert_eq!(got["traces"], 6);
    assert_eq!(got["tasks"], json!(["design", "qa"]));
    assert_eq!(got["roles"], json!(["assistant", "user"]));
}

/// A request the server refuses (400: too long, say) rejects that exchange only; the run goes on.
#[test]
fn a_refused_request_rejects_its_exchange_only() {
    let repo = make_repo();
    let out = tempfile::tempdir().unwrap();
    let server = Server::start();
    server.fail_on(Some(("Cart.total", 400)));
    // 11 chunks: 5 answered wrongly, 1 refused, 5 good; asking for 6 consumes every exchange
    // whatever the schedule's order, and ends short.
    let o = factory(&["qa", "--count", "6", "--questions", "1", "--no-release"], repo.path(), out.path(), &server, None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(lines(&out.path().join("training_dataset.jsonl")).len(), 5, "the run went on past the refusal");
    let rejects = lines(&out.path().join("rejects.jsonl"));
    let refused: Vec<&Value> = rejects.iter().filter(|r| r["stage"] == "request").collect();
    assert_eq!(refused.len(), 1, "{rejects:#?}");
    assert!(refused[0]["reason"].as_str().unwrap().contains("HTTP 400"), "{}", refused[0]);
    let raw = lines(&out.path().join("raw.jsonl"));
    assert!(raw.iter().any(|x| x["response"].is_null() && x["error"].as_str().is_some_and(|e| e.contains("400"))));
}

/// With several questions per chunk, the count is still exact: the items after it are left
/// unused (and recorded as such), not rejected.
#[test]
fn several_questions_per_chunk_stop_at_the_count() {
    let repo = make_repo();
    let out = tempfile::tempdir().unwrap();
    let server = Server::start();
    let o = factory(&["qa", "--count", "3", "--questions", "2", "--no-release"], repo.path(), out.path(), &server, None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows = lines(&out.path().join("training_dataset.jsonl"));
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["parameters"]["thinking_source"] == "field"), "several items: each its own thinking field");
    let raw = lines(&out.path().join("raw.jsonl"));
    let unused: u64 = raw.iter().map(|x| x["verdict"]["unused"].as_u64().unwrap()).sum();
    assert_eq!(unused, 1, "the last exchange's second question is not needed");
    assert_eq!(raw.last().unwrap()["verdict"]["unused"], 1);
    let accepted: usize = raw.iter().map(|x| x["verdict"]["accepted"].as_array().unwrap().len()).sum();
    assert_eq!(accepted, 3);
}
