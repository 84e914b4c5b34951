//! `OpenAiCompatible` against the scripted server on 127.0.0.1.
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::test_support::{Echo, RecordingSleeper, Reply, Server, SharedBuf, answer, completion_body};
use crate::{Cache, Cached, DryRun, FinishReason, MemoryCache, Message, Replay};

fn request() -> ChatRequest {
    let mut req = ChatRequest::new("test-model", vec![Message::system("Be brief."), Message::user("Add 1 and 2.")]);
    req.temperature = 0.2;
    req.max_tokens = 64;
    req
}

/// A config for `server`: short timeout, three attempts, tiny backoff.
fn config(server: &Server) -> OpenAiConfig {
    let retry = RetryPolicy { max_attempts: 3, base: Duration::from_millis(20), cap: Duration::from_millis(50), ..RetryPolicy::default() };
    OpenAiConfig { timeout: Duration::from_secs(2), retry, ..OpenAiConfig::new(server.base_url()) }
}

fn provider(server: &Server) -> OpenAiCompatible {
    OpenAiCompatible::new(config(server)).unwrap()
}

#[test]
fn sends_the_canonical_request_to_chat_completions() {
    let server = Server::start(vec![Reply::json(200, answer("3"))]);
    let done = provider(&server).complete(&request(), 1).unwrap();
    assert_eq!(done.response.content, "3");
    assert_eq!((done.attempts, done.from_cache, done.dry_run), (1, false, false));
    let sent = &server.requests()[0];
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("POST", "/v1/chat/completions"));
    assert_eq!(sent.body, request().canonical_json());
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("authorization"), None, "no key configured, none sent");
}

