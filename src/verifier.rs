//! The cloud verifier `v1;PPH1_MD4,<salt>,<iterations>,<hash>;` (PBKDF2, RFC 8018 §5.2; Microsoft
//! Learn, "Implement password hash synchronization with Microsoft Entra Connect Sync").
//!
//! Three layers, as in RustCrypto `pbkdf2`: the raw kernel ([`crate::kdf`]), the typed value
//! ([`CloudVerifier::derive`]) and the string format (`Display` / `FromStr`).

use std::fmt;
use std::str::FromStr;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::hex;
use crate::kdf;
use crate::nt::NtHash;
use crate::params::{Iterations, Salt};
use crate::parse_error::{Field, ParseError};

/// The verifier prefix: format version 1, PBKDF2 over the MD4 (NT) hash.
pub const PREFIX: &str = "v1;PPH1_MD4,";

/// What Entra ID stores for a synchronized password:
/// `PBKDF2-HMAC-SHA256(UTF-16LE(UPPERCASE hex(NT hash)), salt, iterations, 32)`.
///
/// The derived key is a password verifier (crackable offline like any password hash), so
/// `Debug` shows salt and iterations but not the key; `Display` gives the canonical string,
/// which is what a sync engine sends.
#[derive(Clone)]
pub struct CloudVerifier {
    salt: Salt,
    iterations: Iterations,
    hash: [u8; 32],
}

impl CloudVerifier {
    /// Derives the verifier of `nt` with the given salt and iteration count (RFC 8018 §5.2 with
    /// HMAC-SHA256, RFC 2104, FIPS 180-4).
    pub fn derive(nt: &NtHash, salt: Salt, iterations: Iterations) -> CloudVerifier {
        let password = nt.pph1_password();
        let mut hash = [0u8; 32];
        kdf::derive(&password, salt.as_bytes(), iterations.get(), &mut hash);
        CloudVerifier {
            salt,
            iterations,
            hash,
        }
    }

    /// A new verifier with a fresh [`Salt::random`] and [`Iterations::DEFAULT`], as Entra
    /// Connect makes on every password change.
    pub fn generate(nt: &NtHash) -> CloudVerifier {
        Self::derive(nt, Salt::random(), Iterations::DEFAULT)
    }

    /// Many at once on the calling thread, through the multi-lane core; the same results as
    /// [`CloudVerifier::derive`] item by item, in the same order.
    pub fn derive_batch(items: &[(NtHash, Salt)], iterations: Iterations) -> Vec<CloudVerifier> {
        let (nts, salts): (Vec<&NtHash>, Vec<Salt>) = items.iter().map(|(nt, s)| (nt, *s)).unzip();
        Self::derive_many(&nts, &salts, iterations)
    }

    /// [`CloudVerifier::derive_batch`] over borrowed hashes: `out[i]` is the verifier of
    /// `nts[i]` with `salts[i]`. The 64-byte PBKDF2 passwords live in one zeroizing buffer.
    ///
    /// # Panics
    /// If the slices differ in length (a caller bug).
    pub(crate) fn derive_many(
        nts: &[&NtHash],
        salts: &[Salt],
        iterations: Iterations,
    ) -> Vec<CloudVerifier> {
        assert_eq!(nts.len(), salts.len(), "derive_many: one salt per NT hash");
        let mut keys: Zeroizing<Vec<[u8; kdf::KEY_LEN]>> =
            Zeroizing::new(vec![[0u8; kdf::KEY_LEN]; nts.len()]);
        for (nt, key) in nts.iter().zip(keys.iter_mut()) {
            hex::utf16le_upper_hex(nt.as_bytes(), key);
        }
        let salt_bytes: Vec<[u8; kdf::SALT_LEN]> = salts.iter().map(|s| *s.as_bytes()).collect();
        let mut out = vec![[0u8; kdf::OUT_LEN]; nts.len()];
        kdf::derive_many(&keys, &salt_bytes, iterations.get(), &mut out);
        salts
            .iter()
            .zip(out)
            .map(|(salt, hash)| CloudVerifier {
                salt: *salt,
                iterations,
                hash,
            })
            .collect()
    }

    /// Whether `password` matches, in constant time with respect to the stored key.
    pub fn verify_password(&self, password: &str) -> bool {
        self.verify_nt_hash(&NtHash::from_password(password))
    }

