#!/usr/bin/env bash
# tools/interop/run.sh [--keep] [--no-check] [OUTDIR]
#
# Live interop test: a throwaway Samba AD DC on 127.0.0.1, replicated by real
# DRS clients, and phsync checked against what they captured.
#
#   1. installs what is missing: Samba from Debian (apt-get), impacket from
#      PyPI (pinned, requirements.txt) in a venv under $PHSYNC_INTEROP_CACHE
#   2. provisions a new AD domain into a `mktemp -d` directory, 127.0.0.1 only
#   3. creates users with known passwords (random per run, plus fixed cases)
#   4. starts `samba -F -M single` (one process, PID recorded)
#   5. replicates: impacket over NTLM (per object, and the whole NC in
#      chunks), Samba's own client over Kerberos (whole NC, 32-byte key), and
#      impacket's PHS loop: whole NC, directory changes, two incremental cycles
#   6. stops Samba by its PID (TERM, then KILL) and checks the captures
#      without phsync (selfcheck.py: Samba's NDR parser, Python crypto)
#   5b. phsync sync itself (the DRS client under test): the whole NC over NTLM
#      and Kerberos, typed failures, a connection cut mid-reply; after the
#      captures' directory changes, an incremental sync from its state store
#   7. runs `cargo test --test interop` on OUTDIR/manifest.json, then the main job
#      (`phsync replay`) on every capture, checked by check_mainjob.py with hashlib,
#      and over the incremental sequence with one --state store (check_incremental.py)
#
# OUTDIR (default: <repo>/target/interop) gets captures/ and manifest.json
# (replacing those of an earlier run). The DC's directory is always removed
# and Samba always stopped, on success, failure or Ctrl-C, unless --keep.
#
#   --keep      leave the DC running (and its directory in place) after the
#               captures, for manual experiments; prints how to stop it
#   --no-check  capture only; do not run cargo
#
# Environment: PHSYNC_INTEROP_SEED (default: random; same seed = same names
# and passwords), PHSYNC_INTEROP_CACHE (default /var/cache/phsync-interop),
# PHSYNC_INTEROP_CHUNK (objects per NC chunk, default 50).
# Needs root, Debian 12, and nothing else listening on TCP ports 88, 135, 464.
set -Eeuo pipefail
# Any failing command names itself and its line (-E: also inside functions and subshells).
trap 'rc=$?; echo "run.sh: line $LINENO: \`$BASH_COMMAND\` failed (exit $rc)" >&2' ERR

usage() { sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
KEEP=0 CHECK=1 OUTDIR=""
for a in "$@"; do
  case "$a" in
    --keep) KEEP=1 ;;
    --no-check) CHECK=0 ;;
    -h|--help) usage ;;
    -*) echo "unknown option $a" >&2; usage ;;
    *) [ -z "$OUTDIR" ] || usage; OUTDIR=$a ;;
  esac
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUTDIR=$(realpath -m "${OUTDIR:-$REPO/target/interop}")
CACHE=${PHSYNC_INTEROP_CACHE:-/var/cache/phsync-interop}
SEED=${PHSYNC_INTEROP_SEED:-$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')}
SYSPY=/usr/bin/python3   # Debian's: python3-samba is built for it (not a pyenv/other python3 on PATH)

T0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
STEP_T=$T0
step() { [ "$STEP_T" = "$T0" ] || echo "   ($(since "$STEP_T")s)"; STEP_T=$(date +%s.%N); echo "== $*"; }

WORK="" SAMBA_PID="" POLICY_RC=0
stop_samba() {
  [ -n "$SAMBA_PID" ] || return 0
  if kill -0 "$SAMBA_PID" 2>/dev/null; then
    kill -TERM "$SAMBA_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$SAMBA_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SAMBA_PID" 2>/dev/null; then
      echo "   samba $SAMBA_PID ignored SIGTERM for 10s: SIGKILL" >&2
      kill -KILL "$SAMBA_PID" 2>/dev/null || true
    fi
  fi
  wait "$SAMBA_PID" 2>/dev/null || true
  SAMBA_PID=""
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ "$POLICY_RC" = 1 ] && rm -f /usr/sbin/policy-rc.d
  if [ "$KEEP" = 1 ] && [ -n "$SAMBA_PID" ]; then
    echo "== --keep: samba still running, pid $SAMBA_PID; stop with: kill $SAMBA_PID; rm -rf $WORK"
    exit $rc
  fi
  [ "$KEEP" = 0 ] || [ -z "$WORK" ] || echo "== --keep: work directory kept: $WORK"
  if [ $rc -ne 0 ]; then
    echo "== FAILED (exit $rc)" >&2
    if [ -n "$WORK" ] && [ -s "$WORK/samba.log" ]; then
      echo "   last lines of the samba log:" >&2; tail -n 25 "$WORK/samba.log" | sed 's/^/   /' >&2 || true
    fi
  fi
  stop_samba
  if [ -n "$WORK" ] && [ "$KEEP" = 0 ]; then rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ "$(id -u)" = 0 ] || { echo "run.sh must run as root (it installs packages and runs a DC)" >&2; exit 1; }

