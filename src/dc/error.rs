//! Errors of the domain-controller client: each says what failed, where, and — for the codes a
//! DC answers with — what the code means in plain words.

use std::fmt;
use std::io;

use crate::drs::DecodeError;

/// What was wrong in a PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PduProblem {
    /// Fewer bytes than the structure needs.
    Truncated,
    /// `rpc_vers`/`rpc_vers_minor` other than 5.0.
    Version(u8, u8),
    /// An unknown PDU type.
    PacketType(u8),
    /// Not the little-endian/ASCII/IEEE data representation.
    DataRepresentation,
    /// `frag_length` shorter than the header or longer than negotiated.
    FragmentLength(u16),
    /// `auth_length` that does not fit in the fragment.
    AuthLength(u16),
    /// A PDU type that does not belong at this point of the exchange.
    Unexpected(u8),
    /// A response fragment for another call.
    CallId {
        /// The call waited for.
        expected: u32,
        /// The call answered.
        got: u32,
    },
    /// The first fragment of a reply without `PFC_FIRST_FRAG`, or a later one with it.
    Fragmentation,
    /// A sealed PDU without a trailer, or with another authentication type or level.
    Trailer,
    /// Padding longer than the stub.
    AuthPad(u8),
}

impl fmt::Display for PduProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PduProblem::Truncated => f.write_str("truncated"),
            PduProblem::Version(a, b) => write!(f, "RPC version {a}.{b}, not 5.0"),
            PduProblem::PacketType(t) => write!(f, "unknown PDU type {t}"),
            PduProblem::DataRepresentation => f.write_str("not little-endian NDR"),
            PduProblem::FragmentLength(l) => write!(f, "bad frag_length {l}"),
            PduProblem::AuthLength(l) => write!(f, "auth_length {l} does not fit"),
            PduProblem::Unexpected(t) => write!(f, "unexpected PDU type {t}"),
            PduProblem::CallId { expected, got } => {
                write!(f, "response to call {got}, expected call {expected}")
            }
            PduProblem::Fragmentation => f.write_str("fragments out of order"),
            PduProblem::Trailer => f.write_str("missing or mismatched sec_trailer"),
            PduProblem::AuthPad(p) => write!(f, "auth_pad_length {p} longer than the stub"),
        }
    }
}

/// An error of [`crate::dc`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DcError {
    /// The host name did not resolve, or to nothing usable.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The name.
        host: String,
        /// Why.
        source: io::Error,
    },
    /// TCP connect failed (refused, unreachable, timed out).
    #[error("cannot connect to {addr} ({what}): {source}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// "endpoint mapper", "DRSUAPI", "KDC".
        what: &'static str,
        /// Why.
        source: io::Error,
    },
    /// Reading or writing the connection failed or timed out.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Why (kind `TimedOut`/`WouldBlock` for a timeout).
        source: io::Error,
    },
    /// The peer did not answer within the timeout.
    #[error("{what}: no answer within the timeout")]
    Timeout {
        /// What was being done.
        what: &'static str,
    },
    /// The peer closed the connection.
    #[error("{what}: the server closed the connection")]
    Closed {
        /// What was being done.
        what: &'static str,
    },
    /// The endpoint mapper knows no TCP endpoint for DRSUAPI: not a domain controller.
    #[error(
        "the endpoint mapper on {host} has no ncacn_ip_tcp endpoint for DRSUAPI (not a domain controller?)"
    )]
    EndpointNotFound {
        /// The host asked.
        host: String,
    },
    /// The port answered the bind with something other than DCE/RPC, or closed, or stayed
    /// silent: not an RPC endpoint.
    #[error("{port}: no DCE/RPC answer to bind ({cause})")]
    NotRpc {
        /// `host:port`.
        port: String,
        /// What happened instead.
        cause: Box<DcError>,
    },
    /// A malformed PDU.
    #[error("malformed DCE/RPC PDU at byte {offset}: {problem}")]
    Pdu {
        /// Byte offset in the PDU.
        offset: usize,
        /// What.
        problem: PduProblem,
    },
    /// Something to send exceeds what the protocol can carry.
    #[error("{what} of {len} bytes is too large")]
    TooLarge {
        /// What.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// A reply larger than the client accepts.
    #[error("reply larger than the limit of {limit} bytes")]
    ReplyTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The server refused the bind (`bind_nak`).
    #[error("bind refused: {}", bind_nak_meaning(*reason))]
    BindRefused {
        /// `provider_reject_reason` (C706 §12.6.3.1, MS-RPCE §2.2.2.5).
        reason: u16,
    },
    /// The server accepted the bind but not the interface or transfer syntax.
    #[error("presentation context rejected: result {result}, reason {reason}")]
    ContextRejected {
        /// `result`.
        result: u16,
        /// `reason`.
        reason: u16,
    },
    /// The server answered a call with a `fault` PDU.
    #[error("RPC fault 0x{status:08x} ({})", fault_meaning(*status))]
    Fault {
        /// The status (C706 Appendix E, MS-RPCE §3.1.1.5.5, Win32 codes).
        status: u32,
    },
    /// The security package refused (bad credentials, KDC errors, bad tokens).
    #[error("{stage}: {kind:?}: {message}")]
    Auth {
        /// "NTLM", "Kerberos", "sealing", …
        stage: &'static str,
        /// The `sspi` error kind.
        kind: sspi::ErrorKind,
        /// The package's message (never carries secrets).
        message: String,
    },
    /// The credentials were refused by the DC.
    #[error("the domain controller refused the credentials ({detail})")]
    BadCredentials {
        /// How the refusal showed.
        detail: String,
    },
    /// A DRSUAPI call returned a non-zero WERROR.
    #[error("{call} failed: WERROR 0x{code:08x} ({})", werror_meaning(*code))]
    Drs {
        /// The call.
        call: &'static str,
        /// The WERROR.
        code: u32,
    },
    /// The DC's schema has no prefix for an attribute phsync asks for.
    #[error("the domain controller's prefix table has no entry for {attribute}")]
    Schema {
        /// The attribute's lDAPDisplayName.
        attribute: &'static str,
    },
    /// A reply stub did not decode.
    #[error("{call} reply: {source}")]
    Decode {
        /// The call.
        call: &'static str,
        /// Where and what.
        source: DecodeError,
    },
}

