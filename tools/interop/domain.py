#!/usr/bin/env python3
"""The throwaway domain: what to create (a plan) and creating it.

  domain.py plan SEED PLAN.json
      Deterministic from SEED: realm, host name, Administrator password and
      the test accounts with their passwords (random ones plus fixed special
      cases). The same SEED gives the same plan; run.sh picks a fresh SEED per
      run unless PHSYNC_INTEROP_SEED is set.

  domain.py populate SMB_CONF PLAN.json TRUTH.json
      Runs against the provisioned, not yet running DC through Samba's own
      Python bindings on the local sam.ldb: sets the password policy, creates
      the accounts, sets their passwords (Samba's password_hash module does all
      the hashing: we only hand it cleartext), adds the ldap/<fqdn> SPN that
      Samba's Kerberos DRS client asks for, and reads back what Samba stored.
      Fails if Samba's stored NT hash or history differs from MD4 of the
      password computed here: the ground truth is then independent of the
      server, and checked against it before any client is involved.
"""

import random
import string
import sys

from common import nt_hash, read_json, write_json

HISTORY_LENGTH = 24
UF_ACCOUNTDISABLE = 0x0002

SAFE_SYMBOLS = "!#%&()*+,-./:;<=>?@[]^_{|}~"
ALL_SYMBOLS = SAFE_SYMBOLS + "$\"'\\`"
NONASCII_WORDS = ["Grüße€Straße", "Ñandú€Çédille", "Ærøskøbing€", "Łódź€Żółw", "Þorgeir€Ðóra",
                  "Ελλάδα€Δ", "Кириллица№"]
NONBMP_PIECES = ["😀", "𝄞", "𝔓", "🔑", "𠜎", "汉字", "密码", "👩‍💻", "🇩🇪"]


def rand_password(rng, n, symbols=ALL_SYMBOLS):
    alphabet = string.ascii_letters + string.digits + symbols
    while True:
        pw = "".join(rng.choice(alphabet) for _ in range(n))
        if (any(c.isupper() for c in pw) and any(c.islower() for c in pw)
                and any(c.isdigit() for c in pw) and any(c in symbols for c in pw)):
            return pw


def build_plan(seed):
    rng = random.Random("phsync-interop:" + seed)
    tag = "".join(rng.choice(string.ascii_uppercase) for _ in range(4))
    netbios = "PHS" + tag
    realm = netbios + ".TEST"
    admin_pw = rand_password(rng, 18, SAFE_SYMBOLS)
    accounts = []

    def add(role, passwords, *, sam=None, ou=False, disabled=False, must_change=False,
            given=None, surname=None, note=""):
        accounts.append({
            "role": role,
            "sam_account_name": sam or "%s.%s" % (role[:10], "".join(rng.choice(string.ascii_lowercase)
                                                                      for _ in range(4))),
            "passwords_in_set_order": passwords,   # the last one is current
            "in_ou": ou,
            "disabled": disabled,
            "must_change": must_change,
            "given_name": given,
            "surname": surname,
            "note": note,
        })

    add("plain", [rand_password(rng, 14)], note="enabled user, random ASCII password, set once")
    add("history", [rand_password(rng, rng.randint(8, 16)) for _ in range(4)], ou=True,
        note="password set 4 times: ntPwdHistory holds 4 hashes, newest first")
    add("histfull", [rand_password(rng, 10) for _ in range(HISTORY_LENGTH + 2)],
        note="26 passwords, pwdHistoryLength 24: history truncated to the newest 24")
    add("disabled", [rand_password(rng, 12)], ou=True, disabled=True,
        note="userAccountControl has ACCOUNTDISABLE")
    add("mustchg", [rand_password(rng, 13)], must_change=True,
        note="must change password at next logon: pwdLastSet = 0")
    add("pwexample", ["Pässwörd€1"], note="fixed non-ASCII password (NT 0b765aea283c632ee215ceab79053add)")
    add("nonascii", [rng.choice(NONASCII_WORDS) + str(rng.randint(10, 99))], ou=True,
        given="Renée", surname="Łukasz-Ødegård",
        note="random non-ASCII password; the CN and OU are non-ASCII too")
    add("surrogates", ["😀😀𝄞>1pG"], note="fixed password with non-BMP characters (UTF-16 surrogate pairs)")
    add("nonbmp", ["".join(rng.choice(NONBMP_PIECES) for _ in range(3)) + rand_password(rng, 5)],
        note="random password with surrogate pairs, CJK, ZWJ sequences, flags")
    add("empty", [""], note="empty password (complexity off, minimum length 0): NT = MD4('')")
    add("spaces", [" " + rand_password(rng, 6) + "   " + rand_password(rng, 4) + " "],
        note="leading, inner and trailing spaces")
    add("long", [rand_password(rng, 120)], note="120-character password")
    add("nopasswd", [], note="created without ever setting a password: no NT hash at all")
    add("admin", [admin_pw], sam="Administrator",
        note="built-in Administrator; password given to samba-tool domain provision")

    return {
        "format": "phsync-interop-plan/1",
        "seed": seed,
        "netbios_domain": netbios,
        "realm": realm,
        "dns_domain": realm.lower(),
        "hostname": "dc%02d" % rng.randint(1, 99),
        "admin_password": admin_pw,
        "ou_name": "Interöp Accounts %s" % tag,
        "password_policy": {"complexity": False, "min_length": 0, "history_length": HISTORY_LENGTH},
        "accounts": accounts,
    }


# ---------------------------------------------------------------------------------------------
# populate (needs Samba's python bindings)
# ---------------------------------------------------------------------------------------------