# ------------------------------------------------------------------------------------ packages
step "packages (Samba from Debian)"
PKGS="samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules python3-samba python3-venv"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "   installing:$missing"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    # the package scripts must not start Debian's own samba services
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && POLICY_RC=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  APTLOG=$(mktemp /tmp/phsync-interop-apt.XXXXXX)
  # shellcheck disable=SC2086
  if ! { apt-get update -q && apt-get install -y -q --no-install-recommends $missing; } >"$APTLOG" 2>&1; then
    tail -n 30 "$APTLOG" >&2; rm -f "$APTLOG"; exit 1
  fi
  rm -f "$APTLOG"
  [ "$POLICY_RC" = 1 ] && rm -f /usr/sbin/policy-rc.d && POLICY_RC=0
fi
echo "   $(samba -V)"

step "python venv (impacket from PyPI, pinned)"
REQ_HASH=$(sha256sum "$HERE/requirements.txt" | cut -c1-12)
VENV="$CACHE/venv-$REQ_HASH"
PY="$VENV/bin/python"
if ! "$PY" -c "import impacket, Cryptodome, samba" 2>/dev/null; then
  rm -rf "$VENV"
  mkdir -p "$CACHE"
  # --system-site-packages: the venv must see Debian's samba bindings
  "$SYSPY" -m venv --system-site-packages "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt"
fi
echo "   impacket $("$PY" -c 'from importlib.metadata import version; print(version("impacket"))') in $VENV"

# ------------------------------------------------------------------------------------ the DC
step "provision a throwaway domain (seed $SEED)"
"$PY" "$HERE/netcheck.py" free 88 135 464
WORK=$(mktemp -d /tmp/phsync-interop.XXXXXX)
cd "$WORK"
"$PY" "$HERE/domain.py" plan "$SEED" plan.json
plan() { "$PY" -c 'import json,sys; print(json.load(open("plan.json"))[sys.argv[1]])' "$1"; }
REALM=$(plan realm) DOMAIN=$(plan netbios_domain) HOST=$(plan hostname) ADMINPW=$(plan admin_password)
: > empty.conf   # never read /etc/samba/smb.conf
if ! samba-tool domain provision -s empty.conf --targetdir="$WORK/dc" \
      --realm="$REALM" --domain="$DOMAIN" --host-name="$HOST" --host-ip=127.0.0.1 \
      --server-role=dc --dns-backend=SAMBA_INTERNAL --use-rfc2307 --adminpass="$ADMINPW" \
      --option="interfaces=127.0.0.1" --option="bind interfaces only=yes" \
      >provision.log 2>&1; then
  tail -n 30 provision.log >&2; exit 1
fi
CONF="$WORK/dc/etc/smb.conf"
# Only the RPC server (DRSUAPI) and the KDC; no DNS, NBT, SMB, LDAP, winbind, dnsupdate, drepl
# (nothing that could talk to anything but the clients below), and no forwarder.
"$PY" - "$CONF" "$WORK" <<'EOF'
import re, sys
conf, work = sys.argv[1], sys.argv[2]
s = open(conf).read()
s = re.sub(r"(?m)^\s*(dns forwarder|server services|interfaces|bind interfaces only|pid directory"
           r"|ncalrpc dir|log file)\s*=.*\n", "", s)
