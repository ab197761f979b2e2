#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# e2e: the demo story against a real OpenSSH sshd on loopback, driven by the
# real ssh client under expect (passwords, the MFA registration interrupt,
# TOTP codes, a temporary access pass: all over keyboard-interactive) and
# with a key (publickey: only the account stack runs), checked with riskctl
# and the store.  TOTP codes come from oathtool(1) (tools/demo/rr-totp), an
# implementation independent of the module's; nothing waits for the clock.
#
#   test_sshd.sh MODULE.so RISKCTL RR-SSH.EXP RR-TOTP [RISKD]
#
# With RISKD (test sshd-riskd), the whole story runs through a riskd the
# test starts, the PAM lines naming a copy of the module with no core
# library next to it: a call riskd did not serve would fail.  riskd must
# stop cleanly (exit 0, socket removed) at the end.
#
# Needs root (it creates a user, a PAM service and an sshd); exits 77 (skip)
# without root or without sshd/ssh/expect/python3/oathtool.  Everything it
# creates carries a random suffix and is removed on every exit path:
#   user rre2e-XXXXXXXX, /etc/pam.d/rr-e2e-sshd-XXXXXXXX, an sshd copy of that
#   name on a random port of 127.0.0.1, a scratch directory in /tmp (which
#   also holds the store and the MFA key file).
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh" || exit 1

RISKD=${5:-}
e2e_args "MODULE.so RISKCTL RR-SSH.EXP RR-TOTP" 4 "${@:1:4}"
require_clients "creates a user, /etc/pam.d service, sshd" \
	ssh ssh-keygen expect useradd userdel chpasswd oathtool

SUFFIX=$(random_suffix)
TUSER=rre2e-$SUFFIX
SERVICE=rr-e2e-sshd-$SUFFIX
PAMFILE=/etc/pam.d/$SERVICE
SCRATCH=$(mktemp -d /tmp/rr-e2e-sshd.XXXXXX) || exit 1
POLICY=$SCRATCH/policy.yaml
STORE=$SCRATCH/store/risk.db
KEYFILE=$SCRATCH/mfa/riskremediate.key
PASSWORD=$(newpw)
ISSUER="RR e2e"
ISSUER_ENC="RR%20e2e"
BLOCK_POLICY="Block high user risk"
MFA_POLICY="Sign-in risk requires MFA"
PORT=
N=0
USER_CREATED=0
SSHD_COPIES=("$SCRATCH/$SERVICE")
RISKD_PID=

# ---- cleanup: always, and only what this run created ------------------------

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	dump_logs "$rc" 40 "$SCRATCH/sshd.log"
	stop_our_sshds
	[ -n "$RISKD_PID" ] && kill "$RISKD_PID" 2>/dev/null
	[ "$USER_CREATED" = 1 ] && remove_user "$TUSER"
	rm -f "$PAMFILE"
	rm -rf "$SCRATCH"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers (the shared ones are in ../lib.sh) ------------------------------

# login [BIND-ADDRESS] [PASSWORD]: keyboard-interactive login under expect;
# the answers come from the environment of the call (see run_exp): the
# y/N offer (RR_SSH_SETUP; default n), TOTP codes, the access pass.  Sets
# OUT (client output) and RC.
login() {
	local bind=()
	[ -n "${1:-}" ] && bind=(-b "$1")
	ssh_kbd "$PORT" "$TUSER" "${2:-$PASSWORD}" "${bind[@]}"
}

# login_pk [BIND-ADDRESS]: public-key login (the auth stack does not run;
# the account stack does).  Sets OUT and RC.
login_pk() {
	local bind=()
	[ -n "${1:-}" ] && bind=(-b "$1")
	ssh_key "$PORT" "$TUSER" "$SCRATCH/clientkey" "${bind[@]}"
}

mfa_json() {
	rctl --json mfa status "$TUSER" >"$1" || fail "riskctl --json mfa status failed"
}

