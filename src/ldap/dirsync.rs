//! Active Directory DirSync change detection: the `LDAP_SERVER_DIRSYNC_OID` control
//! (1.2.840.113556.1.4.841, MS-ADTS 3.1.1.3.4.1.3) over `ldap3`'s raw controls.
//!
//! DirSync tells *which* objects changed since a cookie (for PHS: `pwdLastSet`, and the
//! replication metadata of `unicodePwd`), never the hashes themselves: over LDAP,
//! `unicodePwd`, `supplementalCredentials` and friends are "access is never granted"
//! (MS-ADTS 3.1.1.4.4). A sync engine asks DRS (`GetNCChanges` with
//! `EXOP_REPL_SECRET`) for the secrets of the accounts DirSync reports.
//!
//! This file is the search: [`DirSyncSearch`] pages through a naming context and reports each
//! [`ChangedObject`], one page at a time ([`DirSyncSearch::pages`]). The control's codec is in `dirsync_control.rs`, re-exported here:
//! [`DirSyncRequest`], [`DirSyncResponse`], [`DirSyncCookie`].

use ldap3::{LdapError, Scope};

use crate::ad::Guid;

use super::connect::Connection;
use super::entry::{self, Entry};
use super::error::{LdapSourceError, rc};

pub use super::dirsync_control::{
    DIRSYNC_OID, DirSyncCookie, DirSyncFlags, DirSyncRequest, DirSyncResponse,
};

/// The attributes Samba's `syncpasswords` watches (Samba's `samba-tool user syncpasswords`), plus
/// the
/// replication metadata that shows `unicodePwd` writes.
pub const PASSWORD_WATCH_ATTRIBUTES: &[&str] = &[
    "objectGUID",
    "objectSid",
    "sAMAccountName",
    "userPrincipalName",
    "userAccountControl",
    "pwdLastSet",
    "unicodePwd",
    "dBCSPwd",
    "supplementalCredentials",
    "isDeleted",
    "isRecycled",
    "replPropertyMetaData",
];

/// The default filter: enabled-or-not normal user accounts, without krbtgt (Samba's
/// `syncpasswords` default, minus the UAC bit test so that newly disabled accounts are seen).
pub const DEFAULT_DIRSYNC_FILTER: &str =
    "(&(objectClass=user)(!(objectClass=computer))(!(sAMAccountName=krbtgt*)))";

/// One object DirSync reported as changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedObject {
    /// Its DN (for deleted objects, the tombstone's DN in `CN=Deleted Objects`).
    pub dn: String,
    /// objectGUID as a canonical lowercase GUID string.
    pub object_guid: Option<String>,
    /// sAMAccountName, when it is among the changed attributes.
    pub sam_account_name: Option<String>,
    /// pwdLastSet (FILETIME), when it is among the changed attributes.
    pub pwd_last_set: Option<i64>,
    /// isDeleted = TRUE.
    pub is_deleted: bool,
    /// The names of the attributes returned (DirSync returns the changed ones, plus
    /// objectGUID and instanceType).
    pub attributes: Vec<String>,
    /// unicodePwd's replication stamp, when the server returned `replPropertyMetaData` with
    /// the change (Samba 4.17 does not: use
    /// [`read_unicode_pwd_stamp`](super::repl_metadata::read_unicode_pwd_stamp) then). Its
    /// version rises with every password write — the stamp the DRS path compares. `None`
    /// also when the value was malformed.
    pub unicode_pwd: Option<super::repl_metadata::AttributeStamp>,
}

impl ChangedObject {
    /// Whether the change touches the password: `pwdLastSet`, `unicodePwd`, `dBCSPwd`,
    /// `supplementalCredentials` or `ntPwdHistory` was returned. (`replPropertyMetaData`
    /// is returned whenever anything changed, so it alone does not count.)
    pub fn password_changed(&self) -> bool {
        const PW: &[&str] = &[
            "pwdLastSet",
            "unicodePwd",
            "dBCSPwd",
            "supplementalCredentials",
            "ntPwdHistory",
        ];
        self.attributes.iter().any(|a| {
            let base = a.split(';').next().unwrap_or(a);
            PW.iter().any(|p| p.eq_ignore_ascii_case(base))
        })
    }

    /// Maps one entry.
    pub fn from_entry(entry: &Entry) -> ChangedObject {
        let object_guid = entry
            .values("objectGUID")
            .and_then(|v| v.first())
            .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
            .map(|b| format_guid(&b));
        ChangedObject {
            dn: entry.dn.clone(),
            object_guid,
            sam_account_name: entry.first_str("sAMAccountName").map(str::to_owned),
            pwd_last_set: entry
                .first_str("pwdLastSet")
                .and_then(|s| s.trim().parse().ok()),
            is_deleted: entry
                .first_str("isDeleted")
                .is_some_and(|s| s.eq_ignore_ascii_case("TRUE")),
            attributes: entry.names().map(str::to_owned).collect(),
            unicode_pwd: entry
                .values("replPropertyMetaData")
                .and_then(|v| v.first())
                .and_then(|b| super::repl_metadata::unicode_pwd(b).ok().flatten()),
        }
    }
}