extra = ["server services = rpc, kdc", "interfaces = 127.0.0.1", "bind interfaces only = yes",
         # by default these are under /run/samba: keep every file the DC writes in $WORK
         "pid directory = %s/run" % work, "ncalrpc dir = %s/run/ncalrpc" % work,
         "log file = %s/samba.log.%%m" % work]
s, n = re.subn(r"(?m)^\[global\]\n", "[global]\n" + "".join("\t%s\n" % e for e in extra), s, count=1)
if n != 1:
    sys.exit("no [global] section in " + conf)
open(conf, "w").write(s)
EOF
cat > krb5.conf <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_realm = false
	dns_lookup_kdc = false
	dns_canonicalize_hostname = false
	rdns = false
[realms]
	$REALM = {
		kdc = 127.0.0.1
	}
[domain_realm]
	.$(plan dns_domain) = $REALM
EOF

step "create accounts (Samba's own password hashing on sam.ldb)"
"$PY" "$HERE/domain.py" populate "$CONF" plan.json truth.json

PHSYNC=""
if [ "$CHECK" = 1 ]; then
  step "build the phsync command (cargo build --features cli)"
  (cd "$REPO" && cargo build --quiet --features cli --bin phsync)
  PHSYNC=${CARGO_TARGET_DIR:-$REPO/target}/debug/phsync
fi

step "start samba (single process, 127.0.0.1 only)"
mkdir -p "$WORK/run"
# --keep: its own session, so that the DC outlives this terminal's job control
SETSID=""; [ "$KEEP" = 0 ] || SETSID=setsid
$SETSID samba -F -M single -s "$CONF" --debug-stdout -d 1 </dev/null >samba.log 2>&1 &
SAMBA_PID=$!
echo "   pid $SAMBA_PID"
"$PY" "$HERE/netcheck.py" wait "$SAMBA_PID"
[ "$(cat "/proc/$SAMBA_PID/comm")" = samba ] || { echo "pid $SAMBA_PID is not samba" >&2; exit 1; }
"$PY" "$HERE/netcheck.py" loopback "$SAMBA_PID"