# qr_of_out IMAGE: the terminal QR code the client printed, as a PBM image
# (each character is two modules, one above the other; a full block is two
# light modules, as the quiet zone around the code shows).
qr_of_out() {
	"$PY" -c 'import sys
lines = sys.stdin.read().split("\n")
start = [i for i, l in enumerate(lines) if "Scan this QR code" in l][0] + 1
half = {"\u2588": (1, 1), "\u2580": (1, 0), "\u2584": (0, 1), " ": (0, 0)}
rows = []
for l in lines[start:]:
    if l.startswith("or enter this key"):
        break
    rows += [[half[c][0] for c in l], [half[c][1] for c in l]]
w, k = max(len(r) for r in rows), 8
with open(sys.argv[1], "w") as f:
    f.write("P1\n%d %d\n" % (w * k, len(rows) * k))
    for r in rows:
        r = r + [1] * (w - len(r))
        line = " ".join(" ".join(["0" if v else "1"] * k) for v in r)
        f.write((line + "\n") * k)' "$1" <<<"$OUT"
}

# wrong_code SECRET: a 6-digit code that no time step near now accepts.
wrong_code() {
	local now s c codes=" " w
	now=$(($(date +%s) / 30))
	for s in $((now - 2)) $((now - 1)) $now $((now + 1)) $((now + 2)); do
		c=$("$TOTP" --step "$s" "$1") || fail "rr-totp failed"
		codes+="$c "
	done
	for w in 000000 111111 222222 333333 444444 555555; do
		case $codes in *" $w "*) ;; *) echo "$w"; return 0 ;; esac
	done
	fail "no wrong code found"
}

# write_policy GRACE-DAYS: the scratch policy (independent of the sample's
# wording):
#  - every user but root must register an authenticator, with GRACE-DAYS
#    of grace; the MFA key file is in the scratch directory;
#  - unfamiliarFeatures learns from two successful sign-ins; after that a
#    sign-in from 127.0.0.1 is from a known network and one from 127.0.1.1
#    (another /24 on loopback) is unfamiliar;
#  - medium/high sign-in risk requires MFA;
#  - high user risk is blocked.
write_policy() {
	(
		umask 077
		cat >"$POLICY.new" <<EOF
version: 1
issuer: $ISSUER
store: { backend: sqlite, path: $STORE }
on_error: deny
named_locations:
  office: [10.0.0.0/8]
mfa_registration:
  state: enabled
  grace_days: $1
  users: { include: [all], exclude: [root] }
mfa:
  key_file: $KEYFILE
detections:
  unfamiliarFeatures: { level: medium, learning_days: 0, learning_signins: 2 }
  bruteForce: { level: high, failures: 10, window: 10m }
policies:
  - name: $MFA_POLICY
    state: enabled
    users: { include: [all] }
    conditions:
      signin_risk: [medium, high]
      locations: { include: [any], exclude: [office] }
    grant: { require: [mfa] }
  - name: $BLOCK_POLICY
    state: enabled
    users: { include: [all], exclude: [root] }
    conditions: { user_risk: [high] }
    grant: { block: true }
EOF
	)
	mv -f "$POLICY.new" "$POLICY" || fail "cannot write $POLICY"
	check_policy
}

# ---- set up ------------------------------------------------------------------

echo "# scratch $SCRATCH, user $TUSER, PAM service $PAMFILE"
# 0711: sshd reads authorized_keys with the user's identity, who must be
# able to reach it; everything secret in here is 0600 or in a 0700 directory.
chmod 0711 "$SCRATCH"
mkdir -m 0700 "$SCRATCH/mfa" || fail "mkdir"

add_user "$TUSER" "$PASSWORD" "rr e2e test (tests/e2e/sshd)"

write_policy 14

M=$MODULE P="policy=$POLICY"
if [ -n "$RISKD" ]; then
	mkdir -m 0700 "$SCRATCH/riskd" "$SCRATCH/mod" || fail "mkdir"
	cp "$MODULE" "$SCRATCH/mod/" || fail "cp module"
	"$RISKD" --socket "$SCRATCH/riskd/riskd.sock" 2>"$SCRATCH/riskd.log" &
	RISKD_PID=$!
	for _ in $(seq 200); do
		[ -S "$SCRATCH/riskd/riskd.sock" ] && break
		sleep 0.05
	done
	[ -S "$SCRATCH/riskd/riskd.sock" ] || fail "riskd did not start"
	M="$SCRATCH/mod/pam_riskremediate.so riskd=$SCRATCH/riskd/riskd.sock"
	echo "# riskd $RISKD (pid $RISKD_PID); the module copy has no core library"
