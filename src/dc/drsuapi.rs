//! DRSUAPI session calls (MS-DRSR §4.1): `IDL_DRSBind` (opnum 0, §4.1.3) and `IDL_DRSUnbind`
//! (opnum 1, §4.1.25) — NDR20 request encoders and reply decoders, no transport. The
//! replication call itself is [`crate::drs::GetNcChangesRequest`] and [`crate::drs::Reply`].

use crate::drs::error::{DecodeError, DecodeErrorKind, Structure};
use crate::drs::guid::Guid;
use crate::drs::ndr::Reader;
use crate::drs::ndr_write::Writer;

use super::pdu::InterfaceId;

/// DRSUAPI, `e3514235-4b06-11d1-ab04-00c04fc2dcd2` v4.0 (MS-DRSR §2.1).
pub const DRSUAPI_INTERFACE: InterfaceId = InterfaceId {
    uuid: Guid::from_bytes_le([
        0x35, 0x42, 0x51, 0xe3, 0x06, 0x4b, 0xd1, 0x11, 0xab, 0x04, 0x00, 0xc0, 0x4f, 0xc2, 0xdc,
        0xd2,
    ]),
    major: 4,
    minor: 0,
};

/// `NTDSAPI_CLIENT_GUID`, `e24d201a-4fd6-11d1-a3da-0000f875ae0d` (MS-DRSR §4.1.3.2): the
/// `puuidClientDsa` of a client that is not a DC.
pub const NTDSAPI_CLIENT_GUID: Guid = Guid::from_bytes_le([
    0x1a, 0x20, 0x4d, 0xe2, 0xd6, 0x4f, 0xd1, 0x11, 0xa3, 0xda, 0x00, 0x00, 0xf8, 0x75, 0xae, 0x0d,
]);

/// The opnum of `IDL_DRSBind` (MS-DRSR §4.1.3).
pub const OPNUM_BIND: u16 = 0;
/// The opnum of `IDL_DRSUnbind` (MS-DRSR §4.1.25).
pub const OPNUM_UNBIND: u16 = 1;

/// `DRS_EXTENSIONS_INT.dwFlags` bits (MS-DRSR §5.39): what a client or server supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BindFlags(pub u32);

impl BindFlags {
    /// `DRS_EXT_BASE`.
    pub const BASE: BindFlags = BindFlags(0x0000_0001);
    /// `DRS_EXT_STRONG_ENCRYPTION`: secret attributes under the session key (MS-DRSR
    /// §4.1.10.2.20).
    pub const STRONG_ENCRYPTION: BindFlags = BindFlags(0x0000_8000);
    /// `DRS_EXT_GETCHGREQ_V6`.
    pub const GETCHGREQ_V6: BindFlags = BindFlags(0x0040_0000);
    /// `DRS_EXT_NONDOMAIN_NCS`: naming contexts other than domain NCs.
    pub const NONDOMAIN_NCS: BindFlags = BindFlags(0x0080_0000);
    /// `DRS_EXT_GETCHGREQ_V8`: `DRS_MSG_GETCHGREQ_V8` requests.
    pub const GETCHGREQ_V8: BindFlags = BindFlags(0x0100_0000);
    /// `DRS_EXT_GETCHGREPLY_V6`: `DRS_MSG_GETCHGREPLY_V6` replies.
    pub const GETCHGREPLY_V6: BindFlags = BindFlags(0x0400_0000);
    /// `DRS_EXT_GETCHGREQ_V10`.
    pub const GETCHGREQ_V10: BindFlags = BindFlags(0x2000_0000);

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: BindFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for BindFlags {
    type Output = BindFlags;
    fn bitor(self, rhs: BindFlags) -> BindFlags {
        BindFlags(self.0 | rhs.0)
    }
}

/// `DRS_EXT_GETCHGREPLY_V9` (MS-DRSR §5.39, a `dwFlagsExt` bit): `DRS_MSG_GETCHGREPLY_V9`
/// replies (value metadata V3).
pub const DRS_EXT_GETCHGREPLY_V9: u32 = 0x0000_0100;

/// The client's `DRS_EXTENSIONS_INT` (MS-DRSR §5.39), all fields (`cb` = 52).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientExtensions {
    /// `dwFlags`.
    pub flags: BindFlags,
    /// `SiteObjGuid`.
    pub site_obj_guid: Guid,
    /// `Pid`.
    pub pid: u32,
    /// `dwReplEpoch`.
    pub repl_epoch: u32,
    /// `dwFlagsExt` (e.g. [`DRS_EXT_GETCHGREPLY_V9`]).
    pub flags_ext: u32,
    /// `ConfigObjGUID`.
    pub config_obj_guid: Guid,
    /// `dwExtCaps`: which `dwFlagsExt` bits the client understands.
    pub ext_caps: u32,
}

