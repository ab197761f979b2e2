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
#   test_demo.sh RR-DEMO BUILD-DIR
#
# Needs root (the demo creates a user, a PAM service and an sshd); exits 77
# (skip) without root or without sshd/ssh/expect/oathtool.  Fails, without
# touching anything, when a demo left running with --keep is found: the
# demo would remove it.
set -uo pipefail

[ $# -eq 2 ] || { echo "usage: $0 RR-DEMO BUILD-DIR" >&2; exit 2; }
DEMO=$1
BUILD=$2
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "not ok - $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (the demo creates a user, a PAM service and an sshd)"
[ -x /usr/sbin/sshd ] || skip "no /usr/sbin/sshd (apt-get install openssh-server)"
for t in ssh expect oathtool; do
	command -v "$t" >/dev/null || skip "no $t"
done
if [ -e /run/rr-demo ] || getent passwd rrdemo >/dev/null || [ -e /etc/pam.d/rr-demo-sshd ]; then
	fail "a demo is set up on this machine (rr-demo --keep?): run 'sudo tools/demo/rr-demo cleanup' first"
fi

out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
RR_DEMO_BUILD=$BUILD "$DEMO" >"$out" 2>&1
rc=$?
sed 's/^/  | /' "$out"
[ "$rc" = 0 ] || fail "rr-demo exited $rc"
grep -q '^The demo worked: ' "$out" || fail "rr-demo did not say the demo worked"
grep -qF "riskd       $BUILD/tools/riskd/riskd on " "$out" ||
	fail "rr-demo did not start riskd"
echo "ok 1 - rr-demo played its story (exit 0)"

[ -e /run/rr-demo ] && fail "/run/rr-demo is left"
getent passwd rrdemo >/dev/null && fail "user rrdemo is left"
[ -e /etc/pam.d/rr-demo-sshd ] && fail "/etc/pam.d/rr-demo-sshd is left"
riskd_exe=$(readlink -f "$BUILD/tools/riskd/riskd")
for p in /proc/[0-9]*; do
	e=$(readlink "$p/exe" 2>/dev/null) || continue
	[ "${e% (deleted)}" = /run/rr-demo/rr-demo-sshd ] && fail "the demo sshd (pid ${p#/proc/}) is still running"
	[ "${e% (deleted)}" = "$riskd_exe" ] &&
		grep -qF /run/rr-demo/ "$p/cmdline" 2>/dev/null &&
		fail "the demo's riskd (pid ${p#/proc/}) is still running"
done
echo "ok 2 - nothing left: no /run/rr-demo, no user, no PAM service, no sshd, no riskd"
exit 0
