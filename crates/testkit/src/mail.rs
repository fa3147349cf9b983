//! The sign-in mail: its link, flow and code.

/// A sign-in mail's link and what it carries.
#[derive(Debug, Clone)]
pub struct Mail {
    pub link: String,
    pub flow_id: String,
    /// As the mail shows it: `ABCD-EFGH`.
    pub code: String,
}

impl Mail {
    pub fn parse(text: &str) -> Mail {
        let link = text
            .split_whitespace()
            .find(|w| w.contains("/auth/open?"))
            .unwrap_or_else(|| panic!("no link in {text}"))
            .to_owned();
        let url = url::Url::parse(&link).unwrap();
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap()
        };
        Mail {
            flow_id: param("flow"),
            code: param("code"),
            link,
        }
    }

    /// The deep link the `/auth/open` page offers.
    pub fn deep_link(&self) -> String {
        format!(
            "app.latch:/auth/callback?flow={}&code={}",
            self.flow_id, self.code
        )
    }
}
