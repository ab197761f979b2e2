#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench_fleet.sh BUILD-DIR [rounds] [logins-per-round] [actions] [watchers]
#                [storm-seconds] [BASE]
# Start a 3-member test cluster (tests/etcd/etcd-cluster: TLS, auth) in a
# new directory under BASE (default /dev/shm, as bench_etcd.sh; a disk
# directory such as /var/tmp includes etcd's fsyncs), run bench_fleet
# against it (defaults 7 rounds of 100 logins, 100 admin actions, 200
# watchers, a 20 s storm of failures on each backend; 0: none) and remove
# the cluster.  Run as root.  bench/README.md has the
# figures.
set -u
build=${1:?usage: bench_fleet.sh BUILD-DIR [rounds] [logins] [actions] [watchers] [storm-seconds] [BASE]}
rounds=${2:-7} per=${3:-100} actions=${4:-100} watchers=${5:-200}
storm=${6:-20} base=${7:-/dev/shm}
build=$(cd "$build" && pwd) || exit 1
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tool=$src/tests/etcd/etcd-cluster
dir=$(mktemp -d "$base/rr-etcd-bench-fleet.XXXXXX") || exit 1
trap '"$tool" stop "$dir"' EXIT
trap 'exit 143' TERM INT HUP
"$tool" start "$dir" || exit 1
set -a
# shellcheck disable=SC1091
. "$dir/env"
set +a
echo "cluster: 3 members on 127.0.0.1 (TLS, auth), data under $base"
"$build/bench/bench_fleet" \
	"$build/pam_riskremediate/module/pam_riskremediate.so" \
	"$rounds" "$per" "$actions" "$watchers" "$storm"
