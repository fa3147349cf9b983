//! latchd's per-request hot paths, without HTTP: hashing a bearer token,
//! finding its session (what every authenticated call does first), and
//! building and serialising `GET /v1/sessions` for an account with 100
//! sessions. The database is a real SQLite file holding 100 accounts × 100
//! sessions, as `latchd seed` makes them.
//! `cargo bench -p latchd --bench hot_paths`

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use latchd::clock::{duration_ms, Clock};
use latchd::config::{parse_duration, SeedArgs};
use latchd::db::Db;
use latchd::hub::Hub;
use latchd::secrets;
use latchd::store::{self, Lifetimes};

const ACCOUNTS: usize = 100;
const DEVICES: u32 = 100;

fn hot_paths(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("latchd.sqlite3");
    let mut tokens = Vec::new();
    for account in 0..ACCOUNTS {
        let seeded = latchd::seed::run(SeedArgs {
            database: Some(path.clone()),
            email: format!("bench{account:03}@example.com"),
            devices: DEVICES,
        })
        .expect("seeding the benchmark database");
        tokens.push(seeded);
    }
    let db = Db::open(&path, Hub::new()).expect("opening the seeded database");
    let lifetimes = Lifetimes {
        idle_ms: duration_ms(parse_duration("14d").expect("a duration")),
        absolute_ms: duration_ms(parse_duration("30d").expect("a duration")),
    };
    let now = Clock::default().now_ms();
    // An account in the middle of the table, not the first one inserted.
    let token = tokens[ACCOUNTS / 2][0].session_token.expose().to_owned();

    c.bench_function("token_hash", |b| {
        b.iter(|| secrets::token_hash(black_box(&token)))
    });

    // What `AppState::as_session` runs for a GET: hash, look up by the
    // unique index, expire/idle due sessions of the account, in one
    // IMMEDIATE transaction.
    c.bench_function("authenticate", |b| {
        b.iter(|| {
            db.write_blocking(|store| {
                store::authenticate(store, black_box(&token), &lifetimes, now, false)
            })
            .expect("the transaction")
            .expect("a live session")
        })
    });

    let me = db
        .write_blocking(|store| store::authenticate(store, &token, &lifetimes, now, false))
        .expect("the transaction")
        .expect("a live session");

    c.bench_function("live_sessions_query_100", |b| {
        b.iter(|| {
            db.write_blocking(|store| store.live_sessions(black_box(&me.account_id)))
                .expect("the query")
        })
    });

    let rows = db
        .write_blocking(|store| store.live_sessions(&me.account_id))
        .expect("the query");
    assert_eq!(rows.len(), DEVICES as usize);
    // What the handler sends: the rows written straight to JSON.
    c.bench_function("session_list_serialize_100", |b| {
        b.iter(|| {
            store::session_list_json(black_box(&rows), &me.id, &lifetimes)
                .expect("serialising the list")
        })
    });

    // The whole of GET /v1/sessions but HTTP: authenticate, query, serialise.
    c.bench_function("get_sessions_100_without_http", |b| {
        b.iter(|| {
            let (me, rows) = db
                .write_blocking(|store| {
                    let me = store::authenticate(store, &token, &lifetimes, now, false)?
                        .expect("a live session");
                    let rows = store.live_sessions(&me.account_id)?;
                    Ok((me, rows))
                })
                .expect("the transaction");
            store::session_list_json(&rows, &me.id, &lifetimes).expect("serialising the list")
        })
    });
}

criterion_group!(benches, hot_paths);
criterion_main!(benches);
