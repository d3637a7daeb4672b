//! One DCE/RPC association over TCP (`ncacn_ip_tcp`, MS-RPCE §2.1.1.1): bind (with the
//! security context's legs), then calls, each request cut into fragments of the negotiated
//! size and each reply reassembled, sealed and unsealed fragment by fragment (MS-RPCE
//! §3.3.1.5.2.2). Blocking, with read and write timeouts; one call at a time.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use zeroize::{Zeroize, Zeroizing};

use super::auth::{AUTHN_LEVEL_PKT_PRIVACY, SecurityContext};
use super::error::{DcError, PduProblem};
use super::pdu::{
    self, Bind, BindAck, Fragment, HEADER_LEN, InterfaceId, PFC_FIRST_FRAG, PFC_LAST_FRAG,
    PFC_SUPPORT_HEADER_SIGN, PacketType, PresentationContext, REQUEST_HEADER_LEN,
    RESPONSE_HEADER_LEN, RequestFragment, SEC_TRAILER_LEN, SecTrailer,
};

/// The fragment size offered in `bind` (both directions); the server may choose less.
const OFFERED_FRAG: u16 = 0xff00;
/// The presentation context identifier used for the one interface of the association.
const CONTEXT_ID: u16 = 0;
/// `auth_context_id` of the one security context.
const AUTH_CONTEXT_ID: u32 = 0;

/// Resolves `host` and connects to `port`, trying each address within `timeout`.
pub fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
    what: &'static str,
) -> Result<TcpStream, DcError> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|source| DcError::Resolve {
            host: host.to_owned(),
            source,
        })?
        .collect();
    let mut last = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(s) => {
                let io = |source| DcError::Io {
                    what: "setting socket options",
                    source,
                };
                s.set_read_timeout(Some(timeout)).map_err(io)?;
                s.set_write_timeout(Some(timeout)).map_err(io)?;
                s.set_nodelay(true).map_err(io)?;
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(DcError::Connect {
        addr: format!("{host}:{port}"),
        what,
        source: last.unwrap_or_else(|| std::io::Error::new(ErrorKind::NotFound, "no address")),
    })
}

/// A bound association over a byte stream (a [`TcpStream`] unless a test gives another).
pub struct Connection<S = TcpStream> {
    stream: S,
    peer: String,
    auth: Option<SecurityContext>,
    header_sign: bool,
    token_len: usize,
    max_xmit: usize,
    max_recv: usize,
    next_call_id: u32,
    reply_limit: usize,
}

impl<S> std::fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("peer", &self.peer)
            .field("sealed", &self.auth.is_some())
            .field("header_sign", &self.header_sign)
            .field("max_xmit", &self.max_xmit)
            .field("max_recv", &self.max_recv)
            .finish_non_exhaustive()
    }
}

impl Connection<TcpStream> {
    /// Binds `interface` over NDR20 on a connected socket; see [`Connection::bind_stream`].
    pub fn bind(
        stream: TcpStream,
        interface: InterfaceId,
        auth: Option<SecurityContext>,
        reply_limit: usize,
    ) -> Result<Connection, DcError> {
        let peer = stream
            .peer_addr()
            .map_or_else(|_| "the server".to_owned(), |a| a.to_string());
        Connection::bind_stream(stream, peer, interface, auth, reply_limit)
    }
}

