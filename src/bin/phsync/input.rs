//! Bounded reads of the command's inputs, and reads of secrets that leave no copy behind.
//!
//! Every input has a size limit, so `/dev/zero` or a wrong path cannot exhaust memory. Secrets
//! (session keys, the DC password, a password to verify, NT-hash lists) are read into buffers
//! allocated once at their final size and zeroized on drop: a `Vec` that grows while reading
//! frees its old buffer without wiping it, and std's `Stdin` keeps its own 8 KiB buffer, which
//! a read is kept out of by asking for at least that much at once (`BufReader::read` then reads
//! straight into the caller's buffer).

use std::io::{BufRead, Read};
use std::path::Path;

use zeroize::Zeroizing;

/// Largest `cMaxBytes` `sync` asks a DC for, in MiB (`--max-megabytes`).
pub const MAX_REPLY_MEGABYTES: u32 = 256;

/// Largest reply accepted for a request of `megabytes` MiB (`cMaxBytes`): that and 16 MiB for
/// its framing and the object a DC may let run over.
pub const fn reply_limit(megabytes: u32) -> usize {
    (megabytes as usize + 16) << 20
}

/// Largest reply file `replay` reads: the largest reply `sync` accepts from a DC.
pub const MAX_REPLY_FILE: u64 = reply_limit(MAX_REPLY_MEGABYTES) as u64;

/// Largest key or password file.
pub const MAX_SECRET_FILE: usize = 4096;

/// std's `Stdin` buffer size: reads at least this large bypass it.
const STDIN_BUF: usize = 8 * 1024;

/// `path`'s bytes, refused beyond `limit`.
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!("larger than {limit} bytes: not a reply"));
    }
    Ok(bytes)
}

/// At most `limit` bytes of `reader`, in one zeroizing buffer allocated up front (and at least
/// [`STDIN_BUF`] larger, so a read from stdin never goes through std's buffer); more is an
/// error.
pub fn read_secret(mut reader: impl Read, limit: usize) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut buf = Zeroizing::new(vec![0u8; limit + 1 + STDIN_BUF]);
    let mut n = 0;
    while n <= limit {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("cannot read: {e}")),
        }
    }
    if n > limit {
        return Err(format!("longer than {limit} bytes"));
    }
    buf.truncate(n);
    Ok(buf)
}

/// [`read_secret`] of a file, with the path in the error.
pub fn read_secret_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    read_secret(file, MAX_SECRET_FILE).map_err(|e| format!("{}: {e}", path.display()))
}

/// A `BufRead` whose buffer is zeroized on drop (`BufReader`'s is not), for input that is
/// secret line by line (NT hashes). Its reads are [`LineReader::CAPACITY`] bytes, past std's
/// stdin buffer.
pub struct LineReader<R> {
    inner: R,
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
    filled: usize,
}

impl<R: Read> LineReader<R> {
    /// Bytes read at a time.
    pub const CAPACITY: usize = 64 * 1024;

    pub fn new(inner: R) -> LineReader<R> {
        LineReader {
            inner,
            buf: Zeroizing::new(vec![0; Self::CAPACITY]),
            pos: 0,
            filled: 0,
        }
    }
}

impl<R: Read> Read for LineReader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for LineReader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.pos == self.filled {
            self.filled = loop {
                match self.inner.read(&mut self.buf) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    r => break r?,
                }
            };
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.filled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_read_whole_up_to_the_limit_and_refused_beyond() {
        let got = read_secret(&b"hunter2\n"[..], 8).unwrap();
        assert_eq!(&got[..], b"hunter2\n");
        assert!(read_secret(&b"123456789"[..], 8).is_err());
        // A reader that returns a byte at a time still gives the whole input.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let Some((&b, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                out[0] = b;
                self.0 = rest;
                Ok(1)
            }
        }
        assert_eq!(&read_secret(Trickle(b"abc"), 8).unwrap()[..], b"abc");
        assert!(read_secret(Trickle(b"abcdefghi"), 8).is_err());
    }

    #[test]
    fn lines_come_through_whole_and_in_order() {
        let text: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let mut r = LineReader::new(&text[..]);
        let mut line = Vec::new();
        for i in 0..20_000 {
            line.clear();
            r.read_until(b'\n', &mut line).unwrap();
            assert_eq!(line, format!("line {i}\n").as_bytes());
        }
        line.clear();
        assert_eq!(r.read_until(b'\n', &mut line).unwrap(), 0);
    }
}
