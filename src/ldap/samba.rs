//! The Samba-schema source: a paged search of `sambaSamAccount` entries, yielding one
//! [`SourceItem`] per entry for the batch runner.

use std::collections::{HashSet, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use ldap3::controls::RawControl;
use ldap3::{LdapError, LdapResult, Scope, SearchOptions};

use crate::batch::{FailReason, Identity, SourceFailure, SourceItem};

use super::ber::{self, Reader};
use super::connect::{ConnectOptions, Connection};
use super::entry;
use super::error::{LdapSourceError, rc};
use super::samba_attrs::{SAMBA_ATTRIBUTES, account_from_entry};

/// OID of the Simple Paged Results control (RFC 2696).
pub const PAGED_RESULTS_OID: &str = "1.2.840.113556.1.4.319";

/// The default filter: every Samba account.
pub const DEFAULT_FILTER: &str = "(objectClass=sambaSamAccount)";

/// What to read from a Samba-schema directory.
#[derive(Clone, Debug)]
pub struct SambaConfig {
    /// Where and how to connect.
    pub connect: ConnectOptions,
    /// The search base (e.g. `ou=people,dc=example,dc=com`).
    pub base_dn: String,
    /// The search filter; [`DEFAULT_FILTER`] unless set. Entries it returns are mapped as
    /// accounts whatever their object classes.
    pub filter: String,
    /// Search scope (subtree unless set).
    pub scope: Scope,
    /// Entries per page (RFC 2696 paging); `0` turns paging off, so a server size limit
    /// stops the search with [`LdapSourceError::SizeLimitExceeded`].
    pub page_size: u32,
    /// Client-requested size limit (0 = none). The server's own limit still applies.
    pub size_limit: i32,
    /// The "now" used to decide whether `sambaPwdMustChange` has passed; `None` = the
    /// system clock at each entry.
    pub now_unix: Option<i64>,
}

impl SambaConfig {
    /// Reads `base_dn` with [`DEFAULT_FILTER`], subtree scope and pages of 500.
    pub fn new(connect: ConnectOptions, base_dn: impl Into<String>) -> SambaConfig {
        SambaConfig {
            connect,
            base_dn: base_dn.into(),
            filter: DEFAULT_FILTER.into(),
            scope: Scope::Subtree,
            page_size: 500,
            size_limit: 0,
            now_unix: None,
        }
    }

    /// Sets the filter.
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = filter.into();
        self
    }

    /// Sets the page size (0 = no paging).
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = n;
        self
    }
}

/// A connected Samba-schema source.
///
/// ```no_run
/// use phsync::batch::{Runner, SyncPolicy};
/// use phsync::ldap::{Bind, ConnectOptions, SambaConfig, SambaSource};
///
/// let connect = ConnectOptions::new("ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi").bind(Bind::SaslExternal);
/// let mut source = SambaSource::connect(SambaConfig::new(connect, "dc=example,dc=com"))?;
/// let mut accounts = source.accounts();
/// let summary = Runner::new(SyncPolicy::default()).run(&mut accounts, |outcome| {
///     println!("{}", outcome.kind());
/// });
/// let read = accounts.finish()?; // a search-level error (size limit, referral…) surfaces here
/// println!("{} entries read, {} synced", read.entries, summary.synced);
/// # Ok::<(), phsync::ldap::LdapSourceError>(())
/// ```
#[derive(Debug)]
pub struct SambaSource {
    conn: Connection,
    config: SambaConfig,
}

impl SambaSource {
    /// Connects and binds.
    ///
    /// # Errors
    /// See [`ConnectOptions::connect`].
    pub fn connect(config: SambaConfig) -> Result<SambaSource, LdapSourceError> {
        let conn = config.connect.connect()?;
        Ok(SambaSource { conn, config })
    }

    /// Uses an already bound connection.
    pub fn with_connection(conn: Connection, config: SambaConfig) -> SambaSource {
        SambaSource { conn, config }
    }

    /// The configuration.
    pub fn config(&self) -> &SambaConfig {
        &self.config
    }

    /// Starts a read: an iterator of one [`SourceItem`] per entry, fetched page by page
    /// (memory: one page). Hand it to [`Runner::run`](crate::batch::Runner::run) by
    /// `&mut`, then call [`SambaAccounts::finish`] to learn whether the whole subtree was
    /// read.
    pub fn accounts(&mut self) -> SambaAccounts<'_> {
        SambaAccounts {
            source: self,
            page: VecDeque::new(),
            cookie: Vec::new(),
            trail: CookieTrail::default(),
            done: false,
            entries: 0,
            pages: 0,
            referrals: Vec::new(),
            error: None,
        }
    }

    /// Closes the connection.
    pub fn close(self) {
        self.conn.close();
    }
}

/// What a completed read saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// Entries returned by the server (each became one item).
    pub entries: u64,
    /// Search pages requested.
    pub pages: u64,
    /// Whether the server said "no more entries". `false` when the caller stopped iterating
    /// early (e.g. a cancelled run): the entries not read were not seen at all.
    pub complete: bool,
}