impl<S: Read + Write> Connection<S> {
    /// Binds `interface` over NDR20 on `stream` (the server at `peer`, for messages), running
    /// the security context's legs when one is given (then every call is sealed).
    /// `reply_limit` bounds a reassembled reply.
    pub fn bind_stream(
        stream: S,
        peer: String,
        interface: InterfaceId,
        mut auth: Option<SecurityContext>,
        reply_limit: usize,
    ) -> Result<Connection<S>, DcError> {
        let contexts = [PresentationContext {
            id: CONTEXT_ID,
            abstract_syntax: interface,
            transfer_syntax: pdu::NDR20,
        }];
        let mut conn = Connection {
            stream,
            peer,
            auth: None,
            header_sign: false,
            token_len: 0,
            max_xmit: OFFERED_FRAG as usize,
            max_recv: OFFERED_FRAG as usize,
            next_call_id: 1,
            reply_limit,
        };
        let first = match auth.as_mut() {
            Some(a) => Some((trailer(a.auth_type()), a.step(None)?.0)),
            None => None,
        };
        let call_id = conn.call_id();
        let bind = Bind {
            ptype: PacketType::Bind,
            flags: if first.is_some() {
                PFC_SUPPORT_HEADER_SIGN
            } else {
                0
            },
            call_id,
            max_xmit_frag: OFFERED_FRAG,
            max_recv_frag: OFFERED_FRAG,
            assoc_group: 0,
            contexts: &contexts,
            auth: first.as_ref().map(|(t, tok)| (*t, tok.as_slice())),
        }
        .encode()?;
        let reply = conn
            .send(&bind, "sending bind")
            .and_then(|()| conn.read_fragment("reading bind_ack"))
            .and_then(|reply| {
                Fragment::parse(&reply)?;
                Ok(reply)
            })
            .map_err(|cause| {
                // A connection reset or closed during the bind is the network's (and retried,
                // e.g. a DC restarting between two cycles); a port that answers something
                // that is not a DCE/RPC fragment, or stays silent after a bind (a KDC waits
                // for the rest of what it takes for a length prefix), is the port's.
                if matches!(cause, DcError::Closed { .. } | DcError::Io { .. }) {
                    cause
                } else {
                    DcError::NotRpc {
                        port: conn.peer.clone(),
                        cause: Box::new(cause),
                    }
                }
            })?;
        let frag = Fragment::parse(&reply)?;
        let ack = match frag.header.ptype {
            PacketType::BindAck => BindAck::parse(frag.body)?,
            PacketType::BindNak => {
                return Err(DcError::BindRefused {
                    reason: pdu::bind_nak_reason(frag.body)?,
                });
            }
            other => return Err(unexpected(other)),
        };
        check_context(&ack)?;
        // The server's receive size is our transmit size and vice versa (C706 §12.6.3.1).
        conn.max_xmit = usize::from(ack.max_recv_frag).min(OFFERED_FRAG as usize);
        conn.max_recv = usize::from(ack.max_xmit_frag).min(OFFERED_FRAG as usize);
        if conn.max_xmit < 1024 {
            return Err(DcError::Pdu {
                offset: HEADER_LEN + 2,
                problem: PduProblem::FragmentLength(ack.max_recv_frag),
            });
        }
        let Some(mut a) = auth else {
            return Ok(conn);
        };
        conn.header_sign = frag.header.flags & PFC_SUPPORT_HEADER_SIGN != 0;
        let server_token = frag.token.to_vec();
        let (token, more) = a.step(Some(&server_token))?;
        let t = trailer(a.auth_type());
        if a.auth_type() == super::auth::AUTHN_WINNT {
            // NTLM's third leg has no answer (MS-RPCE §3.3.1.5.2.1).
            let call_id = conn.call_id();
            conn.send(&pdu::auth3(call_id, t, &token)?, "sending rpc_auth_3")?;
        } else if !token.is_empty() || more {
            // Kerberos in DCE style: the client's AP-REP travels in an alter_context
            // (MS-RPCE §3.3.1.5.2.1, MS-KILE §3.4.5.1).
            let call_id = conn.call_id();
            let alter = Bind {
                ptype: PacketType::AlterContext,
                flags: PFC_SUPPORT_HEADER_SIGN,
                call_id,
                max_xmit_frag: OFFERED_FRAG,
                max_recv_frag: OFFERED_FRAG,
                assoc_group: ack.assoc_group,
                contexts: &contexts,
                auth: Some((t, &token)),
            }
            .encode()?;
            conn.send(&alter, "sending alter_context")?;
            let reply = conn.read_fragment("reading alter_context_resp")?;
            let frag = Fragment::parse(&reply)?;
            match frag.header.ptype {
                PacketType::AlterContextResp => check_context(&BindAck::parse(frag.body)?)?,
                PacketType::Fault => {
                    return Err(DcError::Fault {
                        status: pdu::fault_status(frag.body)?,
                    });
                }
                other => return Err(unexpected(other)),
            }
            if more && !frag.token.is_empty() {
                a.step(Some(frag.token))?;
            }
        }
        conn.token_len = a.token_len()?;
        conn.auth = Some(a);
        Ok(conn)
    }

    /// The security context (for its session key).
    pub fn security_context(&self) -> Option<&SecurityContext> {
        self.auth.as_ref()
    }

