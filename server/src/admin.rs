//! `latchd admin`: the operator's calls to a running server (ASVS 5.0
//! 7.4.5), over a Unix socket next to its database.
//!
//! Why a socket and not a second process writing the database: revocations
//! must reach the live event streams, and the event hub lives in the
//! serving process. A second process writing the SQLite file would end the
//! sessions (every request checks them) but tell no stream, so the devices
//! would only notice on their next call. The serving process does the work
//! through the store traits (`store::admin_revoke`), so another backend
//! gets it for free.
//!
//! Who may call: whoever can open the socket. It is created 0600 (inside a
//! 0700 directory, then moved into place, so it is never reachable with a
//! wider mode), and a connecting process must run as the socket's owner.
//!
//! The wire: one JSON line each way. `{"command": "revoke", "email": E}` or
//! `{"command": "revoke", "all": true}`; the answer `{"revoked": n}` or
//! `{"error": "…"}`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The socket of the server that serves `database`: beside it, named after it.
pub fn socket_path(database: &Path) -> PathBuf {
    let name = database
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "latchd".to_owned());
    database.with_file_name(format!("{name}.admin.sock"))
}

/// One call, as the command sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum AdminRequest {
    /// Ends the sessions of one account (`email`) or of all (`all`).
    Revoke {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        all: bool,
    },
}

/// The server's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AdminAnswer {
    Revoked { revoked: u32 },
    Error { error: String },
}

/// The longest request line the server reads.
const MAX_REQUEST: u64 = 4096;

#[cfg(unix)]
pub use unix::{answering, listen, send, AdminSocket};

#[cfg(unix)]
mod unix {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use anyhow::Context;
    use latch_protocol::normalize_email;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    use tokio::net::{UnixListener, UnixStream};

    use super::{socket_path, AdminAnswer, AdminRequest, MAX_REQUEST};
    use crate::state::AppState;
    use crate::store::{self, AdminScope};

    /// The listening socket; removed when dropped (the server stops).
    pub struct AdminSocket {
        path: PathBuf,
    }

    impl Drop for AdminSocket {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// The admin socket of `database` when a server answers on it.
    pub fn answering(database: &Path) -> Option<PathBuf> {
        let path = socket_path(database);
        std::os::unix::net::UnixStream::connect(&path)
            .is_ok()
            .then_some(path)
    }