fi
cat >"$PAMFILE" <<EOF
# tests/e2e/sshd: temporary PAM service, removed when the test ends
auth     [success=1 default=ignore]  pam_unix.so
auth     [default=die]               $M authfail $P
auth     required                    $M $P
account  required                    pam_unix.so
account  required                    $M $P
session  required                    pam_unix.so
EOF

prepare_sshd
ssh-keygen -q -t ed25519 -N '' -C rr-e2e-client -f "$SCRATCH/clientkey" || fail "ssh-keygen"
cp "$SCRATCH/clientkey.pub" "$SCRATCH/authorized_keys"
chmod 0644 "$SCRATCH/authorized_keys"

# An ASan/UBSan build of the module needs the sanitizer runtimes loaded
# first in the (uninstrumented) sshd.
sanitizer_env sshd

PORT=$(start_sshd "$SERVICE" "$SCRATCH/sshd.log" <<EOF
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
AuthorizedKeysFile $SCRATCH/authorized_keys
AllowUsers $TUSER
EOF
) || fail "sshd did not start (see its log)"
known_hosts "$PORT"
echo "# sshd $SCRATCH/$SERVICE on 127.0.0.1:$PORT"

# ---- the story ---------------------------------------------------------------

OFFER="Multifactor authentication is required by $ISSUER. You have 14 days left to set it up. Set up now? [y/N]"
STEPS1=$SCRATCH/steps-1   # time steps the first authenticator used (rr-totp)
STEPS2=$SCRATCH/steps-2   # ... and the second one, registered with a pass

begin "first sign-in: offered MFA registration (14 days of grace), skips with 'n'"
RR_SSH_SETUP=n login
login_ok "first login failed"
has "$OFFER" || fail "no registration offer '$OFFER'"
has "Set up multifactor authentication" && fail "registration ran although skipped"
signins_json "$SCRATCH/s1.json" --user "$TUSER"
expect_field "$SCRATCH/s1.json" 'len(d)' 1
expect_field "$SCRATCH/s1.json" 'd[0]["outcome"]' success
expect_field "$SCRATCH/s1.json" 'd[0]["decision"]' allow
expect_field "$SCRATCH/s1.json" 'd[0]["rhost"]' 127.0.0.1
expect_field "$SCRATCH/s1.json" 'd[0]["service"]' "$SERVICE"
expect_field "$SCRATCH/s1.json" 'd[0]["mfa"]' skipped
mfa_json "$SCRATCH/m1.json"
expect_field "$SCRATCH/m1.json" 'd["registered"]' False
expect_field "$SCRATCH/m1.json" 'd["registrationState"]' enabled
expect_field "$SCRATCH/m1.json" 'd["graceStartDateTime"] is not None' True
expect_field "$SCRATCH/m1.json" 'd["graceDaysLeft"]' 14
grace_start=$(json "$SCRATCH/m1.json" 'd["graceStartDateTime"]')
pass "LOGIN-OK, mfa skipped, grace started $grace_start"

begin "second sign-in from the same network: offered again (Enter skips), familiar, allowed"
RR_SSH_SETUP='' login
login_ok "second login failed"
has "$OFFER" || fail "no registration offer the second time"
signins_json "$SCRATCH/s2.json" --user "$TUSER"
expect_field "$SCRATCH/s2.json" 'len(d)' 2
expect_field "$SCRATCH/s2.json" 'sum(1 for s in d if s["outcome"] == "success")' 2
expect_field "$SCRATCH/s2.json" 'len(d[0]["detections"])' 0
expect_field "$SCRATCH/s2.json" 'd[0]["signInRiskLevel"]' none
expect_field "$SCRATCH/s2.json" 'd[0]["mfa"]' skipped
mfa_json "$SCRATCH/m2.json"
expect_field "$SCRATCH/m2.json" 'd["graceStartDateTime"]' "$grace_start"
pass "2 successful sign-ins, no detection, the grace clock did not restart"

