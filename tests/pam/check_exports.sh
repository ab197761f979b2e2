#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# The module exports the PAM entry points and nothing else (linker version
# script pam_riskremediate.map): no symbol of SQLite, libyaml or our own
# layers can clash with another module or the application.
#
#   check_exports.sh MODULE.so
set -u
[ $# -eq 1 ] || { echo "usage: $0 MODULE.so" >&2; exit 2; }
want='pam_sm_acct_mgmt
pam_sm_authenticate
pam_sm_chauthtok
pam_sm_close_session
pam_sm_open_session
pam_sm_setcred'
got=$(nm -D --defined-only "$1" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' | sort) ||
	{ echo "not ok - nm failed on $1"; exit 1; }
if [ "$got" != "$want" ]; then
	echo "not ok - exported symbols differ:"
	echo "$got" | sed 's/^/  got:  /'
	echo "$want" | sed 's/^/  want: /'
	exit 1
fi
echo "ok - exports exactly the six pam_sm_* entry points"
