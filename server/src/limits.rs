//! The per-IP limit on `/v1/auth/*`: a sliding one-minute window. Refused
//! requests are not counted, so a client that waits `Retry-After` gets in.
//! An IPv6 requester is counted per /64 ([`requester_key`]).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;

use crate::clock::Millis;

const WINDOW_MS: Millis = 60_000;

/// Who a limit counts: an IPv4 address as it is, an IPv6 one by its /64.
/// One IPv6 host is usually handed a whole /64, so counting single
/// addresses would give it 2^64 budgets.
pub fn requester_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !(u128::MAX >> 64);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
    }
}

pub struct IpLimiter {
    per_minute: u32,
    seen: Mutex<HashMap<IpAddr, VecDeque<Millis>>>,
}

impl IpLimiter {
    /// `per_minute == 0` turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts the request, or says how many seconds to wait.
    pub fn check(&self, ip: IpAddr, now: Millis) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let Ok(mut seen) = self.seen.lock() else {
            return Ok(());
        };
        let times = seen.entry(requester_key(ip)).or_default();
        while times.front().is_some_and(|&t| t <= now - WINDOW_MS) {
            times.pop_front();
        }
        if times.len() >= self.per_minute as usize {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(retry_after_s(oldest + WINDOW_MS - now));
        }
        times.push_back(now);
        Ok(())
    }

    /// Forgets addresses with nothing in the window.
    pub fn prune(&self, now: Millis) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.retain(|_, times| times.back().is_some_and(|&t| t > now - WINDOW_MS));
        }
    }
}

/// Whole seconds, rounded up, at least 1 (what `Retry-After` carries).
pub fn retry_after_s(wait_ms: Millis) -> u64 {
    u64::try_from((wait_ms + 999) / 1000).unwrap_or(1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_slides_and_refusals_do_not_count() {
        let limiter = IpLimiter::new(2);
        let ip: IpAddr = [127, 0, 0, 1].into();
        assert_eq!(limiter.check(ip, 0), Ok(()));
        assert_eq!(limiter.check(ip, 10_000), Ok(()));
        assert_eq!(limiter.check(ip, 20_000), Err(40));
        assert_eq!(limiter.check(ip, 59_999), Err(1));
        assert_eq!(
            limiter.check(ip, 60_000),
            Ok(()),
            "the first request left the window"
        );
        assert_eq!(
            limiter.check([127, 0, 0, 2].into(), 60_000),
            Ok(()),
            "per address"
        );
        assert_eq!(IpLimiter::new(0).check(ip, 0), Ok(()));
    }

    #[test]
    fn ipv6_counts_per_64() {
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            requester_key(v6("2001:db8:1:2:aaaa::1")),
            v6("2001:db8:1:2::")
        );
        assert_eq!(requester_key(v6("192.0.2.7")), v6("192.0.2.7"));
        let limiter = IpLimiter::new(1);
        assert_eq!(limiter.check(v6("2001:db8:1:2::1"), 0), Ok(()));
        assert!(
            limiter.check(v6("2001:db8:1:2:ffff::9"), 0).is_err(),
            "the same /64"
        );
        assert_eq!(limiter.check(v6("2001:db8:1:3::1"), 0), Ok(()));
    }
}
