//! The codebase factory against a real model: llama-cpp-python's OpenAI-compatible server
//! serving Gemma 3 270M (Q4_K_M) on 127.0.0.1, both from the `llm` tier (`cargo xtask
//! llm-e2e` sets it up and runs this). The model is a small base model, so this checks
//! structure, not quality: the server answers every request, answers parse as the schema's
//! JSON, every rejected item has a typed stage, rows are kept and each cites real lines that its
//! prompt shows, every answer is cached, and a rerun with the server stopped makes no call
//! and writes the same bytes. Decoding is constrained to the answer's JSON Schema (`--response-format
//! json-object`), as a user would run a small local model.
#![allow(clippy::unwrap_used)] // panics are test failures

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The server, stopped (by its pid) when the test ends, passed or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET /v1/models` answers 200.
fn ready(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

fn serve(venv: &Path, model: &Path, port: u16, log: &Path) -> Server {
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(venv.join("bin/python"))
        .args(["-m", "llama_cpp.server", "--model"])
        .arg(model)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--n_ctx", "8192", "--chat_format", "gemma"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let server = Server(child);
    let start = Instant::now();
    while !ready(port) {
        assert!(start.elapsed() < Duration::from_secs(180), "the model server did not come up on 127.0.0.1:{port}");
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!("llm-e2e: server up in {:.1} s", start.elapsed().as_secs_f64());
    server
}

const LEDGER: &str = r#""""Stock levels with reservations that expire."""

from dataclasses import dataclass, field


@dataclass
class Reservation:
    """Units held for an order until `expires_at` (seconds since the epoch)."""

    sku: str
    units: int
    expires_at: float


@dataclass
class Ledger:
    """On-hand stock per SKU, minus live reservations."""

    on_hand: dict[str, int] = field(default_factory=dict)
    held: list[Reservation] = field(default_factory=list)

    def available(self, sku: str, now: float) -> int:
        """Units of `sku` that can still be sold at time `now`."""
        live = sum(r.units for r in self.held if r.sku == sku and r.expires_at > now)
        return self.on_hand.get(sku, 0) - live

    def reserve(self, sku: str, units: int, now: float, ttl: float = 900.0) -> Reservation:
        """Hold `units` of `sku` for `ttl` seconds; refuse when too few are available."""
        if units <= 0:
            raise ValueError("units must be positive")
        if self.available(sku, now) < units:
            raise LookupError(f"only {self.available(sku, now)} of {sku} available")
        reservation = Reservation(sku, units, now + ttl)
        self.held.append(reservation)
        return reservation

    def expire(self, now: float) -> int:
        """Drop reservations that have run out; return how many were dropped."""
        before = len(self.held)
        self.held = [r for r in self.held if r.expires_at > now]
        return before - len(self.held)
"#;

const PRICES: &str = r#""""Prices in cents, with volume discounts."""


def unit_price(base_cents: int, quantity: int) -> int:
    """The price of one unit when `quantity` are bought: 5% off from 10, 10% off from 100."""
    if quantity >= 100:
        return base_cents * 90 // 100
    if quantity >= 10:
        return base_cents * 95 // 100
    return base_cents


def total(base_cents: int, quantity: int) -> int:
    """What `quantity` units cost in all."""
    if quantity < 0:
        raise ValueError("quantity cannot be negative")
    return unit_price(base_cents, quantity) * quantity
"#;

fn make_repo(dir: &Path) {
    for (path, text) in [
        ("README.md", "# depot\n\nStock and prices of a small warehouse.\n"),
        ("depot/__init__.py", ""),
        ("depot/ledger.py", LEDGER),
        ("depot/prices.py", PRICES),
    ] {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn factory(repo: &Path, out: &Path, port: u16, resume: bool) -> std::process::Output {
    let mut c = common::plse(&["factory", "qa", "--count", "3", "--questions", "1", "--seed", "1", "--model", "gemma-3-270m"]);
    c.args(["--base-url", &format!("http://127.0.0.1:{port}/v1"), "--response-format", "json-object", "--max-tokens", "384"]);
    c.args([
        "--temperature",
        "0.8",
        "--concurrency",
        "1",
        "--timeout",
        "120",
        "--max-attempts",
        "2",
        "--decontaminate",
        "none",
        "--no-release",
    ]);
    c.arg("--repo").arg(repo).arg("--out").arg(out);
    if resume {
        c.arg("--resume");
    }
    if !common::is_root() {
        c.arg("--unsafe-no-sandbox");
    }
    c.output().unwrap()
}

#[test]
#[ignore = "needs the llm tier (llama-cpp-python and Gemma 3 270M): run `cargo xtask llm-e2e`"]
fn factory_over_a_small_repository_with_a_real_local_model() {
    let venv = PathBuf::from(std::env::var_os("PLSE_LLM_VENV").expect("PLSE_LLM_VENV is not set: run this through `cargo xtask llm-e2e`"));
    let model = venv.join("share/plse/models/gemma-3-270m-q4_k_m.gguf");
    assert!(model.is_file(), "{} is missing: run `plse-batch setup --tier llm`", model.display());
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("depot");
    make_repo(&repo);
    let out = dir.path().join("out");
    let port = free_port();
    let server = serve(&venv, &model, port, &dir.path().join("server.log"));

    let start = Instant::now();
    let o = factory(&repo, &out, port, false);
    let text = format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
    let tail = &log[log.len().saturating_sub(3000)..];
    // A 270M base model often runs to the token limit or writes a thin answer: the run either
    // reaches its count or asks about every chunk and says how short it fell (exit 1).
    let short = o.status.code() == Some(1) && text.contains("reached ") && text.contains(" of 3 rows");
    assert!(o.status.success() || short, "{text}\n--- server log (tail) ---\n{tail}");
    eprintln!("llm-e2e: factory qa in {:.1} s", start.elapsed().as_secs_f64());

    // Every exchange the model answered is in raw.jsonl with its verdict; none failed at the
    // request (the server answered every one), and each rejected item has a typed stage.
    let raw = lines(&out.join("raw.jsonl"));
    assert!(!raw.is_empty(), "{text}");
    let rejects = lines(&out.join("rejects.jsonl"));
    let stages = ["truncated", "parse", "empty", "citation", "quote", "code", "dedup-exact", "dedup-near"];
    for r in &rejects {
        assert!(stages.contains(&r["stage"].as_str().unwrap()), "an untyped or request-stage reject: {r}\n{tail}");
    }
    // Constrained decoding works: most answers parse as the schema's JSON.
    let unparsed = rejects.iter().filter(|r| r["stage"] == "parse").count();
    assert!(unparsed * 2 <= raw.len(), "{unparsed} of {} answers did not parse:\n{text}", raw.len());
    // Rows are kept (the question's grammar leaves the model no way to write the whole object
    // inside one string, which is what it did with a broader one), they parse, and they cite
    // real lines that their prompt shows.
    let rows = lines(&out.join("training_dataset.jsonl"));
    eprintln!("llm-e2e: {} exchanges, {} rows kept, {} items rejected", raw.len(), rows.len(), rejects.len());
    assert!(!rows.is_empty(), "no row kept:\n{text}");
    for row in &rows {
        let user = row["messages"][0]["content"].as_str().unwrap();
        assert!(!row["messages"][1]["content"].as_str().unwrap().trim().is_empty());
        let citations = row["citations"].as_array().unwrap();
        assert!(!citations.is_empty(), "{row}");
        for c in citations {
            let file = std::fs::read_to_string(repo.join(c["path"].as_str().unwrap())).unwrap();
            let (a, b) = (c["start_line"].as_u64().unwrap() as usize, c["end_line"].as_u64().unwrap() as usize);
            assert!(1 <= a && a <= b && b <= file.lines().count(), "{c}");
            let cited: Vec<&str> = file.lines().skip(a - 1).take(b - a + 1).filter(|l| !l.trim().is_empty()).collect();
            assert!(cited.iter().all(|l| user.contains(l.trim())), "the prompt shows the cited lines {c}");
        }
    }
    // Every answer received is cached (a batch asks a little ahead of the count).
    let db = rusqlite::Connection::open(out.join("plse-run.sqlite")).unwrap();
    let cached: i64 = db.query_row("SELECT COUNT(*) FROM llm_cache", [], |r| r.get(0)).unwrap();
    assert!(cached as usize >= raw.len(), "{cached} cached answers for {} exchanges", raw.len());
    drop(db);

    // With the server stopped, the same run answers from the cache: no call (a call would
    // fail to connect), the same bytes.
    let files = ["training_dataset.jsonl", "raw.jsonl", "rejects.jsonl"];
    let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(out.join(f)).unwrap()).collect();
    drop(server);
    assert!(!ready(port), "the server is still up");
    let o = factory(&repo, &out, port, true);
    let again = format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success() || o.status.code() == Some(1) && again.contains(" of 3 rows"), "rerun: {again}");
    assert!(again.contains("0 sent"), "the rerun sent requests: {again}");
    for (f, b) in files.iter().zip(&before) {
        assert_eq!(&std::fs::read(out.join(f)).unwrap(), b, "the rerun changed {f}");
    }
}
