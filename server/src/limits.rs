//! The per-IP limit on `/v1/auth/*`: a sliding one-minute window. Refused
//! requests are not counted, so a client that waits `Retry-After` gets in.
//! Also the keys the limits count by: a requester ([`requester_key`], an IPv6
//! one per /64) and an address as its inbox receives it ([`send_address`]).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
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

/// The limit key of a requester's IP: an IPv4 address as it is, an IPv6
/// one masked to its /64, since one subscriber (one home, one VPS) is
/// routinely given a whole /64 to pick addresses from.
pub fn requester_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

/// The inbox a normalized address lands in, for the send limits:
/// `ada+1@example.com` and `ada+2@example.com` are `ada@example.com`.
/// Identity (accounts, flows) keeps the address as typed.
pub fn send_address(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => match local.split_once('+') {
            Some((base, _)) if !base.is_empty() => format!("{base}@{domain}"),
            _ => email.to_owned(),
        },
        None => email.to_owned(),
    }
}

/// The recipient domain of a normalized address.
pub fn mail_domain(email: &str) -> &str {
    email.rsplit_once('@').map_or(email, |(_, domain)| domain)
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
    fn requesters_are_ipv4_addresses_and_ipv6_64s() {
        let key = |s: &str| requester_key(s.parse().unwrap()).to_string();
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.1"), "192.0.2.1", "IPv4-mapped is IPv4");
    }

    #[test]
    fn plus_addressed_variants_share_an_inbox() {
        assert_eq!(send_address("ada+1@example.com"), "ada@example.com");
        assert_eq!(send_address("ada+a+b@example.com"), "ada@example.com");
        assert_eq!(send_address("ada@example.com"), "ada@example.com");
        assert_eq!(send_address("+x@example.com"), "+x@example.com");
        assert_eq!(mail_domain("ada+1@mail.example.com"), "mail.example.com");
    }

    #[test]
    fn the_auth_limit_counts_ipv6_per_64() {
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        let limiter = IpLimiter::new(1);
        assert_eq!(limiter.check(v6("2001:db8:1:2::1"), 0), Ok(()));
        assert!(
            limiter.check(v6("2001:db8:1:2:ffff::9"), 0).is_err(),
            "the same /64"
        );
        assert_eq!(limiter.check(v6("2001:db8:1:3::1"), 0), Ok(()));
    }
}
