//! One replicated object, read once and merged with what the store remembers of it.
//!
//! An incremental `IDL_DRSGetNCChanges` reply (MS-DRSR §4.1.10) carries, for each changed
//! object, only the attributes that changed: a password change brings `unicodePwd`,
//! `pwdLastSet` and the other secrets, but no `objectClass`, `sAMAccountName` or
//! `userAccountControl`. Deciding on the delta alone would call every such user "not a user".
//! So each attribute the delta carries overrides the stored value (an attribute carried with
//! no value clears it), every attribute it does not carry keeps the stored value, and the
//! policy decides on the merged view. An object that carries no `objectClass` and has no
//! stored record cannot be decided at all: it fails as `unknown_object`, never silently.

use super::account::{FailReason, Identity, PasswordState, SourceFailure, SourceItem, SyncAccount};
use super::from_drs::source_anchor;
use crate::NtHash;
use crate::ad::Guid;
use crate::drs::{Attr, ReplicatedObject, SessionKey};
use crate::state::{ObjectKind, ObjectRecord, ObjectUpdate, PasswordPresence, PasswordStamp};

/// `Some(None)`: carried with no value (cleared); `Some(Some(v))`: carried with a value;
/// `None`: not carried.
type Carried<T> = Option<Option<T>>;

fn carried_bytes(object: &ReplicatedObject, attr: Attr) -> Carried<&[u8]> {
    let a = object.attribute(attr)?;
    let mut values = a.values();
    Some(values.next())
}

fn fixed<const N: usize>(
    object: &ReplicatedObject,
    attr: Attr,
) -> Result<Carried<[u8; N]>, String> {
    match carried_bytes(object, attr) {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(v)) => match <[u8; N]>::try_from(v) {
            Ok(b) if object.attribute(attr).is_some_and(|a| a.value_count() == 1) => {
                Ok(Some(Some(b)))
            }
            Ok(_) => Err(format!(
                "{attr}: {} values, expected one",
                object.attribute(attr).map_or(0, |a| a.value_count())
            )),
            Err(_) => Err(format!("{attr}: {} bytes, expected {N}", v.len())),
        },
    }
}

/// The deletion-mangled RDN (MS-ADTS §3.1.1.5.5.1.2: `<RDN>\0ADEL:<objectGUID>`), which
/// marks a tombstone even when the reply's attribute set leaves out isDeleted.
fn dn_is_tombstone(dn: &str) -> bool {
    dn.contains("\\0ADEL:") || dn.contains("\nDEL:")
}

/// The non-secret, fixed-size facts a delta carries.
#[derive(Clone, Copy)]
struct Flags {
    kind: Option<ObjectKind>,
    user_account_control: Carried<u32>,
    pwd_last_set: Carried<i64>,
    is_critical_system_object: Carried<bool>,
    is_deleted: Carried<bool>,
}

impl Flags {
    fn read(object: &ReplicatedObject) -> Result<Flags, String> {
        let classes = object
            .attribute(Attr::ObjectClass)
            .filter(|a| a.value_count() > 0)
            .map(|_| ObjectKind::from_object_classes(object.class_names()));
        Ok(Flags {
            kind: classes,
            user_account_control: fixed::<4>(object, Attr::UserAccountControl)?
                .map(|v| v.map(u32::from_le_bytes)),
            pwd_last_set: fixed::<8>(object, Attr::PwdLastSet)?.map(|v| v.map(i64::from_le_bytes)),
            is_critical_system_object: fixed::<4>(object, Attr::IsCriticalSystemObject)?
                .map(|v| v.map(|b| u32::from_le_bytes(b) != 0)),
            is_deleted: fixed::<4>(object, Attr::IsDeleted)?
                .map(|v| v.map(|b| u32::from_le_bytes(b) != 0)),
        })
    }
}