    /// Whether `nt` matches, in constant time with respect to the stored key.
    pub fn verify_nt_hash(&self, nt: &NtHash) -> bool {
        let mut candidate = Self::derive(nt, self.salt, self.iterations);
        let equal = candidate.hash.ct_eq(&self.hash).into();
        candidate.hash.zeroize();
        equal
    }

    /// The salt.
    pub fn salt(&self) -> &Salt {
        &self.salt
    }

    /// The iteration count.
    pub fn iterations(&self) -> Iterations {
        self.iterations
    }

    /// The 32-byte derived key.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }

    /// Parses a verifier string like `FromStr`, but accepts iteration counts up to `max`
    /// instead of [`Iterations::MAX_PARSED`] (pass [`Iterations::MAX`] to accept every
    /// count). Use it only for strings whose iteration count is trusted: verifying costs
    /// one PBKDF2 iteration per unit.
    ///
    /// # Errors
    /// As `FromStr`; [`ParseError::IterationsAboveLimit`] above `max`.
    pub fn parse_with_max_iterations(
        s: &str,
        max: Iterations,
    ) -> Result<CloudVerifier, ParseError> {
        parse(s, max)
    }

    /// Builds a verifier from its parts (e.g. read from a store).
    pub fn from_parts(salt: Salt, iterations: Iterations, hash: [u8; 32]) -> CloudVerifier {
        CloudVerifier {
            salt,
            iterations,
            hash,
        }
    }
}

impl Drop for CloudVerifier {
    fn drop(&mut self) {
        self.hash.zeroize();
    }
}

impl PartialEq for CloudVerifier {
    /// Constant time over the derived key.
    fn eq(&self, other: &Self) -> bool {
        self.salt == other.salt
            && self.iterations == other.iterations
            && bool::from(self.hash.ct_eq(&other.hash))
    }
}

impl Eq for CloudVerifier {}

impl fmt::Debug for CloudVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudVerifier")
            .field("salt", &self.salt)
            .field("iterations", &self.iterations.get())
            .field("hash", &"<redacted>")
            .finish()
    }
}

impl fmt::Display for CloudVerifier {
    /// The canonical form: `v1;PPH1_MD4,<salt lowercase hex>,<iterations>,<hash lowercase hex>;`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(PREFIX.len() + 20 + 1 + 10 + 1 + 64 + 1);
        s.push_str(PREFIX);
        hex::push_lower(&mut s, self.salt.as_bytes());
        s.push(',');
        s.push_str(&self.iterations.get().to_string());
        s.push(',');
        hex::push_lower(&mut s, &self.hash);
        s.push(';');
        f.write_str(&s)
    }
}

impl FromStr for CloudVerifier {
    type Err = ParseError;

    /// Accepts hex in any case and an optional trailing `;` (hashcat writes none); rejects
    /// anything else with an error naming the field, and iteration counts above
    /// [`Iterations::MAX_PARSED`] ([`CloudVerifier::parse_with_max_iterations`] allows more).
    fn from_str(s: &str) -> Result<Self, ParseError> {
        parse(s, Iterations::MAX_PARSED)
    }
}

fn parse(s: &str, max: Iterations) -> Result<CloudVerifier, ParseError> {
    let body = s.strip_prefix(PREFIX).ok_or(ParseError::Prefix)?;
    let body = match body.find(';') {
        Some(end) if end + 1 == body.len() => &body[..end],
        Some(end) => {
            return Err(ParseError::TrailingData {
                position: PREFIX.len() + end + 1,
            });
        }
        None => body,
    };
    let fields: Vec<&str> = body.split(',').collect();
    let [salt, iterations, hash] = fields[..] else {
        return Err(ParseError::FieldCount {
            found: fields.len(),
        });
    };
    let salt = Salt::from_bytes(hex::decode_fixed::<10>(Field::Salt, salt)?);
    let iterations = parse_iterations(iterations)?;
    if iterations > max {
        return Err(ParseError::IterationsAboveLimit {
            found: iterations.get(),
            limit: max.get(),
        });
    }
    let hash = hex::decode_fixed::<32>(Field::Hash, hash)?;
    Ok(CloudVerifier {
        salt,
        iterations,
        hash,
    })
}

