//! [`Account`]: the typed, decrypted view of one replicated object (attributes per MS-ADA1/MS-ADA3,
//! secrets per MS-DRSR §4.1.10.2.20 and MS-SAMR §2.2.10).

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::guid::Guid;
use super::reply::AttributeMetadata;
#[cfg(doc)]
use super::reply::ReplicatedObject;
use super::sid::Sid;
use super::supplemental::SupplementalCredentials;
use crate::NtHash;

/// A 16-byte LM hash (dBCSPwd / lmPwdHistory entry). Zeroized on drop, `Debug` redacted.
/// Compared in constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct LmHash([u8; 16]);

impl PartialEq for LmHash {
    /// Constant time.
    fn eq(&self, other: &Self) -> bool {
        subtle::ConstantTimeEq::ct_eq(&self.0[..], &other.0[..]).into()
    }
}

impl Eq for LmHash {}

impl LmHash {
    /// Wraps 16 bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> LmHash {
        LmHash(bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for LmHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LmHash(<redacted>)")
    }
}

/// Whether a hash attribute was absent, present with no value, or present with a hash
/// (an `ATTR` with `valCount` 0, MS-DRSR `ATTRVALBLOCK`). The empty password's hash is
/// [`HashState::Present`], not "no password".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashState<'a, T> {
    /// The attribute was not in the reply (e.g. not in the partial attribute set).
    Absent,
    /// The attribute was present with zero values (e.g. a password was never set).
    NoValue,
    /// The decrypted hash.
    Present(&'a T),
}

#[derive(Clone)]
pub(super) enum Slot<T> {
    Absent,
    NoValue,
    Present(T),
}

impl<T> Slot<T> {
    fn state(&self) -> HashState<'_, T> {
        match self {
            Slot::Absent => HashState::Absent,
            Slot::NoValue => HashState::NoValue,
            Slot::Present(t) => HashState::Present(t),
        }
    }

    fn get(&self) -> Option<&T> {
        match self {
            Slot::Present(t) => Some(t),
            _ => None,
        }
    }
}

/// A replicated object with its secrets decrypted and its attributes typed.
///
/// Secret fields ([`NtHash`], [`LmHash`], [`SupplementalCredentials`]) zeroize on drop; `Debug`
/// prints them as `<redacted>`; there is no `Serialize`.
#[derive(Clone)]
pub struct Account {
    pub(super) guid: Option<Guid>,
    pub(super) sid: Option<Sid>,
    pub(super) dn: Option<String>,
    pub(super) sam_account_name: Option<String>,
    pub(super) user_principal_name: Option<String>,
    pub(super) user_account_control: Option<u32>,
    pub(super) pwd_last_set: Option<i64>,
    pub(super) account_expires: Option<i64>,
    pub(super) is_deleted: bool,
    pub(super) object_classes: Vec<String>,
    pub(super) nt_hash: Slot<NtHash>,
    pub(super) nt_history: Vec<NtHash>,
    pub(super) lm_hash: Slot<LmHash>,
    pub(super) lm_history: Vec<LmHash>,
    pub(super) supplemental: Option<SupplementalCredentials>,
    pub(super) supplemental_skipped: bool,
    pub(super) unicode_pwd_metadata: Option<AttributeMetadata>,
}

/// Which secrets [`ReplicatedObject::decrypt_selected`] decrypts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Secrets {
    /// Everything: hashes, histories and supplementalCredentials (what
    /// [`ReplicatedObject::decrypt`] does).
    #[default]
    All,
    /// unicodePwd, ntPwdHistory, dBCSPwd and lmPwdHistory only.
    Hashes,
    /// The current hashes only (unicodePwd, dBCSPwd): what password hash sync needs. The
    /// histories then read as empty, and supplementalCredentials as skipped; this avoids the
    /// RID-DES work on up to 2 × 24 history entries per account.
    Current,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("guid", &self.guid)
            .field("sid", &self.sid)
            .field("dn", &self.dn)
            .field("sam_account_name", &self.sam_account_name)
            .field("user_account_control", &self.user_account_control)
            .field("nt_hash", &self.nt_hash.state())
            .field(
                "nt_history",
                &format_args!("<redacted> ({} entries)", self.nt_history.len()),
            )
            .field("lm_hash", &self.lm_hash.state())
            .field("supplemental_credentials", &self.supplemental)
            .finish_non_exhaustive()
    }
}

