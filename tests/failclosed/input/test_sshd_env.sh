#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# failclosed/input, with a real sshd: what a client sends with SendEnv
# (sshd's AcceptEnv lets SSH_AUTH_INFO_0 and LANG in) never changes the
# decision nor the device.  A copy of /usr/sbin/sshd on 127.0.0.1 with
# ExposeAuthInfo yes, public-key logins only, the module in account and
# (first) in session; the client claims another key in SSH_AUTH_INFO_0.
#   1. allowed: the sign-in's device is the key used, never the one
#      claimed (the session part reads the PAM environment, which sshd
#      set, not the client's);
#   2. the user confirmed compromised (MFA required, which a key-only
#      login cannot ask): refused, with or without the claim.
#
#   test_sshd_env.sh MODULE.so RISKCTL RR-SSH.EXP RR-TOTP
#
# Needs root (user, PAM service, sshd).  Every name carries a random
# suffix; everything is removed on every exit path.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../e2e/lib.sh" || exit 1

e2e_args "MODULE.so RISKCTL RR-SSH.EXP RR-TOTP" 4 "$@"
require_clients "creates a user, /etc/pam.d service, sshd" \
	ssh ssh-keygen useradd userdel chpasswd

SUFFIX=$(random_suffix)
TUSER=rrfcenv-$SUFFIX
SERVICE=rr-fc-env-sshd-$SUFFIX
PAMFILE=/etc/pam.d/$SERVICE
SCRATCH=$(mktemp -d /tmp/rr-fc-env.XXXXXX) || exit 1
POLICY=$SCRATCH/policy.yaml
STORE=$SCRATCH/store/risk.db
N=0
USER_CREATED=0
SSHD_COPIES=("$SCRATCH/$SERVICE")

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	dump_logs "$rc" 40 "$SCRATCH/sshd.log"
	stop_our_sshds
	[ "$USER_CREATED" = 1 ] && remove_user "$TUSER"
	rm -f "$PAMFILE"
	rm -rf "$SCRATCH"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

chmod 0711 "$SCRATCH"
add_user "$TUSER" "$(newpw)" "rr failclosed test (tests/failclosed/input sshd env)"
ssh-keygen -q -t ed25519 -N '' -C used -f "$SCRATCH/key" || fail "ssh-keygen"
ssh-keygen -q -t ed25519 -N '' -C claimed -f "$SCRATCH/claimed" || fail "ssh-keygen"
cp "$SCRATCH/key.pub" "$SCRATCH/authorized_keys"
chmod 0644 "$SCRATCH/authorized_keys"
FP_USED=$(ssh-keygen -l -E sha256 -f "$SCRATCH/key.pub" | cut -d' ' -f2)
FP_CLAIMED=$(ssh-keygen -l -E sha256 -f "$SCRATCH/claimed.pub" | cut -d' ' -f2)
CLAIM="publickey $(cut -d' ' -f1,2 "$SCRATCH/claimed.pub")"

(
	umask 077
	cat >"$POLICY" <<EOF
version: 1
issuer: RR failclosed
store: { backend: sqlite, path: $STORE }
on_error: deny
mfa_registration: { state: disabled }
policies:
  - name: High user risk requires MFA
    conditions: { user_risk: [high] }
    grant: { require: [mfa] }
EOF
)
check_policy
cat >"$PAMFILE" <<EOF
# tests/failclosed/input/test_sshd_env.sh: temporary PAM service, removed when the test ends
auth     required                    pam_deny.so
account  required                    pam_unix.so
account  required                    $MODULE policy=$POLICY
session  optional                    $MODULE policy=$POLICY
session  required                    pam_unix.so
EOF

prepare_sshd
sanitizer_env sshd
PORT=$(start_sshd "$SERVICE" "$SCRATCH/sshd.log" <<EOF
UsePAM yes
ExposeAuthInfo yes
AcceptEnv SSH_AUTH_INFO_0 LANG
AuthorizedKeysFile $SCRATCH/authorized_keys
KbdInteractiveAuthentication no
PasswordAuthentication no
AllowUsers $TUSER
EOF
) || fail "sshd did not start (see its log)"
known_hosts "$PORT"
echo "# sshd $SCRATCH/$SERVICE on 127.0.0.1:$PORT"

# ssh_claim: the key login, sending SSH_AUTH_INFO_0 (the claim) and LANG
ssh_claim() {
	SSH_AUTH_INFO_0=$CLAIM LANG='C.UTF-8%n$(id)' \
		ssh_key "$PORT" "$TUSER" "$SCRATCH/key" \
		-o SendEnv=SSH_AUTH_INFO_0 -o SendEnv=LANG
}

begin "a key login claiming another key in SSH_AUTH_INFO_0: the device is the key used"
ssh_claim
login_ok "the key login failed"
signins_json "$SCRATCH/s1.json" --user "$TUSER"
expect_field "$SCRATCH/s1.json" 'len(d)' 1
expect_field "$SCRATCH/s1.json" 'd[0]["outcome"]' success
expect_field "$SCRATCH/s1.json" 'd[0]["device"]' "$FP_USED"
grep -qF -- "$FP_CLAIMED" "$SCRATCH/s1.json" && fail "the claimed key was recorded"
pass "device $FP_USED, not the claimed $FP_CLAIMED"

begin "confirmed compromised: refused with the claim as without it"
rctl confirm-compromised "$TUSER" >/dev/null || fail "riskctl confirm-compromised"
ssh_claim
login_refused "a compromised user's key login went through with the claim"
ssh_key "$PORT" "$TUSER" "$SCRATCH/key"
login_refused "a compromised user's key login went through"
signins_json "$SCRATCH/s2.json" --user "$TUSER"
expect_field "$SCRATCH/s2.json" '" ".join(s["outcome"] for s in d)' "denied denied success"
grep -qF -- "$FP_CLAIMED" "$SCRATCH/s2.json" && fail "the claimed key was recorded"
pass "both refused (account), as recorded"

finish "from sshd"
