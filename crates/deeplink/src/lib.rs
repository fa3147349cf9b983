//! `latch-deeplink`: `app.latch:/auth/callback?flow=…&code=…`, parsed once
//! into a value that can only be valid; everything after trusts the type.
//!
//! A crate of its own so the fuzz targets (fuzz/) build it without the
//! client's HTTP, async runtime and keyring; latch-client re-exports it as
//! `latch_client::deep_link`.

use std::fmt;

use latch_protocol::{format_code, normalize_code, FlowId};

/// The scheme Latch registers (reverse DNS, RFC 8252 §7.1).
pub const SCHEME: &str = "app.latch";
/// Longest URL accepted: a real one is under 100 bytes.
pub const MAX_LEN: usize = 2048;

#[derive(Clone, PartialEq, Eq)]
pub struct DeepLink {
    pub flow_id: FlowId,
    /// The canonical 8 characters.
    code: String,
}

impl DeepLink {
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The link as the server's `/auth/open` page writes it.
    pub fn to_url(&self) -> String {
        format!(
            "{SCHEME}:/auth/callback?flow={}&code={}",
            self.flow_id,
            format_code(&self.code)
        )
    }

    pub fn parse(input: &str) -> Result<DeepLink, DeepLinkError> {
        if input.len() > MAX_LEN {
            return Err(DeepLinkError::TooLong);
        }
        let (scheme, rest) = input.split_once(':').ok_or(DeepLinkError::NotLatch)?;
        if !scheme.eq_ignore_ascii_case(SCHEME) {
            return Err(DeepLinkError::NotLatch);
        }
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        // `app.latch:/auth/callback`, or `app.latch://auth/callback` as some
        // launchers rewrite it.
        if path != "/auth/callback" && path != "//auth/callback" {
            return Err(DeepLinkError::UnknownPath);
        }
        let query = query.split_once('#').map_or(query, |(q, _)| q);
        let mut flow = None;
        let mut code = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').ok_or(DeepLinkError::Malformed)?;
            let value = percent_decode(value).ok_or(DeepLinkError::Malformed)?;
            let slot = match key {
                "flow" => &mut flow,
                "code" => &mut code,
                _ => return Err(DeepLinkError::UnexpectedParameter),
            };
            if slot.replace(value).is_some() {
                return Err(DeepLinkError::RepeatedParameter);
            }
        }
        let flow = flow.ok_or(DeepLinkError::MissingFlow)?;
        if flow.is_empty()
            || flow.len() > 64
            || !flow
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(DeepLinkError::BadFlow);
        }
        let code = normalize_code(&code.ok_or(DeepLinkError::MissingCode)?)
            .map_err(|_| DeepLinkError::BadCode)?;
        Ok(DeepLink {
            flow_id: FlowId(flow),
            code,
        })
    }
}

impl fmt::Debug for DeepLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DeepLink {{ flow_id: {}, code: **redacted** }}",
            self.flow_id
        )
    }
}

