#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# e2e: the demo story against a real OpenSSH sshd on loopback, driven by the
# real ssh client under expect (passwords, keyboard-interactive) and with a
# key (publickey: only the account stack runs), checked with riskctl and the
# store.
#
#   test_sshd.sh MODULE.so RISKCTL RR-SSH.EXP
#
# Needs root (it creates a user, a PAM service and an sshd); exits 77 (skip)
# without root or without sshd/ssh/expect/python3.  Everything it creates
# carries a random suffix and is removed on every exit path:
#   user rre2e-XXXXXXXX, /etc/pam.d/rr-e2e-sshd-XXXXXXXX, an sshd copy of that
#   name on a random port of 127.0.0.1, a scratch directory in /tmp.
set -uo pipefail

if [ $# -ne 3 ]; then
	echo "usage: $0 MODULE.so RISKCTL RR-SSH.EXP" >&2
	exit 2
fi
MODULE=$(readlink -f "$1")
RISKCTL=$(readlink -f "$2")
EXP=$(readlink -f "$3")

skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (creates a user, /etc/pam.d service, sshd)"
[ -x /usr/sbin/sshd ] || skip "no /usr/sbin/sshd (apt-get install openssh-server)"
for t in ssh ssh-keygen expect useradd userdel chpasswd; do
	command -v "$t" >/dev/null || skip "no $t"
done
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || skip "no python3"
case $MODULE in *[[:space:]]*) skip "module path has white space: $MODULE" ;; esac

SUFFIX=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
TUSER=rre2e-$SUFFIX
SERVICE=rr-e2e-sshd-$SUFFIX
PAMFILE=/etc/pam.d/$SERVICE
SCRATCH=$(mktemp -d /tmp/rr-e2e-sshd.XXXXXX) || exit 1
POLICY=$SCRATCH/policy.yaml
STORE=$SCRATCH/store/risk.db
PASSWORD=$(head -c 15 /dev/urandom | base64 | tr '+/' '.-')
BLOCK_POLICY="Block high user risk"
MFA_POLICY="Sign-in risk requires MFA"
PORT=
N=0
USER_CREATED=0

# ---- cleanup: always, and only what this run created ------------------------

our_sshd_pids() {
	local p e
	for p in /proc/[0-9]*; do
		e=$(readlink "$p/exe" 2>/dev/null) || continue
		[ "${e% (deleted)}" = "$SCRATCH/$SERVICE" ] && echo "${p#/proc/}"
	done
	return 0
}

