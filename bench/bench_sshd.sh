#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench_sshd.sh: what pam_riskremediate adds to a whole OpenSSH login, as a
# user sees it.  Two copies of sshd on 127.0.0.1, identical but for their
# PAM service: "plain" is conf/pam.d/sshd without the pam_riskremediate
# lines, "ours" is conf/pam.d/sshd with them.  A key login
# (AuthenticationMethods publickey) runs the account stack, where the
# module evaluates the policy, runs the detections and records the sign-in
# (checked afterwards: every timed login of "ours" must be in the store).
# Logins run `ssh ... true` one after another; the two services alternate
# round by round (the order swapped each round) and the medians of the
# round means are compared.  Not a test: it prints figures.
#
#   sudo bench/bench_sshd.sh MODULE.so RISKCTL [rounds] [logins-per-round]
#
# Defaults 7 rounds of 20 logins.  Creates a user rrbs-XXXXXXXX, two
# /etc/pam.d/rr-bench-{plain,ours}-XXXXXXXX services, two sshd copies on
# random ports and a scratch directory under /tmp, and removes them on
# every exit path.
set -uo pipefail

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
REPO=$(dirname "$HERE")
# shellcheck source=../tests/e2e/lib.sh
. "$REPO/tests/e2e/lib.sh" || exit 1

