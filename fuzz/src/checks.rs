//! The fuzz targets' bodies: one function per parser, shared by the libFuzzer binaries
//! (`fuzz/fuzz_targets/*.rs`) and by the stable-toolchain replay test
//! (`tests/hardening/fuzz_corpus_replay.rs`, which includes this file with `#[path]`), so a corpus or
//! regression file exercises exactly the same code in both places.
//!
//! Each function must never panic on any input; the asserts inside are properties that must
//! hold for every input (a failed assert is a finding, like a crash).
//!
//! Only `phsync` and `std` may be used here (the replay test compiles it inside the library's
//! own test build).
#![allow(dead_code)]

use std::fmt::Write as _;

use phsync::drs::attr::Attr;
use phsync::drs::crypto::{decrypt_value, encrypt_payload, rid_decrypt_hash};
use phsync::drs::prefix::{ber_to_oid, oid_to_ber};
use phsync::drs::{DecryptError, PrefixTable, Reply, Secrets, SessionKey, SupplementalCredentials};
use phsync::{CloudVerifier, NtHash};

/// A target's body.
pub type Check = fn(&[u8]);

/// Every target, by the name of its `fuzz/fuzz_targets/<name>.rs` and corpus directory.
pub const TARGETS: &[(&str, Check)] = &[
    ("reply_decode", reply_decode),
    ("decrypt_value", decrypt_value_target),
    ("supplemental", supplemental),
    ("prefix_table", prefix_table),
    ("verifier_parse", verifier_parse),
    ("nt_hash_hex", nt_hash_hex),
    #[cfg(feature = "ldap")]
    ("dirsync_control", dirsync_control),
    #[cfg(feature = "ldap")]
    ("samba_nt_password", samba_nt_password),
    #[cfg(feature = "ldap")]
    ("repl_metadata", repl_metadata),
    #[cfg(feature = "dc")]
    ("drs_bind_reply", drs_bind_reply),
    #[cfg(feature = "dc")]
    ("epm_map_reply", epm_map_reply),
    #[cfg(feature = "dc")]
    ("dce_pdu", dce_pdu),
];

/// The session keys of the three real Samba captures (`tests/fixtures/samba-a/truth.json`), so
/// that mutations of a captured reply that leave its secrets intact still decrypt.
pub const CAPTURE_KEYS: [&str; 3] = [
    "6a6569315767426c41584f70724f686e",
    "6a4c67356b4978683662387464324f73",
    "47950bfdd7ad9eeed0785c10281390a4ff9b2afa424f7c9107be4894c91a43c3",
];

fn capture_keys() -> Vec<SessionKey> {
    CAPTURE_KEYS
        .iter()
        .map(|h| SessionKey::from_hex(h).expect("valid key"))
        .collect()
}

fn sink<T: std::fmt::Debug>(t: T) {
    let mut s = String::new();
    let _ = write!(s, "{t:?}");
    std::hint::black_box(s);
}

