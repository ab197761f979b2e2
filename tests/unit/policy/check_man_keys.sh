#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Every key the policy loader accepts must be documented in
# riskremediate.yaml(5).  The loader's key tables are the single source of
# truth: each accepted key is written KEY("name", handler) in
# pam_riskremediate/policy/*.c.  The man page must show each one in bold
# (*name* in scdoc), which is how the key reference is written.
#
# usage: check_man_keys.sh SOURCE_ROOT
set -eu

root=${1:-.}
man="$root/man/riskremediate.yaml.5.scd"

keys=$(sed -n 's/.*KEY("\([^"]*\)".*/\1/p' "$root"/pam_riskremediate/policy/*.c |
	sort -u)
if [ -z "$keys" ]; then
	echo "check_man_keys: no KEY(\"...\") entries found under" \
		"$root/pam_riskremediate/policy" >&2
	exit 1
fi

missing=
for k in $keys; do
	grep -qF -- "*$k*" "$man" || missing="$missing $k"
done
if [ -n "$missing" ]; then
	echo "check_man_keys: keys accepted by the loader but not documented" \
		"as *key* in $man:$missing" >&2
	exit 1
fi
echo "check_man_keys: all $(echo "$keys" | wc -l) keys documented"
