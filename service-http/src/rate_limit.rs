//! A token bucket per client address: `burst` requests at once, refilled at
//! `per_minute`. Used where a client could otherwise make a service do work
//! out of proportion to its request (the ID-number checks, photo decoding).
//!
//! Memory is bounded: at most [`MAX_TRACKED`] addresses are remembered. When the
//! map is full, buckets that have refilled completely are forgotten first (they
//! are the same as a new bucket), then the longest-unseen address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Most addresses tracked at once (~40 bytes each).
pub const MAX_TRACKED: usize = 10_000;

/// Per-address token buckets.
#[derive(Debug)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    capacity: f64,
    per_second: f64,
    max_tracked: usize,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `capacity` requests at once, refilled at `per_minute`.
    pub fn new(capacity: u32, per_minute: u32) -> Self {
        Self::with_max_tracked(capacity, per_minute, MAX_TRACKED)
    }

    /// The same, remembering at most `max_tracked` addresses (at least 1).
    pub fn with_max_tracked(capacity: u32, per_minute: u32, max_tracked: usize) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            capacity: f64::from(capacity),
            per_second: f64::from(per_minute) / 60.0,
            max_tracked: max_tracked.max(1),
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * self.per_second).min(self.capacity)
    }

    /// Take one token for `ip`; false when none is left.
    pub fn allow(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !buckets.contains_key(&ip) && buckets.len() >= self.max_tracked {
            buckets.retain(|_, b| self.refilled(*b, now) < self.capacity);
            if buckets.len() >= self.max_tracked {
                let oldest = buckets.iter().min_by_key(|(_, b)| b.at).map(|(ip, _)| *ip);
                if let Some(oldest) = oldest {
                    buckets.remove(&oldest);
                }
            }
        }
        let bucket = buckets.entry(ip).or_insert(Bucket { tokens: self.capacity, at: now });
        bucket.tokens = self.refilled(*bucket, now);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Addresses remembered now.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }
}

impl Default for RateLimiter {
    /// 5 at once, 10 a minute (the ID-number checks).
    fn default() -> Self {
        Self::new(5, 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    #[test]
    fn allows_a_burst_then_refuses() {
        let limiter = RateLimiter::new(3, 1);
        let ip = addr(0xC000_0201);
        assert!((0..3).all(|_| limiter.allow(ip)));
        assert!(!limiter.allow(ip));
        assert!(limiter.allow(addr(0xC000_0202)), "another address has its own bucket");
    }

    #[test]
    fn the_map_stays_bounded_and_drains_the_oldest_first() {
        let limiter = RateLimiter::with_max_tracked(2, 1, 100);
        // Address 0 empties its bucket; it must stay refused while it is remembered.
        let first = addr(0);
        assert!(limiter.allow(first) && limiter.allow(first) && !limiter.allow(first));
        for n in 1..100 {
            assert!(limiter.allow(addr(n)));
        }
        assert_eq!(limiter.tracked(), 100);
        assert!(!limiter.allow(first), "still tracked at the limit");
        // 10,000 more addresses: the map never grows past its limit.
        for n in 100..10_100 {
            assert!(limiter.allow(addr(n)), "a new address starts with a full bucket");
            assert!(limiter.tracked() <= 100);
        }
        assert_eq!(limiter.tracked(), 100);
        // The newest are still remembered (their one token is spent: one left of two).
        let recent = addr(10_099);
        assert!(limiter.allow(recent));
        assert!(!limiter.allow(recent), "a recent address keeps its bucket");
    }
}
