//! Token buckets: a rate with a burst allowance. A bucket holds up to
//! `burst` tokens and refills at `per_second`; each request takes one, and
//! a request that finds the bucket empty is refused with the time until
//! the next token (never queued: the caller decides whether to retry).

use std::time::{Duration, Instant};

/// `per_second` requests on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/s, burst {}", self.per_second, self.burst)
    }
}

#[derive(Debug, Clone)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        Self {
            limit,
            tokens: f64::from(limit.burst),
            updated: now,
        }
    }

    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens =
            (self.tokens + elapsed * self.limit.per_second).min(f64::from(self.limit.burst));
        self.updated = self.updated.max(now);
    }

    /// `Ok` if a token is there now (without taking it), else how long
    /// until one is.
    pub fn check(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.limit.per_second,
            ))
        }
    }

    /// Takes a token that [`check`](Self::check) found.
    pub fn take(&mut self) {
        self.tokens = (self.tokens - 1.0).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: f64, burst: u32) -> RateLimit {
        RateLimit { per_second, burst }
    }

    fn take(bucket: &mut TokenBucket, now: Instant) -> Result<(), Duration> {
        bucket.check(now).map(|()| bucket.take())
    }

    #[test]
    fn a_full_bucket_allows_the_burst_then_refuses_with_the_wait() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(limit(2.0, 3), start);
        for _ in 0..3 {
            assert_eq!(take(&mut bucket, start), Ok(()));
        }
        let wait = take(&mut bucket, start).expect_err("empty");
        assert_eq!(wait, Duration::from_millis(500));
        // Half a token later: still empty, a quarter second to go.
        let wait = take(&mut bucket, start + Duration::from_millis(250)).expect_err("empty");
        assert_eq!(wait, Duration::from_millis(250));
        assert_eq!(
            take(&mut bucket, start + Duration::from_millis(500)),
            Ok(())
        );
    }

    #[test]
    fn refills_at_the_rate_up_to_the_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(limit(10.0, 2), start);
        take(&mut bucket, start).unwrap();
        take(&mut bucket, start).unwrap();
        // An hour idle refills only to the burst.
        let later = start + Duration::from_secs(3600);
        take(&mut bucket, later).unwrap();
        take(&mut bucket, later).unwrap();
        assert!(take(&mut bucket, later).is_err());
        // 100 ms is one token at 10/s.
        let next = later + Duration::from_millis(100);
        assert_eq!(take(&mut bucket, next), Ok(()));
        assert!(take(&mut bucket, next).is_err());
    }

    #[test]
    fn check_does_not_take() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(limit(1.0, 1), start);
        assert_eq!(bucket.check(start), Ok(()));
        assert_eq!(bucket.check(start), Ok(()));
        bucket.take();
        assert!(bucket.check(start).is_err());
    }

    #[test]
    fn slow_rates_wait_long() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(limit(0.1, 1), start);
        take(&mut bucket, start).unwrap();
        assert_eq!(take(&mut bucket, start), Err(Duration::from_secs(10)));
    }
}