# ------------------------------------------------------------------------------- phsync sync
# phsync as the DRS client, before the captures change the directory: the whole NC over NTLM
# (into a state store) and over Kerberos, the typed failures, and a connection cut mid-reply.
if [ "$CHECK" = 1 ]; then
  mkdir -p "$OUTDIR"
  rm -f "$OUTDIR"/sync-* "$OUTDIR"/sync.db*
  DNS=$(plan dns_domain)
  export PHSYNC_PASSWORD="$ADMINPW"
  SYNC_BASE=("$PHSYNC" sync --user Administrator --iterations 100 --quiet)
  SYNC_ANY=("${SYNC_BASE[@]}" --domain "$DNS")
  SYNC=("${SYNC_ANY[@]}" --dc 127.0.0.1)

  step "phsync sync over NTLM: the whole domain NC into a new state store"
  "${SYNC[@]}" --all-objects --state "$OUTDIR/sync.db" > "$OUTDIR/sync-ntlm-full.jsonl"

  step "phsync sync over Kerberos (KDC 127.0.0.1:88, SPN ldap/$HOST.$DNS)"
  "${SYNC[@]}" --all-objects --kerberos --dc-name "$HOST.$DNS" --kdc 127.0.0.1:88 \
    > "$OUTDIR/sync-krb5-full.jsonl"

  step "phsync sync through a proxy that cuts the connection mid-reply: reconnects and resumes"
  DRS_PORT=$("$PY" "$HERE/live_sync.py" drsuapi-port)
  "$PY" "$HERE/live_sync.py" proxy "$DRS_PORT" "$WORK/proxy.port" 60000 > "$WORK/proxy.log" 2>&1 &
  PROXY_PID=$!
  for _ in $(seq 50); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
  "${SYNC[@]}" --all-objects --state "$OUTDIR/sync-proxy.db" --port "$(cat "$WORK/proxy.port")" \
    --max-objects 10 --retries 2 > "$OUTDIR/sync-proxy.jsonl" 2> "$WORK/proxy-run.err"
  kill "$PROXY_PID" 2>/dev/null || true
  grep -q "cut the connection" "$WORK/proxy.log" || { echo "the proxy never cut the connection" >&2; exit 1; }
  grep -q "resuming from the last committed watermark" "$WORK/proxy-run.err" \
    || { cat "$WORK/proxy-run.err" >&2; echo "phsync did not reconnect" >&2; exit 1; }
  sed 's/^/   /' "$WORK/proxy.log"; grep reconnecting "$WORK/proxy-run.err" | sed 's/^/   /'

  step "phsync sync failures: typed errors within the timeout"
  PHSYNC_PASSWORD="wrong-$ADMINPW" "$PY" "$HERE/live_sync.py" expect-error "wrong password" 60 \
    credentials -- "${SYNC[@]}"
  PHSYNC_PASSWORD="wrong-$ADMINPW" "$PY" "$HERE/live_sync.py" expect-error "wrong password, Kerberos" \
    60 credentials -- "${SYNC[@]}" --kerberos --dc-name "$HOST.$DNS" --kdc 127.0.0.1:88
  "$PY" "$HERE/live_sync.py" expect-error "a naming context the DC does not hold" 60 \
    "IDL_DRSGetNCChanges" "WERROR" -- "${SYNC_BASE[@]}" --dc 127.0.0.1 --domain "no-such.$DNS" --user-domain "$DNS"
  "$PY" "$HERE/live_sync.py" expect-error "no DC there" 60 "cannot connect" "endpoint mapper" \
    -- "${SYNC_ANY[@]}" --dc 127.0.0.9 --timeout 5 --retries 0
  "$PY" "$HERE/live_sync.py" expect-error "not an RPC port (the KDC)" 60 "DCE/RPC" \
    -- "${SYNC[@]}" --port 88 --timeout 5 --retries 0
  unset PHSYNC_PASSWORD

  step "phsync hash --state on Samba's own export of the DC's NT hashes (pdbedit -L -w)"
  pdbedit -s "$CONF" -L -w > "$OUTDIR/pdbedit-before.txt"
  rm -f "$OUTDIR"/hash.db*
  "$PHSYNC" hash --quiet --iterations 100 --state "$OUTDIR/hash.db" "$OUTDIR/pdbedit-before.txt" \
    > "$OUTDIR/hash-before.jsonl"
fi

# ------------------------------------------------------------------------------------ captures
step "replicate: impacket/NTLM (per object, whole NC), Samba/Kerberos (whole NC)"
rm -rf "$OUTDIR/captures" "$OUTDIR/manifest.json"   # only what an earlier run wrote
mkdir -p "$OUTDIR"
KRB5_CONFIG="$WORK/krb5.conf" KRB5CCNAME="MEMORY:phsync-interop" PHSYNC_INTEROP_SMBCONF="$CONF" \
  "$PY" "$HERE/capture.py" plan.json truth.json "$OUTDIR"

if [ "$CHECK" = 1 ]; then
  step "phsync sync, incremental: the changes the captures made, from the stored watermark"
  PHSYNC_PASSWORD="$ADMINPW" "${SYNC[@]}" --state "$OUTDIR/sync.db" > "$OUTDIR/sync-ntlm-delta.jsonl"
  step "phsync sync, incremental again: nothing changed, nothing reported"
  PHSYNC_PASSWORD="$ADMINPW" "${SYNC[@]}" --state "$OUTDIR/sync.db" > "$OUTDIR/sync-ntlm-none.jsonl"
  [ ! -s "$OUTDIR/sync-ntlm-none.jsonl" ] || { echo "a run with no changes reported:" >&2; cat "$OUTDIR/sync-ntlm-none.jsonl" >&2; exit 1; }
  step "phsync hash --state on the export after the changes: the stored verifiers tell what changed"
  pdbedit -s "$CONF" -L -w > "$OUTDIR/pdbedit-after.txt"
  "$PHSYNC" hash --quiet --iterations 100 --state "$OUTDIR/hash.db" "$OUTDIR/pdbedit-after.txt" \
    > "$OUTDIR/hash-after.jsonl"
fi

if [ "$KEEP" = 1 ]; then
  cat > "$WORK/README" <<EOF
