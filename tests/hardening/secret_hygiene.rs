//! Secret hygiene, type by type (see docs/hardening.md):
//!
//! - no secret in `Debug`, `Display`, error messages or `Serialize` output: each secret-holding
//!   type is built from a known byte pattern (or decrypted from the real Samba captures) and
//!   its formatted forms are searched for the bytes in lowercase hex, uppercase hex and raw;
//! - secrets implement no `Serialize` (checked by trait resolution, with positive controls);
//! - secrets zeroize on drop: `ZeroizeOnDrop` bounds at compile time, and for the inline
//!   types (`NtHash`, `LmHash`, `CloudVerifier`) the memory is read back after `drop_in_place`;
//! - equality of secrets is constant time (`subtle`), with ring-style bit-flip tests: every
//!   single-bit change of a secret compares unequal.
//!
//! The crate has no `tracing`/`log` dependency, so there are no tracing fields to check.

use std::marker::PhantomData;
use std::mem::MaybeUninit;

use phsync::batch::{PasswordState, Runner, SyncAccount, SyncPolicy};
use phsync::drs::{
    Account, KerberosCredentials, KerberosKey, LmHash, Reply, SecretBytes, SessionKey,
    SupplementalCredentials,
};
use phsync::{CloudVerifier, Iterations, NtHash, Salt};
use zeroize::ZeroizeOnDrop;

/// A 16-byte pattern that cannot occur by chance in formatted output.
const P16: [u8; 16] = [
    0xa7, 0x3c, 0x91, 0x5e, 0xd2, 0x48, 0xfb, 0x06, 0x6d, 0xe1, 0x29, 0xb4, 0x7f, 0x13, 0xc8, 0x5a,
];

use crate::common::lower_hex as hex_lower;

/// Fails if `text` contains `secret` as lowercase/uppercase hex (whole, or any 6-byte window),
/// as raw bytes, or as a Rust byte-array `Debug` (`[167, 60, …`).
fn assert_no_secret(what: &str, text: &str, secret: &[u8]) {
    let lower = hex_lower(secret);
    let upper = lower.to_ascii_uppercase();
    let window = 12.min(lower.len());
    for i in (0..=lower.len() - window).step_by(2) {
        let w = &lower[i..i + window];
        assert!(
            !text.to_ascii_lowercase().contains(w),
            "{what}: secret hex {w} in {text:?}"
        );
    }
    assert!(!text.contains(&upper), "{what}: uppercase hex in {text:?}");
    if secret.len() >= 4 {
        assert!(
            !text.as_bytes().windows(4).any(|w| w == &secret[..4]),
            "{what}: raw secret bytes in output"
        );
        let dec = format!("{}, {}, {}", secret[0], secret[1], secret[2]);
        assert!(!text.contains(&dec), "{what}: byte-array form in {text:?}");
    }
}

// ---------------------------------------------------------------- Debug / Display / errors

#[test]
fn hashes_and_keys_print_redacted() {
    let nt = NtHash::from_bytes(P16);
    assert_eq!(format!("{nt:?}"), "NtHash(<redacted>)");
    assert_no_secret("NtHash {:#?}", &format!("{nt:#?}"), &P16);

    let lm = LmHash::from_bytes(P16);
    assert_no_secret("LmHash", &format!("{lm:?} {lm:#?}"), &P16);

    let key = SessionKey::new(&P16);
    assert_no_secret("SessionKey", &format!("{key:?} {key:#?}"), &P16);
    let key = SessionKey::from_hex(&hex_lower(&P16)).unwrap();
    assert_no_secret("SessionKey::from_hex", &format!("{key:?}"), &P16);

    let v = CloudVerifier::derive(&nt, Salt::from_bytes([1; 10]), Iterations::new(1).unwrap());
    assert_no_secret("CloudVerifier Debug", &format!("{v:?}"), v.hash());
    // Display is the verifier string (shipped by design); it never holds the NT hash.
    assert_no_secret("CloudVerifier Display", &v.to_string(), &P16);
}

