#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# What runs in the application's process reads no environment variable:
# under a set-user-ID su or passwd the environment is the unprivileged
# caller's (pam_riskremediate(8), SECURITY).  Neither the module nor its
# core library imports getenv, secure_getenv or environ; pam_getenv (the
# PAM handle's environment, which the application sets) is allowed.
# Libraries they load (libcurl is dlopen()ed only by riskd's code path)
# are not covered: that rule is the host's network_allowed.
#
#   check_noenv.sh MODULE.so CORE.so
set -u
[ $# -eq 2 ] || { echo "usage: $0 MODULE.so CORE.so" >&2; exit 2; }
rc=0
for f in "$@"; do
	got=$(nm -D --undefined-only "$f" | awk '{ print $NF }' | sed 's/@.*//' |
		grep -xE '(__)?(secure_)?getenv|(__)?environ|putenv|setenv|unsetenv|clearenv') ||
		true
	# A coverage build (-Db_coverage=true, tests/run-all's build-ci)
	# links libgcov in, which reads GCOV_PREFIX and the like when the
	# program exits: getenv is allowed there only when every call to it
	# is in libgcov's own functions (gcov_*, __gcov_*).
	if [ "$got" = getenv ] && nm "$f" | grep -q ' __gcov_init$'; then
		callers=$(objdump -d --no-show-raw-insn "$f" |
			awk '/^[0-9a-f]+ <.*>:$/ { fn = $2 }
			     /^ / && /<getenv@plt>/ { print fn }' | sort -u |
			grep -vxE '<(__)?gcov_[A-Za-z0-9_.]*>:') || true
		if [ -z "$callers" ]; then
			echo "ok - $f: only libgcov calls getenv (coverage build)"
			got=
		else
			got="getenv (from $(echo $callers))"
		fi
	fi
	if [ -n "$got" ]; then
		echo "not ok - $f imports: $got"
		rc=1
	fi
done
[ $rc = 0 ] && echo "ok - the module and its core read no environment variable"
exit $rc