impl Account {
    /// objectGUID (the DSNAME's, else the attribute's). Display = canonical lowercase string.
    pub fn object_guid(&self) -> Option<Guid> {
        self.guid
    }

    /// objectSid (the DSNAME's, else the attribute's).
    pub fn sid(&self) -> Option<&Sid> {
        self.sid.as_ref()
    }

    /// The RID: the SID's last sub-authority.
    pub fn rid(&self) -> Option<u32> {
        self.sid.as_ref().and_then(Sid::rid)
    }

    /// The DN from the object's DSNAME.
    pub fn dn(&self) -> Option<&str> {
        self.dn.as_deref()
    }

    /// sAMAccountName.
    pub fn sam_account_name(&self) -> Option<&str> {
        self.sam_account_name.as_deref()
    }

    /// userPrincipalName.
    pub fn user_principal_name(&self) -> Option<&str> {
        self.user_principal_name.as_deref()
    }

    /// userAccountControl (0x2 = disabled, 0x80 = reversible encryption, …).
    pub fn user_account_control(&self) -> Option<u32> {
        self.user_account_control
    }

    /// pwdLastSet as FILETIME (100 ns since 1601); `Some(0)` = must change at next logon.
    pub fn pwd_last_set(&self) -> Option<i64> {
        self.pwd_last_set
    }

    /// accountExpires as FILETIME; 0 or `i64::MAX` = never (MS-ADA1 §2.1).
    pub fn account_expires(&self) -> Option<i64> {
        self.account_expires
    }

    /// isDeleted (false when absent).
    pub fn is_deleted(&self) -> bool {
        self.is_deleted
    }

    /// objectClass values as lDAPDisplayNames (`"top"`, `"person"`, `"user"`, …) or dotted
    /// OIDs for classes not in the built-in table.
    pub fn object_classes(&self) -> &[String] {
        &self.object_classes
    }

    /// The NT hash (unicodePwd after both layers); `None` when absent or value-less.
    pub fn nt_hash(&self) -> Option<&NtHash> {
        self.nt_hash.get()
    }

    /// unicodePwd: absent, present without value, or the hash.
    pub fn nt_hash_state(&self) -> HashState<'_, NtHash> {
        self.nt_hash.state()
    }

    /// ntPwdHistory, newest first (entry 0 is the current hash), as stored.
    pub fn nt_history(&self) -> &[NtHash] {
        &self.nt_history
    }

    /// The LM hash (dBCSPwd).
    pub fn lm_hash(&self) -> Option<&LmHash> {
        self.lm_hash.get()
    }

    /// dBCSPwd: absent, present without value, or the hash.
    pub fn lm_hash_state(&self) -> HashState<'_, LmHash> {
        self.lm_hash.state()
    }

    /// lmPwdHistory, newest first.
    pub fn lm_history(&self) -> &[LmHash] {
        &self.lm_history
    }

    /// The decoded supplementalCredentials (`None` if absent or value-less).
    pub fn supplemental_credentials(&self) -> Option<&SupplementalCredentials> {
        self.supplemental.as_ref()
    }

    /// Whether supplementalCredentials had a value that was not decrypted
    /// ([`Secrets::Hashes`]).
    pub fn supplemental_skipped(&self) -> bool {
        self.supplemental_skipped
    }

    /// unicodePwd's replication stamp: its version increases with every password change.
    pub fn unicode_pwd_metadata(&self) -> Option<&AttributeMetadata> {
        self.unicode_pwd_metadata.as_ref()
    }
}
