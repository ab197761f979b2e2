#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run_cluster_test.sh TOOL PROGRAM [ARG...]: start a test cluster with TOOL
# (tests/etcd/etcd-cluster) in a fresh directory (under /dev/shm when
# writable: etcd's fsyncs cost little there), run PROGRAM with the
# cluster's env file exported, RR_ETCD_CLUSTER_DIR and
# RR_ETCD_CLUSTER_TOOL, and stop the cluster on every exit path.
# RR_TEST_ETCD_VALGRIND=1 runs PROGRAM under valgrind (memory errors,
# definite leaks).  Exit status: PROGRAM's; 77 (skipped) without root
# (the password file must be root-owned) or without etcd.
set -u
tool=$1
shift
[ "$(id -u)" = 0 ] || { echo "skipped: needs root (root-owned password file)"; exit 77; }
command -v etcd >/dev/null || { echo "skipped: no etcd (Debian etcd-server)"; exit 77; }
base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
dir=$(mktemp -d "$base/rr-etcd-test.XXXXXX") || exit 1
trap '"$tool" stop "$dir"' EXIT
trap 'exit 143' TERM INT HUP
if ! "$tool" start "$dir"; then
	tail -n 20 "$dir"/m*.log >&2
	exit 1
fi
set -a
# shellcheck disable=SC1091
. "$dir/env"
set +a
export RR_ETCD_CLUSTER_DIR=$dir RR_ETCD_CLUSTER_TOOL=$tool
wrap=()
[ "${RR_TEST_ETCD_VALGRIND:-0}" = 1 ] &&
	wrap=(valgrind -q --error-exitcode=9 --leak-check=full
	      --errors-for-leak-kinds=definite)
"${wrap[@]}" "$@"
rc=$?
# a failed run: the members' last words, before the EXIT trap removes them
if [ "$rc" != 0 ]; then
	for f in "$dir"/m*.log; do
		[ -f "$f" ] || continue
		echo "---- $f (last 15 lines)" >&2
		tail -n 15 "$f" >&2
	done
fi
exit "$rc"
