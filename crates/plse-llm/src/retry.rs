//! When and how long to wait before trying again: retryable statuses, `Retry-After`, and
//! full-jitter exponential backoff from a seeded generator.
use std::time::{Duration, SystemTime};

use crate::LlmError;

/// Sleeps between attempts. Tests inject one that records instead of sleeping.
pub trait Sleeper: Send + Sync {
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration);
}

/// The real sleeper: `std::thread::sleep`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadSleeper;

impl Sleeper for ThreadSleeper {
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// 408, 429 and every 5xx may succeed later; other statuses will not.
pub fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

/// Reads `Retry-After`: delta-seconds or an HTTP-date (a date in the past means now).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// How often and how long to retry.
///
/// Attempt `n` (1-based) that fails with a retryable error waits the server's `Retry-After`
/// (capped at `max_retry_after`) or else a full-jitter backoff: uniform in
/// `[0, min(cap, base · 2^(n-1)))`. The uniform draw is a pure function of
/// (`jitter_seed`, the request's stream, `n`), so tests are deterministic and concurrent
/// requests do not retry in lockstep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The backoff ceiling of the first retry.
    pub base: Duration,
    /// The largest backoff ceiling.
    pub cap: Duration,
    /// The longest `Retry-After` honoured; longer requests wait this long.
    pub max_retry_after: Duration,
    /// Seeds the jitter.
    pub jitter_seed: u64,
}

impl Default for RetryPolicy {
    /// 5 attempts, 0.5 s base, 30 s cap, `Retry-After` up to 60 s, seed 0.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            jitter_seed: 0,
        }
    }
}

impl RetryPolicy {
    /// No retries: one attempt.
    pub fn none() -> Self {
        RetryPolicy { max_attempts: 1, ..Self::default() }
    }

