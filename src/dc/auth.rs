//! Security contexts for the RPC connection: NTLM (MS-NLMP) or Kerberos in DCE style
//! (RFC 4120, RFC 4121, MS-KILE §3.4.5), both from the `sspi` crate, at packet privacy
//! (MS-RPCE §2.2.1.1.8, `RPC_C_AUTHN_LEVEL_PKT_PRIVACY`).
//!
//! This file is the glue: it drives the package's legs, carries its KDC exchanges over TCP
//! (RFC 4120 §7.2.2: a four-byte big-endian length, then the message), and seals and unseals
//! request and response fragments as MS-RPCE §3.3.1.5.2.2 lays them out: the headers and the
//! `sec_trailer` are signed but not encrypted (`SECBUFFER_READONLY_WITH_CHECKSUM`), the stub and
//! its padding are encrypted in place, the signature is the token after the trailer. The
//! cryptography is the package's.
//!
//! The session key that decrypts the replicated secrets (MS-DRSR §4.1.10.6.10) is the context's
//! session key: 16 bytes under NTLM, the Kerberos subkey (32 bytes with AES256) under Kerberos.

use std::fmt;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use sspi::{
    AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, Credentials, DataRepresentation,
    EncryptionFlags, Kerberos, KerberosConfig, NetworkProtocol, NetworkRequest, Ntlm,
    SecurityBuffer, SecurityBufferFlags, SecurityBufferRef, SecurityStatus, Sspi, SspiImpl,
    Username,
};
use zeroize::Zeroizing;

use super::error::DcError;
use crate::drs::SessionKey;

/// `auth_type` of NTLM (`RPC_C_AUTHN_WINNT`, MS-RPCE §2.2.1.1.7).
pub const AUTHN_WINNT: u8 = 0x0a;
/// `auth_type` of Kerberos (`RPC_C_AUTHN_GSS_KERBEROS`).
pub const AUTHN_GSS_KERBEROS: u8 = 0x10;
/// `RPC_C_AUTHN_LEVEL_PKT_PRIVACY` (MS-RPCE §2.2.1.1.8).
pub const AUTHN_LEVEL_PKT_PRIVACY: u8 = 6;

/// The largest KDC reply accepted (RFC 4120 replies are a few kilobytes; a PAC-laden ticket
/// stays far below this).
const MAX_KDC_REPLY: usize = 1 << 20;

