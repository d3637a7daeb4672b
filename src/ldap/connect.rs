//! Connecting and binding: the options both LDAP sources share.

use std::fmt;
use std::time::Duration;

use ldap3::{LdapConn, LdapConnSettings, LdapError, LdapResult};
use zeroize::Zeroizing;

use super::error::{LdapSourceError, rc};

/// How to authenticate after connecting.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Bind {
    /// No bind: anonymous access (rarely allowed to read password hashes).
    #[default]
    Anonymous,
    /// A simple bind with a DN and password (use TLS: `ldaps://` or StartTLS).
    Simple {
        /// The bind DN.
        dn: String,
        /// The password; zeroized on drop, never printed.
        password: Zeroizing<String>,
    },
    /// SASL EXTERNAL: the identity of the transport, i.e. the peer credentials of an
    /// `ldapi://` Unix socket (OpenLDAP maps them to
    /// `gidNumber=G+uidNumber=U,cn=peercred,cn=external,cn=auth`) or a TLS client certificate.
    SaslExternal,
}

impl Bind {
    /// A simple bind.
    pub fn simple(dn: impl Into<String>, password: impl Into<String>) -> Bind {
        Bind::Simple {
            dn: dn.into(),
            password: Zeroizing::new(password.into()),
        }
    }

    fn who(&self) -> String {
        match self {
            Bind::Anonymous => "anonymous".into(),
            Bind::Simple { dn, .. } => dn.clone(),
            Bind::SaslExternal => "SASL EXTERNAL".into(),
        }
    }
}

impl fmt::Debug for Bind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bind::Anonymous => f.write_str("Anonymous"),
            Bind::Simple { dn, .. } => f
                .debug_struct("Simple")
                .field("dn", dn)
                .field("password", &"<redacted>")
                .finish(),
            Bind::SaslExternal => f.write_str("SaslExternal"),
        }
    }
}

/// TLS choices. `ldaps://` URLs always use TLS; the server certificate is checked against
/// the operating system's trust store (rustls with `rustls-native-certs`).
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    pub starttls: bool,
    /// Do not verify the server certificate. For tests only: it makes TLS useless against
    /// an active attacker.
    pub danger_accept_invalid_certs: bool,
}

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// `ldap://host:port`, `ldaps://host:port` or `ldapi://` + percent-encoded socket path
    /// (e.g. `ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi`).
    pub url: String,
    /// How to authenticate.
    pub bind: Bind,
    /// TLS choices.
    pub tls: TlsOptions,
    /// Connection (and TLS handshake) timeout.
    pub connect_timeout: Duration,
    /// Timeout of each operation (bind, each search page); `None` waits forever.
    pub operation_timeout: Option<Duration>,
}

impl ConnectOptions {
    /// Options for `url` with anonymous bind, no StartTLS, a 10 s connect timeout and a 120 s
    /// operation timeout.
    pub fn new(url: impl Into<String>) -> ConnectOptions {
        ConnectOptions {
            url: url.into(),
            bind: Bind::Anonymous,
            tls: TlsOptions::default(),
            connect_timeout: Duration::from_secs(10),
            operation_timeout: Some(Duration::from_secs(120)),
        }
    }