if [ $# -lt 2 ] || [ $# -gt 4 ]; then
	echo "usage: $0 MODULE.so RISKCTL [rounds] [logins-per-round]" >&2
	exit 2
fi
# RISKCTL, POLICY, N, SCRATCH, SSHD_COPIES and SAN_ENV are read by the
# helpers of tests/e2e/lib.sh (rctl, check_policy, fail, start_sshd, ...)
MODULE=$(readlink -f "$1")
# shellcheck disable=SC2034
RISKCTL=$(readlink -f "$2")
ROUNDS=${3:-7}
PER=${4:-20}
case "$ROUNDS$PER" in *[!0-9]* | '') echo "rounds and logins must be numbers" >&2; exit 2 ;; esac
[ "$ROUNDS" -ge 1 ] && [ "$PER" -ge 1 ] || { echo "rounds and logins must be at least 1" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$0: run as root (creates a user, PAM services, sshds)" >&2; exit 2; }
[ -x /usr/sbin/sshd ] || { echo "$0: no /usr/sbin/sshd" >&2; exit 2; }
for t in ssh ssh-keygen useradd userdel python3; do
	command -v "$t" >/dev/null || { echo "$0: no $t" >&2; exit 2; }
done
PY=$(command -v python3)

# shellcheck disable=SC2034
N=0
SUFFIX=$(random_suffix)
U=rrbs-$SUFFIX
PLAIN=rr-bench-plain-$SUFFIX
OURS=rr-bench-ours-$SUFFIX
SCRATCH=$(mktemp -d /tmp/rr-bench-sshd.XXXXXX) || exit 1
POLICY=$SCRATCH/policy.yaml
# shellcheck disable=SC2034
SSHD_COPIES=("$SCRATCH/$PLAIN" "$SCRATCH/$OURS")
# shellcheck disable=SC2034
SAN_ENV=()
CREATED=0

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	dump_logs "$rc" 20 "$SCRATCH/plain.log" "$SCRATCH/ours.log"
	stop_our_sshds
	[ "$CREATED" = 1 ] && remove_user "$U" -r
	rm -f "/etc/pam.d/$PLAIN" "/etc/pam.d/$OURS"
	rm -rf "$SCRATCH"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

chmod 0711 "$SCRATCH"
mkdir -m 0700 "$SCRATCH/store" "$SCRATCH/mfa" || fail "mkdir"
mkdir -m 0755 "$SCRATCH/ak" || fail "mkdir"
useradd -m -s /bin/sh -c "rr bench (bench/bench_sshd.sh)" "$U" || fail "useradd"
CREATED=1
ssh-keygen -q -t ed25519 -N '' -C "$U" -f "$SCRATCH/key" || fail "ssh-keygen"
install -m 0644 "$SCRATCH/key.pub" "$SCRATCH/ak/$U" || fail "authorized key"

# The sample's policies; nothing to register (a key login cannot), no list
# files; the store and the key file in the scratch directory.
(
	umask 077
	cat >"$POLICY" <<EOF
version: 1
store: { backend: sqlite, path: $SCRATCH/store/risk.db }
mfa_registration: { state: disabled }
mfa: { key_file: $SCRATCH/mfa/riskremediate.key }
detections:
  unfamiliarFeatures: { enabled: true }
  bruteForce: { enabled: true }
  passwordSpray: { enabled: true }
policies:
  - name: Sign-in risk requires MFA
    users: { include: [all] }
    conditions: { signin_risk: [medium, high] }
    grant: { require: [mfa] }
  - name: High user risk requires secure password change
    users: { include: [all] }
    conditions: { user_risk: [high] }
    grant: { require: [mfa, password_change] }
EOF
)
check_policy

# the two PAM services: conf/pam.d/sshd with and without the module
pam_conf "$REPO/conf/pam.d/sshd" >"/etc/pam.d/$OURS" || fail "writing /etc/pam.d/$OURS"
grep -v '^[^#]*pam_riskremediate\.so' "$REPO/conf/pam.d/sshd" >"/etc/pam.d/$PLAIN" ||
	fail "writing /etc/pam.d/$PLAIN"
grep -q "^account .*$MODULE" "/etc/pam.d/$OURS" || fail "no module in the account stack of $OURS"
grep -q '^[^#]*pam_riskremediate' "/etc/pam.d/$PLAIN" && fail "$PLAIN still names the module"

prepare_sshd
cfg="AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM yes
ExposeAuthInfo yes
AuthorizedKeysFile $SCRATCH/ak/%u
AllowUsers $U"
PORT_PLAIN=$(start_sshd "$PLAIN" "$SCRATCH/plain.log" <<<"$cfg") || fail "sshd $PLAIN did not start"
PORT_OURS=$(start_sshd "$OURS" "$SCRATCH/ours.log" <<<"$cfg") || fail "sshd $OURS did not start"
known_hosts "$PORT_PLAIN" "$PORT_OURS"

SSH=(ssh "${SSH_COMMON[@]}" -o UserKnownHostsFile="$SCRATCH/known_hosts"
	-i "$SCRATCH/key" -o IdentitiesOnly=yes -o PreferredAuthentications=publickey
	-o BatchMode=yes)

# round PORT: mean ms per login over PER logins
round() {
	local port=$1 i t0 t1
	t0=$(date +%s%N)
	for ((i = 0; i < PER; i++)); do
		"${SSH[@]}" -p "$port" "$U@127.0.0.1" true </dev/null >/dev/null 2>&1 || {
			echo "$0: a login on port $port failed" >&2
			return 1
		}
	done
	t1=$(date +%s%N)
	echo "$(((t1 - t0) / PER / 1000))"
}

# warm up: each once, untimed (page cache, the store created)
round "$PORT_PLAIN" >/dev/null || exit 1
round "$PORT_OURS" >/dev/null || exit 1

plain=() ours=()
for ((r = 0; r < ROUNDS; r++)); do
	if ((r % 2)); then
		ours+=("$(round "$PORT_OURS")") || exit 1
		plain+=("$(round "$PORT_PLAIN")") || exit 1
	else
		plain+=("$(round "$PORT_PLAIN")") || exit 1
		ours+=("$(round "$PORT_OURS")") || exit 1
	fi
done

# every login of ours was evaluated and recorded by the module
want=$(((ROUNDS + 1) * PER))
got=$(rctl --json signins --user "$U" --limit 100000 | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print(sum(1 for s in d if s["outcome"] == "success" and s["decision"] == "allow"))')
[ "$got" = "$want" ] || fail "the store has $got allowed sign-ins of $U, expected $want"

"$PY" - "${plain[*]}" "${ours[*]}" "$ROUNDS" "$PER" <<'EOF'
import statistics, sys
plain = [int(x) / 1000 for x in sys.argv[1].split()]
ours = [int(x) / 1000 for x in sys.argv[2].split()]
mp, mo = statistics.median(plain), statistics.median(ours)
print(f"whole ssh key login (connect, key exchange, publickey, PAM account"
      f" and session, `true`, close), median of {sys.argv[3]} alternating"
      f" rounds of {sys.argv[4]} logins; round means min..max")
print(f"  plain  {mp:8.2f} ms  ({min(plain):.2f}..{max(plain):.2f})"
      f"  conf/pam.d/sshd without pam_riskremediate")
print(f"  ours   {mo:8.2f} ms  ({min(ours):.2f}..{max(ours):.2f})"
      f"  conf/pam.d/sshd")
print(f"  pam_riskremediate adds {mo - mp:.2f} ms per login,"
      f" {100 * (mo - mp) / mp:.1f}% of a login")
EOF
echo "(every timed login of ours recorded in the store: $got sign-ins)"
