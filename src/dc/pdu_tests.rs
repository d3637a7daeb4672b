//! Tests of the PDU layer: layouts and malformed input, and the PDUs of real sessions.

mod unit {
    use super::super::*;

    fn drsuapi() -> InterfaceId {
        crate::dc::drsuapi::DRSUAPI_INTERFACE
    }

    #[test]
    fn bind_without_auth_is_the_c706_layout() {
        let ctx = [PresentationContext {
            id: 0,
            abstract_syntax: drsuapi(),
            transfer_syntax: NDR20,
        }];
        let b = Bind {
            ptype: PacketType::Bind,
            flags: 0,
            call_id: 1,
            max_xmit_frag: 4280,
            max_recv_frag: 4280,
            assoc_group: 0,
            contexts: &ctx,
            auth: None,
        }
        .encode()
        .unwrap();
        assert_eq!(b.len(), 72);
        assert_eq!(&b[..4], &[5, 0, 11, 3]);
        assert_eq!(u16::from_le_bytes([b[8], b[9]]), 72);
        // abstract syntax uuid in wire order, then version 4.0
        assert_eq!(&b[32..36], &[0x35, 0x42, 0x51, 0xe3]);
        assert_eq!(&b[48..52], &[4, 0, 0, 0]);
        assert_eq!(&b[52..56], &[0x04, 0x5d, 0x88, 0x8a]);
        let f = Fragment::parse(&b).unwrap();
        assert_eq!(f.header.ptype, PacketType::Bind);
        assert!(f.trailer.is_none());
    }

    #[test]
    fn request_fragment_pads_the_stub_and_places_trailer_and_token() {
        let trailer = SecTrailer {
            auth_type: 0x0a,
            auth_level: 6,
            pad_len: 0,
            context_id: 0,
        };
        let mut f = RequestFragment::new(
            7,
            PFC_FIRST_FRAG | PFC_LAST_FRAG,
            0,
            3,
            5,
            &[1, 2, 3, 4, 5],
            Some(trailer),
            16,
        )
        .unwrap();
        let (head, stub, tr, token) = f.parts_mut();
        assert_eq!(head.len(), 24);
        assert_eq!(stub.len(), 16);
        assert_eq!(tr, &[0x0a, 6, 11, 0, 0, 0, 0, 0]);
        assert_eq!(token.len(), 16);
        let bytes = f.into_bytes();
        let parsed = Fragment::parse(&bytes).unwrap();
        assert_eq!(parsed.header.auth_len, 16);
        assert_eq!(parsed.trailer.unwrap().pad_len, 11);
        assert_eq!(parsed.body.len(), 8 + 16);
        assert_eq!(RequestFragment::max_stub(4280, Some(16)) % 16, 0);
        assert!(RequestFragment::max_stub(4280, Some(16)) + 24 + 8 + 16 <= 4280);
    }

    #[test]
    fn malformed_headers_are_typed_errors() {
        assert!(matches!(
            Header::parse(&[5, 0, 2]),
            Err(DcError::Pdu {
                problem: PduProblem::Truncated,
                ..
            })
        ));
        let mut h = [0u8; 16];
        h[0] = 4;
        assert!(matches!(
            Header::parse(&h),
            Err(DcError::Pdu {
                problem: PduProblem::Version(4, 0),
                ..
            })
        ));
        let mut h = [5, 0, 99, 3, 0x10, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0];
        assert!(matches!(
            Header::parse(&h),
            Err(DcError::Pdu {
                problem: PduProblem::PacketType(99),
                offset: 2
            })
        ));
        h[2] = 2;
        h[10] = 200; // auth_len beyond the fragment
        assert!(matches!(
            Fragment::parse(&h),
            Err(DcError::Pdu {
                problem: PduProblem::AuthLength(200),
                ..
            })
        ));
        assert!(BindAck::parse(&[0; 9]).is_err());
        // claims 200 results in a short body
        let mut body = vec![0u8; 16];
        body[12] = 200;
        assert!(BindAck::parse(&body).is_err());
    }
}

