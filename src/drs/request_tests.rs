//! [`GetNcChangesRequest`] against stubs impacket built (tests/vectors/dc_ndr.txt, written by
//! tools/vectors/gen_drsuapi_vectors.py): byte for byte, except impacket's random referent IDs
//! and its padding marker bytes (see `ndr_write::testing::assert_same_stub`).

use super::*;
use crate::drs::DsTime;
use crate::drs::ndr_write::testing::{REQUESTS as VECTORS, assert_same_stub, vector};

const HANDLE: [u8; 20] = [
    0, 0, 0, 0, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e,
    0x1f, 0x20,
];

/// tools/interop/capture.py `PAS_OIDS`.
const PAS_OIDS: [&str; 11] = [
    "2.5.4.0",
    "1.2.840.113556.1.4.221",
    "1.2.840.113556.1.4.656",
    "1.2.840.113556.1.4.8",
    "1.2.840.113556.1.4.96",
    "1.2.840.113556.1.4.146",
    "1.2.840.113556.1.4.90",
    "1.2.840.113556.1.4.94",
    "1.2.840.113556.1.4.55",
    "1.2.840.113556.1.4.160",
    "1.2.840.113556.1.4.125",
];

fn guid(s: &str) -> Guid {
    s.parse().unwrap()
}

fn cursor(g: &str, usn: i64) -> UpToDateCursor {
    UpToDateCursor {
        dsa_invocation_id: guid(g),
        usn_high_prop_update: usn,
        time_last_sync_success: DsTime(0),
    }
}

fn server_table() -> PrefixTable {
    let mut schema_info = vec![0xffu8];
    schema_info.extend([0u8; 20]);
    PrefixTable::from_entries([
        (0u32, vec![0x55u8, 0x04]),
        (1, vec![0x55, 0x06]),
        (2, b"\x2a\x86\x48\x86\xf7\x14\x01\x02".to_vec()),
        (9, b"\x2a\x86\x48\x86\xf7\x14\x01\x04".to_vec()),
        (0, schema_info),
    ])
}

fn full_nc() -> GetNcChangesRequest {
    let table = server_table();
    GetNcChangesRequest {
        dest_dsa: guid("b7a6a1e4-5c6e-4f0a-8d3e-1f2a3b4c5d6e"),
        source_invocation_id: guid("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
        naming_context: NamingContext {
            guid: Some(guid("c3f9e58a-0dd1-4d0b-8ab2-6c1d1e0f2a3b")),
            dn: "DC=interöp,DC=test".into(),
        },
        usn_vec_from: UsnVector {
            usn_high_obj_update: 0x1234,
            usn_reserved: 7,
            usn_high_prop_update: 0x1230,
        },
        up_to_date: vec![
            cursor("4d9c1a1e-2b3c-4d5e-8f60-718293a4b5c6", 100),
            cursor("ae1f2b3c-4d5e-6f70-8192-a3b4c5d6e7f8", 0x1_0000_0002),
        ],
        flags: DRS_WRIT_REP | DRS_GET_ANC,
        max_objects: 50,
        max_bytes: 8 * 1024 * 1024,
        extended_op: EXOP_NONE,
        fsmo_info: 0,
        partial_attribute_set: partial_attribute_set(&table, &PAS_OIDS).unwrap(),
        prefix_table: table.wire_entries(),
    }
}

fn stub(req: &GetNcChangesRequest) -> Writer {
    let mut w = Writer::new();
    req.encode_into(&mut w, &HANDLE);
    w
}

#[test]
fn full_nc_request_matches_impacket() {
    let req = full_nc();
    assert_same_stub(
        "get_nc_changes_full",
        stub(&req),
        &vector(VECTORS, "get_nc_changes_full"),
    );
    // encode() is the same bytes.
    assert_eq!(req.encode(&HANDLE), stub(&req).into_bytes());
}

#[test]
fn exop_repl_obj_request_matches_impacket() {
    let ntds = guid("9ed627cc-d683-4a7a-9344-122204c105a9");
    let req = GetNcChangesRequest {
        dest_dsa: ntds,
        source_invocation_id: ntds,
        naming_context: NamingContext {
            guid: Some(guid("1ee07830-e2be-4409-9026-e71e849e0edf")),
            dn: String::new(),
        },
        flags: DRS_INIT_SYNC | DRS_WRIT_REP,
        max_objects: 1,
        extended_op: EXOP_REPL_OBJ,
        ..GetNcChangesRequest::default()
    };
    assert_same_stub(
        "get_nc_changes_exop",
        stub(&req),
        &vector(VECTORS, "get_nc_changes_exop"),
    );
}

#[test]
fn partial_attribute_set_is_sorted_and_needs_the_prefix() {
    let table = server_table();
    let pas = partial_attribute_set(&table, &PAS_OIDS).unwrap();
    assert_eq!(pas.len(), 11);
    assert!(pas.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(pas[0], 0); // objectClass: 2.5.4.0 through ndx 0
    assert_eq!(*pas.last().unwrap(), 0x0009_0290); // userPrincipalName (…4.656)
    assert_eq!(
        partial_attribute_set(&table, &["2.5.4.0", "2.5.4.0"]).unwrap(),
        vec![0]
    );
    // objectSid through a table without the 1.2.840.113556.1.4 prefix.
    let small = PrefixTable::from_entries([(0u32, vec![0x55u8, 0x04])]);
    assert!(partial_attribute_set(&small, &PAS_OIDS).is_err());
    assert!(partial_attribute_set(&table, &["not.an.oid"]).is_err());
}

#[test]
fn dsname_struct_len_is_the_structure_without_max_count() {
    // MS-DRSR §5.50: 56 fixed bytes and the terminated UTF-16 name.
    let req = GetNcChangesRequest {
        naming_context: NamingContext {
            guid: None,
            dn: "DC=a".into(),
        },
        ..GetNcChangesRequest::default()
    };
    let b = req.encode(&HANDLE);
    // V8 flat part ends at 144; the DSNAME follows: MaxCount 5, structLen 66.
    assert_eq!(&b[144..152], &[5, 0, 0, 0, 66, 0, 0, 0]);
    // No pointers but pNC: the null ones are zero.
    assert_eq!(&b[96..100], &[0; 4]);
    assert_eq!(b.len(), 144 + 4 + 66);
}