/// What the delta says of the password.
enum Password {
    /// unicodePwd not carried.
    NotCarried,
    /// Carried with no value: the account has no password.
    NoValue,
    /// Carried and decrypted: the NT hash, or `None` when the decrypted attribute holds none.
    Decrypted(Option<NtHash>),
    /// Carried, and decryption failed (the error's text).
    Failed(String),
}

/// Everything [`merge`] needs from one object that does not depend on the store, read and
/// decrypted once. Independent of every other object, so a reply's objects are prepared off
/// the caller's thread ([`prepare_all`], on `super::read_ahead`'s workers); only the merge with
/// the stored record runs on the caller's thread, which owns the store. The strings derived
/// from the GUID and the DN (anchor, GUID text, tombstone test) are computed here for the same
/// reason.
pub(crate) struct Prepared {
    guid: Option<Guid>,
    source_anchor: Option<String>,
    guid_string: Option<String>,
    sid: Option<String>,
    dn: Option<String>,
    /// Whether the DN is deletion-mangled.
    dn_is_tombstone: bool,
    sam_account_name: Carried<String>,
    user_principal_name: Carried<String>,
    flags: Result<Flags, String>,
    stamp: Option<PasswordStamp>,
    password: Password,
}

impl Prepared {
    /// Reads `object`, decrypting its current password with `keys`.
    pub(crate) fn read(object: &ReplicatedObject, keys: &[SessionKey]) -> Prepared {
        let string = |attr: Attr, value: fn(&ReplicatedObject) -> Option<String>| {
            carried_bytes(object, attr).map(|v| v.and_then(|_| value(object)))
        };
        let guid = object.object_guid();
        let unicode_pwd = object.attribute(Attr::UnicodePwd);
        let password = match unicode_pwd.as_ref().map(|a| a.value_count()) {
            None => Password::NotCarried,
            Some(0) => Password::NoValue,
            Some(_) => match object.decrypt_nt_hash(keys) {
                Ok(nt) => Password::Decrypted(nt),
                Err(err) => Password::Failed(err.to_string()),
            },
        };
        Prepared {
            guid,
            source_anchor: guid.map(|g| source_anchor(g.as_bytes())),
            guid_string: guid.map(|g| g.to_string()),
            sid: object.sid().map(|s| s.to_string()),
            dn: object.dn().map(str::to_owned),
            dn_is_tombstone: object.dn().is_some_and(dn_is_tombstone),
            sam_account_name: string(Attr::SamAccountName, ReplicatedObject::sam_account_name),
            user_principal_name: string(
                Attr::UserPrincipalName,
                ReplicatedObject::user_principal_name,
            ),
            flags: Flags::read(object),
            stamp: unicode_pwd
                .as_ref()
                .and_then(|a| a.metadata())
                .map(|meta| PasswordStamp {
                    version: meta.version(),
                    changed_unix: meta.originating_time().to_unix_seconds(),
                }),
            password,
        }
    }

    /// The objectGUID.
    pub(crate) fn guid(&self) -> Option<Guid> {
        self.guid
    }

    /// The identity, each name from this object or else from `record`.
    fn identity(&self, record: Option<&ObjectRecord>) -> Identity {
        let or_stored = |now: Option<&String>, stored: fn(&ObjectRecord) -> &Option<String>| {
            now.cloned()
                .or_else(|| record.and_then(|r| stored(r).clone()))
        };
        Identity {
            source_anchor: self.source_anchor.clone(),
            object_guid: self.guid_string.clone(),
            sid: or_stored(self.sid.as_ref(), |r| &r.sid),
            sam_account_name: or_stored(
                self.sam_account_name.as_ref().and_then(Option::as_ref),
                |r| &r.sam_account_name,
            ),
            user_principal_name: or_stored(
                self.user_principal_name.as_ref().and_then(Option::as_ref),
                |r| &r.user_principal_name,
            ),
            distinguished_name: or_stored(self.dn.as_ref(), |r| &r.distinguished_name),
        }
    }
}