begin "the admin ends the grace period: registration is required, over keyboard-interactive"
write_policy 0
# the first code typed is wrong, the second one right (rr-totp stands in for
# the phone app; RR_SSH_SECRET is the secret of the URI the client printed)
RR_SSH_CODE_CMD='if [ "$RR_SSH_TRY" = 1 ]; then echo 000000; else "$TOTP" "$RR_SSH_SECRET" "$STEPS1"; fi' \
	TOTP=$TOTP STEPS1=$STEPS1 login
login_ok "registration login failed"
has "Set up now?" && fail "offered a skip after the grace period"
SECRET1=$(secret_of_out)
[[ $SECRET1 =~ ^[A-Z2-7]{32}$ ]] || fail "no 32-character base32 secret in the otpauth URI: '$SECRET1'"
has "Set up multifactor authentication for $ISSUER." || fail "no registration heading"
has "Scan this QR code with your authenticator app:" || fail "no QR code introduction"
grouped=$(sed 's/.\{4\}/& /g; s/ $//' <<<"$SECRET1")
has "or enter this key by hand: $grouped" || fail "the key by hand is not '$grouped'"
has "(SHA1, 6 digits, every 30 seconds)" || fail "no parameters line"
uri="otpauth://totp/$ISSUER_ENC:$TUSER?secret=$SECRET1&issuer=$ISSUER_ENC&algorithm=SHA1&digits=6&period=30"
grep -qxF "$uri" <<<"$OUT" || fail "URI is not '$uri'"
[ "$(grep -c '█\|▀\|▄' <<<"$OUT")" -ge 20 ] || fail "no QR code drawn"
if command -v zbarimg >/dev/null; then
	qr_of_out "$SCRATCH/qr.pbm" || fail "cannot read the QR code the client printed"
	decoded=$(zbarimg -q --raw "$SCRATCH/qr.pbm" 2>/dev/null) || fail "zbarimg cannot decode the QR code"
	[ "$decoded" = "$uri" ] || fail "the QR code decodes to '$decoded', not the URI"
	qr_note=", QR code decodes (zbarimg) to the URI"
else
	qr_note=" (no zbarimg: QR code not decoded)"
fi
has "That code is not right. Try again." || fail "the wrong code was not refused"
has "Your authenticator app is registered." || fail "no registration confirmation"
[ -s "$STEPS1" ] || fail "rr-totp was never asked for the right code"
mfa_json "$SCRATCH/m3.json"
expect_field "$SCRATCH/m3.json" 'd["registered"]' True
expect_field "$SCRATCH/m3.json" 'd["algorithm"]' SHA1
expect_field "$SCRATCH/m3.json" 'd["digits"]' 6
expect_field "$SCRATCH/m3.json" 'd["period"]' 30
expect_field "$SCRATCH/m3.json" 'd["failures"]' 0
signins_json "$SCRATCH/s3.json" --user "$TUSER" --limit 1
expect_field "$SCRATCH/s3.json" 'd[0]["outcome"]' success
expect_field "$SCRATCH/s3.json" 'd[0]["mfa"]' registered
# the secret is sealed at rest: neither its bytes nor its base32 are in the
# store, and the key file is root's, 0600
"$PY" -c 'import base64, glob, sys
raw = base64.b32decode(sys.argv[1])
for f in glob.glob(sys.argv[2] + "*"):
    data = open(f, "rb").read()
    if raw in data or sys.argv[1].encode() in data:
        sys.exit("secret in clear in " + f)' "$SECRET1" "$STORE" || fail "the secret is stored in clear"
[ "$(stat -c '%u %a' "$KEYFILE")" = "0 600" ] || fail "key file $KEYFILE: $(stat -c '%u %a' "$KEYFILE")"
pass "registered with an oathtool code after one wrong code; secret sealed$qr_note"