fn parse_iterations(text: &str) -> Result<Iterations, ParseError> {
    if text.is_empty() {
        return Err(ParseError::IterationsNotDecimal { position: 0 });
    }
    if text.len() > 1 && text.starts_with('0') && text.bytes().all(|c| c.is_ascii_digit()) {
        return Err(ParseError::IterationsLeadingZero);
    }
    let mut value: u64 = 0;
    for (position, c) in text.bytes().enumerate() {
        if !c.is_ascii_digit() {
            return Err(ParseError::IterationsNotDecimal { position });
        }
        value = value * 10 + u64::from(c - b'0');
        if value > u64::from(u32::MAX) {
            return Err(ParseError::IterationsTooLarge);
        }
    }
    let value = u32::try_from(value).map_err(|_| ParseError::IterationsTooLarge)?;
    Iterations::new(value).ok_or(ParseError::IterationsZero)
}

impl serde::Serialize for CloudVerifier {
    /// As the canonical string: the verifier is what a sync engine ships.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CloudVerifier {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: &str = "v1;PPH1_MD4,181a3024085fcee2f70e,1000,b39525c3bc72a1136fcf7c8a338e0c14313d0450d1a4c98ef0a6ddada3bc5b0a;";

    #[test]
    fn rejections_name_the_field() {
        let cases: &[(&str, ParseError)] = &[
            ("v2;PPH1_MD4,", ParseError::Prefix),
            (
                "v1;PPH1_MD4,181a3024085fcee2f70e,1000",
                ParseError::FieldCount { found: 2 },
            ),
            (
                "v1;PPH1_MD4,181a3024085fcee2f70e,1000,00,00",
                ParseError::FieldCount { found: 4 },
            ),
            (
                "v1;PPH1_MD4,181a3024085fcee2f7,1000,00",
                ParseError::Length {
                    field: Field::Salt,
                    expected: 20,
                    found: 18,
                },
            ),
            (
                "v1;PPH1_MD4,181a3024085fcee2f70e,0,00",
                ParseError::IterationsZero,
            ),
            (
                "v1;PPH1_MD4,181a3024085fcee2f70e,4294967296,00",
                ParseError::IterationsTooLarge,
            ),
            (
                "v1;PPH1_MD4,181a3024085fcee2f70e,01000,00",
                ParseError::IterationsLeadingZero,
            ),
            (
                "v1;PPH1_MD4,181a3024085fcee2f70e,00,00",
                ParseError::IterationsLeadingZero,
            ),
            (
                "v1;PPH1_MD4,181a3024085fcee2f70e,+5,00",
                ParseError::IterationsNotDecimal { position: 0 },
            ),
            (
                "v1;PPH1_MD4,181a3024085fcee2f70e,,00",
                ParseError::IterationsNotDecimal { position: 0 },
            ),
            (
                "v1;PPH1_MD4,181a3024085fcee2f70e,10,00",
                ParseError::Length {
                    field: Field::Hash,
                    expected: 64,
                    found: 2,
                },
            ),
            (
                "v1;PPH1_MD4,181a3024085fcee2f70x,10,00",
                ParseError::InvalidHex {
                    field: Field::Salt,
                    position: 19,
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                input.parse::<CloudVerifier>().unwrap_err(),
                *expected,
                "{input}"
            );
        }
        let trailing = format!("{V}x");
        assert_eq!(
            trailing.parse::<CloudVerifier>().unwrap_err(),
            ParseError::TrailingData { position: V.len() }
        );
        let double = format!("{V};");
        assert!(double.parse::<CloudVerifier>().is_err());
    }

    #[test]
    fn accepts_uppercase_and_missing_semicolon() {
        let upper = V.to_uppercase().replace("V1;PPH1_MD4,", PREFIX);
        let parsed: CloudVerifier = upper.trim_end_matches(';').parse().unwrap();
        assert_eq!(parsed.to_string(), V);
    }

    #[test]
    fn iterations_max_accepted_only_when_asked() {
        let s = "v1;PPH1_MD4,181a3024085fcee2f70e,4294967295,b39525c3bc72a1136fcf7c8a338e0c14313d0450d1a4c98ef0a6ddada3bc5b0a;";
        let all = Iterations::new(u32::MAX).unwrap();
        assert_eq!(
            CloudVerifier::parse_with_max_iterations(s, all)
                .unwrap()
                .iterations()
                .get(),
            u32::MAX
        );
        assert_eq!(
            s.parse::<CloudVerifier>().unwrap_err(),
            ParseError::IterationsAboveLimit {
                found: u32::MAX,
                limit: 100_000
            }
        );
    }
}
