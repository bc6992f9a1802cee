//! The text log's timestamps: `tracing-subscriber`'s `SystemTime` text (RFC 3339, UTC,
//! microseconds: `2026-12-06T23:08:52.878123Z`), written without `write!`.
//!
//! Its `Display` writes each of the seven numbers through the formatting machinery, once
//! per log line (every request logs one); here the 27 bytes are filled in directly. Times
//! outside years 1970 to 9999 (which that text writes differently) go to it.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// Seconds from 1970 to 10000-01-01T00:00:00Z.
const YEAR_10000: u64 = 253_402_300_800;

/// The text log's [`FormatTime`]: the same text as `tracing_subscriber`'s `SystemTime`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HostTime;

impl FormatTime for HostTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) if since.as_secs() < YEAR_10000 => {
                let text = rfc3339_micros(since.as_secs(), since.subsec_nanos());
                // Only ASCII digits and separators were written.
                w.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
            }
            _ => tracing_subscriber::fmt::time::SystemTime.format_time(w),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` for `secs` after 1970 (before the year 10000).
fn rfc3339_micros(secs: u64, nanos: u32) -> [u8; 27] {
    let days = secs / 86_400;
    let of_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut value: u64| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, of_day / 3_600);
    put(14, 2, of_day / 60 % 60);
    put(17, 2, of_day % 60);
    put(20, 6, u64::from(nanos / 1_000));
    out
}

/// The date `days` after 1970-01-01 (proleptic Gregorian): Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn expected(secs: u64, nanos: u32) -> String {
        chrono::DateTime::from_timestamp(i64::try_from(secs).unwrap(), nanos)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string()
    }

    #[test]
    fn the_text_is_rfc3339_with_microseconds() {
        let mut instants = vec![
            (0, 0),
            (59, 999_999_999),
            (951_782_400, 1_000), // 2000-02-29
            (951_868_800, 0),     // 2000-03-01
            (4_107_456_000, 5),   // 2100-02-28
            (4_107_542_400, 0),   // 2100-03-01
            (1_796_600_932, 878_123_456),
            (YEAR_10000 - 1, 999_999_999),
        ];
        // A day in every month of 400 years, and the last second of each of those days.
        let mut secs = 0;
        while secs < 400 * 366 * 86_400 {
            instants.push((secs, 123_456_789));
            instants.push((secs + 86_399, 0));
            secs += 27 * 86_400 + 3_601;
        }
        for (secs, nanos) in instants {
            let ours = rfc3339_micros(secs, nanos);
            assert_eq!(std::str::from_utf8(&ours).unwrap(), expected(secs, nanos));
        }
    }

    #[test]
    fn the_log_line_starts_with_the_time() {
        let mut line = String::new();
        HostTime.format_time(&mut Writer::new(&mut line)).unwrap();
        let mut theirs = String::new();
        tracing_subscriber::fmt::time::SystemTime
            .format_time(&mut Writer::new(&mut theirs))
            .unwrap();
        assert_eq!(line.len(), 27, "{line}");
        // Taken a moment apart: the same up to the minute, unless a minute turned.
        assert!(
            line[..16] == theirs[..16] || line[17..19] == *"59",
            "{line} {theirs}"
        );
    }
}
