//! Connection-oriented DCE/RPC PDUs (C706 §12.6, MS-RPCE §2.2.2): the 16-byte common header,
//! `bind`/`alter_context` and their acknowledgements, `rpc_auth_3`, `request`, `response`,
//! `fault`, and the `sec_trailer` that precedes an authentication token.
//!
//! Encoding builds one fragment at a time into a `Vec<u8>`; decoding borrows a whole fragment
//! (read by [`super::conn`] using `frag_length`) and checks every length against it. Only the
//! little-endian, ASCII, IEEE data representation is produced; a peer answering in another
//! representation is refused (MS-RPCE §2.2.2.2: servers answer in the client's).

use crate::ad::guid::Guid;

use super::error::{DcError, PduProblem};

/// Length of the common header (C706 §12.6.1).
pub const HEADER_LEN: usize = 16;
/// Length of the `request` PDU's own header after the common header (alloc_hint, p_cont_id,
/// opnum), with no object UUID.
pub const REQUEST_HEADER_LEN: usize = 8;
/// Length of the `response` PDU's own header (alloc_hint, p_cont_id, cancel_count, reserved).
pub const RESPONSE_HEADER_LEN: usize = 8;
/// Length of the `sec_trailer` (MS-RPCE §2.2.2.11).
pub const SEC_TRAILER_LEN: usize = 8;
/// Stub data plus padding is a multiple of this when a PDU is sealed (MS-RPCE §2.2.2.11:
/// "the security trailer must be aligned to a 16-byte boundary" relative to the stub).
pub const AUTH_PAD_ALIGN: usize = 16;

/// `PFC_FIRST_FRAG` (C706 §12.6.3.1).
pub const PFC_FIRST_FRAG: u8 = 0x01;
/// `PFC_LAST_FRAG`.
pub const PFC_LAST_FRAG: u8 = 0x02;
/// `PFC_SUPPORT_HEADER_SIGN` in `bind` and `bind_ack` (MS-RPCE §2.2.2.3): sign the headers too.
pub const PFC_SUPPORT_HEADER_SIGN: u8 = 0x04;
/// `PFC_CONC_MPX` (C706 §12.6.3.1).
pub const PFC_CONC_MPX: u8 = 0x10;
/// `PFC_DID_NOT_EXECUTE` in a `fault`: the call was not started.
pub const PFC_DID_NOT_EXECUTE: u8 = 0x20;
/// `PFC_OBJECT_UUID` in a `request`.
pub const PFC_OBJECT_UUID: u8 = 0x80;

/// `packed_drep` for little-endian integers, ASCII characters, IEEE floats (C706 §14.1).
pub const DREP_LE: [u8; 4] = [0x10, 0, 0, 0];

/// NDR 2.0 transfer syntax, 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0 (C706 Appendix I).
pub const NDR20: InterfaceId = InterfaceId {
    uuid: Guid::from_bytes_le([
        0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48,
        0x60,
    ]),
    major: 2,
    minor: 0,
};

/// PDU types used here (C706 §12.6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PacketType {
    /// `request`.
    Request = 0,
    /// `response`.
    Response = 2,
    /// `fault`.
    Fault = 3,
    /// `bind`.
    Bind = 11,
    /// `bind_ack`.
    BindAck = 12,
    /// `bind_nak`.
    BindNak = 13,
    /// `alter_context`.
    AlterContext = 14,
    /// `alter_context_resp`.
    AlterContextResp = 15,
    /// `rpc_auth_3` (MS-RPCE §2.2.2.10).
    Auth3 = 16,
    /// `shutdown`.
    Shutdown = 17,
}

impl PacketType {
    fn from_u8(v: u8) -> Option<PacketType> {
        Some(match v {
            0 => PacketType::Request,
            2 => PacketType::Response,
            3 => PacketType::Fault,
            11 => PacketType::Bind,
            12 => PacketType::BindAck,
            13 => PacketType::BindNak,
            14 => PacketType::AlterContext,
            15 => PacketType::AlterContextResp,
            16 => PacketType::Auth3,
            17 => PacketType::Shutdown,
            _ => return None,
        })
    }
}