/// The iterator returned by [`SambaSource::accounts`].
///
/// It stops at the first search-level error (size or time limit, referral, broken
/// connection, …) after yielding every entry received before it; [`SambaAccounts::finish`]
/// returns that error. Entry-level problems (a malformed hash, an undecodable entry) are
/// yielded as failed items and do not stop the read.
#[derive(Debug)]
pub struct SambaAccounts<'a> {
    source: &'a mut SambaSource,
    page: VecDeque<SourceItem>,
    cookie: Vec<u8>,
    trail: CookieTrail,
    done: bool,
    entries: u64,
    pages: u64,
    referrals: Vec<String>,
    error: Option<LdapSourceError>,
}

impl SambaAccounts<'_> {
    /// The search-level error that stopped the read, if any (so far).
    pub fn error(&self) -> Option<&LdapSourceError> {
        self.error.as_ref()
    }

    /// Reads nothing more and reports how the read ended (an unfinished paged search is
    /// abandoned).
    ///
    /// # Errors
    /// The search-level error that stopped the read early, or
    /// [`LdapSourceError::Referral`] if the server returned continuation references for
    /// parts of the subtree it does not hold (those parts were not read).
    pub fn finish(mut self) -> Result<ReadSummary, LdapSourceError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if !self.referrals.is_empty() {
            return Err(LdapSourceError::Referral {
                urls: std::mem::take(&mut self.referrals),
                entries_read: self.entries,
            });
        }
        Ok(ReadSummary {
            entries: self.entries,
            pages: self.pages,
            complete: self.done && self.page.is_empty(),
        })
    }

    fn fetch_page(&mut self) {
        let cfg = &self.source.config;
        let conn = &mut self.source.conn;
        let paged = cfg.page_size > 0;
        if paged {
            conn.conn
                .with_controls(paged_results_control(cfg.page_size, &self.cookie));
        }
        if let Some(t) = conn.operation_timeout {
            conn.conn.with_timeout(t);
        }
        conn.conn
            .with_search_options(SearchOptions::new().sizelimit(cfg.size_limit));
        self.pages += 1;
        let result = conn.conn.search(
            &cfg.base_dn,
            cfg.scope,
            &cfg.filter,
            SAMBA_ATTRIBUTES.to_vec(),
        );
        let (entries, res) = match result {
            Ok(r) => (r.0, r.1),
            Err(LdapError::LdapResult { result }) => (Vec::new(), result),
            Err(e) => {
                self.stop(LdapSourceError::Protocol {
                    operation: "search",
                    source: Box::new(e),
                });
                return;
            }
        };
        let now = cfg.now_unix;
        for re in entries {
            if re.is_intermediate() {
                continue;
            }
            self.entries += 1;
            self.page.push_back(match entry::decode(re) {
                Ok(mut e) => {
                    let item = account_from_entry(&e, now.unwrap_or_else(now_unix));
                    e.wipe_secrets();
                    item
                }
                Err(what) => undecodable(what),
            });
        }
        self.after_page(res, paged);
    }

    fn after_page(&mut self, res: LdapResult, paged: bool) {
        let entries_read = self.entries;
        match res.rc {
            0 => {}
            rc::SIZE_LIMIT_EXCEEDED => {
                return self.stop(LdapSourceError::SizeLimitExceeded {
                    entries_read,
                    text: res.text,
                });
            }
            rc::TIME_LIMIT_EXCEEDED => {
                return self.stop(LdapSourceError::TimeLimitExceeded {
                    entries_read,
                    text: res.text,
                });
            }
            rc::REFERRAL => {
                return self.stop(LdapSourceError::Referral {
                    urls: res.refs,
                    entries_read,
                });
            }
            other => {
                return self.stop(LdapSourceError::Search {
                    base: self.source.config.base_dn.clone(),
                    rc: other,
                    text: res.text,
                    entries_read,
                });
            }
        }
        self.referrals.extend(res.refs);
        if !paged {
            self.done = true;
            return;
        }
        let ctrl = res
            .ctrls
            .iter()
            .find(|c| c.1.ctype == PAGED_RESULTS_OID)
            .map(|c| c.1.val.clone().unwrap_or_default());
        match ctrl {
            // A server that ignores the (non-critical) paging control returns everything at
            // once and no response control.
            None => self.done = true,
            Some(val) => match parse_paged_response(&val).map(|c| self.trail.follow(c)) {
                Ok(Follow::Done) => self.done = true,
                Ok(Follow::Next(cookie)) => self.cookie = cookie,
                Ok(Follow::Repeated) => self.stop(LdapSourceError::PagingStalled {
                    entries_read: self.entries,
                }),
                Err(source) => self.stop(LdapSourceError::Control {
                    control: "paged results",
                    source,
                }),
            },
        }
    }

    fn stop(&mut self, e: LdapSourceError) {
        self.error = Some(e);
        self.done = true;
    }
}

/// The cookies a paged search has followed (RFC 2696 §3: the server's cookie is opaque, and an
/// empty one ends the search). A cookie the server already sent means it is going round in
/// circles — after an empty page or a full one (the entries would repeat forever) — so the
/// search stops with a typed error instead of looping.
#[derive(Debug, Default)]
struct CookieTrail {
    seen: HashSet<Vec<u8>>,
}

