//! Session keys for `replay`: from files (`--session-key-file`, hex) or `PHSYNC_SESSION_KEY`
//! (hex, comma-separated), never from argv, where `ps` and shell history would show the key
//! that decrypts every hash.

use std::path::PathBuf;

use phsync::drs::SessionKey;
use zeroize::Zeroizing;

/// The environment variable holding session keys (hex, comma-separated, newest first).
pub const ENV: &str = "PHSYNC_SESSION_KEY";

/// The keys, newest first: the files in the order given, then the environment's.
pub fn load(files: &[PathBuf]) -> Result<Vec<SessionKey>, String> {
    let mut keys = Vec::new();
    for path in files {
        let bytes =
            crate::input::read_secret_file(path).map_err(|e| format!("--session-key-file {e}"))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| format!("--session-key-file {}: not UTF-8", path.display()))?;
        let key = SessionKey::from_hex(text.trim())
            .map_err(|e| format!("--session-key-file {}: {e}", path.display()))?;
        keys.push(key);
    }
    if let Ok(value) = std::env::var(ENV) {
        let value = Zeroizing::new(value);
        for (i, part) in value.split(',').enumerate() {
            let key = SessionKey::from_hex(part.trim())
                .map_err(|e| format!("{ENV}: key {}: {e}", i + 1))?;
            keys.push(key);
        }
    }
    Ok(keys)
}
