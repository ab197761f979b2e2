#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# e2e: sshd's LoginGraceTime ends in the middle of an MFA registration.
# Registering takes a person minutes (install an app, scan the QR code,
# type a code); sshd closes a connection that has not authenticated within
# LoginGraceTime (120 s by default) and ends its PAM process (SIGTERM from
# the monitor's cleanup).  A real sshd copy with LoginGraceTime 6, the real
# ssh client under expect: the registration is shown, the "phone" takes 12 s
# to give a code, sshd gives up first.  Then: nothing is half-registered
# (riskctl mfa status: not registered), the sign-in is on record as
# interrupted, and the next sign-in registers from scratch with a secret
# never shown before.  README.md and
# conf/sshd_config.d/riskremediate.conf say which LoginGraceTime to choose.
#
#   test_grace.sh MODULE.so RISKCTL RR-SSH.EXP RR-TOTP
#
# Needs root (user, PAM service, sshd); exits 77 (skip) otherwise.  Every
# name carries a random suffix; everything is removed on every exit path.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh" || exit 1

e2e_args "MODULE.so RISKCTL RR-SSH.EXP RR-TOTP" 4 "$@"
require_clients "creates a user, /etc/pam.d service, sshd" \
	ssh ssh-keygen expect useradd userdel chpasswd oathtool

SUFFIX=$(random_suffix)
TUSER=rrgrace-$SUFFIX
SERVICE=rr-grace-sshd-$SUFFIX
PAMFILE=/etc/pam.d/$SERVICE
SCRATCH=$(mktemp -d /tmp/rr-e2e-grace.XXXXXX) || exit 1
POLICY=$SCRATCH/policy.yaml
STORE=$SCRATCH/store/risk.db
PASSWORD=$(newpw)
GRACE=6
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
mkdir -m 0700 "$SCRATCH/mfa" || fail "mkdir"
add_user "$TUSER" "$PASSWORD" "rr e2e test (tests/e2e/sshd grace)"

# every user but root must register now (no grace days)
(
	umask 077
	cat >"$POLICY" <<EOF
version: 1
issuer: RR grace
store: { backend: sqlite, path: $STORE }
on_error: deny
mfa_registration:
  state: enabled
  grace_days: 0
  users: { include: [all], exclude: [root] }
mfa:
  key_file: $SCRATCH/mfa/riskremediate.key
policies: []
EOF
)
check_policy
cat >"$PAMFILE" <<EOF
# tests/e2e/sshd/test_grace.sh: temporary PAM service, removed when the test ends
auth     [success=1 default=ignore]  pam_unix.so
auth     [default=die]               $MODULE authfail policy=$POLICY
auth     required                    $MODULE policy=$POLICY
account  required                    pam_unix.so
account  required                    $MODULE policy=$POLICY
session  required                    pam_unix.so
EOF

prepare_sshd
sanitizer_env sshd
PORT=$(start_sshd "$SERVICE" "$SCRATCH/sshd.log" <<EOF
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
AllowUsers $TUSER
LoginGraceTime $GRACE
EOF
) || fail "sshd did not start (see its log)"
known_hosts "$PORT"
echo "# sshd $SCRATCH/$SERVICE on 127.0.0.1:$PORT, LoginGraceTime $GRACE"

begin "LoginGraceTime ($GRACE s) ends while the user is registering"
# the code prompt is answered 12 s after it appears: sshd has given up
RR_SSH_CODE_CMD='sleep 12; "$TOTP" "$RR_SSH_SECRET" "$STEPS"' \
	TOTP=$TOTP STEPS=$SCRATCH/steps-late \
	ssh_kbd "$PORT" "$TUSER" "$PASSWORD"
login_refused "the login went on after LoginGraceTime"
has "Scan this QR code with your authenticator app:" ||
	fail "the registration was not shown before the timeout"
hasnt "Your authenticator app is registered." || fail "registered after the timeout"
LATE_SECRET=$(secret_of_out)
[[ $LATE_SECRET =~ ^[A-Z2-7]{32}$ ]] || fail "no secret in the URI shown: '$LATE_SECRET'"
[ "$RC" = 255 ] && has "Connection closed by 127.0.0.1 port $PORT" ||
	fail "sshd did not close the connection (ssh exit $RC)"
pass "sshd closed the connection at the code prompt (ssh exit $RC)"

begin "nothing half-registered; the sign-in is on record as interrupted"
# the PAM process may still be ending: the row it wrote before the prompt
# is what must be there
rctl --json mfa status "$TUSER" >"$SCRATCH/m1.json" || fail "riskctl mfa status"
expect_field "$SCRATCH/m1.json" 'd["registered"]' False
signins_json "$SCRATCH/s1.json" --user "$TUSER"
expect_field "$SCRATCH/s1.json" 'len(d)' 1
expect_field "$SCRATCH/s1.json" 'd[0]["outcome"]' interrupted
expect_field "$SCRATCH/s1.json" 'd[0]["mfa"]' prompted
pass "not registered; 1 sign-in, interrupted at the prompt"

begin "the next sign-in registers from scratch, with a new secret"
RR_SSH_CODE_CMD='"$TOTP" "$RR_SSH_SECRET" "$STEPS"' \
	TOTP=$TOTP STEPS=$SCRATCH/steps \
	ssh_kbd "$PORT" "$TUSER" "$PASSWORD"
login_ok "the registration login failed"
has "Your authenticator app is registered." || fail "no registration confirmation"
SECRET=$(secret_of_out)
[[ $SECRET =~ ^[A-Z2-7]{32}$ ]] || fail "no secret in the URI shown: '$SECRET'"
[ "$SECRET" != "$LATE_SECRET" ] || fail "the interrupted registration's secret was reused"
rctl --json mfa status "$TUSER" >"$SCRATCH/m2.json" || fail "riskctl mfa status"
expect_field "$SCRATCH/m2.json" 'd["registered"]' True
signins_json "$SCRATCH/s2.json" --user "$TUSER"
expect_field "$SCRATCH/s2.json" '" ".join(s["outcome"] for s in d)' "success interrupted"
expect_field "$SCRATCH/s2.json" 'd[0]["mfa"]' registered
pass "registered with a secret never shown before"

finish "with sshd's LoginGraceTime"
