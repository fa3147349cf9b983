//! Who the client is: the peer, or — when the peer is a proxy named by
//! `--trusted-proxy` — the right-most `X-Forwarded-For` hop that isn't one.
//!
//! [`client_ip`] is the one answer to "which address is this request from":
//! the per-IP limits, the per-IP connection cap behind a proxy, the session
//! row's `ip` and the sign-in mail all read it (`http::ClientIp`).

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The networks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `--trusted-proxy`: a CIDR (`10.0.0.0/8`, `fd00::/8`), or a bare address
/// meaning just it (/32 or /128).
pub fn parse_network(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    if let Ok(ip) = IpAddr::from_str(s) {
        return Ok(IpNet::from(ip.to_canonical()));
    }
    IpNet::from_str(s)
        .map(|net| net.trunc())
        .map_err(|_| format!("{s:?} is not an address or a CIDR like 10.0.0.0/8 or fd00::/8"))
}

/// Where a request came from, as [`client_ip`] decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress {
    /// The client: the peer, or the hop a trusted proxy forwarded for.
    pub ip: IpAddr,
    /// A trusted proxy forwarded it, and `ip` is the client it named.
    pub forwarded: bool,
}

/// Why an `X-Forwarded-For` from a trusted proxy was not believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardedError {
    #[error("X-Forwarded-For is not text")]
    NotText,
    #[error("X-Forwarded-For has a hop that is not an IP address: {0:?}")]
    BadHop(String),
}

/// The client's address: the peer's, unless the peer is a trusted proxy and
/// sent `X-Forwarded-For`. Then the hops are read right to left (each proxy
/// appends the address it saw) and the first one that is not itself a
/// trusted proxy is the client; everything left of it was written by the
/// client and is ignored. A header from a trusted proxy that doesn't parse
/// as far as it is read falls back to the peer, with the error to log.
pub fn client_ip(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> (ClientAddress, Option<ForwardedError>) {
    let peer = peer.to_canonical();
    let direct = ClientAddress {
        ip: peer,
        forwarded: false,
    };
    if !trusted.contains(peer) {
        return (direct, None);
    }
    match forwarded_for(headers, trusted) {
        Ok(Some(ip)) => (
            ClientAddress {
                ip,
                forwarded: true,
            },
            None,
        ),
        Ok(None) => (direct, None),
        Err(e) => (direct, Some(e)),
    }
}

/// The right-most untrusted hop of every `X-Forwarded-For` header (in
/// order, as one list); the left-most hop when all are trusted; `None`
/// without the header.
fn forwarded_for(
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> Result<Option<IpAddr>, ForwardedError> {
    let mut values = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        values.push(value.to_str().map_err(|_| ForwardedError::NotText)?);
    }
    let mut leftmost = None;
    for hop in values.iter().rev().flat_map(|v| v.rsplit(',')) {
        let ip = parse_hop(hop).ok_or_else(|| ForwardedError::BadHop(hop.trim().to_owned()))?;
        if !trusted.contains(ip) {
            return Ok(Some(ip));
        }
        leftmost = Some(ip);
    }
    Ok(leftmost)
}

/// One hop: `192.0.2.1`, `2001:db8::1` or `[2001:db8::1]`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let bare = hop
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(hop);
    IpAddr::from_str(bare).ok().map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn trusted(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|n| parse_network(n).unwrap()).collect())
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        headers
    }

    fn client(peer: &str, values: &[&str], nets: &[&str]) -> (IpAddr, bool, bool) {
        let (address, error) = client_ip(ip(peer), &headers(values), &trusted(nets));
        (address.ip, address.forwarded, error.is_some())
    }

    #[test]
    fn networks_parse_bare_addresses_as_one_host() {
        assert_eq!(parse_network("10.0.0.1").unwrap().prefix_len(), 32);
        assert_eq!(parse_network("::1").unwrap().prefix_len(), 128);
        assert_eq!(
            parse_network(" 10.1.2.3/8 ").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert!(parse_network("10.0.0.0/33").is_err());
        assert!(parse_network("proxy.example").is_err());
        assert!(trusted(&["10.0.0.0/8"]).contains(ip("::ffff:10.9.9.9")));
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        assert_eq!(
            client("192.0.2.9", &["198.51.100.1"], &["10.0.0.0/8"]),
            (ip("192.0.2.9"), false, false)
        );
        assert_eq!(
            client("192.0.2.9", &["198.51.100.1"], &[]),
            (ip("192.0.2.9"), false, false)
        );
        assert_eq!(
            client("192.0.2.9", &["not an ip"], &["10.0.0.0/8"]),
            (ip("192.0.2.9"), false, false),
            "an untrusted peer's header isn't even read"
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let nets = ["10.0.0.0/8", "fd00::/8"];
        assert_eq!(
            client("10.0.0.2", &["198.51.100.1"], &nets),
            (ip("198.51.100.1"), true, false)
        );
        // The client wrote the first hop itself: only what proxies appended counts.
        assert_eq!(
            client("10.0.0.2", &["6.6.6.6, 198.51.100.1, 10.0.0.7"], &nets),
            (ip("198.51.100.1"), true, false)
        );
        assert_eq!(
            client("10.0.0.2", &["garbage, 198.51.100.1"], &nets),
            (ip("198.51.100.1"), true, false),
            "junk left of the client is the client's business"
        );
        assert_eq!(
            client("10.0.0.2", &["6.6.6.6", "198.51.100.1, fd00::3"], &nets),
            (ip("198.51.100.1"), true, false),
            "several headers are one list"
        );
        assert_eq!(
            client("10.0.0.2", &["[2001:db8::5]"], &nets),
            (ip("2001:db8::5"), true, false)
        );
        assert_eq!(
            client("10.0.0.2", &["10.0.0.9, 10.0.0.8"], &nets),
            (ip("10.0.0.9"), true, false),
            "all trusted: the farthest"
        );
        assert_eq!(
            client("10.0.0.2", &[], &nets),
            (ip("10.0.0.2"), false, false)
        );
    }

    #[test]
    fn a_malformed_header_falls_back_to_the_peer_with_the_reason() {
        let nets = ["10.0.0.0/8"];
        for bad in ["", "198.51.100.1, nonsense", "198.51.100.1:443", "1.2.3.4,"] {
            assert_eq!(
                client("10.0.0.2", &[bad], &nets),
                (ip("10.0.0.2"), false, true),
                "{bad:?}"
            );
        }
        let mut raw = HeaderMap::new();
        raw.insert(
            "x-forwarded-for",
            axum::http::HeaderValue::from_bytes(b"\xff1.2.3.4").unwrap(),
        );
        let (address, error) = client_ip(ip("10.0.0.2"), &raw, &trusted(&nets));
        assert_eq!(
            (address.ip, error),
            (ip("10.0.0.2"), Some(ForwardedError::NotText))
        );
    }
}