/// An interface or transfer syntax: UUID and version (`p_syntax_id_t`, C706 §12.6.3.1; the
/// same pair names an interface in an endpoint-mapper tower, C706 Appendix L).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InterfaceId {
    /// The interface UUID.
    pub uuid: Guid,
    /// Major version.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
}

impl InterfaceId {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.uuid.as_bytes());
        out.extend_from_slice(&self.major.to_le_bytes());
        out.extend_from_slice(&self.minor.to_le_bytes());
    }
}

/// The common header (C706 §12.6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// PDU type.
    pub ptype: PacketType,
    /// `pfc_flags`.
    pub flags: u8,
    /// Whole fragment length, header included.
    pub frag_len: u16,
    /// Length of the authentication token at the end of the fragment.
    pub auth_len: u16,
    /// Call identifier.
    pub call_id: u32,
}

impl Header {
    /// Reads and checks the 16-byte common header.
    pub fn parse(b: &[u8]) -> Result<Header, DcError> {
        if b.len() < HEADER_LEN {
            return Err(pdu(0, PduProblem::Truncated));
        }
        if b[0] != 5 || b[1] != 0 {
            return Err(pdu(0, PduProblem::Version(b[0], b[1])));
        }
        let ptype = PacketType::from_u8(b[2]).ok_or(pdu(2, PduProblem::PacketType(b[2])))?;
        if b[4..8] != DREP_LE {
            return Err(pdu(4, PduProblem::DataRepresentation));
        }
        let frag_len = u16::from_le_bytes([b[8], b[9]]);
        let auth_len = u16::from_le_bytes([b[10], b[11]]);
        if (frag_len as usize) < HEADER_LEN {
            return Err(pdu(8, PduProblem::FragmentLength(frag_len)));
        }
        Ok(Header {
            ptype,
            flags: b[3],
            frag_len,
            auth_len,
            call_id: u32::from_le_bytes([b[12], b[13], b[14], b[15]]),
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[5, 0, self.ptype as u8, self.flags]);
        out.extend_from_slice(&DREP_LE);
        out.extend_from_slice(&self.frag_len.to_le_bytes());
        out.extend_from_slice(&self.auth_len.to_le_bytes());
        out.extend_from_slice(&self.call_id.to_le_bytes());
    }
}

fn pdu(offset: usize, problem: PduProblem) -> DcError {
    DcError::Pdu { offset, problem }
}

/// The `sec_trailer` (MS-RPCE §2.2.2.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecTrailer {
    /// `auth_type`: 0x0a NTLM, 0x10 Kerberos, 0x09 SPNEGO (MS-RPCE §2.2.1.1.7).
    pub auth_type: u8,
    /// `auth_level`: 6 is packet privacy (MS-RPCE §2.2.1.1.8).
    pub auth_level: u8,
    /// Bytes of padding between the stub and the trailer.
    pub pad_len: u8,
    /// `auth_context_id`.
    pub context_id: u32,
}

