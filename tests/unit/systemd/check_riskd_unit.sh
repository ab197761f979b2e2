#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# riskd's systemd unit (conf/systemd/riskd.service.in) loads cleanly: with
# ExecStart pointed at this build's riskd, `systemd-analyze verify` finds
# nothing (unknown keys, bad values, a command that is not executable);
# its runtime directory is the module's default socket directory, 0700;
# the service that meson configured for installation starts SBINDIR/riskd.
#
#   check_riskd_unit.sh RISKD SERVICE.in CONFIGURED-SERVICE|- SBIN-RISKD
#
# Exit 77 (skip) without systemd-analyze (Debian package systemd).
set -u

[ $# -eq 4 ] || { echo "usage: $0 RISKD SERVICE.in CONFIGURED|- SBIN-RISKD" >&2; exit 2; }
riskd=$1 service_in=$2 configured=$3 sbin_riskd=$4

command -v systemd-analyze >/dev/null 2>&1 ||
	{ echo "SKIP: no systemd-analyze (apt-get install systemd)"; exit 77; }

dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "not ok - $*"; exit 1; }

sed "s|@RISKD@|$riskd|" "$service_in" >"$dir/riskd.service" ||
	fail "cannot write the service"
grep -q '@' "$dir/riskd.service" && fail "a placeholder is left in the service"
grep -qx "ExecStart=$riskd" "$dir/riskd.service" ||
	fail "the service does not run riskd"

# verify prints nothing for a clean unit; any line is a finding
out=$(cd "$dir" && systemd-analyze verify --man=no ./riskd.service 2>&1)
rc=$?
[ "$rc" = 0 ] && [ -z "$out" ] ||
	fail "systemd-analyze verify (exit $rc): $out"
echo "ok - systemd-analyze verify: riskd.service clean"

# /run/riskremediate/riskd.sock, the module's default (riskd_proto.h)
grep -qx 'RuntimeDirectory=riskremediate' "$service_in" &&
	grep -qx 'RuntimeDirectoryMode=0700' "$service_in" ||
	fail "the runtime directory is not /run/riskremediate, 0700"
grep -qx 'Type=simple' "$service_in" || fail "riskd runs in the foreground: Type=simple"
grep -qx 'WantedBy=multi-user.target' "$service_in" || fail "the service cannot be enabled"
echo "ok - /run/riskremediate 0700, Type=simple, enable-able"

if [ "$configured" != - ]; then
	grep -qx "ExecStart=$sbin_riskd" "$configured" ||
		fail "the installed service does not run $sbin_riskd: $(grep ExecStart "$configured")"
	echo "ok - installed service runs $sbin_riskd"
fi
exit 0
