//! The account input type of the batch runner: what any source (DRS replies, raw NT hashes,
//! LDAP) hands the sync policy.

use serde::{Deserialize, Serialize};

pub use crate::state::{ObjectKind, PasswordStamp, SyncedPassword};
use crate::{CloudVerifier, NtHash};

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
        crate::ad::Guid::from_bytes_le(*wire_bytes).to_string()
    }
}

/// The account's current password as the source delivered it.
///
/// The three cases are kept apart on purpose: an attribute that is absent (not replicated,
/// or no password was ever set and the DC sent nothing), an attribute present with zero
/// values (AD's "no password", MS-ADTS §3.1.1.8.1 / MS-DRSR §4.1.10.5.11), and the empty password (a real password whose
/// NT hash is `31d6cfe0…`, synced like any other).
#[derive(Clone, Debug)]
pub enum PasswordState {
    /// The source did not deliver the password attribute at all.
    Absent,
    /// The attribute is present with no value: the account has no password.
    NoValue,
    /// The current NT hash.
    Present(NtHash),
    /// The account has a password (an earlier reply said so, and the store remembers it),
    /// but this source item does not carry it: an incremental reply that did not change it.
    NotReplicated,
    /// The item is an entry of the account's password history, not its current password
    /// (e.g. secretsdump's `user_history0` lines): never synced.
    History,
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
    /// The password a previous run synced, as a state store remembers it; the policy skips
    /// the account as `unchanged` when it equals [`SyncAccount::password_stamp`] (and
    /// pwdLastSet).
    pub last_synced: Option<SyncedPassword>,
    /// The verifier a previous run delivered, as a `crate::state::VerifierStore` remembers it
    /// (sources without a password stamp: NT-hash files). The runner derives the current NT
    /// hash with its salt, in the same multi-lane batch as the other accounts: equal key, the
    /// account is skipped as `unchanged`; otherwise it is synced with a fresh salt. A verifier
    /// with another iteration count than the policy's is not checked (the account is synced
    /// again with the policy's count).
    pub last_verifier: Option<CloudVerifier>,
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
            last_synced: None,
            last_verifier: None,
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
    /// An incremental reply carries part of an object that no stored state knows: it cannot
    /// be decided (a full sync is needed).
    UnknownObject,
    /// The account is in scope and has a password that was never synced, but the reply does
    /// not carry it (e.g. an account enabled without a password change): its secrets must be
    /// replicated (`EXOP_REPL_SECRET`) or a full sync run.
    PasswordNotReplicated,
    /// A non-secret attribute has the wrong size or too many values (e.g. a 3-byte
    /// userAccountControl): a malformed reply, not a wrong session key.
    InvalidAttribute,
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
            FailReason::UnknownObject => "unknown_object",
            FailReason::PasswordNotReplicated => "password_not_replicated",
            FailReason::InvalidAttribute => "invalid_attribute",
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
