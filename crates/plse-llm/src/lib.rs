//! PLSE's LLM providers behind one blocking trait, for a rayon/thread program without an async
//! runtime.
//!
//! A [`ChatRequest`] goes to a [`Provider`] and comes back as a [`Completion`]: the parsed
//! [`ChatResponse`] (content, reasoning split off, finish reason, usage) with its provenance
//! (from a cache or not, a dry run or not, attempts, elapsed time). The providers:
//!
//! - [`OpenAiCompatible`]: `POST {base}/chat/completions` on any OpenAI-compatible server, with
//!   the [`RetryPolicy`] (408, 429, 5xx, timeouts and connection failures; `Retry-After`;
//!   full-jitter backoff) and the [`Limits`] (requests in flight, requests per minute).
//! - [`Replay`]: answers from a [`Cache`] only; a miss is [`LlmError::ReplayMiss`].
//! - [`DryRun`]: sends nothing, writes each request it would send with a token estimate.
//! - [`Cached`]: any provider behind a [`Cache`] ([`MemoryCache`] here; the run's store
//!   implements the trait elsewhere, so this crate knows no database).
//!
//! Boundary: requests, responses and bodies in; HTTP out. It reads no files and runs no
//! process; the one environment variable it reads is the API key's, named by the caller.
//!
//! Invariants:
//! - **The key never leaves the [`Secret`]**: it is read from the variable the caller names,
//!   sent only as `Authorization: Bearer …`, and never part of a request, a cache key, a
//!   cache entry, a dry-run line, an error or a `Debug` output; a response body that echoes
//!   it is scrubbed before anything else sees it.
//! - **A cached response is returned byte-identical**: the cache stores the body as received
//!   and a hit parses those same bytes, so a rerun from the cache is the same run.
//! - **One request, one key**: the body sent is the request's canonical JSON (sorted keys, no
//!   whitespace), and the cache key is the SHA-256 of that JSON and the per-sample seed.
//!
//! ```
//! use plse_llm::{Cache, Cached, ChatRequest, DryRun, MemoryCache, Message, Provider, Replay};
//!
//! let req = ChatRequest::new("qwen3-8b", vec![Message::user("Name a prime.")]);
//!
//! // What an earlier run stored for sample seed 7 (here put by hand).
//! let cache = MemoryCache::new();
//! let body = r#"{"model":"qwen3-8b","choices":[{"message":{"role":"assistant","content":"<think>2 is prime.</think>2"},"finish_reason":"stop"}]}"#;
//! cache.put(&req.cache_key(7), &req.canonical_json(), body)?;
//!
//! // A replay answers from the cache only, byte for byte.
//! let done = Replay::new(&cache).complete(&req, 7)?;
//! assert!(done.from_cache);
//! assert_eq!(done.raw, body);
//! assert_eq!(done.response.content, "2");
//! assert_eq!(done.response.reasoning.as_deref(), Some("2 is prime."));
//!
//! // A dry run behind the same cache records only what a real run would still send.
//! let dry = Cached::new(DryRun::new(std::io::sink()), &cache);
//! assert!(dry.complete(&req, 7)?.from_cache);
//! assert!(dry.complete(&req, 8)?.dry_run);
//! assert_eq!(dry.provider().totals().requests, 1);
//! # Ok::<(), plse_llm::LlmError>(())
//! ```
pub mod cache;
pub mod error;
pub mod limit;
pub mod provider;
pub mod request;
pub mod response;
pub mod retry;
pub mod secret;
#[cfg(test)]
mod test_support;

pub use cache::{Cache, CacheEntry, Cached, MemoryCache};
pub use error::LlmError;
pub use limit::{Limits, Permit};
pub use provider::dry_run::{DryRun, DryRunTotals, estimate_prompt_tokens};
pub use provider::openai::{OpenAiCompatible, OpenAiConfig};
pub use provider::replay::Replay;
pub use provider::{Completion, Provider};
pub use request::{ChatRequest, Message, Role};
pub use response::{ChatResponse, FinishReason, Usage};
pub use retry::{RetryPolicy, Sleeper, ThreadSleeper};
pub use secret::Secret;
