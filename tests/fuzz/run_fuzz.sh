#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# run_fuzz.sh FUZZER WORKDIR SECONDS SEED-DIR...: run a libFuzzer target for
# SECONDS (RR_FUZZ_SECONDS overrides) from the seeds, new inputs kept in
# WORKDIR/corpus (grows from run to run), a crashing input written to
# WORKDIR/ and shown in base64 so that it can be turned into a regression
# seed.  Exit status: the fuzzer's (0: no crash, leak or timeout found).
set -u
[ $# -ge 4 ] || { echo "usage: $0 FUZZER WORKDIR SECONDS SEED-DIR..." >&2; exit 2; }
fuzzer=$1 work=$2 secs=${RR_FUZZ_SECONDS:-$3}
shift 3
mkdir -p "$work/corpus" || exit 1
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-max_len=65536 -print_final_stats=1 -artifact_prefix="$work/" \
	"$work/corpus" "$@"
rc=$?
if [ "$rc" != 0 ]; then
	for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		[ -f "$f" ] || continue
		echo "---- $f (base64):"
		base64 "$f"
	done
fi
exit "$rc"
