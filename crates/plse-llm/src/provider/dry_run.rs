//! `DryRun`: sends nothing; writes each request it would send, with a token estimate, as one
//! JSON line, and keeps the totals.
use std::io::Write;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use crate::{ChatRequest, ChatResponse, Completion, FinishReason, LlmError, Provider};

/// Characters per token of the estimate: OpenAI's rule of thumb for English text.
pub const ESTIMATE_CHARS_PER_TOKEN: u64 = 4;
/// Tokens of chat-template framing estimated per message (role and separators).
pub const ESTIMATE_TOKENS_PER_MESSAGE: u64 = 4;

/// A rough estimate of a request's prompt tokens, for budgets, not limits: per message
/// ⌈characters / [`ESTIMATE_CHARS_PER_TOKEN`]⌉ + [`ESTIMATE_TOKENS_PER_MESSAGE`]. Not a
/// tokeniser: code, non-English text and small vocabularies come out higher in reality.
pub fn estimate_prompt_tokens(req: &ChatRequest) -> u64 {
    let per_message = |content: &str| (content.chars().count() as u64).div_ceil(ESTIMATE_CHARS_PER_TOKEN) + ESTIMATE_TOKENS_PER_MESSAGE;
    req.messages.iter().map(|m| per_message(&m.content)).sum()
}

/// What a dry run would have sent, summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DryRunTotals {
    /// Requests recorded.
    pub requests: u64,
    /// Sum of [`estimate_prompt_tokens`].
    pub estimated_prompt_tokens: u64,
    /// Sum of `max_tokens`: the most the answers could cost.
    pub max_tokens: u64,
}

/// Calls nobody. Each request becomes one line of JSON in the sink —
/// `{"key":…,"sample_seed":…,"estimated_prompt_tokens":…,"max_tokens":…,"request":{…}}`, the
/// request in its canonical form (which holds no API key) — and a [`Completion`] with
/// `dry_run: true` and empty content, which callers must not validate or store.
pub struct DryRun {
    state: Mutex<State>,
}

struct State {
    sink: Box<dyn Write + Send>,
    totals: DryRunTotals,
}

impl DryRun {
    /// A dry run writing to `sink` (a file, a `Vec<u8>`, `std::io::sink()`).
    pub fn new(sink: impl Write + Send + 'static) -> Self {
        DryRun { state: Mutex::new(State { sink: Box::new(sink), totals: DryRunTotals::default() }) }
    }

    /// The totals so far.
    pub fn totals(&self) -> DryRunTotals {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).totals
    }

    /// The line recorded for `req`.
    fn line(req: &ChatRequest, sample_seed: u64, estimate: u64) -> String {
        let key = req.cache_key(sample_seed);
        let (max_tokens, request) = (req.max_tokens, req.canonical_json());
        format!(
            "{{\"key\":\"{key}\",\"sample_seed\":{sample_seed},\"estimated_prompt_tokens\":{estimate},\"max_tokens\":{max_tokens},\"request\":{request}}}\n"
        )
    }
}

impl std::fmt::Debug for DryRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DryRun").field("totals", &self.totals()).finish_non_exhaustive()
    }
}

impl Provider for DryRun {
    fn complete(&self, req: &ChatRequest, sample_seed: u64) -> Result<Completion, LlmError> {
        let started = Instant::now();
        req.validate()?;
        let estimate = estimate_prompt_tokens(req);
        let line = Self::line(req, sample_seed, estimate);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.sink.write_all(line.as_bytes()).and_then(|()| state.sink.flush()).map_err(LlmError::DryRunSink)?;
        state.totals.requests += 1;
        state.totals.estimated_prompt_tokens += estimate;
        state.totals.max_tokens += u64::from(req.max_tokens);
        drop(state);
        let response = ChatResponse {
            content: String::new(),
            reasoning: None,
            finish_reason: FinishReason::Other("dry-run".to_owned()),
            usage: None,
            model: req.model.clone(),
        };
        Ok(Completion { response, raw: String::new(), from_cache: false, dry_run: true, attempts: 0, elapsed: started.elapsed() })
    }

    fn name(&self) -> &str {
        "dry-run"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;
    use crate::test_support::SharedBuf;

    #[test]
    fn estimate_counts_characters_and_framing() {
        let req = ChatRequest::new("m", vec![Message::system("abcd"), Message::user("abcde")]);
        assert_eq!(estimate_prompt_tokens(&req), (1 + 4) + (2 + 4));
        let unicode = ChatRequest::new("m", vec![Message::user("ééé")]);
        assert_eq!(estimate_prompt_tokens(&unicode), 1 + 4, "characters, not bytes");
    }

    #[test]
    fn records_each_request_as_a_json_line() {
        let buf = SharedBuf::default();
        let dry = DryRun::new(buf.clone());
        let mut req = ChatRequest::new("m", vec![Message::user("x".repeat(40))]);
        req.max_tokens = 100;
        let done = dry.complete(&req, 5).unwrap();
        assert!(done.dry_run && !done.from_cache && done.raw.is_empty());
        assert_eq!(done.attempts, 0);
        dry.complete(&req, 6).unwrap();
        let text = buf.text();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["key"], req.cache_key(5));
        assert_eq!(lines[1]["sample_seed"], 6);
        assert_eq!(lines[0]["estimated_prompt_tokens"], 14);
        assert_eq!(lines[0]["max_tokens"], 100);
        assert_eq!(lines[0]["request"], serde_json::from_str::<serde_json::Value>(&req.canonical_json()).unwrap());
        assert_eq!(dry.totals(), DryRunTotals { requests: 2, estimated_prompt_tokens: 28, max_tokens: 200 });
    }

    #[test]
    fn invalid_requests_are_refused_unrecorded() {
        let dry = DryRun::new(std::io::sink());
        let err = dry.complete(&ChatRequest::new("m", vec![]), 1).unwrap_err();
        assert!(matches!(err, LlmError::InvalidRequest { .. }));
        assert_eq!(dry.totals().requests, 0);
    }
}