Samba AD DC from tools/interop/run.sh --keep (seed $SEED)
  pid $SAMBA_PID, config $CONF, log $WORK/samba.log
  realm $REALM, domain $DOMAIN, DC $HOST.$(plan dns_domain) on 127.0.0.1 (rpc 135, kdc 88)
  Administrator password: $ADMINPW   (accounts and passwords: $WORK/plan.json)
  Kerberos clients: KRB5_CONFIG=$WORK/krb5.conf
  impacket venv: $VENV
stop: kill $SAMBA_PID; rm -rf $WORK
EOF
  sed 's/^/   /' "$WORK/README"
else
  step "stop samba (pid $SAMBA_PID)"
  stop_samba
  cd "$REPO"; rm -rf "$WORK"; WORK=""
fi

step "sanity-check the captures without phsync (Samba's NDR parser, pycryptodomex)"
"$PY" "$HERE/selfcheck.py" "$OUTDIR"

# ------------------------------------------------------------------------------------ phsync
if [ "$CHECK" = 1 ]; then
  step "phsync on the captures: cargo test --test interop"
  cd "$REPO"
  PHSYNC_INTEROP_DIR="$OUTDIR" cargo test --all-features --test interop -- --include-ignored --nocapture

  step "the phsync command on the captures, checked with hashlib"
  for cap in $("$PY" -c 'import json,sys; print(" ".join(c["id"] for c in json.load(open(sys.argv[1]))["captures"]))' "$OUTDIR/manifest.json"); do
    # the key goes through the environment, never argv
    PHSYNC_SESSION_KEY=$("$PY" -c 'import json,sys; print([c["session_key_hex"] for c in json.load(open(sys.argv[1]))["captures"] if c["id"]==sys.argv[2]][0])' "$OUTDIR/manifest.json" "$cap") \
      "$PHSYNC" replay --quiet --all-objects --iterations 100 \
      "$OUTDIR"/captures/"$cap"/reply-*.bin > "$OUTDIR/$cap.jsonl"
    "$PY" "$HERE/check_mainjob.py" "$OUTDIR/manifest.json" "$cap" "$OUTDIR/$cap.jsonl"
  done

  step "phsync sync outputs, checked with hashlib against the manifest"
  for run in ntlm-full krb5-full proxy; do
    "$PY" "$HERE/check_mainjob.py" "$OUTDIR/manifest.json" "sync-$run" "$OUTDIR/sync-$run.jsonl"
  done
  "$PY" "$HERE/live_sync.py" check-delta "$OUTDIR/manifest.json" "$OUTDIR/sync-ntlm-delta.jsonl"
  "$PY" "$HERE/live_sync.py" hash-truth "$OUTDIR/manifest.json" "$OUTDIR/hash-truth.json"
  "$PY" "$HERE/live_sync.py" check-hash "$OUTDIR/hash-truth.json" "$OUTDIR/hash-before.jsonl" \
    "$OUTDIR/hash-after.jsonl"

  step "incremental sync: phsync replay over full -> delta -> delta with one --state store"
  "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["sequences"][0]["session_key_hex"])' \
    "$OUTDIR/manifest.json" > "$OUTDIR/incremental.key"
  chmod 600 "$OUTDIR/incremental.key"
  rm -f "$OUTDIR"/incremental.db* "$OUTDIR"/incremental-*
  for phase in full delta-1 delta-2; do
    files=$("$PY" -c 'import json,sys; print(" ".join(sys.argv[2] + "/" + f for p in json.load(open(sys.argv[1]))["sequences"][0]["phases"] if p["name"] == sys.argv[3] for f in p["replies"]))' "$OUTDIR/manifest.json" "$OUTDIR" "$phase")
    rc=0
    # shellcheck disable=SC2086
    "$PHSYNC" replay --quiet --all-objects --iterations 100 \
      --session-key-file "$OUTDIR/incremental.key" --state "$OUTDIR/incremental.db" $files \
      > "$OUTDIR/incremental-$phase.jsonl" || rc=$?
    echo "$rc" > "$OUTDIR/incremental-$phase.rc"
  done
  "$PY" "$HERE/check_incremental.py" "$OUTDIR/manifest.json" "$OUTDIR"
fi
step "done: captures and manifest in $OUTDIR (total $(since "$T0")s)"
