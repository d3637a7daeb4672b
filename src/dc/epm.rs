//! The endpoint mapper's `ept_map` (C706 Appendix L; interface
//! `e1af8308-5d1f-11c9-91a4-08002b14a0fa` v3.0, opnum 3): "on which TCP port does interface X
//! listen?", asked with a protocol tower (C706 Appendix L, MS-RPCE §2.2.1.2.1) and answered with
//! towers. Encoder and decoder only; the caller carries the stubs over RPC.
//!
//! A `ncacn_ip_tcp` tower has five floors, each `LHS length (u16 LE) ‖ LHS ‖ RHS length ‖ RHS`:
//!
//! | floor | LHS | RHS |
//! |---|---|---|
//! | 1 | `0x0d` ‖ interface UUID ‖ major version (u16 LE) | minor version (u16 LE) |
//! | 2 | `0x0d` ‖ transfer syntax UUID ‖ major version | minor version |
//! | 3 | `0x0b` (RPC connection-oriented) | minor version 0 |
//! | 4 | `0x07` (TCP) | port, big-endian |
//! | 5 | `0x09` (IP) | IPv4 address, network order |

use std::net::Ipv4Addr;

use crate::drs::error::{DecodeError, DecodeErrorKind, Structure};
use crate::drs::guid::Guid;
use crate::drs::ndr::Reader;
use crate::drs::ndr_write::Writer;

pub use super::pdu::InterfaceId;

const fn guid(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Guid {
    let a = d1.to_le_bytes();
    let b = d2.to_le_bytes();
    let c = d3.to_le_bytes();
    Guid::from_bytes_le([
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4], d4[5],
        d4[6], d4[7],
    ])
}

/// The endpoint mapper, `e1af8308-5d1f-11c9-91a4-08002b14a0fa` v3.0 (C706 Appendix L), on TCP
/// port 135.
pub const EPM_INTERFACE: InterfaceId = InterfaceId {
    uuid: guid(
        0xe1af8308,
        0x5d1f,
        0x11c9,
        [0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa],
    ),
    major: 3,
    minor: 0,
};

/// The opnum of `ept_map` (C706 Appendix L).
pub const OPNUM_EPT_MAP: u16 = 3;

/// `EPT_S_NOT_REGISTERED` (C706 Appendix N): no endpoint for the interface.
pub const EPT_S_NOT_REGISTERED: u32 = 0x16c9_a0d6;

const FLOOR_UUID: u8 = 0x0d;
const FLOOR_RPC_CO: u8 = 0x0b;
const FLOOR_TCP: u8 = 0x07;
const FLOOR_IP: u8 = 0x09;

/// Towers above this many bytes are refused (a `ncacn_ip_tcp` tower is 75 bytes).
const MAX_TOWER: u32 = 4096;

/// One `ncacn_ip_tcp` endpoint of an `ept_map` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpEndpoint {
    /// The interface the tower's first floor names.
    pub interface: InterfaceId,
    /// The TCP port (floor 4).
    pub port: u16,
    /// The IPv4 address (floor 5), if the tower has one; `0.0.0.0` means "the host you asked".
    pub ip: Option<Ipv4Addr>,
}

fn floor(w: &mut Vec<u8>, lhs: &[u8], rhs: &[u8]) {
    w.extend_from_slice(&(lhs.len() as u16).to_le_bytes());
    w.extend_from_slice(lhs);
    w.extend_from_slice(&(rhs.len() as u16).to_le_bytes());
    w.extend_from_slice(rhs);
}

fn uuid_floor(w: &mut Vec<u8>, id: &InterfaceId) {
    let mut lhs = [0u8; 19];
    lhs[0] = FLOOR_UUID;
    lhs[1..17].copy_from_slice(id.uuid.as_bytes());
    lhs[17..].copy_from_slice(&id.major.to_le_bytes());
    floor(w, &lhs, &id.minor.to_le_bytes());
}

/// The five-floor `ncacn_ip_tcp` tower for `interface` over NDR, port 0, address 0.0.0.0
/// (C706 Appendix L, MS-RPCE §2.2.1.2.1).
fn tcp_tower(interface: &InterfaceId) -> Vec<u8> {
    let mut t = Vec::with_capacity(75);
    t.extend_from_slice(&5u16.to_le_bytes());
    uuid_floor(&mut t, interface);
    uuid_floor(&mut t, &super::pdu::NDR20);
    floor(&mut t, &[FLOOR_RPC_CO], &[0, 0]);
    floor(&mut t, &[FLOOR_TCP], &[0, 0]);
    floor(&mut t, &[FLOOR_IP], &[0; 4]);
    t
}

/// The NDR20 `[in]` stub of `ept_map` asking where `interface` listens over `ncacn_ip_tcp`:
/// `object` → the nil UUID, `map_tower` → the tower, a zero `entry_handle`, `max_towers`.
///
/// The two `[ptr]` parameters carry referent IDs 1 and 2, the values Windows' own stubs use
/// (some Windows endpoint mappers refuse others).
pub fn map_request(interface: &InterfaceId, max_towers: u32) -> Vec<u8> {
    let mut w = Writer::new();
    write_map_request(&mut w, interface, max_towers);
    w.into_bytes()
}

