//! The control-plane request rate limit per account (AWS's default is 5 requests per second): a
//! token bucket per account that refills continuously and holds at most one second's worth, so a
//! burst of `rate` requests passes and the steady rate is `rate` per second. Time comes from the
//! service clock, so tests can drive it.

use std::collections::HashMap;
use std::sync::Mutex;

use paycrypt_api::Timestamp;

struct Bucket {
    tokens: f64,
    last_millis: i64,
}

/// Requests per second per account; a rate of zero admits everything.
pub struct RateLimiter {
    per_second: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// A limiter that admits everything.
    pub fn unlimited() -> Self {
        Self::new(0)
    }

    /// Takes a token for `account` at `now`; false when its bucket is empty.
    pub fn admit(&self, account: &str, now: Timestamp) -> bool {
        if self.per_second == 0 {
            return true;
        }
        let rate = f64::from(self.per_second);
        let now = now.as_millis();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(account.to_string()).or_insert(Bucket {
            tokens: rate,
            last_millis: now,
        });
        let elapsed = (now - bucket.last_millis).max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate);
        bucket.last_millis = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_to_the_rate_then_refills_per_account() {
        let limiter = RateLimiter::new(5);
        let t0 = Timestamp::from_millis(1_000_000);
        for _ in 0..5 {
            assert!(limiter.admit("a", t0));
        }
        assert!(!limiter.admit("a", t0));
        assert!(limiter.admit("b", t0), "accounts have their own buckets");
        assert!(!limiter.admit("a", Timestamp::from_millis(1_000_100)));
        assert!(limiter.admit("a", Timestamp::from_millis(1_000_200)));
        assert!(!limiter.admit("a", Timestamp::from_millis(1_000_200)));
    }

    #[test]
    fn zero_admits_everything() {
        let limiter = RateLimiter::unlimited();
        let t = Timestamp::from_millis(0);
        assert!((0..1000).all(|_| limiter.admit("a", t)));
    }
}
