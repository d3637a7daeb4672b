//! A fake domain controller on 127.0.0.1 for the sealed transport: it accepts NTLM (`sspi`'s
//! server side), seals and unseals every fragment as MS-RPCE §3.3.1.5.2.2 lays them out, and
//! answers DRSUAPI calls with Samba's real `[out]` stubs:
//!
//! * `IDL_DRSBind` / `IDL_DRSUnbind`: `tests/vectors/dc_replies.txt` (Samba 4.17 on 127.0.0.1);
//! * `IDL_DRSGetNCChanges`: captured replies of `tests/fixtures/`, in the order given, their secret attributes re-encrypted from the capture's session key to this
//!   connection's (MS-DRSR §4.1.10.2.20: the salt and the CRC32-checked plaintext unchanged,
//!   the RC4 key MD5(new session key ‖ salt)). The bytes around them are Samba's.
//!
//! It records every call's reassembled, unsealed `[in]` stub, so a test can check what the
//! client asked. Knobs make it misbehave the way a network or a DC can: a small fragment size
//! (so requests and replies span many sealed fragments), a bit flipped in one sealed fragment,
//! a fragment sent twice, another password than the client's, a connection dropped after a
//! number of replies. Every wait is bounded ([`WAIT`]): a client that never comes fails the
//! test instead of hanging it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use phsync::dc::auth::fragment_buffers;
use phsync::dc::pdu::{
    self, Fragment, HEADER_LEN, PFC_FIRST_FRAG, PFC_LAST_FRAG, PFC_SUPPORT_HEADER_SIGN, PacketType,
    REQUEST_HEADER_LEN, RESPONSE_HEADER_LEN, SEC_TRAILER_LEN,
};
use phsync::drs::crypto::{decrypt_value, encrypt_payload};
use phsync::drs::{Attr, Reply, SessionKey, UsnVector};
use sspi::{
    AuthIdentity, AuthIdentityBuffers, BufferType, CredentialUse, DataRepresentation,
    EncryptionFlags, Ntlm, SecurityBuffer, SecurityStatus, ServerRequestFlags, Sspi, Username,
};

use crate::common;

/// The account both sides know.
pub const USER: &str = "phsync-repl";
/// Its domain.
pub const DOMAIN: &str = "DRSXKVP";
/// Its password.
pub const PASSWORD: &str = "Fake-DC p4ssw0rd!";

/// The longest the fake DC waits for a connection or a fragment.
pub const WAIT: Duration = Duration::from_secs(30);

/// `IDL_DRSGetNCChanges`'s opnum (MS-DRSR §4.1.10).
pub const OPNUM_GET_NC_CHANGES: u16 = 3;
/// `nca_s_fault_access_denied` as Windows sends it for a refused NTLM third leg.
const FAULT_ACCESS_DENIED: u32 = 5;
/// NTLM's signature length (MS-NLMP §2.2.2.9.1).
const NTLM_TOKEN_LEN: usize = 16;

/// What the fake DC does.
pub struct Script {
    /// The password the server checks the client's NTLM response against.
    pub password: String,
    /// The server's `max_xmit_frag` (the largest fragment it sends).
    pub max_xmit_frag: u16,
    /// The server's `max_recv_frag` (the largest fragment the client may send).
    pub max_recv_frag: u16,
    /// The `IDL_DRSGetNCChanges` answers, in order: a captured `[out]` stub and its capture's
    /// session key.
    pub get_nc_changes: Vec<(Vec<u8>, SessionKey)>,
    /// Flip one bit of the sealed stub of this response fragment (counted from 0 over the
    /// connection).
    pub tamper_fragment: Option<usize>,
    /// Send this response fragment (counted as above) twice: a replay, valid but for its
    /// sequence number.
    pub replay_fragment: Option<usize>,
    /// Close the connection instead of sending this `IDL_DRSGetNCChanges` answer (from 0).
    pub drop_at_reply: Option<usize>,
}

impl Script {
    /// An honest DC serving `get_nc_changes`, with Windows' default fragment size.
    pub fn serving(get_nc_changes: Vec<(Vec<u8>, SessionKey)>) -> Script {
        Script {
            password: PASSWORD.into(),
            max_xmit_frag: 5840,
            max_recv_frag: 5840,
            get_nc_changes,
            tamper_fragment: None,
            replay_fragment: None,
            drop_at_reply: None,
        }
    }
}