fn write_map_request(w: &mut Writer, interface: &InterfaceId, max_towers: u32) {
    let tower = tcp_tower(interface);
    w.referent(1); // [in, ptr] uuid_p_t object
    w.guid(&Guid::NIL);
    w.referent(2); // [in, ptr] twr_p_t map_tower
    // twr_t: a conformant structure, MaxCount first.
    w.max_count(tower.len() as u32);
    w.u32(tower.len() as u32);
    w.bytes(&tower);
    w.u32(0); // entry_handle: context handle attributes
    w.bytes(&[0; 16]); // and UUID
    w.u32(max_towers);
}

/// Decodes the NDR20 `[out]` stub of `ept_map`: `entry_handle`, `num_towers`, the towers
/// (a conformant varying array of full pointers to `twr_t`) and `status`.
///
/// Every tower must be a `ncacn_ip_tcp` tower (floors 3 and 4: connection-oriented RPC over
/// TCP); one endpoint per tower, in reply order. A non-zero `status` (such as
/// [`EPT_S_NOT_REGISTERED`]) is [`DecodeErrorKind::ServerError`].
pub fn decode_map_reply(stub: &[u8]) -> Result<Vec<TcpEndpoint>, DecodeError> {
    let mut r = Reader::new(stub);
    r.enter(Structure::EpmReply);
    r.take(20)?; // entry_handle
    let num_towers = r.u32()?;
    let max_at = r.pos();
    let max_count = r.u32()?;
    let offset_at = r.pos();
    let offset = r.u32()?;
    let actual_at = r.pos();
    let actual = r.u32()?;
    r.expect_count(actual_at, actual, num_towers)?;
    if offset != 0 {
        return Err(r.err_at(
            offset_at,
            DecodeErrorKind::CountMismatch {
                max_count: offset,
                expected: 0,
            },
        ));
    }
    if actual > max_count {
        return Err(r.err_at(
            max_at,
            DecodeErrorKind::CountMismatch {
                max_count,
                expected: actual,
            },
        ));
    }
    r.check_count(actual_at, actual, 4)?;
    let mut referents = Vec::with_capacity(actual as usize);
    for _ in 0..actual {
        referents.push(r.u32()?);
    }
    let mut endpoints = Vec::new();
    let mut seen: Vec<u32> = Vec::new();
    for id in referents {
        // Full pointers: null has no pointee, a repeated ID points at a pointee already sent
        // (C706 §14.3.10).
        if id == 0 || seen.contains(&id) {
            continue;
        }
        seen.push(id);
        let len_at = r.pos();
        let max = r.u32()?;
        let len = r.u32()?;
        r.expect_count(len_at, max, len)?;
        if len > MAX_TOWER {
            return Err(r.err_at(
                len_at,
                DecodeErrorKind::CountTooLarge {
                    count: len.into(),
                    remaining: r.remaining(),
                },
            ));
        }
        let at = r.pos();
        let octets = r.take(len as usize)?;
        endpoints.push(parse_tower(octets, at)?);
    }
    r.enter(Structure::ReturnValue);
    let status_at = r.pos();
    let status = r.u32()?;
    if r.remaining() != 0 {
        return Err(r.err_at(
            status_at,
            DecodeErrorKind::TrailingBytes {
                walk_end: status_at,
                return_value_at: stub.len().saturating_sub(4),
            },
        ));
    }
    if status != 0 {
        return Err(r.err_at(status_at, DecodeErrorKind::ServerError { code: status }));
    }
    Ok(endpoints)
}

