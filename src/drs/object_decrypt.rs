//! Decrypting a [`ReplicatedObject`] into an [`Account`] (MS-DRSR §4.1.10.2.20, MS-SAMR §2.2.11.1):
//! the secret attributes
//! through the session-key and RID layers, the plain ones typed.

use zeroize::Zeroize;

use super::account::{Account, LmHash, Secrets, Slot};
use super::attr::Attr;
use super::crypto::{RidLayer, SecretBytes, SessionKey, decrypt_value_with};
use super::error::DecryptError;
use super::reply::{ReplicatedObject, utf16_lossy};
use super::supplemental::SupplementalCredentials;
use crate::NtHash;

impl ReplicatedObject {
    /// Decrypts the secret attributes (CRC32 checked, RID layer removed) into an [`Account`]
    /// (MS-DRSR §4.1.10.2.20 `ENCRYPTED_PAYLOAD`, MS-SAMR §2.2.11.1.3 RID DES).
    ///
    /// # Errors
    /// See [`ReplicatedObject::decrypt_with_any`].
    pub fn decrypt(&self, key: &SessionKey) -> Result<Account, DecryptError> {
        self.decrypt_with_any(std::slice::from_ref(key))
    }

    /// Like [`ReplicatedObject::decrypt`] with several candidate session keys (key rollover,
    /// the RPC security context may renegotiate its session key): each value is decrypted with the
    /// first key whose CRC32 matches; pass the
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
        let secret = |attr: Attr| self.secret(attr, rid.as_ref(), keys);
        let hash = |attr: Attr| self.hash(attr, rid.as_ref(), keys);
        // Each 16-byte entry goes straight from the zeroizing plaintext into its zeroizing
        // hash type; no intermediate buffer keeps a copy.
        let history = |attr: Attr| -> Result<Option<SecretBytes>, DecryptError> {
            Ok(match secret(attr)? {
                Slot::Present(p) => Some(p),
                _ => None,
            })
        };

        let nt_hash = self.nt_hash(rid.as_ref(), keys)?;
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
                let h = LmHash::from_bytes(b);
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
                    .map(|c| LmHash::from_bytes(c.try_into().expect("16 bytes")))
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

    /// The NT hash (unicodePwd) alone — the one secret password hash sync needs: nothing else
    /// is decrypted or checked, so a malformed attribute PHS does not use (dBCSPwd,
    /// accountExpires, …) cannot stand in its way. `Ok(None)` if unicodePwd is absent or has
    /// no value.
    ///
    /// # Errors
    /// As [`ReplicatedObject::decrypt_with_any`], for unicodePwd only.
    pub fn decrypt_nt_hash(&self, keys: &[SessionKey]) -> Result<Option<NtHash>, DecryptError> {
        let rid = self.rid().map(RidLayer::new);
        Ok(match self.nt_hash(rid.as_ref(), keys)? {
            Slot::Present(h) => Some(h),
            Slot::Absent | Slot::NoValue => None,
        })
    }

    /// unicodePwd as an [`NtHash`]: the 16 bytes go straight into the zeroizing hash type.
    fn nt_hash(
        &self,
        rid: Option<&RidLayer>,
        keys: &[SessionKey],
    ) -> Result<Slot<NtHash>, DecryptError> {
        Ok(match self.hash(Attr::UnicodePwd, rid, keys)? {
            Slot::Absent => Slot::Absent,
            Slot::NoValue => Slot::NoValue,
            Slot::Present(mut b) => {
                let h = NtHash::from_bytes(b);
                b.zeroize();
                Slot::Present(h)
            }
        })
    }

    /// A secret attribute's single value, decrypted (session-key layer, then the RID layer).
    fn secret(
        &self,
        attr: Attr,
        rid: Option<&RidLayer>,
        keys: &[SessionKey],
    ) -> Result<Slot<SecretBytes>, DecryptError> {
        let Some(a) = self.attribute(attr) else {
            return Ok(Slot::Absent);
        };
        let mut vals = a.values();
        match vals.len() {
            0 => Ok(Slot::NoValue),
            1 => {
                let v = vals.next().expect("one value");
                decrypt_value_with(attr, rid, keys, v).map(Slot::Present)
            }
            n => Err(DecryptError::TooManyValues {
                attribute: attr,
                count: n,
            }),
        }
    }

    /// A hash attribute (unicodePwd, dBCSPwd): [`Self::secret`], exactly 16 bytes.
    fn hash(
        &self,
        attr: Attr,
        rid: Option<&RidLayer>,
        keys: &[SessionKey],
    ) -> Result<Slot<[u8; 16]>, DecryptError> {
        Ok(match self.secret(attr, rid, keys)? {
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
    }

    /// The single value of a fixed-size attribute; `Ok(None)` if absent or value-less.
    /// Another size is [`DecryptError::BadValue`], more than one value
    /// [`DecryptError::TooManyValues`] (both [`DecryptError::is_invalid_attribute`]: a
    /// malformed reply, not a key or decryption problem).
    fn fixed<const N: usize>(&self, attr: Attr) -> Result<Option<[u8; N]>, DecryptError> {
        let count = self.attribute(attr).map_or(0, |a| a.value_count());
        if count > 1 {
            return Err(DecryptError::TooManyValues {
                attribute: attr,
                count,
            });
        }
        let Some(v) = self.single(attr) else {
            return Ok(None);
        };
        v.try_into().map(Some).map_err(|_| DecryptError::BadValue {
            attribute: attr,
            len: v.len(),
        })
    }
}
