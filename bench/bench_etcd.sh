#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench_etcd.sh BUILD-DIR [N] [BASE]: start a test cluster
# (tests/etcd/etcd-cluster: 3 members, TLS, auth) in a new directory under
# BASE (default /dev/shm: etcd's fsyncs cost nothing there; give a disk
# directory such as /var/tmp to include them), run bench_etcd N against
# it, and remove the cluster.  Needs root (the root-owned password file).
set -u
build=$1 n=${2:-1000} base=${3:-/dev/shm}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tool=$src/tests/etcd/etcd-cluster
dir=$(mktemp -d "$base/rr-etcd-bench.XXXXXX") || exit 1
trap '"$tool" stop "$dir"' EXIT
trap 'exit 143' TERM INT HUP
"$tool" start "$dir" || exit 1
set -a
# shellcheck disable=SC1091
. "$dir/env"
set +a
echo "cluster: 3 members on 127.0.0.1 (TLS, auth), data under $base"
"$build/bench/bench_etcd" "$n"
