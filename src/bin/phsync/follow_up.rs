//! `phsync sync`'s follow-up. A delta carries only the changed attributes, so an account that
//! comes into scope without a password change (e.g. re-enabled, never synced) fails as
//! `password_not_replicated`, and a run whose state was lost meets objects it does not know
//! (`unknown_object`). Those failures are withheld from the output while the cycle runs, then
//! each object is fetched whole (`EXOP_REPL_OBJ`: `phsync::dc::fetch_object`) and synced; what the
//! fetch cannot cure keeps its failure. Only when every withheld failure is cured does the
//! watermark move to where the cycle got.

use std::io::Write;

use phsync::batch::{DrsSync, HeldBack, Outcome, OutcomeSink, Runner, Summary, SyncReport};
use phsync::dc::DcError;
use phsync::drs::{Guid, Reply, SessionKey};
use phsync::state::StateStore;

use crate::output::JsonLines;
use crate::sync::Stop;

/// Fetches one object whole: `phsync::dc::fetch_object` on the cycle's session, or a test's
/// stand-in.
pub(crate) type Fetch<'a> = dyn FnMut(Guid) -> Result<Reply, DcError> + 'a;

/// Cures what it can of the `held` failures (see [`follow_up`]), takes the cured failures back
/// out of `report`'s counts and adds what the fetches gave, and, when the withheld objects were
/// all that held the watermark back, commits the watermark the cycle reached.
pub(crate) fn settle<W: Write>(
    fetch: &mut Fetch<'_>,
    store: Box<dyn StateStore>,
    mut report: SyncReport,
    key: SessionKey,
    held: Vec<Outcome>,
    runner: &Runner<'_>,
    out: &mut JsonLines<W>,
) -> (Box<dyn StateStore>, SyncReport, Option<Stop>) {
    let (mut store, resolved, stop) = follow_up(fetch, store, key, held, runner, out);
    // Those objects' outcomes were counted as failures; they are now counted again as what the
    // fetch gave, so take the failures back.
    report.summary.total -= resolved.total;
    report.summary.failed -= resolved.total;
    for (reason, n) in &resolved.reasons {
        if let Some(c) = report.summary.reasons.get_mut(reason) {
            *c -= n;
        }
    }
    report.summary.reasons.retain(|_, n| *n > 0);
    report.summary.absorb(&resolved.fetched);
    if stop.is_some() {
        return (store, report, stop);
    }
    // Only those objects held the watermark back: move it to where the cycle got.
    if report.summary.failed == 0
        && !report.summary.cancelled
        && report.unreadable.is_empty()
        && matches!(report.held_back, Some(HeldBack::FailedObjects { .. }))
        && let Some(reached) = report.reached.clone()
    {
        if let Err(e) = store.commit(&[], Some(&reached)) {
            return (store, report, Some(Stop::Store(e)));
        }
        report.watermark = Some(reached);
        report.held_back = None;
    }
    (store, report, None)
}

/// Passes outcomes through to the output, except failures that fetching the object can cure
/// (a delta named it without its password, or the store does not know it): those wait for
/// [`follow_up`].
pub(crate) struct Withholding<'a, W: Write> {
    pub(crate) out: &'a mut JsonLines<W>,
    pub(crate) held: &'a mut Vec<Outcome>,
}

/// Reasons [`follow_up`] can cure.
const CURABLE: [&str; 2] = ["password_not_replicated", "unknown_object"];

impl<W: Write> OutcomeSink for Withholding<'_, W> {
    fn outcome(&mut self, outcome: Outcome) {
        let curable = matches!(outcome, Outcome::Failed { .. })
            && outcome.reason().is_some_and(|r| CURABLE.contains(&r))
            && outcome.identity().object_guid.is_some();
        if curable {
            self.held.push(outcome);
        } else {
            self.out.write(&outcome);
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        OutcomeSink::flush(&mut &mut *self.out)
    }
}

/// What [`follow_up`] changed in the counts.
struct Resolved {
    /// The withheld failures that a fetch replaced, by reason.
    reasons: std::collections::BTreeMap<&'static str, u64>,
    total: u64,
    /// The counts of the fetched objects' outcomes.
    fetched: Summary,
}