/// What the fake DC saw.
#[derive(Debug, Default)]
pub struct Served {
    /// `(opnum, unsealed [in] stub)` of every call, in order.
    pub calls: Vec<(u16, Vec<u8>)>,
    /// Request fragments received (all of them sealed and checked).
    pub request_fragments: usize,
    /// Response fragments sent.
    pub response_fragments: usize,
    /// The NTLM session key, once the third leg was accepted.
    pub session_key: Option<Vec<u8>>,
    /// Why the server stopped early, if it did.
    pub refused: Option<String>,
}

/// A running fake DC: its port, and the thread to join for what it [`Served`].
pub struct FakeDc {
    /// The DRSUAPI port on 127.0.0.1.
    pub port: u16,
    thread: JoinHandle<Vec<Served>>,
}

impl FakeDc {
    /// Listens on an ephemeral port and serves one connection by `script`.
    pub fn start(script: Script) -> FakeDc {
        FakeDc::start_each(vec![script])
    }

    /// Serves one connection per script, one after the other (a client that reconnects).
    pub fn start_each(scripts: Vec<Script>) -> FakeDc {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let thread = std::thread::spawn(move || {
            let mut all = Vec::new();
            for script in scripts {
                let mut served = Served::default();
                let Some(stream) = accept_within(&listener, WAIT) else {
                    served.refused = Some(format!("no connection within {WAIT:?}"));
                    all.push(served);
                    break;
                };
                let mut server = Server {
                    stream,
                    script,
                    ntlm: Ntlm::new(),
                    creds: None,
                    authenticated: false,
                    header_sign: false,
                    context_id: 0,
                    replies: 0,
                };
                if let Err(e) = server.run(&mut served) {
                    served.refused = Some(e);
                }
                all.push(served);
            }
            all
        });
        FakeDc { port, thread }
    }

    /// Waits for the one connection to end.
    pub fn join(self) -> Served {
        let mut all = self.join_each();
        assert_eq!(all.len(), 1, "one connection");
        all.remove(0)
    }

    /// Waits for every connection to end; what each saw.
    pub fn join_each(self) -> Vec<Served> {
        self.thread.join().expect("fake DC thread")
    }
}

struct Server {
    stream: TcpStream,
    script: Script,
    ntlm: Ntlm,
    creds: Option<AuthIdentityBuffers>,
    authenticated: bool,
    header_sign: bool,
    context_id: u32,
    replies: usize,
}

impl Server {
    fn run(&mut self, served: &mut Served) -> Result<(), String> {
        self.bind()?;
        self.auth3(served)?;
        let mut stub = Vec::new();
        loop {
            let Some(mut b) = self.read_fragment()? else {
                return Ok(()); // the client closed
            };
            let h = pdu::Header::parse(&b).map_err(|e| e.to_string())?;
            if h.ptype != PacketType::Request {
                return Err(format!("a {:?} where a request was due", h.ptype));
            }
            if !self.authenticated {
                self.send_fault(h.call_id, FAULT_ACCESS_DENIED)?;
                return Err("a request after a refused third leg".into());
            }
            served.request_fragments += 1;
            if h.flags & PFC_FIRST_FRAG != 0 {
                stub.clear();
            }
            let opnum = u16::from_le_bytes([b[22], b[23]]);
            stub.extend_from_slice(self.unseal(&mut b)?);
            if h.flags & PFC_LAST_FRAG == 0 {
                continue;
            }
            served.calls.push((opnum, std::mem::take(&mut stub)));
            let answer = match opnum {
                0 => common::dc_reply("drs_bind"),
                1 => common::dc_reply("drs_unbind"),
                OPNUM_GET_NC_CHANGES => {
                    let n = self.replies;
                    self.replies += 1;
                    if self.script.drop_at_reply == Some(n) {
                        return Ok(());
                    }
                    let Some((captured, key)) = self.script.get_nc_changes.get(n) else {
                        return Err(format!("IDL_DRSGetNCChanges call {n} beyond the script"));
                    };
                    let new_key = SessionKey::new(served.session_key.as_deref().unwrap());
                    reencrypt(captured, key, &new_key)
                }
                other => return Err(format!("opnum {other}")),
            };
            self.respond(h.call_id, &answer, served)?;
        }
    }