#[test]
fn sync_inputs_print_redacted() {
    let a = SyncAccount::from_nt_hash("alice", NtHash::from_bytes(P16));
    assert_no_secret("SyncAccount", &format!("{a:?} {a:#?}"), &P16);
    let p = PasswordState::Present(NtHash::from_bytes(P16));
    assert_no_secret("PasswordState", &format!("{p:?}"), &P16);
}

#[test]
fn error_messages_never_contain_the_input() {
    // A 32-character NT hash with one bad digit at the end: the message names the position.
    let mut s = hex_lower(&P16);
    s.replace_range(31..32, "g");
    let e = NtHash::from_hex(&s).unwrap_err();
    assert_no_secret("ParseError (NtHash)", &format!("{e} {e:?}"), &P16[..15]);
    // Too long by one digit.
    let e = NtHash::from_hex(&format!("{}0", hex_lower(&P16))).unwrap_err();
    assert_no_secret("ParseError (length)", &format!("{e} {e:?}"), &P16);

    let e = SessionKey::from_hex(&format!("{}zz", hex_lower(&P16))).unwrap_err();
    assert_no_secret("SessionKeyParseError", &format!("{e} {e:?}"), &P16);
    let e = SessionKey::from_hex(&format!("{}0", hex_lower(&P16))).unwrap_err();
    assert_no_secret("SessionKeyParseError (odd)", &format!("{e} {e:?}"), &P16);

    // A verifier whose hash field is one digit short.
    let hash = [P16, P16].concat();
    let text = format!(
        "v1;PPH1_MD4,00112233445566778899,1000,{};",
        &hex_lower(&hash)[1..]
    );
    let e = text.parse::<CloudVerifier>().unwrap_err();
    assert_no_secret("ParseError (verifier)", &format!("{e} {e:?}"), &hash[1..]);

    // Decrypting with the wrong key: the error names the attribute, never key or plaintext.
    let (reply, key) = capture();
    let wrong = SessionKey::new(&P16);
    for o in reply.objects() {
        if let Err(e) = o.decrypt(&wrong) {
            assert_no_secret("DecryptError", &format!("{e} {e:?}"), &P16);
        }
        if let Ok(acc) = o.decrypt(&key)
            && let Some(nt) = acc.nt_hash()
        {
            let e = o.decrypt(&wrong).unwrap_err();
            assert_no_secret("DecryptError vs hash", &format!("{e} {e:?}"), nt.as_bytes());
        }
    }
}

#[cfg(feature = "ldap")]
#[test]
fn ldap_secrets_print_redacted() {
    use phsync::ldap::samba_attrs::{account_from_entry, parse_nt_password};
    use phsync::ldap::{Bind, DirSyncCookie, Entry};
    let b = Bind::simple("cn=admin,dc=example", "Sup3r-Secret-Pa55");
    let s = format!("{b:?} {b:#?}");
    assert!(!s.contains("Sup3r-Secret-Pa55"), "{s}");
    assert!(s.contains("cn=admin"));

    let c = DirSyncCookie::from_bytes(P16.to_vec());
    assert_no_secret("DirSyncCookie", &format!("{c:?}"), &P16);

    // A malformed sambaNTPassword (31 digits + 'z'): the failure names it, without the value.
    let mut bad = hex_lower(&P16);
    bad.replace_range(31..32, "z");
    let e = parse_nt_password(bad.as_bytes()).unwrap_err();
    assert_no_secret("BadHash", &format!("{} {e:?}", e.0), &P16[..15]);
    let entry = Entry {
        dn: "uid=alice,dc=example".into(),
        attrs: vec![("sambaNTPassword".into(), vec![bad.into_bytes()])],
    };
    let f = account_from_entry(&entry, 0).unwrap_err();
    assert_no_secret("SourceFailure", &format!("{f:?} {}", f.detail), &P16[..15]);
    // And a good one: the SyncAccount's Debug is redacted.
    let entry = Entry {
        dn: "uid=alice,dc=example".into(),
        attrs: vec![("sambaNTPassword".into(), vec![hex_lower(&P16).into_bytes()])],
    };
    let a = account_from_entry(&entry, 0).unwrap();
    assert_no_secret("SyncAccount (ldap)", &format!("{a:?}"), &P16);
}