/// A GUID's 16 wire bytes (little-endian Data1..3) → `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`,
/// the form the batch runner's [`Identity`](crate::batch::Identity) carries.
pub fn format_guid(b: &[u8; 16]) -> String {
    Guid::from_bytes_le(*b).to_string()
}

/// One DirSync search: the naming context and what to watch.
#[derive(Clone, Debug)]
pub struct DirSyncSearch {
    /// The naming context root (DirSync works only on a whole NC, e.g.
    /// `DC=example,DC=com`).
    pub base_dn: String,
    /// The filter.
    pub filter: String,
    /// Attributes to watch.
    pub attributes: Vec<String>,
    /// Flags.
    pub flags: DirSyncFlags,
    /// Maximum bytes per response (0 = server default).
    pub max_bytes: u32,
    /// Safety cap on the number of round trips of one [`DirSyncSearch::pages`] (or
    /// [`DirSyncSearch::changes`]) read.
    pub max_pages: u32,
}

impl DirSyncSearch {
    /// Watches [`PASSWORD_WATCH_ATTRIBUTES`] of [`DEFAULT_DIRSYNC_FILTER`] objects under
    /// `base_dn`, flags none, at most 10 000 round trips.
    pub fn new(base_dn: impl Into<String>) -> DirSyncSearch {
        DirSyncSearch {
            base_dn: base_dn.into(),
            filter: DEFAULT_DIRSYNC_FILTER.into(),
            attributes: PASSWORD_WATCH_ATTRIBUTES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            flags: DirSyncFlags::NONE,
            max_bytes: 0,
            max_pages: 10_000,
        }
    }

    /// One round trip from `cookie`.
    ///
    /// # Errors
    /// [`LdapSourceError::Search`] for a non-success result (e.g. 50, insufficient access:
    /// the account lacks "Replicating Directory Changes"; 12, the server does not know
    /// DirSync), [`LdapSourceError::MissingControl`] or [`LdapSourceError::Control`] for a
    /// missing or malformed response control, [`LdapSourceError::Protocol`] for transport
    /// failures.
    pub fn page(
        &self,
        conn: &mut Connection,
        cookie: &DirSyncCookie,
    ) -> Result<DirSyncPage, LdapSourceError> {
        let request = DirSyncRequest {
            flags: self.flags,
            max_bytes: self.max_bytes,
            cookie: cookie.clone(),
        };
        conn.conn.with_controls(request.to_control());
        if let Some(t) = conn.operation_timeout {
            conn.conn.with_timeout(t);
        }
        let result = conn.conn.search(
            &self.base_dn,
            Scope::Subtree,
            &self.filter,
            self.attributes.clone(),
        );
        let (entries, res) = match result {
            Ok(r) => (r.0, r.1),
            Err(LdapError::LdapResult { result }) => (Vec::new(), result),
            Err(e) => {
                return Err(LdapSourceError::Protocol {
                    operation: "DirSync search",
                    source: Box::new(e),
                });
            }
        };
        let mut objects = Vec::with_capacity(entries.len());
        let mut undecodable = 0u64;
        for re in entries {
            if re.is_intermediate() || re.is_ref() {
                continue;
            }
            match entry::decode(re) {
                Ok(e) => objects.push(ChangedObject::from_entry(&e)),
                Err(_) => undecodable += 1,
            }
        }
        if res.rc != 0 {
            let entries_read = objects.len() as u64;
            return Err(match res.rc {
                rc::SIZE_LIMIT_EXCEEDED => LdapSourceError::SizeLimitExceeded {
                    entries_read,
                    text: res.text,
                },
                rc::REFERRAL => LdapSourceError::Referral {
                    urls: res.refs,
                    entries_read,
                },
                other => LdapSourceError::Search {
                    base: self.base_dn.clone(),
                    rc: other,
                    text: res.text,
                    entries_read,
                },
            });
        }
        let value = res
            .ctrls
            .iter()
            .find(|c| c.1.ctype == DIRSYNC_OID)
            .ok_or(LdapSourceError::MissingControl { control: "DirSync" })?
            .1
            .val
            .clone()
            .unwrap_or_default();
        let response =
            DirSyncResponse::parse(&value).map_err(|source| LdapSourceError::Control {
                control: "DirSync",
                source,
            })?;
        Ok(DirSyncPage {
            objects,
            undecodable,
            more_results: response.more_results,
            cookie: response.cookie,
        })
    }