def populate(smb_conf, plan):
    import ldb
    from samba import param
    from samba.auth import system_session
    from samba.dcerpc import misc, security
    from samba.ndr import ndr_unpack
    from samba.samdb import SamDB

    lp = param.LoadParm()
    lp.load(smb_conf)
    db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
    domain_dn = db.domain_dn()

    def modify(dn, **attrs):
        m = ldb.Message()
        m.dn = ldb.Dn(db, str(dn))
        for k, v in attrs.items():
            m[k] = ldb.MessageElement(v, ldb.FLAG_MOD_REPLACE, k)
        db.modify(m)

    pol = plan["password_policy"]
    modify(domain_dn, pwdProperties="1" if pol["complexity"] else "0",
           minPwdLength=str(pol["min_length"]), minPwdAge="0",
           pwdHistoryLength=str(pol["history_length"]))

    ou_dn = "OU=%s,%s" % (plan["ou_name"], domain_dn)
    db.add({"dn": ou_dn, "objectClass": "organizationalUnit"})
    for acc in plan["accounts"]:
        if acc["role"] == "admin":
            continue  # made by provision, with the planned password
        sam = acc["sam_account_name"]
        filt = "(sAMAccountName=%s)" % ldb.binary_encode(sam)
        db.newuser(sam, None, useusernameascn=None if acc["given_name"] else True,
                   userou=("OU=%s" % plan["ou_name"]) if acc["in_ou"] else None,
                   givenname=acc["given_name"], surname=acc["surname"], setpassword=False)
        for pw in acc["passwords_in_set_order"]:
            db.setpassword(filt, pw)  # an administrative reset of unicodePwd
        if acc["must_change"]:
            db.force_password_change_at_next_login(filt)
        if acc["disabled"]:
            db.disable_account(filt)

    # Samba's DRS client over Kerberos asks for ldap/<fqdn>; samba_spnupdate (part of the
    # dnsupdate service, which we do not run) would normally add it.
    fqdn = "%s.%s" % (plan["hostname"], plan["dns_domain"])
    machine = db.search(base=domain_dn, expression="(sAMAccountName=%s$)" % plan["hostname"].upper(),
                        attrs=["servicePrincipalName"])[0]
    have = {str(v).lower() for v in machine.get("servicePrincipalName", [])}
    new = [s for s in ("ldap/%s" % fqdn, "ldap/%s/%s" % (fqdn, plan["dns_domain"])) if s.lower() not in have]
    if new:
        m = ldb.Message()
        m.dn = machine.dn
        m["servicePrincipalName"] = ldb.MessageElement(new, ldb.FLAG_MOD_ADD, "servicePrincipalName")
        db.modify(m)

    # What Samba stored, for every account we will look for in the captures.
    wanted = [(a["role"], a["sam_account_name"]) for a in plan["accounts"]]
    wanted += [("krbtgt", "krbtgt"), ("dc-machine", plan["hostname"].upper() + "$")]
    stored = {}
    for role, sam in wanted:
        r = db.search(base=domain_dn, expression="(sAMAccountName=%s)" % ldb.binary_encode(sam),
                      attrs=["objectGUID", "objectSid", "userAccountControl", "pwdLastSet",
                             "unicodePwd", "ntPwdHistory", "distinguishedName"])
        if len(r) != 1:
            raise SystemExit("populate: %d objects with sAMAccountName %r" % (len(r), sam))
        r = r[0]
        hist = bytes(r["ntPwdHistory"][0]) if "ntPwdHistory" in r else b""
        stored[sam] = {
            "role": role,
            "dn": str(r.dn),
            "object_guid": str(ndr_unpack(misc.GUID, r["objectGUID"][0])),
            "object_sid": str(ndr_unpack(security.dom_sid, r["objectSid"][0])),
            "user_account_control": int(r["userAccountControl"][0]),
            "pwd_last_set": int(r["pwdLastSet"][0]),
            "nt_hash": bytes(r["unicodePwd"][0]).hex() if "unicodePwd" in r else None,
            "nt_history": [hist[i:i + 16].hex() for i in range(0, len(hist), 16)],
        }

    # The server agrees with our MD4 before any client is involved.
    for acc in plan["accounts"]:
        s = stored[acc["sam_account_name"]]
        pws = acc["passwords_in_set_order"]
        want = nt_hash(pws[-1]) if pws else None
        want_hist = [nt_hash(p) for p in reversed(pws)][:pol["history_length"]]
        if s["nt_hash"] != want or s["nt_history"] != want_hist:
            raise SystemExit("populate: Samba stored %s / %s for %s (%s), MD4 of the password gives %s / %s"
                             % (s["nt_hash"], s["nt_history"], acc["sam_account_name"], acc["role"],
                                want, want_hist))

    dom = db.search(base=domain_dn, scope=ldb.SCOPE_BASE, attrs=["objectSid", "objectGUID"])[0]
    ntds = db.search(base=db.get_dsServiceName(), scope=ldb.SCOPE_BASE,
                     attrs=["objectGUID", "invocationId"])[0]
    return {
        "domain_dn": domain_dn,
        "domain_sid": str(ndr_unpack(security.dom_sid, dom["objectSid"][0])),
        "domain_guid": str(ndr_unpack(misc.GUID, dom["objectGUID"][0])),
        "ntds_dsa_guid": str(ndr_unpack(misc.GUID, ntds["objectGUID"][0])),
        "invocation_id": str(ndr_unpack(misc.GUID, ntds["invocationId"][0])),
        "accounts": stored,
    }


def main():
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "plan":
        write_json(args[2], build_plan(args[1]))
    elif len(args) == 4 and args[0] == "populate":
        write_json(args[3], populate(args[1], read_json(args[2])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