use crate::common::samba_dir as fixtures;

/// The first exop reply of the NTLM capture and its key.
fn capture() -> (Reply, SessionKey) {
    let bytes = std::fs::read(fixtures().join("bin/impacket-ntlm-exop/reply-000.bin")).unwrap();
    (
        Reply::decode(&bytes).unwrap(),
        SessionKey::from_hex("6a6569315767426c41584f70724f686e").unwrap(),
    )
}

/// Every secret byte string an account holds.
fn secrets_of(acc: &Account) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    out.extend(acc.nt_hash().map(|h| h.as_bytes().to_vec()));
    out.extend(acc.nt_history().iter().map(|h| h.as_bytes().to_vec()));
    out.extend(acc.lm_hash().map(|h| h.as_bytes().to_vec()));
    out.extend(acc.lm_history().iter().map(|h| h.as_bytes().to_vec()));
    if let Some(s) = acc.supplemental_credentials() {
        out.extend(s.wdigest().iter().map(|h| h.to_vec()));
        out.extend(s.ntlm_strong_ntowf().map(|h| h.to_vec()));
        if let Some(c) = s.cleartext_utf16() {
            out.push(c.iter().flat_map(|u| u.to_le_bytes()).collect());
        }
        for k in [s.kerberos(), s.kerberos_newer_keys()]
            .into_iter()
            .flatten()
        {
            for key in k
                .credentials()
                .iter()
                .chain(k.old_credentials())
                .chain(k.older_credentials())
            {
                out.push(key.key().to_vec());
            }
        }
    }
    out.retain(|s| s.len() >= 8 && s.iter().any(|&b| b != 0));
    out
}

#[test]
fn decrypted_real_accounts_print_no_secret() {
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("truth.json")).unwrap()).unwrap();
    let passwords: Vec<String> = truth["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| {
            a["passwords_newest_first"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|p| p.as_str().map(str::to_owned))
        .filter(|p| p.len() >= 6)
        .collect();
    assert!(!passwords.is_empty());
    let (reply, key) = capture();
    let mut checked = 0;
    for o in reply.objects() {
        let acc = o.decrypt(&key).unwrap();
        let secrets = secrets_of(&acc);
        let mut texts = vec![format!("{acc:?}"), format!("{acc:#?}"), format!("{o:?}")];
        if let Some(s) = acc.supplemental_credentials() {
            texts.push(format!("{s:?}"));
            for k in [s.kerberos(), s.kerberos_newer_keys()]
                .into_iter()
                .flatten()
            {
                texts.push(format!("{k:?}"));
                texts.extend(k.credentials().iter().map(|key| format!("{key:?}")));
            }
        }
        let sync = phsync::batch::drs_item(o, std::slice::from_ref(&key));
        texts.push(format!("{sync:?}"));
        for t in &texts {
            for s in &secrets {
                assert_no_secret("decrypted account", t, s);
            }
            for p in &passwords {
                assert!(!t.contains(p.as_str()), "cleartext password in {t}");
            }
        }
        checked += secrets.len();
    }
    assert!(checked > 10, "only {checked} secrets checked");
}

#[test]
fn serialized_outcomes_hold_no_nt_hash() {
    let policy = SyncPolicy {
        iterations: Iterations::new(1).unwrap(),
        ..SyncPolicy::default()
    };
    let inputs = (0..4u8).map(|i| {
        let mut b = P16;
        b[0] ^= i;
        Ok(SyncAccount::from_nt_hash(
            format!("u{i}"),
            NtHash::from_bytes(b),
        ))
    });
    let mut n = 0;
    Runner::new(policy).run(inputs, |o| {
        let json = serde_json::to_string(&o).unwrap();
        assert_no_secret("Outcome JSON", &json, &P16[1..]);
        assert!(json.contains("PPH1_MD4"));
        n += 1;
    });
    assert_eq!(n, 4);
}

