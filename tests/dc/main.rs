//! The domain-controller client's sealed transport, offline (feature `dc`), one test binary: a
//! fake DC on 127.0.0.1 (`fake_dc.rs`) accepts NTLM, seals every fragment and serves Samba's
//! real replies under this connection's session key. The live Samba interop
//! (`tools/interop/run.sh`, docs/interop.md) covers a real DC; these tests run everywhere and
//! reach what a real DC does not do on request: a bit flipped on the wire, a wrong password
//! the DC refuses, fragments far smaller than Windows'.

#![cfg(feature = "dc")]

#[path = "../common/mod.rs"]
mod common;

mod fake_dc;

mod sealed;
