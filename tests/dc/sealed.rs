//! `Session` and `Replication` against the fake DC: a whole NC cycle through sealed fragments,
//! and the failures a sealed connection must turn into typed errors.

use std::collections::BTreeMap;

use phsync::NtHash;
use phsync::dc::pdu::RequestFragment;
use phsync::dc::{CycleOptions, DcConfig, DcError, Identity, Mechanism, Position, Replication};
use phsync::dc::{Schema, Session};
use phsync::drs::{Reply, SessionKey};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::common;
use crate::fake_dc::{self, FakeDc, OPNUM_GET_NC_CHANGES, Script};

/// The `IDL_DRSGetNCChanges` stubs served for one capture of `tests/fixtures/samba-a/`.
fn capture_replies(capture_id: &str) -> Vec<(Vec<u8>, SessionKey)> {
    common::capture_files()
        .into_iter()
        .filter(|(file, _)| file.starts_with(&format!("bin/{capture_id}/")))
        .map(|(file, key)| (common::samba_file(&file), key))
        .collect()
}

/// The client's configuration for the fake DC on `port`, with `password`.
fn config(port: u16, password: &str) -> DcConfig {
    let identity = Identity {
        user: fake_dc::USER.into(),
        domain: fake_dc::DOMAIN.into(),
        password: Zeroizing::new(password.into()),
    };
    let mut c = DcConfig::new("127.0.0.1", identity, Mechanism::Ntlm);
    c.port = Some(port);
    c.timeout = std::time::Duration::from_secs(20);
    c
}

/// The schema probe's answer (Samba's `EXOP_REPL_OBJ` reply for one account), then the NC
/// cycle of capture `impacket-ntlm-nc` (three replies, 282 objects).
fn probe_then_cycle() -> Vec<(Vec<u8>, SessionKey)> {
    let mut answers = capture_replies("impacket-ntlm-exop");
    answers.truncate(1);
    answers.extend(capture_replies("impacket-ntlm-nc"));
    answers
}

/// What a cycle through the fake DC gave: the replies, the error that ended it, the session key.
struct Cycle {
    replies: Vec<Reply>,
    error: Option<DcError>,
    key: SessionKey,
}

/// Opens a session, probes the schema and runs one full cycle; closes the session if the cycle
/// returned it.
fn run_cycle(port: u16) -> Cycle {
    let mut session = Session::open(&config(port, fake_dc::PASSWORD)).expect("session");
    let options = CycleOptions::for_domain("drsxkvp.test");
    let schema = Schema::probe(&mut session, &options).expect("schema probe");
    let key = session.session_key().clone();
    let mut cycle = Replication::start(session, options, schema, Position::full());
    let replies: Vec<Reply> = cycle.by_ref().collect();
    let (error, session) = cycle.finish();
    if error.is_none() {
        session
            .expect("the session back")
            .close()
            .expect("IDL_DRSUnbind");
    }
    Cycle {
        replies,
        error,
        key,
    }
}

/// sAMAccountName → NT hash (hex) of every account of the capture's ground truth.
fn truth_hashes() -> BTreeMap<String, Option<String>> {
    let truth = common::samba_truth();
    truth["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let nt = a["nt_hash"].as_str().map(str::to_owned);
            (a["sam_account_name"].as_str().unwrap().to_owned(), nt)
        })
        .collect()
}

/// sAMAccountName → decrypted NT hash of every account object in `replies`.
fn decrypted_hashes(replies: &[Reply], key: &SessionKey) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    for o in replies.iter().flat_map(Reply::objects) {
        let Some(name) = o.sam_account_name() else {
            continue;
        };
        let nt = o
            .decrypt_nt_hash(std::slice::from_ref(key))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        out.insert(name, nt.map(|h: NtHash| common::lower_hex(h.as_bytes())));
    }
    out
}

/// The captured replies' `(object count, fMoreData, usnvecTo)`, from `truth.json`.
fn captured_shape() -> Vec<(u64, bool, Vec<i64>)> {
    let truth = common::samba_truth();
    let capture = common::capture(&truth, "impacket-ntlm-nc");
    capture["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r: &Value| {
            let usn = r["usn_vec_to"].as_array().unwrap();
            (
                r["object_count"].as_u64().unwrap(),
                r["more_data"].as_bool().unwrap(),
                usn.iter().map(|v| v.as_i64().unwrap()).collect(),
            )
        })
        .collect()
}

