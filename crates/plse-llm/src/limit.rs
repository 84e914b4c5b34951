//! Limits shared by every thread that sends: at most N requests in flight, and at most R
//! requests started per minute (a token bucket). Std only: `Mutex` and `Condvar`.
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The limits of one server. Clones share the same budget: hand a clone to each provider
/// that talks to the same server.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    in_flight: Option<Arc<Semaphore>>,
    rate: Option<Arc<TokenBucket>>,
}

impl Limits {
    /// No limit on concurrency or rate.
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// At most `max` requests in flight at once (0 counts as 1).
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.in_flight = Some(Arc::new(Semaphore::new(max.max(1))));
        self
    }

    /// At most `per_minute` requests started per minute, evenly spaced, with bursts of up to
    /// `burst` (0 counts as 1) after a quiet spell.
    pub fn per_minute(mut self, per_minute: u32, burst: u32) -> Self {
        self.rate = Some(Arc::new(TokenBucket::new(per_minute, burst)));
        self
    }

    /// Blocks until a request may start; the request is in flight until the permit drops.
    pub fn acquire(&self) -> Permit<'_> {
        let permit = Permit { semaphore: self.in_flight.as_deref().inspect(|s| s.acquire()) };
        if let Some(rate) = &self.rate {
            std::thread::sleep(rate.reserve(Instant::now()));
        }
        permit
    }

    /// Requests in flight now (0 without a concurrency limit).
    pub fn in_flight(&self) -> usize {
        self.in_flight.as_deref().map_or(0, Semaphore::taken)
    }
}

/// A started request's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Permit<'a> {
    semaphore: Option<&'a Semaphore>,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(semaphore) = self.semaphore {
            semaphore.release();
        }
    }
}

/// A counting semaphore.
#[derive(Debug)]
struct Semaphore {
    max: usize,
    taken: Mutex<usize>,
    freed: Condvar,
}

impl Semaphore {
    fn new(max: usize) -> Self {
        Semaphore { max, taken: Mutex::new(0), freed: Condvar::new() }
    }

    fn acquire(&self) {
        let taken = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        let mut taken = self.freed.wait_while(taken, |t| *t >= self.max).unwrap_or_else(PoisonError::into_inner);
        *taken += 1;
    }

    fn release(&self) {
        *self.taken.lock().unwrap_or_else(PoisonError::into_inner) -= 1;
        self.freed.notify_one();
    }

    fn taken(&self) -> usize {
        *self.taken.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A token bucket that reserves: a caller takes a token now, even into debt, and waits until
/// the debt is repaid. Callers are served in the order they reserve, without polling.
#[derive(Debug)]
struct TokenBucket {
    capacity: f64,
    per_second: f64,
    state: Mutex<Option<(f64, Instant)>>,
}

impl TokenBucket {
    fn new(per_minute: u32, burst: u32) -> Self {
        TokenBucket { capacity: f64::from(burst.max(1)), per_second: f64::from(per_minute.max(1)) / 60.0, state: Mutex::new(None) }
    }

    /// Takes a token at `now`; returns how long to wait before using it.
    fn reserve(&self, now: Instant) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (tokens, last) = state.unwrap_or((self.capacity, now));
        let refill = now.saturating_duration_since(last).as_secs_f64() * self.per_second;
        let tokens = (tokens + refill).min(self.capacity) - 1.0;
        *state = Some((tokens, now.max(last)));
        if tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-tokens / self.per_second) }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn never_more_than_max_in_flight() {
        let limits = Limits::unlimited().max_in_flight(3);
        let now = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..12 {
                scope.spawn(|| {
                    let _permit = limits.acquire();
                    let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(current, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    now.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        assert_eq!(limits.in_flight(), 0);
    }

    #[test]
    fn bucket_spaces_requests_after_the_burst() {
        let bucket = TokenBucket::new(60, 2);
        let t0 = Instant::now();
        let waits: Vec<_> = (0..4).map(|_| bucket.reserve(t0)).collect();
        assert_eq!(waits, [Duration::ZERO, Duration::ZERO, Duration::from_secs(1), Duration::from_secs(2)]);
        // Three seconds later the debt of two is repaid and one token has refilled.
        assert_eq!(bucket.reserve(t0 + Duration::from_secs(3)), Duration::ZERO);
        assert_eq!(bucket.reserve(t0 + Duration::from_secs(3)), Duration::from_secs(1));
    }

    #[test]
    fn bucket_never_stores_more_than_its_burst() {
        let bucket = TokenBucket::new(120, 1);
        let t0 = Instant::now();
        assert_eq!(bucket.reserve(t0), Duration::ZERO);
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(bucket.reserve(later), Duration::ZERO);
        assert_eq!(bucket.reserve(later), Duration::from_millis(500));
    }

    #[test]
    fn rate_limit_waits_for_real() {
        let limits = Limits::unlimited().per_minute(600, 1);
        let started = Instant::now();
        for _ in 0..3 {
            drop(limits.acquire());
        }
        assert!(started.elapsed() >= Duration::from_millis(200), "{:?}", started.elapsed());
    }
}