    /// [`ConnectOptions::new`] for a Unix socket: `ldapi://` + the percent-encoded path
    /// (every byte but `A–Z a–z 0–9 - . _ ~`), the form OpenLDAP and Samba expect.
    pub fn ldapi(socket: &std::path::Path) -> ConnectOptions {
        let mut url = String::from("ldapi://");
        for b in socket.to_string_lossy().bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                url.push(char::from(b));
            } else {
                url.push_str(&format!("%{b:02X}"));
            }
        }
        ConnectOptions::new(url)
    }

    /// Sets the bind.
    pub fn bind(mut self, bind: Bind) -> Self {
        self.bind = bind;
        self
    }

    /// Sets the TLS options.
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = tls;
        self
    }

    /// Connects and binds.
    ///
    /// # Errors
    /// [`LdapSourceError::InvalidUrl`], [`LdapSourceError::Connect`] (unreachable, TLS
    /// failure, timeout), [`LdapSourceError::InvalidCredentials`] or
    /// [`LdapSourceError::Bind`].
    pub fn connect(&self) -> Result<Connection, LdapSourceError> {
        let settings = LdapConnSettings::new()
            .set_conn_timeout(self.connect_timeout)
            .set_starttls(self.tls.starttls)
            .set_no_tls_verify(self.tls.danger_accept_invalid_certs);
        let mut conn = LdapConn::with_settings(settings, &self.url).map_err(|e| match e {
            LdapError::UrlParsing { .. }
            | LdapError::UnknownScheme(_)
            | LdapError::EmptyUnixPath
            | LdapError::PortInUnixPath => LdapSourceError::InvalidUrl {
                url: self.url.clone(),
                source: Box::new(e),
            },
            other => LdapSourceError::Connect {
                url: self.url.clone(),
                source: Box::new(other),
            },
        })?;
        let who = self.bind.who();
        let result = match &self.bind {
            Bind::Anonymous => None,
            Bind::Simple { dn, password } => {
                if password.is_empty() {
                    // RFC 4513 §5.1.2: a simple bind with an empty password is an
                    // "unauthenticated" bind that many servers accept as anonymous.
                    return Err(LdapSourceError::InvalidCredentials {
                        who,
                        text: "empty password refused: the server would treat it as an \
                               unauthenticated (anonymous) bind"
                            .into(),
                    });
                }
                if let Some(t) = self.operation_timeout {
                    conn.with_timeout(t);
                }
                Some(conn.simple_bind(dn, password))
            }
            Bind::SaslExternal => {
                if let Some(t) = self.operation_timeout {
                    conn.with_timeout(t);
                }
                Some(conn.sasl_external_bind())
            }
        };
        if let Some(result) = result {
            check_bind(who, result)?;
        }
        Ok(Connection {
            conn,
            operation_timeout: self.operation_timeout,
        })
    }
}

fn check_bind(who: String, result: Result<LdapResult, LdapError>) -> Result<(), LdapSourceError> {
    match result {
        Ok(r) if r.rc == 0 => Ok(()),
        Ok(r) if r.rc == rc::INVALID_CREDENTIALS => {
            Err(LdapSourceError::InvalidCredentials { who, text: r.text })
        }
        Ok(r) => Err(LdapSourceError::Bind {
            who,
            rc: r.rc,
            text: r.text,
        }),
        Err(LdapError::LdapResult { result }) if result.rc == rc::INVALID_CREDENTIALS => {
            Err(LdapSourceError::InvalidCredentials {
                who,
                text: result.text,
            })
        }
        Err(LdapError::LdapResult { result }) => Err(LdapSourceError::Bind {
            who,
            rc: result.rc,
            text: result.text,
        }),
        Err(e) => Err(LdapSourceError::Protocol {
            operation: "bind",
            source: Box::new(e),
        }),
    }
}

/// A bound connection (an `ldap3` synchronous connection with its operation timeout).
pub struct Connection {
    pub(crate) conn: LdapConn,
    pub(crate) operation_timeout: Option<Duration>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("operation_timeout", &self.operation_timeout)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Wraps an `ldap3` connection the caller set up itself (custom TLS configuration,
    /// GSSAPI bind, …).
    pub fn from_ldap3(conn: LdapConn, operation_timeout: Option<Duration>) -> Connection {
        Connection {
            conn,
            operation_timeout,
        }
    }

    /// The underlying `ldap3` connection.
    pub fn ldap3(&mut self) -> &mut LdapConn {
        &mut self.conn
    }

    /// Sends an unbind request and closes the connection (errors are ignored: the
    /// connection is going away either way).
    pub fn close(mut self) {
        let _ = self.conn.unbind();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldapi_percent_encodes_the_socket_path() {
        let o = ConnectOptions::ldapi(std::path::Path::new("/var/run/slapd/ld api~x.sock"));
        assert_eq!(o.url, "ldapi://%2Fvar%2Frun%2Fslapd%2Fld%20api~x.sock");
    }
}
