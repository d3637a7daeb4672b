//! The sync policy: which accounts get a verifier, modelled on Entra Connect's PHS scoping
//! (Microsoft Learn: "Implement password hash synchronization with Microsoft Entra Connect
//! Sync", "Microsoft Entra Connect Sync: Understand the default configuration").

use std::fmt;
use std::sync::Arc;

use super::account::{FailReason, ObjectKind, PasswordState, SyncAccount};
use super::outcome::SkipReason;
use super::state::SyncState;
use crate::Iterations;

/// userAccountControl ACCOUNTDISABLE.
pub const UF_ACCOUNTDISABLE: u32 = 0x0000_0002;
/// userAccountControl INTERDOMAIN_TRUST_ACCOUNT.
pub const UF_INTERDOMAIN_TRUST_ACCOUNT: u32 = 0x0000_0800;
/// userAccountControl WORKSTATION_TRUST_ACCOUNT.
pub const UF_WORKSTATION_TRUST_ACCOUNT: u32 = 0x0000_1000;
/// userAccountControl SERVER_TRUST_ACCOUNT.
pub const UF_SERVER_TRUST_ACCOUNT: u32 = 0x0000_2000;
/// userAccountControl SMARTCARD_REQUIRED.
pub const UF_SMARTCARD_REQUIRED: u32 = 0x0004_0000;
/// The RID of `krbtgt`.
pub const RID_KRBTGT: u32 = 502;

/// A caller-supplied scope predicate: `true` keeps the account in scope.
pub type Filter = Arc<dyn Fn(&SyncAccount) -> bool + Send + Sync>;

/// What to sync. `Default` is Entra Connect's behaviour.
#[derive(Clone)]
pub struct SyncPolicy {
    /// Sync pwdLastSet = 0 accounts with `must_change_password: true` (Entra Connect's
    /// `ForcePasswordChangeOnLogOn`). Off by default: they are skipped as
    /// `temporary_password`.
    pub force_password_change_on_logon: bool,
    /// Sync disabled accounts too (off by default, as Entra Connect's scoping filter).
    pub include_disabled: bool,
    /// Treat `inetOrgPerson` as a user (Entra Connect does not support it for PHS).
    pub include_inet_org_person: bool,
    /// Skip isCriticalSystemObject accounts (on by default, as Entra Connect).
    pub skip_critical_system_objects: bool,
    /// Skip accounts without a sAMAccountName (on by default, as Entra Connect). Off for
    /// inputs that carry no names at all, such as bare NT hashes.
    pub require_sam_account_name: bool,
    /// PBKDF2 iterations (default 1000).
    pub iterations: Iterations,
    /// An extra scope predicate, applied after the built-in rules.
    pub filter: Option<Filter>,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        SyncPolicy {
            force_password_change_on_logon: false,
            include_disabled: false,
            include_inet_org_person: false,
            skip_critical_system_objects: true,
            require_sam_account_name: true,
            iterations: Iterations::DEFAULT,
            filter: None,
        }
    }
}

impl fmt::Debug for SyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncPolicy")
            .field(
                "force_password_change_on_logon",
                &self.force_password_change_on_logon,
            )
            .field("include_disabled", &self.include_disabled)
            .field("include_inet_org_person", &self.include_inet_org_person)
            .field(
                "skip_critical_system_objects",
                &self.skip_critical_system_objects,
            )
            .field("require_sam_account_name", &self.require_sam_account_name)
            .field("iterations", &self.iterations)
            .field("filter", &self.filter.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

/// The policy's verdict on one account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Derive a verifier; the flag is `must_change_password`.
    Sync {
        /// Set the cloud force-change flag.
        must_change_password: bool,
    },
    /// Do not sync.
    Skip(SkipReason),
    /// In scope, but cannot be synced from this input (reported as failed).
    Fail(FailReason),
}

impl SyncPolicy {
    /// Applies the rules in order: password-history entry, deleted, not a user, critical system object, no
    /// sAMAccountName, replication conflict, service account, caller filter, disabled, no
    /// password, temporary password, unchanged (since `previous`, or since the
    /// [`SyncAccount::last_synced`] a state store remembers).
    ///
    /// A password the input does not carry ([`PasswordState::NotReplicated`]) is `unchanged`
    /// when it is the one last synced, and otherwise fails as `password_not_replicated`: the
    /// cloud has no verifier for it and this input cannot give one.
    pub fn decide(&self, account: &SyncAccount, previous: Option<&SyncState>) -> Decision {
        use SkipReason::*;
        let uac = account.user_account_control.unwrap_or(0);
        let is_user = match account.kind {
            ObjectKind::User => true,
            ObjectKind::InetOrgPerson => self.include_inet_org_person,
            ObjectKind::Computer | ObjectKind::Other => false,
        };
        let trust =
            UF_INTERDOMAIN_TRUST_ACCOUNT | UF_WORKSTATION_TRUST_ACCOUNT | UF_SERVER_TRUST_ACCOUNT;
        let sam = account.identity.sam_account_name.as_deref();
        let must_change = account.pwd_last_set == Some(0);

        let skip = if matches!(account.password, PasswordState::History) {
            Some(PasswordHistory)
        } else if account.is_deleted {
            Some(Deleted)
        } else if !is_user || uac & trust != 0 || account.rid == Some(RID_KRBTGT) {
            Some(NotAUser)
        } else if self.skip_critical_system_objects && account.is_critical_system_object {
            Some(CriticalSystemObject)
        } else if self.require_sam_account_name && sam.is_none_or(str::is_empty) {
            Some(NoSamAccountName)
        } else if is_conflict(account) {
            Some(ReplicationConflict)
        } else if sam.is_some_and(is_service_account) {
            Some(ServiceAccount)
        } else if self.filter.as_ref().is_some_and(|f| !f(account)) {
            Some(Filtered)
        } else if !self.include_disabled && uac & UF_ACCOUNTDISABLE != 0 {
            Some(Disabled)
        } else if matches!(
            account.password,
            PasswordState::Absent | PasswordState::NoValue
        ) {
            Some(NoPassword)
        } else if must_change && !self.force_password_change_on_logon {
            Some(TemporaryPassword)
        } else if matches!(account.password, PasswordState::NotReplicated) {
            let same = account
                .last_synced
                .zip(account.password_stamp)
                .is_some_and(|(synced, now)| synced.stamp == now);
            if !same {
                return Decision::Fail(FailReason::PasswordNotReplicated);
            }
            Some(Unchanged)
        } else if previous.is_some_and(|p| p.is_unchanged(account))
            || account.last_synced.is_some_and(|s| {
                Some(s.stamp) == account.password_stamp && s.pwd_last_set == account.pwd_last_set
            })
        {
            Some(Unchanged)
        } else {
            None
        };
        match skip {
            Some(reason) => Decision::Skip(reason),
            None => Decision::Sync {
                must_change_password: must_change,
            },
        }
    }
}

fn is_conflict(account: &SyncAccount) -> bool {
    let names = [
        account.identity.distinguished_name.as_deref(),
        account.identity.sam_account_name.as_deref(),
    ];
    names
        .into_iter()
        .flatten()
        .any(|n| n.contains("\\0ACNF:") || n.contains("\nCNF:"))
}

fn is_service_account(sam: &str) -> bool {
    let upper = sam.to_ascii_uppercase();
    upper.starts_with("AAD_") || upper.starts_with("MSOL_")
}
