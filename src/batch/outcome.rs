//! What the runner yields: exactly one [`Outcome`] per input account, in input order.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::account::{FailReason, Identity, PasswordStamp};
use crate::CloudVerifier;
use crate::ad::time::unix_to_rfc3339;

/// Why an account was not synced. The words (`as_str`) are stable and mirror Entra Connect's
/// scoping rules for password hash synchronization (Microsoft Learn, "Implement password hash
/// synchronization with Microsoft Entra Connect Sync").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SkipReason {
    /// A deleted object (tombstone or recycled): never hashed.
    Deleted,
    /// Not a user: computers, domain controllers, trust accounts, krbtgt, `inetOrgPerson`
    /// (unless allowed), and non-account objects.
    NotAUser,
    /// isCriticalSystemObject (e.g. Administrator); Entra Connect does not sync these.
    CriticalSystemObject,
    /// No sAMAccountName: Entra Connect does not sync such objects.
    NoSamAccountName,
    /// A replication-conflict object (`\0ACNF:` in its name).
    ReplicationConflict,
    /// An Entra Connect service account (`AAD_*`, `MSOL_*`).
    ServiceAccount,
    /// Rejected by the caller's filter predicate.
    Filtered,
    /// userAccountControl has ACCOUNTDISABLE (0x2).
    Disabled,
    /// The account has no password (unicodePwd absent or without a value).
    NoPassword,
    /// pwdLastSet = 0 ("must change at next logon") and the force-change option is off
    /// (Entra Connect logs `FilteredByTarget`).
    TemporaryPassword,
    /// The password has not changed since the previous run's state.
    Unchanged,
    /// The input is a password-history entry, not the current password.
    PasswordHistory,
}

impl SkipReason {
    /// The stable snake_case word used in outcomes.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Deleted => "deleted",
            SkipReason::NotAUser => "not_a_user",
            SkipReason::CriticalSystemObject => "critical_system_object",
            SkipReason::NoSamAccountName => "no_sam_account_name",
            SkipReason::ReplicationConflict => "replication_conflict",
            SkipReason::ServiceAccount => "service_account",
            SkipReason::Filtered => "filtered",
            SkipReason::Disabled => "disabled",
            SkipReason::NoPassword => "no_password",
            SkipReason::TemporaryPassword => "temporary_password",
            SkipReason::Unchanged => "unchanged",
            SkipReason::PasswordHistory => "password_history",
        }
    }
}

/// The credential record a sync engine uploads for a synced account. Never holds an NT hash.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Record {
    /// Who it is.
    #[serde(flatten)]
    pub identity: Identity,
    /// The cloud verifier (`v1;PPH1_MD4,…;`).
    pub verifier: CloudVerifier,
    /// Entra's `ForcePasswordChangeOnLogon`: set for pwdLastSet = 0 when the option is on.
    pub must_change_password: bool,
    /// userAccountControl has SMARTCARD_REQUIRED (0x40000): the password is a random one the
    /// DC set (SCRIL); it is synced as Entra Connect does, and flagged.
    pub smart_card_required: bool,
    /// pwdLastSet (FILETIME), the `ChangeDate` a sync engine sends.
    pub pwd_last_set: Option<i64>,
    /// unicodePwd's version and originating time, from replication metadata.
    pub password_stamp: Option<PasswordStamp>,
}

/// Why an account failed, with a description that never holds secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The stable reason.
    pub reason: FailReason,
    /// What went wrong, for people.
    pub detail: String,
}

/// The result for one input account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Hashed: here is the record to upload.
    Synced(Record),
    /// Not synced, by policy.
    Skipped {
        /// Who it is.
        identity: Identity,
        /// Why.
        reason: SkipReason,
        /// Whether pwdLastSet = 0 (reported even when skipped).
        must_change_password: bool,
    },
    /// Could not be processed.
    Failed {
        /// Who it is, as far as known.
        identity: Identity,
        /// What went wrong.
        failure: Failure,
    },
}

impl Outcome {
    /// The identity of the account this outcome is about.
    pub fn identity(&self) -> &Identity {
        match self {
            Outcome::Synced(r) => &r.identity,
            Outcome::Skipped { identity, .. } | Outcome::Failed { identity, .. } => identity,
        }
    }

    /// `"synced"`, `"skipped"` or `"failed"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Synced(_) => "synced",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Failed { .. } => "failed",
        }
    }

    /// The stable reason word; `None` when synced.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Outcome::Synced(_) => None,
            Outcome::Skipped { reason, .. } => Some(reason.as_str()),
            Outcome::Failed { failure, .. } => Some(failure.reason.as_str()),
        }
    }

    /// The verifier, when synced.
    pub fn verifier(&self) -> Option<&CloudVerifier> {
        match self {
            Outcome::Synced(r) => Some(&r.verifier),
            _ => None,
        }
    }

    /// Whether the account must change its password at next logon.
    pub fn must_change_password(&self) -> bool {
        match self {
            Outcome::Synced(r) => r.must_change_password,
            Outcome::Skipped {
                must_change_password,
                ..
            } => *must_change_password,
            Outcome::Failed { .. } => false,
        }
    }
}

impl Serialize for Outcome {
    /// One flat JSON object with the keys the command documents (README, "The main job"): identity,
    /// `outcome`, `reason`, `verifier`, `must_change_password`, plus `smart_card_required`,
    /// `pwd_last_set`, `password_version`, `password_changed` and `detail`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let id = self.identity();
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("sam_account_name", &id.sam_account_name)?;
        map.serialize_entry("user_principal_name", &id.user_principal_name)?;
        map.serialize_entry("object_guid", &id.object_guid)?;
        map.serialize_entry("sid", &id.sid)?;
        map.serialize_entry("source_anchor", &id.source_anchor)?;
        map.serialize_entry("outcome", self.kind())?;
        map.serialize_entry("reason", &self.reason())?;
        map.serialize_entry("verifier", &self.verifier())?;
        map.serialize_entry("must_change_password", &self.must_change_password())?;
        if let Outcome::Synced(r) = self {
            map.serialize_entry("smart_card_required", &r.smart_card_required)?;
            map.serialize_entry("pwd_last_set", &r.pwd_last_set)?;
            map.serialize_entry("password_version", &r.password_stamp.map(|s| s.version))?;
            map.serialize_entry(
                "password_changed",
                &r.password_stamp.map(|s| unix_to_rfc3339(s.changed_unix)),
            )?;
        }
        if let Outcome::Failed { failure, .. } = self {
            map.serialize_entry("detail", &failure.detail)?;
        }
        map.end()
    }
}