#[test]
fn rate_limited_then_ok_waits_as_told() {
    let server =
        Server::start(vec![Reply::json(429, r#"{"error":"slow down"}"#).with_header("Retry-After", "1"), Reply::json(200, answer("3"))]);
    let started = Instant::now();
    let done = provider(&server).complete(&request(), 1).unwrap();
    let waited = started.elapsed();
    assert_eq!(done.attempts, 2);
    assert_eq!(server.request_count(), 2);
    assert!(waited >= Duration::from_secs(1), "Retry-After: 1 not honoured, only {waited:?}");
    assert!(waited < Duration::from_millis(1900), "waited the backoff on top: {waited:?}");
}

#[test]
fn retry_after_is_handed_to_the_sleeper() {
    let server = Server::start(vec![Reply::json(503, "busy").with_header("Retry-After", "7"), Reply::json(200, answer("3"))]);
    let sleeper = Arc::new(RecordingSleeper::default());
    let done = provider(&server).with_sleeper(sleeper.clone()).complete(&request(), 1).unwrap();
    assert_eq!(done.attempts, 2);
    assert_eq!(sleeper.waits(), [Duration::from_secs(7)]);
}

#[test]
fn unavailable_then_ok_backs_off() {
    let server = Server::start(vec![Reply::json(503, "overloaded"), Reply::json(200, answer("3"))]);
    let sleeper = Arc::new(RecordingSleeper::default());
    let done = provider(&server).with_sleeper(sleeper.clone()).complete(&request(), 1).unwrap();
    assert_eq!((done.attempts, server.request_count()), (2, 2));
    let stream = stream_of(&request().cache_key(1));
    assert_eq!(sleeper.waits(), [config(&server).retry.backoff(1, stream)]);
}

#[test]
fn a_server_that_never_answers_times_out_after_retries() {
    let server = Server::start(vec![Reply::Hang, Reply::Hang]);
    let retry = RetryPolicy { max_attempts: 2, ..config(&server).retry };
    let slow = OpenAiConfig { timeout: Duration::from_millis(400), retry, ..config(&server) };
    let started = Instant::now();
    let err = OpenAiCompatible::new(slow).unwrap().complete(&request(), 1).unwrap_err();
    match err {
        LlmError::Exhausted { attempts: 2, last } => assert!(matches!(*last, LlmError::Timeout { .. }), "{last:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.request_count(), 2);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_refused_connection_is_retried() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let retry = RetryPolicy { max_attempts: 2, base: Duration::from_millis(10), ..RetryPolicy::default() };
    let config = OpenAiConfig { retry, timeout: Duration::from_secs(1), ..OpenAiConfig::new(format!("http://127.0.0.1:{port}/v1")) };
    match OpenAiCompatible::new(config).unwrap().complete(&request(), 1) {
        Err(LlmError::Exhausted { attempts: 2, last }) => assert!(matches!(*last, LlmError::Connection { .. }), "{last:?}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_bad_request_is_not_retried() {
    let server = Server::start(vec![Reply::json(400, r#"{"error":{"message":"unknown model"}}"#), Reply::json(200, answer("3"))]);
    match provider(&server).complete(&request(), 1) {
        Err(LlmError::Status { status: 400, snippet, .. }) => assert!(snippet.contains("unknown model")),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.request_count(), 1);
}

#[test]
fn a_body_that_is_not_utf8_is_not_retried() {
    let server = Server::start(vec![Reply::bytes(200, b"{\"choices\": \"\xff\xfe\"}".to_vec()), Reply::json(200, answer("3"))]);
    let err = provider(&server).complete(&request(), 1).unwrap_err();
    assert!(matches!(err, LlmError::Transport { .. }), "{err:?}");
    assert_eq!(server.request_count(), 1);
}

#[test]
fn malformed_json_is_a_typed_error_not_retried() {
    let server = Server::start(vec![Reply::json(200, "<html>upstream broke</html>"), Reply::json(200, answer("3"))]);
    match provider(&server).complete(&request(), 1) {
        Err(LlmError::MalformedResponse { snippet, .. }) => assert_eq!(snippet, "<html>upstream broke</html>"),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.request_count(), 1);
}

#[test]
fn finish_reason_length_is_truncated() {
    let body = completion_body(r#"{"role":"assistant","content":"The sum is"}"#, r#""length""#);
    let server = Server::start(vec![Reply::json(200, body)]);
    let done = provider(&server).complete(&request(), 1).unwrap();
    assert_eq!(done.response.finish_reason, FinishReason::Length);
    assert!(done.response.is_truncated());
    assert_eq!(done.response.usage.map(|u| u.total_tokens), Some(7));
}

#[test]
fn reasoning_from_the_field_from_think_or_none() {
    let field = completion_body(r#"{"role":"assistant","content":"3","reasoning_content":"1 + 2 = 3"}"#, r#""stop""#);
    let think = answer("<think>\n1 + 2 = 3\n</think>\n\n3");
    let server = Server::start(vec![Reply::json(200, field), Reply::json(200, think), Reply::json(200, answer("3"))]);
    let p = provider(&server);
    let replies: Vec<_> = (0..3).map(|seed| p.complete(&request(), seed).unwrap().response).collect();
    let split: Vec<_> = replies.iter().map(|r| (r.content.as_str(), r.reasoning.as_deref())).collect();
    assert_eq!(split, [("3", Some("1 + 2 = 3")), ("3", Some("1 + 2 = 3")), ("3", None)]);
}

#[test]
fn a_cache_hit_sends_nothing_and_replays_byte_identical() {
    let body = " {\"choices\":[{\"message\":{\"content\":\"3\"},\"finish_reason\":\"stop\"}],  \"model\":\"m\"}\n";
    let server = Server::start(vec![Reply::json(200, body)]);
    let cached = Cached::new(provider(&server), MemoryCache::new());
    let first = cached.complete(&request(), 1).unwrap();
    let second = cached.complete(&request(), 1).unwrap();
    assert_eq!(server.request_count(), 1);
    assert!(!first.from_cache && second.from_cache);
    assert_eq!((first.raw.as_str(), second.raw.as_str()), (body, body));
    assert_eq!(first.response, second.response);
    assert_eq!(cached.cache().get(&request().cache_key(1)).unwrap().as_deref(), Some(body));
}

#[test]
fn replay_answers_hits_and_refuses_misses_without_sending() {
    let server = Server::start(vec![Reply::json(200, answer("3"))]);
    let cache = MemoryCache::new();
    let live = Cached::new(provider(&server), &cache).complete(&request(), 1).unwrap();
    let replay = Replay::new(&cache);
    let again = replay.complete(&request(), 1).unwrap();
    assert_eq!((again.raw.as_str(), again.response.content.as_str()), (live.raw.as_str(), "3"));
    match replay.complete(&request(), 2) {
        Err(LlmError::ReplayMiss { key }) => assert_eq!(key, request().cache_key(2)),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.request_count(), 1);
}

#[test]
fn a_dry_run_sends_nothing_and_writes_estimates() {
    let server = Server::start(vec![Reply::json(200, answer("3"))]);
    let buf = SharedBuf::default();
    let dry = Cached::new(DryRun::new(buf.clone()), MemoryCache::new());
    for seed in 0..3 {
        assert!(dry.complete(&request(), seed).unwrap().dry_run);
    }
    assert_eq!(server.request_count(), 0);
    let lines: Vec<serde_json::Value> = buf.text().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    let estimate = crate::estimate_prompt_tokens(&request());
    assert!(lines.iter().all(|l| l["estimated_prompt_tokens"] == estimate && l["max_tokens"] == 64));
    assert_eq!(dry.provider().totals().estimated_prompt_tokens, 3 * estimate);
}

#[test]
fn no_more_than_the_limit_in_flight() {
    let replies = (0..6).map(|_| Reply::json(200, answer("3")).delayed(Duration::from_millis(150))).collect();
    let server = Server::start(replies);
    let p = OpenAiCompatible::new(OpenAiConfig { limits: Limits::unlimited().max_in_flight(2), ..config(&server) }).unwrap();
    std::thread::scope(|scope| {
        for seed in 0..6 {
            let p = &p;
            scope.spawn(move || p.complete(&request(), seed).unwrap());
        }
    });
    assert_eq!(server.request_count(), 6);
    assert_eq!(server.peak_in_flight(), 2);
    assert_eq!(p.limits().in_flight(), 0);
}

#[test]
fn a_missing_key_variable_is_named_before_any_request() {
    let var = "PLSE_LLM_TEST_UNSET_KEY_91C2";
    let config = OpenAiConfig { api_key_env: Some(var.to_owned()), ..OpenAiConfig::new("http://127.0.0.1:9/v1") };
    let err = OpenAiCompatible::new(config).unwrap_err();
    assert!(matches!(&err, LlmError::MissingApiKey { var: v } if v == var));
    assert!(err.to_string().contains(var));
}

/// The variable the key test reads; it is set only in the child process that test starts.
const KEY_VAR: &str = "PLSE_LLM_TEST_KEY_5E0B7A";
const KEY: &str = "sk-plse-test-4b1d9c0e7f2a";

/// Setting a variable in this process would need `unsafe` (other test threads read the
/// environment), so the test runs itself again in a child process with the variable set.
#[test]
#[allow(clippy::disallowed_methods, reason = "the one way to set an environment variable without unsafe")]
fn api_key_never_leaves_the_secret() {
    if std::env::var_os(KEY_VAR).is_some() {
        return key_checks();
    }
    let name = "provider::openai::tests::api_key_never_leaves_the_secret";
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(KEY_VAR, KEY)
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && stdout.contains("1 passed"), "child failed:\n{stdout}\n{stderr}");
}

fn key_checks() {
    let server = Server::start(vec![
        Reply::Echo { status: 401, echo: Echo::ErrorJson },
        Reply::Echo { status: 200, echo: Echo::Text { pad: 168 } },
        Reply::Echo { status: 200, echo: Echo::Completion },
    ]);
    let p = OpenAiCompatible::new(OpenAiConfig { api_key_env: Some(KEY_VAR.to_owned()), ..config(&server) }).unwrap();
    assert_no_key(&format!("{p:?} {p:#?}"));

    let denied = p.complete(&request(), 1).unwrap_err();
    assert!(matches!(denied, LlmError::Status { status: 401, .. }));
    assert!(denied.to_string().contains("Bearer [REDACTED]"), "the echo was not scrubbed: {denied}");
    assert_no_key(&format!("{denied} {denied:?}"));
    assert_eq!(server.requests()[0].header("authorization"), Some(format!("Bearer {KEY}").as_str()));

    // The key straddles the snippet's cut: scrubbing must come before cutting.
    let malformed = p.complete(&request(), 2).unwrap_err();
    assert!(matches!(malformed, LlmError::MalformedResponse { .. }));
    assert_no_key_prefix(&format!("{malformed} {malformed:?}"));

    let cached = Cached::new(&p, MemoryCache::new());
    let echoed = cached.complete(&request(), 3).unwrap();
    assert!(echoed.response.content.contains("Bearer [REDACTED]"));
    assert_no_key(&format!("{echoed:?}"));
    for entry in cached.cache().entries() {
        assert_no_key(&format!("{} {} {}", entry.key, entry.request_json, entry.response_json));
    }

    let buf = SharedBuf::default();
    Cached::new(DryRun::new(buf.clone()), MemoryCache::new()).complete(&request(), 4).unwrap();
    assert!(!buf.text().is_empty());
    assert_no_key(&buf.text());
    assert_eq!(server.request_count(), 3);
}

fn assert_no_key(text: &str) {
    assert!(!text.contains(KEY), "the API key leaked into: {text}");
}

/// Not even the key's first 8 characters after `Bearer `.
fn assert_no_key_prefix(text: &str) {
    assert!(!text.contains(&format!("Bearer {}", &KEY[..8])), "part of the API key leaked into: {text}");
}
