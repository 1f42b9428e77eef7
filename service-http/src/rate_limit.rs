//! A token bucket per client address: `burst` requests at once, refilled at
//! `per_minute`. Used where a client could otherwise make a service do work
//! out of proportion to its request (the ID-number checks, photo decoding).
//!
//! An IPv6 client is counted by its /64: a host is commonly given a whole /64,
//! and a bucket per address would give it 2^64 of them.
//!
//! Memory is bounded: at most [`MAX_TRACKED`] addresses are remembered. When the
//! map is full, buckets that have refilled completely are forgotten first (they
//! are the same as a new bucket), then the longest-unseen address. A
//! [`KeyedRateLimiter`] never forgets a bucket that is not full: keys cost an
//! attacker nothing to make up (a QR text naming a random ID digest), so
//! evicting the longest-unseen one would hand a victim's emptied bucket back
//! full after 10,000 made-up keys. When full of unrefilled buckets it refuses
//! new keys until some refill (fails closed).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Most addresses tracked at once (~40 bytes each).
pub const MAX_TRACKED: usize = 10_000;

/// Per-address token buckets.
#[derive(Debug)]
pub struct RateLimiter {
    buckets: Buckets<IpAddr>,
}

/// Token buckets per key (a credential's ID digest, say) rather than per client:
/// a limit on the attempts *at one target*, whatever addresses they come from.
#[derive(Debug)]
pub struct KeyedRateLimiter {
    buckets: Buckets<String>,
}

#[derive(Debug)]
struct Buckets<K> {
    buckets: Mutex<HashMap<K, Bucket>>,
    capacity: f64,
    per_second: f64,
    max_tracked: usize,
    /// When full of unrefilled buckets: forget the longest-unseen one (per
    /// address), or refuse the new key (per key).
    when_full: WhenFull,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WhenFull {
    ForgetLongestUnseen,
    RefuseNewKeys,
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
        Self { buckets: Buckets::new(capacity, per_minute, max_tracked, WhenFull::ForgetLongestUnseen) }
    }

    /// Take one token for `ip`; false when none is left. An IPv6 client is
    /// counted by its /64 (one host may hold all of it), an IPv4-mapped IPv6
    /// address as its IPv4 address.
    pub fn allow(&self, ip: IpAddr) -> bool {
        self.buckets.take(client_of(ip))
    }

    /// Addresses remembered now.
    pub fn tracked(&self) -> usize {
        self.buckets.tracked()
    }
}

impl KeyedRateLimiter {
    /// `capacity` attempts at once per key, refilled at `per_minute`; at most
    /// [`MAX_TRACKED`] keys remembered.
    pub fn new(capacity: u32, per_minute: u32) -> Self {
        Self::with_max_tracked(capacity, per_minute, MAX_TRACKED)
    }

    /// The same, remembering at most `max_tracked` keys (at least 1).
    pub fn with_max_tracked(capacity: u32, per_minute: u32, max_tracked: usize) -> Self {
        Self { buckets: Buckets::new(capacity, per_minute, max_tracked, WhenFull::RefuseNewKeys) }
    }

    /// Take one token for `key`; false when none is left, or when the map is
    /// full of buckets that have not refilled and `key` is not among them.
    pub fn allow(&self, key: &str) -> bool {
        self.buckets.take(key.to_owned())
    }

    /// Keys remembered now.
    pub fn tracked(&self) -> usize {
        self.buckets.tracked()
    }
}

impl<K: std::hash::Hash + Eq + Clone> Buckets<K> {
    fn new(capacity: u32, per_minute: u32, max_tracked: usize, when_full: WhenFull) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            capacity: f64::from(capacity),
            per_second: f64::from(per_minute) / 60.0,
            max_tracked: max_tracked.max(1),
            when_full,
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * self.per_second).min(self.capacity)
    }

    fn take(&self, key: K) -> bool {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !buckets.contains_key(&key) && buckets.len() >= self.max_tracked {
            buckets.retain(|_, b| self.refilled(*b, now) < self.capacity);
            if buckets.len() >= self.max_tracked && self.when_full == WhenFull::RefuseNewKeys {
                return false;
            }
            if buckets.len() >= self.max_tracked {
                let oldest = buckets.iter().min_by_key(|(_, b)| b.at).map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    buckets.remove(&oldest);
                }
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket { tokens: self.capacity, at: now });
        bucket.tokens = self.refilled(*bucket, now);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }
}

/// The bucket an address belongs to: an IPv4 address itself; an IPv6 address
/// its /64 network (the host part zeroed), or the IPv4 address it maps.
fn client_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
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

    /// Attack review part 2: one host of an IPv6 network holds a whole /64 (2^64
    /// addresses); a bucket per address would give it unlimited guesses. An
    /// IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is that IPv4 address.
    #[test]
    fn an_ipv6_host_cannot_dodge_its_bucket_by_changing_address_within_its_64() {
        let limiter = RateLimiter::new(3, 1);
        let host = |n: u16| IpAddr::from([0x2001, 0xdb8, 1, 2, n, 0, 0, n]);
        assert!((1..=3).all(|n| limiter.allow(host(n))));
        assert!(!limiter.allow(host(1000)), "another address of the same /64");
        assert!(limiter.allow(IpAddr::from([0x2001, 0xdb8, 1, 3, 0, 0, 0, 1])), "another /64");
        let v4 = std::net::Ipv4Addr::new(192, 0, 2, 7);
        assert!((0..3).all(|_| limiter.allow(IpAddr::V4(v4))));
        assert!(!limiter.allow(IpAddr::V6(v4.to_ipv6_mapped())), "the same IPv4 client");
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

    /// Attack review: a victim credential's ID-check bucket, emptied by
    /// guesses, must not come back full because an attacker made up enough
    /// other keys (random ID digests in QR texts that need not verify) to fill
    /// the map: the keyed limiter refuses new keys instead of forgetting it.
    #[test]
    fn attack_a_full_keyed_limiter_never_forgets_an_emptied_bucket() {
        let limiter = KeyedRateLimiter::with_max_tracked(2, 1, 100);
        assert!(limiter.allow("victim") && limiter.allow("victim") && !limiter.allow("victim"));
        let mut refused = 0;
        for n in 0..10_000 {
            if !limiter.allow(&format!("made-up-{n}")) {
                refused += 1;
            }
            assert!(limiter.tracked() <= 100);
        }
        assert_eq!(refused, 10_000 - 99, "made-up keys beyond the bound are refused, not tracked");
        assert!(!limiter.allow("victim"), "the victim's bucket is still empty");
        // A key already tracked keeps its own bucket.
        assert!(limiter.allow("made-up-0"));
    }
}
