//! Test support shared by the crates' tests, the one home of it: a real
//! `latchd` process on an ephemeral loopback port with its own SQLite file
//! ([`Latchd`]), signing in over HTTP with PKCE ([`Latchd::sign_in`],
//! [`pkce`]), its dev mailbox ([`Mail`]), reading an event stream
//! ([`EventStream`]), a real SMTP server ([`SmtpServer`]) and free ports.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

mod latchd;
mod mail;
pub mod pkce;
mod process;
mod smtp;
mod sse;

pub use latchd::{call_at, device, link_request, mobile_device, Latchd, Pending, Signed};
pub use mail::Mail;
pub use process::{free_port, latchd_binary, spawn};
pub use smtp::SmtpServer;
pub use sse::{EventStream, Frame};

/// Polls `check` until it is true or `within` passes; answers whether it held.
pub async fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
