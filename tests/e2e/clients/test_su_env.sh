#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The real set-user-ID su(1) with a hostile caller's environment and the
# leakedCredentials range API set in the policy.  An unprivileged user
# (setpriv) runs `su - TARGET` with the shipped conf/pam.d/su stack (the
# module in su's process: riskd=off), and with SSLKEYLOGFILE naming a file
# under /etc, https_proxy/HTTPS_PROXY/ALL_PROXY/http_proxy naming a proxy
# that records every connection, CURL_CA_BUNDLE, HOME, TMPDIR and
# SQLITE_TMPDIR naming what the caller owns.  The policy's range_url is a
# local HTTPS range server that records every request and lists the
# target's password as leaked.  Asserted: the switch succeeds; no request
# reached the range server, no connection reached the proxy, no key log
# file exists, and root created nothing in the caller's directories.
#
# Run by tests/unit/leak/range_server.py, which serves the range API and
# the proxy and passes them in RR_LEAK_* variables:
#
#   range_server.py bash test_su_env.sh MODULE.so RISKCTL RR-SSH.EXP \
#       RR-TOTP CONF-DIR
#
# Needs root; exits 77 (skip) without root or the clients.  Like
# test_clients.sh it REPLACES /etc/pam.d/su while it runs, with the same
# backup directory (/var/lib/rr-e2e-clients.backup/, so that a crashed run
# of either stops both) and the same restore on every exit path.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh" || exit 1

e2e_args "MODULE.so RISKCTL RR-SSH.EXP RR-TOTP CONF-DIR" 5 "$@"
CONF=$(readlink -f "$5")
require_clients "creates users, replaces /etc/pam.d/su" \
	expect useradd userdel chpasswd su setpriv
[ -r "$CONF/pam.d/su" ] || { echo "no $CONF/pam.d/su" >&2; exit 1; }
for v in RR_LEAK_BASE RR_LEAK_CA RR_LEAK_LOG RR_LEAK_PROXY \
	RR_LEAK_PROXY_LOG RR_LEAK_PW_LEAKED; do
	[ -n "${!v:-}" ] || { echo "$v is not set: run this through range_server.py" >&2; exit 2; }
done

BACKUP=/var/lib/rr-e2e-clients.backup
pam_backup_absent "$BACKUP" || exit 1

SUFFIX=$(random_suffix)
UT=rrct-$SUFFIX   # the target of su; its password is in the range
UC=rrcc-$SUFFIX   # the unprivileged caller
SCRATCH=$(mktemp -d /tmp/rr-e2e-suenv.XXXXXX) || exit 1
POLICY=$SCRATCH/policy.yaml
STORE=$SCRATCH/store/risk.db
CALLER=$SCRATCH/caller          # the caller's own directory
KEYLOG=/etc/rr-e2e-keylog-$SUFFIX
N=0
CREATED_USERS=()
INSTALLED=()