    /// The full-jitter backoff after failed attempt `attempt` (1-based) of `stream`.
    pub fn backoff(&self, attempt: u32, stream: u64) -> Duration {
        let doubling = 2u32.checked_pow(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        let ceiling = self.base.saturating_mul(doubling).min(self.cap);
        ceiling.mul_f64(unit_draw(self.jitter_seed, stream, attempt))
    }

    /// The wait before the next attempt after `error` on attempt `attempt`, or `None` when
    /// the error is not retryable or the attempts are used up.
    pub fn delay_after(&self, error: &LlmError, attempt: u32, stream: u64) -> Option<Duration> {
        if !error.is_retryable() || attempt >= self.max_attempts {
            return None;
        }
        Some(match error.retry_after() {
            Some(asked) => asked.min(self.max_retry_after),
            None => self.backoff(attempt, stream),
        })
    }

    /// Runs `op` (given the attempt number) until it succeeds, fails for good or the attempts
    /// run out; returns the value and the attempts made. A retryable error on the last attempt
    /// becomes [`LlmError::Exhausted`]; a non-retryable one is returned as it is.
    pub fn run<T>(&self, sleeper: &dyn Sleeper, stream: u64, mut op: impl FnMut(u32) -> Result<T, LlmError>) -> Result<(T, u32), LlmError> {
        let mut attempt = 1;
        loop {
            let error = match op(attempt) {
                Ok(value) => return Ok((value, attempt)),
                Err(error) => error,
            };
            match self.delay_after(&error, attempt, stream) {
                Some(wait) => sleeper.sleep(wait),
                None if error.is_retryable() && attempt > 1 => {
                    return Err(LlmError::Exhausted { attempts: attempt, last: Box::new(error) });
                }
                None => return Err(error),
            }
            attempt += 1;
        }
    }
}

/// A uniform draw in `[0, 1)` from (seed, stream, attempt): SplitMix64's finaliser over their
/// mix, top 53 bits as the fraction.
fn unit_draw(seed: u64, stream: u64, attempt: u32) -> f64 {
    let mut z = seed ^ stream.rotate_left(17) ^ u64::from(attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::RecordingSleeper;

    fn status(status: u16, retry_after: Option<u64>) -> LlmError {
        LlmError::Status { status, retry_after: retry_after.map(Duration::from_secs), snippet: String::new() }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy { max_attempts: 4, base: Duration::from_millis(100), cap: Duration::from_millis(250), ..RetryPolicy::default() }
    }

    /// Runs `policy` over the scripted outcomes; returns the result and the recorded waits.
    fn script(
        policy: RetryPolicy,
        outcomes: Vec<Result<&'static str, LlmError>>,
    ) -> (Result<(&'static str, u32), LlmError>, Vec<Duration>) {
        let sleeper = RecordingSleeper::default();
        let mut outcomes = outcomes.into_iter();
        let result = policy.run(&sleeper, 7, |_| outcomes.next().expect("the policy tried too often"));
        (result, sleeper.waits())
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let (result, waits) = script(policy(), vec![Err(status(429, Some(3))), Ok("done")]);
        assert_eq!(result.unwrap(), ("done", 2));
        assert_eq!(waits, [Duration::from_secs(3)]);
        let capped = RetryPolicy { max_retry_after: Duration::from_secs(2), ..policy() };
        let (_, waits) = script(capped, vec![Err(status(503, Some(3600))), Ok("done")]);
        assert_eq!(waits, [Duration::from_secs(2)]);
    }

    #[test]
    fn backoff_is_full_jitter_under_a_growing_ceiling() {
        let p = policy();
        for stream in 0..200 {
            assert!(p.backoff(1, stream) < Duration::from_millis(100));
            assert!(p.backoff(2, stream) < Duration::from_millis(200));
            assert!(p.backoff(3, stream) < Duration::from_millis(250));
            assert!(p.backoff(40, stream) < Duration::from_millis(250));
        }
        let draws: Vec<_> = (0..200).map(|s| p.backoff(3, s)).collect();
        assert!(draws.iter().any(|d| *d < Duration::from_millis(60)) && draws.iter().any(|d| *d > Duration::from_millis(190)));
    }

    #[test]
    fn backoff_is_deterministic_per_seed_and_stream() {
        let p = policy();
        assert_eq!(p.backoff(2, 11), p.backoff(2, 11));
        assert_ne!(p.backoff(2, 11), p.backoff(2, 12));
        let reseeded = RetryPolicy { jitter_seed: 1, ..p };
        assert_ne!(p.backoff(2, 11), reseeded.backoff(2, 11));
    }

    #[test]
    fn server_errors_timeouts_and_connections_are_retried() {
        let errors = vec![
            Err(status(503, None)),
            Err(LlmError::Timeout { detail: String::new() }),
            Err(LlmError::Connection { detail: String::new() }),
            Ok("done"),
        ];
        let (result, waits) = script(policy(), errors);
        assert_eq!(result.unwrap(), ("done", 4));
        assert_eq!(waits, [policy().backoff(1, 7), policy().backoff(2, 7), policy().backoff(3, 7)]);
    }

    #[test]
    fn client_errors_are_not_retried() {
        for code in [400, 401, 403, 404, 422] {
            let (result, waits) = script(policy(), vec![Err(status(code, Some(1)))]);
            assert!(matches!(result, Err(LlmError::Status { status, .. }) if status == code));
            assert!(waits.is_empty());
        }
    }

    #[test]
    fn exhaustion_reports_attempts_and_the_last_error() {
        let errors = (0..4).map(|_| Err(LlmError::Timeout { detail: "t".to_owned() })).collect();
        let (result, waits) = script(policy(), errors);
        match result {
            Err(LlmError::Exhausted { attempts: 4, last }) => assert!(matches!(*last, LlmError::Timeout { .. })),
            other => panic!("{other:?}"),
        }
        assert_eq!(waits.len(), 3);
        let (result, _) = script(RetryPolicy::none(), vec![Err(status(503, None))]);
        assert!(matches!(result, Err(LlmError::Status { status: 503, .. })));
    }

    #[test]
    fn retry_after_formats() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse_retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
