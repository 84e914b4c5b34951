//! The provider trait and its answer with provenance; the providers live in the submodules.
use std::sync::Arc;
use std::time::Duration;

use crate::{ChatRequest, ChatResponse, LlmError};

pub mod dry_run;
pub mod openai;
pub mod replay;

/// Something that answers chat requests. Blocking; shared across threads.
pub trait Provider: Send + Sync {
    /// Answers `req` for the sample whose seed is `sample_seed`. The seed is part of the
    /// cache key (two samples with the same prompt get two answers) and is not sent.
    fn complete(&self, req: &ChatRequest, sample_seed: u64) -> Result<Completion, LlmError>;

    /// A short name for logs and run metadata (`openai-compatible`, `replay`, `dry-run`).
    fn name(&self) -> &str;
}

/// A response and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    /// The parsed response (empty content for a dry run).
    pub response: ChatResponse,
    /// The response body as received (API key scrubbed) or as cached: what a cache stores,
    /// and what a rerun from the cache parses again. Empty for a dry run.
    pub raw: String,
    /// Whether the answer came from a cache (no request was sent).
    pub from_cache: bool,
    /// Whether this is a dry run's placeholder: nothing was asked, so there is nothing to
    /// validate or keep.
    pub dry_run: bool,
    /// HTTP attempts made (0 from a cache or a dry run).
    pub attempts: u32,
    /// Wall time of the call, retries and limit waits included.
    pub elapsed: Duration,
}

impl Completion {
    /// A completion answered by a cache from its stored body.
    pub(crate) fn from_cache(raw: String, elapsed: Duration) -> Result<Self, LlmError> {
        let response = ChatResponse::from_json(&raw)?;
        Ok(Completion { response, raw, from_cache: true, dry_run: false, attempts: 0, elapsed })
    }
}

impl<P: Provider + ?Sized> Provider for &P {
    fn complete(&self, req: &ChatRequest, sample_seed: u64) -> Result<Completion, LlmError> {
        (**self).complete(req, sample_seed)
    }

    fn name(&self) -> &str {
        (**self).name()
    }
}

impl<P: Provider + ?Sized> Provider for Box<P> {
    fn complete(&self, req: &ChatRequest, sample_seed: u64) -> Result<Completion, LlmError> {
        (**self).complete(req, sample_seed)
    }

    fn name(&self) -> &str {
        (**self).name()
    }
}

impl<P: Provider + ?Sized> Provider for Arc<P> {
    fn complete(&self, req: &ChatRequest, sample_seed: u64) -> Result<Completion, LlmError> {
        (**self).complete(req, sample_seed)
    }

    fn name(&self) -> &str {
        (**self).name()
    }
}
