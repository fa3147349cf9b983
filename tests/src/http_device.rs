//! Another client of the account — a phone, a browser — signing in over
//! HTTP, for the journeys and the benchmarks.

use latch_client::pkce::Pkce;
use latch_testkit::Latchd;
use serde_json::{json, Value};

/// A sign-in started over HTTP: its flow and the PKCE pair that finishes it.
pub struct HttpFlow {
    pub flow_id: String,
    pub pkce: Pkce,
}

/// A device signed in over HTTP.
pub struct HttpDevice {
    pub token: String,
    pub session_id: String,
}

impl HttpFlow {
    /// Asks `server` to mail `email` a link for device `name`, a mobile app
    /// on `platform`.
    pub async fn start(server: &Latchd, email: &str, name: &str, platform: &str) -> HttpFlow {
        let pkce = Pkce::generate();
        let flow: Value = reqwest::Client::new()
            .post(server.url("/v1/auth/email-link"))
            .json(&json!({
                "email": email,
                "code_challenge": pkce.challenge,
                "code_challenge_method": "S256",
                "device": { "name": name, "platform": platform, "os_version": "14",
                            "app": "mobile", "app_version": "1.0.0" },
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        HttpFlow {
            flow_id: flow["flow_id"].as_str().unwrap().to_owned(),
            pkce,
        }
    }

    /// Exchanges the mailed `code` for a session.
    pub async fn finish(&self, server: &Latchd, code: &str) -> HttpDevice {
        let signed: Value = reqwest::Client::new()
            .post(server.url("/v1/auth/token"))
            .json(&json!({ "flow_id": self.flow_id, "code": code, "code_verifier": self.pkce.verifier }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        HttpDevice {
            token: signed["session_token"].as_str().unwrap().to_owned(),
            session_id: signed["session"]["id"].as_str().unwrap().to_owned(),
        }
    }
}