impl SecTrailer {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.auth_type, self.auth_level, self.pad_len, 0]);
        out.extend_from_slice(&self.context_id.to_le_bytes());
    }

    fn parse(b: &[u8; SEC_TRAILER_LEN]) -> SecTrailer {
        SecTrailer {
            auth_type: b[0],
            auth_level: b[1],
            pad_len: b[2],
            context_id: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

/// One presentation context offered in a `bind` or `alter_context`.
#[derive(Clone, Copy, Debug)]
pub struct PresentationContext {
    /// `p_cont_id`.
    pub id: u16,
    /// The interface.
    pub abstract_syntax: InterfaceId,
    /// The one transfer syntax offered.
    pub transfer_syntax: InterfaceId,
}

/// The fields of a `bind` or `alter_context` PDU (C706 §12.6.4.3).
#[derive(Clone, Debug)]
pub struct Bind<'a> {
    /// `Bind` or `AlterContext`.
    pub ptype: PacketType,
    /// `pfc_flags` besides first/last (e.g. [`PFC_SUPPORT_HEADER_SIGN`]).
    pub flags: u8,
    /// Call identifier.
    pub call_id: u32,
    /// Largest fragment the client sends.
    pub max_xmit_frag: u16,
    /// Largest fragment the client receives.
    pub max_recv_frag: u16,
    /// Association group (0: a new one).
    pub assoc_group: u32,
    /// Offered contexts.
    pub contexts: &'a [PresentationContext],
    /// Trailer and token, when authenticating.
    pub auth: Option<(SecTrailer, &'a [u8])>,
}

impl Bind<'_> {
    /// The whole PDU.
    pub fn encode(&self) -> Result<Vec<u8>, DcError> {
        let mut body = Vec::with_capacity(64);
        body.extend_from_slice(&self.max_xmit_frag.to_le_bytes());
        body.extend_from_slice(&self.max_recv_frag.to_le_bytes());
        body.extend_from_slice(&self.assoc_group.to_le_bytes());
        body.extend_from_slice(&[self.contexts.len() as u8, 0, 0, 0]);
        for c in self.contexts {
            body.extend_from_slice(&c.id.to_le_bytes());
            body.extend_from_slice(&[1, 0]);
            c.abstract_syntax.write(&mut body);
            c.transfer_syntax.write(&mut body);
        }
        assemble(self.ptype, self.flags, self.call_id, &body, self.auth)
    }
}

/// The `rpc_auth_3` PDU: the third NTLM leg (MS-RPCE §2.2.2.10; four bytes of padding, then the
/// trailer and the token).
pub fn auth3(call_id: u32, trailer: SecTrailer, token: &[u8]) -> Result<Vec<u8>, DcError> {
    assemble(
        PacketType::Auth3,
        0,
        call_id,
        &[0u8; 4],
        Some((trailer, token)),
    )
}

fn assemble(
    ptype: PacketType,
    flags: u8,
    call_id: u32,
    body: &[u8],
    auth: Option<(SecTrailer, &[u8])>,
) -> Result<Vec<u8>, DcError> {
    let auth_len = auth.map_or(0, |(_, t)| t.len());
    let pad = match auth {
        // The trailer starts 4-aligned (C706 §12.6.3.1 "auth_verifier ... 4-octet aligned").
        Some(_) => (4 - (HEADER_LEN + body.len()) % 4) % 4,
        None => 0,
    };
    let total = HEADER_LEN + body.len() + pad + auth.map_or(0, |_| SEC_TRAILER_LEN) + auth_len;
    let frag_len = u16::try_from(total).map_err(|_| DcError::TooLarge {
        what: "PDU",
        len: total,
    })?;
    let auth_len = u16::try_from(auth_len).map_err(|_| DcError::TooLarge {
        what: "authentication token",
        len: auth_len,
    })?;
    let mut out = Vec::with_capacity(total);
    Header {
        ptype,
        flags: flags | PFC_FIRST_FRAG | PFC_LAST_FRAG,
        frag_len,
        auth_len,
        call_id,
    }
    .write(&mut out);
    out.extend_from_slice(body);
    if let Some((mut trailer, token)) = auth {
        out.resize(out.len() + pad, 0);
        trailer.pad_len = pad as u8;
        trailer.write(&mut out);
        out.extend_from_slice(token);
    }
    Ok(out)
}

/// One `request` fragment laid out for sealing: `[header | stub + pad | trailer | token]`.
/// [`RequestFragment::parts_mut`] hands the four parts to the security context, which encrypts
/// the stub in place and writes the token.
pub struct RequestFragment {
    bytes: Vec<u8>,
    stub_end: usize,
    token_len: usize,
}

impl RequestFragment {
    /// Lays out a fragment carrying `stub` (already cut to fit), padded to [`AUTH_PAD_ALIGN`]
    /// when a token of `token_len` bytes follows (`trailer` given), unpadded otherwise.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        call_id: u32,
        flags: u8,
        context_id: u16,
        opnum: u16,
        alloc_hint: u32,
        stub: &[u8],
        trailer: Option<SecTrailer>,
        token_len: usize,
    ) -> Result<RequestFragment, DcError> {
        let pad = match trailer {
            Some(_) => (AUTH_PAD_ALIGN - stub.len() % AUTH_PAD_ALIGN) % AUTH_PAD_ALIGN,
            None => 0,
        };
        let token_len = if trailer.is_some() { token_len } else { 0 };
        let trailer_len = trailer.map_or(0, |_| SEC_TRAILER_LEN);
        let total = HEADER_LEN + REQUEST_HEADER_LEN + stub.len() + pad + trailer_len + token_len;
        let frag_len = u16::try_from(total).map_err(|_| DcError::TooLarge {
            what: "request fragment",
            len: total,
        })?;
        let mut bytes = Vec::with_capacity(total);
        Header {
            ptype: PacketType::Request,
            flags,
            frag_len,
            auth_len: token_len as u16,
            call_id,
        }
        .write(&mut bytes);
        bytes.extend_from_slice(&alloc_hint.to_le_bytes());
        bytes.extend_from_slice(&context_id.to_le_bytes());
        bytes.extend_from_slice(&opnum.to_le_bytes());
        bytes.extend_from_slice(stub);
        bytes.resize(bytes.len() + pad, 0);
        let stub_end = bytes.len();
        if let Some(mut t) = trailer {
            t.pad_len = pad as u8;
            t.write(&mut bytes);
            bytes.resize(total, 0);
        }
        Ok(RequestFragment {
            bytes,
            stub_end,
            token_len,
        })
    }

    /// The largest stub a fragment of `max_frag` bytes carries with a token of `token_len`
    /// bytes, keeping the padded stub a multiple of [`AUTH_PAD_ALIGN`].
    pub fn max_stub(max_frag: usize, token_len: Option<usize>) -> usize {
        let room = max_frag.saturating_sub(HEADER_LEN + REQUEST_HEADER_LEN);
        match token_len {
            None => room,
            Some(t) => {
                let room = room.saturating_sub(SEC_TRAILER_LEN + t);
                room - room % AUTH_PAD_ALIGN
            }
        }
    }

    /// `(headers, stub + pad, trailer, token)`.
    pub fn parts_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8], &mut [u8]) {
        let token_start = self.bytes.len() - self.token_len;
        let (head, rest) = self.bytes.split_at_mut(HEADER_LEN + REQUEST_HEADER_LEN);
        let (stub, rest) = rest.split_at_mut(self.stub_end - HEADER_LEN - REQUEST_HEADER_LEN);
        let (trailer, token) = rest.split_at_mut(token_start - self.stub_end);
        (head, stub, trailer, token)
    }

    /// The finished fragment.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// A received fragment, split: the body between the common header and the trailer, and the