begin "sign-in from an unfamiliar network (127.0.1.1): MFA says why; the right code passes"
RR_SSH_CODE_CMD='"$TOTP" "$SECRET1" "$STEPS1"' TOTP=$TOTP SECRET1=$SECRET1 STEPS1=$STEPS1 login 127.0.1.1
login_ok "the login with the right code failed"
has "Unusual sign-in from 127.0.1.1: new location for this account. Enter the code from your authenticator app:" ||
	fail "no MFA prompt with the reason"
has "not right" && fail "a code was refused"
has "Set up" && fail "registration offered again"
signins_json "$SCRATCH/s4.json" --user "$TUSER" --limit 1
expect_field "$SCRATCH/s4.json" 'd[0]["rhost"]' 127.0.1.1
expect_field "$SCRATCH/s4.json" 'd[0]["outcome"]' success
expect_field "$SCRATCH/s4.json" 'd[0]["decision"]' require
expect_field "$SCRATCH/s4.json" 'd[0]["mfa"]' passed
expect_field "$SCRATCH/s4.json" '[x["riskEventType"] for x in d[0]["detections"]]' '["unfamiliarFeatures"]'
expect_field "$SCRATCH/s4.json" '"'"$MFA_POLICY"'" in d[0]["appliedPolicies"]' True
ref4=$(json "$SCRATCH/s4.json" 'd[0]["ref"]')
rctl --json detections --user "$TUSER" >"$SCRATCH/d4.json" || fail "riskctl detections"
expect_field "$SCRATCH/d4.json" '[(x["riskEventType"], x["riskState"], x["riskDetail"]) for x in d if x["ref"] == "'"$ref4"'"]' \
	'[["unfamiliarFeatures", "remediated", "userPassedMFADrivenByRiskBasedPolicy"]]'
rctl --json status "$TUSER" >"$SCRATCH/st4.json" || fail "riskctl status"
expect_field "$SCRATCH/st4.json" 'd["riskLevel"]' none
pass "LOGIN-OK; sign-in $ref4 remediated (userPassedMFADrivenByRiskBasedPolicy)"

begin "127.0.1.1 is familiar now: the next sign-in from it needs no code"
login 127.0.1.1
login_ok "the login from the now familiar network failed (or asked for a code)"
signins_json "$SCRATCH/s5.json" --user "$TUSER" --limit 1
expect_field "$SCRATCH/s5.json" 'd[0]["decision"]' allow
expect_field "$SCRATCH/s5.json" 'len(d[0]["detections"])' 0
expect_field "$SCRATCH/s5.json" 'd[0]["mfa"]' None
pass "allowed, no detection, no MFA"

begin "the same code replayed from another new network (127.0.2.1) is refused"
replay=$("$TOTP" --step "$(cat "$STEPS1")" "$SECRET1") || fail "rr-totp"
RR_SSH_CODE=$replay login 127.0.2.1
login_refused "the replayed code was accepted"
has "Unusual sign-in from 127.0.2.1: new location for this account. Enter the code from your authenticator app:" ||
	fail "no MFA prompt"
[ "$(grep -cF "That code was already used. Wait for the next one." <<<"$OUT")" = 3 ] ||
	fail "expected 3 'That code was already used' messages"
ref_of "Sign-in denied: the code from your authenticator app was not accepted."
[ "$LINE" = "Sign-in denied: the code from your authenticator app was not accepted. Contact your IT help desk and quote reference $REF." ] ||
	fail "denial message differs: '$LINE'"
signins_json "$SCRATCH/s6.json" --ref "$REF"
expect_field "$SCRATCH/s6.json" 'd[0]["outcome"]' denied
expect_field "$SCRATCH/s6.json" 'd[0]["mfa"]' failed
expect_field "$SCRATCH/s6.json" 'd[0]["rhost"]' 127.0.2.1
rctl --json detections --user "$TUSER" >"$SCRATCH/d6.json" || fail "riskctl detections"
expect_field "$SCRATCH/d6.json" '[(x["riskEventType"], x["riskState"]) for x in d if x["ref"] == "'"$REF"'"]' \
	'[["unfamiliarFeatures", "atRisk"]]'
