#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# The shipped systemd units (conf/systemd/) load cleanly: the service, with
# ExecStart pointed at this build's riskctl, and the timer are verified by
# `systemd-analyze verify` (unknown keys, bad values, a command that is not
# executable, a timer without its service all fail); the service that
# meson configured for installation starts `SBINDIR/riskctl feeds update`.
#
#   check_units.sh RISKCTL SERVICE.in TIMER CONFIGURED-SERVICE|- SBIN-RISKCTL
#
# Exit 77 (skip) without systemd-analyze (Debian package systemd).
set -u

[ $# -eq 5 ] || { echo "usage: $0 RISKCTL SERVICE.in TIMER CONFIGURED|- SBIN-RISKCTL" >&2; exit 2; }
riskctl=$1 service_in=$2 timer=$3 configured=$4 sbin_riskctl=$5

command -v systemd-analyze >/dev/null 2>&1 ||
	{ echo "SKIP: no systemd-analyze (apt-get install systemd)"; exit 77; }

dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "not ok - $*"; exit 1; }

sed "s|@RISKCTL@|$riskctl|" "$service_in" >"$dir/riskremediate-feeds.service" ||
	fail "cannot write the service"
cp "$timer" "$dir/riskremediate-feeds.timer" || fail "cannot copy the timer"
grep -q '@' "$dir/riskremediate-feeds.service" && fail "a placeholder is left in the service"
grep -qx "ExecStart=$riskctl feeds update" "$dir/riskremediate-feeds.service" ||
	fail "the service does not run riskctl feeds update"

# verify prints nothing for clean units; any line is a finding
out=$(cd "$dir" && systemd-analyze verify --man=no \
	./riskremediate-feeds.service ./riskremediate-feeds.timer 2>&1)
rc=$?
[ "$rc" = 0 ] && [ -z "$out" ] ||
	fail "systemd-analyze verify (exit $rc): $out"
echo "ok - systemd-analyze verify: service and timer clean"

# the timer starts this service, daily, catching up after downtime
grep -qx 'OnCalendar=daily' "$timer" || fail "the timer is not daily"
grep -qx 'Persistent=true' "$timer" || fail "the timer does not catch up missed runs"
grep -qx 'WantedBy=timers.target' "$timer" || fail "the timer cannot be enabled"
echo "ok - timer: daily, persistent, enable-able"

if [ "$configured" != - ]; then
	grep -qx "ExecStart=$sbin_riskctl feeds update" "$configured" ||
		fail "the installed service does not run $sbin_riskctl: $(grep ExecStart "$configured")"
	echo "ok - installed service runs $sbin_riskctl feeds update"
fi
exit 0
