//! Emails are trimmed and lower-cased for identity and limits (`docs/protocol.md`).

use std::fmt;

pub const MAX_EMAIL_LEN: usize = 254;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailError {
    Empty,
    TooLong,
    Malformed,
}

impl fmt::Display for EmailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("enter an email address"),
            Self::TooLong => write!(f, "an email address has at most {MAX_EMAIL_LEN} characters"),
            Self::Malformed => {
                f.write_str("that doesn't look like an email address, e.g. ada@example.com")
            }
        }
    }
}

impl std::error::Error for EmailError {}

/// The identity form of an address: trimmed, lower-case, shaped like
/// `local@domain.tld`. Deliberately plain ASCII: what every mail server takes.
pub fn normalize_email(raw: &str) -> Result<String, EmailError> {
    let email = raw.trim().to_ascii_lowercase();
    if email.is_empty() {
        return Err(EmailError::Empty);
    }
    if email.len() > MAX_EMAIL_LEN {
        return Err(EmailError::TooLong);
    }
    let (local, domain) = email.split_once('@').ok_or(EmailError::Malformed)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(email)
    } else {
        Err(EmailError::Malformed)
    }
}