impl Default for ClientExtensions {
    /// V8 requests, V6 replies, strong encryption, non-domain NCs; nil GUIDs; `dwExtCaps`
    /// all ones — the extensions impacket's DRS clients send.
    fn default() -> Self {
        ClientExtensions {
            flags: BindFlags::GETCHGREQ_V6
                | BindFlags::GETCHGREPLY_V6
                | BindFlags::GETCHGREQ_V8
                | BindFlags::STRONG_ENCRYPTION
                | BindFlags::NONDOMAIN_NCS,
            site_obj_guid: Guid::NIL,
            pid: 0,
            repl_epoch: 0,
            flags_ext: 0,
            config_obj_guid: Guid::NIL,
            ext_caps: 0xffff_ffff,
        }
    }
}

/// `DRS_EXTENSIONS_INT` bytes after `cb`: dwFlags … dwExtCaps.
const EXTENSIONS_LEN: u32 = 52;
/// `DRS_EXTENSIONS.cb` above this is refused (Samba's IDL bounds it at 10000).
const MAX_EXTENSIONS: u32 = 10_000;

/// The NDR20 `[in]` stub of `IDL_DRSBind` (MS-DRSR §4.1.3): `[unique] UUID* puuidClientDsa`,
/// `[unique] DRS_EXTENSIONS* pextClient` (`cb` and the `DRS_EXTENSIONS_INT` bytes after its
/// own `cb`, MS-DRSR §5.38, §5.39).
pub fn bind_request(client_dsa: &Guid, ext: &ClientExtensions) -> Vec<u8> {
    let mut w = Writer::new();
    write_bind_request(&mut w, client_dsa, ext);
    w.into_bytes()
}

fn write_bind_request(w: &mut Writer, client_dsa: &Guid, ext: &ClientExtensions) {
    w.pointer(true);
    w.guid(client_dsa);
    w.pointer(true);
    // DRS_EXTENSIONS: a conformant structure, MaxCount first.
    w.max_count(EXTENSIONS_LEN);
    w.u32(EXTENSIONS_LEN);
    w.bytes(&ext.flags.0.to_le_bytes());
    w.bytes(ext.site_obj_guid.as_bytes());
    w.bytes(&ext.pid.to_le_bytes());
    w.bytes(&ext.repl_epoch.to_le_bytes());
    w.bytes(&ext.flags_ext.to_le_bytes());
    w.bytes(ext.config_obj_guid.as_bytes());
    w.bytes(&ext.ext_caps.to_le_bytes());
}

/// The server's `DRS_EXTENSIONS_INT` (MS-DRSR §5.39): as many fields as its `cb` covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerExtensions {
    /// `cb`: the bytes after `cb` the server sent.
    pub cb: u32,
    /// `dwFlags`.
    pub flags: BindFlags,
    /// `SiteObjGuid` (`cb` ≥ 20).
    pub site_obj_guid: Option<Guid>,
    /// `Pid` (`cb` ≥ 24).
    pub pid: Option<u32>,
    /// `dwReplEpoch` (`cb` ≥ 28).
    pub repl_epoch: Option<u32>,
    /// `dwFlagsExt` (`cb` ≥ 32).
    pub flags_ext: Option<u32>,
    /// `ConfigObjGUID` (`cb` ≥ 48).
    pub config_obj_guid: Option<Guid>,
    /// `dwExtCaps` (`cb` ≥ 52).
    pub ext_caps: Option<u32>,
}

/// A decoded `IDL_DRSBind` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindReply {
    /// `ppextServer`, if the server sent extensions.
    pub extensions: Option<ServerExtensions>,
    /// `phDrs`: the context handle for the following calls (MS-DRSR §5.40).
    pub handle: [u8; 20],
}

