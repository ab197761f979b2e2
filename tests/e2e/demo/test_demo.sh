#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# e2e: the README's first command, tools/demo/rr-demo, played against this
# build (RR_DEMO_BUILD): a real sshd on 127.0.0.1, the real ssh client under
# expect, oathtool as the phone.  The demo checks every step of its story
# itself and exits 1 on the first one that does not do what it says
# (registration, MFA on a new network, replay refused, the secure password
# change, the old password refused, blocked with a reference after the
# authenticator is lost, unblock, a new phone registered, the audit log).
# This test runs it and then checks that it removed everything it created.
#
# With --fleet it plays `rr-demo --fleet`: a 3-member etcd cluster with TLS
# and two sshd hosts, each with its own riskd and store (registered on host
# A, a code and no second registration on host B, the code used on A
# refused on B, confirmed compromised on B and a code and a new password on
# A a second later), and checks that the cluster, both sshd and both riskd
# are gone too.
#
#   test_demo.sh RR-DEMO BUILD-DIR [--fleet]
#
# Needs root (the demo creates a user, a PAM service and an sshd); exits 77
# (skip) without root or without sshd/ssh/expect/oathtool (and etcd and
# etcdctl with --fleet).  Fails, without touching anything, when a demo
# left running with --keep is found: the demo would remove it.
set -uo pipefail

[ $# -eq 2 ] || { [ $# -eq 3 ] && [ "$3" = --fleet ]; } ||
	{ echo "usage: $0 RR-DEMO BUILD-DIR [--fleet]" >&2; exit 2; }
DEMO=$1
BUILD=$2
FLEET=()
[ $# -eq 3 ] && FLEET=(--fleet)
NAME="rr-demo${FLEET[*]:+ ${FLEET[*]}}"
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "not ok - $*"; exit 1; }

PAMFILES=(/etc/pam.d/rr-demo-sshd /etc/pam.d/rr-demo-sshd-a /etc/pam.d/rr-demo-sshd-b)

[ "$(id -u)" = 0 ] || skip "needs root (the demo creates a user, a PAM service and an sshd)"
[ -x /usr/sbin/sshd ] || skip "no /usr/sbin/sshd (apt-get install openssh-server)"
for t in ssh expect oathtool; do
	command -v "$t" >/dev/null || skip "no $t"
done
if [ ${#FLEET[@]} -gt 0 ]; then
	for t in etcd etcdctl; do
		command -v "$t" >/dev/null || skip "no $t (apt-get install etcd-server etcd-client)"
	done
fi
for f in /run/rr-demo "${PAMFILES[@]}"; do
	[ -e "$f" ] &&
		fail "a demo is set up on this machine ($f; rr-demo --keep?): run 'sudo tools/demo/rr-demo cleanup' first"
done
getent passwd rrdemo >/dev/null &&
	fail "a demo is set up on this machine (user rrdemo; rr-demo --keep?): run 'sudo tools/demo/rr-demo cleanup' first"

out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
RR_DEMO_BUILD=$BUILD "$DEMO" "${FLEET[@]}" >"$out" 2>&1
rc=$?
sed 's/^/  | /' "$out"
[ "$rc" = 0 ] || fail "$NAME exited $rc"
grep -q '^The demo worked: ' "$out" || fail "rr-demo did not say the demo worked"
if [ ${#FLEET[@]} -gt 0 ]; then
	for h in a b; do
		grep -qF "riskd --socket /run/rr-demo/host-$h/riskd/riskd.sock" "$out" ||
			fail "rr-demo --fleet did not start host $h's riskd"
	done
else
	grep -qF "riskd       $BUILD/tools/riskd/riskd on " "$out" ||
		fail "rr-demo did not start riskd"
fi
echo "ok 1 - $NAME played its story (exit 0)"

[ -e /run/rr-demo ] && fail "/run/rr-demo is left"
getent passwd rrdemo >/dev/null && fail "user rrdemo is left"
for f in "${PAMFILES[@]}"; do
	[ -e "$f" ] && fail "$f is left"
done
riskd_exe=$(readlink -f "$BUILD/tools/riskd/riskd")
for p in /proc/[0-9]*; do
	e=$(readlink "$p/exe" 2>/dev/null) || continue
	e=${e% (deleted)}
	case $e in
	/run/rr-demo/*) fail "a demo sshd ($e, pid ${p#/proc/}) is still running" ;;
	esac
	if [ "$e" = "$riskd_exe" ] || [ "${e##*/}" = etcd ]; then
		grep -qF /run/rr-demo/ "$p/cmdline" 2>/dev/null &&
			fail "the demo's ${e##*/} (pid ${p#/proc/}) is still running"
	fi
done
echo "ok 2 - nothing left: no /run/rr-demo, no user, no PAM service, no sshd, no riskd, no etcd"
exit 0
