//! A DRSUAPI session with one domain controller: find the endpoint (`ept_map` on TCP 135),
//! bind sealed, `IDL_DRSBind`, then `IDL_DRSGetNCChanges` calls, and `IDL_DRSUnbind` at the end
//! (MS-DRSR §4.1.3, §4.1.10, §4.1.25).

use std::time::Duration;

use super::auth::{Identity, Mechanism, SecurityContext};
use super::conn::{self, Connection};
use super::drsuapi;
use super::epm;
use super::error::DcError;
use crate::drs::{DecodeError, DecodeErrorKind, Reply, SessionKey};

/// The endpoint mapper's well-known TCP port (MS-RPCE §2.1.1.1).
pub const EPM_PORT: u16 = 135;

/// `IDL_DRSGetNCChanges`'s opnum (MS-DRSR §4.1.10).
const OPNUM_GET_NC_CHANGES: u16 = 3;

/// Where and how to connect.
#[derive(Debug)]
pub struct DcConfig {
    /// The domain controller: a DNS name or an IP address.
    pub host: String,
    /// DRSUAPI's TCP port; `None` asks the endpoint mapper on port 135.
    pub port: Option<u16>,
    /// The account.
    pub identity: Identity,
    /// NTLM or Kerberos.
    pub mechanism: Mechanism,
    /// Connect, read and write timeout of every socket operation (and each KDC exchange).
    pub timeout: Duration,
    /// The largest reassembled reply accepted, in bytes.
    pub reply_limit: usize,
}

impl DcConfig {
    /// Defaults: endpoint mapper, 30 s timeouts, 64 MiB replies.
    pub fn new(host: impl Into<String>, identity: Identity, mechanism: Mechanism) -> DcConfig {
        DcConfig {
            host: host.into(),
            port: None,
            identity,
            mechanism,
            timeout: Duration::from_secs(30),
            reply_limit: 64 << 20,
        }
    }
}

/// A bound DRSUAPI session.
#[derive(Debug)]
pub struct Session {
    conn: Connection,
    handle: [u8; 20],
    server: Option<drsuapi::ServerExtensions>,
    session_key: SessionKey,
}

impl Session {
    /// Connects, authenticates at packet privacy and calls `IDL_DRSBind`.
    pub fn open(config: &DcConfig) -> Result<Session, DcError> {
        let port = match config.port {
            Some(p) => p,
            None => find_port(config)?,
        };
        let stream = conn::connect(&config.host, port, config.timeout, "DRSUAPI")?;
        let ctx = SecurityContext::new(&config.identity, &config.mechanism, config.timeout)?;
        let mut conn = Connection::bind(
            stream,
            drsuapi::DRSUAPI_INTERFACE,
            Some(ctx),
            config.reply_limit,
        )?;
        let session_key = conn
            .security_context()
            .expect("bound with a security context")
            .session_key()?;
        let stub = drsuapi::bind_request(
            &drsuapi::NTDSAPI_CLIENT_GUID,
            &drsuapi::ClientExtensions::default(),
        );
        let reply = conn.call(drsuapi::OPNUM_BIND, &stub).map_err(credentials)?;
        let bound = drsuapi::decode_bind_reply(&reply).map_err(|e| call_error("IDL_DRSBind", e))?;
        Ok(Session {
            conn,
            handle: bound.handle,
            server: bound.extensions,
            session_key,
        })
    }

    /// The key that decrypts the secret attributes of this session's replies.
    pub fn session_key(&self) -> &SessionKey {
        &self.session_key
    }

    /// What the DC said it supports, if it said.
    pub fn server_extensions(&self) -> Option<&drsuapi::ServerExtensions> {
        self.server.as_ref()
    }

    /// The context handle for requests.
    pub fn handle(&self) -> &[u8; 20] {
        &self.handle
    }

    /// One `IDL_DRSGetNCChanges` call with an encoded `[in]` stub; the decoded reply.
    pub fn get_nc_changes(&mut self, request_stub: &[u8]) -> Result<Reply, DcError> {
        let reply = self.conn.call(OPNUM_GET_NC_CHANGES, request_stub)?;
        // Owned: the reply keeps the bytes and wipes them when dropped (no second copy).
        Reply::decode_owned(reply).map_err(|e| call_error("IDL_DRSGetNCChanges", e))
    }

    /// `IDL_DRSUnbind`, then the connection closes.
    pub fn close(mut self) -> Result<(), DcError> {
        let reply = self.conn.call(
            drsuapi::OPNUM_UNBIND,
            &drsuapi::unbind_request(&self.handle),
        )?;
        drsuapi::decode_unbind_reply(&reply).map_err(|e| call_error("IDL_DRSUnbind", e))
    }
}

/// A WERROR in a reply is the DC's answer ([`DcError::Drs`]); anything else a bad reply.
fn call_error(call: &'static str, source: DecodeError) -> DcError {
    match source.kind {
        DecodeErrorKind::ServerError { code } => DcError::Drs { call, code },
        _ => DcError::Decode { call, source },
    }
}

/// An `access denied` fault on the first sealed call is how a DC refuses NTLM credentials
/// (the third leg has no answer of its own).
fn credentials(e: DcError) -> DcError {
    match e {
        // Windows answers access denied; Samba a protocol error (nca_proto_error).
        DcError::Fault { status } if status == 5 || status == 0x1c01_000b => {
            DcError::BadCredentials {
                detail: format!("RPC fault 0x{status:08x} on the first sealed call"),
            }
        }
        DcError::Closed { .. } => DcError::BadCredentials {
            detail: "the server closed the connection after authentication".into(),
        },
        e => e,
    }
}

/// Asks the endpoint mapper for DRSUAPI's TCP port.
fn find_port(config: &DcConfig) -> Result<u16, DcError> {
    let stream = conn::connect(&config.host, EPM_PORT, config.timeout, "endpoint mapper")?;
    let mut conn = Connection::bind(stream, epm::EPM_INTERFACE, None, 1 << 20)?;
    let reply = conn.call(
        epm::OPNUM_EPT_MAP,
        &epm::map_request(&drsuapi::DRSUAPI_INTERFACE, 4),
    )?;
    let not_found = || DcError::EndpointNotFound {
        host: config.host.clone(),
    };
    match epm::decode_map_reply(&reply) {
        Ok(endpoints) => endpoints.first().map(|e| e.port).ok_or_else(not_found),
        Err(e)
            if e.kind
                == (DecodeErrorKind::ServerError {
                    code: epm::EPT_S_NOT_REGISTERED,
                }) =>
        {
            Err(not_found())
        }
        Err(e) => Err(call_error("ept_map", e)),
    }
}