mfa_json "$SCRATCH/m6.json"
expect_field "$SCRATCH/m6.json" 'd["failures"]' 3
expect_field "$SCRATCH/m6.json" 'd["locked"]' False
pass "refused three times, denied with ref $REF; the detection stays atRisk"

begin "two more wrong codes (5 in 15 minutes) lock MFA"
RR_SSH_CODE=$(wrong_code "$SECRET1") login 127.0.2.1
login_refused "a wrong code was accepted"
[ "$(grep -c 'That code is not right\.$' <<<"$OUT")" = 1 ] || fail "expected one 'That code is not right.'"
ref_of "Sign-in denied: multifactor authentication is locked"
[ "$LINE" = "Sign-in denied: multifactor authentication is locked after too many wrong codes. Try again in 15 minutes. Contact your IT help desk and quote reference $REF." ] ||
	fail "lock message differs: '$LINE'"
signins_json "$SCRATCH/s7.json" --ref "$REF"
expect_field "$SCRATCH/s7.json" 'd[0]["mfa"]' locked
expect_field "$SCRATCH/s7.json" 'd[0]["outcome"]' denied
mfa_json "$SCRATCH/m7.json"
expect_field "$SCRATCH/m7.json" 'd["locked"]' True
# locked: even the right code is not asked for
login 127.0.2.1
login_refused "a locked user signed in"
has "Enter the code" && fail "asked for a code while locked"
has "Sign-in denied: multifactor authentication is locked after too many wrong codes." ||
	fail "no lock message the second time"
pass "locked after the fifth wrong code, ref $REF; not asked while locked"

begin "riskctl mfa reset: the authenticator is removed and the lock lifted"
rctl mfa reset "$TUSER" >/dev/null || fail "riskctl mfa reset"
mfa_json "$SCRATCH/m8.json"
expect_field "$SCRATCH/m8.json" 'd["registered"]' False
expect_field "$SCRATCH/m8.json" 'd["locked"]' False
expect_field "$SCRATCH/m8.json" 'd["failures"]' 0
pass "registered no, locked no"

begin "no authenticator and a risky sign-in (127.0.3.1): blocked, no registration during risk"
login 127.0.3.1
login_refused "an unregistered user passed a risky sign-in"
has "Set up multifactor authentication" && fail "registration offered during a risky sign-in"
ref_of "Sign-in blocked:"
[ "$LINE" = "Sign-in blocked: this sign-in is at medium risk (new location for this account) and no authenticator app is registered for your account; one cannot be registered during a risky sign-in. Contact your IT help desk and quote reference $REF." ] ||
	fail "message differs: '$LINE'"
signins_json "$SCRATCH/s9.json" --ref "$REF"
expect_field "$SCRATCH/s9.json" 'd[0]["outcome"]' blocked
expect_field "$SCRATCH/s9.json" 'd[0]["mfa"]' refused
pass "blocked with ref $REF, mfa refused"

begin "a temporary access pass from the help desk lets the user register during risk"
rctl --json tap issue "$TUSER" >"$SCRATCH/tap.json" || fail "riskctl tap issue"
tap=$(json "$SCRATCH/tap.json" 'd["pass"]')
RR_SSH_TAP=$tap RR_SSH_CODE_CMD='"$TOTP" "$RR_SSH_SECRET" "$STEPS2"' TOTP=$TOTP STEPS2=$STEPS2 login 127.0.3.1
login_ok "registration with the access pass failed"
has "Enter the temporary access pass from your IT help desk:" || fail "no access pass prompt"
has "Your authenticator app is registered." || fail "not registered"
SECRET2=$(secret_of_out)
[[ $SECRET2 =~ ^[A-Z2-7]{32}$ ]] && [ "$SECRET2" != "$SECRET1" ] || fail "no new secret: '$SECRET2'"
mfa_json "$SCRATCH/m10.json"
expect_field "$SCRATCH/m10.json" 'd["registered"]' True
expect_field "$SCRATCH/m10.json" 'd["temporaryAccessPassPending"]' False
signins_json "$SCRATCH/s10.json" --user "$TUSER" --limit 1
expect_field "$SCRATCH/s10.json" 'd[0]["outcome"]' success
expect_field "$SCRATCH/s10.json" 'd[0]["mfa"]' registered
# single use: the pass is gone, and the old authenticator's codes are dead
RR_SSH_TAP=$tap RR_SSH_CODE=$("$TOTP" "$SECRET1") login 127.0.5.1
login_refused "the old authenticator's code was accepted"
has "Enter the temporary access pass" && fail "the access pass was asked for again"
has "Sign-in denied: the code from your authenticator app was not accepted." ||
	fail "the old authenticator's code was not refused"
