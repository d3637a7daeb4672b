//! Fixture and vector loading shared by the integration test binaries (and `benches/drs.rs`):
//! the real Samba captures in `tests/fixtures/samba-a/` with their ground truth, and the DRS
//! vectors in `tests/vectors/drs/`. One copy, so every test reads the files the same way.

#![allow(dead_code)] // each binary uses a different subset

use std::path::{Path, PathBuf};

use phsync::drs::SessionKey;
use serde_json::Value;

/// A path inside the repository.
pub fn repo(rel: impl AsRef<Path>) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The Samba capture directory (`tests/fixtures/samba-a/`).
pub fn samba_dir() -> PathBuf {
    repo("tests/fixtures/samba-a")
}

/// A file of the Samba captures, by its path relative to [`samba_dir`].
pub fn samba_file(rel: &str) -> Vec<u8> {
    let path = samba_dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The captures' ground truth (`truth.json`).
pub fn samba_truth() -> Value {
    serde_json::from_slice(&samba_file("truth.json")).expect("truth.json is JSON")
}

/// A capture's session key (`session_key_hex` of a `truth.json` capture).
pub fn capture_key(capture: &Value) -> SessionKey {
    SessionKey::from_hex(capture["session_key_hex"].as_str().unwrap()).unwrap()
}

/// The capture with this `id` in `truth.json`.
pub fn capture<'a>(truth: &'a Value, id: &str) -> &'a Value {
    truth["captures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no capture {id}"))
}

/// (reply file relative to [`samba_dir`], its key) for every captured reply, in order.
pub fn capture_files() -> Vec<(String, SessionKey)> {
    let truth = samba_truth();
    let mut out = Vec::new();
    for c in truth["captures"].as_array().unwrap() {
        let key = capture_key(c);
        for r in c["replies"].as_array().unwrap() {
            out.push((r["file"].as_str().unwrap().to_owned(), key.clone()));
        }
    }
    out
}

/// A file of the DRS vectors (`tests/vectors/drs/`).
pub fn drs_vector_path(name: &str) -> PathBuf {
    repo("tests/vectors/drs").join(name)
}

/// A hex file of the DRS vectors, whitespace ignored.
pub fn drs_vector_hex(name: &str) -> Vec<u8> {
    hex(&std::fs::read_to_string(drs_vector_path(name)).unwrap())
}

/// `tests/vectors/drs/vectors.json`.
pub fn drs_vectors() -> Value {
    serde_json::from_slice(&std::fs::read(drs_vector_path("vectors.json")).unwrap()).unwrap()
}

/// The synthetic V6 reply (`tests/vectors/drs/appendix-a-v6-reply.hex`).
pub fn appendix_a() -> Vec<u8> {
    drs_vector_hex("appendix-a-v6-reply.hex")
}

/// Hex digits (any case, whitespace ignored) → bytes. Panics on odd length or a non-digit.
pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    assert!(s.len().is_multiple_of(2), "odd-length hex");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Bytes → lowercase hex.
pub fn lower_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `tests/fixtures/samba-b/truth.json`: a full replication then two incremental cycles on one
/// connection, with the harness's changes and their expected outcomes.
pub fn incremental_truth() -> Value {
    let text = std::fs::read_to_string(repo("tests/fixtures/samba-b/truth.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// One phase (`full`, `delta-1`, `delta-2`) of [`incremental_truth`].
pub fn incremental_phase<'a>(truth: &'a Value, phase: &str) -> &'a Value {
    truth["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == phase)
        .unwrap_or_else(|| panic!("no phase {phase}"))
}

/// The reply files of one phase, in order.
pub fn incremental_files(truth: &Value, phase: &str) -> Vec<PathBuf> {
    incremental_phase(truth, phase)["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| repo("tests/fixtures/samba-b").join(r.as_str().unwrap()))
        .collect()
}

/// A new, empty scratch directory for this process.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("phsync-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `NAME.reply` stub of `tests/vectors/dc_replies.txt`: Samba's real `[out]` stubs of the
/// DRSUAPI and endpoint-mapper calls.
pub fn dc_reply(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(repo("tests/vectors/dc_replies.txt")).unwrap();
    let key = format!("{name}.reply");
    let line = text
        .lines()
        .filter_map(|l| l.split_once(" = "))
        .find(|(n, _)| n.trim() == key)
        .unwrap_or_else(|| panic!("no {key} in dc_replies.txt"));
    hex(line.1)
}
