//! `latchd seed`: an account with N signed-in devices, for demos, screenshots
//! and benchmarks. Prints one `{"session_id", "session_token", "device_name"}`
//! line per device.

use latch_protocol::{normalize_email, AppKind, Device, Platform, SeededSession, SessionId};

use anyhow::Context;

use crate::clock::{duration_ms, Clock};
use crate::config::{database_path, parse_duration, SeedArgs};
use crate::db::Db;
use crate::hub::Hub;
use crate::store::{self, Lifetimes};

const DEVICES: [(&str, Platform, &str, AppKind); 6] = [
    ("Work laptop", Platform::Macos, "15.1", AppKind::Desktop),
    ("Pixel 8", Platform::Android, "15", AppKind::Mobile),
    (
        "Home desktop",
        Platform::Windows,
        "11 23H2",
        AppKind::Desktop,
    ),
    ("iPhone 15", Platform::Ios, "18.1", AppKind::Mobile),
    ("ThinkPad", Platform::Linux, "Debian 12", AppKind::Desktop),
    ("Firefox", Platform::Web, "Firefox 132", AppKind::Web),
];

pub fn run(args: SeedArgs) -> anyhow::Result<Vec<SeededSession>> {
    let email = normalize_email(&args.email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    let path = database_path(args.database)?;
    let db = Db::open(&path, Hub::new())?;
    let clock = Clock::default();
    // Only the stored events' `expires_at` depends on these; the server
    // recomputes expiry from its own flags on every read.
    let lifetimes = Lifetimes {
        idle_ms: duration_ms(parse_duration("14d").map_err(anyhow::Error::msg)?),
        absolute_ms: duration_ms(parse_duration("30d").map_err(anyhow::Error::msg)?),
    };
    let now = clock.now_ms();
    db.write_blocking(|store| {
        let account = store::account_for_email(store, &email, now)?;
        (0..args.devices as usize)
            .map(|i| {
                let (name, platform, os, app) = DEVICES[i % DEVICES.len()];
                let name = if i < DEVICES.len() {
                    name.to_owned()
                } else {
                    format!("{name} {}", i / DEVICES.len() + 1)
                };
                let device = Device {
                    name: name.clone(),
                    platform,
                    os_version: os.to_owned(),
                    app,
                    app_version: env!("CARGO_PKG_VERSION").to_owned(),
                };
                // Spread the devices' activity so lists have a believable order.
                let at = now - i64::try_from(i).unwrap_or(0) * 37 * 60_000;
                let (token, row) = store::create_session(
                    store,
                    &account.id,
                    &device,
                    "127.0.0.1",
                    &lifetimes,
                    at,
                )?;
                Ok(SeededSession {
                    session_id: SessionId(row.id),
                    session_token: token,
                    device_name: name,
                })
            })
            .collect()
    })
    .with_context(|| format!("can't seed {}", path.display()))
}