/// Fetches each withheld object whole and syncs it; an object that cannot be fetched keeps its
/// failure.
fn follow_up<W: Write>(
    fetch: &mut Fetch<'_>,
    store: Box<dyn StateStore>,
    key: SessionKey,
    held: Vec<Outcome>,
    runner: &Runner<'_>,
    out: &mut JsonLines<W>,
) -> (Box<dyn StateStore>, Resolved, Option<Stop>) {
    let mut resolved = Resolved {
        reasons: Default::default(),
        total: 0,
        fetched: Summary::default(),
    };
    let mut replies = Vec::new();
    let mut stop = None;
    let mut held = held.into_iter();
    while let Some(o) = held.next() {
        let named = o.identity().object_guid.as_deref().unwrap_or("?");
        let guid = o
            .identity()
            .object_guid
            .as_deref()
            .and_then(|g| g.parse().ok());
        match guid.map(|g| (g, fetch(g))) {
            Some((g, Ok(reply))) if reply.objects().iter().any(|x| x.object_guid() == Some(g)) => {
                if let Some(r) = o.reason() {
                    *resolved.reasons.entry(r).or_default() += 1;
                }
                resolved.total += 1;
                replies.push(reply);
            }
            Some((_, Ok(_))) => {
                eprintln!("phsync: fetching {named}: the reply does not hold the object");
                out.write(&o);
            }
            Some((_, Err(e))) if !e.is_transient() => {
                eprintln!("phsync: fetching {named}: {e}");
                out.write(&o);
            }
            Some((_, Err(e))) => {
                // The connection is gone: this object and the rest keep their failure; the
                // ones fetched already are still synced below.
                out.write(&o);
                for o in held.by_ref() {
                    out.write(&o);
                }
                stop = Some(Stop::Dc(e));
            }
            None => out.write(&o),
        }
    }
    let mut sync = DrsSync::new(store, vec![key]);
    let report = sync.run_to(
        runner,
        replies.into_iter().map(Ok::<Reply, DcError>),
        &mut *out,
    );
    let store = sync.into_store();
    match report {
        Ok(r) => {
            resolved.fetched = r.summary;
            (store, resolved, stop)
        }
        Err(e) => (store, resolved, Some(Stop::Store(e))),
    }
}

/// The fixture loading the integration tests use (`tests/common`), one copy.
#[cfg(test)]
#[path = "../../../tests/common/mod.rs"]
mod test_fixtures;

#[cfg(test)]
mod tests {
    //! The follow-up against real Samba replies: the `EXOP_REPL_OBJ` answers of
    //! `tests/fixtures/samba-a` (one object each) stand in for the DC, and `fetch` decides which
    //! calls fail and how.

    use std::collections::BTreeMap;

    use phsync::Iterations;
    use phsync::batch::{CancelToken, FailReason, Failure, SyncPolicy, object_identity};
    use phsync::state::{MemoryStore, Watermark};
    use serde_json::Value;

    use super::*;

    use super::test_fixtures as common;

    fn truth() -> Value {
        common::samba_truth()
    }