/// `%XX` decoding; `+` stays `+`. None for a broken escape or non-UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeepLinkError {
    #[error("That link is too long to be a Latch sign-in link.")]
    TooLong,
    #[error("That is not a Latch link.")]
    NotLatch,
    #[error("That Latch link doesn't lead anywhere Latch knows.")]
    UnknownPath,
    #[error("That sign-in link is damaged: copy the whole link from the email.")]
    Malformed,
    #[error("That sign-in link has something extra in it: use the link from the email as it is.")]
    UnexpectedParameter,
    #[error("That sign-in link is damaged: it names its sign-in twice.")]
    RepeatedParameter,
    #[error("That sign-in link is incomplete: copy the whole link from the email.")]
    MissingFlow,
    #[error("That sign-in link is incomplete: it has no code.")]
    MissingCode,
    #[error("That sign-in link is damaged: copy the whole link from the email.")]
    BadFlow,
    #[error("That sign-in link's code is damaged: type the code from the email instead.")]
    BadCode,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_both_forms_and_any_code_form() {
        for input in [
            "app.latch:/auth/callback?flow=flw_abc&code=ABCD-EFGH",
            "app.latch://auth/callback?flow=flw_abc&code=ABCD-EFGH",
            "app.latch:/auth/callback?code=abcdefgh&flow=flw_abc",
            "APP.LATCH:/auth/callback?flow=flw_abc&code=ABCD%2DEFGH",
            "app.latch:/auth/callback?flow=flw_abc&code=ABCD-EFGH#frag",
        ] {
            let link = DeepLink::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(
                (link.flow_id.as_str(), link.code()),
                ("flw_abc", "ABCDEFGH"),
                "{input}"
            );
        }
    }

    #[test]
    fn refuses_hostile_input_with_a_specific_error() {
        use DeepLinkError::*;
        let long = format!(
            "app.latch:/auth/callback?flow=flw_a&code=ABCD-EFGH&x={}",
            "a".repeat(3000)
        );
        let table: Vec<(&str, DeepLinkError)> = vec![
            ("", NotLatch),
            (
                "https://evil.example/auth/callback?flow=f&code=ABCD-EFGH",
                NotLatch,
            ),
            ("app.latchx:/auth/callback?flow=f&code=ABCD-EFGH", NotLatch),
            ("javascript:alert(1)", NotLatch),
            (&long, TooLong),
            ("app.latch:/auth/other?flow=f&code=ABCD-EFGH", UnknownPath),
            (
                "app.latch:/auth/callback/../x?flow=f&code=ABCD-EFGH",
                UnknownPath,
            ),
            (
                "app.latch://evil.example/auth/callback?flow=f&code=ABCD-EFGH",
                UnknownPath,
            ),
            ("app.latch:/auth/callback?flow&code=ABCD-EFGH", Malformed),
            (
                "app.latch:/auth/callback?flow=f%ZZ&code=ABCD-EFGH",
                Malformed,
            ),
            (
                "app.latch:/auth/callback?flow=f%FF&code=ABCD-EFGH",
                Malformed,
            ),
            (
                "app.latch:/auth/callback?flow=f&code=ABCD-EFGH&next=https://evil",
                UnexpectedParameter,
            ),
            (
                "app.latch:/auth/callback?flow=f&flow=g&code=ABCD-EFGH",
                RepeatedParameter,
            ),
            ("app.latch:/auth/callback?code=ABCD-EFGH", MissingFlow),
            ("app.latch:/auth/callback?flow=f", MissingCode),
            ("app.latch:/auth/callback?flow=&code=ABCD-EFGH", BadFlow),
            (
                "app.latch:/auth/callback?flow=a%20b&code=ABCD-EFGH",
                BadFlow,
            ),
            ("app.latch:/auth/callback?flow=f%0A&code=ABCD-EFGH", BadFlow),
            ("app.latch:/auth/callback?flow=f&code=ABCD-EFG0", BadCode),
            (
                "app.latch:/auth/callback?flow=f&code=%00%00%00%00%00%00%00%00",
                BadCode,
            ),
            ("app.latch:/auth/callback?flow=f&code=<script>", BadCode),
        ];
        for (input, expected) in table {
            assert_eq!(DeepLink::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_code() {
        let link = DeepLink::parse("app.latch:/auth/callback?flow=flw_abc&code=ABCD-EFGH").unwrap();
        let printed = format!("{link:?}");
        assert!(!printed.contains("ABCD") && printed.contains("flw_abc"));
    }

    /// Found by fuzz/ (corpus/deep_link/regress-code-inside-flow-id): a flow
    /// id may spell the code; Debug still shows the flow and redacts the code.
    #[test]
    fn debug_redacts_the_code_even_when_the_flow_id_spells_it() {
        let link =
            DeepLink::parse("app.latch:/auth/callback?flow=fLLL3LLLL&code=LLL3Llll").unwrap();
        assert_eq!(
            format!("{link:?}"),
            "DeepLink { flow_id: fLLL3LLLL, code: **redacted** }"
        );
    }

    fn code_strategy() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            proptest::sample::select(latch_protocol::CODE_ALPHABET.chars().collect::<Vec<_>>()),
            8,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn round_trips(flow in "[A-Za-z0-9_-]{1,64}", code in code_strategy()) {
            let link = DeepLink::parse(&format!("app.latch:/auth/callback?flow={flow}&code={code}")).unwrap();
            prop_assert_eq!(link.flow_id.as_str(), flow.as_str());
            prop_assert_eq!(link.code(), code.as_str());
            prop_assert_eq!(DeepLink::parse(&link.to_url()).unwrap(), link);
        }

        #[test]
        fn never_panics(input in "\\PC{0,300}") {
            let _ = DeepLink::parse(&input);
        }

        #[test]
        fn never_panics_near_valid(tail in "[a-z0-9%=&#?/:._-]{0,80}") {
            let _ = DeepLink::parse(&format!("app.latch:/auth/callback?{tail}"));
        }
    }
}