/// `Reply::decode` on arbitrary bytes; a reply that decodes is walked completely (every
/// accessor, every attribute and value, `Debug`) and every object is decrypted with the
/// captures' keys, in full and hashes-only; the two must agree on the hashes.
pub fn reply_decode(data: &[u8]) {
    let decoded = Reply::decode(data);
    // The owning decoder reads the same bytes the same way: same verdict, same error.
    match (&decoded, Reply::decode_owned(data.to_vec())) {
        (Ok(a), Ok(b)) => assert_eq!(a.objects().len(), b.objects().len()),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("decode {:?} but decode_owned {:?}", a.is_ok(), b.is_ok()),
    }
    let Ok(reply) = decoded else {
        return;
    };
    sink(&reply);
    sink((
        reply.more_data(),
        reply.version(),
        reply.source_dsa_guid(),
        reply.source_dsa_invocation_id(),
        reply.naming_context(),
        reply.usn_vec_from(),
        reply.usn_vec_to(),
        reply.up_to_date_vector(),
        reply.prefix_table(),
        reply.linked_values(),
        (
            reply.extended_ret(),
            reply.nc_size_objects(),
            reply.nc_size_values(),
        ),
        (reply.drs_error(), reply.return_value()),
    ));
    let keys = capture_keys();
    for o in reply.objects() {
        sink((
            o.name(),
            o.dn(),
            o.object_guid(),
            o.sid().map(|s| s.to_string()),
            o.rid(),
            o.sam_account_name(),
            o.user_principal_name(),
            o.flags(),
            o.is_nc_prefix(),
            o.parent_guid(),
            o.object_classes(),
        ));
        for a in o.attributes() {
            sink((a.attrtyp(), a.id().to_string(), a.known(), a.metadata()));
            assert_eq!(a.values().len(), a.value_count());
            for v in a.values() {
                std::hint::black_box(v);
            }
        }
        sink(o);
        let full = o.decrypt_with_any(&keys);
        let hashes = o.decrypt_selected(&keys, Secrets::Hashes);
        match (&full, &hashes) {
            (Ok(f), Ok(h)) => {
                assert_eq!(f.nt_hash(), h.nt_hash());
                assert_eq!(f.nt_history(), h.nt_history());
                sink(f);
                sink((
                    f.object_guid(),
                    f.rid(),
                    f.sam_account_name(),
                    f.user_account_control(),
                    f.pwd_last_set(),
                    f.lm_hash(),
                    f.lm_history().len(),
                    f.supplemental_credentials(),
                ));
            }
            // The full decryption may fail on supplementalCredentials alone.
            (Err(e), _) => {
                let _ = e.to_string();
            }
            (Ok(_), Err(e)) => panic!("hashes-only failed where the full decryption worked: {e}"),
        }
    }
}

/// The fixed key and salt of [`decrypt_value_target`].
pub const FIXED_KEY: [u8; 16] = *b"phsync-fuzz-key!";
const FIXED_SALT: [u8; 16] = *b"phsync-fuzz-salt";

/// Secret decryption with a fixed key. Input: `[selector][rid: u32 LE][payload…]`.
///
/// - selector bit 7 set: `payload` is the raw ENCRYPTED_PAYLOAD (salt ‖ RC4(CRC ‖ plain)),
///   decrypted as is (short values, CRC mismatches, any length);
/// - otherwise `payload` is a plaintext, encrypted with the fixed key first, so the fuzzer
///   reaches the RID layer and the supplementalCredentials parser past the CRC check. The
///   result must round-trip (or fail only for the typed reasons a plaintext can cause).
///
/// Bits 0–2 choose the attribute; bit 3 means "no RID".
pub fn decrypt_value_target(data: &[u8]) {
    const ATTRS: [Attr; 8] = [
        Attr::UnicodePwd,
        Attr::DbcsPwd,
        Attr::NtPwdHistory,
        Attr::LmPwdHistory,
        Attr::SupplementalCredentials,
        Attr::UnicodePwd,
        Attr::NtPwdHistory,
        Attr::SupplementalCredentials,
    ];
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    if rest.len() < 4 {
        return;
    }
    let (rid, payload) = rest.split_at(4);
    let rid = u32::from_le_bytes(rid.try_into().expect("4 bytes"));
    let attr = ATTRS[usize::from(sel & 7)];
    let rid = if sel & 8 != 0 { None } else { Some(rid) };
    let key = SessionKey::new(&FIXED_KEY);
    let keys = [key.clone()];
    if sel & 0x80 != 0 {
        if let Ok(plain) = decrypt_value(attr, rid, &keys, payload) {
            if attr == Attr::SupplementalCredentials {
                let _ = SupplementalCredentials::parse(plain.as_bytes()).map(|s| sink(&s));
            }
        } else if let Err(e) = decrypt_value(attr, rid, &keys, payload) {
            let _ = e.to_string();
        }
        return;
    }
    let cipher = encrypt_payload(&key, &FIXED_SALT, payload);
    match decrypt_value(attr, rid, &keys, &cipher) {
        Ok(plain) => {
            let plain = plain.as_bytes();
            assert_eq!(plain.len(), payload.len());
            if attr.has_rid_layer() {
                let rid = rid.expect("a RID was needed");
                for (p, c) in plain.chunks_exact(16).zip(payload.chunks_exact(16)) {
                    let c: &[u8; 16] = c.try_into().expect("16 bytes");
                    assert_eq!(p, rid_decrypt_hash(rid, c));
                }
            } else {
                assert_eq!(plain, payload);
            }
            if attr == Attr::SupplementalCredentials
                && let Ok(s) = SupplementalCredentials::parse(plain)
            {
                sink(&s);
            }
        }
        Err(DecryptError::MissingRid { .. }) => assert!(attr.has_rid_layer() && rid.is_none()),
        Err(DecryptError::ZeroRid { .. }) => assert_eq!(rid, Some(0)),
        Err(DecryptError::BadHashLength { len, .. }) => {
            assert!(attr.has_rid_layer() && len % 16 != 0)
        }
        Err(e) => panic!("encrypted with the right key, yet: {e}"),
    }
}