    /// A capture's session key and decoded replies.
    fn capture(t: &Value, id: &str) -> (SessionKey, Vec<Reply>) {
        let c = common::capture(t, id);
        let replies = c["replies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| Reply::decode(&common::samba_file(r["file"].as_str().unwrap())).unwrap())
            .collect();
        (common::capture_key(c), replies)
    }

    /// Where a cycle stood when its follow-up began: a delta over a lost state named every
    /// object the DC was later asked for, each failed as `unknown_object` and was withheld,
    /// and those failures held the watermark back.
    struct Cycle {
        key: SessionKey,
        /// The DC's answer per object, in the order the objects failed.
        answers: Vec<(Guid, Reply)>,
        held: Vec<Outcome>,
        report: SyncReport,
        reached: Watermark,
    }

    fn cycle(t: &Value) -> Cycle {
        let (key, exop) = capture(t, "impacket-ntlm-exop");
        let (_, nc) = capture(t, "impacket-ntlm-nc");
        let last = nc.last().unwrap();
        let reached = Watermark {
            naming_context: None,
            source_dsa_invocation_id: last.source_dsa_invocation_id(),
            usn_vec_to: last.usn_vec_to(),
            up_to_date_vector: Vec::new(),
            complete: true,
        };
        let answers: Vec<(Guid, Reply)> = exop
            .into_iter()
            .map(|r| (r.objects()[0].object_guid().unwrap(), r))
            .collect();
        let n = answers.len() as u64;
        let failed = |r: &Reply| Outcome::Failed {
            identity: object_identity(&r.objects()[0]),
            failure: Failure {
                reason: FailReason::UnknownObject,
                detail: "no stored record".into(),
            },
        };
        let held = answers.iter().map(|(_, r)| failed(r)).collect();
        let report = SyncReport {
            summary: Summary {
                total: n,
                failed: n,
                reasons: BTreeMap::from([("unknown_object", n)]),
                ..Summary::default()
            },
            replies: 1,
            held_back: Some(HeldBack::FailedObjects {
                index: 0,
                failed: n,
            }),
            reached: Some(reached.clone()),
            ..SyncReport::default()
        };
        Cycle {
            key,
            answers,
            held,
            report,
            reached,
        }
    }

    /// Runs the follow-up with `answer(index of the object, its reply)` as the DC.
    fn settle_with(
        c: Cycle,
        mut answer: impl FnMut(usize, &Reply) -> Result<Reply, DcError>,
    ) -> (
        Box<dyn StateStore>,
        SyncReport,
        Option<Stop>,
        Vec<Value>,
        usize,
    ) {
        let policy = SyncPolicy {
            iterations: Iterations::new(3).unwrap(),
            ..SyncPolicy::default()
        };
        let runner = Runner::new(policy);
        let mut out = JsonLines::new(Vec::new(), CancelToken::new(), true);
        let mut calls = 0;
        let mut fetch = |g: Guid| {
            calls += 1;
            let i = c.answers.iter().position(|(x, _)| *x == g).unwrap();
            answer(i, &c.answers[i].1)
        };
        let (store, report, stop) = settle(
            &mut fetch,
            Box::new(MemoryStore::new()),
            c.report,
            c.key,
            c.held,
            &runner,
            &mut out,
        );
        let lines = String::from_utf8(out.out).unwrap();
        let lines = lines
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (store, report, stop, lines, calls)
    }

    fn guid_of(line: &Value) -> &str {
        line["object_guid"].as_str().unwrap()
    }

    /// A fetched account's outcome is what the DC's copy says: synced with a verifier of the
    /// account's real password, or skipped by policy; never failed.
    fn check_fetched(t: &Value, line: &Value) {
        assert_ne!(line["outcome"], "failed", "{line}");
        if line["outcome"] == "synced" {
            let account = t["accounts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["object_guid"] == line["object_guid"])
                .unwrap();
            let verifier: phsync::CloudVerifier =
                line["verifier"].as_str().unwrap().parse().unwrap();
            assert!(verifier.verify_password(account["current_password"].as_str().unwrap()));
        }
    }

    /// `failed` of the `n` withheld objects are still counted as `unknown_object`, and
    /// neither the report nor the store moved the watermark.
    fn assert_still_held_back(
        report: &SyncReport,
        store: &dyn StateStore,
        n: usize,
        failed: usize,
    ) {
        let s = &report.summary;
        assert_eq!((s.total, s.failed), (n as u64, failed as u64));
        assert_eq!(s.reasons["unknown_object"], failed as u64);
        assert_eq!(report.watermark, None);
        assert_eq!(store.watermark().unwrap(), None);
    }

    #[test]
    fn every_withheld_object_fetched_is_decided_and_the_watermark_moves_on() {
        let t = truth();
        let c = cycle(&t);
        let (n, reached) = (c.answers.len(), c.reached.clone());
        let (store, report, stop, lines, calls) = settle_with(c, |_, r| Ok(r.clone()));
        assert!(stop.is_none());
        assert_eq!((calls, lines.len()), (n, n));
        for line in &lines {
            check_fetched(&t, line);
        }
        assert!(lines.iter().any(|l| l["outcome"] == "synced"));
        let s = &report.summary;
        assert_eq!((s.total, s.failed), (n as u64, 0));
        assert_eq!(s.synced + s.skipped, n as u64);
        assert!(!s.reasons.contains_key("unknown_object"));
        assert_eq!(report.held_back, None);
        assert_eq!(report.watermark.as_ref(), Some(&reached));
        assert_eq!(store.watermark().unwrap(), Some(reached));
    }

    #[test]
    fn a_dropped_connection_keeps_the_rest_failed_and_the_watermark_held_back() {
        let t = truth();
        let c = cycle(&t);
        let n = c.answers.len();
        let order: Vec<String> = c.answers.iter().map(|(g, _)| g.to_string()).collect();
        let (store, report, stop, lines, calls) = settle_with(c, |i, r| match i {
            0 | 1 => Ok(r.clone()),
            _ => Err(DcError::Closed {
                what: "reading a response",
            }),
        });
        assert!(
            matches!(stop, Some(Stop::Dc(ref e)) if e.is_transient()),
            "{stop:?}"
        );
        // Nothing is asked of a connection known to be gone.
        assert_eq!(calls, 3);
        // One outcome per object: the unfetched keep their failure (written at once), the two
        // fetched are synced after them.
        assert_eq!(lines.len(), n);
        for (line, guid) in lines.iter().zip(&order[2..]) {
            assert_eq!(guid_of(line), guid);
            assert_eq!(
                (&line["outcome"], &line["reason"]),
                (&"failed".into(), &"unknown_object".into())
            );
        }
        let fetched: Vec<&str> = lines[n - 2..].iter().map(guid_of).collect();
        assert_eq!(fetched, [order[0].as_str(), order[1].as_str()]);
        for line in &lines[n - 2..] {
            check_fetched(&t, line);
        }
        assert_still_held_back(&report, &*store, n, n - 2);
        assert!(matches!(
            report.held_back,
            Some(HeldBack::FailedObjects { .. })
        ));
    }

    #[test]
    fn what_a_fetch_cannot_cure_keeps_its_failure_and_the_watermark_waits() {
        let t = truth();
        let c = cycle(&t);
        let n = c.answers.len();
        let other = c.answers[5].1.clone();
        let (store, report, stop, lines, calls) = settle_with(c, |i, r| match i {
            // Refused: this object only; the session goes on.
            0 => Err(DcError::Drs {
                call: "IDL_DRSGetNCChanges",
                code: 0x2105,
            }),
            // An answer about another object does not cure this one.
            1 => Ok(other.clone()),
            _ => Ok(r.clone()),
        });
        assert!(stop.is_none());
        assert_eq!((calls, lines.len()), (n, n));
        let failed: Vec<&Value> = lines.iter().filter(|l| l["outcome"] == "failed").collect();
        assert_eq!(failed.len(), 2);
        assert!(failed.iter().all(|l| l["reason"] == "unknown_object"));
        assert_still_held_back(&report, &*store, n, 2);
    }

    #[test]
    fn only_curable_failures_of_known_objects_are_withheld() {
        let t = truth();
        let c = cycle(&t);
        let mut out = JsonLines::new(Vec::new(), CancelToken::new(), true);
        let mut held = Vec::new();
        let mut sink = Withholding {
            out: &mut out,
            held: &mut held,
        };
        let unknown = c.held[0].clone();
        let mut no_guid = unknown.clone();
        if let Outcome::Failed { identity, .. } = &mut no_guid {
            identity.object_guid = None;
        }
        let with_reason = |reason| match unknown.clone() {
            Outcome::Failed { identity, failure } => Outcome::Failed {
                identity,
                failure: Failure { reason, ..failure },
            },
            other => other,
        };
        let undecryptable = with_reason(FailReason::DecryptFailed);
        let not_replicated = with_reason(FailReason::PasswordNotReplicated);
        for o in [&unknown, &no_guid, &undecryptable, &not_replicated] {
            sink.outcome(o.clone());
        }
        assert_eq!(held, [unknown, not_replicated]);
        let written = String::from_utf8(out.out).unwrap();
        let reasons: Vec<Value> = written
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["reason"].clone())
            .collect();
        assert_eq!(reasons, ["unknown_object", "decrypt_failed"]);
    }
}