/// The account the client authenticates as.
pub struct Identity {
    /// The account name (`sAMAccountName`), without the domain.
    pub user: String,
    /// The NetBIOS or DNS domain name (NTLM), the realm's domain (Kerberos).
    pub domain: String,
    /// The password.
    pub password: Zeroizing<String>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("user", &self.user)
            .field("domain", &self.domain)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How to authenticate.
#[derive(Clone, Debug)]
pub enum Mechanism {
    /// NTLM (MS-NLMP).
    Ntlm,
    /// Kerberos: the KDC's `host:port` (TCP), and the DC's service principal name
    /// (`ldap/dc.example.com` style; DRSUAPI accepts the `E3514235-4B06-11D1-AB04-00C04FC2DCD2/<ntds
    /// guid>/<domain>` form or `host/<dc fqdn>`).
    Kerberos {
        /// The KDC, `host:port`.
        kdc: String,
        /// The target service principal name.
        spn: String,
    },
}

enum Package {
    Ntlm(Box<Ntlm>, Option<sspi::AuthIdentityBuffers>),
    Kerberos(Box<Kerberos>, Option<sspi::CredentialsBuffers>),
}

/// An established or establishing security context.
pub struct SecurityContext {
    package: Package,
    target: String,
    flags: ClientRequestFlags,
    timeout: Duration,
}

impl fmt::Debug for SecurityContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecurityContext")
            .field("auth_type", &self.auth_type())
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

fn sspi_err(stage: &'static str) -> impl Fn(sspi::Error) -> DcError {
    move |e| {
        // The KDC's own words, without the DER dump the package appends.
        let message = match e.description.find(". Additional error data") {
            Some(at) => e.description[..at].to_owned(),
            None => e.description,
        };
        let refused = matches!(e.error_type, sspi::ErrorKind::LogonDenied)
            || message.contains("pre-authentication")
            || message.contains("client not found");
        if refused {
            DcError::BadCredentials {
                detail: format!("{stage}: {message}"),
            }
        } else {
            DcError::Auth {
                stage,
                kind: e.error_type,
                message,
            }
        }
    }
}

impl SecurityContext {
    /// A context for `identity` by `mechanism`; `timeout` bounds each KDC exchange.
    pub fn new(
        identity: &Identity,
        mechanism: &Mechanism,
        timeout: Duration,
    ) -> Result<SecurityContext, DcError> {
        let username = Username::new(&identity.user, Some(&identity.domain))
            .map_err(|e| sspi_err("credentials")(e.into()))?;
        let auth = AuthIdentity {
            username,
            password: identity.password.as_str().to_owned().into(),
        };
        match mechanism {
            Mechanism::Ntlm => {
                let mut ntlm = Box::new(Ntlm::new());
                let creds = ntlm
                    .acquire_credentials_handle()
                    .with_credential_use(CredentialUse::Outbound)
                    .with_auth_data(&auth)
                    .execute(&mut *ntlm)
                    .map_err(sspi_err("NTLM credentials"))?
                    .credentials_handle;
                Ok(SecurityContext {
                    package: Package::Ntlm(ntlm, creds),
                    target: String::new(),
                    flags: ClientRequestFlags::CONFIDENTIALITY
                        | ClientRequestFlags::INTEGRITY
                        | ClientRequestFlags::ALLOCATE_MEMORY,
                    timeout,
                })
            }
            Mechanism::Kerberos { kdc, spn } => {
                let config =
                    KerberosConfig::new_with_kdc_url(&format!("tcp://{kdc}"), "phsync".into());
                let mut krb = Box::new(
                    Kerberos::new_client_from_config(config).map_err(sspi_err("Kerberos"))?,
                );
                let creds = krb
                    .acquire_credentials_handle()
                    .with_credential_use(CredentialUse::Outbound)
                    .with_auth_data(&Credentials::AuthIdentity(auth))
                    .execute(&mut *krb)
                    .map_err(sspi_err("Kerberos credentials"))?
                    .credentials_handle;
                Ok(SecurityContext {
                    package: Package::Kerberos(krb, creds),
                    target: spn.clone(),
                    flags: ClientRequestFlags::CONFIDENTIALITY
                        | ClientRequestFlags::INTEGRITY
                        | ClientRequestFlags::MUTUAL_AUTH
                        | ClientRequestFlags::USE_DCE_STYLE
                        | ClientRequestFlags::SEQUENCE_DETECT
                        | ClientRequestFlags::ALLOCATE_MEMORY,
                    timeout,
                })
            }
        }
    }

    /// The `auth_type` for the `sec_trailer`.
    pub fn auth_type(&self) -> u8 {
        match self.package {
            Package::Ntlm(..) => AUTHN_WINNT,
            Package::Kerberos(..) => AUTHN_GSS_KERBEROS,
        }
    }

