//! Generated sources are what their generators print today.
//!
//! `src/kdf/x86_shani_asm.rs` (the `shani-x2-asm` loop) is written by
//! `tools/gen_x86_shani_asm.py`; editing one without the other would leave the reviewed
//! description and the assembled code apart. Needs `python3` (skipped, saying so, without it).

use std::process::Command;

#[test]
fn x86_shani_asm_is_up_to_date() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = match Command::new("python3")
        .arg(format!("{root}/tools/gen_x86_shani_asm.py"))
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            eprintln!("python3 not runnable ({e}): skipped");
            return;
        }
    };
    assert!(out.status.success(), "generator failed: {out:?}");
    let committed = std::fs::read_to_string(format!("{root}/src/kdf/x86_shani_asm.rs")).unwrap();
    assert!(
        String::from_utf8(out.stdout).unwrap() == committed,
        "src/kdf/x86_shani_asm.rs differs from the generator's output; regenerate with \
         `python3 tools/gen_x86_shani_asm.py > src/kdf/x86_shani_asm.rs`"
    );
}
