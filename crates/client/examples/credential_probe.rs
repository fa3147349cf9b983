//! Drives the credential store from its own process, for the tests that need
//! a fresh process or a particular D-Bus session:
//!
//!   credential_probe set DATA_DIR KEY VALUE
//!   credential_probe get DATA_DIR KEY
//!   credential_probe signin DATA_DIR SERVER EMAIL   (latchd --dev: reads its mailbox)
//!
//! Each prints `store=os` or `store=file (why)` first.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use latch_client::{
    open_for_install, AuthState, ClientConfig, DeviceIdentity, LatchClient, SecretStore, StoreKind,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.get(1).map(PathBuf::from) else {
        eprintln!("usage: credential_probe set|get|signin DATA_DIR …");
        return ExitCode::FAILURE;
    };
    let identity = match DeviceIdentity::detect(&dir, "0.0.0-probe") {
        Ok(identity) => identity,
        Err(e) => {
            eprintln!("data dir: {e}");
            return ExitCode::FAILURE;
        }
    };
    let store = Arc::new(open_for_install(&dir, &identity.install_id));
    match store.kind() {
        StoreKind::Os => println!("store=os service=app.latch.desktop/{}", identity.install_id),
        StoreKind::File { why } => println!("store=file ({why})"),
    }
    match (args[0].as_str(), args.get(2), args.get(3)) {
        ("set", Some(key), Some(value)) => match store.set(key, value) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
        ("get", Some(key), None) => match store.get(key) {
            Ok(Some(value)) => {
                println!("value={value}");
                ExitCode::SUCCESS
            }
            Ok(None) => {
                println!("value=");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
        ("signin", Some(server), Some(email)) => {
            let config = ClientConfig {
                server: Some(server.clone()),
                device_name: Some("Probe".to_owned()),
                ..ClientConfig::new(dir.clone())
            };
            let client = LatchClient::new(config, identity, store.clone());
            client.start().await;
            if let Err(e) = client.request_link(email).await {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
            let Some(link) = deep_link_from_mailbox(server, email).await else {
                eprintln!("no mail");
                return ExitCode::FAILURE;
            };
            match client.open_deep_link(&link).await {
                Ok(AuthState::SignedIn { .. }) => {
                    println!(
                        "signed-in token_stored={}",
                        store.get("session_token").ok().flatten().is_some()
                    );
                    ExitCode::SUCCESS
                }
                other => {
                    eprintln!("{other:?}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("usage: credential_probe set|get|signin DATA_DIR …");
            ExitCode::FAILURE
        }
    }
}

async fn deep_link_from_mailbox(server: &str, email: &str) -> Option<String> {
    let mails: serde_json::Value = reqwest::get(format!("{server}/dev/mailbox.json"))
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let text = mails.as_array()?.iter().find(|m| m["to"] == email)?["text"]
        .as_str()?
        .to_owned();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/auth/open?"))?;
    let url = url::Url::parse(link).ok()?;
    let (flow, code) = (
        url.query_pairs().find(|(k, _)| k == "flow")?.1,
        url.query_pairs().find(|(k, _)| k == "code")?.1,
    );
    Some(format!("app.latch:/auth/callback?flow={flow}&code={code}"))
}
