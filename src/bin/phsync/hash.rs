//! `phsync hash`: NT hashes from other tools, one outcome per input line, streamed. The line
//! formats are in `hash_formats.rs`.
//!
//! With `--state`, the verifier delivered for each named account is remembered in the store
//! (`phsync::batch::VerifierSync`): a later run skips an account whose NT hash still gives that
//! verifier as `unchanged`. Bare hashes have no name and are always synced.

use std::io::{BufRead, BufWriter, Read};
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use phsync::batch::{CancelToken, Runner, SourceItem, VerifierSync};
use phsync::state::{NoStore, VerifierStore};

use zeroize::Zeroizing;

use crate::hash_formats::{Format, invalid, is_comment, parse_line};
use crate::input::LineReader;
use crate::output::{self, JsonLines};
use crate::{PolicyArgs, Status};

/// Longest line read whole; longer ones are one `invalid_input` outcome (bounded memory).
const MAX_LINE: usize = 64 * 1024;

#[derive(Args)]
pub struct HashArgs {
    /// The input's format.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    format: Format,
    /// The input file; `-` or nothing for stdin.
    #[arg(value_name = "FILE|-")]
    input: Option<PathBuf>,
    #[command(flatten)]
    policy: PolicyArgs,
}

/// `phsync hash`.
pub fn run(args: HashArgs) -> Status {
    let store = args.policy.state(
        |s| Box::new(s) as Box<dyn VerifierStore>,
        || Box::new(NoStore),
    );
    let store = match store {
        Ok(s) => s,
        Err(status) => return status,
    };
    let reader: Box<dyn Read> = match args.input.as_deref() {
        None => Box::new(std::io::stdin().lock()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdin().lock()),
        Some(p) => match std::fs::File::open(p) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("phsync: {}: {e}", p.display());
                return Status::Failed;
            }
        },
    };
    let mut policy = args.policy.policy();
    // Bare hashes carry no name (the parser gives every other format one).
    policy.require_sam_account_name = false;
    let bar = output::progress_bar(args.policy.quiet, "lines");
    let progress = |s: &phsync::batch::Summary| output::show(&bar, s);
    let stop = CancelToken::new();
    let runner = Runner::new(policy)
        .on_progress(&progress)
        .cancel_token(stop.clone());
    let mut out = JsonLines::new(BufWriter::new(std::io::stdout().lock()), stop, true);
    let started = Instant::now();
    let mut lines = Lines {
        reader: LineReader::new(reader),
        line: Zeroizing::new(Vec::with_capacity(MAX_LINE + 1)),
        number: 0,
        error: None,
    };
    let format = args.format;
    let items = std::iter::from_fn(|| lines.next_item(format));
    let summary = VerifierSync::new(store).run_to(&runner, items, &mut out);
    if let Err(status) = output::end(&bar, &mut out) {
        return status;
    }
    let summary = match summary {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "phsync: {e}; stopped after line {}: the lines after the last commit are \
                 synced again by the next run",
                lines.number
            );
            return Status::Failed;
        }
    };
    if !args.policy.quiet {
        output::summary("lines", &summary, 0, started);
    }
    if let Some(e) = lines.error {
        eprintln!(
            "phsync: reading the input stopped at line {}: {e}",
            lines.number
        );
        return Status::Failed;
    }
    if summary.failed > 0 {
        Status::Failed
    } else {
        Status::Ok
    }
}

/// The input, line by line. Lines hold NT hashes: the read buffer and the line buffer are
/// zeroized on drop, and the line buffer, allocated once at its limit, never reallocates.
struct Lines<R> {
    reader: R,
    line: Zeroizing<Vec<u8>>,
    number: u64,
    error: Option<std::io::Error>,
}

impl<R: BufRead> Lines<R> {
    /// The next input line's item; `None` at the end (or after a read error).
    fn next_item(&mut self, format: Format) -> Option<SourceItem> {
        loop {
            let line = &mut *self.line;
            line.clear();
            let read = (&mut self.reader)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', line);
            match read {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
            }
            self.number += 1;
            if line.len() > MAX_LINE && line.last() != Some(&b'\n') {
                if let Err(e) = self.skip_rest() {
                    self.error = Some(e);
                }
                return Some(invalid(self.number, None, "longer than 64 KiB"));
            }
            let Ok(text) = std::str::from_utf8(line) else {
                return Some(invalid(self.number, None, "not UTF-8"));
            };
            let text = text.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() || is_comment(text, format) {
                continue;
            }
            return Some(parse_line(self.number, text, format));
        }
    }

    fn skip_rest(&mut self) -> std::io::Result<()> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            if let Some(i) = buf.iter().position(|&b| b == b'\n') {
                self.reader.consume(i + 1);
                return Ok(());
            }
            let n = buf.len();
            self.reader.consume(n);
        }
    }
}
