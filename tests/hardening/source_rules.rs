//! Rules checked on the library's source text (`src/`, outside `#[cfg(test)] mod tests` and
//! comments), because no run-time test can see them:
//!
//! - one hex decoder for secrets: only `src/hex.rs` decodes hex (branch-free, table-free);
//!   `char::to_digit`, `from_str_radix` and lookup tables branch on or index by the digit,
//!   which for an NT hash, a session key or a supplementalCredentials value is secret
//!   (`src/ad/guid.rs` is exempt: a GUID is an identifier, not a secret);
//! - secret types compare in constant time: none derives `PartialEq` (a derived `eq`
//!   short-circuits on the first differing byte);
//! - the library never prints: no `print!`, `println!`, `eprint!`, `eprintln!` or `dbg!`
//!   (the command decides what to show; the library returns values).

use std::path::{Path, PathBuf};

use crate::common::repo;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `(path relative to the repository, line number, line)` of every non-comment line of the
/// library outside its unit-test modules (the command, `src/bin/`, is not the library: it
/// prints, and reads the hex the user typed).
fn library_lines() -> Vec<(String, usize, String)> {
    let mut files = Vec::new();
    sources(&repo("src"), &mut files);
    files.retain(|f| !f.starts_with(repo("src/bin")));
    files.sort();
    assert!(files.len() > 20, "src/ not found");
    let mut lines = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        let rel = f
            .strip_prefix(repo(""))
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for (i, line) in code.lines().enumerate() {
            let t = line.trim_start();
            if t.starts_with("//") {
                continue;
            }
            lines.push((rel.clone(), i + 1, line.to_owned()));
        }
    }
    lines
}

fn offenders(patterns: &[&str], exempt: &[&str]) -> Vec<String> {
    library_lines()
        .into_iter()
        .filter(|(f, _, l)| !exempt.contains(&f.as_str()) && patterns.iter().any(|p| l.contains(p)))
        .map(|(f, n, l)| format!("{f}:{n}: {}", l.trim()))
        .collect()
}

#[test]
fn secrets_are_hex_decoded_only_by_the_branch_free_decoder() {
    let bad = offenders(
        &["to_digit(", "from_str_radix(", "hex_table", "HEX["],
        &["src/hex.rs", "src/ad/guid.rs"],
    );
    assert!(
        bad.is_empty(),
        "hex decoded outside src/hex.rs:\n{}",
        bad.join("\n")
    );
}

/// The files whose types hold the crate's secrets (hashes, keys, decrypted blobs).
const SECRET_FILES: &[&str] = &[
    "src/nt.rs",
    "src/verifier.rs",
    "src/drs/crypto.rs",
    "src/drs/supplemental.rs",
    "src/drs/account.rs",
];

#[test]
fn secret_types_do_not_derive_partial_eq() {
    let secret_files = [SECRET_FILES, &["src/dc/auth.rs", "src/ldap/connect.rs"]].concat();
    let all = library_lines();
    let mut bad = Vec::new();
    for (i, (f, n, l)) in all.iter().enumerate() {
        if !secret_files.contains(&f.as_str()) || !l.contains("derive(") {
            continue;
        }
        // The whole attribute, which rustfmt may spread over several lines.
        let attribute: String = all[i..]
            .iter()
            .take_while(|(g, _, _)| g == f)
            .map(|(_, _, l)| l.as_str())
            .scan(false, |done, l| {
                (!*done).then(|| {
                    *done = l.contains(")]");
                    l
                })
            })
            .collect();
        if !attribute.contains("PartialEq") {
            continue;
        }
        // The item the derive applies to: the next `struct`/`enum` line of the same file.
        let item = all[i + 1..]
            .iter()
            .take_while(|(g, _, _)| g == f)
            .find(|(_, _, l)| l.contains("struct ") || l.contains("enum "))
            .map_or("", |(_, _, l)| l.as_str());
        // Enums of public facts (kinds, flags) may derive it; structs holding secrets may not.
        if item.contains("struct ") {
            bad.push(format!("{f}:{n}: {} → {}", l.trim(), item.trim()));
        }
    }
    assert!(
        bad.is_empty(),
        "derived PartialEq on a secret type:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_library_never_prints() {
    let bad = offenders(&["print!", "println!", "eprint!", "eprintln!", "dbg!"], &[]);
    assert!(bad.is_empty(), "the library prints:\n{}", bad.join("\n"));
}

/// Secret types compare in constant time: every hand-written `PartialEq` in the files that
/// hold secrets goes through `subtle` (`ct_eq`), never a short-circuiting `==` of the secret
/// bytes alone (the bit-flip tests in `secret_hygiene.rs` cannot tell the two apart).
#[test]
fn secret_partial_eq_impls_use_constant_time_equality() {
    let secret_files = [SECRET_FILES, &["src/ldap/entry.rs"]].concat();
    let all = library_lines();
    let mut impls = 0;
    let mut bad = Vec::new();
    for (i, (f, n, l)) in all.iter().enumerate() {
        if !secret_files.contains(&f.as_str()) || !l.starts_with("impl PartialEq for ") {
            continue;
        }
        impls += 1;
        // The impl's body: up to its closing brace at column 0.
        let uses_ct = all[i + 1..]
            .iter()
            .take_while(|(g, _, l)| g == f && !l.starts_with('}'))
            .any(|(_, _, l)| l.contains("ct_eq") || l.contains("ct_option"));
        if !uses_ct {
            bad.push(format!("{f}:{n}: {}", l.trim()));
        }
    }
    assert!(
        impls >= 7,
        "found only {impls} PartialEq impls: the rule reads nothing"
    );
    assert!(
        bad.is_empty(),
        "PartialEq of a secret type without ct_eq:\n{}",
        bad.join("\n")
    );
}