/// Decodes the NDR20 `[out]` stub of `IDL_DRSBind`: `ppextServer`, `phDrs`, the return value.
/// A non-zero return value is [`DecodeErrorKind::ServerError`] carrying the Win32 error code.
pub fn decode_bind_reply(stub: &[u8]) -> Result<BindReply, DecodeError> {
    let mut r = Reader::new(stub);
    r.enter(Structure::BindReply);
    let extensions = if r.u32()? != 0 {
        let prev = r.enter(Structure::DrsExtensions);
        let at = r.pos();
        let max = r.u32()?;
        let cb = r.u32()?;
        r.expect_count(at, max, cb)?;
        if cb > MAX_EXTENSIONS {
            return Err(r.err_at(
                at,
                DecodeErrorKind::CountTooLarge {
                    count: cb.into(),
                    remaining: r.remaining(),
                },
            ));
        }
        let bytes = r.take(cb as usize)?;
        let ext = parse_extensions(bytes)
            .ok_or_else(|| r.err_at(at, DecodeErrorKind::ShortExtensions { cb }))?;
        r.leave(prev);
        Some(ext)
    } else {
        None
    };
    r.align(4)?;
    let handle: [u8; 20] = r.array()?;
    return_value(&mut r, stub.len())?;
    Ok(BindReply { extensions, handle })
}