/// `SupplementalCredentials::parse` on arbitrary plaintext; a parse that succeeds is walked
/// completely.
pub fn supplemental(data: &[u8]) {
    match SupplementalCredentials::parse(data) {
        Ok(s) => {
            sink(&s);
            sink((
                s.packages(),
                s.wdigest().len(),
                s.ntlm_strong_ntowf().is_some(),
            ));
            let _ = s.cleartext_utf16().map(<[u16]>::len);
            let _ = s.cleartext().map(|c| c.len());
            for k in [s.kerberos(), s.kerberos_newer_keys()]
                .into_iter()
                .flatten()
            {
                sink((k.revision(), k.default_salt(), k.default_iteration_count()));
                for key in k
                    .credentials()
                    .iter()
                    .chain(k.service_credentials())
                    .chain(k.old_credentials())
                    .chain(k.older_credentials())
                {
                    sink((key.key_type(), key.iteration_count(), key.key().len()));
                }
            }
            for (name, v) in s.other() {
                sink((name, v.len()));
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// The prefix table: `[n][n × (ndx: u16 LE, len: u8, bytes…)][ATTRTYPs: u32 LE …]`, then the
/// same bytes as BER OIDs and as dotted OID text.
///
/// Properties: an ATTRTYP that maps to an OID maps back (through `attrtyp`) to an ATTRTYP
/// with the same OID; `ber_to_oid ∘ oid_to_ber` is the identity on the OIDs `ber_to_oid`
/// produces.
pub fn prefix_table(data: &[u8]) {
    let mut entries = Vec::new();
    let mut pos = 0;
    let n = data.first().copied().unwrap_or(0);
    pos += 1;
    for _ in 0..n {
        if pos + 3 > data.len() {
            break;
        }
        let ndx = u32::from(u16::from_le_bytes([data[pos], data[pos + 1]]));
        let len = usize::from(data[pos + 2]);
        pos += 3;
        let end = (pos + len).min(data.len());
        entries.push((ndx, data[pos..end].to_vec()));
        pos = end;
    }
    let table = PrefixTable::from_entries(entries);
    sink(&table);
    let rest = data.get(pos..).unwrap_or_default();
    for chunk in rest.chunks(4) {
        let mut b = [0u8; 4];
        b[..chunk.len()].copy_from_slice(chunk);
        let attrtyp = u32::from_le_bytes(b);
        let _ = table.resolve(attrtyp).map(|a| a.to_string());
        if let Ok(oid) = table.oid(attrtyp)
            && let Ok(back) = table.attrtyp(&oid)
        {
            assert_eq!(
                table.oid(back).as_deref(),
                Ok(oid.as_str()),
                "attrtyp {attrtyp:#x} → {oid} → {back:#x}"
            );
        }
    }
    for bytes in [data, rest] {
        if let Some(oid) = ber_to_oid(bytes) {
            let ber = oid_to_ber(&oid).expect("an OID ber_to_oid produced encodes");
            assert_eq!(ber_to_oid(&ber).as_deref(), Some(oid.as_str()));
            let _ = table.attrtyp(&oid);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(ber) = oid_to_ber(text) {
            let oid = ber_to_oid(&ber).expect("oid_to_ber output decodes");
            assert_eq!(oid_to_ber(&oid).as_deref(), Some(ber.as_slice()));
        }
        let _ = table.attrtyp(text);
        let _ = Attr::from_oid(text);
    }
}

/// `CloudVerifier::from_str`: whatever parses re-formats canonically and parses back to the
/// same value.
pub fn verifier_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match text.parse::<CloudVerifier>() {
        Ok(v) => {
            assert!(v.iterations() <= phsync::Iterations::MAX_PARSED);
            let canonical = v.to_string();
            let again: CloudVerifier = canonical.parse().expect("canonical form parses");
            assert!(again == v);
            assert_eq!(again.to_string(), canonical);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    // With every count allowed, the default-bounded result is the same where it succeeded.
    let all = phsync::Iterations::new(u32::MAX).expect("non-zero");
    if let Ok(v) = CloudVerifier::parse_with_max_iterations(text, all)
        && v.iterations() <= phsync::Iterations::MAX_PARSED
    {
        let bounded = text
            .parse::<CloudVerifier>()
            .expect("within the default bound");
        assert!(bounded == v);
    }
}

/// `NtHash::from_hex` (and `SessionKey::from_hex`): accepts exactly 32 hex digits; what it
/// accepts round-trips.
pub fn nt_hash_hex(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let expected = text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit());
    match NtHash::from_hex(text) {
        Ok(nt) => {
            assert!(expected, "accepted {text:?}");
            assert_eq!(nt.to_hex().as_str(), text.to_ascii_lowercase());
        }
        Err(e) => {
            assert!(!expected, "rejected {text:?}: {e}");
            let _ = e.to_string();
        }
    }
    if let Ok(k) = SessionKey::from_hex(text) {
        assert_eq!(k.len() * 2, text.len());
    }
}

/// `DirSyncResponse::parse` (the DirSync response control's BER value); what parses
/// re-encodes through `DirSyncRequest` and parses back to the same cookie. Also the cookie's
/// serde form (hex) through `serde`'s string deserializer.
#[cfg(feature = "ldap")]
pub fn dirsync_control(data: &[u8]) {
    use phsync::ldap::{DirSyncCookie, DirSyncResponse};
    match DirSyncResponse::parse(data) {
        Ok(r) => {
            sink(&r);
            let again = DirSyncResponse::parse(&encode_triplet(
                i32::from(r.more_results),
                r.unused,
                r.cookie.as_bytes(),
            ))
            .expect("re-encoded control parses");
            assert_eq!(again.cookie, r.cookie);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let cookie = DirSyncCookie::from_bytes(data.to_vec());
    assert!(!format!("{cookie:?}").contains(&hex_lower(data)) || data.len() < 2);
}

#[cfg(feature = "ldap")]
fn hex_lower(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// `SEQUENCE { INTEGER a, INTEGER b, OCTET STRING c }`, minimal DER.
#[cfg(feature = "ldap")]
fn encode_triplet(a: i32, b: i32, c: &[u8]) -> Vec<u8> {
    fn len(out: &mut Vec<u8>, n: usize) {
        if n < 128 {
            out.push(n as u8);
        } else {
            let bytes = n.to_be_bytes();
            let skip = bytes.iter().take_while(|&&x| x == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
    }
    fn int(out: &mut Vec<u8>, v: i32) {
        let bytes = v.to_be_bytes();
        let mut i = 0;
        while i < 3
            && ((bytes[i] == 0 && bytes[i + 1] & 0x80 == 0)
                || (bytes[i] == 0xff && bytes[i + 1] & 0x80 != 0))
        {
            i += 1;
        }
        out.push(0x02);
        len(out, 4 - i);
        out.extend_from_slice(&bytes[i..]);
    }
    let mut body = Vec::new();
    int(&mut body, a);
    int(&mut body, b);
    body.push(0x04);
    len(&mut body, c.len());
    body.extend_from_slice(c);
    let mut out = vec![0x30];
    len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

/// Samba-schema attribute parsing: `parse_nt_password`, `acct_flags_to_uac`,
/// `generalized_time`, and `account_from_entry` on an entry whose attributes come from the
/// input (`name=value` lines; the first line is the DN). A `sambaNTPassword` that is rejected
/// never appears in the error text.
#[cfg(feature = "ldap")]
pub fn samba_nt_password(data: &[u8]) {
    use phsync::ldap::Entry;
    use phsync::ldap::samba_attrs::{
        account_from_entry, acct_flags_to_uac, generalized_time, parse_nt_password,
    };
    match parse_nt_password(data) {
        Ok(state) => sink(&state),
        Err(e) => {
            // A hash-like rejected value (8+ hex digits, e.g. 31 of them) must not be echoed.
            if data.len() >= 8
                && data.iter().all(u8::is_ascii_hexdigit)
                && let Ok(s) = std::str::from_utf8(data)
            {
                assert!(!e.0.contains(s), "the rejected value leaks into {:?}", e.0);
            }
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = acct_flags_to_uac(&text);
    let _ = generalized_time(&text);
    let mut lines = text.lines();
    let dn = lines.next().unwrap_or_default().to_owned();
    let mut entry = Entry {
        dn,
        attrs: Vec::new(),
    };
    for line in lines {
        let (name, value) = line.split_once('=').unwrap_or((line, ""));
        match entry
            .attrs
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, vals)) => vals.push(value.as_bytes().to_vec()),
            None => entry
                .attrs
                .push((name.to_owned(), vec![value.as_bytes().to_vec()])),
        }
    }
    for now in [0, 1_700_000_000, i64::MAX, i64::MIN] {
        match account_from_entry(&entry, now) {
            Ok(a) => sink(&a),
            Err(f) => sink(&f),
        }
    }
}

/// `ldap::repl_metadata::{parse, unicode_pwd}` on arbitrary bytes, and the same bytes as the
/// `replPropertyMetaData` of a DirSync entry (`ChangedObject::from_entry`). A blob that parses
/// has room for every entry it claims; each stamp's Unix time is the raw DSTIME minus the 1601
/// epoch, saturating (never a panic or a wrapped value); `unicode_pwd` is the first
/// `unicodePwd` stamp `parse` returned.
#[cfg(feature = "ldap")]
pub fn repl_metadata(data: &[u8]) {
    use phsync::ad::time::EPOCH_DIFF_SECS;
    use phsync::ldap::repl_metadata::{ATTID_UNICODE_PWD, parse, unicode_pwd};
    use phsync::ldap::{ChangedObject, Entry};
    let parsed = parse(data);
    match &parsed {
        Ok(stamps) => {
            assert!(16 + 48 * stamps.len() <= data.len());
            for (i, s) in stamps.iter().enumerate() {
                let at = 16 + 48 * i + 8;
                let raw = i64::from_le_bytes(data[at..at + 8].try_into().expect("8 bytes"));
                assert_eq!(s.changed_unix, raw.saturating_sub(EPOCH_DIFF_SECS));
            }
            let first = stamps
                .iter()
                .find(|s| s.attid == ATTID_UNICODE_PWD)
                .copied();
            assert_eq!(unicode_pwd(data).expect("parsed once"), first);
        }
        Err(e) => {
            let _ = e.to_string();
            assert!(unicode_pwd(data).is_err());
        }
    }
    let entry = Entry {
        dn: "CN=fuzz,DC=example,DC=test".into(),
        attrs: vec![("replPropertyMetaData".into(), vec![data.to_vec()])],
    };
    let changed = ChangedObject::from_entry(&entry);
    let expected = parsed
        .ok()
        .and_then(|v| v.into_iter().find(|s| s.attid == ATTID_UNICODE_PWD));
    assert_eq!(changed.unicode_pwd, expected);
}

/// `dc::drsuapi::decode_bind_reply` and `decode_unbind_reply`: a decoded bind reply's
/// extension fields are present exactly when `cb` covers them.
#[cfg(feature = "dc")]
pub fn drs_bind_reply(data: &[u8]) {
    use phsync::dc::drsuapi::{decode_bind_reply, decode_unbind_reply};
    match decode_bind_reply(data) {
        Ok(r) => {
            sink(r);
            if let Some(e) = r.extensions {
                assert!(e.cb >= 4 && e.cb as usize <= data.len());
                assert_eq!(e.site_obj_guid.is_some(), e.cb >= 20);
                assert_eq!(e.pid.is_some(), e.cb >= 24);
                assert_eq!(e.flags_ext.is_some(), e.cb >= 32);
                assert_eq!(e.config_obj_guid.is_some(), e.cb >= 48);
                assert_eq!(e.ext_caps.is_some(), e.cb >= 52);
            }
        }
        Err(e) => assert!(e.offset <= data.len(), "{e}"),
    }
    if let Err(e) = decode_unbind_reply(data) {
        assert!(e.offset <= data.len(), "{e}");
    }
}

/// `dc::epm::decode_map_reply`: never more endpoints than towers the reply's bytes could hold
/// (each tower is at least 8 bytes of header plus its referent).
#[cfg(feature = "dc")]
pub fn epm_map_reply(data: &[u8]) {
    match phsync::dc::epm::decode_map_reply(data) {
        Ok(endpoints) => {
            assert!(endpoints.len() * 12 <= data.len());
            sink(&endpoints);
        }
        Err(e) => {
            assert!(e.offset <= data.len(), "{e}");
            let _ = e.to_string();
        }
    }
}

/// `dce_pdu`: a whole fragment through the PDU splitter and the `bind_ack`/`fault`/`response`
/// body readers, and the same bytes as everything an unauthenticated server says to a client
/// association (bind, then one call): typed errors, never a panic, replies within the limit.
#[cfg(feature = "dc")]
pub fn dce_pdu(data: &[u8]) {
    use phsync::dc::conn::Connection;
    use phsync::dc::pdu::{self, Fragment, PacketType};
    use std::io::{Cursor, Read, Write};

    struct Server<'a>(Cursor<&'a [u8]>);
    impl Read for Server<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl Write for Server<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    const LIMIT: usize = 4096;

    if let Ok(f) = Fragment::parse(data) {
        assert_eq!(f.header.frag_len as usize, data.len());
        assert_eq!(f.token.len(), f.header.auth_len as usize);
        match f.header.ptype {
            PacketType::BindAck | PacketType::AlterContextResp => {
                if let Ok(ack) = pdu::BindAck::parse(f.body) {
                    assert!(ack.results.len() * 24 <= f.body.len());
                }
            }
            PacketType::Fault => sink(pdu::fault_status(f.body).ok()),
            PacketType::Response => sink(pdu::response_stub(f.body).ok()),
            _ => {}
        }
    }
    let server = Server(Cursor::new(data));
    if let Ok(mut c) = Connection::bind_stream(
        server,
        "fuzz".into(),
        phsync::dc::drsuapi::DRSUAPI_INTERFACE,
        None,
        LIMIT,
    ) && let Ok(reply) = c.call(3, b"request stub")
    {
        assert!(reply.len() <= LIMIT);
    }
}
