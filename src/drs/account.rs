//! [`Account`]: the typed, decrypted view of one replicated object (`drs.md` §1.4, §2, §4).

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::attr::Attr;
use super::crypto::{RidLayer, SessionKey, decrypt_value_with};
use super::error::DecryptError;
use super::guid::Guid;
use super::reply::{AttributeMetadata, ReplicatedObject, utf16_lossy};
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
/// (`drs.md` §2.5). The empty password's hash is [`HashState::Present`], not "no password".
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
enum Slot<T> {
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
    guid: Option<Guid>,
    sid: Option<Sid>,
    dn: Option<String>,
    sam_account_name: Option<String>,
    user_principal_name: Option<String>,
    user_account_control: Option<u32>,
    pwd_last_set: Option<i64>,
    account_expires: Option<i64>,
    is_deleted: bool,
    object_classes: Vec<String>,
    nt_hash: Slot<NtHash>,
    nt_history: Vec<NtHash>,
    lm_hash: Slot<LmHash>,
    lm_history: Vec<LmHash>,
    supplemental: Option<SupplementalCredentials>,
    supplemental_skipped: bool,
    unicode_pwd_metadata: Option<AttributeMetadata>,
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

impl ReplicatedObject {
    /// Decrypts the secret attributes (CRC32 checked, RID layer removed) into an [`Account`]
    /// (`drs.md` §2).
    ///
    /// # Errors
    /// See [`ReplicatedObject::decrypt_with_any`].
    pub fn decrypt(&self, key: &SessionKey) -> Result<Account, DecryptError> {
        self.decrypt_with_any(std::slice::from_ref(key))
    }

    /// Like [`ReplicatedObject::decrypt`] with several candidate session keys (key rollover,
    /// `drs.md` §2.2): each value is decrypted with the first key whose CRC32 matches; pass the
    /// newest first.
    ///
    /// # Errors
    /// [`DecryptError`]: no key's CRC matched (naming the attribute), a payload under 20 bytes,
    /// a hash length not a multiple of 16, a missing or zero RID, more than one value in a
    /// secret attribute, a non-secret attribute of the wrong size, or malformed
    /// supplementalCredentials.
    pub fn decrypt_with_any(&self, keys: &[SessionKey]) -> Result<Account, DecryptError> {
        self.decrypt_selected(keys, Secrets::All)
    }