fn parse_extensions(b: &[u8]) -> Option<ServerExtensions> {
    let u32_at = |at: usize| {
        b.get(at..at + 4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    };
    let guid_at = |at: usize| {
        b.get(at..at + 16).map(|s| {
            let mut g = [0u8; 16];
            g.copy_from_slice(s);
            Guid::from_bytes_le(g)
        })
    };
    Some(ServerExtensions {
        cb: b.len() as u32,
        flags: BindFlags(u32_at(0)?),
        site_obj_guid: guid_at(4),
        pid: u32_at(20),
        repl_epoch: u32_at(24),
        flags_ext: u32_at(28),
        config_obj_guid: guid_at(32),
        ext_caps: u32_at(48),
    })
}

/// The trailing `ULONG` return value: the last four bytes, non-zero is a server error.
fn return_value(r: &mut Reader<'_>, len: usize) -> Result<(), DecodeError> {
    r.enter(Structure::ReturnValue);
    let at = r.pos();
    let code = r.u32()?;
    if r.remaining() != 0 {
        return Err(r.err_at(
            at,
            DecodeErrorKind::TrailingBytes {
                walk_end: at,
                return_value_at: len.saturating_sub(4),
            },
        ));
    }
    if code != 0 {
        return Err(r.err_at(at, DecodeErrorKind::ServerError { code }));
    }
    Ok(())
}

/// The NDR20 `[in]` stub of `IDL_DRSUnbind` (MS-DRSR §4.1.25): `[in, out] DRS_HANDLE* phDrs`.
pub fn unbind_request(handle: &[u8; 20]) -> Vec<u8> {
    handle.to_vec()
}

/// Decodes the NDR20 `[out]` stub of `IDL_DRSUnbind`: the (zeroed) handle and the return value.
pub fn decode_unbind_reply(stub: &[u8]) -> Result<(), DecodeError> {
    let mut r = Reader::new(stub);
    r.enter(Structure::UnbindReply);
    r.take(20)?;
    return_value(&mut r, stub.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drs::ndr_write::testing::{REPLIES, REQUESTS, assert_same_stub, vector};

    #[test]
    fn constants_print_as_their_specified_guids() {
        assert_eq!(
            DRSUAPI_INTERFACE.uuid.to_string(),
            "e3514235-4b06-11d1-ab04-00c04fc2dcd2"
        );
        assert_eq!(
            NTDSAPI_CLIENT_GUID.to_string(),
            "e24d201a-4fd6-11d1-a3da-0000f875ae0d"
        );
        assert_eq!(
            crate::dc::epm::EPM_INTERFACE.uuid.to_string(),
            "e1af8308-5d1f-11c9-91a4-08002b14a0fa"
        );
        assert_eq!(
            crate::dc::pdu::NDR20.uuid.to_string(),
            "8a885d04-1ceb-11c9-9fe8-08002b104860"
        );
    }

    #[test]
    fn bind_request_matches_impacket() {
        let mut w = Writer::new();
        write_bind_request(&mut w, &NTDSAPI_CLIENT_GUID, &ClientExtensions::default());
        assert_same_stub("drs_bind", w, &vector(REQUESTS, "drs_bind"));
        let mut w = Writer::new();
        write_bind_request(&mut w, &NTDSAPI_CLIENT_GUID, &ClientExtensions::default());
        assert_same_stub("drs_bind.request", w, &vector(REPLIES, "drs_bind.request"));
    }

    #[test]
    fn unbind_request_matches_impacket() {
        let handle: [u8; 20] = vector(REQUESTS, "drs_unbind").try_into().unwrap();
        assert_eq!(handle[4], 0x11);
        assert_eq!(unbind_request(&handle), vector(REQUESTS, "drs_unbind"));
    }

    #[test]
    fn samba_bind_reply() {
        let reply = decode_bind_reply(&vector(REPLIES, "drs_bind.reply")).unwrap();
        let ext = reply.extensions.unwrap();
        assert_eq!(ext.cb, 48);
        assert_eq!(ext.flags, BindFlags(0x2fff_ff6f));
        assert!(
            ext.flags
                .contains(BindFlags::GETCHGREQ_V8 | BindFlags::STRONG_ENCRYPTION)
        );
        assert_eq!(
            ext.site_obj_guid.unwrap().to_string(),
            "cc27d69e-83d6-4a7a-9344-122204c105a9"
        );
        assert_eq!((ext.pid, ext.repl_epoch), (Some(0), Some(0)));
        assert_eq!(ext.flags_ext, Some(2));
        assert_eq!(
            ext.config_obj_guid.unwrap().to_string(),
            "0f811e5a-16c1-42b9-a03b-38fb6936c8b5"
        );
        assert_eq!(ext.ext_caps, None);
        // The handle is what DRSUnbind was sent.
        assert_eq!(reply.handle.to_vec(), vector(REPLIES, "drs_unbind.request"));
        decode_unbind_reply(&vector(REPLIES, "drs_unbind.reply")).unwrap();
    }

    #[test]
    fn short_extensions_and_errors() {
        let reply = vector(REPLIES, "drs_bind.reply");
        // A DRS_EXTENSIONS of 24 bytes: flags, site GUID and Pid only.
        let mut short = reply[..4].to_vec();
        short.extend(24u32.to_le_bytes());
        short.extend(24u32.to_le_bytes());
        short.extend(&reply[12..36]);
        short.extend(&reply[60..]);
        let ext = decode_bind_reply(&short).unwrap().extensions.unwrap();
        assert_eq!((ext.cb, ext.pid, ext.repl_epoch), (24, Some(0), None));
        assert!(ext.site_obj_guid.is_some() && ext.config_obj_guid.is_none());
        // cb 2: no room for dwFlags.
        let mut tiny = reply[..4].to_vec();
        tiny.extend(2u32.to_le_bytes());
        tiny.extend(2u32.to_le_bytes());
        tiny.extend([0, 0, 0, 0]);
        tiny.extend(&reply[60..]);
        let e = decode_bind_reply(&tiny).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::ShortExtensions { cb: 2 });
        assert_eq!((e.offset, e.structure), (4, Structure::DrsExtensions));
        // A null ppextServer and a WERROR (ERROR_DS_DRA_ACCESS_DENIED).
        let mut failed = vec![0u8; 4 + 20];
        failed.extend(0x2105u32.to_le_bytes());
        let e = decode_bind_reply(&failed).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::ServerError { code: 0x2105 });
        assert_eq!((e.offset, e.structure), (24, Structure::ReturnValue));
        // MaxCount and cb disagree.
        let mut mismatch = reply.clone();
        mismatch[4] = 0x34;
        assert!(matches!(
            decode_bind_reply(&mismatch).unwrap_err().kind,
            DecodeErrorKind::CountMismatch { .. }
        ));
        // A huge cb.
        let mut huge = reply.clone();
        huge[4..12].copy_from_slice(&[0xff; 8]);
        let e = decode_bind_reply(&huge).unwrap_err();
        assert!(
            matches!(e.kind, DecodeErrorKind::CountTooLarge { .. }),
            "{e}"
        );
        // Truncated anywhere; trailing bytes.
        for n in 0..reply.len() {
            assert!(decode_bind_reply(&reply[..n]).is_err());
        }
        let mut long = reply.clone();
        long.push(0);
        assert!(matches!(
            decode_bind_reply(&long).unwrap_err().kind,
            DecodeErrorKind::TrailingBytes { .. }
        ));
        let unbind = vector(REPLIES, "drs_unbind.reply");
        let e = decode_unbind_reply(&unbind[..22]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "at byte 20 in return value: needs 4 bytes, 2 remain"
        );
        let mut err = unbind.clone();
        err[20] = 5;
        assert_eq!(
            decode_unbind_reply(&err).unwrap_err().kind,
            DecodeErrorKind::ServerError { code: 5 }
        );
        for i in 0..reply.len() {
            let mut b = reply.clone();
            b[i] ^= 0xff;
            let _ = decode_bind_reply(&b);
        }
    }
}
