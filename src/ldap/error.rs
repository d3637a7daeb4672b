//! Errors of the LDAP sources: connection, bind, search and control failures, each typed so
//! that an engine can tell "retry later" from "fix the configuration".

use super::ber::BerError;

/// LDAP result codes this module names (RFC 4511 appendix A).
pub mod rc {
    /// timeLimitExceeded.
    pub const TIME_LIMIT_EXCEEDED: u32 = 3;
    /// sizeLimitExceeded.
    pub const SIZE_LIMIT_EXCEEDED: u32 = 4;
    /// referral.
    pub const REFERRAL: u32 = 10;
    /// adminLimitExceeded.
    pub const ADMIN_LIMIT_EXCEEDED: u32 = 11;
    /// unavailableCriticalExtension.
    pub const UNAVAILABLE_CRITICAL_EXTENSION: u32 = 12;
    /// noSuchObject.
    pub const NO_SUCH_OBJECT: u32 = 32;
    /// inappropriateAuthentication.
    pub const INAPPROPRIATE_AUTHENTICATION: u32 = 48;
    /// invalidCredentials.
    pub const INVALID_CREDENTIALS: u32 = 49;
    /// insufficientAccessRights.
    pub const INSUFFICIENT_ACCESS_RIGHTS: u32 = 50;
}

/// The underlying transport or protocol error, kept as a boxed source so that `ldap3`'s
/// types do not leak into this crate's API.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why an LDAP source could not connect, bind or finish reading.
///
/// Messages never contain passwords or hash values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LdapSourceError {
    /// The URL could not be used (bad syntax, unknown scheme).
    #[error("invalid LDAP URL `{url}`: {source}")]
    InvalidUrl {
        /// The URL as configured.
        url: String,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// The server could not be reached (refused, unresolvable, timed out, TLS handshake).
    #[error("cannot connect to {url}: {source}")]
    Connect {
        /// The URL as configured.
        url: String,
        /// The transport error.
        #[source]
        source: BoxError,
    },
    /// The server rejected the credentials (LDAP result 49, invalidCredentials).
    #[error("bind as `{who}` rejected: invalid credentials ({text})")]
    InvalidCredentials {
        /// The bind DN, or `SASL EXTERNAL`.
        who: String,
        /// The server's diagnostic text.
        text: String,
    },
    /// The bind failed for another reason (inappropriate authentication, confidentiality
    /// required, SASL mechanism not supported, …).
    #[error("bind as `{who}` failed: LDAP result {rc} ({text})")]
    Bind {
        /// The bind DN, or `SASL EXTERNAL`.
        who: String,
        /// The LDAP result code.
        rc: u32,
        /// The server's diagnostic text.
        text: String,
    },
    /// The connection broke or the server sent something unparseable during an operation.
    #[error("LDAP {operation} failed: {source}")]
    Protocol {
        /// Which operation (`search`, `bind`, …).
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The server stopped the search at its size limit (LDAP result 4). The entries read
    /// before that were delivered.
    #[error(
        "the server's size limit stopped the search after {entries_read} entries (use paging or raise the limit): {text}"
    )]
    SizeLimitExceeded {
        /// Entries delivered before the limit hit.
        entries_read: u64,
        /// The server's diagnostic text.
        text: String,
    },
    /// The server stopped the search at its time limit (LDAP result 3).
    #[error("the server's time limit stopped the search after {entries_read} entries: {text}")]
    TimeLimitExceeded {
        /// Entries delivered before the limit hit.
        entries_read: u64,
        /// The server's diagnostic text.
        text: String,
    },
    /// The base DN (or part of the subtree) is held by other servers; referrals are not
    /// chased. Entries read from this server were delivered.
    #[error("referred to other servers (not followed): {}", urls.join(", "))]
    Referral {
        /// The referral or continuation-reference URLs.
        urls: Vec<String>,
        /// Entries delivered from this server.
        entries_read: u64,
    },
    /// Any other non-success result of a search.
    #[error("search under `{base}` failed: LDAP result {rc} ({text})")]
    Search {
        /// The base DN.
        base: String,
        /// The LDAP result code.
        rc: u32,
        /// The server's diagnostic text.
        text: String,
        /// Entries delivered before the failure.
        entries_read: u64,
    },
    /// A response control (Paged Results, DirSync) was missing or malformed.
    #[error("malformed {control} response control: {source}")]
    Control {
        /// Which control.
        control: &'static str,
        /// The BER error, with its offset.
        #[source]
        source: BerError,
    },
    /// The paged-results server returned a cookie it had already returned (the one it was just
    /// sent, or any earlier one), after an empty page or a full one: following it would never
    /// end (RFC 2696 §3).
    #[error("paged search stalled after {entries_read} entries: the server repeated its cookie")]
    PagingStalled {
        /// Entries delivered before.
        entries_read: u64,
    },
    /// The server did not return a control the operation needs.
    #[error("the server did not return the {control} response control")]
    MissingControl {
        /// Which control.
        control: &'static str,
    },
}

impl LdapSourceError {
    /// The LDAP result code, when the error is an LDAP result.
    pub fn result_code(&self) -> Option<u32> {
        match self {
            LdapSourceError::InvalidCredentials { .. } => Some(rc::INVALID_CREDENTIALS),
            LdapSourceError::Bind { rc, .. } | LdapSourceError::Search { rc, .. } => Some(*rc),
            LdapSourceError::SizeLimitExceeded { .. } => Some(rc::SIZE_LIMIT_EXCEEDED),
            LdapSourceError::TimeLimitExceeded { .. } => Some(rc::TIME_LIMIT_EXCEEDED),
            LdapSourceError::Referral { .. } => Some(rc::REFERRAL),
            _ => None,
        }
    }

    /// Whether retrying later may help (transport failures, busy or unavailable servers),
    /// as opposed to configuration or data problems.
    pub fn is_transient(&self) -> bool {
        match self {
            LdapSourceError::Connect { .. } | LdapSourceError::Protocol { .. } => true,
            LdapSourceError::Search { rc, .. } | LdapSourceError::Bind { rc, .. } => {
                matches!(rc, 51 | 52)
            }
            _ => false,
        }
    }
}