    /// One leg: the server's token in (none on the first leg), ours out, and whether the
    /// package expects another token from the server.
    pub fn step(&mut self, input: Option<&[u8]>) -> Result<(Vec<u8>, bool), DcError> {
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut input = input.map(|t| vec![SecurityBuffer::new(t.to_vec(), BufferType::Token)]);
        let timeout = self.timeout;
        let status = match &mut self.package {
            Package::Ntlm(p, creds) => {
                let mut b = p
                    .initialize_security_context()
                    .with_credentials_handle(creds)
                    .with_context_requirements(self.flags)
                    .with_target_data_representation(DataRepresentation::Native)
                    .with_target_name(&self.target)
                    .with_output(&mut output);
                if let Some(i) = input.as_mut() {
                    b = b.with_input(i);
                }
                let status = {
                    let mut g = p
                        .initialize_security_context_impl(&mut b)
                        .map_err(sspi_err("NTLM"))?;
                    run_generator(&mut g, timeout)?
                        .map_err(sspi_err("NTLM"))?
                        .status
                };
                if matches!(
                    status,
                    SecurityStatus::CompleteAndContinue | SecurityStatus::CompleteNeeded
                ) {
                    p.complete_auth_token(&mut output)
                        .map_err(sspi_err("NTLM"))?;
                }
                status
            }
            Package::Kerberos(p, creds) => {
                // The Kerberos package wants an input buffer on every leg, empty on the first.
                let input = input.get_or_insert_with(|| {
                    vec![SecurityBuffer::new(Vec::new(), BufferType::Token)]
                });
                let mut b = p
                    .initialize_security_context()
                    .with_credentials_handle(creds)
                    .with_context_requirements(self.flags)
                    .with_target_data_representation(DataRepresentation::Native)
                    .with_target_name(&self.target)
                    .with_output(&mut output)
                    .with_input(input);
                let mut g = p
                    .initialize_security_context_impl(&mut b)
                    .map_err(sspi_err("Kerberos"))?;
                run_generator(&mut g, timeout)?
                    .map_err(sspi_err("Kerberos"))?
                    .status
            }
        };
        let token = std::mem::take(&mut output[0].buffer);
        let more = matches!(
            status,
            SecurityStatus::ContinueNeeded | SecurityStatus::CompleteAndContinue
        );
        Ok((token, more))
    }

    /// The session key of the established context.
    pub fn session_key(&self) -> Result<SessionKey, DcError> {
        let keys = match &self.package {
            Package::Ntlm(p, _) => p.query_context_session_key(),
            Package::Kerberos(p, _) => p.query_context_session_key(),
        }
        .map_err(sspi_err("session key"))?;
        Ok(SessionKey::new(keys.session_key.as_ref()))
    }

    /// Length of the token (signature) a sealed PDU carries.
    pub fn token_len(&mut self) -> Result<usize, DcError> {
        let sizes = match &mut self.package {
            Package::Ntlm(p, _) => p.query_context_sizes(),
            Package::Kerberos(p, _) => p.query_context_sizes(),
        }
        .map_err(sspi_err("sizes"))?;
        Ok(sizes.security_trailer as usize)
    }

    /// Encrypts `stub` in place and writes the signature over `head`, `stub` and `trailer` into
    /// `token` (with header signing; without it, the signature covers the stub only).
    pub fn seal(
        &mut self,
        head: &mut [u8],
        stub: &mut [u8],
        trailer: &mut [u8],
        token: &mut [u8],
        header_sign: bool,
    ) -> Result<(), DcError> {
        let mut bufs = fragment_buffers(head, stub, trailer, token, header_sign);
        self.message(true, &mut bufs).map_err(sspi_err("sealing"))
    }

    /// Checks the signature in `token` and decrypts `stub` in place.
    pub fn unseal(
        &mut self,
        head: &mut [u8],
        stub: &mut [u8],
        trailer: &mut [u8],
        token: &mut [u8],
        header_sign: bool,
    ) -> Result<(), DcError> {
        let mut bufs = fragment_buffers(head, stub, trailer, token, header_sign);
        self.message(false, &mut bufs)
            .map_err(sspi_err("unsealing"))
    }

