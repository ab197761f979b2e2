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
	if [ -n "$got" ]; then
		echo "not ok - $f imports: $got"
		rc=1
	fi
done
[ $rc = 0 ] && echo "ok - the module and its core read no environment variable"
exit $rc
