//! Randomness and hashing for ids, codes, tokens and PKCE. Everything secret
//! comes from the OS random source and is stored only as a SHA-256 hash.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latch_protocol::{SessionToken, CODE_ALPHABET, CODE_LEN};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// An opaque id such as `ses_k3…`: 80 random bits, lower-case base32.
pub fn new_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let bytes = random_bytes::<16>();
    let body: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
        .collect();
    format!("{prefix}_{body}")
}

/// A session token of 256 bits.
pub fn new_session_token() -> SessionToken {
    SessionToken::new(format!(
        "lt1_{}",
        URL_SAFE_NO_PAD.encode(random_bytes::<32>())
    ))
}

/// An 8-character code, 5 uniform bits per character (32 letters).
pub fn new_code() -> String {
    let alphabet = CODE_ALPHABET.as_bytes();
    random_bytes::<CODE_LEN>()
        .iter()
        .map(|b| char::from(alphabet[usize::from(b % 32)]))
        .collect()
}

pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

pub fn token_hash(token: &str) -> [u8; 32] {
    sha256(&[b"session-token", token.as_bytes()])
}

/// The code's hash is bound to its flow, so equal codes of two flows differ.
pub fn code_hash(flow_id: &str, canonical_code: &str) -> [u8; 32] {
    sha256(&[b"flow-code", flow_id.as_bytes(), canonical_code.as_bytes()])
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// A well-formed S256 challenge: BASE64URL(SHA-256(…)) unpadded, 43 characters.
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && URL_SAFE_NO_PAD
            .decode(challenge)
            .is_ok_and(|bytes| bytes.len() == 32)
}

/// RFC 7636 §4.1: 43–128 characters of `[A-Za-z0-9-._~]`.
fn is_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    is_verifier(verifier) && constant_time_eq(s256(verifier).as_bytes(), challenge.as_bytes())
}

/// A per-process salt for log correlation: logs name a session by
/// `salted_tag(id)` so one run's lines can be followed without the id itself.
pub struct LogSalt([u8; 16]);

impl LogSalt {
    pub fn new() -> Self {
        Self(random_bytes())
    }

    pub fn tag(&self, id: &str) -> String {
        hex::encode(&sha256(&[&self.0, id.as_bytes()])[..6])
    }
}

impl Default for LogSalt {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(verifier_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(
            !verifier_matches("short", &s256("short")),
            "too short for RFC 7636"
        );
        assert!(is_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!is_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"
        ));
        assert!(!is_s256_challenge(&"!".repeat(43)));
    }

    #[test]
    fn codes_and_tokens_have_their_shape() {
        let code = new_code();
        assert_eq!(latch_protocol::normalize_code(&code).unwrap(), code);
        let token = new_session_token();
        assert!(token.expose().len() >= 4 + 43, "256 bits in base64url");
        assert!(new_id("ses").starts_with("ses_"));
        assert_ne!(new_id("ses"), new_id("ses"));
    }
}
