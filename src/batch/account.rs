//! The account input type of the batch runner: what any source (DRS replies, raw NT hashes,
//! LDAP) hands the sync policy (`API.md`, `DESIGN.md` "batch").

use serde::{Deserialize, Serialize};

use crate::NtHash;

/// Who an account is: the fields a sync engine needs to address it in the cloud.
///
/// Not secret; serialized into outcomes and records.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The Entra ID source anchor (for Active Directory: base64 of the objectGUID's 16 wire
    /// bytes, the `immutableId` convention).
    pub source_anchor: Option<String>,
    /// objectGUID as a canonical lowercase GUID string.
    pub object_guid: Option<String>,
    /// objectSid as `S-1-5-21-…`.
    pub sid: Option<String>,
    /// sAMAccountName.
    pub sam_account_name: Option<String>,
    /// userPrincipalName.
    pub user_principal_name: Option<String>,
    /// The distinguished name, when the source knows it.
    pub distinguished_name: Option<String>,
}

impl Identity {
    /// An objectGUID's 16 wire bytes as [`Identity::object_guid`] holds them: the canonical
    /// lowercase string (`drs::Guid`'s `Display`), for sources other than DRS replies.
    pub fn guid_string(wire_bytes: &[u8; 16]) -> String {
        crate::drs::Guid::from_bytes_le(*wire_bytes).to_string()
    }
}

/// What kind of directory object an account is, from its object classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ObjectKind {
    /// A user (objectClass `user` without `computer`, or a Samba-schema account).
    User,
    /// `inetOrgPerson`: Entra Connect does not support it for PHS (`ecosystem.md` §2.1).
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
}

/// The account's current password as the source delivered it.
///
/// The three cases are kept apart on purpose: an attribute that is absent (not replicated,
/// or no password was ever set and the DC sent nothing), an attribute present with zero
/// values (AD's "no password", `drs.md` §2.5), and the empty password (a real password whose
/// NT hash is `31d6cfe0…`, synced like any other).
#[derive(Clone, Debug)]
pub enum PasswordState {
    /// The source did not deliver the password attribute at all.
    Absent,
    /// The attribute is present with no value: the account has no password.
    NoValue,
    /// The current NT hash.
    Present(NtHash),
}

impl PasswordState {
    /// The NT hash, if there is one.
    pub fn nt_hash(&self) -> Option<&NtHash> {
        match self {
            PasswordState::Present(nt) => Some(nt),
            _ => None,
        }
    }
}

/// When and how often the password was last written, from the source's replication metadata
/// (`unicodePwd`'s `PROPERTY_META_DATA_EXT` for DRS, `drs.md` §3.4) or an equivalent.
///
/// Change detection compares stamps: equal stamp, same password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PasswordStamp {
    /// The attribute's version: incremented on every password write.
    pub version: u32,
    /// The originating write time, Unix seconds.
    pub changed_unix: i64,
}

/// One account as a source delivers it to the batch runner.
///
/// Holds the NT hash; `Debug` is safe (the hash prints redacted) and there is no `Serialize`.
#[derive(Clone, Debug)]
pub struct SyncAccount {
    /// Who it is.
    pub identity: Identity,
    /// What kind of object it is.
    pub kind: ObjectKind,
    /// The relative identifier (last SID component), when known.
    pub rid: Option<u32>,
    /// userAccountControl flags (MS-ADTS §2.2.16).
    pub user_account_control: Option<u32>,
    /// pwdLastSet as FILETIME; `Some(0)` = must change at next logon.
    pub pwd_last_set: Option<i64>,
    /// isDeleted: a tombstone or recycled object.
    pub is_deleted: bool,
    /// isCriticalSystemObject (Administrator, krbtgt, DCs…), when the source delivered it.
    pub is_critical_system_object: bool,
    /// The current password.
    pub password: PasswordState,
    /// When the password last changed, when the source knows.
    pub password_stamp: Option<PasswordStamp>,
}

impl SyncAccount {
    /// A user account from a raw NT hash and a name, with everything else unknown: the
    /// smallest input a caller with only `(name, NT hash)` pairs can build.
    pub fn from_nt_hash(sam_account_name: impl Into<String>, nt: NtHash) -> SyncAccount {
        SyncAccount {
            identity: Identity {
                sam_account_name: Some(sam_account_name.into()),
                ..Identity::default()
            },
            kind: ObjectKind::User,
            rid: None,
            user_account_control: None,
            pwd_last_set: None,
            is_deleted: false,
            is_critical_system_object: false,
            password: PasswordState::Present(nt),
            password_stamp: None,
        }
    }
}

/// Why a source could not produce an account (the object is still reported, as failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailReason {
    /// A secret attribute did not decrypt (wrong session key, CRC mismatch, bad layout).
    DecryptFailed,
    /// The object's encoding was malformed.
    DecodeFailed,
    /// A source value was malformed (e.g. a `sambaNTPassword` that is not 32 hex digits).
    InvalidInput,
    /// The run was cancelled before this account was hashed.
    Cancelled,
    /// The operating system's random number generator failed to produce a salt.
    RandomFailed,
}

impl FailReason {
    /// The stable snake_case word used in outcomes.
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::DecryptFailed => "decrypt_failed",
            FailReason::DecodeFailed => "decode_failed",
            FailReason::InvalidInput => "invalid_input",
            FailReason::Cancelled => "cancelled",
            FailReason::RandomFailed => "random_failed",
        }
    }
}

/// An object the source could not turn into a [`SyncAccount`], with whatever identity it
/// could still read, so the failure can be reported against a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFailure {
    /// What is known of the object.
    pub identity: Identity,
    /// The stable reason.
    pub reason: FailReason,
    /// A human-readable description (never containing secret bytes).
    pub detail: String,
}

/// One item of a source: an account, or an object that failed to become one (boxed: failures
/// are rare and `SourceFailure` is large).
pub type SourceItem = Result<SyncAccount, Box<SourceFailure>>;
