//! DirSync against a real Samba AD DC (Samba implements LDAP_SERVER_DIRSYNC_OID).
//!
//! Opt-in, because it provisions a domain (~20 s) and Samba's LDAP ports are fixed
//! (127.0.0.1:389/636/3268/3269, so runs must be serial and nothing else may hold them): set
//! `PHSYNC_SAMBA_AD_LIVE=1` (`.ci/run` does). Needs Debian's `samba` + `samba-ad-dc` (+
//! `samba-ad-provision`,
//! `samba-dsdb-modules`). The DC runs only the `ldap` service on 127.0.0.1 and is reached
//! over its privileged `ldapi` socket (SYSTEM access, as Samba's own `syncpasswords` uses), so
//! it needs no network or Kerberos; it is stopped by PID at the end.
#![cfg(feature = "ldap")]

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use phsync::ldap::ldap3::Mod;
use phsync::ldap::repl_metadata::read_unicode_pwd_stamp;
use phsync::ldap::{ConnectOptions, DirSyncCookie, DirSyncSearch};

struct SambaDc {
    dir: PathBuf,
    child: Child,
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_dc() -> Option<SambaDc> {
    if std::env::var_os("PHSYNC_SAMBA_AD_LIVE").is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: set PHSYNC_SAMBA_AD_LIVE=1 to run DirSync against a Samba AD DC"
        );
        return None;
    }
    assert!(
        std::net::TcpListener::bind("127.0.0.1:389").is_ok(),
        "127.0.0.1:389 is taken: the Samba AD DC needs it (stop the other LDAP server)"
    );
    let dir = std::env::temp_dir().join(format!("phsync-addc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("empty.conf"), "").unwrap();
    let out = Command::new("samba-tool")
        .args([
            "domain",
            "provision",
            "--realm=PHSYNC.TEST",
            "--domain=PHSYNC",
        ])
        .args([
            "--server-role=dc",
            "--dns-backend=NONE",
            "--host-ip=127.0.0.1",
        ])
        .arg("--adminpass=Adm1n-Pa$$w0rd-Live")
        .arg(format!("--targetdir={}", dir.join("dc").display()))
        .arg("-s")
        .arg(dir.join("empty.conf"))
        .args([
            "--option=interfaces=127.0.0.1",
            "--option=bind interfaces only=yes",
        ])
        .args(["--option=server services=ldap"])
        .stdin(Stdio::null())
        .output()
        .expect("samba-tool");
    assert!(
        out.status.success(),
        "provision failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conf = dir.join("dc/etc/smb.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    // Only 127.0.0.1 (not ::1), only the LDAP server.
    let text = text.replace("interfaces = lo", "interfaces = 127.0.0.1");
    std::fs::write(&conf, text).unwrap();
    let log = std::fs::File::create(dir.join("samba.log")).unwrap();
    let child = Command::new("samba")
        .args(["-F", "-M", "single", "-s"])
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("spawn samba");
    let mut dc = SambaDc { dir, child };
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect("127.0.0.1:389").is_err()
        || !dc.dir.join("dc/private/ldap_priv/ldapi").exists()
    {
        if let Ok(Some(status)) = dc.child.try_wait() {
            panic!("samba exited: {status}");
        }
        assert!(Instant::now() < deadline, "samba did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(dc)
}

fn utf16_quoted(password: &str) -> Vec<u8> {
    format!("\"{password}\"")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect()
}

#[test]
fn ldap_dirsync_live_samba_ad_reports_password_changes() {
    let Some(dc) = start_dc() else {
        return;
    };
    let base = "DC=phsync,DC=test";
    let user_dn = format!("CN=dsuser,CN=Users,{base}");
    let mut conn = ConnectOptions::ldapi(&dc.dir.join("dc/private/ldap_priv/ldapi"))
        .connect()
        .expect("ldapi");
    let set = |v: &[&[u8]]| v.iter().map(|b| b.to_vec()).collect::<HashSet<Vec<u8>>>();
    conn.ldap3()
        .add(
            &user_dn,
            vec![
                (b"objectClass".to_vec(), set(&[b"user"])),
                (b"sAMAccountName".to_vec(), set(&[b"dsuser"])),
                (
                    b"unicodePwd".to_vec(),
                    set(&[&utf16_quoted("First-Pa$$w0rd")]),
                ),
                (b"userAccountControl".to_vec(), set(&[b"512"])),
            ],
        )
        .expect("add")
        .success()
        .expect("add user");

    // Initial synchronization: every matching object, and a cookie.
    let search = DirSyncSearch::new(base);
    let first = search
        .changes(&mut conn, &DirSyncCookie::new())
        .expect("DirSync from scratch");
    assert!(!first.more_results);
    assert!(!first.cookie.is_empty());
    let ds = first
        .objects
        .iter()
        .find(|o| o.sam_account_name.as_deref() == Some("dsuser"))
        .unwrap_or_else(|| panic!("dsuser not in {:?}", first.objects));
    let guid = ds.object_guid.clone().expect("objectGUID");
    assert_eq!(guid.len(), 36);
    assert!(ds.pwd_last_set.is_some_and(|t| t > 0));
    assert!(ds.password_changed());
    // Samba's DirSync does not return replPropertyMetaData; one base read gets the stamp.
    assert_eq!(ds.unicode_pwd, None);
    let stamp = read_unicode_pwd_stamp(&mut conn, &user_dn)
        .expect("read replPropertyMetaData")
        .expect("unicodePwd has a stamp");
    assert!(stamp.version >= 1, "{stamp:?}");
    assert!(
        first
            .objects
            .iter()
            .all(|o| o.sam_account_name.as_deref() != Some("krbtgt")),
        "the default filter leaves krbtgt out"
    );

    // The cookie survives a serde round trip (an engine persists it).
    let stored = serde_json::to_string(&first.cookie).unwrap();
    let cookie: DirSyncCookie = serde_json::from_str(&stored).unwrap();

    // Nothing changed: dsuser is not reported again.
    let quiet = search
        .changes(&mut conn, &cookie)
        .expect("DirSync, no change");
    assert!(
        quiet
            .objects
            .iter()
            .all(|o| o.object_guid.as_deref() != Some(&guid)),
        "{:?}",
        quiet.objects
    );

    // A password change: dsuser is reported, with pwdLastSet, by objectGUID.
    std::thread::sleep(Duration::from_millis(1100));
    conn.ldap3()
        .modify(
            &user_dn,
            vec![Mod::Replace(
                b"unicodePwd".to_vec(),
                set(&[&utf16_quoted("Second-Pa$$w0rd")]),
            )],
        )
        .expect("modify")
        .success()
        .expect("set password");
    let changed = search
        .changes(&mut conn, &quiet.cookie)
        .expect("DirSync after change");
    let ds2 = changed
        .objects
        .iter()
        .find(|o| o.object_guid.as_deref() == Some(&guid))
        .unwrap_or_else(|| panic!("dsuser not reported: {:?}", changed.objects));
    assert!(ds2.password_changed(), "{:?}", ds2.attributes);
    assert!(ds2.pwd_last_set.unwrap() > ds.pwd_last_set.unwrap());
    // The password write itself shows in unicodePwd's replication stamp.
    let stamp2 = read_unicode_pwd_stamp(&mut conn, &user_dn)
        .expect("read replPropertyMetaData")
        .expect("unicodePwd stamp after the change");
    assert!(stamp2.version > stamp.version, "{stamp:?} -> {stamp2:?}");
    assert!(stamp2.changed_unix >= stamp.changed_unix);
    assert_ne!(changed.cookie, quiet.cookie);

    // The new cookie is quiet again.
    let after = search.changes(&mut conn, &changed.cookie).unwrap();
    assert!(
        after
            .objects
            .iter()
            .all(|o| o.object_guid.as_deref() != Some(&guid))
    );
    conn.close();
    drop(dc);
}