    /// Calls `opnum` with the NDR `[in]` stub; returns the reassembled `[out]` stub.
    pub fn call(&mut self, opnum: u16, stub: &[u8]) -> Result<Vec<u8>, DcError> {
        let call_id = self.call_id();
        let sealed = self.auth.is_some();
        let per_frag =
            RequestFragment::max_stub(self.max_xmit, sealed.then_some(self.token_len)).max(16);
        let mut sent = 0;
        loop {
            let end = (sent + per_frag).min(stub.len());
            let mut flags = 0;
            if sent == 0 {
                flags |= PFC_FIRST_FRAG;
            }
            if end == stub.len() {
                flags |= PFC_LAST_FRAG;
            }
            let alloc_hint = u32::try_from(stub.len() - sent).unwrap_or(u32::MAX);
            let mut frag = RequestFragment::new(
                call_id,
                flags,
                CONTEXT_ID,
                opnum,
                alloc_hint,
                &stub[sent..end],
                self.auth.as_ref().map(|a| trailer(a.auth_type())),
                self.token_len,
            )?;
            if let Some(a) = self.auth.as_mut() {
                let (head, body, tr, token) = frag.parts_mut();
                a.seal(head, body, tr, token, self.header_sign)?;
            }
            self.send(&frag.into_bytes(), "sending a request")?;
            sent = end;
            if end == stub.len() {
                break;
            }
        }
        self.receive(call_id)
    }

    /// The response stub of call `call_id`, reassembled. Response stubs carry the replicated
    /// secrets (still under the session key): every fragment buffer, and the stub buffer each
    /// time it grows, is wiped before it is freed, and on an error the part read so far too.
    fn receive(&mut self, call_id: u32) -> Result<Vec<u8>, DcError> {
        let mut out = Zeroizing::new(Vec::new());
        let mut first = true;
        loop {
            let mut b = Zeroizing::new(self.read_fragment("reading a response")?);
            let header = pdu::Header::parse(&b)?;
            if header.call_id != call_id {
                return Err(DcError::Pdu {
                    offset: 12,
                    problem: PduProblem::CallId {
                        expected: call_id,
                        got: header.call_id,
                    },
                });
            }
            match header.ptype {
                PacketType::Response => {}
                PacketType::Fault => {
                    let f = Fragment::parse(&b)?;
                    return Err(DcError::Fault {
                        status: pdu::fault_status(f.body)?,
                    });
                }
                other => return Err(unexpected(other)),
            }
            if (header.flags & PFC_FIRST_FRAG != 0) != first {
                return Err(DcError::Pdu {
                    offset: 3,
                    problem: PduProblem::Fragmentation,
                });
            }
            first = false;
            let stub = self.open_response(&mut b, header)?;
            if out.len() + stub.len() > self.reply_limit {
                return Err(DcError::ReplyTooLarge {
                    limit: self.reply_limit,
                });
            }
            append_wiping(&mut out, stub);
            if header.flags & PFC_LAST_FRAG != 0 {
                return Ok(std::mem::take(&mut *out));
            }
        }
    }

    /// Unseals a response fragment in place and returns its stub without padding.
    fn open_response<'b>(
        &mut self,
        b: &'b mut [u8],
        header: pdu::Header,
    ) -> Result<&'b [u8], DcError> {
        let stub_start = HEADER_LEN + RESPONSE_HEADER_LEN;
        let Some(a) = self.auth.as_mut() else {
            if header.auth_len != 0 {
                return Err(trailer_error());
            }
            return b.get(stub_start..).ok_or(DcError::Pdu {
                offset: b.len(),
                problem: PduProblem::Truncated,
            });
        };
        let auth_len = header.auth_len as usize;
        let trailer_at = b
            .len()
            .checked_sub(auth_len + SEC_TRAILER_LEN)
            .filter(|&at| at >= stub_start && auth_len > 0)
            .ok_or_else(trailer_error)?;
        let t = b[trailer_at..trailer_at + SEC_TRAILER_LEN].to_vec();
        if t[0] != a.auth_type() || t[1] != AUTHN_LEVEL_PKT_PRIVACY {
            return Err(trailer_error());
        }
        let pad = t[2] as usize;
        let (head, rest) = b.split_at_mut(stub_start);
        let (body, rest) = rest.split_at_mut(trailer_at - stub_start);
        let (tr, token) = rest.split_at_mut(SEC_TRAILER_LEN);
        a.unseal(head, body, tr, token, self.header_sign)?;
        if pad > body.len() {
            return Err(DcError::Pdu {
                offset: trailer_at + 2,
                problem: PduProblem::AuthPad(t[2]),
            });
        }
        Ok(&b[stub_start..trailer_at - pad])
    }

    fn call_id(&mut self) -> u32 {
        let id = self.next_call_id;
        self.next_call_id = self.next_call_id.wrapping_add(1).max(1);
        id
    }

    fn send(&mut self, bytes: &[u8], what: &'static str) -> Result<(), DcError> {
        self.stream
            .write_all(bytes)
            .map_err(|source| io_error(what, source))
    }

    /// Reads one whole fragment (its `frag_length` bytes).
    fn read_fragment(&mut self, what: &'static str) -> Result<Vec<u8>, DcError> {
        let mut head = [0u8; HEADER_LEN];
        self.read_exact(&mut head, what)?;
        let h = pdu::Header::parse(&head)?;
        let len = h.frag_len as usize;
        if len > self.max_recv.max(REQUEST_HEADER_LEN + HEADER_LEN) {
            return Err(DcError::Pdu {
                offset: 8,
                problem: PduProblem::FragmentLength(h.frag_len),
            });
        }
        let mut b = vec![0u8; len];
        b[..HEADER_LEN].copy_from_slice(&head);
        self.read_exact(&mut b[HEADER_LEN..], what)?;
        Ok(b)
    }

    fn read_exact(&mut self, buf: &mut [u8], what: &'static str) -> Result<(), DcError> {
        self.stream.read_exact(buf).map_err(|source| {
            if source.kind() == ErrorKind::UnexpectedEof {
                DcError::Closed { what }
            } else {
                io_error(what, source)
            }
        })
    }
}

