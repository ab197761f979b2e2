#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# The shipped systemd units (conf/systemd/) load cleanly: the feeds service
# (ExecStart pointed at this build's riskctl), its timer, riskd.service
# (ExecStart pointed at this build's riskd) and riskd.socket are verified
# together by `systemd-analyze verify` (unknown keys, bad values, a command
# that is not executable, a timer without its service, a socket without
# its service all fail); the timer is daily and persistent; riskd.socket
# is the module's default socket, 0600 root in a 0700 directory, and
# riskd.service is socket-activated (Type=notify, no runtime directory of
# its own that would remove the socket's); riskd.service's exposure
# (`systemd-analyze security --offline=true`) is at most 2.0; the services
# meson configured for installation start SBINDIR/riskctl feeds update and
# SBINDIR/riskd.  The metrics service and timer likewise: every minute,
# writing node_exporter's textfile directory with SBINDIR/riskctl metrics,
# no network.
#
#   check_units.sh RISKCTL RISKD FEEDS.in TIMER RISKD.in RISKD.socket \
#                  FEEDS|- RISKD|- SBINDIR METRICS.in METRICS_TIMER METRICS|-
#
# (FEEDS, RISKD and METRICS: the configured services, or - when none is
# installed.)
# Exit 77 (skip) without systemd-analyze (Debian package systemd).
set -u

[ $# -eq 12 ] || { echo "usage: $0 RISKCTL RISKD FEEDS.in TIMER RISKD.in RISKD.socket FEEDS|- RISKD|- SBINDIR METRICS.in METRICS_TIMER METRICS|-" >&2; exit 2; }
riskctl=$1 riskd=$2 feeds_in=$3 timer=$4 riskd_in=$5 riskd_socket=$6
feeds_conf=$7 riskd_conf=$8 sbindir=$9
metrics_in=${10} metrics_timer=${11} metrics_conf=${12}
textfile=/var/lib/prometheus/node-exporter/riskremediate.prom
# riskd.service's highest exposure, times ten (--threshold's scale)
max_exposure=20

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
cp "$riskd_socket" "$dir/riskd.socket" || fail "cannot copy riskd.socket"
configure "$metrics_in" RISKCTL "$riskctl" riskremediate-metrics.service \
	"$riskctl metrics --textfile $textfile"
cp "$metrics_timer" "$dir/riskremediate-metrics.timer" ||
	fail "cannot copy the metrics timer"

# verify prints nothing for clean units; any line is a finding
out=$(cd "$dir" && systemd-analyze verify --man=no \
	./riskremediate-feeds.service ./riskremediate-feeds.timer \
	./riskd.service ./riskd.socket ./riskremediate-metrics.service \
	./riskremediate-metrics.timer 2>&1)
rc=$?
[ "$rc" = 0 ] && [ -z "$out" ] ||
	fail "systemd-analyze verify (exit $rc): $out"
echo "ok - systemd-analyze verify: feeds and metrics services and timers, riskd.service and riskd.socket clean"

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

# /run/riskremediate/riskd.sock, the module's default (riskd_proto.h),
# root's alone (riskd refuses anything else)
for line in ListenStream=/run/riskremediate/riskd.sock SocketUser=root \
	    SocketGroup=root SocketMode=0600 DirectoryMode=0700 \
	    WantedBy=sockets.target; do
	grep -qx "$line" "$riskd_socket" || fail "riskd.socket lacks $line"
done
[ "$(grep -c '^Listen' "$riskd_socket")" = 1 ] ||
	fail "riskd.socket passes riskd more than one socket (riskd refuses)"
echo "ok - riskd.socket: /run/riskremediate/riskd.sock 0600 root, directory 0700, enable-able"
# started by the socket, ready when riskd says so; no RuntimeDirectory=,
# which would remove the socket's directory when riskd stops
for line in Type=notify Requires=riskd.socket Also=riskd.socket \
	    Restart=on-failure ProtectSystem=strict \
	    StateDirectory=riskremediate StateDirectoryMode=0700; do
	grep -qx "$line" "$riskd_in" || fail "riskd.service lacks $line"
done
grep -q '^RuntimeDirectory' "$riskd_in" &&
	fail "riskd.service has a RuntimeDirectory= (removes riskd.socket's directory)"
echo "ok - riskd.service: socket-activated, Type=notify, store in its StateDirectory"

# the hardening: --threshold fails above max_exposure
out=$(cd "$dir" && systemd-analyze security --offline=true \
	--threshold=$max_exposure ./riskd.service 2>&1)
rc=$?
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for riskd.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "systemd-analyze security printed no exposure: $out"
[ "$rc" = 0 ] ||
	fail "riskd.service's exposure $score is above $max_exposure/10 (exit $rc): $(printf '%s\n' "$out" | grep '✗')"
echo "ok - riskd.service: exposure $score (at most $max_exposure/10)"

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
if [ "$riskd_conf" != - ]; then
	grep -qx 'Type=notify' "$riskd_conf" ||
		fail "the installed riskd.service is not Type=notify"
fi
exit 0
