//! [`DsTime`]: MS-DRSR §5.51 DSTIME, whole seconds since 1601-01-01 UTC (`drs.md` §3.4).
//!
//! Not to be confused with FILETIME (100 ns units since 1601), which `pwdLastSet` and
//! `accountExpires` use (`drs.md` §1.4).

use serde::{Deserialize, Serialize};

/// Seconds between 1601-01-01 and 1970-01-01.
pub const EPOCH_DIFF_SECS: i64 = 11_644_473_600;

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
        self.0.saturating_mul(10_000_000)
    }
}

/// A FILETIME (100 ns units since 1601) as whole seconds since the Unix epoch (floor).
pub fn filetime_to_unix_seconds(filetime: i64) -> i64 {
    filetime.div_euclid(10_000_000) - EPOCH_DIFF_SECS
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
        assert_eq!(
            filetime_to_unix_seconds(134_398_343_980_000_000),
            1_795_360_798
        );
    }
}