mod real_traffic {
    //! PDUs a Samba AD DC exchanged with this client (`tests/vectors/dc_pdus.txt`).
    use super::super::*;

    struct Recorded {
        section: String,
        from_server: bool,
        ptype: u8,
        bytes: Vec<u8>,
    }

    fn recorded() -> Vec<Recorded> {
        include_str!("../../tests/vectors/dc_pdus.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let mut bytes = vec![0u8; f[3].len() / 2];
                crate::hex::decode_into(f[3].as_bytes(), &mut bytes).unwrap();
                Recorded {
                    section: f[0].to_owned(),
                    from_server: f[1] == "s2c",
                    ptype: f[2].parse().unwrap(),
                    bytes,
                }
            })
            .collect()
    }

    #[test]
    fn every_recorded_pdu_parses_and_splits_at_its_trailer() {
        let all = recorded();
        assert_eq!(all.len(), 11);
        for r in &all {
            let f = Fragment::parse(&r.bytes).unwrap();
            assert_eq!(f.header.ptype as u8, r.ptype);
            assert_eq!(f.header.flags & (PFC_FIRST_FRAG | PFC_LAST_FRAG), 3);
            if f.header.ptype == PacketType::AlterContextResp {
                // Kerberos' third leg has nothing to answer
                assert!(f.trailer.is_none());
                continue;
            }
            let t = f
                .trailer
                .expect("the other PDUs of a sealed session are authenticated");
            let auth_type = if r.section == "ntlm" { 0x0a } else { 0x10 };
            assert_eq!((t.auth_type, t.auth_level), (auth_type, 6), "{}", r.section);
            assert_eq!(f.token.len(), f.header.auth_len as usize);
            if matches!(f.header.ptype, PacketType::Request | PacketType::Response) {
                // stub + padding is a multiple of 16 after the 8-byte request/response header
                assert_eq!((f.body.len() - 8) % AUTH_PAD_ALIGN, 0);
                assert!(usize::from(t.pad_len) < AUTH_PAD_ALIGN);
            }
        }
    }

    #[test]
    fn samba_bind_acks_accept_ndr20_and_carry_the_second_leg() {
        for r in recorded().iter().filter(|r| r.from_server && r.ptype == 12) {
            let f = Fragment::parse(&r.bytes).unwrap();
            let ack = BindAck::parse(f.body).unwrap();
            assert_eq!((ack.max_xmit_frag, ack.max_recv_frag), (5840, 5840));
            assert_eq!(ack.results.len(), 1);
            assert_eq!(ack.results[0].result, 0);
            assert_eq!(ack.results[0].transfer_syntax, NDR20);
            assert_ne!(f.header.flags & PFC_SUPPORT_HEADER_SIGN, 0);
            if r.section == "ntlm" {
                assert_eq!(
                    &f.token[..12],
                    b"NTLMSSP\0\x02\0\0\0",
                    "a CHALLENGE message"
                );
            } else {
                assert_eq!(f.token[0], 0x6f, "an AP-REP ([APPLICATION 15])");
            }
        }
    }

    #[test]
    fn our_recorded_bind_is_what_the_encoder_writes() {
        for r in recorded()
            .iter()
            .filter(|r| !r.from_server && r.ptype == 11)
        {
            let f = Fragment::parse(&r.bytes).unwrap();
            let drsuapi = crate::dc::drsuapi::DRSUAPI_INTERFACE;
            let again = Bind {
                ptype: PacketType::Bind,
                flags: PFC_SUPPORT_HEADER_SIGN,
                call_id: f.header.call_id,
                max_xmit_frag: 0xff00,
                max_recv_frag: 0xff00,
                assoc_group: 0,
                contexts: &[PresentationContext {
                    id: 0,
                    abstract_syntax: drsuapi,
                    transfer_syntax: NDR20,
                }],
                auth: Some((f.trailer.unwrap(), f.token)),
            }
            .encode()
            .unwrap();
            assert_eq!(again, r.bytes, "{}", r.section);
        }
    }
}
