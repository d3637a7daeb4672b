//! What a state store keeps of one directory object between runs: the facts the sync policy
//! needs when a later incremental reply carries only the attributes that changed.
//!
//! Nothing here is secret: no hash, no key. The password is remembered by its replication
//! stamp (unicodePwd's version and originating time, MS-DRSR §5.155 `PROPERTY_META_DATA_EXT`),
//! never by its value.

use serde::{Deserialize, Serialize};

/// What kind of directory object an account is, from its object classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ObjectKind {
    /// A user (objectClass `user` without `computer`, or a Samba-schema account).
    User,
    /// `inetOrgPerson`: Entra Connect does not support it for password hash sync.
    InetOrgPerson,
    /// A computer (objectClass `computer`), including domain controllers.
    Computer,
    /// Anything else: groups, containers, OUs, the naming context head, trusts…
    Other,
}

impl ObjectKind {
    /// Classifies by lDAPDisplayNames of objectClass (any case).
    pub fn from_object_classes<S: AsRef<str>>(classes: &[S]) -> ObjectKind {
        let has = |name: &str| {
            classes
                .iter()
                .any(|c| c.as_ref().eq_ignore_ascii_case(name))
        };
        if has("computer") {
            ObjectKind::Computer
        } else if has("inetOrgPerson") {
            ObjectKind::InetOrgPerson
        } else if has("user") {
            ObjectKind::User
        } else {
            ObjectKind::Other
        }
    }

    /// The stable snake_case word (`user`, `inet_org_person`, `computer`, `other`), as stores
    /// write it.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::User => "user",
            ObjectKind::InetOrgPerson => "inet_org_person",
            ObjectKind::Computer => "computer",
            ObjectKind::Other => "other",
        }
    }

    /// The inverse of [`ObjectKind::as_str`].
    pub fn from_word(word: &str) -> Option<ObjectKind> {
        Some(match word {
            "user" => ObjectKind::User,
            "inet_org_person" => ObjectKind::InetOrgPerson,
            "computer" => ObjectKind::Computer,
            "other" => ObjectKind::Other,
            _ => return None,
        })
    }
}

/// When and how often the password was last written, from the source's replication metadata
/// (`unicodePwd`'s `PROPERTY_META_DATA_EXT`, MS-DRSR §5.155) or an equivalent.
///
/// Change detection compares stamps: equal stamp, same password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PasswordStamp {
    /// The attribute's version: incremented on every password write.
    pub version: u32,
    /// The originating write time, Unix seconds.
    pub changed_unix: i64,
}

/// Whether the object has a password, as far as the replicated data has said.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PasswordPresence {
    /// No reply has carried unicodePwd for this object.
    Unknown,
    /// unicodePwd was carried without a value: the account has no password.
    None,
    /// unicodePwd was carried with a value.
    Present,
}

impl PasswordPresence {
    /// `unknown`, `none` or `present`, as stores write it.
    pub fn as_str(self) -> &'static str {
        match self {
            PasswordPresence::Unknown => "unknown",
            PasswordPresence::None => "none",
            PasswordPresence::Present => "present",
        }
    }

    /// The inverse of [`PasswordPresence::as_str`].
    pub fn from_word(word: &str) -> Option<PasswordPresence> {
        Some(match word {
            "unknown" => PasswordPresence::Unknown,
            "none" => PasswordPresence::None,
            "present" => PasswordPresence::Present,
            _ => return None,
        })
    }
}

/// The password a sync last delivered a verifier for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SyncedPassword {
    /// unicodePwd's stamp when it was synced.
    pub stamp: PasswordStamp,
    /// pwdLastSet when it was synced.
    pub pwd_last_set: Option<i64>,
}

/// The per-object facts a store keeps, keyed by objectGUID: everything the sync policy reads,
/// so that a delta carrying only `unicodePwd` (or only `userAccountControl`) can be decided on
/// the merged view.
///
/// The source anchor is not stored: it is a function of the key (base64 of the objectGUID's
/// wire bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRecord {
    /// From objectClass.
    pub kind: ObjectKind,
    /// sAMAccountName.
    pub sam_account_name: Option<String>,
    /// userPrincipalName.
    pub user_principal_name: Option<String>,
    /// The object's DN as last replicated.
    pub distinguished_name: Option<String>,
    /// objectSid as `S-1-5-21-…`.
    pub sid: Option<String>,
    /// userAccountControl (MS-ADTS §2.2.16).
    pub user_account_control: Option<u32>,
    /// pwdLastSet (FILETIME); `Some(0)` = must change at next logon.
    pub pwd_last_set: Option<i64>,
    /// isCriticalSystemObject.
    pub is_critical_system_object: bool,
    /// isDeleted (a tombstone), or a deletion-mangled name (MS-ADTS §3.1.1.5.5.1.2).
    pub is_deleted: bool,
    /// Whether the object has a password.
    pub password: PasswordPresence,
    /// unicodePwd's stamp as last replicated.
    pub password_stamp: Option<PasswordStamp>,
    /// What the last sync delivered, if any.
    pub synced: Option<SyncedPassword>,
}

impl ObjectRecord {
    /// A record of an object of `kind` about which nothing else is known yet.
    pub fn new(kind: ObjectKind) -> ObjectRecord {
        ObjectRecord {
            kind,
            sam_account_name: None,
            user_principal_name: None,
            distinguished_name: None,
            sid: None,
            user_account_control: None,
            pwd_last_set: None,
            is_critical_system_object: false,
            is_deleted: false,
            password: PasswordPresence::Unknown,
            password_stamp: None,
            synced: None,
        }
    }
}