    /// `bind` in, `bind_ack` with the NTLM challenge out.
    fn bind(&mut self) -> Result<(), String> {
        let b = self.read_fragment()?.ok_or("closed before bind")?;
        let f = Fragment::parse(&b).map_err(|e| e.to_string())?;
        if f.header.ptype != PacketType::Bind {
            return Err(format!("{:?} instead of bind", f.header.ptype));
        }
        let trailer = f.trailer.ok_or("an unauthenticated bind")?;
        self.context_id = trailer.context_id;
        self.header_sign = f.header.flags & PFC_SUPPORT_HEADER_SIGN != 0;
        let identity = AuthIdentity {
            username: Username::new(USER, Some(DOMAIN)).unwrap(),
            password: self.script.password.clone().into(),
        };
        self.creds = self
            .ntlm
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Inbound)
            .with_auth_data(&identity)
            .execute(&mut self.ntlm)
            .map_err(|e| e.to_string())?
            .credentials_handle;
        let (challenge, _) = self.accept(f.token)?;
        // bind_ack body (C706 §12.6.4.4): sizes, assoc group, secondary address "0\0",
        // padding to 4, one result: acceptance of NDR20.
        let mut body = Vec::new();
        body.extend_from_slice(&self.script.max_xmit_frag.to_le_bytes());
        body.extend_from_slice(&self.script.max_recv_frag.to_le_bytes());
        body.extend_from_slice(&0x1234_5678u32.to_le_bytes());
        body.extend_from_slice(&2u16.to_le_bytes());
        body.extend_from_slice(b"0\0");
        while !(HEADER_LEN + body.len()).is_multiple_of(4) {
            body.push(0);
        }
        body.extend_from_slice(&[1, 0, 0, 0]);
        body.extend_from_slice(&[0, 0, 0, 0]);
        body.extend_from_slice(pdu::NDR20.uuid.as_bytes());
        body.extend_from_slice(&pdu::NDR20.major.to_le_bytes());
        body.extend_from_slice(&pdu::NDR20.minor.to_le_bytes());
        let flags = PFC_FIRST_FRAG | PFC_LAST_FRAG | (f.header.flags & PFC_SUPPORT_HEADER_SIGN);
        let pdu = with_auth(
            PacketType::BindAck,
            flags,
            f.header.call_id,
            &body,
            self.context_id,
            &challenge,
        );
        self.stream.write_all(&pdu).map_err(|e| e.to_string())
    }

    /// `rpc_auth_3` in; nothing out (MS-RPCE §3.3.1.5.2.1).
    fn auth3(&mut self, served: &mut Served) -> Result<(), String> {
        let b = self.read_fragment()?.ok_or("closed before rpc_auth_3")?;
        let f = Fragment::parse(&b).map_err(|e| e.to_string())?;
        if f.header.ptype != PacketType::Auth3 {
            return Err(format!("{:?} instead of rpc_auth_3", f.header.ptype));
        }
        match self.accept(f.token) {
            Ok((_, status)) => {
                if status == SecurityStatus::CompleteNeeded {
                    self.ntlm
                        .complete_auth_token(&mut [])
                        .map_err(|e| e.to_string())?;
                }
                let key = self
                    .ntlm
                    .query_context_session_key()
                    .map_err(|e| e.to_string())?;
                served.session_key = Some(key.session_key.as_ref().to_vec());
                self.authenticated = true;
            }
            // Refused: Windows says so at the first request (access denied).
            Err(_) => self.authenticated = false,
        }
        Ok(())
    }

    fn accept(&mut self, token: &[u8]) -> Result<(Vec<u8>, SecurityStatus), String> {
        let mut input = [SecurityBuffer::new(token.to_vec(), BufferType::Token)];
        let mut output = [SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let result = self
            .ntlm
            .accept_security_context()
            .with_credentials_handle(&mut self.creds)
            .with_context_requirements(ServerRequestFlags::empty())
            .with_target_data_representation(DataRepresentation::Native)
            .with_input(&mut input)
            .with_output(&mut output)
            .execute(&mut self.ntlm)
            .and_then(|mut g| g.resolve_to_result())
            .map_err(|e| e.to_string())?;
        Ok((std::mem::take(&mut output[0].buffer), result.status))
    }

    /// Checks and decrypts a request fragment in place; its stub without padding.
    fn unseal<'b>(&mut self, b: &'b mut [u8]) -> Result<&'b [u8], String> {
        let f = Fragment::parse(b).map_err(|e| e.to_string())?;
        let pad = f.trailer.ok_or("an unsealed request")?.pad_len as usize;
        let trailer_at = b.len() - f.token.len() - SEC_TRAILER_LEN;
        self.seal_or_unseal(b, HEADER_LEN + REQUEST_HEADER_LEN, false)
            .map_err(|e| format!("unsealing a request: {e}"))?;
        Ok(&b[HEADER_LEN + REQUEST_HEADER_LEN..trailer_at - pad])
    }

    /// `EncryptMessage` (`seal`) or `DecryptMessage` over a whole fragment whose stub starts
    /// at `stub_start` and whose trailer and NTLM token end it.
    fn seal_or_unseal(
        &mut self,
        frag: &mut [u8],
        stub_start: usize,
        seal: bool,
    ) -> Result<(), sspi::Error> {
        let trailer_at = frag.len() - NTLM_TOKEN_LEN - SEC_TRAILER_LEN;
        let (head, rest) = frag.split_at_mut(stub_start);
        let (stub, rest) = rest.split_at_mut(trailer_at - stub_start);
        let (trailer, token) = rest.split_at_mut(SEC_TRAILER_LEN);
        let mut bufs = fragment_buffers(head, stub, trailer, token, self.header_sign);
        if seal {
            self.ntlm
                .encrypt_message(EncryptionFlags::empty(), &mut bufs)
                .map(drop)
        } else {
            self.ntlm.decrypt_message(&mut bufs).map(drop)
        }
    }

    /// The `[out]` stub as sealed `response` fragments of at most `max_xmit_frag` bytes.
    fn respond(&mut self, call_id: u32, stub: &[u8], served: &mut Served) -> Result<(), String> {
        let room = self.script.max_xmit_frag as usize
            - HEADER_LEN
            - RESPONSE_HEADER_LEN
            - SEC_TRAILER_LEN
            - NTLM_TOKEN_LEN;
        let per_frag = room - room % 16;
        let count = stub.len().div_ceil(per_frag).max(1);
        let stub_start = HEADER_LEN + RESPONSE_HEADER_LEN;
        for i in 0..count {
            let sent = i * per_frag;
            let piece = &stub[sent..(sent + per_frag).min(stub.len())];
            let first = if i == 0 { PFC_FIRST_FRAG } else { 0 };
            let last = if i + 1 == count { PFC_LAST_FRAG } else { 0 };
            let pad = (16 - piece.len() % 16) % 16;
            let mut body = Vec::with_capacity(RESPONSE_HEADER_LEN + piece.len() + pad);
            body.extend_from_slice(&((stub.len() - sent) as u32).to_le_bytes());
            body.extend_from_slice(&[0, 0, 0, 0]); // p_cont_id 0, cancel_count, reserved
            body.extend_from_slice(piece);
            body.resize(body.len() + pad, 0);
            let mut frag = with_auth(
                PacketType::Response,
                first | last,
                call_id,
                &body,
                self.context_id,
                &[0u8; NTLM_TOKEN_LEN],
            );
            frag[stub_start + piece.len() + pad + 2] = pad as u8;
            self.seal_or_unseal(&mut frag, stub_start, true)
                .map_err(|e| format!("sealing a response: {e}"))?;
            if self.script.tamper_fragment == Some(served.response_fragments) {
                frag[stub_start + piece.len() / 2] ^= 0x01;
            }
            if self.script.replay_fragment == Some(served.response_fragments) {
                self.stream.write_all(&frag).map_err(|e| e.to_string())?;
            }
            served.response_fragments += 1;
            self.stream.write_all(&frag).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn send_fault(&mut self, call_id: u32, status: u32) -> Result<(), String> {
        // fault body (C706 §12.6.4.7): alloc_hint, p_cont_id, cancel_count, reserved, status,
        // reserved.
        let mut body = vec![0u8; 8];
        body.extend_from_slice(&status.to_le_bytes());
        body.extend_from_slice(&[0, 0, 0, 0]);
        let mut pdu = header(
            PacketType::Fault,
            PFC_FIRST_FRAG | PFC_LAST_FRAG,
            HEADER_LEN + body.len(),
            0,
            call_id,
        );
        pdu.extend_from_slice(&body);
        self.stream.write_all(&pdu).map_err(|e| e.to_string())
    }

    /// One whole fragment, or `None` when the client closed between fragments.
    fn read_fragment(&mut self) -> Result<Option<Vec<u8>>, String> {
        let mut head = [0u8; HEADER_LEN];
        match self.stream.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.to_string()),
        }
        let len = u16::from_le_bytes([head[8], head[9]]) as usize;
        if len > self.script.max_recv_frag as usize {
            return Err(format!(
                "a {len}-byte fragment, above max_recv_frag {}",
                self.script.max_recv_frag
            ));
        }
        let mut b = vec![0u8; len.max(HEADER_LEN)];
        b[..HEADER_LEN].copy_from_slice(&head);
        self.stream
            .read_exact(&mut b[HEADER_LEN..])
            .map_err(|e| e.to_string())?;
        Ok(Some(b))
    }
}