#[test]
fn a_full_cycle_through_small_sealed_fragments_yields_every_account_and_hash() {
    // 1 KiB requests and 2 KiB replies: every GetNCChanges request (partial attribute set and
    // prefix table) spans several sealed fragments, each reply 20 or more.
    let dc = FakeDc::start(Script {
        max_xmit_frag: 2048,
        max_recv_frag: 1024,
        ..Script::serving(probe_then_cycle())
    });
    let cycle = run_cycle(dc.port);
    let served = dc.join();
    assert!(cycle.error.is_none(), "{:?}", cycle.error);
    assert_eq!(served.refused, None);

    // The replies are Samba's, reassembled: counts, fMoreData and watermarks as captured.
    let shape = captured_shape();
    assert_eq!(cycle.replies.len(), shape.len());
    for (reply, (count, more, usn_to)) in cycle.replies.iter().zip(&shape) {
        assert_eq!(reply.objects().len() as u64, *count);
        assert_eq!(reply.more_data(), *more);
        let to = reply.usn_vec_to();
        assert_eq!(
            vec![
                to.usn_high_obj_update,
                to.usn_reserved,
                to.usn_high_prop_update
            ],
            *usn_to
        );
    }
    // Every account's hash, decrypted with this connection's key, is the truth's; the
    // capture's own key no longer opens them (the fake DC re-encrypted them).
    let got = decrypted_hashes(&cycle.replies, &cycle.key);
    for (name, nt) in truth_hashes() {
        assert_eq!(got.get(&name), Some(&nt), "{name}");
    }
    let captured_key =
        common::capture_key(common::capture(&common::samba_truth(), "impacket-ntlm-nc"));
    let admin = (cycle.replies.iter().flat_map(Reply::objects))
        .find(|o| o.sam_account_name().as_deref() == Some("Administrator"))
        .unwrap();
    assert!(admin.decrypt_nt_hash(&[captured_key]).is_err());

    // What the client sent: bind, probe, three chunks, unbind; each chunk after the first
    // continues from the watermark of the one before; requests were cut into fragments.
    let opnums: Vec<u16> = served.calls.iter().map(|(op, _)| *op).collect();
    assert_eq!(opnums, [0, 3, 3, 3, 3, 1]);
    let chunks = &served.calls[2..5];
    for (i, (_, stub)) in chunks.iter().enumerate().skip(1) {
        // The replies' usnvecTo equal the capture's (asserted above).
        assert!(
            fake_dc::continues_from(stub, cycle.replies[i - 1].usn_vec_to()),
            "request {i} does not carry usnvecFrom {:?}",
            shape[i - 1].2
        );
    }
    let per_frag = RequestFragment::max_stub(1024, Some(16));
    let cut: usize = served
        .calls
        .iter()
        .map(|(_, stub)| stub.len().div_ceil(per_frag))
        .sum();
    assert_eq!(served.request_fragments, cut);
    assert!(cut > served.calls.len(), "some request spans fragments");
    assert!(
        served.response_fragments > 60,
        "{}",
        served.response_fragments
    );
    assert_eq!(served.session_key.as_deref().map(<[u8]>::len), Some(16));
}

/// Runs a cycle with 2 KiB reply fragments and `script` changing one of them, fragment 30:
/// fragment 0 is the DRSBind reply, then come the probe's and reply 0's (40 KB in 21), so 30
/// is inside reply 1. The cycle must end there with an unsealing error.
fn assert_fragment_30_is_refused(change: impl FnOnce(&mut Script)) {
    let mut script = Script {
        max_xmit_frag: 2048,
        ..Script::serving(probe_then_cycle())
    };
    change(&mut script);
    let dc = FakeDc::start(script);
    let cycle = run_cycle(dc.port);
    let served = dc.join();
    assert!(served.response_fragments > 30, "fragment 30 was sent");
    assert_eq!(cycle.replies.len(), 1, "only the reply before fragment 30");
    match cycle.error {
        Some(DcError::Auth {
            stage: "unsealing", ..
        }) => {}
        other => panic!("expected an unsealing error, got {other:?}"),
    }
}

#[test]
fn a_bit_flipped_in_a_sealed_reply_ends_the_cycle_with_a_typed_error() {
    assert_fragment_30_is_refused(|s| s.tamper_fragment = Some(30));
}

#[test]
fn a_replayed_sealed_fragment_ends_the_cycle_with_a_typed_error() {
    // Byte for byte a fragment the client accepted a moment ago: only its NTLM sequence
    // number (MS-NLMP §3.4.4) gives it away.
    assert_fragment_30_is_refused(|s| s.replay_fragment = Some(30));
}

#[test]
fn a_password_the_dc_refuses_is_bad_credentials() {
    let dc = FakeDc::start(Script {
        password: "another password".into(),
        ..Script::serving(Vec::new())
    });
    let err = Session::open(&config(dc.port, fake_dc::PASSWORD)).expect_err("refused");
    let served = dc.join();
    assert!(
        matches!(err, DcError::BadCredentials { .. }),
        "expected BadCredentials, got {err:?}"
    );
    assert!(served.calls.is_empty(), "no call was answered");
    assert_eq!(served.session_key, None);
}

#[test]
fn a_connection_lost_mid_cycle_keeps_the_replies_before_it() {
    // Answer 0 is the probe, 1 and 2 the first two chunks: drop instead of the second chunk.
    let dc = FakeDc::start(Script {
        drop_at_reply: Some(2),
        ..Script::serving(probe_then_cycle())
    });
    let cycle = run_cycle(dc.port);
    let served = dc.join();
    assert_eq!(cycle.replies.len(), 1);
    assert!(
        matches!(cycle.error, Some(DcError::Closed { .. })),
        "{:?}",
        cycle.error
    );
    let calls = served
        .calls
        .iter()
        .filter(|(op, _)| *op == OPNUM_GET_NC_CHANGES);
    assert_eq!(calls.count(), 3);
}