/// trailer and token when `auth_len` is non-zero.
#[derive(Debug)]
pub struct Fragment<'a> {
    /// The common header.
    pub header: Header,
    /// Everything after the common header up to the padding before the trailer (or the end).
    pub body: &'a [u8],
    /// The trailer, if authenticated.
    pub trailer: Option<SecTrailer>,
    /// The token after the trailer.
    pub token: &'a [u8],
}

impl<'a> Fragment<'a> {
    /// Splits a whole fragment (`frag_len` bytes).
    pub fn parse(b: &'a [u8]) -> Result<Fragment<'a>, DcError> {
        let header = Header::parse(b)?;
        if header.frag_len as usize != b.len() {
            return Err(pdu(8, PduProblem::FragmentLength(header.frag_len)));
        }
        if header.auth_len == 0 {
            return Ok(Fragment {
                header,
                body: &b[HEADER_LEN..],
                trailer: None,
                token: &[],
            });
        }
        let auth_len = header.auth_len as usize;
        let trailer_at = b
            .len()
            .checked_sub(auth_len + SEC_TRAILER_LEN)
            .filter(|&at| at >= HEADER_LEN)
            .ok_or(pdu(10, PduProblem::AuthLength(header.auth_len)))?;
        let trailer = SecTrailer::parse(
            b[trailer_at..trailer_at + SEC_TRAILER_LEN]
                .try_into()
                .unwrap(),
        );
        Ok(Fragment {
            header,
            body: &b[HEADER_LEN..trailer_at],
            trailer: Some(trailer),
            token: &b[trailer_at + SEC_TRAILER_LEN..],
        })
    }
}

/// One result of a `bind_ack` (`p_result_t`, C706 §12.6.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextResult {
    /// 0 acceptance, 1 user rejection, 2 provider rejection, 3 negotiate_ack.
    pub result: u16,
    /// The provider's reason when rejected.
    pub reason: u16,
    /// The transfer syntax accepted.
    pub transfer_syntax: InterfaceId,
}

