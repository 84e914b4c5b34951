//! The response cache: the trait a run's store implements, an in-memory one, and `Cached`,
//! which puts a cache in front of any provider.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use crate::{ChatRequest, Completion, LlmError, Provider};

/// Stores response bodies by cache key ([`ChatRequest::cache_key`]). Implementations must
/// return exactly the bytes they were given.
pub trait Cache: Send + Sync {
    /// The response body stored under `key`, if any.
    fn get(&self, key: &str) -> Result<Option<String>, LlmError>;

    /// Stores `response_json` under `key`, with the canonical request it answers (for audits;
    /// it holds no API key).
    fn put(&self, key: &str, request_json: &str, response_json: &str) -> Result<(), LlmError>;
}

impl<C: Cache + ?Sized> Cache for &C {
    fn get(&self, key: &str) -> Result<Option<String>, LlmError> {
        (**self).get(key)
    }

    fn put(&self, key: &str, request_json: &str, response_json: &str) -> Result<(), LlmError> {
        (**self).put(key, request_json, response_json)
    }
}

impl<C: Cache + ?Sized> Cache for Arc<C> {
    fn get(&self, key: &str) -> Result<Option<String>, LlmError> {
        (**self).get(key)
    }

    fn put(&self, key: &str, request_json: &str, response_json: &str) -> Result<(), LlmError> {
        (**self).put(key, request_json, response_json)
    }
}

/// One stored answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheEntry {
    /// The cache key.
    pub key: String,
    /// The canonical request.
    pub request_json: String,
    /// The response body, byte for byte.
    pub response_json: String,
}

/// A cache in memory, for tests and short runs.
#[derive(Debug, Default)]
pub struct MemoryCache {
    entries: Mutex<BTreeMap<String, CacheEntry>>,
}

impl MemoryCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every entry, by key.
    pub fn entries(&self) -> Vec<CacheEntry> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).values().cloned().collect()
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Cache for MemoryCache {
    fn get(&self, key: &str) -> Result<Option<String>, LlmError> {
        Ok(self.entries.lock().unwrap_or_else(PoisonError::into_inner).get(key).map(|e| e.response_json.clone()))
    }

    fn put(&self, key: &str, request_json: &str, response_json: &str) -> Result<(), LlmError> {
        let entry = CacheEntry { key: key.to_owned(), request_json: request_json.to_owned(), response_json: response_json.to_owned() };
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).insert(key.to_owned(), entry);
        Ok(())
    }
}

/// A provider behind a cache: a hit sends nothing and returns the stored body (parsed again,
/// `from_cache: true`); a miss asks the provider and stores its body. Dry-run placeholders
/// are never stored, so `Cached<DryRun, _>` records only the requests a real run would send.
#[derive(Debug)]
pub struct Cached<P, C> {
    provider: P,
    cache: C,
}

impl<P: Provider, C: Cache> Cached<P, C> {
    /// `provider` behind `cache`.
    pub fn new(provider: P, cache: C) -> Self {
        Cached { provider, cache }
    }

    /// The provider asked on a miss.
    pub fn provider(&self) -> &P {
        &self.provider
    }

    /// The cache.
    pub fn cache(&self) -> &C {
        &self.cache
    }
}

impl<P: Provider, C: Cache> Provider for Cached<P, C> {
    fn complete(&self, req: &ChatRequest, sample_seed: u64) -> Result<Completion, LlmError> {
        let started = Instant::now();
        let key = req.cache_key(sample_seed);
        if let Some(raw) = self.cache.get(&key)? {
            return Completion::from_cache(raw, started.elapsed());
        }
        let done = self.provider.complete(req, sample_seed)?;
        if !done.dry_run && !done.from_cache {
            self.cache.put(&key, &req.canonical_json(), &done.raw)?;
        }
        Ok(done)
    }

    fn name(&self) -> &str {
        self.provider.name()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::{ChatResponse, DryRun, Message};

    /// Answers with a fixed body and counts its calls.
    struct Fixed {
        body: &'static str,
        calls: AtomicU32,
    }

    impl Provider for Fixed {
        fn complete(&self, _: &ChatRequest, _: u64) -> Result<Completion, LlmError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let response = ChatResponse::from_json(self.body)?;
            Ok(Completion { response, raw: self.body.to_owned(), from_cache: false, dry_run: false, attempts: 1, elapsed: Duration::ZERO })
        }

        fn name(&self) -> &str {
            "fixed"
        }
    }

    const BODY: &str =
        "{ \"choices\": [ {\"message\": {\"content\": \"<think>hm</think>ok\"}, \"finish_reason\": \"stop\"} ],\n \"model\": \"m\" }";

    #[test]
    fn miss_stores_then_hit_returns_the_same_bytes() {
        let cached = Cached::new(Fixed { body: BODY, calls: AtomicU32::new(0) }, MemoryCache::new());
        let req = ChatRequest::new("m", vec![Message::user("hi")]);
        let first = cached.complete(&req, 1).unwrap();
        let second = cached.complete(&req, 1).unwrap();
        assert_eq!(cached.provider().calls.load(Ordering::SeqCst), 1);
        assert!(!first.from_cache && second.from_cache);
        assert_eq!((first.raw.as_str(), second.raw.as_str()), (BODY, BODY));
        assert_eq!(first.response, second.response);
        assert_eq!(second.attempts, 0);
        let entries = cached.cache().entries();
        assert_eq!(entries, [CacheEntry { key: req.cache_key(1), request_json: req.canonical_json(), response_json: BODY.to_owned() }]);
        cached.complete(&req, 2).unwrap();
        assert_eq!(cached.provider().calls.load(Ordering::SeqCst), 2, "another sample seed is another answer");
    }

    #[test]
    fn dry_runs_are_not_stored() {
        let cached = Cached::new(DryRun::new(std::io::sink()), MemoryCache::new());
        let done = cached.complete(&ChatRequest::new("m", vec![Message::user("hi")]), 1).unwrap();
        assert!(done.dry_run);
        assert!(cached.cache().is_empty());
    }

    #[test]
    fn a_corrupt_entry_is_a_typed_error() {
        let cache = MemoryCache::new();
        let req = ChatRequest::new("m", vec![Message::user("hi")]);
        cache.put(&req.cache_key(1), &req.canonical_json(), "not json").unwrap();
        let cached = Cached::new(Fixed { body: BODY, calls: AtomicU32::new(0) }, &cache);
        assert!(matches!(cached.complete(&req, 1), Err(LlmError::MalformedResponse { .. })));
    }
}