    /// `EncryptMessage` (`seal`) or `DecryptMessage` of the package.
    fn message(&mut self, seal: bool, bufs: &mut [SecurityBufferRef<'_>]) -> sspi::Result<()> {
        let flags = EncryptionFlags::empty();
        match (&mut self.package, seal) {
            (Package::Ntlm(p, _), true) => p.encrypt_message(flags, bufs).map(drop),
            (Package::Ntlm(p, _), false) => p.decrypt_message(bufs).map(drop),
            (Package::Kerberos(p, _), true) => p.encrypt_message(flags, bufs).map(drop),
            (Package::Kerberos(p, _), false) => p.decrypt_message(bufs).map(drop),
        }
    }
}

/// The security buffers of one sealed fragment (MS-RPCE §3.3.1.5.2.2), for either side of the
/// connection: with header signing, the headers and the `sec_trailer` are signed but not
/// encrypted (`SECBUFFER_READONLY_WITH_CHECKSUM`); the stub and its padding are encrypted in
/// place; the signature is the token. Without header signing, the stub and the token only.
pub fn fragment_buffers<'a>(
    head: &'a mut [u8],
    stub: &'a mut [u8],
    trailer: &'a mut [u8],
    token: &'a mut [u8],
    header_sign: bool,
) -> Vec<SecurityBufferRef<'a>> {
    let ro = SecurityBufferFlags::SECBUFFER_READONLY_WITH_CHECKSUM;
    let mut v = Vec::with_capacity(4);
    if header_sign {
        v.push(SecurityBufferRef::data_buf(head).with_flags(ro));
    }
    v.push(SecurityBufferRef::data_buf(stub));
    if header_sign {
        v.push(SecurityBufferRef::data_buf(trailer).with_flags(ro));
    }
    v.push(SecurityBufferRef::token_buf(token));
    v
}

type InitGenerator<'a> = sspi::generator::GeneratorInitSecurityContext<'a>;

/// Drives the package to completion, carrying its KDC requests.
fn run_generator(
    g: &mut InitGenerator<'_>,
    timeout: Duration,
) -> Result<sspi::Result<sspi::InitializeSecurityContextResult>, DcError> {
    use sspi::generator::GeneratorState;
    let mut state = g.start();
    loop {
        match state {
            GeneratorState::Completed(r) => return Ok(r),
            GeneratorState::Suspended(request) => {
                let reply = kdc_exchange(&request, timeout);
                state = g.resume(reply);
            }
        }
    }
}

/// One KDC exchange over TCP (RFC 4120 §7.2.2). The package's message carries its length
/// prefix; the reply is returned with it.
fn kdc_exchange(request: &NetworkRequest, timeout: Duration) -> sspi::Result<Vec<u8>> {
    let fail = |what: String| sspi::Error::new(sspi::ErrorKind::NoAuthenticatingAuthority, what);
    if request.protocol != NetworkProtocol::Tcp {
        return Err(fail(format!(
            "KDC over {:?}: only TCP is carried",
            request.protocol
        )));
    }
    let host = request.url.host_str().unwrap_or_default();
    let port = request.url.port().unwrap_or(88);
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| fail(format!("KDC {host}:{port}: {e}")))?
        .collect();
    let mut last = fail(format!("KDC {host}:{port}: no address"));
    for addr in addrs {
        let attempt = (|| -> std::io::Result<Vec<u8>> {
            let mut s = TcpStream::connect_timeout(&addr, timeout)?;
            s.set_read_timeout(Some(timeout))?;
            s.set_write_timeout(Some(timeout))?;
            s.write_all(&request.data)?;
            let mut len = [0u8; 4];
            s.read_exact(&mut len)?;
            let n = u32::from_be_bytes(len) as usize;
            if n > MAX_KDC_REPLY {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("KDC reply of {n} bytes"),
                ));
            }
            let mut reply = vec![0u8; 4 + n];
            reply[..4].copy_from_slice(&len);
            s.read_exact(&mut reply[4..])?;
            Ok(reply)
        })();
        match attempt {
            Ok(r) => return Ok(r),
            Err(e) => last = fail(format!("KDC {addr}: {e}")),
        }
    }
    Err(last)
}
