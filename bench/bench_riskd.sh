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
"$build/tools/riskd/riskd" --socket "$dir/riskd.sock" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
i=0
while [ ! -S "$dir/riskd.sock" ]; do
	i=$((i + 1))
	[ $i -lt 500 ] || { echo "riskd did not start" >&2; exit 1; }
	sleep 0.01
done
export RR_BENCH_RISKD="$dir/riskd.sock"
echo "== bench_login, the logic in riskd"
"$build/bench/bench_login" "$module" "$rounds" "$per" 100000
echo "== bench_mfa, the logic in riskd"
"$build/bench/bench_mfa" "$module" "$rounds" "$per"
kill "$pid"
wait "$pid"
trap 'rm -rf "$dir"' EXIT
echo "riskd stopped cleanly"
"$build/bench/bench_riskd_floor" "$dir/floor.sock" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
i=0
while [ ! -S "$dir/floor.sock" ]; do
	i=$((i + 1))
	[ $i -lt 500 ] || { echo "bench_riskd_floor did not start" >&2; exit 1; }
	sleep 0.01
done
echo "== bench_login against bench_riskd_floor: riskd's protocol, none of its work"
RR_BENCH_RISKD="$dir/floor.sock" "$build/bench/bench_login" "$module" \
	"$rounds" "$per" 1000
