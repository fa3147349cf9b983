//! The per-IP limit on `/v1/auth/*`: a sliding one-minute window. Refused
//! requests are not counted, so a client that waits `Retry-After` gets in.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use crate::clock::Millis;

const WINDOW_MS: Millis = 60_000;

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
        let times = seen.entry(ip).or_default();
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
}
