//! The command line's side of the LLM providers (`plse-llm`): a provider from the flags, behind
//! the run store's response cache. `factory` and `generate --rephrase` both build theirs here.

use std::time::Duration;

use anyhow::Result;
use plse_llm::{Cached, Limits, OpenAiCompatible, OpenAiConfig, Provider, Replay, RetryPolicy};

use crate::cli::{ProviderArgs, ProviderKind};
use crate::store::factory::LlmCache;

/// The provider of a real run: an OpenAI-compatible server behind the store's cache, or the
/// cache alone (`replay`). `jitter_seed` seeds the retry backoff's jitter.
pub fn provider(p: &ProviderArgs, jitter_seed: u64, cache: LlmCache) -> Result<Box<dyn Provider>> {
    Ok(match p.provider {
        ProviderKind::Replay => Box::new(Replay::new(cache)),
        ProviderKind::Openai | ProviderKind::DryRun => {
            let mut limits = Limits::unlimited().max_in_flight(p.concurrency as usize);
            if p.requests_per_minute > 0 {
                limits = limits.per_minute(p.requests_per_minute, p.concurrency as u32);
            }
            let config = OpenAiConfig {
                base_url: p.base_url.clone(),
                api_key_env: p.api_key_env.clone(),
                timeout: Duration::from_secs_f64(p.timeout.max(0.1)),
                retry: RetryPolicy { max_attempts: p.max_attempts, jitter_seed, ..RetryPolicy::default() },
                limits,
            };
            Box::new(Cached::new(OpenAiCompatible::new(config)?, cache))
        }
    })
}
