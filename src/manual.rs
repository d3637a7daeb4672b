//! # Design manual: why phsync does what it does
//!
//! Short answers to the questions a reviewer asks first. Each cites the spec section
//! (MS-DRSR, MS-SAMR, MS-NLMP, RFC 8018, FIPS 180-4, or the repository's `BENCHMARKS.md` and
//! `docs/`) that holds the evidence.
//!
//! ## Why the PBKDF2 password is the *uppercase* hex of the NT hash
//! Entra Connect formats the 16-byte NT hash with .NET's `BitConverter.ToString(...)
//! .Replace("-", "")`, which yields uppercase digits, and feeds the UTF-16LE bytes of that
//! string to PBKDF2 (Microsoft Learn, "Implement password hash synchronization with Microsoft Entra
//! Connect Sync", steps 4–7). Lowercase hex gives a different, equally plausible-looking
//! verifier that Entra ID rejects; `tests/vectors/pph1.json` carries such a negative vector and
//! the test suite checks phsync never produces it. The 64-byte buffer is exactly one SHA-256
//! block, which is what lets the core precompute the HMAC pads once per account.
//!
//! ## Why the salt is fresh for every verifier
//! Entra Connect draws 10 random bytes on every password change (Microsoft Learn, "Implement
//! password hash synchronization with Microsoft Entra Connect Sync"); re-using a
//! salt across accounts would let an attacker who obtains the cloud verifiers attack equal
//! passwords once. [`crate::Salt::random`] uses the operating system's CSPRNG.
//!
//! ## Why the NT hash is never printed
//! An NT hash is password-equivalent (pass-the-hash). [`crate::NtHash`] has no `Display`
//! and no `Serialize`, its `Debug` is redacted, it is zeroized on drop and compared in
//! constant time. Parse errors name the field and the byte position, never the text.
//!
//! ## Why every input gets exactly one outcome, in order
//! A sync engine reconciles its own records against phsync's output; a dropped account is a
//! user whose cloud password silently goes stale, a duplicated one is a double upload. The
//! runner ([`crate::batch::Runner`]) therefore turns each input item — an account, or an
//! object the source could not decode or decrypt — into one [`crate::batch::Outcome`]
//! (`synced`, `skipped` with a reason, or `failed` with a reason), in input order, even when
//! hashing runs on every core and even when the run is cancelled (accounts read but not yet
//! hashed are reported as `cancelled`). Order also matters for the cloud: Entra Connect sends
//! password changes "per-user basis and in chronological order" (Microsoft Learn, "Implement
//! password hash synchronization with Microsoft Entra Connect Sync").
//!
//! ## Why the default policy skips what it skips
//! The defaults mirror Entra Connect's PHS scoping (Microsoft Learn, "Implement password hash
//! synchronization with Microsoft Entra Connect Sync"): only enabled user
//! objects (the "In from AD – User AccountEnabled" rule), not computers, trust accounts or
//! krbtgt; not `isCriticalSystemObject` accounts, objects without sAMAccountName, replication
//! conflicts or Connect's own `AAD_*`/`MSOL_*` service accounts; and not temporary passwords
//! (pwdLastSet = 0) unless `ForcePasswordChangeOnLogOn` is turned on, in which case the hash is
//! synced with the force-change flag. Each of these can be relaxed in
//! [`crate::batch::SyncPolicy`]; a caller predicate adds selective sync.
//!
//! ## Why "no password" and "empty password" differ
//! An account whose `unicodePwd` arrives without a value has no password: nothing can be
//! synced. An account whose NT hash is `31d6cfe0…` has the empty string as its password, and
//! the cloud must learn that too. [`crate::batch::PasswordState`] keeps `Absent`, `NoValue`
//! and `Present` apart so neither case can be mistaken for the other.
//!
//! ## Why change detection uses replication metadata
//! Re-hashing every account on every cycle costs ~40 µs of CPU per account and re-uploads
//! unchanged credentials. `unicodePwd`'s replication metadata (version, originating time) tells
//! whether the password was written since the last run without comparing secrets; pwdLastSet is
//! part of the stamp because toggling "must change at next logon" alone must re-sync the flag.
//! The state holds no secret, so it can be persisted anywhere.
//!
//! NT-hash files (secretsdump, pwdump, `pdbedit -L -w`) carry no such metadata. For them the
//! store keeps the verifier last delivered per account (`state::VerifierStore`): re-deriving
//! it with its own salt costs the one PBKDF2 that syncing would have cost, and a stolen store
//! gives nothing Entra ID does not already hold — unlike storing the NT hash (pass-the-hash) or
//! a fast fingerprint of it (a dictionary attack at HMAC speed). A changed password gets a
//! fresh salt.
//!
//! ## How incremental replies are merged, and why the watermark waits
//! After the first full replication, a sync engine asks the DC only for what changed since its
//! watermark (MS-DRSR §4.1.10.2.1: `usnvecFrom` = the last `usnvecTo`). Such a reply carries,
//! per changed object, only the changed attributes: a password change arrives as `unicodePwd`,
//! `pwdLastSet` and the other secrets, with no `objectClass`, `sAMAccountName` or
//! `userAccountControl`; a disable as `userAccountControl` alone; a delete as cleared
//! attributes under a deletion-mangled name (MS-ADTS §3.1.1.5.5.1.2). Decided alone, a password
//! change looks like "not a user" — a silent loss. So [`crate::batch::DrsSync`] keeps, per
//! objectGUID, the facts the policy reads ([`crate::state::ObjectRecord`]): each attribute a
//! delta carries overrides the stored one (carried without a value clears it), the others keep
//! their stored values, and the policy decides on the merged view.
//!
//! What cannot be decided is never dropped: a delta object with no stored record fails as
//! `unknown_object` (the state was lost, or the run started from someone else's watermark: run
//! a full sync), and an account that comes into scope without its password in the delta (an
//! enabled account that was never synced) fails as `password_not_replicated`, because the
//! cloud has no verifier for it and this reply cannot give one.
//!
//! An object can come twice in one run: changed during a full replication and sent again, a
//! delta replayed after the full cycle it changes, an object fetched whole after a delta named
//! it. The second copy is merged with what the first one's *outcome* made of the record (a
//! sync sets [`crate::state::ObjectRecord::synced`], so an unchanged password is `unchanged`
//! the second time; a failure leaves the record as it was). While the first copy is still
//! being hashed that outcome is not known, so the merge waits for the pipeline to drain rather
//! than guess: the outcomes of a run depend on its input alone, never on chunk sizes, threads
//! or timing (`tests/batch/repeats.rs`). In a sync cycle an object comes once, so drains are
//! rare; a hashing pipeline that guessed instead had synced such passwords twice or once,
//! depending on which thread was ahead.
//!
//! A reply's records and the watermark it reached are committed in one transaction
//! ([`crate::state::StateStore::commit`]) only after all of its outcomes reached the sink and
//! the sink was flushed. A process killed in between loses nothing: the next run asks for
//! that reply again (at-least-once). The watermark also stops at the first reply that was
//! unreadable or had a failed object, so those changes are asked for again on every run until
//! they succeed, while later replies' outcomes are still delivered. SQLite
//! ([`crate::state`], feature `sqlite`) is the default store: one inspectable file, atomic
//! commits, memory bounded by its page cache (1M objects: 33 MiB peak RSS, BENCHMARKS.md).
//!
//! ## How phsync talks to a domain controller, and why so
//! [`crate::dc`] (feature `dc`) is a blocking client of the DC's DRSUAPI interface: the
//! endpoint mapper on TCP 135 names the port (MS-RPCE §2.1.1.1), the association is bound with
//! NTLM or Kerberos at packet privacy — every request and reply sealed, headers signed
//! (MS-RPCE §3.3.1.5.2) — because the replicated secrets are only RC4-wrapped under the
//! session key and a network observer must not get even that. The security packages are the
//! `sspi` crate's; phsync writes the RPC glue and carries the KDC exchanges itself (TCP, RFC
//! 4120 §7.2.2), so no async runtime and no HTTP client come along.
//!
//! The request asks for a partial attribute set of what the policy reads
//! ([`crate::dc::PHS_ATTRIBUTES`]): identity, account state and the secrets, not the whole
//! object. ATTRTYPs only mean something against a prefix table (MS-DRSR §5.16.4), and a DC
//! checks the table the request sends against its schema, so a one-object probe reads the DC's
//! own table first and the cycle sends it back. Replies stream over a channel of two from a
//! thread that does the network and the decoding, so hashing overlaps the next round trip and
//! memory stays at a few chunks whatever the domain's size.
//!
//! Failures are typed ([`crate::dc::DcError`]): bad credentials, a refused bind, a fault or a
//! WERROR with its plain meaning (`ERROR_DS_DRA_ACCESS_DENIED`: the account lacks the
//! replication rights; `ERROR_DS_DRA_BAD_DN`: not this DC's naming context), a timeout, a
//! port that does not speak DCE/RPC. A connection that drops ([`crate::dc::DcError::is_transient`])
//! is opened again and the cycle resumes from the watermark the store last committed: the
//! replies before it were delivered and committed, the one in flight is asked for again (the
//! DC may resend objects it had already sent; the merge makes that idempotent). An object a
//! delta names without its password — an account just enabled, or one the store does not know
//! — is fetched whole with `EXOP_REPL_OBJ`, whose reply updates the object but never the
//! watermark (`ulExtendedRet` ≠ 0: not part of the cycle).
//!
//! ## Why memory stays bounded
//! The runner reads a chunk (4096 accounts by default) at a time and keeps at most three
//! chunks alive — one being read, two being hashed or emitted — so memory does not grow with
//! the input: `tests/batch_memory.rs` streams a million generated accounts and checks peak
//! RSS growth.
//! Salts come from one OS CSPRNG call per sub-batch rather than one system call per account
//! (`docs/kdf.md`, technique 7). `DrsSync` decodes and prepares replies ahead of the one it
//! merges up to about 2 MB of wire data (at least two replies per worker, at most sixteen).
//!
//! ## Why the pipeline has stages, and which thread runs what
//! Only the merge with the store must run on the caller's thread (the store is one SQLite
//! connection, and the merge of reply *k+1* needs what reply *k* stored). Everything else runs
//! elsewhere: decoding, reading and decrypting each object on the read-ahead workers (one per
//! core, up to four, each taking whole replies in turn, so order is kept without a reordering
//! buffer), hashing on the rayon pool, with bounded queues between them, so input order is
//! kept without ever holding the input. A worker decodes a reply *and* prepares its objects
//! (give [`crate::batch::DrsSync::run_stubs_to`] the undecoded stubs): objects decoded on one
//! thread and prepared on another were read and freed on the other core, and both threads
//! ran slower. For the same reason a worker can read the reply itself
//! ([`crate::batch::DrsSync::run_loads_to`], what `phsync replay` does with its files): the
//! bytes land in the cache of the core that decodes them, and no reader thread of the
//! caller's contends for the cores (6 % off the two-core time of `phsync replay` on 2 vCPUs).
//! Preparing replies on the pool was tried and measured slower too: its small jobs queue
//! behind the hashing, and idle workers spin. The runner splits a chunk with few
//! accounts to hash (most objects of a DRS reply are not users) into parts that every pool
//! thread takes from a shared counter, so no core waits while another hashes the chunk's last
//! part; and it lets two chunks wait for or be at the pool while the caller reads the next, so
//! the caller and the pool do not run in lock step, each waiting for the other. The caller's
//! thread being the one serial stage, it does as little per object as it can: the outcome is
//! built on the runner's helper thread, each record is merged where it waits for its reply's
//! commit (not built aside and moved), and whether an object is in flight is told by two
//! counters (merged, delivered) against the sequence number of its latest merge, so the table
//! of uncommitted objects is touched at the merge and at the commit only. Moves of values of a
//! few hundred bytes, counted with a probe on `memmove`, were 40 % of that thread's time
//! before (BENCHMARKS.md, the Intel Xeon section).
//!
//! ## Why the CRC is checked
//! Each secret value carries `CRC32(plaintext)` under the RC4 layer (MS-DRSR §4.1.10.2.20).
//! impacket
//! ignores it; Samba and DSInternals check it, and so does phsync, for three reasons. A wrong
//! session key (a Kerberos subkey vs. ticket key mix-up, a key renegotiated mid-replication, the
//! first 16 bytes of a 32-byte AES key) does not fail RC4: it yields 16 random-looking bytes that
//! would be synced as the user's "NT hash" and lock them out of the cloud. The CRC turns that into
//! [`crate::drs::DecryptError::CrcMismatch`] naming the attribute. It is also what makes key
//! rollover work: [`crate::drs::ReplicatedObject::decrypt_with_any`] tries the candidate keys and
//! keeps the one whose CRC matches, as DSInternals does. And it catches corruption
//! the NDR layer cannot see. A false match has probability 2⁻³², per value and wrong key.
//!
//! ## What the DRS decoder skips and why
//! - **Compressed replies (V2, V7) and V1** are rejected with
//!   [`crate::drs::DecodeErrorKind::Unsupported`]: neither impacket nor DSInternals requests
//!   compression, Samba's server never compresses, and MSZIP/XPRESS would be a large unverified
//!   surface (MS-DRSR §4.1.10: V2 and V7 carry compressed replies). Ask for uncompressed V6/V9
//!   replies.
//! - **Linked values** (`rgValues`: `member` and other link attributes) are walked and kept raw
//!   ([`crate::drs::Reply::linked_values`]) but not interpreted: password hash sync needs none of
//!   them, and the REPLVALINF layout rests on the MS-DRSR IDL alone — the real Samba
//!   capture, whose last chunk carries 23 of them and ends exactly on the return value, is the
//!   check that the walk is right.
//! - **Attribute values other than the ones [`crate::drs::Account`] types** stay raw bytes behind
//!   [`crate::drs::ReplicatedObject::attributes`]; DN-valued ones can be read with
//!   [`crate::drs::reply::parse_dsname_value`].
//! - **msDS-IntId ATTRTYPs** (`0x80000000–0xBFFFFFFF`) are reported as
//!   [`crate::drs::AttrId::IntId`], not guessed: only the schema maps them (MS-DRSR §5.16.4).
//! - **Referent IDs** are never validated: they are opaque, and Samba's differ from Windows'
//!   numbering (C706 §14.3.10: a referent id only says "not null").
//! - **`supplementalCredentials`** can be skipped on request ([`crate::drs::Secrets::Hashes`]):
//!   it is ~2.6 KB of RC4 and hex per account, and password hash sync needs only the NT hash.
//!
//! ## How the hashing backend is chosen, and why never at build time
//! Servers differ: on AMD EPYC (Zen 2–4) interleaved SHA-NI streams win, on Intel Xeon with
//! AVX-512 a 16-lane vector kernel wins, on ARM the SHA2 extensions (`BENCHMARKS.md`). A
//! binary built for one fleet runs on the other, so [`crate::kdf::Backend::selected`] asks
//! the CPU at run time (`cpufeatures`, cached once) and picks SHA-NI ×2 (compiled, or the
//! hand-scheduled assembly loop where AVX is there too) or AVX-512 ×16 — timing the candidates
//! for a millisecond when a CPU can run several, because which one wins is a matter of
//! microarchitecture, not of feature bits (Zen 4: SHA-NI; Intel Xeon and Zen 5: AVX-512) — else
//! AVX2 ×8, else the portable scalar kernel (aarch64: SHA2 ×2). The vector kernels (AVX2,
//! AVX-512) share one generic lane algorithm that is also compiled over plain arrays for the
//! tests, so the AVX-512 backend, which no build machine here can run, adds only one-line
//! instruction wrappers to code that is tested everywhere — and, because "tested everywhere"
//! is not "run on that CPU", detection hands out no kernel that fails a known-answer
//! self-test against the `pbkdf2` crate on the machine itself
//! ([`crate::kdf::Backend::passes_self_test`]). Each kernel lives in its own module
//! compiled with exactly the features it needs (`#[target_feature]`); a proof token that only
//! detection can create guards every call, which is what the `// SAFETY:` comments point to.
//! The crate is never built with `-C target-cpu=native` or a global `+avx2`: on AMD Zen that
//! lets LLVM mix 256-bit VEX code into the legacy-SSE SHA-NI loop, and every SSE↔AVX transition
//! then costs hundreds of cycles, making SHA-NI code ~60× slower (`BENCHMARKS.md`, the
//! `target-cpu=native` pitfall). CI instead runs
//! the differential tests in a `-C target-cpu=x86-64-v3` build to prove the kernels stay
//! correct (and fast) when an embedding application does enable AVX globally.
//! `PHSYNC_BACKEND=<name>` forces a backend for tests and benchmarks.
//!
//! ## Why the kernels are multi-lane and take whole batches
//! One SHA-256 compression is a chain of dependent `sha256rnds2` instructions whose latency,
//! not throughput, limits a single stream (`BENCHMARKS.md`). Interleaving two to four independent
//! accounts keeps the SHA unit busy; that is why [`crate::CloudVerifier::derive_batch`] and
//! the batch runner hand the core whole groups of accounts, and why a tail is run through a
//! narrower kernel rather than padded with dummy lanes (a padded lane costs the same as a real
//! one). Everything that is fixed by the verifier's shape — the 64-byte key is exactly one
//! block, so the HMAC pads are hashed once per account; the padding words of every later block
//! are constants — is precomputed, and the state stays in the kernel's register layout for all
//! 1000 iterations.
//!
//! ## Why one kernel is assembly
//! `shani-x2-asm` is the one hot loop not left to the compiler. Where the SHA unit itself is
//! the bound (AMD Zen 1 issues `sha256rnds2` only every second cycle), every other instruction
//! in the loop competes for issue slots, and LLVM's version of the loop carries ~235 register
//! copies per iteration (two-operand SSE forms, the implicit `xmm0` operand of `sha256rnds2`)
//! and reloads the pad states. The assembly uses three-operand VEX.128 forms for everything
//! that is not a SHA instruction and keeps constants as memory operands: 484 instructions per
//! iteration instead of 687, 5–10 % more verifiers per second, and the difference between
//! 2.9× and 3.1× the `pbkdf2` crate on the build host (BENCHMARKS.md). It is generated from one
//! description of a four-round step (`tools/gen_x86_shani_asm.py`; a test keeps the committed
//! file equal to the generator's output), checked by the same differential tests as every
//! other kernel, and chosen by the run-time calibration only where it is actually faster.