restore_su() {
	[ ${#INSTALLED[@]} -gt 0 ] || return 0
	INSTALLED=()
	if cp -p "$BACKUP/su" /etc/pam.d/.su.rr-restore &&
		mv -f /etc/pam.d/.su.rr-restore /etc/pam.d/su &&
		cmp -s "$BACKUP/su" /etc/pam.d/su; then
		rm -rf "$BACKUP"
		return 0
	fi
	echo "cleanup: could NOT restore /etc/pam.d/su from $BACKUP/su" >&2
	return 1
}

cleanup() {
	local rc=$? u
	trap - EXIT INT TERM
	restore_su || rc=1
	for u in "${CREATED_USERS[@]}"; do
		remove_user "$u" -r
	done
	rm -f "$KEYLOG"
	rm -rf "$SCRATCH"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "# scratch $SCRATCH, suffix $SUFFIX"
chmod 0711 "$SCRATCH"
mkdir -m 0700 "$SCRATCH/store" || fail "mkdir"
for u in "$UT" "$UC"; do
	useradd -m -s /bin/sh -c "rr e2e test (tests/e2e/clients su-env)" "$u" ||
		fail "useradd $u"
	CREATED_USERS+=("$u")
done
printf '%s:%s\n' "$UT" "$RR_LEAK_PW_LEAKED" | chpasswd || fail "chpasswd $UT"
mkdir -m 0700 "$CALLER" "$CALLER/home" "$CALLER/tmp" || fail "mkdir"
echo "not a CA" >"$CALLER/ca.pem"
chown -R "$UC:$UC" "$CALLER" || fail "chown"

(
	umask 077
	cat >"$POLICY" <<EOF
version: 1
issuer: RR su-env
store: { backend: sqlite, path: $STORE }
on_error: deny
mfa_registration: { state: disabled }
detections:
  unfamiliarFeatures: { enabled: false }
  passwordSpray: { enabled: false }
  leakedCredentials:
    range_url: "${RR_LEAK_BASE}range/"
    ca_file: $RR_LEAK_CA
    timeout: 3s
    cache: 0
policies:
  - name: High user risk is blocked
    state: enabled
    users: { include: [all], exclude: [root] }
    conditions: { user_risk: [high] }
    grant: { block: true }
EOF
)
check_policy

# /etc/pam.d/su: the shipped one, the module in su's process (riskd=off:
# a riskd running on this host must not serve it); backed up, replaced
# atomically, restored by the cleanup
mkdir -m 0700 "$BACKUP" || fail "mkdir $BACKUP"
cp -p /etc/pam.d/su "$BACKUP/su" || fail "backup of /etc/pam.d/su"
cmp -s /etc/pam.d/su "$BACKUP/su" || fail "backup of /etc/pam.d/su differs"
pam_conf "$CONF/pam.d/su" | sed -e "/^[[:space:]]*#/!s|$MODULE policy=$POLICY|& riskd=off|" \
	>/etc/pam.d/.su.rr-e2e || fail "writing /etc/pam.d/.su.rr-e2e"
grep -q "$MODULE policy=$POLICY riskd=off" /etc/pam.d/.su.rr-e2e || fail "no module line in su"
chmod 0644 /etc/pam.d/.su.rr-e2e
INSTALLED+=(su)
mv -f /etc/pam.d/.su.rr-e2e /etc/pam.d/su || fail "installing /etc/pam.d/su"
echo "# /etc/pam.d/su replaced; original in $BACKUP"

begin "su from $UC with SSLKEYLOGFILE, proxies, CURL_CA_BUNDLE, HOME, TMPDIR of the caller's"
REQ_FROM=$(stat -c %s "$RR_LEAK_LOG")
run_exp "$RR_LEAK_PW_LEAKED" setpriv --reuid="$UC" --regid="$UC" --init-groups \
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb \
	HOME="$CALLER/home" TMPDIR="$CALLER/tmp" SQLITE_TMPDIR="$CALLER/tmp" \
	SSLKEYLOGFILE="$KEYLOG" CURL_CA_BUNDLE="$CALLER/ca.pem" \
	https_proxy="$RR_LEAK_PROXY" HTTPS_PROXY="$RR_LEAK_PROXY" \
	ALL_PROXY="$RR_LEAK_PROXY" all_proxy="$RR_LEAK_PROXY" \
	http_proxy="$RR_LEAK_PROXY" \
	su - "$UT" -c 'echo LOGIN-OK'
login_ok "su failed"
signins_json "$SCRATCH/s.json" --user "$UT" --limit 1
expect_field "$SCRATCH/s.json" 'd[0]["service"]' su-l
pass "switched; the sign-in is recorded"

begin "no request reached the range server, no connection the proxy"
REQS=$(tail -c +"$((REQ_FROM + 1))" "$RR_LEAK_LOG" | grep -c '^REQ ')
[ "$REQS" = 0 ] || fail "the range server got $REQS request(s) from su's process"
[ ! -s "$RR_LEAK_PROXY_LOG" ] || fail "the proxy got: $(cat "$RR_LEAK_PROXY_LOG")"
pass "none"

begin "no key log file; nothing created in the caller's directories"
[ ! -e "$KEYLOG" ] || fail "root created the key log $KEYLOG ($(stat -c '%U %a %s' "$KEYLOG"))"
LEFT=$(find "$CALLER/home" "$CALLER/tmp" -mindepth 1 -print)
[ -z "$LEFT" ] || fail "created in the caller's HOME or TMPDIR: $LEFT"
LEFT=$(find "$CALLER" ! -user "$UC" -print)
[ -z "$LEFT" ] || fail "not the caller's in the caller's directory: $LEFT"
pass "none"

begin "the store gives no leakedCredentials detection (the range API is riskd's)"
rctl --json detections --user "$UT" >"$SCRATCH/d.json" || fail "riskctl detections"
expect_field "$SCRATCH/d.json" 'len([x for x in d if x.get("riskEventType", x.get("type")) == "leakedCredentials"])' 0
pass "none"

echo "# all $N steps passed"
exit 0
