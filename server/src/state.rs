//! What every handler reads, and the calls that run in a session's name.

use std::sync::Arc;

use tokio::sync::watch;

use crate::clock::{Clock, Millis};
use crate::config::ServeArgs;
use crate::db::Db;
use crate::error::ApiResult;
use crate::limits::IpLimiter;
use crate::mail::Mailer;
use crate::secrets;
use crate::store::{self, Lifetimes, SessionRow, Store};

/// What every handler reads.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

pub struct Inner {
    pub db: Db,
    pub clock: Arc<Clock>,
    pub lifetimes: Lifetimes,
    pub config: ServeArgs,
    pub mailer: Mailer,
    pub ip_limiter: IpLimiter,
    pub log_salt: secrets::LogSalt,
    pub shutdown: watch::Receiver<bool>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn now_ms(&self) -> Millis {
        self.clock.now_ms()
    }

    /// Authenticates `token` and runs `f` in the same transaction, so what a
    /// session does and whether it is still live can't drift apart.
    pub async fn as_session<T, F>(&self, token: String, touch: bool, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Store, &SessionRow, Millis) -> ApiResult<T> + Send + 'static,
    {
        let lifetimes = self.lifetimes;
        let now = self.now_ms();
        self.db
            .write(
                move |store| match store::authenticate(store, &token, &lifetimes, now, touch)? {
                    Ok(me) => f(store, &me, now).map(Ok),
                    Err(refusal) => Ok(Err(refusal)),
                },
            )
            .await?
    }

    /// Expires, idles and prunes; what the background sweep and `POST
    /// /dev/clock` run.
    pub async fn sweep(&self) -> ApiResult<()> {
        let lifetimes = self.lifetimes;
        let now = self.now_ms();
        self.ip_limiter.prune(now);
        self.db.hub().prune();
        self.db
            .write(move |store| {
                store::refresh(store, None, &lifetimes, now)?;
                store::prune(store, now)
            })
            .await
    }

    pub fn tag(&self, id: &str) -> String {
        self.log_salt.tag(id)
    }
}