/// The next connection, with read and write timeouts of [`WAIT`], or `None` after `wait`.
fn accept_within(listener: &TcpListener, wait: Duration) -> Option<TcpStream> {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + wait;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(WAIT)).unwrap();
                stream.set_write_timeout(Some(WAIT)).unwrap();
                return Some(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// The common header (C706 §12.6.1), little-endian NDR.
fn header(ptype: PacketType, flags: u8, frag_len: usize, auth_len: u16, call_id: u32) -> Vec<u8> {
    let mut h = vec![5, 0, ptype as u8, flags];
    h.extend_from_slice(&pdu::DREP_LE);
    h.extend_from_slice(&(frag_len as u16).to_le_bytes());
    h.extend_from_slice(&auth_len.to_le_bytes());
    h.extend_from_slice(&call_id.to_le_bytes());
    h
}

/// `header | body | sec_trailer (NTLM, packet privacy) | token`; `body` already padded.
fn with_auth(
    ptype: PacketType,
    flags: u8,
    call_id: u32,
    body: &[u8],
    context_id: u32,
    token: &[u8],
) -> Vec<u8> {
    let len = HEADER_LEN + body.len() + SEC_TRAILER_LEN + token.len();
    let mut pdu = header(ptype, flags, len, token.len() as u16, call_id);
    pdu.extend_from_slice(body);
    pdu.extend_from_slice(&[0x0a, 6, 0, 0]);
    pdu.extend_from_slice(&context_id.to_le_bytes());
    pdu.extend_from_slice(token);
    pdu
}

/// `stub` with every secret attribute value moved from `old` to `new` session key (layer 1 of
/// MS-DRSR §4.1.10.2.20; the RID DES layer inside is untouched). Values are found by their
/// bytes: each begins with a random 16-byte salt.
pub fn reencrypt(stub: &[u8], old: &SessionKey, new: &SessionKey) -> Vec<u8> {
    let reply = Reply::decode(stub).expect("a captured reply decodes");
    let mut out = stub.to_vec();
    for object in reply.objects() {
        for attr in object.attributes() {
            if !attr.known().is_some_and(Attr::is_secret) {
                continue;
            }
            for value in attr.values() {
                let at = find(&out, value).expect("a secret value is in the stub");
                // Layer 1 only: an attribute without the RID layer.
                let plain = decrypt_value(
                    Attr::SupplementalCredentials,
                    None,
                    std::slice::from_ref(old),
                    value,
                )
                .expect("the capture's key decrypts its values");
                let salt: [u8; 16] = value[..16].try_into().unwrap();
                let sealed = encrypt_payload(new, &salt, plain.as_bytes());
                out[at..at + value.len()].copy_from_slice(&sealed);
            }
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether an `[in]` stub carries `usn` (three little-endian hypers): the watermark an
/// `IDL_DRSGetNCChanges` request continues from (`usnvecFrom`).
pub fn continues_from(request: &[u8], usn: UsnVector) -> bool {
    let bytes: Vec<u8> = [
        usn.usn_high_obj_update,
        usn.usn_reserved,
        usn.usn_high_prop_update,
    ]
    .iter()
    .flat_map(|v| v.to_le_bytes())
    .collect();
    request.windows(bytes.len()).any(|w| w == bytes)
}