/// `out ‖ data`, growing `out` by hand so that the buffer it leaves is wiped (`Vec`'s own
/// growth frees the old buffer as it is).
fn append_wiping(out: &mut Vec<u8>, data: &[u8]) {
    if out.capacity() - out.len() < data.len() {
        let mut grown = Vec::with_capacity((out.len() + data.len()).max(2 * out.capacity()));
        grown.extend_from_slice(out);
        out.zeroize();
        *out = grown;
    }
    out.extend_from_slice(data);
}

fn io_error(what: &'static str, source: std::io::Error) -> DcError {
    match source.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => DcError::Timeout { what },
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            DcError::Closed { what }
        }
        _ => DcError::Io { what, source },
    }
}

fn trailer(auth_type: u8) -> SecTrailer {
    SecTrailer {
        auth_type,
        auth_level: AUTHN_LEVEL_PKT_PRIVACY,
        pad_len: 0,
        context_id: AUTH_CONTEXT_ID,
    }
}

fn trailer_error() -> DcError {
    DcError::Pdu {
        offset: 10,
        problem: PduProblem::Trailer,
    }
}

fn unexpected(t: PacketType) -> DcError {
    DcError::Pdu {
        offset: 2,
        problem: PduProblem::Unexpected(t as u8),
    }
}