/// One tower's floors (C706 Appendix L); `base` is its offset in the stub, for errors.
fn parse_tower(octets: &[u8], base: usize) -> Result<TcpEndpoint, DecodeError> {
    let mut r = Reader::new(octets);
    r.enter(Structure::EpmTower);
    let shift = |e: DecodeError| DecodeError {
        offset: e.offset + base,
        ..e
    };
    let bad = |r: &Reader, reason| shift(r.err(DecodeErrorKind::BadTower { reason }));
    let count = u16::from_le_bytes(r.array().map_err(shift)?);
    if count < 4 {
        return Err(bad(&r, "fewer than four floors"));
    }
    let mut floors: Vec<(&[u8], &[u8])> = Vec::with_capacity(usize::from(count.min(8)));
    for _ in 0..count {
        let n = u16::from_le_bytes(r.array().map_err(shift)?);
        let lhs = r.take(n.into()).map_err(shift)?;
        let n = u16::from_le_bytes(r.array().map_err(shift)?);
        let rhs = r.take(n.into()).map_err(shift)?;
        floors.push((lhs, rhs));
    }
    if r.remaining() != 0 {
        return Err(bad(&r, "bytes after the last floor"));
    }
    let (lhs, rhs) = floors[0];
    if lhs.len() != 19 || lhs[0] != FLOOR_UUID || rhs.len() != 2 {
        return Err(bad(&r, "floor 1 is not an interface identifier"));
    }
    let mut uuid = [0u8; 16];
    uuid.copy_from_slice(&lhs[1..17]);
    let interface = InterfaceId {
        uuid: Guid::from_bytes_le(uuid),
        major: u16::from_le_bytes([lhs[17], lhs[18]]),
        minor: u16::from_le_bytes([rhs[0], rhs[1]]),
    };
    if floors[2].0 != [FLOOR_RPC_CO] {
        return Err(bad(&r, "floor 3 is not connection-oriented RPC"));
    }
    let port = match floors[3] {
        (lhs, &[hi, lo]) if lhs == [FLOOR_TCP] => u16::from_be_bytes([hi, lo]),
        _ => return Err(bad(&r, "floor 4 is not a TCP port")),
    };
    let ip = match floors.get(4) {
        None => None,
        Some(&(lhs, &[a, b, c, d])) if lhs == [FLOOR_IP] => Some(Ipv4Addr::new(a, b, c, d)),
        Some(_) => return Err(bad(&r, "floor 5 is not an IPv4 address")),
    };
    Ok(TcpEndpoint {
        interface,
        port,
        ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drs::ndr_write::testing::{REPLIES, REQUESTS, assert_same_stub, vector};

    fn drsuapi() -> InterfaceId {
        crate::dc::drsuapi::DRSUAPI_INTERFACE
    }

    #[test]
    fn request_matches_impacket() {
        let mut w = Writer::new();
        write_map_request(&mut w, &drsuapi(), 4);
        assert_same_stub("ept_map_drsuapi", w, &vector(REQUESTS, "ept_map_drsuapi"));
        // The referent IDs are impacket's too (1 and 2), and so was the request Samba answered.
        let ours = map_request(&drsuapi(), 4);
        let sent = vector(REPLIES, "epm_map_drsuapi.request");
        assert_eq!(ours.len(), sent.len());
        // Byte 107 is the padding after the 75-byte tower (impacket's 0xab).
        assert_eq!(&ours[..107], &sent[..107]);
        assert_eq!(&ours[108..], &sent[108..]);
    }

    #[test]
    fn samba_reply_names_the_drsuapi_port() {
        let reply = vector(REPLIES, "epm_map_drsuapi.reply");
        let endpoints = decode_map_reply(&reply).unwrap();
        assert_eq!(
            endpoints,
            vec![TcpEndpoint {
                interface: drsuapi(),
                port: 49153,
                ip: Some(Ipv4Addr::UNSPECIFIED),
            }]
        );
    }

    #[test]
    fn samba_reply_for_an_unknown_interface_is_a_status() {
        let reply = vector(REPLIES, "epm_map_unknown.reply");
        let e = decode_map_reply(&reply).unwrap_err();
        assert_eq!(
            e.kind,
            DecodeErrorKind::ServerError {
                code: EPT_S_NOT_REGISTERED
            }
        );
        assert_eq!((e.offset, e.structure), (36, Structure::ReturnValue));
    }

    #[test]
    fn truncations_and_garbage_are_typed_errors() {
        let reply = vector(REPLIES, "epm_map_drsuapi.reply");
        for n in 0..reply.len() {
            let e = decode_map_reply(&reply[..n]).unwrap_err();
            assert!(e.offset <= n, "{n}: {e}");
        }
        let e = decode_map_reply(&reply[..30]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "at byte 28 in ept_map reply: needs 4 bytes, 2 remain"
        );
        // A tower whose port floor is not TCP: the octets start at 48; floor 4's protocol
        // byte follows the count (2) and floors 1–3 (25 + 25 + 7) and its LHS length (2).
        let mut bad = reply.clone();
        assert_eq!(bad[48 + 61], 0x07);
        bad[48 + 61] = 0x08;
        let e = decode_map_reply(&bad).unwrap_err();
        assert_eq!(e.structure, Structure::EpmTower);
        assert!(matches!(e.kind, DecodeErrorKind::BadTower { .. }), "{e}");
        // A count claiming more towers than the bytes could hold.
        let mut huge = reply.clone();
        huge[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        huge[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
        huge[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = decode_map_reply(&huge).unwrap_err();
        assert!(
            matches!(e.kind, DecodeErrorKind::CountTooLarge { .. }),
            "{e}"
        );
        // Bytes after the status.
        let mut long = reply.clone();
        long.extend([0; 4]);
        assert!(matches!(
            decode_map_reply(&long).unwrap_err().kind,
            DecodeErrorKind::TrailingBytes { .. }
        ));
        // Every byte flipped: an error or an endpoint, never a panic.
        for i in 0..reply.len() {
            let mut b = reply.clone();
            b[i] ^= 0xff;
            let _ = decode_map_reply(&b);
        }
    }
}