    /// Like [`ReplicatedObject::decrypt_with_any`], choosing which secrets to decrypt.
    /// [`Secrets::Hashes`] skips supplementalCredentials (the largest secret, ~2.6 KB of RC4
    /// and hex per account) — all password hash sync needs; the account then reports
    /// [`Account::supplemental_credentials`] as `None` and [`Account::supplemental_skipped`] as
    /// true.
    ///
    /// # Errors
    /// As [`ReplicatedObject::decrypt_with_any`].
    pub fn decrypt_selected(
        &self,
        keys: &[SessionKey],
        which: Secrets,
    ) -> Result<Account, DecryptError> {
        let rid = self.rid().map(RidLayer::new);
        let secret = |attr: Attr| -> Result<Slot<super::crypto::SecretBytes>, DecryptError> {
            let Some(a) = self.attribute(attr) else {
                return Ok(Slot::Absent);
            };
            let mut vals = a.values();
            match vals.len() {
                0 => Ok(Slot::NoValue),
                1 => {
                    let v = vals.next().expect("one value");
                    decrypt_value_with(attr, rid.as_ref(), keys, v).map(Slot::Present)
                }
                n => Err(DecryptError::TooManyValues {
                    attribute: attr,
                    count: n,
                }),
            }
        };
        let hash = |attr: Attr| -> Result<Slot<[u8; 16]>, DecryptError> {
            Ok(match secret(attr)? {
                Slot::Absent => Slot::Absent,
                Slot::NoValue => Slot::NoValue,
                Slot::Present(p) => {
                    let b: [u8; 16] =
                        p.as_bytes()
                            .try_into()
                            .map_err(|_| DecryptError::BadHashLength {
                                attribute: attr,
                                len: p.len(),
                            })?;
                    Slot::Present(b)
                }
            })
        };
        // Each 16-byte entry goes straight from the zeroizing plaintext into its zeroizing
        // hash type; no intermediate buffer keeps a copy.
        let history = |attr: Attr| -> Result<Option<super::crypto::SecretBytes>, DecryptError> {
            Ok(match secret(attr)? {
                Slot::Present(p) => Some(p),
                _ => None,
            })
        };

        let nt_hash = match hash(Attr::UnicodePwd)? {
            Slot::Absent => Slot::Absent,
            Slot::NoValue => Slot::NoValue,
            Slot::Present(mut b) => {
                let h = NtHash::from_bytes(b);
                b.zeroize();
                Slot::Present(h)
            }
        };
        let with_history = which != Secrets::Current;
        let nt_history = with_history
            .then(|| history(Attr::NtPwdHistory))
            .transpose()?
            .flatten()
            .map(|p| {
                p.as_bytes()
                    .chunks_exact(16)
                    .map(|c| NtHash::from_bytes(c.try_into().expect("16 bytes")))
                    .collect()
            })
            .unwrap_or_default();
        let lm_hash = match hash(Attr::DbcsPwd)? {
            Slot::Absent => Slot::Absent,
            Slot::NoValue => Slot::NoValue,
            Slot::Present(mut b) => {
                let h = LmHash(b);
                b.zeroize();
                Slot::Present(h)
            }
        };
        let lm_history = with_history
            .then(|| history(Attr::LmPwdHistory))
            .transpose()?
            .flatten()
            .map(|p| {
                p.as_bytes()
                    .chunks_exact(16)
                    .map(|c| LmHash(c.try_into().expect("16 bytes")))
                    .collect()
            })
            .unwrap_or_default();
        let supplemental_skipped = which != Secrets::All
            && self
                .attribute(Attr::SupplementalCredentials)
                .is_some_and(|a| a.value_count() > 0);
        let supplemental = if which != Secrets::All {
            None
        } else {
            match secret(Attr::SupplementalCredentials)? {
                Slot::Present(p) => Some(SupplementalCredentials::parse(p.as_bytes())?),
                _ => None,
            }
        };

        Ok(Account {
            guid: self.object_guid(),
            sid: self.sid(),
            dn: self.dn().map(str::to_owned),
            sam_account_name: self.single(Attr::SamAccountName).map(utf16_lossy),
            user_principal_name: self.single(Attr::UserPrincipalName).map(utf16_lossy),
            user_account_control: self
                .fixed::<4>(Attr::UserAccountControl)?
                .map(u32::from_le_bytes),
            pwd_last_set: self.fixed::<8>(Attr::PwdLastSet)?.map(i64::from_le_bytes),
            account_expires: self
                .fixed::<8>(Attr::AccountExpires)?
                .map(i64::from_le_bytes),
            is_deleted: self
                .fixed::<4>(Attr::IsDeleted)?
                .is_some_and(|b| u32::from_le_bytes(b) != 0),
            object_classes: self.object_classes(),
            nt_hash,
            nt_history,
            lm_hash,
            lm_history,
            supplemental,
            supplemental_skipped,
            unicode_pwd_metadata: self
                .attribute(Attr::UnicodePwd)
                .and_then(|a| a.metadata().copied()),
        })
    }

    /// The single value of a fixed-size attribute; `Ok(None)` if absent or value-less.
    fn fixed<const N: usize>(&self, attr: Attr) -> Result<Option<[u8; N]>, DecryptError> {
        let Some(v) = self.single(attr) else {
            return Ok(None);
        };
        v.try_into().map(Some).map_err(|_| DecryptError::BadValue {
            attribute: attr,
            len: v.len(),
        })
    }
}