fn check_context(ack: &BindAck) -> Result<(), DcError> {
    match ack.results.first() {
        Some(r) if r.result == 0 => Ok(()),
        Some(r) => Err(DcError::ContextRejected {
            result: r.result,
            reason: r.reason,
        }),
        None => Err(DcError::Pdu {
            offset: HEADER_LEN,
            problem: PduProblem::Truncated,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A server that answers with canned bytes and records what the client sent.
    struct Script {
        answers: Cursor<Vec<u8>>,
        sent: Vec<u8>,
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.answers.read(buf)
        }
    }

    impl Write for Script {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.sent.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn header(ptype: u8, flags: u8, len: usize, call_id: u32) -> Vec<u8> {
        let mut h = vec![5, 0, ptype, flags, 0x10, 0, 0, 0];
        h.extend_from_slice(&(len as u16).to_le_bytes());
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(&call_id.to_le_bytes());
        h
    }

    fn bind_ack(max_frag: u16) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&max_frag.to_le_bytes());
        body.extend_from_slice(&max_frag.to_le_bytes());
        body.extend_from_slice(&0x1234u32.to_le_bytes());
        body.extend_from_slice(&4u16.to_le_bytes());
        body.extend_from_slice(b"135\0");
        body.extend_from_slice(&[0, 0]); // pad to 4
        body.extend_from_slice(&[1, 0, 0, 0]);
        body.extend_from_slice(&[0, 0, 0, 0]);
        body.extend_from_slice(pdu::NDR20.uuid.as_bytes());
        body.extend_from_slice(&2u32.to_le_bytes());
        let mut p = header(12, 3, 16 + body.len(), 1);
        p.extend_from_slice(&body);
        p
    }

    fn response(flags: u8, call_id: u32, stub: &[u8]) -> Vec<u8> {
        let mut p = header(2, flags, 24 + stub.len(), call_id);
        p.extend_from_slice(&(stub.len() as u32).to_le_bytes());
        p.extend_from_slice(&[0, 0, 0, 0]);
        p.extend_from_slice(stub);
        p
    }

    fn connect(answers: Vec<u8>) -> Result<Connection<Script>, DcError> {
        let s = Script {
            answers: Cursor::new(answers),
            sent: Vec::new(),
        };
        Connection::bind_stream(s, "test".into(), pdu::NDR20, None, 64)
    }

    #[test]
    fn reassembles_fragments_and_cuts_requests_to_the_negotiated_size() {
        let mut a = bind_ack(1024);
        a.extend(response(PFC_FIRST_FRAG, 2, b"hello "));
        a.extend(response(0, 2, b"fragmented "));
        a.extend(response(PFC_LAST_FRAG, 2, b"world"));
        let mut c = connect(a).unwrap();
        let stub = vec![7u8; 3000];
        let out = c.call(3, &stub).unwrap();
        assert_eq!(out, b"hello fragmented world");
        // bind (72 bytes), then 3000 bytes in fragments of at most 1024
        let sent = &c.stream.sent[72..];
        let mut at = 0;
        let mut carried = 0;
        let mut frags = 0;
        while at < sent.len() {
            let h = pdu::Header::parse(&sent[at..]).unwrap();
            assert!(h.frag_len as usize <= 1024);
            assert_eq!(h.call_id, 2);
            carried += h.frag_len as usize - 24;
            at += h.frag_len as usize;
            frags += 1;
        }
        assert_eq!(carried, 3000);
        assert_eq!(frags, 3);
    }

    #[test]
    fn faults_naks_foreign_calls_and_oversized_replies_are_typed_errors() {
        let mut a = bind_ack(1024);
        let mut f = header(3, 3 | pdu::PFC_DID_NOT_EXECUTE, 32, 2);
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&0x1c01_0002u32.to_le_bytes());
        f.extend_from_slice(&[0; 4]);
        a.extend(f);
        let mut c = connect(a).unwrap();
        assert!(matches!(
            c.call(99, b"x"),
            Err(DcError::Fault {
                status: 0x1c01_0002
            })
        ));

        let mut nak = header(13, 3, 20, 1);
        nak.extend_from_slice(&[9, 0, 0, 0]);
        assert!(matches!(
            connect(nak),
            Err(DcError::BindRefused { reason: 9 })
        ));

        let mut a = bind_ack(1024);
        a.extend(response(3, 7, b"not yours"));
        let mut c = connect(a).unwrap();
        assert!(matches!(
            c.call(3, b"x"),
            Err(DcError::Pdu {
                problem: PduProblem::CallId {
                    expected: 2,
                    got: 7
                },
                ..
            })
        ));

        let mut a = bind_ack(1024);
        a.extend(response(3, 2, &[0; 65]));
        let mut c = connect(a).unwrap();
        assert!(matches!(
            c.call(3, b"x"),
            Err(DcError::ReplyTooLarge { limit: 64 })
        ));

        // a fragment longer than the negotiated size is refused before it is read
        let mut a = bind_ack(1024);
        a.extend(header(2, 3, 2000, 2));
        let mut c = connect(a).unwrap();
        assert!(matches!(
            c.call(3, b"x"),
            Err(DcError::Pdu {
                problem: PduProblem::FragmentLength(2000),
                ..
            })
        ));

        // the server hangs up mid-reply
        let mut a = bind_ack(1024);
        a.extend(&response(3, 2, b"cut")[..20]);
        let mut c = connect(a).unwrap();
        assert!(matches!(c.call(3, b"x"), Err(DcError::Closed { .. })));
        assert!(c.call(3, b"x").unwrap_err().is_transient());

        // not an RPC server at all
        assert!(matches!(
            connect(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()),
            Err(DcError::NotRpc { .. })
        ));
        // the server hangs up during the bind (a reset on reconnect): transient, retried —
        // not "not an RPC server"
        let e = connect(bind_ack(1024)[..10].to_vec()).unwrap_err();
        assert!(matches!(e, DcError::Closed { .. }), "{e}");
        assert!(e.is_transient());
        let e = connect(Vec::new()).unwrap_err();
        assert!(e.is_transient(), "{e}");
    }
}