cleanup() {
	local rc=$? p i
	trap - EXIT INT TERM
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -r "$SCRATCH/sshd.log" ]; then
		echo "---- sshd log ($SCRATCH/sshd.log), last lines"
		tail -n 40 "$SCRATCH/sshd.log"
	fi
	for p in $(our_sshd_pids); do kill "$p" 2>/dev/null; done
	for i in $(seq 50); do
		[ -z "$(our_sshd_pids)" ] && break
		sleep 0.1
	done
	for p in $(our_sshd_pids); do kill -KILL "$p" 2>/dev/null; done
	if [ "$USER_CREATED" = 1 ]; then
		for p in $(ps -o pid= -u "$TUSER" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		userdel "$TUSER" >/dev/null 2>&1 || userdel -f "$TUSER" >/dev/null 2>&1
		getent passwd "$TUSER" >/dev/null && echo "cleanup: could not remove user $TUSER" >&2
	fi
	rm -f "$PAMFILE"
	rm -rf "$SCRATCH"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers -----------------------------------------------------------------

fail() {
	echo "not ok $N - $*"
	exit 1
}
pass() { echo "ok $N - $*"; }
begin() { N=$((N + 1)); echo "# $N: $*"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

rctl() { "$RISKCTL" --policy "$POLICY" "$@"; }

# json FILE PYTHON-EXPR: print the expression over the parsed JSON `d`.
json() {
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if not isinstance(v, (list, dict)) else json.dumps(v))' "$1" "$2"
}

# login [BIND-ADDRESS] [PASSWORD]: sets OUT (client output) and RC.
login() {
	local bind=() pw=${2:-$PASSWORD}
	[ -n "${1:-}" ] && bind=(-b "$1")
	RC=0
	OUT=$(RR_SSH_PASSWORD=$pw RR_SSH_TIMEOUT=60 expect -f "$EXP" \
		ssh -F /dev/null -p "$PORT" "${bind[@]}" \
		-o UserKnownHostsFile="$SCRATCH/known_hosts" \
		-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \
		-o PreferredAuthentications=keyboard-interactive \
		-o PubkeyAuthentication=no -o PasswordAuthentication=no \
		-o NumberOfPasswordPrompts=1 -o ConnectTimeout=20 \
		"$TUSER@127.0.0.1" 'echo LOGIN-OK' 2>&1) || RC=$?
	OUT=$(printf '%s\n' "$OUT" | tr -d '\r')
	printf '%s\n' "$OUT" | sed 's/^/  | /'
	echo "  (ssh exit status $RC)"
}

# login_pk: public-key login (the auth stack does not run; the account
# stack does).  Sets OUT and RC.
login_pk() {
	RC=0
	OUT=$(timeout 60 ssh -F /dev/null -p "$PORT" -i "$SCRATCH/clientkey" \
		-o UserKnownHostsFile="$SCRATCH/known_hosts" \
		-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \
		-o PreferredAuthentications=publickey -o BatchMode=yes \
		-o IdentitiesOnly=yes -o ConnectTimeout=20 \
		"$TUSER@127.0.0.1" 'echo LOGIN-OK' 2>&1 </dev/null) || RC=$?
	OUT=$(printf '%s\n' "$OUT" | tr -d '\r')
	printf '%s\n' "$OUT" | sed 's/^/  | /'
	echo "  (ssh exit status $RC)"
}

# signins_json OUTFILE [riskctl signins options...]
signins_json() {
	local out=$1
	shift
	rctl --json signins "$@" >"$out" || fail "riskctl --json signins $* failed"
}

# ---- set up ------------------------------------------------------------------

echo "# scratch $SCRATCH, user $TUSER, PAM service $PAMFILE"
# 0711: sshd reads authorized_keys with the user's identity, who must be
# able to reach it; everything secret in here is 0600 or in a 0700 directory.
chmod 0711 "$SCRATCH"

useradd -M -d / -s /bin/sh -c "rr e2e test (tests/e2e/sshd)" "$TUSER" ||
	fail "useradd $TUSER"
USER_CREATED=1
printf '%s:%s\n' "$TUSER" "$PASSWORD" | chpasswd || fail "chpasswd"

# A policy of its own (independent of the sample's wording):
#  - unfamiliarFeatures learns after one successful sign-in, so the second
#    sign-in from 127.0.0.1 is checked against a known network (familiar)
#    and one from 127.0.1.1 (another /24 on loopback) is unfamiliar;
#  - medium/high sign-in risk requires MFA, which this version denies;
#  - high user risk is blocked.
umask 077
cat >"$POLICY" <<EOF
version: 1
issuer: rr-e2e
store: { backend: sqlite, path: $STORE }
on_error: deny
named_locations:
  office: [10.0.0.0/8]
detections:
  unfamiliarFeatures: { level: medium, learning_days: 0, learning_signins: 1 }
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
umask 022
rctl policy check >"$SCRATCH/check.out" 2>&1 || {
	cat "$SCRATCH/check.out"
	fail "riskctl policy check rejects the test policy"
}

M=$MODULE P="policy=$POLICY"
cat >"$PAMFILE" <<EOF
# tests/e2e/sshd: temporary PAM service, removed when the test ends
auth     [success=1 default=ignore]  pam_unix.so
auth     [default=die]               $M authfail $P
auth     required                    $M $P
account  required                    pam_unix.so
account  required                    $M $P
session  required                    pam_unix.so
EOF

mkdir -p /run/sshd
chmod 0755 /run/sshd
cp /usr/sbin/sshd "$SCRATCH/$SERVICE"
ssh-keygen -q -t ed25519 -N '' -C rr-e2e -f "$SCRATCH/hostkey" || fail "ssh-keygen"
ssh-keygen -q -t ed25519 -N '' -C rr-e2e-client -f "$SCRATCH/clientkey" || fail "ssh-keygen"
cp "$SCRATCH/clientkey.pub" "$SCRATCH/authorized_keys"
chmod 0644 "$SCRATCH/authorized_keys"

# An ASan/UBSan build of the module needs the sanitizer runtimes loaded
# first in the (uninstrumented) sshd.
SSHD_ENV=()
preload=$(ldd "$MODULE" 2>/dev/null | awk '/lib(asan|ubsan)\.so/ { print $3 }' | tr '\n' ':')
if [ -n "$preload" ]; then
	preload=${preload%:}
	echo "# sanitizer build: LD_PRELOAD=$preload for sshd"
	SSHD_ENV=(LD_PRELOAD="$preload"
		ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:log_path=$SCRATCH/asan"
		UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$SCRATCH/ubsan")
fi

start_sshd() {
	local try i
	for try in 1 2 3 4 5; do
		PORT=$((20000 + RANDOM % 40000))
		port_in_use "$PORT" && continue
		cat >"$SCRATCH/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $SCRATCH/hostkey
PidFile $SCRATCH/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $SCRATCH/authorized_keys
# the scratch directory is under /tmp (mode 1777), which StrictModes refuses
StrictModes no
PermitRootLogin no
AllowUsers $TUSER
PrintMotd no
X11Forwarding no
AllowTcpForwarding no
MaxStartups 100
LogLevel VERBOSE
EOF
		printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$SCRATCH/hostkey.pub")" \
			>"$SCRATCH/known_hosts"
		env "${SSHD_ENV[@]}" "$SCRATCH/$SERVICE" -f "$SCRATCH/sshd_config" \
			-E "$SCRATCH/sshd.log" || continue
		for i in $(seq 100); do
			port_in_use "$PORT" && return 0
			sleep 0.1
		done
		for p in $(our_sshd_pids); do kill "$p" 2>/dev/null; done
	done
	fail "sshd did not start (see its log)"
}
start_sshd
echo "# sshd $SCRATCH/$SERVICE on 127.0.0.1:$PORT"

# ---- the story ---------------------------------------------------------------

begin "first sign-in with the right password succeeds"
login
[ "$RC" = 0 ] || fail "ssh exit status $RC"
grep -qx LOGIN-OK <<<"$OUT" || fail "no LOGIN-OK"
signins_json "$SCRATCH/s1.json" --user "$TUSER"
[ "$(json "$SCRATCH/s1.json" 'len(d)')" = 1 ] || fail "expected 1 sign-in: $(cat "$SCRATCH/s1.json")"
[ "$(json "$SCRATCH/s1.json" 'd[0]["outcome"]')" = success ] || fail "outcome not success"
[ "$(json "$SCRATCH/s1.json" 'd[0]["decision"]')" = allow ] || fail "decision not allow"
[ "$(json "$SCRATCH/s1.json" 'd[0]["rhost"]')" = 127.0.0.1 ] || fail "rhost not 127.0.0.1"
[ "$(json "$SCRATCH/s1.json" 'd[0]["service"]')" = "$SERVICE" ] || fail "service not $SERVICE"
pass "LOGIN-OK, recorded as allow/success from 127.0.0.1"

begin "second sign-in from the same loopback network: counted, familiar, allowed"
login
[ "$RC" = 0 ] && grep -qx LOGIN-OK <<<"$OUT" || fail "second login failed"
signins_json "$SCRATCH/s2.json" --user "$TUSER"
[ "$(json "$SCRATCH/s2.json" 'len(d)')" = 2 ] || fail "expected 2 sign-ins: $(cat "$SCRATCH/s2.json")"
[ "$(json "$SCRATCH/s2.json" 'sum(1 for s in d if s["outcome"] == "success")')" = 2 ] ||
	fail "expected 2 successful sign-ins"
[ "$(json "$SCRATCH/s2.json" 'len(d[0]["detections"])')" = 0 ] ||
	fail "a familiar network raised a detection: $(cat "$SCRATCH/s2.json")"
[ "$(json "$SCRATCH/s2.json" 'd[0]["signInRiskLevel"]')" = none ] || fail "sign-in risk not none"
pass "2 successful sign-ins recorded, no detection on the second"

begin "sign-in from an unfamiliar network (127.0.1.1) needs MFA: denied with a message"
login 127.0.1.1
[ "$RC" != 0 ] || fail "the login should have been denied"
grep -q LOGIN-OK <<<"$OUT" && fail "the denied login ran the command"
grep -qF "Sign-in denied: this sign-in is at medium risk (new location for this account), and policy requires multifactor authentication" <<<"$OUT" ||
	fail "no MFA-required denial message"
ref_mfa=$(sed -n 's/.*quote reference \([0-9A-F]\{4\}-[0-9A-F]\{4\}\)\..*/\1/p' <<<"$OUT" | head -n1)
[ -n "$ref_mfa" ] || fail "no reference in the denial"
signins_json "$SCRATCH/s3.json" --ref "$ref_mfa"
[ "$(json "$SCRATCH/s3.json" 'd[0]["outcome"]')" = denied ] || fail "outcome not denied"
[ "$(json "$SCRATCH/s3.json" 'd[0]["decision"]')" = require ] || fail "decision not require"
[ "$(json "$SCRATCH/s3.json" 'd[0]["rhost"]')" = 127.0.1.1 ] || fail "rhost not 127.0.1.1"
[ "$(json "$SCRATCH/s3.json" '[x["riskEventType"] for x in d[0]["detections"]] == ["unfamiliarFeatures"]')" = True ] ||
	fail "expected one unfamiliarFeatures detection: $(cat "$SCRATCH/s3.json")"
[ "$(json "$SCRATCH/s3.json" '"'"$MFA_POLICY"'" in d[0]["appliedPolicies"]')" = True ] ||
	fail "the MFA policy is not listed as applied"
pass "denied (MFA not available in this version), ref $ref_mfa, unfamiliarFeatures"

begin "wrong password: refused, nothing allowed, the failure is recorded"
before=$(rctl --json signins --user "$TUSER" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
login "" "not-the-password-$SUFFIX"
[ "$RC" != 0 ] || fail "a wrong password was accepted"
grep -q LOGIN-OK <<<"$OUT" && fail "the command ran with a wrong password"
grep -q "Sign-in blocked" <<<"$OUT" && fail "a wrong password produced a risk message"
signins_json "$SCRATCH/s4.json" --user "$TUSER"
[ "$(json "$SCRATCH/s4.json" 'len(d)')" = "$before" ] ||
	fail "a failed password created a sign-in record: $(cat "$SCRATCH/s4.json")"
[ "$(json "$SCRATCH/s4.json" 'sum(1 for s in d if s["outcome"] == "success")')" = 2 ] ||
	fail "the number of successful sign-ins changed"
failures=$("$PY" -c 'import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(c.execute("SELECT count(*) FROM failures WHERE user = ?", (sys.argv[2],)).fetchone()[0])' \
	"$STORE" "$TUSER") || fail "cannot read the failures table of the store"
[ "$failures" = 1 ] || fail "expected 1 recorded failure (authfail), store has $failures"
pass "refused; no new sign-in; 1 failed attempt in the store"

begin "admin confirms the user compromised: user risk high"
rctl confirm-compromised "$TUSER" >/dev/null || fail "riskctl confirm-compromised"
rctl --json status "$TUSER" >"$SCRATCH/st1.json" || fail "riskctl status"
[ "$(json "$SCRATCH/st1.json" 'd["riskLevel"]')" = high ] || fail "risk level not high: $(cat "$SCRATCH/st1.json")"
[ "$(json "$SCRATCH/st1.json" 'd["riskState"]')" = confirmedCompromised ] || fail "state not confirmedCompromised"
pass "riskLevel high, confirmedCompromised"

begin "sign-in with the right password is blocked, with a reference"
login
[ "$RC" != 0 ] || fail "the blocked login succeeded"
grep -q LOGIN-OK <<<"$OUT" && fail "the blocked login ran the command"
line=$(grep -F 'Sign-in blocked:' <<<"$OUT" | head -n1)
ref=${line##* reference }
ref=${ref%.}
[[ $ref =~ ^[0-9A-F]{4}-[0-9A-F]{4}$ ]] || fail "reference '$ref' is not XXXX-XXXX"
[ "$line" = "Sign-in blocked: your account is at high risk. Contact your IT help desk and quote reference $ref." ] ||
	fail "block message differs: '$line'"
grep -q 'Permission denied' <<<"$OUT" || fail "ssh did not report Permission denied"
pass "exact block message, ref $ref"

begin "riskctl signins --ref $ref explains the block"
signins_json "$SCRATCH/s5.json" --ref "$ref"
[ "$(json "$SCRATCH/s5.json" 'len(d)')" = 1 ] || fail "expected one sign-in for $ref"
[ "$(json "$SCRATCH/s5.json" 'd[0]["ref"]')" = "$ref" ] || fail "wrong ref"
[ "$(json "$SCRATCH/s5.json" 'd[0]["user"]')" = "$TUSER" ] || fail "wrong user"
[ "$(json "$SCRATCH/s5.json" 'd[0]["outcome"]')" = blocked ] || fail "outcome not blocked"
[ "$(json "$SCRATCH/s5.json" 'd[0]["decision"]')" = block ] || fail "decision not block"
[ "$(json "$SCRATCH/s5.json" 'd[0]["userRiskLevel"]')" = high ] || fail "user risk not high"
[ "$(json "$SCRATCH/s5.json" '"'"$BLOCK_POLICY"'" in d[0]["appliedPolicies"]')" = True ] ||
	fail "blocking policy not named: $(cat "$SCRATCH/s5.json")"
rctl signins --ref "$ref" >"$SCRATCH/s5.txt" || fail "riskctl signins --ref (text)"
grep -qF "$BLOCK_POLICY" "$SCRATCH/s5.txt" || fail "text output lacks the policy name"
pass "blocked / block / user risk high / \"$BLOCK_POLICY\""

begin "admin unblocks; the next sign-in succeeds"
rctl unblock "$TUSER" >/dev/null || fail "riskctl unblock"
rctl --json status "$TUSER" >"$SCRATCH/st2.json" || fail "riskctl status"
[ "$(json "$SCRATCH/st2.json" 'd["riskState"]')" = dismissed ] || fail "state not dismissed"
[ "$(json "$SCRATCH/st2.json" 'd["riskDetail"]')" = adminDismissedAllRiskForUser ] || fail "wrong detail"
login
[ "$RC" = 0 ] && grep -qx LOGIN-OK <<<"$OUT" || fail "login after unblock failed"
signins_json "$SCRATCH/s6.json" --user "$TUSER" --limit 1
[ "$(json "$SCRATCH/s6.json" 'd[0]["outcome"]')" = success ] || fail "last sign-in not success"
pass "LOGIN-OK after unblock"

begin "the audit log has both admin actions for the user"
rctl --json audit >"$SCRATCH/audit.json" || fail "riskctl audit"
[ "$(json "$SCRATCH/audit.json" 'sorted(a["action"] for a in d if a["target"] == "'"$TUSER"'")')" = '["confirm-compromised", "unblock"]' ] ||
	fail "audit: $(cat "$SCRATCH/audit.json")"
pass "confirm-compromised and unblock audited"

begin "public-key login (account stack only) is allowed and recorded once"
before=$(rctl --json signins --user "$TUSER" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
login_pk
[ "$RC" = 0 ] && grep -qx LOGIN-OK <<<"$OUT" || fail "public-key login failed"
signins_json "$SCRATCH/s7.json" --user "$TUSER"
[ "$(json "$SCRATCH/s7.json" 'len(d)')" = $((before + 1)) ] || fail "expected exactly one new sign-in"
[ "$(json "$SCRATCH/s7.json" 'd[0]["outcome"]')" = success ] || fail "not recorded as success"
pass "LOGIN-OK with a key, one sign-in recorded"

begin "public-key login of a high-risk user is blocked by the account stack"
rctl confirm-compromised "$TUSER" >/dev/null || fail "riskctl confirm-compromised"
login_pk
[ "$RC" != 0 ] || fail "the blocked public-key login succeeded"
grep -q LOGIN-OK <<<"$OUT" && fail "the blocked login ran the command"
line=$(grep -F 'Sign-in blocked:' <<<"$OUT" | head -n1)
ref=${line##* reference }
ref=${ref%.}
[[ $ref =~ ^[0-9A-F]{4}-[0-9A-F]{4}$ ]] || fail "no reference shown (sshd sends account messages as a banner): $OUT"
[ "$line" = "Sign-in blocked: your account is at high risk. Contact your IT help desk and quote reference $ref." ] ||
	fail "block message differs: '$line'"
signins_json "$SCRATCH/s8.json" --ref "$ref"
[ "$(json "$SCRATCH/s8.json" 'd[0]["outcome"]')" = blocked ] || fail "outcome not blocked"
rctl unblock "$TUSER" >/dev/null || fail "riskctl unblock"
pass "blocked with the same message, ref $ref"

if ls "$SCRATCH"/asan* "$SCRATCH"/ubsan* >/dev/null 2>&1; then
	cat "$SCRATCH"/asan* "$SCRATCH"/ubsan* 2>/dev/null
	N=$((N + 1))
	fail "sanitizer reports from sshd (above)"
fi
echo "# all $N steps passed"
exit 0
