//! # Design manual: why phsync does what it does
//!
//! Short answers to the questions a reviewer asks first. Each cites the spec section
//! (`spec/drs.md`, `spec/perf.md`, `spec/ecosystem.md`) that holds the evidence.
//!
//! ## Why the PBKDF2 password is the *uppercase* hex of the NT hash
//! Entra Connect formats the 16-byte NT hash with .NET's `BitConverter.ToString(...)
//! .Replace("-", "")`, which yields uppercase digits, and feeds the UTF-16LE bytes of that
//! string to PBKDF2 (`drs.md` §6.1). Lowercase hex gives a different, equally plausible-looking
//! verifier that Entra ID rejects; `tests/vectors/pph1.json` carries such a negative vector and
//! the test suite checks phsync never produces it. The 64-byte buffer is exactly one SHA-256
//! block, which is what lets the core precompute the HMAC pads once per account.
//!
//! ## Why the salt is fresh for every verifier
//! Entra Connect draws 10 random bytes on every password change (`drs.md` §6.1); re-using a
//! salt across accounts would let an attacker who obtains the cloud verifiers attack equal
//! passwords once. [`crate::Salt::random`] uses the operating system's CSPRNG.
//!
//! ## Why the NT hash is never printed
//! An NT hash is password-equivalent (pass-the-hash). [`crate::NtHash`] has no `Display`
//! and no `Serialize`, its `Debug` is redacted, it is zeroized on drop and compared in
//! constant time. Parse errors name the field and the byte position, never the text.
//!
//! ## Why the CRC is checked
//! Each secret value carries `CRC32(plaintext)` under the RC4 layer (`drs.md` §2.3). impacket
//! ignores it; Samba and DSInternals check it, and so does phsync, for three reasons. A wrong
//! session key (a Kerberos subkey vs. ticket key mix-up, a key renegotiated mid-replication, the
//! first 16 bytes of a 32-byte AES key) does not fail RC4: it yields 16 random-looking bytes that
//! would be synced as the user's "NT hash" and lock them out of the cloud. The CRC turns that into
//! [`crate::drs::DecryptError::CrcMismatch`] naming the attribute. It is also what makes key
//! rollover work: [`crate::drs::ReplicatedObject::decrypt_with_any`] tries the candidate keys and
//! keeps the one whose CRC matches, as DSInternals does (`drs.md` §2.2). And it catches corruption
//! the NDR layer cannot see. A false match has probability 2⁻³², per value and wrong key.
//!
//! ## What the DRS decoder skips and why
//! - **Compressed replies (V2, V7) and V1** are rejected with
//!   [`crate::drs::DecodeErrorKind::Unsupported`]: neither impacket nor DSInternals requests
//!   compression, Samba's server never compresses, and MSZIP/XPRESS would be a large unverified
//!   surface (`drs.md` §3.3). Ask for uncompressed V6/V9 replies.
//! - **Linked values** (`rgValues`: `member` and other link attributes) are walked and kept raw
//!   ([`crate::drs::Reply::linked_values`]) but not interpreted: password hash sync needs none of
//!   them, and the REPLVALINF layout rests on the IDL alone (`drs.md` §7.2) — the real Samba
//!   capture, whose last chunk carries 23 of them and ends exactly on the return value, is the
//!   check that the walk is right.
//! - **Attribute values other than the ones [`crate::drs::Account`] types** stay raw bytes behind
//!   [`crate::drs::ReplicatedObject::attributes`]; DN-valued ones can be read with
//!   [`crate::drs::reply::parse_dsname_value`].
//! - **msDS-IntId ATTRTYPs** (`0x80000000–0xBFFFFFFF`) are reported as
//!   [`crate::drs::AttrId::IntId`], not guessed: only the schema maps them (`drs.md` §1.1).
//! - **Referent IDs** are never validated: they are opaque, and Samba's differ from Windows'
//!   numbering (`drs.md` §3.2 rule 4).
//! - **`supplementalCredentials`** can be skipped on request ([`crate::drs::Secrets::Hashes`]):
//!   it is ~2.6 KB of RC4 and hex per account, and password hash sync needs only the NT hash.
