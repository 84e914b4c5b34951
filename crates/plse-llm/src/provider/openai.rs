//! `OpenAiCompatible`: `POST {base}/chat/completions` on any OpenAI-compatible server (vLLM,
//! SGLang, llama.cpp, Ollama's `/v1`, hosted APIs), with retries and limits.
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ureq::http::HeaderValue;

use crate::error::snippet;
use crate::retry::parse_retry_after;
use crate::secret::scrub;
use crate::{ChatRequest, ChatResponse, Completion, Limits, LlmError, Provider, RetryPolicy, Secret, Sleeper, ThreadSleeper};

/// The largest response body read (a chat completion is a few KiB to a few hundred KiB).
const MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;

/// Settings of an [`OpenAiCompatible`] provider.
#[derive(Clone, Debug)]
pub struct OpenAiConfig {
    /// The API root, e.g. `http://127.0.0.1:8080/v1`; `/chat/completions` is appended.
    pub base_url: String,
    /// The NAME of the environment variable holding the API key (`OPENAI_API_KEY`), or `None`
    /// for servers without authentication. The value is read once, by
    /// [`OpenAiCompatible::new`].
    pub api_key_env: Option<String>,
    /// The longest a single attempt may take, connection to last body byte.
    pub timeout: Duration,
    /// When to retry.
    pub retry: RetryPolicy,
    /// Concurrency and rate limits (clones share them).
    pub limits: Limits,
}

impl OpenAiConfig {
    /// `base_url` without a key, a 300 s timeout, the default retry policy and no limits.
    pub fn new(base_url: impl Into<String>) -> Self {
        OpenAiConfig {
            base_url: base_url.into(),
            api_key_env: None,
            timeout: Duration::from_secs(300),
            retry: RetryPolicy::default(),
            limits: Limits::unlimited(),
        }
    }
}

/// A client of one OpenAI-compatible server. The request body is the request's canonical
/// JSON; the key, if any, goes only into the `Authorization` header (marked sensitive).
pub struct OpenAiCompatible {
    url: String,
    key: Option<Secret>,
    timeout: Duration,
    retry: RetryPolicy,
    limits: Limits,
    agent: ureq::Agent,
    sleeper: Arc<dyn Sleeper>,
}

impl OpenAiCompatible {
    /// A provider for `config`; reads the API key now, so a missing variable is reported
    /// before any request ([`LlmError::MissingApiKey`], naming the variable).
    pub fn new(config: OpenAiConfig) -> Result<Self, LlmError> {
        let key = config.api_key_env.as_deref().map(Secret::from_env).transpose()?;
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("plse-llm/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        let url = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
        Ok(OpenAiCompatible {
            url,
            key,
            timeout: config.timeout,
            retry: config.retry,
            limits: config.limits,
            agent,
            sleeper: Arc::new(ThreadSleeper),
        })
    }

    /// The same provider waiting through `sleeper` between attempts (tests record instead).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// The limits this provider waits on.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// One attempt: the body of a 2xx answer (key scrubbed), or the typed failure.
    fn attempt(&self, body: &str) -> Result<String, LlmError> {
        let _permit = self.limits.acquire();
        let mut request = self.agent.post(&self.url).header("content-type", "application/json");
        if let Some(key) = &self.key {
            request = request.header("authorization", authorization(key)?);
        }
        let mut response = request.send(body).map_err(|e| self.client_error(e))?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let text = response.body_mut().with_config().limit(MAX_BODY_BYTES).read_to_string().map_err(|e| self.client_error(e))?;
        let text = scrub(self.key.as_ref(), &text).into_owned();
        match status {
            200..=299 => Ok(text),
            _ => Err(LlmError::Status { status, retry_after, snippet: snippet(&text) }),
        }
    }

    /// A client failure, classified for the retry policy, its text scrubbed.
    fn client_error(&self, error: ureq::Error) -> LlmError {
        use std::io::ErrorKind::{InvalidData, TimedOut, WouldBlock};
        let detail = scrub(self.key.as_ref(), &error.to_string()).into_owned();
        match error {
            ureq::Error::Timeout(_) => LlmError::Timeout { detail },
            ureq::Error::Io(e) if matches!(e.kind(), TimedOut | WouldBlock) => LlmError::Timeout { detail },
            // A body that is not UTF-8 will not become UTF-8 on another try.
            ureq::Error::Io(e) if e.kind() == InvalidData => LlmError::Transport { detail },
            ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound | ureq::Error::Protocol(_) => {
                LlmError::Connection { detail }
            }
            _ => LlmError::Transport { detail },
        }
    }

    /// Parses a 2xx body; a failure's reason and snippet come from the scrubbed text.
    fn parse(&self, raw: &str) -> Result<ChatResponse, LlmError> {
        ChatResponse::parse(raw)
            .map_err(|reason| LlmError::MalformedResponse { reason: scrub(self.key.as_ref(), &reason).into_owned(), snippet: snippet(raw) })
    }
}

/// The `Authorization` value, marked sensitive so that no `Debug` of it shows the key.
fn authorization(key: &Secret) -> Result<HeaderValue, LlmError> {
    let mut value = HeaderValue::from_str(&key.bearer())
        .map_err(|_| LlmError::Transport { detail: "the API key holds characters a header cannot carry".to_owned() })?;
    value.set_sensitive(true);
    Ok(value)
}

/// The server's `Retry-After`, when present and readable.
fn retry_after(headers: &ureq::http::HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?;
    parse_retry_after(value, SystemTime::now())
}

/// The jitter stream of a request: the first 64 bits of its cache key.
fn stream_of(key: &str) -> u64 {
    key.get(..16).and_then(|hex| u64::from_str_radix(hex, 16).ok()).unwrap_or(0)
}

impl Provider for OpenAiCompatible {
    fn complete(&self, req: &ChatRequest, sample_seed: u64) -> Result<Completion, LlmError> {
        req.validate()?;
        let started = Instant::now();
        let body = req.canonical_json();
        let stream = stream_of(&req.cache_key(sample_seed));
        let (raw, attempts) = self.retry.run(&*self.sleeper, stream, |_| self.attempt(&body))?;
        let response = self.parse(&raw)?;
        Ok(Completion { response, raw, from_cache: false, dry_run: false, attempts, elapsed: started.elapsed() })
    }

    fn name(&self) -> &str {
        "openai-compatible"
    }
}

impl fmt::Debug for OpenAiCompatible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiCompatible")
            .field("url", &self.url)
            .field("key", &self.key)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
