//! Races between the client's own tasks, made likely: many publishers at
//! once on a multi-thread runtime, with busy threads taking every core so a
//! task is often descheduled between any two of its steps — as on the
//! shared 2-core CI machine where journey 6 once kept a signed-out laptop
//! showing "signed in".

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use latch_client::Update;
use latch_testkit::{eventually, Latchd};

mod common;
use common::*;

/// Threads that spin until dropped: the cores are never idle, so the
/// scheduler preempts the client's threads at arbitrary points.
struct Burners(Arc<AtomicBool>, Vec<std::thread::JoinHandle<()>>);

impl Burners {
    fn start() -> Burners {
        let stop = Arc::new(AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cores * 2)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        Burners(stop, threads)
    }
}

impl Drop for Burners {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
        for thread in self.1.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Every publish reads the state under the lock and sends it to the
/// window. Sent after the lock was released, two publishers could send in
/// the other order, and the window kept the older state: a list older
/// than one it had already shown, or "signed in" after the sign-out, with
/// nothing left to publish a newer one. Here eight tasks refresh the list at
/// once for five seconds: what the window is told must never go back in
/// time, and must end at the newest.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn what_the_window_is_told_never_goes_back_in_time() {
    let server = Latchd::start(&[]);
    let laptop = signed_in_device(&server, "Laptop", "race@example.com").await;
    let _burners = Burners::start();
    let until = Instant::now() + Duration::from_secs(5);

    // What the window hears: the subscription `connect` hands the shell.
    let (_, _, mut told) = laptop.client.connect().await;
    let watcher = tokio::spawn(async move {
        let (mut newest, mut backwards) = (None, 0u32);
        let end = tokio::time::Instant::from_std(until + Duration::from_millis(500));
        while let Ok(Some(update)) = tokio::time::timeout_at(end, told.next()).await {
            let Update::Sessions(snapshot) = update else {
                continue;
            };
            if snapshot.fetched_at < newest {
                backwards += 1;
            }
            newest = newest.max(snapshot.fetched_at);
        }
        (newest, backwards)
    });
    let refreshers: Vec<_> = (0..8)
        .map(|_| {
            let client = laptop.client.clone();
            tokio::spawn(async move {
                while Instant::now() < until {
                    client.list_sessions().await;
                }
            })
        })
        .collect();
    for refresher in refreshers {
        refresher.await.unwrap();
    }
    let (newest, backwards) = watcher.await.unwrap();
    assert_eq!(
        backwards, 0,
        "the window was sent an older list after a newer one"
    );
    assert_eq!(
        laptop.client.sessions_snapshot().fetched_at,
        newest,
        "the window was left with an older list than the newest it was sent"
    );
}

/// Journey 6 as the client lives it: "Log out of all devices" answers while
/// the event stream applies the other devices' revocations. Whichever
/// finishes first, the window ends told "signed out", and stays so.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn log_out_everywhere_leaves_the_window_signed_out_whatever_finishes_first() {
    let server = Latchd::start(&[]);
    let laptop = device(&server, "Laptop").await;
    let phone = device(&server, "Phone").await;
    let _burners = Burners::start();
    for round in 0..20 {
        sign_in(&server, &laptop, "race@example.com").await;
        sign_in(&server, &phone, "race@example.com").await;
        assert!(
            eventually(SOON * 5, || laptop
                .client
                .sessions_snapshot()
                .sessions
                .len()
                == 2)
            .await,
            "round {round}: the laptop never listed the phone"
        );
        assert_eq!(laptop.client.log_out_everywhere().await.unwrap(), 2);
        // Nothing changes from here on, so nothing would publish again: the
        // last thing sent is what the window shows.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(state_name(&laptop.client), "signed-out", "round {round}");
        assert!(
            eventually(SOON * 5, || state_name(&phone.client) == "signed-out").await,
            "round {round}: the phone"
        );
    }
}
