//! The one error type of the crate, and the body snippet errors carry.
use std::time::Duration;

/// How many characters of a response body an error shows.
pub const SNIPPET_CHARS: usize = 200;

/// Everything that can go wrong asking a provider for a completion.
///
/// No variant ever holds the API key: bodies are scrubbed before a snippet is cut from them.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The request cannot be sent as it is (no messages, a non-finite temperature, ...).
    #[error("invalid chat request: {reason}")]
    InvalidRequest {
        /// What is wrong with it.
        reason: String,
    },
    /// The environment variable that should hold the API key is unset, empty or not UTF-8.
    #[error("the API key variable `{var}` is not set (or is empty or not UTF-8)")]
    MissingApiKey {
        /// The variable's name (never its value).
        var: String,
    },
    /// The server answered with a status other than 2xx.
    #[error("the server answered HTTP {status}: {snippet}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The server's `Retry-After`, when it sent one that parses.
        retry_after: Option<Duration>,
        /// The start of the body, key scrubbed.
        snippet: String,
    },
    /// No complete answer arrived within the timeout.
    #[error("timed out: {detail}")]
    Timeout {
        /// The client's description of the timeout.
        detail: String,
    },
    /// The connection could not be made or broke (refused, reset, DNS failure).
    #[error("connection failed: {detail}")]
    Connection {
        /// The client's description of the failure.
        detail: String,
    },
    /// Any other client-side failure (bad URL, TLS, a body that is not UTF-8 or too large).
    #[error("HTTP client error: {detail}")]
    Transport {
        /// The client's description of the failure.
        detail: String,
    },
    /// The body is not a chat completion: not JSON, no choices, no message.
    #[error("malformed chat completion ({reason}): {snippet}")]
    MalformedResponse {
        /// What the parser expected.
        reason: String,
        /// The start of the body, key scrubbed.
        snippet: String,
    },
    /// A retryable failure kept happening until the attempts ran out.
    #[error("gave up after {attempts} attempts: {last}")]
    Exhausted {
        /// How many attempts were made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: Box<LlmError>,
    },
    /// Replay found no cached response for the request.
    #[error("replay: no cached response for key {key}")]
    ReplayMiss {
        /// The request's cache key.
        key: String,
    },
    /// The cache behind [`crate::Cached`] or [`crate::Replay`] failed.
    #[error("response cache: {0}")]
    Cache(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The dry run could not write a request to its sink.
    #[error("dry run: writing the request failed: {0}")]
    DryRunSink(#[source] std::io::Error),
}

impl LlmError {
    /// Whether another attempt may succeed: 408, 429, 5xx, timeouts and connection failures.
    pub fn is_retryable(&self) -> bool {
        match self {
            LlmError::Status { status, .. } => crate::retry::is_retryable_status(*status),
            LlmError::Timeout { .. } | LlmError::Connection { .. } => true,
            _ => false,
        }
    }

    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The first [`SNIPPET_CHARS`] characters of `body`, with `…` when it was cut.
pub fn snippet(body: &str) -> String {
    match body.char_indices().nth(SNIPPET_CHARS) {
        Some((end, _)) => format!("{}…", &body[..end]),
        None => body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_cuts_at_a_char_boundary() {
        let long = "é".repeat(SNIPPET_CHARS + 5);
        let cut = snippet(&long);
        assert_eq!(cut.chars().count(), SNIPPET_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(snippet("short"), "short");
    }

    #[test]
    fn retryable_errors() {
        let status = |status| LlmError::Status { status, retry_after: None, snippet: String::new() };
        assert!(status(429).is_retryable());
        assert!(status(408).is_retryable());
        assert!(status(503).is_retryable());
        assert!(!status(400).is_retryable());
        assert!(!status(404).is_retryable());
        assert!(LlmError::Timeout { detail: String::new() }.is_retryable());
        assert!(!LlmError::MalformedResponse { reason: String::new(), snippet: String::new() }.is_retryable());
    }
}
