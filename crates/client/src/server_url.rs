//! The account server's address. Plain `http://` only to a loopback IP
//! literal, 127.0.0.0/8 or [::1] (SECURITY.md); anything else must be
//! `https://`. Not to the name `localhost` (RFC 8252 §8.3): a name is
//! resolved, and a resolver or hosts file that maps it elsewhere would carry
//! the session token in the clear.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

use crate::error::ClientError;

#[derive(Clone, PartialEq, Eq)]
pub struct ServerUrl(Url);

impl ServerUrl {
    pub fn parse(input: &str) -> Result<ServerUrl, ClientError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ClientError::InvalidServer(
                "Enter the server address, e.g. https://accounts.example.com".into(),
            ));
        }
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            format!("https://{trimmed}")
        };
        let mut url = Url::parse(&with_scheme).map_err(|_| {
            ClientError::InvalidServer(format!(
                "\"{trimmed}\" is not a server address, e.g. https://accounts.example.com"
            ))
        })?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" if is_localhost(&url) => {
                return Err(ClientError::InvalidServer(format!(
                    "Use http://127.0.0.1{port} instead of localhost: Latch talks plain http:// only to a loopback address written as one (127.0.0.1 or [::1]), never to a name.",
                    port = url.port().map(|p| format!(":{p}")).unwrap_or_default()
                )))
            }
            "http" => {
                let host = url.host_str().unwrap_or_default().to_owned();
                return Err(ClientError::InvalidServer(format!(
                    "Use https://{host} instead: plain http:// would send your sign-in unencrypted. Latch allows http:// only to this computer (127.0.0.1 or [::1])."
                )))
            }
            other => {
                return Err(ClientError::InvalidServer(format!("Use an https:// address, not {other}://")));
            }
        }
        if url.host().is_none() {
            return Err(ClientError::InvalidServer(
                "The server address needs a host name.".into(),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ClientError::InvalidServer(
                "Leave the user name and password out of the server address.".into(),
            ));
        }
        url.set_query(None);
        url.set_fragment(None);
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(ServerUrl(url))
    }

    /// `path` relative to the server's base (e.g. `v1/sessions`).
    pub fn join(&self, path: &str) -> Url {
        let mut url = self.0.clone();
        let joined = format!("{}{}", url.path(), path.trim_start_matches('/'));
        url.set_path(&joined);
        url
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The address as people write it: no trailing slash.
    pub fn display(&self) -> String {
        self.0.as_str().trim_end_matches('/').to_owned()
    }
}

/// A loopback IP literal: 127.0.0.0/8 or [::1]. Never a name.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(_)) | None => false,
    }
}

fn is_localhost(url: &Url) -> bool {
    matches!(url.host(), Some(Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost"))
}

/// A server address saved by a version that allowed `http://localhost`:
/// the same server at `http://127.0.0.1` (same port and path), which this
/// version accepts. Anything else comes back as it was.
pub fn migrate_localhost(saved: &str) -> String {
    let Ok(mut url) = Url::parse(saved.trim()) else {
        return saved.to_owned();
    };
    if url.scheme() != "http"
        || !matches!(url.host(), Some(Host::Domain(d)) if d.eq_ignore_ascii_case("localhost"))
    {
        return saved.to_owned();
    }
    if url.set_host(Some("127.0.0.1")).is_err() {
        return saved.to_owned();
    }
    url.to_string()
}

impl fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerUrl({})", self.0)
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_to_loopback() {
        for ok in [
            "https://accounts.example.com",
            "accounts.example.com",
            "http://127.0.0.1:8787",
            "http://[::1]:8787",
            "http://127.8.9.1",
            "https://x.example/base",
        ] {
            assert!(ServerUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "http://example.com",
            "http://192.168.1.10:8787",
            "ftp://x.example",
            "https://u:p@x.example",
            "http://localhost.evil.com",
            "http://localhost:8787/",
            "http://LOCALHOST",
            "http://app.localhost:8787",
            "http://[::ffff:127.0.0.1]:8787",
            "not a url at all",
        ] {
            assert!(
                matches!(ServerUrl::parse(bad), Err(ClientError::InvalidServer(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn refusals_say_what_to_write_instead() {
        let message = |input| match ServerUrl::parse(input) {
            Err(ClientError::InvalidServer(m)) => m,
            other => panic!("{other:?}"),
        };
        let m = message("http://example.com");
        assert!(m.starts_with("Use https://example.com instead"), "{m}");
        assert!(m.contains("unencrypted"), "{m}");
        let m = message("http://localhost:8787");
        assert!(
            m.starts_with("Use http://127.0.0.1:8787 instead of localhost"),
            "{m}"
        );
    }

    #[test]
    fn a_saved_localhost_address_moves_to_127_0_0_1() {
        assert_eq!(
            migrate_localhost("http://localhost:8787/"),
            "http://127.0.0.1:8787/"
        );
        assert_eq!(
            migrate_localhost("http://LocalHost:9/base/"),
            "http://127.0.0.1:9/base/"
        );
        for kept in [
            "http://127.0.0.1:8787/",
            "https://localhost:8787/",
            "https://accounts.example.com/",
            "http://localhost.evil.com/",
            "not a url",
        ] {
            assert_eq!(migrate_localhost(kept), kept);
        }
        assert!(ServerUrl::parse(&migrate_localhost("http://localhost:8787/")).is_ok());
    }

    #[test]
    fn joins_paths_under_the_base() {
        let s = ServerUrl::parse("https://x.example/base?q=1#f").unwrap();
        assert_eq!(
            s.join("v1/sessions").as_str(),
            "https://x.example/base/v1/sessions"
        );
        assert_eq!(s.display(), "https://x.example/base");
        let root = ServerUrl::parse("http://127.0.0.1:8787").unwrap();
        assert_eq!(
            root.join("/v1/server").as_str(),
            "http://127.0.0.1:8787/v1/server"
        );
    }
}