impl DcError {
    /// Whether a new connection might succeed where this one failed (network trouble, a
    /// dropped connection), as opposed to an answer that will be the same again.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DcError::Io { .. }
                | DcError::Timeout { .. }
                | DcError::Closed { .. }
                | DcError::Connect { .. }
        )
    }
}

/// Plain meaning of a `bind_nak` reason (C706 §12.6.3.1; MS-RPCE §2.2.2.5).
pub fn bind_nak_meaning(reason: u16) -> &'static str {
    match reason {
        0 => "reason not specified",
        1 => "temporary congestion",
        2 => "local limit exceeded",
        3 => "called paddr unknown",
        4 => "protocol version not supported",
        5 => "default context not supported",
        6 => "user data not readable",
        7 => "no PSAP available",
        8 => "authentication type not recognized",
        9 => "invalid checksum (credentials refused)",
        _ => "unknown reason",
    }
}

/// Plain meaning of the fault statuses a DC sends (C706 Appendix E; MS-RPCE §3.1.1.5.5;
/// MS-ERREF §2.2 for the Win32 codes).
pub fn fault_meaning(status: u32) -> &'static str {
    match status {
        0x0000_0005 => {
            "access denied: the credentials or the connection's authentication were refused"
        }
        0x0000_06f7 => "the stub received bad data (RPC_X_BAD_STUB_DATA)",
        0x0000_0721 => "security package error (RPC_S_SEC_PKG_ERROR)",
        0x1c01_0002 | 0x0000_06d1 => "operation number out of range (nca_s_op_rng_error)",
        0x1c01_0003 | 0x0000_06c0 => "unknown interface (nca_s_unk_if)",
        0x1c00_001c => "unspecified rejection (nca_s_fault_unspec)",
        0x1c00_0011 => "no memory on the server (nca_s_fault_remote_no_memory)",
        0x1c01_000b => "protocol error (nca_proto_error)",
        0x1c00_0012 => "context mismatch (nca_s_fault_context_mismatch)",
        0x0000_06a6 => "invalid binding (RPC_S_INVALID_BINDING)",
        _ => "see MS-ERREF / C706 Appendix E",
    }
}

/// Plain meaning of the WERRORs the replication calls return (MS-ERREF §2.2; MS-DRSR §4.1.10.5).
pub fn werror_meaning(code: u32) -> &'static str {
    match code {
        0x0000_0005 => "access denied",
        0x0000_0057 => "invalid parameter",
        0x0000_2105 => {
            "replication access denied (ERROR_DS_DRA_ACCESS_DENIED): the account lacks 'Replicating \
             Directory Changes' and 'Replicating Directory Changes All' on the domain"
        }
        0x0000_20f4 => "generic replication error (ERROR_DS_DRA_GENERIC)",
        0x0000_20f5 => "bad parameter (ERROR_DS_DRA_INVALID_PARAMETER)",
        0x0000_20f6 => "the source DC is busy (ERROR_DS_DRA_BUSY)",
        0x0000_20f7 => "the naming context is unknown to this DC (ERROR_DS_DRA_BAD_DN)",
        0x0000_20f8 => "no such naming context (ERROR_DS_DRA_BAD_NC)",
        0x0000_20fa => "internal error (ERROR_DS_DRA_INTERNAL_ERROR)",
        _ => "see MS-ERREF §2.2",
    }
}