    /// Binds the admin socket of `database` and answers it until the
    /// server stops. A socket file already there is taken over: the caller
    /// has checked that nobody answers on it (`answering`).
    pub fn listen(state: AppState, database: &Path) -> anyhow::Result<AdminSocket> {
        let path = socket_path(database);
        if path.exists() {
            // Left by a server that was killed.
            std::fs::remove_file(&path)
                .with_context(|| format!("can't remove the stale {}", path.display()))?;
        }
        let listener = bind_private(&path)?;
        let owner = std::fs::metadata(&path)
            .with_context(|| format!("can't read {}", path.display()))?
            .uid();
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let state = state.clone();
                        tokio::spawn(async move {
                            if let Err(e) = answer(state, stream, owner).await {
                                tracing::warn!(error = %e, "admin call failed");
                            }
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "admin socket accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        Ok(AdminSocket { path })
    }

    /// Binds `path` with mode 0600 and never a wider one: bound inside a
    /// fresh 0700 directory beside it, narrowed, then moved into place.
    fn bind_private(path: &Path) -> anyhow::Result<UnixListener> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let staging = dir.join(format!(".latchd-admin-{}", crate::secrets::new_id("tmp")));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&staging)
            .with_context(|| format!("can't create {}", staging.display()))?;
        let bound = (|| -> anyhow::Result<UnixListener> {
            let staged = staging.join("sock");
            let listener = UnixListener::bind(&staged)
                .with_context(|| format!("can't listen on {}", staged.display()))?;
            std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))?;
            std::fs::rename(&staged, path)
                .with_context(|| format!("can't move the socket to {}", path.display()))?;
            Ok(listener)
        })();
        let _ = std::fs::remove_dir_all(&staging);
        bound
    }

    async fn answer(state: AppState, stream: UnixStream, owner: u32) -> anyhow::Result<()> {
        let peer = stream
            .peer_cred()
            .context("can't read the caller's credentials")?;
        let (read, mut write) = stream.into_split();
        let reply = if peer.uid() != owner {
            tracing::warn!(uid = peer.uid(), "admin call from another user refused");
            AdminAnswer::Error {
                error: "only the user latchd runs as may use its admin socket".into(),
            }
        } else {
            let mut line = String::new();
            let mut reader = tokio::io::BufReader::new(read.take(MAX_REQUEST));
            reader.read_line(&mut line).await?;
            match serde_json::from_str::<AdminRequest>(&line) {
                Ok(request) => run(&state, request).await,
                Err(e) => AdminAnswer::Error {
                    error: format!("not an admin call: {e}"),
                },
            }
        };
        let mut out = serde_json::to_vec(&reply)?;
        out.push(b'\n');
        write.write_all(&out).await?;
        write.shutdown().await?;
        Ok(())
    }

    async fn run(state: &AppState, request: AdminRequest) -> AdminAnswer {
        let AdminRequest::Revoke { email, all } = request;
        let scope = match (email, all) {
            (Some(email), false) => match normalize_email(&email) {
                Ok(email) => AdminScope::Account(email),
                Err(e) => {
                    return AdminAnswer::Error {
                        error: format!("--email: {e}"),
                    }
                }
            },
            (None, true) => AdminScope::All,
            _ => {
                return AdminAnswer::Error {
                    error: "say whose sessions to end: --email E or --all".into(),
                }
            }
        };
        let now = state.now_ms();
        let all = scope == AdminScope::All;
        match state
            .db
            .write(move |store| store::admin_revoke(store, &scope, now))
            .await
        {
            Ok(revoked) => {
                tracing::info!(
                    revoked,
                    all,
                    reason = "admin",
                    "sessions revoked by the operator"
                );
                AdminAnswer::Revoked { revoked }
            }
            Err(e) => {
                tracing::error!(error = %e, "admin revoke failed");
                AdminAnswer::Error {
                    error: e.to_string(),
                }
            }
        }
    }

    /// The command's side: sends `request` to the server of `database`.
    pub fn send(database: &Path, request: &AdminRequest) -> anyhow::Result<AdminAnswer> {
        let path = socket_path(database);
        let mut stream = std::os::unix::net::UnixStream::connect(&path).map_err(|e| {
            use std::io::ErrorKind::{ConnectionRefused, NotFound};
            match e.kind() {
                NotFound | ConnectionRefused => anyhow::anyhow!(
                    "latchd is not running for this database: {} (nothing answers on {}). \
                     Start it, or pass the --database it serves.",
                    database.display(),
                    path.display()
                ),
                _ => anyhow::anyhow!("can't reach latchd on {}: {e}", path.display()),
            }
        })?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut line = serde_json::to_vec(request)?;
        line.push(b'\n');
        stream.write_all(&line)?;
        let mut answer = String::new();
        BufReader::new(stream)
            .read_line(&mut answer)
            .with_context(|| format!("no answer from latchd on {}", path.display()))?;
        serde_json::from_str(&answer)
            .with_context(|| format!("latchd answered {answer:?} on {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_wire_is_one_json_object_each_way() {
        let by_email = AdminRequest::Revoke {
            email: Some("ada@example.com".into()),
            all: false,
        };
        assert_eq!(
            serde_json::to_value(&by_email).unwrap(),
            json!({"command": "revoke", "email": "ada@example.com"})
        );
        let all = AdminRequest::Revoke {
            email: None,
            all: true,
        };
        assert_eq!(
            serde_json::to_value(&all).unwrap(),
            json!({"command": "revoke", "all": true})
        );
        assert_eq!(
            serde_json::from_value::<AdminAnswer>(json!({"revoked": 3})).unwrap(),
            AdminAnswer::Revoked { revoked: 3 }
        );
        assert_eq!(
            serde_json::from_value::<AdminAnswer>(json!({"error": "x"})).unwrap(),
            AdminAnswer::Error { error: "x".into() }
        );
        assert_eq!(
            socket_path(Path::new("/data/latchd.sqlite3")),
            Path::new("/data/latchd.sqlite3.admin.sock")
        );
    }
}