/// A `bind_ack` or `alter_context_resp` body (C706 §12.6.4.4).
#[derive(Clone, Debug)]
pub struct BindAck {
    /// Largest fragment the server sends.
    pub max_xmit_frag: u16,
    /// Largest fragment the server receives.
    pub max_recv_frag: u16,
    /// The association group.
    pub assoc_group: u32,
    /// One result per offered context.
    pub results: Vec<ContextResult>,
}

impl BindAck {
    /// Parses the body of a [`Fragment`] (offsets in errors are from the PDU start).
    pub fn parse(body: &[u8]) -> Result<BindAck, DcError> {
        let at = |o: usize| HEADER_LEN + o;
        let need = |n: usize| {
            if body.len() < n {
                Err(pdu(at(body.len()), PduProblem::Truncated))
            } else {
                Ok(())
            }
        };
        need(10)?;
        let u16_at = |o: usize| u16::from_le_bytes([body[o], body[o + 1]]);
        let sec_addr_len = u16_at(8) as usize;
        let mut o = 10 + sec_addr_len;
        // pad to 4 relative to the PDU start
        o += (4 - (HEADER_LEN + o) % 4) % 4;
        need(o + 4)?;
        let n = body[o] as usize;
        o += 4;
        need(o + n * 24)?;
        let results = (0..n)
            .map(|i| {
                let r = o + i * 24;
                ContextResult {
                    result: u16_at(r),
                    reason: u16_at(r + 2),
                    transfer_syntax: InterfaceId {
                        uuid: Guid::from_bytes_le(body[r + 4..r + 20].try_into().unwrap()),
                        major: u16_at(r + 20),
                        minor: u16_at(r + 22),
                    },
                }
            })
            .collect();
        Ok(BindAck {
            max_xmit_frag: u16_at(0),
            max_recv_frag: u16_at(2),
            assoc_group: u32::from_le_bytes(body[4..8].try_into().unwrap()),
            results,
        })
    }
}

/// The reason in a `bind_nak` (`provider_reject_reason`, C706 §12.6.4.5).
pub fn bind_nak_reason(body: &[u8]) -> Result<u16, DcError> {
    match body {
        [a, b, ..] => Ok(u16::from_le_bytes([*a, *b])),
        _ => Err(pdu(HEADER_LEN + body.len(), PduProblem::Truncated)),
    }
}

/// The stub of a `response` body (after alloc_hint, p_cont_id, cancel_count, reserved).
pub fn response_stub(body: &[u8]) -> Result<&[u8], DcError> {
    body.get(RESPONSE_HEADER_LEN..)
        .ok_or(pdu(HEADER_LEN + body.len(), PduProblem::Truncated))
}

/// The status of a `fault` body (C706 §12.6.4.7; codes in C706 Appendix E and MS-RPCE §3.1.1.5.5).
pub fn fault_status(body: &[u8]) -> Result<u32, DcError> {
    body.get(8..12)
        .map(|s| u32::from_le_bytes(s.try_into().unwrap()))
        .ok_or(pdu(HEADER_LEN + body.len(), PduProblem::Truncated))
}

#[cfg(test)]
#[path = "pdu_tests.rs"]
mod tests;