/// Prepares every object of a reply, in order, consuming the objects.
pub(crate) fn prepare_all(objects: Vec<ReplicatedObject>, keys: &[SessionKey]) -> Vec<Prepared> {
    objects
        .into_iter()
        .map(|object| Prepared::read(&object, keys))
        .collect()
}

fn apply<T>(slot: &mut Option<T>, carried: Carried<T>) {
    if let Some(v) = carried {
        *slot = v;
    }
}

fn rid_of(sid: &str) -> Option<u32> {
    let (_, last) = sid.rsplit_once('-')?;
    last.parse().ok()
}

fn failed(identity: Identity, reason: FailReason, detail: String) -> SourceItem {
    Err(Box::new(SourceFailure {
        identity,
        reason,
        detail,
    }))
}

/// Merges a prepared object with `stored`, taking the object's values (it is left empty):
/// taken in place, the prepared object is not moved out of its reply's vector. The source item
/// for the runner is returned; the object's new record (before the outcome is known) is pushed
/// onto `records` when it can be stored (the object has a GUID and did not fail here). The
/// record is merged where it will wait, in `records`: it is not built aside and moved there.
pub(crate) fn merge(
    object: &mut Prepared,
    stored: Option<ObjectRecord>,
    records: &mut Vec<ObjectUpdate>,
) -> SourceItem {
    let flags = match &object.flags {
        Ok(flags) => *flags,
        Err(detail) => {
            return failed(
                object.identity(stored.as_ref()),
                FailReason::InvalidAttribute,
                detail.clone(),
            );
        }
    };
    let tombstone = flags.is_deleted.flatten().unwrap_or(false) || object.dn_is_tombstone;
    let kind = match (flags.kind, &stored) {
        (Some(k), _) => k,
        (None, Some(r)) => r.kind,
        (None, None) if tombstone => ObjectKind::Other,
        (None, None) => {
            return failed(
                object.identity(None),
                FailReason::UnknownObject,
                "this reply carries only some of the object's attributes (an incremental \
                 reply) and nothing is stored about it: run a full sync with this state"
                    .into(),
            );
        }
    };
    let guid = object.guid;
    let source_anchor = object.source_anchor.take();
    let guid_string = object.guid_string.take();
    let sid = object.sid.take();
    let dn = object.dn.take();
    let sam_account_name = object.sam_account_name.take();
    let user_principal_name = object.user_principal_name.take();
    let stamp = object.stamp;
    let password = std::mem::replace(&mut object.password, Password::NotCarried);
    let record = stored.unwrap_or_else(|| ObjectRecord::new(kind));
    let mut unstored;
    let record = match guid {
        Some(guid) => {
            records.push(ObjectUpdate { guid, record });
            &mut records.last_mut().expect("just pushed").record
        }
        None => {
            unstored = record;
            &mut unstored
        }
    };
    record.kind = kind;
    apply(&mut record.sam_account_name, sam_account_name);
    apply(&mut record.user_principal_name, user_principal_name);
    apply(&mut record.user_account_control, flags.user_account_control);
    apply(&mut record.pwd_last_set, flags.pwd_last_set);
    if let Some(v) = flags.is_critical_system_object {
        record.is_critical_system_object = v.unwrap_or(false);
    }
    record.is_deleted = match flags.is_deleted {
        Some(v) => v.unwrap_or(false) || tombstone,
        None => record.is_deleted || tombstone,
    };
    if dn.is_some() {
        record.distinguished_name = dn;
    }
    if sid.is_some() {
        record.sid = sid;
    }
    // A carried password brings its own stamp, or none (a reply without metadata): the
    // stored one described the previous password, and kept it would make a new hash look
    // `unchanged`.
    if stamp.is_some() || matches!(password, Password::Decrypted(_) | Password::NoValue) {
        record.password_stamp = stamp;
    }
    // Every name the object carried is in the record now; the others are the stored ones.
    let identity = Identity {
        source_anchor,
        object_guid: guid_string,
        sid: record.sid.clone(),
        sam_account_name: record.sam_account_name.clone(),
        user_principal_name: record.user_principal_name.clone(),
        distinguished_name: record.distinguished_name.clone(),
    };
    let password = match password {
        Password::NotCarried => match record.password {
            PasswordPresence::Present => PasswordState::NotReplicated,
            PasswordPresence::None => PasswordState::NoValue,
            PasswordPresence::Unknown => PasswordState::Absent,
        },
        Password::NoValue => {
            record.password = PasswordPresence::None;
            PasswordState::NoValue
        }
        Password::Decrypted(Some(nt)) => {
            record.password = PasswordPresence::Present;
            PasswordState::Present(nt)
        }
        Password::Decrypted(None) => PasswordState::NoValue,
        Password::Failed(detail) => {
            if guid.is_some() {
                records.pop();
            }
            return failed(identity, FailReason::DecryptFailed, detail);
        }
    };
    let account = SyncAccount {
        identity,
        kind: record.kind,
        rid: record.sid.as_deref().and_then(rid_of),
        user_account_control: record.user_account_control,
        pwd_last_set: record.pwd_last_set,
        is_deleted: record.is_deleted,
        is_critical_system_object: record.is_critical_system_object,
        password,
        password_stamp: record.password_stamp,
        last_synced: record.synced,
        last_verifier: None,
    };
    Ok(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tombstone_names() {
        assert!(dn_is_tombstone(
            "CN=nonbmp.czio\\0ADEL:660af2c3-bd93-49d7-8792-7b264ecebe05,CN=Deleted Objects,DC=x"
        ));
        assert!(dn_is_tombstone("CN=a\nDEL:660af2c3,CN=Deleted Objects"));
        assert!(!dn_is_tombstone("CN=Adele,CN=Users,DC=x"));
    }

    /// A password change whose reply has no metadata vector (`pMetaDataExt` NULL, which the
    /// decoder accepts) must not keep the stamp stored for the previous password.
    #[test]
    fn a_password_without_metadata_drops_the_stored_stamp() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/samba-b/");
        let truth: serde_json::Value =
            serde_json::from_slice(&std::fs::read(format!("{dir}truth.json")).unwrap()).unwrap();
        let key = SessionKey::from_hex(truth["session_key_hex"].as_str().unwrap()).unwrap();
        let keys = std::slice::from_ref(&key);
        // delta-1: password changes, with their metadata.
        let bytes = std::fs::read(format!("{dir}bin/reply-006.bin")).unwrap();
        let reply = crate::drs::Reply::decode(&bytes).unwrap();
        let object = reply
            .objects()
            .iter()
            .find(|o| o.decrypt_nt_hash(keys).is_ok_and(|h| h.is_some()))
            .expect("a password change");
        let old = PasswordStamp {
            version: 1,
            changed_unix: 1_000_000_000,
        };
        for drop_metadata in [false, true] {
            let mut prepared = Prepared::read(object, keys);
            assert!(prepared.stamp.is_some());
            if drop_metadata {
                prepared.stamp = None;
            }
            let want = prepared.stamp;
            let mut stored = ObjectRecord::new(ObjectKind::User);
            stored.password_stamp = Some(old);
            let mut records = Vec::new();
            let account = merge(&mut prepared, Some(stored), &mut records).unwrap();
            assert_eq!(account.password_stamp, want);
            assert_eq!(records[0].record.password_stamp, want);
            assert_ne!(want, Some(old));
        }
    }

    #[test]
    fn rids() {
        assert_eq!(rid_of("S-1-5-21-1-2-3-1104"), Some(1104));
        assert_eq!(rid_of("S-1-5-32-544"), Some(544));
        assert_eq!(rid_of("garbage"), None);
    }
}
