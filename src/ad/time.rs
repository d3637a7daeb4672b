//! Windows times: [`DsTime`] (MS-DRSR §5.51 DSTIME, whole seconds since 1601-01-01 UTC) and
//! FILETIME (MS-DTYP §2.3.3, 100 ns ticks since 1601-01-01 UTC, what `pwdLastSet` and
//! `accountExpires` hold), their conversions to and from Unix seconds, and RFC 3339 text.
//!
//! The 1601 → 1970 offset is defined here once; every other part converts through this file.

use serde::{Deserialize, Serialize};

/// Seconds between 1601-01-01 and 1970-01-01 (the Windows and Unix epochs).
pub const EPOCH_DIFF_SECS: i64 = 11_644_473_600;

/// FILETIME ticks (100 ns) per second.
pub const FILETIME_TICKS_PER_SEC: i64 = 10_000_000;

/// A DSTIME: seconds since 1601-01-01 UTC.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct DsTime(pub i64);

impl DsTime {
    /// Seconds since 1601-01-01 UTC, as on the wire.
    pub fn seconds_since_1601(self) -> i64 {
        self.0
    }

    /// Seconds since the Unix epoch (negative before 1970).
    pub fn to_unix_seconds(self) -> i64 {
        self.0.saturating_sub(EPOCH_DIFF_SECS)
    }

    /// The same instant as a FILETIME (100 ns units since 1601); saturates.
    pub fn to_filetime(self) -> i64 {
        self.0.saturating_mul(FILETIME_TICKS_PER_SEC)
    }
}

/// Unix seconds → FILETIME (100 ns ticks since 1601), saturating.
pub fn unix_to_filetime(unix: i64) -> i64 {
    unix.saturating_add(EPOCH_DIFF_SECS)
        .saturating_mul(FILETIME_TICKS_PER_SEC)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds (proleptic Gregorian, H. Hinnant's algorithm).
pub fn unix_to_rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        // 2026-11-22T15:19:58Z from the Samba fixture.
        let t = DsTime(13_439_834_398);
        assert_eq!(t.to_unix_seconds(), 1_795_360_798);
        assert_eq!(t.to_filetime(), 134_398_343_980_000_000);
        assert_eq!(unix_to_filetime(1_795_360_798), t.to_filetime());
        assert_eq!(unix_to_filetime(0), 116_444_736_000_000_000);
        assert_eq!(unix_to_filetime(i64::MAX), i64::MAX);
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(unix_to_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(unix_to_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(unix_to_rfc3339(1_795_305_600), "2026-11-22T00:00:00Z");
        assert_eq!(unix_to_rfc3339(-EPOCH_DIFF_SECS), "1601-01-01T00:00:00Z");
    }
}