pass "registered a new authenticator with the pass (used once)"

begin "wrong password: refused, nothing allowed, the failure is recorded"
before=$(rctl --json signins --user "$TUSER" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
login "" "not-the-password-$SUFFIX"
login_refused "a wrong password was accepted"
has "Sign-in blocked" && fail "a wrong password produced a risk message"
has "Enter the code" && fail "a wrong password led to an MFA prompt"
signins_json "$SCRATCH/s11.json" --user "$TUSER"
expect_field "$SCRATCH/s11.json" 'len(d)' "$before"
failures=$("$PY" -c 'import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(c.execute("SELECT count(*) FROM failures WHERE user = ?", (sys.argv[2],)).fetchone()[0])' \
	"$STORE" "$TUSER") || fail "cannot read the failures table of the store"
[ "$failures" = 1 ] || fail "expected 1 recorded failure (authfail), store has $failures"
pass "refused; no new sign-in; 1 failed attempt in the store"

begin "admin confirms the user compromised: user risk high"
rctl confirm-compromised "$TUSER" >/dev/null || fail "riskctl confirm-compromised"
rctl --json status "$TUSER" >"$SCRATCH/st1.json" || fail "riskctl status"
expect_field "$SCRATCH/st1.json" 'd["riskLevel"]' high
expect_field "$SCRATCH/st1.json" 'd["riskState"]' confirmedCompromised
pass "riskLevel high, confirmedCompromised"

begin "sign-in with the right password is blocked (before any MFA), with a reference"
login
login_refused "the blocked login succeeded"
has "Enter the code" && fail "a blocked user was asked for a code"
ref_of "Sign-in blocked:"
[ "$LINE" = "Sign-in blocked: your account is at high risk. Contact your IT help desk and quote reference $REF." ] ||
	fail "block message differs: '$LINE'"
has 'Permission denied' || fail "ssh did not report Permission denied"
ref=$REF
pass "exact block message, ref $ref"

begin "riskctl signins --ref $ref explains the block"
signins_json "$SCRATCH/s12.json" --ref "$ref"
expect_field "$SCRATCH/s12.json" 'len(d)' 1
expect_field "$SCRATCH/s12.json" 'd[0]["ref"]' "$ref"
expect_field "$SCRATCH/s12.json" 'd[0]["user"]' "$TUSER"
expect_field "$SCRATCH/s12.json" 'd[0]["outcome"]' blocked
expect_field "$SCRATCH/s12.json" 'd[0]["decision"]' block
expect_field "$SCRATCH/s12.json" 'd[0]["userRiskLevel"]' high
expect_field "$SCRATCH/s12.json" '"'"$BLOCK_POLICY"'" in d[0]["appliedPolicies"]' True
rctl signins --ref "$ref" >"$SCRATCH/s12.txt" || fail "riskctl signins --ref (text)"
grep -qF "$BLOCK_POLICY" "$SCRATCH/s12.txt" || fail "text output lacks the policy name"
grep -qE '^mfa: +-$' "$SCRATCH/s12.txt" || fail "text output lacks 'mfa: -'"
pass "blocked / block / user risk high / \"$BLOCK_POLICY\""

begin "admin unblocks; the next sign-in succeeds without a code"
rctl unblock "$TUSER" >/dev/null || fail "riskctl unblock"
rctl --json status "$TUSER" >"$SCRATCH/st2.json" || fail "riskctl status"
expect_field "$SCRATCH/st2.json" 'd["riskState"]' dismissed
expect_field "$SCRATCH/st2.json" 'd["riskDetail"]' adminDismissedAllRiskForUser
login
login_ok "login after unblock failed"
signins_json "$SCRATCH/s13.json" --user "$TUSER" --limit 1
expect_field "$SCRATCH/s13.json" 'd[0]["outcome"]' success
pass "LOGIN-OK after unblock"

begin "the audit log has every admin action for the user"
rctl --json audit >"$SCRATCH/audit.json" || fail "riskctl audit"
expect_field "$SCRATCH/audit.json" '[a["action"] for a in sorted(d, key=lambda a: a["id"]) if a["target"] == "'"$TUSER"'"]' \
	'["mfa-reset", "tap-issue", "confirm-compromised", "unblock"]'
pass "mfa-reset, tap-issue, confirm-compromised, unblock audited"

begin "public-key login (account stack only) is allowed and recorded once"
before=$(rctl --json signins --user "$TUSER" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
login_pk
login_ok "public-key login failed"
signins_json "$SCRATCH/s14.json" --user "$TUSER"
expect_field "$SCRATCH/s14.json" 'len(d)' $((before + 1))
expect_field "$SCRATCH/s14.json" 'd[0]["outcome"]' success
pass "LOGIN-OK with a key, one sign-in recorded"

begin "public-key login of a high-risk user is blocked by the account stack"
rctl confirm-compromised "$TUSER" >/dev/null || fail "riskctl confirm-compromised"
login_pk
login_refused "the blocked public-key login succeeded"
ref_of "Sign-in blocked:"
[ "$LINE" = "Sign-in blocked: your account is at high risk. Contact your IT help desk and quote reference $REF." ] ||
	fail "block message differs: '$LINE'"
signins_json "$SCRATCH/s15.json" --ref "$REF"
expect_field "$SCRATCH/s15.json" 'd[0]["outcome"]' blocked
rctl unblock "$TUSER" >/dev/null || fail "riskctl unblock"
pass "blocked with the same message, ref $REF"

begin "public-key login from a new network (127.0.4.1) needs MFA, which the account stack cannot ask: denied"
login_pk 127.0.4.1
login_refused "a risky public-key login passed without MFA"
ref_of "Sign-in denied:"
[ "$LINE" = "Sign-in denied: this sign-in is at medium risk (new location for this account), and policy requires multifactor authentication, which this login method cannot ask for. Sign in with a password or keyboard-interactive method. Contact your IT help desk and quote reference $REF." ] ||
	fail "message differs: '$LINE'"
signins_json "$SCRATCH/s16.json" --ref "$REF"
expect_field "$SCRATCH/s16.json" 'd[0]["outcome"]' denied
expect_field "$SCRATCH/s16.json" 'd[0]["rhost"]' 127.0.4.1
pass "denied with ref $REF"

begin "public-key login of a user who must register (grace over, no authenticator): denied"
rctl mfa reset "$TUSER" >/dev/null || fail "riskctl mfa reset"
login_pk
login_refused "an unregistered user past the grace period passed with a key"
ref_of "Sign-in denied:"
[ "$LINE" = "Sign-in denied: you must register an authenticator app, which this login method cannot do. Sign in once with a password or keyboard-interactive method to set it up. Contact your IT help desk and quote reference $REF." ] ||
	fail "message differs: '$LINE'"
signins_json "$SCRATCH/s17.json" --ref "$REF"
expect_field "$SCRATCH/s17.json" 'd[0]["mfa"]' registration-needed
pass "denied with ref $REF, mfa registration-needed"

if [ -n "$RISKD" ]; then
	begin "riskd stops cleanly"
	kill -TERM "$RISKD_PID"
	wait "$RISKD_PID"
	rc=$?
	RISKD_PID=
	[ "$rc" = 0 ] || { cat "$SCRATCH/riskd.log"; fail "riskd exited $rc"; }
	[ -e "$SCRATCH/riskd/riskd.sock" ] && fail "riskd left its socket"
	pass "riskd exited 0 and removed its socket"
fi
finish "from sshd"