    /// Round trips from `cookie`, one page at a time: memory holds one page (about
    /// [`DirSyncSearch::max_bytes`] of entries, or the server's default; MS-ADTS
    /// 3.1.1.3.4.1.3), never the whole change set. Each item is
    /// one [`DirSyncPage`]; store its `cookie` once its objects are processed, so that an
    /// interrupted run resumes after the last page handled. The iterator ends when the server
    /// has no more results, after the first error (yielded once), or after
    /// [`DirSyncSearch::max_pages`] round trips (so a server that keeps saying "more" cannot
    /// loop forever; [`DirSyncPages::more_results`] then stays `true`).
    pub fn pages<'a>(
        &'a self,
        conn: &'a mut Connection,
        cookie: &DirSyncCookie,
    ) -> DirSyncPages<'a> {
        DirSyncPages {
            search: self,
            conn,
            cookie: cookie.clone(),
            round_trips: 0,
            more_results: true,
            failed: false,
        }
    }

    /// Convenience over [`DirSyncSearch::pages`]: every page's objects in one
    /// [`DirSyncPage`], with the cookie reached. **Memory grows with the change set** (one
    /// [`ChangedObject`] per changed account, ~ a few hundred bytes each — a full sync of a
    /// large domain holds them all); use [`DirSyncSearch::pages`] to process page by page.
    ///
    /// # Errors
    /// As [`DirSyncSearch::page`]. The cookie is only advanced by successful pages, so on
    /// error the caller keeps its previous cookie and nothing is lost.
    pub fn changes(
        &self,
        conn: &mut Connection,
        cookie: &DirSyncCookie,
    ) -> Result<DirSyncPage, LdapSourceError> {
        let mut all = DirSyncPage {
            objects: Vec::new(),
            undecodable: 0,
            more_results: true,
            cookie: cookie.clone(),
        };
        for page in self.pages(conn, cookie) {
            let page = page?;
            all.objects.extend(page.objects);
            all.undecodable += page.undecodable;
            all.more_results = page.more_results;
            all.cookie = page.cookie;
        }
        Ok(all)
    }
}

/// The pages of one DirSync read, from [`DirSyncSearch::pages`]: one round trip per item.
#[derive(Debug)]
pub struct DirSyncPages<'a> {
    search: &'a DirSyncSearch,
    conn: &'a mut Connection,
    cookie: DirSyncCookie,
    round_trips: u32,
    more_results: bool,
    failed: bool,
}

impl DirSyncPages<'_> {
    /// The cookie reached: the last successful page's (the starting cookie before any).
    pub fn cookie(&self) -> &DirSyncCookie {
        &self.cookie
    }

    /// Whether the server said it has more after [`DirSyncPages::cookie`] (`true` before the
    /// first page, and after stopping at `max_pages` or an error).
    pub fn more_results(&self) -> bool {
        self.more_results
    }

    /// Round trips made so far.
    pub fn round_trips(&self) -> u32 {
        self.round_trips
    }
}

impl Iterator for DirSyncPages<'_> {
    type Item = Result<DirSyncPage, LdapSourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || !self.more_results || self.round_trips >= self.search.max_pages.max(1) {
            return None;
        }
        self.round_trips += 1;
        match self.search.page(self.conn, &self.cookie) {
            Ok(page) => {
                self.cookie = page.cookie.clone();
                self.more_results = page.more_results;
                Some(Ok(page))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// What one or more DirSync round trips returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirSyncPage {
    /// Objects with changes, in server order.
    pub objects: Vec<ChangedObject>,
    /// Entries that could not be decoded (counted, not returned).
    pub undecodable: u64,
    /// The server has more changes after this cookie.
    pub more_results: bool,
    /// The cookie to use next.
    pub cookie: DirSyncCookie,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_and_password_detection() {
        let b = [
            0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff,
        ];
        assert_eq!(format_guid(&b), "00112233-4455-6677-8899-aabbccddeeff");
        let e = Entry {
            dn: "CN=a,DC=x".into(),
            attrs: vec![
                ("objectGUID".into(), vec![b.to_vec()]),
                ("pwdLastSet".into(), vec![b"133000000000000000".to_vec()]),
                ("instanceType".into(), vec![b"4".to_vec()]),
            ],
        };
        let o = ChangedObject::from_entry(&e);
        assert_eq!(
            o.object_guid.as_deref(),
            Some("00112233-4455-6677-8899-aabbccddeeff")
        );
        assert_eq!(o.pwd_last_set, Some(133_000_000_000_000_000));
        assert!(o.password_changed());
        assert!(!o.is_deleted);
        let e = Entry {
            dn: "CN=a\\0ADEL:x,CN=Deleted Objects,DC=x".into(),
            attrs: vec![
                ("isDeleted".into(), vec![b"TRUE".to_vec()]),
                ("objectGUID".into(), vec![vec![1, 2, 3]]),
                ("replPropertyMetaData".into(), vec![vec![0]]),
            ],
        };
        let o = ChangedObject::from_entry(&e);
        assert!(o.is_deleted);
        assert_eq!(o.object_guid, None, "a 3-byte GUID is not a GUID");
        assert!(!o.password_changed());
    }
}
