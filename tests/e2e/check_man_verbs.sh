#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Fail when a verb that riskctl accepts is not documented in riskctl(8).
# riskctl is the single source of truth: `riskctl --list-verbs`.  A verb is
# documented when the VERBS section of the scdoc source has a term line
# starting with *VERB*.
#
# usage: check_man_verbs.sh RISKCTL MANPAGE.scd
set -u

riskctl=$1
man=$2

if [ ! -r "$man" ]; then
	echo "check_man_verbs: cannot read $man" >&2
	exit 1
fi
verbs=$("$riskctl" --list-verbs) || {
	echo "check_man_verbs: '$riskctl --list-verbs' failed" >&2
	exit 1
}
if [ -z "$verbs" ]; then
	echo "check_man_verbs: riskctl listed no verbs" >&2
	exit 1
fi

# The VERBS section: from "# VERBS" up to the next top-level heading.
section=$(awk '/^# /{ in_verbs = ($0 == "# VERBS") } in_verbs' "$man")
if [ -z "$section" ]; then
	echo "check_man_verbs: no '# VERBS' section in $man" >&2
	exit 1
fi

missing=0
count=0
# Split on newlines only: "policy check" is one verb.
old_ifs=$IFS
IFS='
'
for verb in $verbs; do
	count=$((count + 1))
	case $verb in
	*[!a-z\ -]* | '')
		echo "check_man_verbs: unexpected verb name '$verb'" >&2
		missing=1
		continue
		;;
	esac
	if ! printf '%s\n' "$section" | grep -q "^\*$verb\*"; then
		echo "check_man_verbs: verb '$verb' is not documented" \
			"in the VERBS section of $man" \
			"(expected a line starting with *$verb*)" >&2
		missing=1
	fi
done
IFS=$old_ifs

[ "$missing" -eq 0 ] || exit 1
echo "check_man_verbs: all $count verbs documented"
