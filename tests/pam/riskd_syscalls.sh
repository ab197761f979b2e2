#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# The system calls riskd.service lets riskd make, one a line, as systemd
# 252 computes them from the unit's
#   SystemCallFilter=@system-service
#   SystemCallFilter=~@privileged @resources
# (the groups expanded as `systemd-analyze syscall-filter` prints them),
# for test_riskd's sandbox (test_sandboxed, seccomp).
#
#   riskd_syscalls.sh UNIT OUT
#
# The filter lines are read from UNIT; any other shape fails, so that a
# changed filter is noticed here.
set -eu
unit=$1 out=$2
allow=$(sed -n 's/^SystemCallFilter=\([^~].*\)$/\1/p' "$unit")
deny=$(sed -n 's/^SystemCallFilter=~\(.*\)$/\1/p' "$unit")
[ "$allow" = "@system-service" ] && [ "$deny" = "@privileged @resources" ] || {
	echo "riskd_syscalls.sh: $unit: SystemCallFilter= is not what this script reproduces (allow: $allow; deny: $deny)" >&2
	exit 1
}
systemd-analyze syscall-filter --no-pager | awk -v allow="$allow" -v deny="$deny" '
function add(g, set,    n, a, i) {
	if (!(g in members)) { print "unknown group " g > "/dev/stderr"; exit 1 }
	n = split(members[g], a, " ")
	for (i = 1; i <= n; i++)
		if (a[i] ~ /^@/) add(a[i], set); else set[a[i]] = 1
}
/^@/ { group = $1; members[group] = ""; next }
/^[ \t]+#/ || NF == 0 { next }
/^[ \t]+/ && group != "" { members[group] = members[group] " " $1 }
END {
	n = split(allow, a, " "); for (i = 1; i <= n; i++) add(a[i], yes)
	n = split(deny, a, " "); for (i = 1; i <= n; i++) add(a[i], no)
	for (s in yes) if (!(s in no)) print s
}' | sort >"$out.tmp"
[ -s "$out.tmp" ] || { echo "riskd_syscalls.sh: no system call listed" >&2; exit 1; }
mv "$out.tmp" "$out"