// ---------------------------------------------------------------- no Serialize

struct Probe<T>(PhantomData<T>);
trait NotSerialize {
    fn serializable(&self) -> bool {
        false
    }
}
impl<T> NotSerialize for Probe<T> {}
impl<T: serde::Serialize> Probe<T> {
    fn serializable(&self) -> bool {
        true
    }
}
macro_rules! serializable {
    ($t:ty) => {
        Probe::<$t>(PhantomData).serializable()
    };
}

#[test]
fn secrets_implement_no_serialize() {
    // Positive controls: the probe does see Serialize.
    assert!(serializable!(CloudVerifier));
    assert!(serializable!(phsync::drs::Guid));
    assert!(serializable!(phsync::batch::Identity));
    // The secrets.
    assert!(!serializable!(NtHash));
    assert!(!serializable!(LmHash));
    assert!(!serializable!(SessionKey));
    assert!(!serializable!(SecretBytes));
    assert!(!serializable!(KerberosKey));
    assert!(!serializable!(KerberosCredentials));
    assert!(!serializable!(SupplementalCredentials));
    assert!(!serializable!(Account));
    assert!(!serializable!(SyncAccount));
    assert!(!serializable!(PasswordState));
    #[cfg(feature = "ldap")]
    {
        assert!(!serializable!(phsync::ldap::Bind));
        assert!(!serializable!(phsync::ldap::ConnectOptions));
    }
}

// ---------------------------------------------------------------- zeroize on drop

fn assert_zod<T: ZeroizeOnDrop>() {}

#[test]
fn secret_types_zeroize_on_drop() {
    assert_zod::<NtHash>();
    assert_zod::<LmHash>();
    assert_zod::<SessionKey>();
    assert_zod::<SecretBytes>();
    assert_zod::<KerberosKey>();
    assert_zod::<KerberosCredentials>();
    assert_zod::<SupplementalCredentials>();
    // The hash and cipher states that see secrets: MD4 (the UTF-16 password in its block
    // buffer), MD5 (the session key), RC4 (the per-value keystream state). Their `zeroize`
    // features are enabled in Cargo.toml; without them these bounds do not hold.
    assert_zod::<md4::Md4>();
    assert_zod::<md5::Md5>();
    assert_zod::<rc4::Rc4>();
    // Account, SyncAccount and PasswordState are not ZeroizeOnDrop themselves: every secret
    // they hold is one of the types above (NtHash, LmHash, SupplementalCredentials), which
    // zeroize when the container drops them. CloudVerifier has a manual Drop (checked below).
}

/// Drops `value` in place and returns the `len` bytes at `field(&value)` afterwards (the
/// storage stays ours, so it can be read; only the secret field's bytes are read, never
/// padding).
fn field_after_drop<T>(value: T, len: usize, field: impl Fn(&T) -> *const u8) -> Vec<u8> {
    let mut slot = MaybeUninit::new(value);
    // SAFETY: `slot` holds an initialised T. The field pointer is taken while it is alive;
    // T is then dropped exactly once and never used as a T again. The `len` bytes read
    // afterwards lie inside the slot and belong to a byte-array field, so each was written
    // (by T's constructor, or by its destructor's zeroize) and is initialised.
    unsafe {
        let base = slot.as_ptr().cast::<u8>();
        let offset = field(&*slot.as_ptr()).offset_from(base) as usize;
        assert!(offset + len <= size_of::<T>());
        std::ptr::drop_in_place(slot.as_mut_ptr());
        std::slice::from_raw_parts(base.add(offset), len).to_vec()
    }
}

#[test]
fn inline_secrets_are_zero_after_drop() {
    let after = field_after_drop(NtHash::from_bytes(P16), 16, |h| h.as_bytes().as_ptr());
    assert_eq!(after, vec![0; 16], "NtHash not zeroized");
    let after = field_after_drop(LmHash::from_bytes(P16), 16, |h| h.as_bytes().as_ptr());
    assert_eq!(after, vec![0; 16], "LmHash not zeroized");
    let v = CloudVerifier::from_parts(
        Salt::from_bytes([0; 10]),
        Iterations::DEFAULT,
        [P16, P16].concat().try_into().unwrap(),
    );
    let after = field_after_drop(v, 32, |v| v.hash().as_ptr());
    assert_eq!(
        after,
        vec![0; 32],
        "CloudVerifier's derived key survives drop"
    );
}

