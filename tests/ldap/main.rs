//! The LDAP part's integration tests (feature `ldap`), one test binary: a throwaway slapd with
//! the Samba schema, DirSync against a throwaway Samba AD DC (opt-in) and hostile control and
//! attribute values. See `tests/ldap/slapd.rs` for what the slapd tests need.

#![cfg(feature = "ldap")]

mod slapd;

mod dirsync_samba;
mod hostile;
mod repl_metadata;
mod slapd_source;
