//! A throwaway OpenLDAP server for the LDAP tests (`tests/ldap/`): a temporary cn=config (built with
//! `slapadd -n 0 -F`) and mdb database, the Samba schema and the smbk5pwd overlay, listening on
//! `ldap://127.0.0.1:<free port>/` (StartTLS too), `ldaps://127.0.0.1:<free port>/` (a
//! self-signed certificate made with `openssl`) and `ldapi://<tempdir>/ldapi`. Started as a child process in
//! the foreground (`-d 0`), stopped by PID (SIGTERM, then SIGKILL) when dropped.
//!
//! Needs Debian's `slapd`, `slapd-contrib` (smbk5pwd), `ldap-utils` and `samba` (for
//! `/usr/share/doc/samba/examples/LDAP/samba.ldif`; override with `PHSYNC_SAMBA_LDIF`). When
//! they are missing, [`Slapd::start`] returns `None` (the test prints why and passes) unless
//! `PHSYNC_REQUIRE_SLAPD` is set, as `.ci/run` does.

#![allow(dead_code)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const SUFFIX: &str = "dc=example,dc=com";
pub const PEOPLE: &str = "ou=people,dc=example,dc=com";
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=com";
pub const ADMIN_PW: &str = "admin-secret";
pub const READER_DN: &str = "cn=reader,dc=example,dc=com";
pub const READER_PW: &str = "reader-secret";
/// Unpaged searches by non-root users stop after this many entries.
pub const SIZE_LIMIT: usize = 3;

const DEFAULT_SAMBA_LDIF: &str = "/usr/share/doc/samba/examples/LDAP/samba.ldif";

pub struct Slapd {
    pub dir: PathBuf,
    pub port: u16,
    pub tls_port: u16,
    child: Child,
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/ldap")
        .join(name)
}

fn which(cmd: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(cmd).exists())
        || Command::new("which")
            .arg(cmd)
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

fn slapd_path() -> PathBuf {
    for d in ["/usr/sbin", "/usr/local/sbin", "/sbin"] {
        let p = Path::new(d).join("slapd");
        if p.exists() {
            return p;
        }
    }
    PathBuf::from("slapd")
}

/// The `ldapi://` URL of a socket path (the library's own percent-encoding).
pub fn ldapi_url(path: &Path) -> String {
    phsync::ldap::ConnectOptions::ldapi(path).url
}

impl Slapd {
    /// Starts a server with the test users loaded and their passwords set. `None` = skip.
    pub fn start(test: &str) -> Option<Slapd> {
        let samba_ldif = std::env::var("PHSYNC_SAMBA_LDIF").unwrap_or(DEFAULT_SAMBA_LDIF.into());
        let mut missing = Vec::new();
        for cmd in [
            "slapd",
            "slapadd",
            "ldapadd",
            "ldappasswd",
            "ldapmodify",
            "openssl",
        ] {
            if !which(cmd) {
                missing.push(cmd.to_string());
            }
        }
        if !Path::new("/usr/lib/ldap/smbk5pwd.so").exists() {
            missing.push("/usr/lib/ldap/smbk5pwd.so (slapd-contrib)".into());
        }
        if !Path::new(&samba_ldif).exists() {
            missing.push(format!("{samba_ldif} (samba)"));
        }
        if !missing.is_empty() {
            let why = format!(
                "{test}: slapd fixture unavailable, missing: {}",
                missing.join(", ")
            );
            if std::env::var_os("PHSYNC_REQUIRE_SLAPD").is_some() {
                panic!("{why} (PHSYNC_REQUIRE_SLAPD is set)");
            }
            // Written to the stderr handle directly: libtest captures eprintln!, and a skip
            // should be visible.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {why}; set PHSYNC_REQUIRE_SLAPD=1 to make this a failure"
            );
            return None;
        }

        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "phsync-slapd-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("conf")).unwrap();
        std::fs::create_dir_all(dir.join("db")).unwrap();

