#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# The orderings in the shipped conf/pam.d stacks that the module's security
# depends on (see pam_riskremediate(8)):
#  - password: pam_riskremediate is the last password line, right after
#    the password module with requisite, so it runs only when the new
#    password was set;
#  - session: where pam_riskremediate has a session line, it is the first
#    session line, before pam_env (user_readenv) can change the PAM
#    environment it reads SSH_AUTH_INFO_0 from;
#  - auth: every stack with a password has the authfail line right after
#    pam_unix, reached only when the password was wrong.
#
#   check_conf.sh CONF-PAM.D-DIR
set -u
[ $# -eq 1 ] || { echo "usage: $0 CONF-PAM.D-DIR" >&2; exit 2; }
dir=$1
n=0 bad=0
for f in "$dir"/*; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	name=$(basename "$f")
	lines=$(grep -E '^[[:space:]]*(auth|account|password|session|@include)' "$f")
	pw=$(printf '%s\n' "$lines" | grep -E '^[[:space:]]*password')
	if [ -n "$pw" ]; then
		last=$(printf '%s\n' "$pw" | tail -n 1)
		before=$(printf '%s\n' "$pw" | tail -n 2 | head -n 1)
		case $last in
		*requisite*pam_riskremediate.so*) ;;
		*) echo "not ok - $name: the last password line is not 'requisite pam_riskremediate.so': $last"; bad=1 ;;
		esac
		case $before in
		*requisite*) ;;
		*) echo "not ok - $name: the password module before pam_riskremediate is not requisite: $before"; bad=1 ;;
		esac
	fi
	sess=$(printf '%s\n' "$lines" | grep -E '^[[:space:]]*(session|@include[[:space:]]+common-session)')
	if printf '%s\n' "$sess" | grep -q pam_riskremediate; then
		first=$(printf '%s\n' "$sess" | head -n 1)
		case $first in
		*pam_riskremediate.so*) ;;
		*) echo "not ok - $name: pam_riskremediate is not the first session line: $first"; bad=1 ;;
		esac
	fi
	auth=$(printf '%s\n' "$lines" | grep -E '^[[:space:]]*auth')
	if printf '%s\n' "$auth" | grep -q 'pam_unix.so'; then
		after=$(printf '%s\n' "$auth" | grep -A1 'pam_unix.so' | tail -n 1)
		case $after in
		*'[default=die]'*pam_riskremediate.so*authfail*) ;;
		*) echo "not ok - $name: no authfail line right after pam_unix: $after"; bad=1 ;;
		esac
	fi
done
[ "$n" -gt 0 ] || { echo "not ok - no files in $dir"; exit 1; }
[ "$bad" = 0 ] || exit 1
echo "ok - $n stacks in $dir: password last and requisite, session first, authfail after pam_unix"
