//! The server's notion of now. Everything time-based reads this clock, so tests
//! (and `POST /dev/clock`) move time instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Milliseconds since the Unix epoch: how times are stored in the database.
pub type Millis = i64;

#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn now_ms(&self) -> Millis {
        Utc::now().timestamp_millis() + self.offset_ms.load(Ordering::SeqCst)
    }

    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

pub fn to_datetime(ms: Millis) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

pub fn duration_ms(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `ms` written exactly as chrono's serde writes `to_datetime(ms)` (RFC 3339,
/// UTC as `Z`, the fraction as 3 digits or none when it is zero — chrono's
/// `SecondsFormat::AutoSi` on a whole-millisecond instant), without chrono's
/// calendar types and `fmt` machinery: `GET /v1/sessions` writes 300 of
/// these per answer. Instants outside years 0–9999 take chrono's own path.
#[derive(Clone, Copy)]
pub struct Rfc3339 {
    buf: [u8; 24],
    len: u8,
}

/// The first and last millisecond of years 0000 to 9999.
const FAST_MIN_MS: Millis = -62_167_219_200_000;
const FAST_MAX_MS: Millis = 253_402_300_799_999;

impl Rfc3339 {
    pub fn new(ms: Millis) -> Option<Rfc3339> {
        if !(FAST_MIN_MS..=FAST_MAX_MS).contains(&ms) {
            return None;
        }
        let days = ms.div_euclid(86_400_000);
        let ms_of_day = ms.rem_euclid(86_400_000);
        // Howard Hinnant's civil_from_days, in eras of 400 years.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);

        let mut buf = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut value: i64| {
            for i in (at..at + width).rev() {
                // 0..=9 by construction of `% 10` on a non-negative value.
                buf[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, ms_of_day / 3_600_000);
        put(14, 2, ms_of_day / 60_000 % 60);
        put(17, 2, ms_of_day / 1000 % 60);
        let millis = ms_of_day % 1000;
        let len = if millis == 0 {
            buf[19] = b'Z';
            20
        } else {
            put(20, 3, millis);
            24
        };
        Some(Rfc3339 { buf, len })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation are ever written.
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }
}

/// Serialises like `to_datetime(ms)` does, quickly where it can.
pub struct Timestamp(pub Millis);

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match Rfc3339::new(self.0) {
            Some(fast) => serializer.serialize_str(fast.as_str()),
            None => serde::Serialize::serialize(&to_datetime(self.0), serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// What the wire has always carried: chrono's serde output.
    fn chrono_json(ms: Millis) -> String {
        serde_json::to_string(&to_datetime(ms)).unwrap()
    }

    fn ours(ms: Millis) -> String {
        serde_json::to_string(&Timestamp(ms)).unwrap()
    }

    #[test]
    fn timestamps_are_written_exactly_as_chrono_writes_them() {
        let mut checked = 0;
        let mut check = |ms: Millis| {
            assert_eq!(ours(ms), chrono_json(ms), "at {ms} ms");
            checked += 1;
        };
        // Edges: the epoch, the fast path's bounds and just past them, leap
        // days and century years, whole seconds, the chrono range's ends.
        for ms in [
            0,
            1,
            -1,
            999,
            1000,
            -1000,
            FAST_MIN_MS,
            FAST_MIN_MS - 1,
            FAST_MAX_MS,
            FAST_MAX_MS + 1,
            951_782_400_000,    // 2000-02-29
            4_107_542_399_999,  // 2100-02-28T23:59:59.999
            4_107_542_400_000,  // 2100-03-01
            -2_203_891_200_000, // 1900-03-01
            1_767_225_599_999,  // 2025-12-31T23:59:59.999
            1_767_225_600_000,  // 2026-01-01
            i64::MAX,
            i64::MIN,
            DateTime::<Utc>::MAX_UTC.timestamp_millis(),
            DateTime::<Utc>::MIN_UTC.timestamp_millis(),
        ] {
            check(ms);
        }
        // Every day from 1900 to 2200, at a whole second and at a millisecond
        // instant, and a pseudo-random walk over the whole fast range.
        let mut ms = -2_208_988_800_000;
        while ms < 7_258_118_400_000 {
            check(ms);
            check(ms + 37_123_457);
            ms += 86_400_000;
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let span = (FAST_MAX_MS - FAST_MIN_MS + 3) as u64;
            let ms = FAST_MIN_MS - 1 + (x % span) as i64;
            check(ms);
            check(ms - ms.rem_euclid(1000));
        }
        assert!(checked > 600_000);
    }
}