/// What to do with the cookie of one page.
#[derive(Debug, PartialEq, Eq)]
enum Follow {
    /// An empty cookie: the search is complete.
    Done,
    /// A new cookie: ask for the next page with it.
    Next(Vec<u8>),
    /// A cookie already followed: stop ([`LdapSourceError::PagingStalled`]).
    Repeated,
}

impl CookieTrail {
    fn follow(&mut self, cookie: Vec<u8>) -> Follow {
        if cookie.is_empty() {
            Follow::Done
        } else if self.seen.insert(cookie.clone()) {
            Follow::Next(cookie)
        } else {
            Follow::Repeated
        }
    }
}

impl Drop for SambaAccounts<'_> {
    /// A paged search left unfinished (the caller stopped iterating, or cancelled) is
    /// abandoned the RFC 2696 way, a page of size 0 with the last cookie, so the server can
    /// free its state. Best effort: errors are ignored.
    fn drop(&mut self) {
        if self.done || self.cookie.is_empty() {
            return;
        }
        let cfg = &self.source.config;
        let conn = &mut self.source.conn;
        conn.conn
            .with_controls(paged_results_control(0, &self.cookie));
        if let Some(t) = conn.operation_timeout {
            conn.conn.with_timeout(t);
        }
        let _ = conn
            .conn
            .search(&cfg.base_dn, cfg.scope, &cfg.filter, vec!["1.1"]);
    }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn undecodable(what: &'static str) -> SourceItem {
    Err(Box::new(SourceFailure {
        identity: Identity::default(),
        reason: FailReason::DecodeFailed,
        detail: format!("undecodable search result entry: {what}"),
    }))
}

/// The Paged Results response value: `SEQUENCE { size INTEGER, cookie OCTET STRING }` →
/// the cookie.
pub(crate) fn parse_paged_response(value: &[u8]) -> Result<Vec<u8>, ber::BerError> {
    let mut r = Reader::new(value);
    let mut seq = r.sequence("pagedResultsControl")?;
    let _size = seq.integer("size")?;
    let cookie = seq.octet_string("cookie")?.to_vec();
    seq.finish("pagedResultsControl")?;
    r.finish("pagedResultsControl")?;
    Ok(cookie)
}

impl Iterator for SambaAccounts<'_> {
    type Item = SourceItem;

    fn next(&mut self) -> Option<SourceItem> {
        loop {
            if let Some(item) = self.page.pop_front() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            self.fetch_page();
        }
    }
}

/// The RFC 2696 paged-results control: `SEQUENCE { size INTEGER, cookie OCTET STRING }`
/// (size 0 with the last cookie abandons the search).
fn paged_results_control(page_size: u32, cookie: &[u8]) -> RawControl {
    let mut content = Vec::new();
    ber::write_integer(&mut content, i32::try_from(page_size).unwrap_or(i32::MAX));
    ber::write_octet_string(&mut content, cookie);
    RawControl {
        ctype: PAGED_RESULTS_OID.into(),
        crit: false,
        val: Some(ber::sequence(&content)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that sends a cookie again — right after a full page (the case that used to
    /// loop forever), after an empty one, or two pages later (a cycle) — stops the search.
    #[test]
    fn repeated_cookies_stop_the_search() {
        let mut t = CookieTrail::default();
        assert_eq!(t.follow(b"a".to_vec()), Follow::Next(b"a".to_vec()));
        assert_eq!(t.follow(b"a".to_vec()), Follow::Repeated);
        let mut t = CookieTrail::default();
        assert_eq!(t.follow(b"a".to_vec()), Follow::Next(b"a".to_vec()));
        assert_eq!(t.follow(b"b".to_vec()), Follow::Next(b"b".to_vec()));
        assert_eq!(t.follow(b"a".to_vec()), Follow::Repeated);
        assert_eq!(t.follow(Vec::new()), Follow::Done);
        // Terminates for any server: at most as many pages as distinct cookies.
        let mut t = CookieTrail::default();
        let server = [b"x".to_vec(), b"y".to_vec(), b"z".to_vec()];
        let pages = (0..100)
            .map(|i| t.follow(server[i % 3].clone()))
            .take_while(|f| *f != Follow::Repeated)
            .count();
        assert_eq!(pages, 3);
    }

    #[test]
    fn paged_response_parses_and_rejects() {
        assert_eq!(
            parse_paged_response(&[0x30, 0x07, 2, 1, 0, 4, 2, 0xab, 0xcd]).unwrap(),
            vec![0xab, 0xcd]
        );
        assert_eq!(
            parse_paged_response(&[0x30, 0x05, 2, 1, 0, 4, 0]).unwrap(),
            Vec::<u8>::new()
        );
        assert!(parse_paged_response(&[]).is_err());
        assert!(parse_paged_response(&[0x30, 0x03, 2, 1, 0]).is_err());
        assert!(parse_paged_response(&[0x30, 0x05, 2, 1, 0, 4, 0, 0]).is_err());
    }
}
