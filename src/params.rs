//! The PBKDF2 parameters of the cloud verifier: [`Salt`] and [`Iterations`] (RFC 8018 §5.2;
//! Microsoft Learn, "Implement password hash synchronization with Microsoft Entra Connect Sync").

use std::fmt;
use std::num::NonZeroU32;

use crate::hex;

/// The 10-byte per-verifier salt (Entra Connect draws 10 random bytes: Microsoft Learn, "Implement
/// password hash synchronization with Microsoft Entra Connect Sync").
///
/// Not secret: it is part of the verifier string.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Salt([u8; 10]);

impl Salt {
    /// Wraps 10 bytes.
    pub fn from_bytes(bytes: [u8; 10]) -> Salt {
        Salt(bytes)
    }

    /// 10 bytes from the operating system's CSPRNG (`getrandom`).
    ///
    /// # Panics
    /// If the operating system cannot provide random bytes, which on supported platforms
    /// does not happen once the system has booted. Use [`Salt::try_random`] to handle it.
    pub fn random() -> Salt {
        match Self::try_random() {
            Ok(salt) => salt,
            Err(err) => panic!("the OS random number generator failed: {err}"),
        }
    }

    /// 10 bytes from the operating system's CSPRNG, or the error it reported.
    ///
    /// # Errors
    /// The OS generator's error.
    pub fn try_random() -> Result<Salt, getrandom::Error> {
        let mut bytes = [0u8; 10];
        getrandom::fill(&mut bytes)?;
        Ok(Salt(bytes))
    }

    /// The 10 salt bytes.
    pub fn as_bytes(&self) -> &[u8; 10] {
        &self.0
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Salt({})", hex::lower(&self.0))
    }
}

/// A PBKDF2 iteration count: never zero (RFC 8018 §5.2: `c` is a positive integer).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Iterations(NonZeroU32);

impl Iterations {
    /// 1000, what Entra ID expects today (it was 100 in the early DirSync era).
    pub const DEFAULT: Iterations = Iterations(NonZeroU32::new(1000).unwrap());

    /// 100 000: the largest count that parsing a verifier *string* accepts by default
    /// (`CloudVerifier::from_str`, serde).
    ///
    /// The count in a verifier string is attacker-chosen wherever the string comes from outside
    /// (a store, a request, a file), and verifying costs one PBKDF2 iteration per unit
    /// (RFC 8018 §5.2): `4294967295` would keep [`CloudVerifier::verify_password`] busy for
    /// hours. 100 000 is 100 × what Entra ID uses ([`Iterations::DEFAULT`]), still well under
    /// a second per verification on one core. A caller that trusts its store and needs more
    /// says so with [`CloudVerifier::parse_with_max_iterations`]. APIs that take an
    /// `Iterations` value directly ([`CloudVerifier::derive`], …) are not bounded.
    ///
    /// [`CloudVerifier::verify_password`]: crate::CloudVerifier::verify_password
    /// [`CloudVerifier::parse_with_max_iterations`]: crate::CloudVerifier::parse_with_max_iterations
    /// [`CloudVerifier::derive`]: crate::CloudVerifier::derive
    pub const MAX_PARSED: Iterations = Iterations(NonZeroU32::new(100_000).unwrap());

    /// `u32::MAX`, the largest count: for [`CloudVerifier::parse_with_max_iterations`] when
    /// every count is to be accepted.
    ///
    /// [`CloudVerifier::parse_with_max_iterations`]: crate::CloudVerifier::parse_with_max_iterations
    pub const MAX: Iterations = Iterations(NonZeroU32::new(u32::MAX).unwrap());

    /// `None` for 0.
    pub const fn new(n: u32) -> Option<Iterations> {
        match NonZeroU32::new(n) {
            Some(n) => Some(Iterations(n)),
            None => None,
        }
    }

    /// The count.
    pub const fn get(self) -> u32 {
        self.0.get()
    }
}

impl Default for Iterations {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl From<NonZeroU32> for Iterations {
    fn from(n: NonZeroU32) -> Self {
        Iterations(n)
    }
}

impl fmt::Display for Iterations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
