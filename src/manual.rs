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
