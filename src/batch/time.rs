//! Time conversions between Windows FILETIME / DSTIME and Unix seconds, and RFC 3339 output
//! (no date crate needed for these few lines).

/// Seconds from 1601-01-01 to 1970-01-01.
pub const EPOCH_1601_TO_1970_SECS: i64 = 11_644_473_600;

/// FILETIME (100 ns ticks since 1601) to Unix seconds.
pub fn filetime_to_unix(filetime: i64) -> i64 {
    filetime.div_euclid(10_000_000) - EPOCH_1601_TO_1970_SECS
}

/// DSTIME (seconds since 1601, replication metadata) to Unix seconds.
pub fn dstime_to_unix(dstime: i64) -> i64 {
    dstime - EPOCH_1601_TO_1970_SECS
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
    fn known_dates() {
        assert_eq!(unix_to_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(unix_to_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(unix_to_rfc3339(1_795_305_600), "2026-11-22T00:00:00Z");
        assert_eq!(
            unix_to_rfc3339(-EPOCH_1601_TO_1970_SECS),
            "1601-01-01T00:00:00Z"
        );
        assert_eq!(filetime_to_unix(116_444_736_000_000_000), 0);
        assert_eq!(dstime_to_unix(EPOCH_1601_TO_1970_SECS + 5), 5);
    }
}
