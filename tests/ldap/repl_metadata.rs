//! Hostile `replPropertyMetaData` values (MS-DRSR §5.158 `PROPERTY_META_DATA_EXT`, as DirSync
//! returns them): originating times at the ends of `i64` must neither panic (debug) nor wrap
//! (release) when the 1601 epoch is taken off; they saturate. Reached from DirSync entries
//! through `ChangedObject::from_entry`.

use phsync::ad::time::EPOCH_DIFF_SECS;
use phsync::ldap::repl_metadata::{ATTID_UNICODE_PWD, ReplMetadataError, parse, unicode_pwd};
use phsync::ldap::{ChangedObject, Entry};

/// A version-1 blob with one entry per `(attid, version, raw DSTIME)`.
fn blob(entries: &[(u32, u32, i64)]) -> Vec<u8> {
    let mut b = Vec::new();
    for x in [1u32, 0, entries.len() as u32, 0] {
        b.extend_from_slice(&x.to_le_bytes());
    }
    for &(attid, version, time) in entries {
        b.extend_from_slice(&attid.to_le_bytes());
        b.extend_from_slice(&version.to_le_bytes());
        b.extend_from_slice(&time.to_le_bytes());
        b.extend_from_slice(&[0x5a; 16]);
        b.extend_from_slice(&7i64.to_le_bytes());
        b.extend_from_slice(&8i64.to_le_bytes());
    }
    b
}

#[test]
fn extreme_originating_times_saturate() {
    let cases = [
        (i64::MIN, i64::MIN),
        (i64::MIN + 1, i64::MIN),
        (EPOCH_DIFF_SECS - 1, -1),
        (0, -EPOCH_DIFF_SECS),
        (-1, -EPOCH_DIFF_SECS - 1),
        (i64::MAX, i64::MAX - EPOCH_DIFF_SECS),
    ];
    for (raw, unix) in cases {
        let b = blob(&[(1, 1, raw), (ATTID_UNICODE_PWD, 3, raw)]);
        let stamps = parse(&b).unwrap();
        assert_eq!(stamps.len(), 2);
        assert!(stamps.iter().all(|s| s.changed_unix == unix), "raw {raw}");
        let pw = unicode_pwd(&b).unwrap().unwrap();
        assert_eq!((pw.version, pw.changed_unix), (3, unix));

        // The DirSync path: an entry carrying the hostile metadata maps without panicking.
        let entry = Entry {
            dn: "CN=x,DC=example,DC=test".into(),
            attrs: vec![("replPropertyMetaData".into(), vec![b.clone()])],
        };
        let changed = ChangedObject::from_entry(&entry);
        assert_eq!(changed.unicode_pwd.map(|s| s.changed_unix), Some(unix));
    }
}

#[test]
fn hostile_counts_and_truncations_are_typed_errors() {
    let good = blob(&[(ATTID_UNICODE_PWD, 2, i64::MIN)]);
    for cut in 0..good.len() {
        assert!(
            matches!(
                parse(&good[..cut]),
                Err(ReplMetadataError::Truncated { .. })
            ),
            "cut {cut}"
        );
    }
    for count in [2u32, 0x0555_5556, u32::MAX] {
        let mut b = good.clone();
        b[8..12].copy_from_slice(&count.to_le_bytes());
        assert!(matches!(
            parse(&b),
            Err(ReplMetadataError::Truncated { offset: 16, .. })
        ));
    }
    // Every byte of the entry set to every extreme: parses, never panics.
    for fill in [0x00u8, 0x7f, 0x80, 0xff] {
        let mut b = good.clone();
        b[16..].fill(fill);
        assert_eq!(parse(&b).unwrap().len(), 1);
    }
}