// ---------------------------------------------------------------- constant-time equality

/// ring-style: every single-bit change of a secret makes the comparison fail, the unchanged
/// value compares equal (the comparisons themselves are `subtle::ConstantTimeEq`).
#[test]
fn every_bit_flip_compares_unequal() {
    let nt = NtHash::from_bytes(P16);
    let lm = LmHash::from_bytes(P16);
    assert_eq!(nt, NtHash::from_bytes(P16));
    assert_eq!(lm, LmHash::from_bytes(P16));
    let hash: [u8; 32] = [P16, P16].concat().try_into().unwrap();
    let v = CloudVerifier::from_parts(Salt::from_bytes([9; 10]), Iterations::DEFAULT, hash);
    assert_eq!(v, v.clone());
    for bit in 0..128 {
        let mut b = P16;
        b[bit / 8] ^= 1 << (bit % 8);
        assert_ne!(nt, NtHash::from_bytes(b), "NtHash bit {bit}");
        assert_ne!(lm, LmHash::from_bytes(b), "LmHash bit {bit}");
    }
    for bit in 0..256 {
        let mut h = hash;
        h[bit / 8] ^= 1 << (bit % 8);
        let w = CloudVerifier::from_parts(Salt::from_bytes([9; 10]), Iterations::DEFAULT, h);
        assert_ne!(v, w, "CloudVerifier bit {bit}");
    }
}

/// The same for the decrypted secret containers: a real supplementalCredentials blob equals
/// its clone; decrypted values of different objects differ.
#[test]
fn decrypted_containers_compare_by_content() {
    let key = SessionKey::from_hex("6a6569315767426c41584f70724f686e").unwrap();
    let mut accounts: Vec<Account> = Vec::new();
    for i in 0..16 {
        let f = fixtures().join(format!("bin/impacket-ntlm-exop/reply-{i:03}.bin"));
        let reply = Reply::decode(&std::fs::read(f).unwrap()).unwrap();
        accounts.extend(reply.objects().iter().map(|o| o.decrypt(&key).unwrap()));
    }
    let supps: Vec<&SupplementalCredentials> = accounts
        .iter()
        .filter_map(Account::supplemental_credentials)
        .collect();
    assert!(supps.len() >= 2);
    for (i, a) in supps.iter().enumerate() {
        assert_eq!(*a, &(*a).clone());
        for (j, b) in supps.iter().enumerate() {
            if i != j && a.kerberos_newer_keys().is_some() {
                assert_ne!(a, b, "{i} vs {j}");
            }
        }
        if let Some(k) = a.kerberos_newer_keys() {
            for key in k.credentials() {
                assert_eq!(key, &key.clone());
            }
        }
    }
}

#[cfg(feature = "ldap")]
#[test]
fn ldap_entries_print_password_attributes_redacted() {
    use phsync::ldap::Entry;
    let hex = hex_lower(&P16);
    let e = Entry {
        dn: "uid=alice,dc=example".into(),
        attrs: vec![
            ("uid".into(), vec![b"alice".to_vec()]),
            ("sambaNTPassword".into(), vec![hex.clone().into_bytes()]),
            (
                "SAMBALMPASSWORD".into(),
                vec![hex.to_uppercase().into_bytes()],
            ),
            (
                "userPassword;binary".into(),
                vec![b"{SSHA}Sup3r-Secret".to_vec()],
            ),
        ],
    };
    let s = format!("{e:?} {e:#?}");
    assert_no_secret("Entry", &s, &P16);
    assert!(!s.contains("Sup3r-Secret"), "{s}");
    assert!(s.contains("alice") && s.contains("sambaNTPassword"), "{s}");
}