        // A self-signed certificate for 127.0.0.1 (ldaps:// and StartTLS).
        run(Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args(["-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1"])
            .arg("-keyout")
            .arg(dir.join("key.pem"))
            .arg("-out")
            .arg(dir.join("cert.pem")));
        let template = std::fs::read_to_string(fixture("config.ldif.in")).unwrap();
        let config = template
            .replace("@DIR@", dir.to_str().unwrap())
            .replace("@SAMBA_LDIF@", &samba_ldif)
            .replace("@SIZELIMIT@", &SIZE_LIMIT.to_string());
        std::fs::write(dir.join("config.ldif"), config).unwrap();
        run(Command::new("slapadd")
            .arg("-n")
            .arg("0")
            .arg("-F")
            .arg(dir.join("conf"))
            .arg("-l")
            .arg(dir.join("config.ldif")));

        let (port, tls_port) = {
            // Hold both listeners at once so that the two ports differ.
            let a = TcpListener::bind("127.0.0.1:0").unwrap();
            let b = TcpListener::bind("127.0.0.1:0").unwrap();
            (
                a.local_addr().unwrap().port(),
                b.local_addr().unwrap().port(),
            )
        };
        let urls = format!(
            "ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/ {}",
            ldapi_url(&dir.join("ldapi"))
        );
        let log = std::fs::File::create(dir.join("slapd.log")).unwrap();
        let child = Command::new(slapd_path())
            .arg("-h")
            .arg(&urls)
            .arg("-F")
            .arg(dir.join("conf"))
            .arg("-d")
            .arg("0")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn slapd");
        let mut server = Slapd {
            dir,
            port,
            tls_port,
            child,
        };
        server.wait_ready();
        server.ldapadd_file(&fixture("users.ldif"));
        server.set_password("alice", "Pa$$w0rd");
        server.set_password("bob", "Disabled-1");
        server.set_password("carol", "Temp0rary!");
        server.set_password("zoe", "Zürich-Пароль-密码");
        server.set_password("yuri", "key\u{1F511}");
        // carol: "must change at next logon" (Samba's passdb: sambaPwdLastSet = 0).
        server.ldapmodify(&format!(
            "dn: uid=carol,{PEOPLE}\nchangetype: modify\nreplace: sambaPwdLastSet\nsambaPwdLastSet: 0\n"
        ));
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.tls_port)
    }

    pub fn ldapi(&self) -> String {
        ldapi_url(&self.dir.join("ldapi"))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "slapd exited early ({status}); log:\n{}",
                    std::fs::read_to_string(self.dir.join("slapd.log")).unwrap_or_default()
                );
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && TcpStream::connect(("127.0.0.1", self.tls_port)).is_ok()
                && self.dir.join("ldapi").exists()
            {
                return;
            }
            assert!(Instant::now() < deadline, "slapd did not start listening");
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn admin_args<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.arg("-x")
            .arg("-H")
            .arg(self.url())
            .arg("-D")
            .arg(ADMIN_DN)
            .arg("-w")
            .arg(ADMIN_PW)
    }

    pub fn ldapadd_file(&self, path: &Path) {
        let mut cmd = Command::new("ldapadd");
        run(self.admin_args(&mut cmd).arg("-f").arg(path));
    }

    pub fn ldapmodify(&self, ldif: &str) {
        let path = self.dir.join(format!(
            "modify-{}.ldif",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        let mut cmd = Command::new("ldapmodify");
        run(self.admin_args(&mut cmd).arg("-f").arg(&path));
    }

    /// `ldappasswd` (RFC 3062 Password Modify): smbk5pwd writes sambaNTPassword and
    /// sambaPwdLastSet.
    pub fn set_password(&self, uid: &str, password: &str) {
        let mut cmd = Command::new("ldappasswd");
        run(self
            .admin_args(&mut cmd)
            .arg("-s")
            .arg(password)
            .arg(format!("uid={uid},{PEOPLE}")));
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let pid = self.child.id();
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
        if std::env::var_os("PHSYNC_KEEP_SLAPD_DIR").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    free_port()
}

fn run(cmd: &mut Command) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{:?} failed: {}\n{}",
        cmd.get_program(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
