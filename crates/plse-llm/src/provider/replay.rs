//! `Replay`: answers from the cache only, for reruns that must send nothing.
use std::time::Instant;

use crate::{Cache, ChatRequest, Completion, LlmError, Provider};

/// Answers every request from `cache`; a miss is [`LlmError::ReplayMiss`] and nothing is
/// sent. A run replayed from the cache of an earlier run reproduces it byte for byte.
#[derive(Debug)]
pub struct Replay<C> {
    cache: C,
}

impl<C: Cache> Replay<C> {
    /// Replays from `cache`.
    pub fn new(cache: C) -> Self {
        Replay { cache }
    }
}

impl<C: Cache> Provider for Replay<C> {
    fn complete(&self, req: &ChatRequest, sample_seed: u64) -> Result<Completion, LlmError> {
        let started = Instant::now();
        let key = req.cache_key(sample_seed);
        match self.cache.get(&key)? {
            Some(raw) => Completion::from_cache(raw, started.elapsed()),
            None => Err(LlmError::ReplayMiss { key }),
        }
    }

    fn name(&self) -> &str {
        "replay"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryCache, Message};

    const BODY: &str = r#"{"model":"m","choices":[{"message":{"role":"assistant","content":"hello"},"finish_reason":"length"}]}"#;

    #[test]
    fn a_miss_is_an_error_naming_the_key() {
        let req = ChatRequest::new("m", vec![Message::user("hi")]);
        match Replay::new(MemoryCache::new()).complete(&req, 3) {
            Err(LlmError::ReplayMiss { key }) => assert_eq!(key, req.cache_key(3)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_hit_is_the_stored_response() {
        let cache = MemoryCache::new();
        let req = ChatRequest::new("m", vec![Message::user("hi")]);
        cache.put(&req.cache_key(3), &req.canonical_json(), BODY).unwrap();
        let replay = Replay::new(&cache);
        let done = replay.complete(&req, 3).unwrap();
        assert!(done.from_cache && !done.dry_run);
        assert_eq!(done.raw, BODY);
        assert_eq!(done.response.content, "hello");
        assert!(done.response.is_truncated());
        assert!(matches!(replay.complete(&req, 4), Err(LlmError::ReplayMiss { .. })));
    }
}
