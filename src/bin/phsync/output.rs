//! stdout as JSON Lines, progress on stderr (a bar only on a terminal), and the summary.

use std::io::Write;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use phsync::batch::{CancelToken, Outcome, OutcomeSink, SkipReason, Summary};

/// One JSON object per outcome on `out`, flushed before every state commit. A reader that
/// goes away (`| head`) cancels the run instead of hashing for nobody.
pub struct JsonLines<W: Write> {
    pub out: W,
    pub error: Option<std::io::Error>,
    pub stop: CancelToken,
    /// Print objects that are not user accounts too (`--all-objects`).
    pub all_objects: bool,
    /// Outcomes not printed (not user accounts).
    pub hidden: u64,
}

impl<W: Write> JsonLines<W> {
    pub fn new(out: W, stop: CancelToken, all_objects: bool) -> Self {
        JsonLines {
            out,
            error: None,
            stop,
            all_objects,
            hidden: 0,
        }
    }

    /// Writes one outcome (unless hidden).
    pub fn write(&mut self, outcome: &Outcome) {
        if !self.all_objects
            && matches!(
                outcome,
                Outcome::Skipped {
                    reason: SkipReason::NotAUser,
                    ..
                }
            )
        {
            self.hidden += 1;
            return;
        }
        if self.error.is_none() {
            let line = serde_json::to_writer(&mut self.out, outcome)
                .map_err(std::io::Error::other)
                .and_then(|()| self.out.write_all(b"\n"));
            if let Err(e) = line {
                self.error = Some(e);
                self.stop.cancel();
            }
        }
    }

    /// Flushes; `Ok(true)` when the reader went away (broken pipe), which is not an error.
    pub fn finish(&mut self) -> Result<bool, String> {
        let flushed = self.out.flush();
        match self.error.take().or(flushed.err()) {
            Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(true),
            Some(e) => Err(format!("cannot write to stdout: {e}")),
            None => Ok(false),
        }
    }
}

impl<W: Write> OutcomeSink for &mut JsonLines<W> {
    fn outcome(&mut self, outcome: Outcome) {
        self.write(&outcome);
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &self.error {
            Some(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
            None => self.out.flush(),
        }
    }
}

/// A spinner with counts on stderr, drawn only when stderr is a terminal.
pub fn progress_bar(quiet: bool, unit: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let template = format!("{{spinner}} {{pos}} {unit}, {{per_sec}} [{{elapsed}}] {{msg}}");
    bar.set_style(
        ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar
}

/// Updates `bar` from the runner's counts.
pub fn show(bar: &ProgressBar, s: &Summary) {
    bar.set_position(s.total);
    bar.set_message(format!(
        "{} synced, {} skipped, {} failed",
        s.synced, s.skipped, s.failed
    ));
}

/// `phsync: N objects in T s: …` on stderr.
pub fn summary(unit: &str, s: &Summary, hidden: u64, started: Instant) {
    let reasons: Vec<String> = s.reasons.iter().map(|(r, n)| format!("{r} {n}")).collect();
    let hidden = if hidden > 0 {
        format!("; {hidden} not user accounts, not printed (--all-objects prints them)")
    } else {
        String::new()
    };
    let memory = peak_memory_mib().map_or(String::new(), |m| format!("; peak memory {m} MiB"));
    eprintln!(
        "phsync: {} {unit} in {:.2} s: {} synced, {} skipped, {} failed ({}){hidden}{memory}",
        s.total,
        started.elapsed().as_secs_f64(),
        s.synced,
        s.skipped,
        s.failed,
        reasons.join(", ")
    );
}

/// The process's peak resident memory (Linux `VmHWM`), for operators sizing a sync server.
fn peak_memory_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.div_ceil(1024))
}

/// Ends a run's output: clears the bar and flushes stdout. `Err` carries the exit status when
/// the run ends here: success if the reader went away (`| head`), failure if stdout failed.
pub fn end<W: Write>(bar: &ProgressBar, out: &mut JsonLines<W>) -> Result<(), crate::Status> {
    bar.finish_and_clear();
    match out.finish() {
        Ok(true) => Err(crate::Status::Ok),
        Ok(false) => Ok(()),
        Err(e) => {
            eprintln!("phsync: {e}");
            Err(crate::Status::Failed)
        }
    }
}
