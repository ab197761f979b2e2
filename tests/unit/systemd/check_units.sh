#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# The shipped systemd units (conf/systemd/) load cleanly: the feeds service
# (ExecStart pointed at this build's riskctl), its timer and riskd.service
# (ExecStart pointed at this build's riskd) are verified together by
# `systemd-analyze verify` (unknown keys, bad values, a command that is not
# executable, a timer without its service all fail); the timer is daily and
# persistent; riskd's runtime directory is the module's default socket
# directory, 0700; the services meson configured for installation start
# SBINDIR/riskctl feeds update and SBINDIR/riskd.  The metrics service and
# timer likewise: every minute, writing node_exporter's textfile directory
# with SBINDIR/riskctl metrics, no network.
#
#   check_units.sh RISKCTL RISKD FEEDS.in TIMER RISKD.in FEEDS|- RISKD|- SBINDIR \
#                  METRICS.in METRICS_TIMER METRICS|-
#
# (FEEDS, RISKD and METRICS: the configured services, or - when none is
# installed.)
# Exit 77 (skip) without systemd-analyze (Debian package systemd).
set -u

[ $# -eq 11 ] || { echo "usage: $0 RISKCTL RISKD FEEDS.in TIMER RISKD.in FEEDS|- RISKD|- SBINDIR METRICS.in METRICS_TIMER METRICS|-" >&2; exit 2; }
riskctl=$1 riskd=$2 feeds_in=$3 timer=$4 riskd_in=$5
feeds_conf=$6 riskd_conf=$7 sbindir=$8
metrics_in=$9 metrics_timer=${10} metrics_conf=${11}
textfile=/var/lib/prometheus/node-exporter/riskremediate.prom

command -v systemd-analyze >/dev/null 2>&1 ||
	{ echo "SKIP: no systemd-analyze (apt-get install systemd)"; exit 77; }

dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "not ok - $*"; exit 1; }

# configure UNIT.in PLACEHOLDER VALUE NAME EXEC: write $dir/NAME with the
# placeholder replaced; it must run EXEC and have no placeholder left
configure() {
	sed "s|@$2@|$3|" "$1" >"$dir/$4" || fail "cannot write $4"
	grep -q '@[A-Z_]*@' "$dir/$4" && fail "a placeholder is left in $4"
	grep -qx "ExecStart=$5" "$dir/$4" || fail "$4 does not run $5"
}
configure "$feeds_in" RISKCTL "$riskctl" riskremediate-feeds.service \
	"$riskctl feeds update"
configure "$riskd_in" RISKD "$riskd" riskd.service "$riskd"
cp "$timer" "$dir/riskremediate-feeds.timer" || fail "cannot copy the timer"
configure "$metrics_in" RISKCTL "$riskctl" riskremediate-metrics.service \
	"$riskctl metrics --textfile $textfile"
cp "$metrics_timer" "$dir/riskremediate-metrics.timer" ||
	fail "cannot copy the metrics timer"

# verify prints nothing for clean units; any line is a finding
out=$(cd "$dir" && systemd-analyze verify --man=no \
	./riskremediate-feeds.service ./riskremediate-feeds.timer \
	./riskd.service ./riskremediate-metrics.service \
	./riskremediate-metrics.timer 2>&1)
rc=$?
[ "$rc" = 0 ] && [ -z "$out" ] ||
	fail "systemd-analyze verify (exit $rc): $out"
echo "ok - systemd-analyze verify: feeds and metrics services and timers, riskd.service clean"

# the timer starts this service, daily, catching up after downtime
grep -qx 'OnCalendar=daily' "$timer" || fail "the timer is not daily"
grep -qx 'Persistent=true' "$timer" || fail "the timer does not catch up missed runs"
grep -qx 'WantedBy=timers.target' "$timer" || fail "the timer cannot be enabled"
echo "ok - timer: daily, persistent, enable-able"

# metrics: every minute, enable-able, not before the collector's directory
# exists, no network (riskd's socket is a unix one)
grep -qx 'OnCalendar=minutely' "$metrics_timer" || fail "the metrics timer is not minutely"
grep -qx 'WantedBy=timers.target' "$metrics_timer" || fail "the metrics timer cannot be enabled"
grep -qx 'ConditionPathIsDirectory=/var/lib/prometheus/node-exporter' "$metrics_in" ||
	fail "the metrics service does not wait for the textfile directory"
grep -qx 'PrivateNetwork=yes' "$metrics_in" &&
	grep -qx 'RestrictAddressFamilies=AF_UNIX' "$metrics_in" ||
	fail "the metrics service may use the network"
grep -qx 'UMask=0022' "$metrics_in" || fail "the metrics service's umask is not 0022"
echo "ok - metrics: minutely, enable-able, textfile directory, no network"

# /run/riskremediate/riskd.sock, the module's default (riskd_proto.h)
grep -qx 'RuntimeDirectory=riskremediate' "$riskd_in" &&
	grep -qx 'RuntimeDirectoryMode=0700' "$riskd_in" ||
	fail "the runtime directory is not /run/riskremediate, 0700"
grep -qx 'Type=simple' "$riskd_in" || fail "riskd runs in the foreground: Type=simple"
grep -qx 'WantedBy=multi-user.target' "$riskd_in" || fail "riskd.service cannot be enabled"
echo "ok - riskd: /run/riskremediate 0700, Type=simple, enable-able"

# installed UNIT EXEC: the configured unit (or -) runs EXEC
installed() {
	[ "$1" = - ] && return 0
	grep -qx "ExecStart=$2" "$1" ||
		fail "the installed $1 does not run $2: $(grep ExecStart "$1")"
	echo "ok - installed $(basename "$1") runs $2"
}
installed "$feeds_conf" "$sbindir/riskctl feeds update"
installed "$riskd_conf" "$sbindir/riskd"
installed "$metrics_conf" "$sbindir/riskctl metrics --textfile $textfile"
exit 0
