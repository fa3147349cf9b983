//! The no-secret scan: every code, token and verifier a journey saw, looked
//! for in every log in every form a log could hold it.

use std::path::PathBuf;

use serde_json::Value;

/// String leaves long enough to be secrets, looking inside JSON held in
/// strings too.
pub(crate) fn collect_secrets(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(inner @ (Value::Object(_) | Value::Array(_))) => collect_secrets(&inner, into),
            _ if s.len() >= 32 => into.push(s.clone()),
            _ => {}
        },
        Value::Array(items) => items.iter().for_each(|v| collect_secrets(v, into)),
        Value::Object(map) => map.values().for_each(|v| collect_secrets(v, into)),
        _ => {}
    }
}

/// Fails naming the file when any secret shows up in any of `files`, in any
/// of the forms a log could hold it: raw, without the code's hyphen,
/// lower-case, percent-encoded.
pub fn assert_no_secret_in(files: &[PathBuf], secrets: &[String]) {
    let mut forms = Vec::new();
    for secret in secrets {
        let bare = secret.replace('-', "");
        for form in [
            secret.clone(),
            bare.clone(),
            secret.to_lowercase(),
            bare.to_lowercase(),
            percent_encode(secret),
        ] {
            if !forms.contains(&form) {
                forms.push(form);
            }
        }
    }
    for file in files {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for form in &forms {
            assert!(
                !text.contains(form.as_str()),
                "a secret ({}…) is in {}",
                &form[..4.min(form.len())],
                file.display()
            );
        }
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan finds a code in every form a log could hold it.
    #[test]
    fn the_secret_scan_finds_every_form() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        for (form, written) in [
            ("raw", "code=ABCD-EFGH"),
            ("no hyphen", "ABCDEFGH"),
            ("lower-case", "abcd-efgh"),
            ("lower, no hyphen", "x abcdefgh y"),
            ("percent-encoded", "q=AB%2BC"),
        ] {
            std::fs::write(&log, written).unwrap();
            let secrets = ["ABCD-EFGH".to_owned(), "AB+C".to_owned()];
            let found = std::panic::catch_unwind(|| {
                assert_no_secret_in(std::slice::from_ref(&log), &secrets)
            });
            assert!(found.is_err(), "missed the {form} form");
        }
        std::fs::write(&log, "nothing here").unwrap();
        assert_no_secret_in(&[log], &["ABCD-EFGH".to_owned()]);
    }
}
