#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The benchmarks with the module's logic in riskd: starts BUILD's riskd on a
# scratch socket, runs bench_login and bench_mfa against it (their "ours"
# service gets riskd=SOCKET: bench_common.c), stops riskd.  Then the floor
# of the design: bench_login against bench_riskd_floor, which answers the
# allow path in riskd's protocol without doing any of riskd's work.
#
# usage: bench/bench_riskd.sh BUILD [rounds] [logins-per-round]
# Run as root.  bench/README.md has the figures.
set -eu
build=${1:?usage: bench_riskd.sh BUILD [rounds] [logins-per-round]}
rounds=${2:-7}
per=${3:-200}
module=$(cd "$build" && pwd)/pam_riskremediate/module/pam_riskremediate.so
dir=$(mktemp -d /tmp/rr-bench-riskd-XXXXXX)
pid=
trap '[ -z "$pid" ] || kill $pid 2>/dev/null; wait 2>/dev/null || :; rm -rf "$dir"' EXIT INT TERM

# serve SOCKET PROGRAM [ARG...]: start a server on SOCKET (its last
# argument), in $pid, and wait until it listens
serve() {
	sock=$1
	shift
	"$@" &
	pid=$!
	i=0
	while [ ! -S "$sock" ]; do
		i=$((i + 1))
		[ $i -lt 500 ] || { echo "$1 did not start" >&2; exit 1; }
		sleep 0.01
	done
	export RR_BENCH_RISKD="$sock"
}

serve "$dir/riskd.sock" "$build/tools/riskd/riskd" --socket "$dir/riskd.sock"
echo "== bench_login, the logic in riskd"
"$build/bench/bench_login" "$module" "$rounds" "$per" 100000
echo "== bench_mfa, the logic in riskd"
"$build/bench/bench_mfa" "$module" "$rounds" "$per"
kill "$pid"
wait "$pid"
pid=
echo "riskd stopped cleanly"

serve "$dir/floor.sock" "$build/bench/bench_riskd_floor" "$dir/floor.sock"
echo "== bench_login against bench_riskd_floor: riskd's protocol, none of its work"
"$build/bench/bench_login" "$module" "$rounds" "$per" 1000
