#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# package: the Debian packages built from this source tree, installed,
# used through the real ssh client, and purged.
#
#   test_install.sh SOURCE-ROOT RR-SSH.EXP
#
#  1. dpkg-buildpackage -us -uc -b on a copy of the tracked files (and the
#     untracked, not ignored ones: a change not committed yet is tested
#     too) in a scratch directory, so the source tree gets no build
#     litter; lintian on the .changes (both .debs, the dbgsym .debs, the
#     .buildinfo) reports no error and no warning.
#  2. apt-get install ./libpam-riskremediate_*.deb ./riskremediate_*.deb:
#     nothing in /etc/pam.d changes; the units verify
#     (systemd-analyze verify, offline); riskctl policy check passes on the
#     installed sample policy.  The sample, plus README.md's "Block high
#     user risk", is installed as the admin would (riskctl policy install)
#     at the default /etc/security/riskremediate.yaml.
#  3. riskd as systemd would run it.  There is no systemd (PID 1) in the
#     test container, so the test reads the INSTALLED units: riskd.socket's
#     ListenStream= and riskd.service's ExecStart=, and runs
#     `systemd-socket-activate -l LISTEN EXECSTART`, which listens on the
#     socket and, at the first connection, becomes riskd with the socket
#     passed as LISTEN_FDS, as systemd does; the test applies the socket's
#     SocketMode= itself.  The service's sandboxing (ProtectSystem= and the
#     like) is not applied here.
#  4. The INSTALLED conf/pam.d/sshd stack (/usr/share/riskremediate/pam.d/
#     sshd, unmodified: the installed module by name, the default policy)
#     as the PAM service of an sshd copy named rr-pkg-sshd-XXXXXXXX on a
#     random loopback port, configured with the installed
#     sshd_config.d/riskremediate.conf, and a temporary user: a sign-in
#     with ssh under expect (tools/demo/rr-ssh.exp) succeeds and started
#     riskd (the socket's process became /usr/sbin/riskd, which holds the
#     store open); /usr/sbin/riskctl metrics passes promtool check metrics
#     and shows riskd up, its auth calls timed and the sign-in counted;
#     /usr/sbin/riskctl confirm-compromised blocks the user
#     (the exact message and its reference, looked up with riskctl
#     signins --ref); riskctl unblock lets the next sign-in through; with
#     riskd killed, a sign-in still succeeds (the module in sshd's process).
#  5. apt-get install --reinstall of both .debs succeeds; then apt-get purge:
#     dpkg knows neither package, and no file, link or directory either
#     installed is left (directories other packages own excepted), no
#     maintainer script, no deb-systemd-helper state or unit link; under
#     /etc, /lib, /usr, /var and /run nothing named *risk* appeared except
#     what README.Debian says purge keeps: the store /var/lib/riskremediate
#     (it holds data), the admin's policy and the MFA key file postinst
#     made (unchanged by the reinstall).  README.Debian's commands remove
#     those; an install and purge after that leave nothing at all.
#
# Needs root and Debian's packaging tools (dpkg-dev, debhelper, fakeroot,
# lintian, meson, the build dependencies); without them it FAILS (a skip
# would hide that nothing was tested).  It refuses to run, and fails, when
# the packages are installed already or an earlier install left
# /etc/security/riskremediate.{yaml,key}, /var/lib/riskremediate or
# /run/riskremediate: it creates those and removes them at the end.  It
# also creates the user rrpkg-XXXXXXXX, /etc/pam.d/rr-pkg-sshd-XXXXXXXX,
# an sshd copy and a scratch directory in /tmp, and removes them on every
# exit path (the packages too, if a step failed before the purge).
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../e2e/lib.sh" || exit 1

if [ $# -ne 2 ]; then
	echo "usage: $0 SOURCE-ROOT RR-SSH.EXP" >&2
	exit 2
fi
SRC=$(readlink -f "$1")
EXP=$(readlink -f "$2")
N=0
PKGS=(libpam-riskremediate riskremediate)
RISKCTL=/usr/sbin/riskctl
RISKD=/usr/sbin/riskd
POLICY=/etc/security/riskremediate.yaml
KEYFILE=/etc/security/riskremediate.key
STOREDIR=/var/lib/riskremediate
RUNDIR=/run/riskremediate
SHARE=/usr/share/riskremediate
UNITDIR=/lib/systemd/system
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null) || MULTIARCH=
PAMDIR=/lib/$MULTIARCH/security
SAN_ENV=()
PY=/usr/bin/python3

# ---- what it needs: root and Debian's tools; missing is a failure ---------

begin "root, Debian 12's packaging tools, nothing of a previous install"
[ "$(id -u)" = 0 ] || fail "needs root (installs packages, creates a user, a PAM service, an sshd)"
for t in dpkg-buildpackage dpkg-architecture dh fakeroot lintian apt-get git \
	meson ninja scdoc systemd-analyze systemd-socket-activate /usr/sbin/sshd \
	ssh ssh-keygen expect useradd userdel chpasswd "$PY"; do
	command -v "$t" >/dev/null || fail "$t is missing (tests/run-all installs what this test needs)"
done
[ -n "$MULTIARCH" ] || fail "dpkg-architecture -qDEB_HOST_MULTIARCH failed"
if [ ! -d "$SRC/debian" ] || [ ! -e "$SRC/.git" ]; then
	fail "$SRC is not a git checkout with debian/"
fi
for p in "${PKGS[@]}"; do
	if dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -qv '^unknown ok not-installed$'; then
		fail "$p is installed (or its configuration is left): this test installs and purges it; purge it first"
	fi
done
for f in "$POLICY" "$KEYFILE" "$STOREDIR" "$RUNDIR"; do
	[ -e "$f" ] && fail "$f exists (an install of pam_riskremediate?): this test would remove it; move it away first"
done
pass "all there; no earlier install"

SUFFIX=$(random_suffix)
TUSER=rrpkg-$SUFFIX
SERVICE=rr-pkg-sshd-$SUFFIX
PAMFILE=/etc/pam.d/$SERVICE
SCRATCH=$(mktemp -d /tmp/rr-pkg.XXXXXX) || exit 1
SSHD_COPIES=("$SCRATCH/$SERVICE")
PASSWORD=$(newpw)
USER_CREATED=0
INSTALLED=0
SA_PID=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	dump_logs "$rc" 40 "$SCRATCH/sshd.log" "$SCRATCH/riskd.log"
	stop_our_sshds
	if [ -n "$SA_PID" ] && kill -0 "$SA_PID" 2>/dev/null; then
		kill "$SA_PID" 2>/dev/null
		wait "$SA_PID" 2>/dev/null
	fi
	[ "$USER_CREATED" = 1 ] && remove_user "$TUSER"
	rm -f "$PAMFILE"
	if [ "$INSTALLED" = 1 ]; then
		echo "# cleanup: purging the packages the test installed"
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -q \
			-o DPkg::Lock::Timeout=120 "${PKGS[@]}" >/dev/null 2>&1 ||
			echo "cleanup: apt-get purge ${PKGS[*]} failed" >&2
	fi
	# created by the test (they did not exist when it started)
	rm -rf "$STOREDIR" "$RUNDIR"
	rm -f "$POLICY" "$KEYFILE"
	rm -rf "$SCRATCH"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "# scratch $SCRATCH, user $TUSER, PAM service $PAMFILE"
chmod 0711 "$SCRATCH"

# snapshot NAME: every path under /etc /lib /usr /var /run whose name has
# "risk" in it (what the packages, riskd and the module could leave), but
# under an rr-* name: the scratch of the demo and the e2e tests
# (/run/rr-demo, /etc/pam.d/rr-e2e-*), which may run beside this test on a
# developer's machine; the packages have no such name
snapshot() {
	find /etc /lib /usr /var /run -xdev -iname '*risk*' 2>/dev/null |
		grep -v '/rr-' | sort >"$SCRATCH/$1"
}
snapshot fs-before
# sha DIR: checksums of DIR's files, but those the e2e tests create or
# replace while they run (rr-* PAM services; su, login and passwd: the
# clients tests): one may run beside this test on a developer's machine
# (CI runs this one alone).  The checks of the packages themselves (no
# file in /etc, no maintainer script naming PAM files) hold regardless.
E2E_PAM=(! -name 'rr-*' ! -name su ! -name login ! -name passwd)
sha() { (cd "$1" && find . -type f "${E2E_PAM[@]}" -print0 | sort -z | xargs -0r sha256sum); }
sha /etc/pam.d >"$SCRATCH/pam.d-before"
sha /etc/ssh >"$SCRATCH/ssh-before"

# ---- 1. build, lintian -----------------------------------------------------

begin "dpkg-buildpackage -us -uc -b on a copy of the source tree"
mkdir "$SCRATCH/build" "$SCRATCH/build/src" || fail "mkdir"
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard) |
	(cd "$SRC" && while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f"
	done) | tar -C "$SRC" --null -T - -cf - | tar -C "$SCRATCH/build/src" -xf - ||
	fail "cannot copy the source tree"
start=$(date +%s)
(cd "$SCRATCH/build/src" && DEB_BUILD_OPTIONS="parallel=2" \
	dpkg-buildpackage -us -uc -b) >"$SCRATCH/build.log" 2>&1 || {
	tail -n 40 "$SCRATCH/build.log"
	fail "dpkg-buildpackage failed"
}
VERSION=$(cd "$SCRATCH/build/src" && dpkg-parsechangelog -S Version) || fail "dpkg-parsechangelog"
ARCH=$(dpkg --print-architecture)
DEBS=()
for p in "${PKGS[@]}"; do
	DEBS+=("$SCRATCH/build/${p}_${VERSION}_$ARCH.deb")
	[ -f "${DEBS[-1]}" ] || fail "no ${DEBS[-1]}"
done
CHANGES=$SCRATCH/build/pam-riskremediate_${VERSION}_$ARCH.changes
[ -f "$CHANGES" ] || fail "no $CHANGES"
for d in "${DEBS[@]}"; do
	echo "# ${d##*/}:"
	dpkg-deb -c "$d" | awk '{ print "#   " $1 " " $6 }'
	dpkg-deb -c "$d" | grep -q '^l' && fail "${d##*/} ships a symbolic link (the purge check assumes none)"
done
pass "built in $(($(date +%s) - start)) s: ${DEBS[*]##*/}"

begin "lintian: no error, no warning (the .debs, dbgsym .debs, .buildinfo, .changes)"
lintian --fail-on error,warning "$CHANGES" >"$SCRATCH/lintian.out" 2>&1
lrc=$?
sed 's/^/  | /' "$SCRATCH/lintian.out"
grep -Eq '^[EW]: ' "$SCRATCH/lintian.out" && fail "lintian reports errors or warnings"
[ "$lrc" = 0 ] || fail "lintian exit status $lrc"
grep -q 'libpam-riskremediate' "$CHANGES" && grep -q '\.buildinfo' "$CHANGES" ||
	fail "the .changes does not list the packages and the .buildinfo"
pass "lintian clean"

# ---- 2. install --------------------------------------------------------------

apt_get() {
	DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120 "$@" \
		>"$SCRATCH/apt.log" 2>&1 || {
		tail -n 30 "$SCRATCH/apt.log"
		return 1
	}
}

begin "apt-get install ./${DEBS[0]##*/} ./${DEBS[1]##*/}"
INSTALLED=1
apt_get install "${DEBS[@]}" || fail "apt-get install failed"
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${Status} ${Version}' "$p") || fail "dpkg-query $p"
	[ "$st" = "install ok installed $VERSION" ] || fail "$p: '$st'"
done
pass "both installed, version $VERSION"

begin "the install changed nothing in /etc/pam.d and /etc/ssh, installed no policy"
sha /etc/pam.d | cmp -s - "$SCRATCH/pam.d-before" || fail "/etc/pam.d changed: $(sha /etc/pam.d | diff "$SCRATCH/pam.d-before" -)"
sha /etc/ssh | cmp -s - "$SCRATCH/ssh-before" || fail "/etc/ssh changed"
[ -e "$POLICY" ] && fail "the install created $POLICY"
find /etc/pam.d -type f "${E2E_PAM[@]}" -print0 | xargs -0r grep -lw pam_riskremediate &&
	fail "a file in /etc/pam.d names the module"
for p in "${PKGS[@]}"; do
	dpkg -L "$p" | grep -E '^/etc(/|$)' | grep -vx /etc && fail "$p installs into /etc"
	for m in preinst postinst prerm postrm config; do
		[ -f "/var/lib/dpkg/info/$p.$m" ] && echo "/var/lib/dpkg/info/$p.$m"
	done | xargs -r grep -lE 'pam\.d|pam-auth-update|pam-configs' &&
		fail "a maintainer script of $p touches PAM configuration"
done
pass "untouched; no file in /etc, no maintainer script names pam.d"

begin "the module and its core at the packaged path; the binaries run"
[ -f "$PAMDIR/pam_riskremediate.so" ] || fail "no $PAMDIR/pam_riskremediate.so"
[ -f "$PAMDIR/riskremediate/pam_riskremediate_core.so" ] || fail "no core library next to the module"
ldd "$PAMDIR/riskremediate/pam_riskremediate_core.so" | grep -q 'not found' &&
	fail "the core library misses a library: $(ldd "$PAMDIR/riskremediate/pam_riskremediate_core.so")"
for b in "$RISKCTL" "$RISKD"; do
	[ -x "$b" ] || fail "no $b"
	ldd "$b" | grep -q 'not found' && fail "$b misses a library"
done
"$RISKCTL" --version >/dev/null 2>&1 || "$RISKCTL" --help >/dev/null 2>&1 ||
	fail "riskctl does not run"
pass "$PAMDIR/pam_riskremediate.so, riskremediate/pam_riskremediate_core.so, riskctl, riskd"

begin "systemd-analyze verify: the installed units"
mapfile -t UNITS < <(dpkg -L riskremediate | grep -E "^$UNITDIR/[^/]+\.(service|socket|timer)\$")
for u in riskd.service riskd.socket riskremediate-feeds.timer \
	riskremediate-metrics.timer riskremediate-metrics.service; do
	[ -f "$UNITDIR/$u" ] || fail "no $UNITDIR/$u"
done
out=$(systemd-analyze verify --man=no "${UNITS[@]}" 2>&1)
vrc=$?
[ "$vrc" = 0 ] && [ -z "$out" ] || fail "systemd-analyze verify (exit $vrc): $out"
# what the package enabled (deb-systemd-helper makes the links without a
# running systemd): riskd.socket only
enabled=$(find /etc/systemd/system -type l -lname "$UNITDIR/*" -printf '%P -> %l\n' |
	grep -E -- "-> $UNITDIR/(riskd\.|riskremediate-)" | sort)
[ "$enabled" = "sockets.target.wants/riskd.socket -> $UNITDIR/riskd.socket" ] ||
	fail "enabled: '$enabled', expected riskd.socket only"
pass "clean: ${UNITS[*]##*/}; enabled: ${enabled:-none}"

begin "riskctl policy check on the installed sample; installed as README.Debian says"
"$RISKCTL" policy check "$SHARE/riskremediate.yaml" >"$SCRATCH/check.out" 2>&1 || {
	cat "$SCRATCH/check.out"
	fail "riskctl policy check rejects the installed sample"
}
sed 's/^/  | /' "$SCRATCH/check.out"
grep -qx "$SHARE/riskremediate.yaml: OK (.*)" "$SCRATCH/check.out" || fail "no OK from riskctl policy check"
# no warning: postinst made the MFA key file (riskd's sandbox could not)
other=$(grep -v -x -e "$SHARE/riskremediate.yaml: OK (.*)" "$SCRATCH/check.out")
[ -z "$other" ] || fail "riskctl policy check on the sample says more: $other"
key=$(stat -c '%s %a %U' "$KEYFILE") || fail "postinst made no $KEYFILE"
[ "$key" = "32 600 root" ] || fail "$KEYFILE: '$key', expected 32 bytes, 0600, root"
cp "$KEYFILE" "$SCRATCH/key.orig" || fail "cp $KEYFILE"
# the sample plus README.md's "Block high user risk" (an organisation that
# blocks high-risk users outright)
cp "$SHARE/riskremediate.yaml" "$SCRATCH/policy.yaml" || fail "cp sample"
cat >>"$SCRATCH/policy.yaml" <<'EOF'
  - name: Block high user risk
    state: enabled
    users: { include: [all], exclude: [root] }
    groups: { exclude: [breakglass] }
    conditions: { user_risk: [high] }
    grant: { block: true }
EOF
"$RISKCTL" policy install "$SCRATCH/policy.yaml" >"$SCRATCH/install.out" 2>&1 || {
	cat "$SCRATCH/install.out"
	fail "riskctl policy install"
}
[ -f "$POLICY" ] || fail "riskctl policy install did not create $POLICY"
"$RISKCTL" policy check >"$SCRATCH/check2.out" 2>&1 || {
	cat "$SCRATCH/check2.out"
	fail "riskctl policy check (the default policy)"
}
pass "sample accepted; $POLICY installed and accepted"

# ---- 3. riskd, socket-activated from the installed units ---------------------

# unit_value FILE KEY: the last KEY= value in FILE (systemd keeps the last)
unit_value() { sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//p" "$1" | tail -n1; }

begin "riskd as the installed units start it"
EXEC=$(unit_value "$UNITDIR/riskd.service" ExecStart)
EXEC=${EXEC#[-@:+!]}
[ -n "$EXEC" ] || fail "riskd.service has no ExecStart="
read -r -a EXEC_ARGV <<<"$EXEC"
[ "${EXEC_ARGV[0]}" = "$RISKD" ] || fail "riskd.service runs '${EXEC_ARGV[0]}', not $RISKD"
# what the socket unit creates (DirectoryMode=)
mkdir -m 0700 "$RUNDIR" || fail "mkdir $RUNDIR"
LISTEN=$(unit_value "$UNITDIR/riskd.socket" ListenStream)
[ "$LISTEN" = "$RUNDIR/riskd.sock" ] ||
	fail "riskd.socket listens on '$LISTEN', the module connects to $RUNDIR/riskd.sock"
systemd-socket-activate -l "$LISTEN" "${EXEC_ARGV[@]}" 2>"$SCRATCH/riskd.log" &
SA_PID=$!
for _ in $(seq 100); do
	[ -S "$LISTEN" ] && break
	sleep 0.05
done
[ -S "$LISTEN" ] || fail "nothing listens on $LISTEN"
# systemd-socket-activate makes the socket 0644 whatever the umask; systemd
# applies the unit's SocketMode= (riskd refuses any access for group or
# others)
MODE=$(unit_value "$UNITDIR/riskd.socket" SocketMode)
[ -n "$MODE" ] || fail "riskd.socket has no SocketMode= (systemd's default, 0666, riskd refuses)"
chmod "$MODE" "$LISTEN" || fail "chmod $MODE $LISTEN"
exe() { readlink "/proc/$1/exe" 2>/dev/null; }
[ "$(exe "$SA_PID")" = /usr/bin/systemd-socket-activate ] ||
	fail "riskd started before any connection: $(exe "$SA_PID")"
pass "systemd-socket-activate -l $LISTEN $EXEC, SocketMode=$MODE (pid $SA_PID)"

# ---- 4. sshd with the installed stack ----------------------------------------

begin "an sshd copy with the installed pam.d/sshd and sshd_config.d snippet"
add_user "$TUSER" "$PASSWORD" "rr package test (tests/package)"
[ -f "$SHARE/pam.d/sshd" ] || fail "no $SHARE/pam.d/sshd"
cp "$SHARE/pam.d/sshd" "$PAMFILE" || fail "cp $SHARE/pam.d/sshd $PAMFILE"
grep -Eq '^auth[[:space:]]+\[default=die\][[:space:]]+pam_riskremediate\.so authfail$' "$PAMFILE" ||
	fail "the installed stack has no authfail line naming the module by name"
prepare_sshd
PORT=$({ grep -v '^[[:space:]]*#' "$SHARE/sshd_config.d/riskremediate.conf"
	echo "AllowUsers $TUSER"; } | start_sshd "$SERVICE" "$SCRATCH/sshd.log") ||
	fail "sshd did not start (see its log)"
known_hosts "$PORT"
pass "sshd $SCRATCH/$SERVICE on 127.0.0.1:$PORT, PAM service $PAMFILE"

OFFER="Multifactor authentication is required by Example Corp. You have 14 days left to set it up. Set up now? [y/N]"

begin "a sign-in through the installed module, served by the socket-activated riskd"
RR_SSH_SETUP=n ssh_kbd "$PORT" "$TUSER" "$PASSWORD"
login_ok "the first login failed"
has "$OFFER" || fail "no registration offer '$OFFER' (the sample policy's)"
signins_json "$SCRATCH/s1.json" --user "$TUSER"
expect_field "$SCRATCH/s1.json" 'len(d)' 1
expect_field "$SCRATCH/s1.json" 'd[0]["outcome"]' success
[ "$(exe "$SA_PID")" = "$RISKD" ] || fail "no riskd at pid $SA_PID after the sign-in: '$(exe "$SA_PID")'"
# holds_open PID FILE: one of PID's descriptors is FILE
holds_open() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "$2" ] && return 0
	done
	return 1
}
holds_open "$SA_PID" "$STOREDIR/risk.db" ||
	fail "riskd (pid $SA_PID) does not hold $STOREDIR/risk.db open"
pass "LOGIN-OK; riskd $SA_PID runs and holds the store open; 1 sign-in recorded"

begin "riskctl metrics: the installed riskctl asks the socket-activated riskd"
"$RISKCTL" metrics >"$SCRATCH/metrics.prom" 2>"$SCRATCH/metrics.err" ||
	fail "riskctl metrics failed: $(cat "$SCRATCH/metrics.err")"
[ -s "$SCRATCH/metrics.err" ] && fail "riskctl metrics said: $(cat "$SCRATCH/metrics.err")"
promtool check metrics <"$SCRATCH/metrics.prom" >"$SCRATCH/promtool.out" 2>&1 &&
	[ ! -s "$SCRATCH/promtool.out" ] ||
	fail "promtool check metrics: $(cat "$SCRATCH/promtool.out")"
grep -qx 'riskremediate_riskd_up 1' "$SCRATCH/metrics.prom" ||
	fail "riskd_up is not 1: $(grep riskd_up "$SCRATCH/metrics.prom")"
AUTH_CALLS=$(sed -n 's/^riskremediate_riskd_call_duration_seconds_count{type="auth"} //p' \
	"$SCRATCH/metrics.prom")
[ "${AUTH_CALLS:-0}" -ge 1 ] 2>/dev/null || fail "no auth call timed by riskd: '$AUTH_CALLS'"
grep -qx "riskremediate_signins_retained{service=\"$SERVICE\",decision=\"allow\",outcome=\"success\"} 1" \
	"$SCRATCH/metrics.prom" || fail "the sign-in is not counted: $(grep signins_retained "$SCRATCH/metrics.prom")"
pass "promtool clean; riskd_up 1; $AUTH_CALLS auth call(s) timed; 1 sign-in of $SERVICE"

begin "riskctl confirm-compromised: the sign-in is blocked with the message and a reference"
"$RISKCTL" confirm-compromised "$TUSER" >/dev/null || fail "riskctl confirm-compromised"
RR_SSH_SETUP=n ssh_kbd "$PORT" "$TUSER" "$PASSWORD"
login_refused "the blocked login succeeded"
ref_of "Sign-in blocked:"
[ "$LINE" = "Sign-in blocked: your account is at high risk. Contact your IT help desk and quote reference $REF." ] ||
	fail "block message differs: '$LINE'"
signins_json "$SCRATCH/s2.json" --ref "$REF"
expect_field "$SCRATCH/s2.json" 'len(d)' 1
expect_field "$SCRATCH/s2.json" 'd[0]["user"]' "$TUSER"
expect_field "$SCRATCH/s2.json" 'd[0]["outcome"]' blocked
expect_field "$SCRATCH/s2.json" '"Block high user risk" in d[0]["appliedPolicies"]' True
[ "$(exe "$SA_PID")" = "$RISKD" ] || fail "riskd $SA_PID is gone"
pass "blocked, reference $REF (riskctl signins --ref)"

begin "riskctl unblock: the next sign-in succeeds"
"$RISKCTL" unblock "$TUSER" >/dev/null || fail "riskctl unblock"
RR_SSH_SETUP=n ssh_kbd "$PORT" "$TUSER" "$PASSWORD"
login_ok "the login after unblock failed"
signins_json "$SCRATCH/s3.json" --user "$TUSER" --limit 1
expect_field "$SCRATCH/s3.json" 'd[0]["outcome"]' success
pass "LOGIN-OK after unblock"

begin "riskd gone: the module runs in sshd's process, the sign-in still succeeds"
kill "$SA_PID" || fail "kill riskd"
wait "$SA_PID" 2>/dev/null
SA_PID=
RR_SSH_SETUP=n ssh_kbd "$PORT" "$TUSER" "$PASSWORD"
login_ok "the login without riskd failed"
signins_json "$SCRATCH/s4.json" --user "$TUSER"
expect_field "$SCRATCH/s4.json" 'len(d)' 4
expect_field "$SCRATCH/s4.json" 'd[0]["outcome"]' success
pass "LOGIN-OK without riskd; 4 sign-ins recorded"

stop_our_sshds
rm -f "$PAMFILE"
remove_user "$TUSER"
USER_CREATED=0

# ---- 5. reinstall, purge -----------------------------------------------------

begin "apt-get install --reinstall of both packages"
apt_get install --reinstall "${DEBS[@]}" || fail "apt-get install --reinstall failed"
cmp -s "$KEYFILE" "$SCRATCH/key.orig" || fail "the reinstall replaced $KEYFILE"
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p") || fail "dpkg-query $p"
	[ "$st" = "install ok installed" ] || fail "$p after reinstall: '$st'"
done
pass "reinstalled"

begin "apt-get purge: nothing the packages installed is left"
: >"$SCRATCH/files"
for p in "${PKGS[@]}"; do
	dpkg -L "$p" >>"$SCRATCH/files" || fail "dpkg -L $p"
	dpkg-query -W -f='${Conffiles}\n' "$p" | awk 'NF { print $1 }' >>"$SCRATCH/files"
	ls /var/lib/dpkg/info/"$p".* /var/lib/dpkg/info/"$p":*.* 2>/dev/null >>"$SCRATCH/files"
done
grep -qx "$PAMDIR/riskremediate/pam_riskremediate_core.so" "$SCRATCH/files" ||
	fail "dpkg -L does not list the core library"
grep -qx "$SHARE/pam.d/sshd" "$SCRATCH/files" || fail "dpkg -L does not list $SHARE/pam.d/sshd"
grep -qx "$SHARE/fail2ban/filter.d/pam_riskremediate.conf" "$SCRATCH/files" ||
	fail "dpkg -L does not list the fail2ban filter"
apt_get purge "${PKGS[@]}" || fail "apt-get purge failed"
INSTALLED=0
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = "unknown ok not-installed" ] || fail "$p after purge: '$st'"
done
left=()
while IFS= read -r f; do
	[ -n "$f" ] && [ "$f" != /. ] || continue
	[ -e "$f" ] || [ -L "$f" ] || continue
	# a directory another package owns (/usr/share/man/man8,
	# /lib/systemd/system), or merged /usr's /lib -> usr/lib (the packages
	# ship no symbolic link: checked below)
	if [ -d "$f" ]; then
		[ -L "$f" ] && continue
		dpkg-query -S "$f" >/dev/null 2>&1 && continue
	fi
	left+=("$f")
done <"$SCRATCH/files"
[ ${#left[@]} -eq 0 ] || fail "left after purge: ${left[*]}"
links=$(find /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled \
	/var/lib/systemd/deb-systemd-helper-masked -iname '*risk*' 2>/dev/null)
[ -z "$links" ] || fail "unit links or deb-systemd-helper state left: $links"
[ -e "$RUNDIR" ] && fail "$RUNDIR is left"
pass "$(wc -l <"$SCRATCH/files") paths gone (shared directories excepted)"

begin "purge kept the admin's store (it holds data), policy and MFA key, as README.Debian says"
[ -f "$STOREDIR/risk.db" ] || fail "the store $STOREDIR/risk.db is gone"
[ -f "$POLICY" ] || fail "the admin's policy $POLICY is gone"
cmp -s "$KEYFILE" "$SCRATCH/key.orig" || fail "the MFA key $KEYFILE is gone or changed"
snapshot fs-after
# new paths named *risk* since before the install: the store, the policy
# and the key
extra=$(comm -13 "$SCRATCH/fs-before" "$SCRATCH/fs-after" |
	grep -v -x -e "$STOREDIR" -e "$STOREDIR/.*" -e "$POLICY" -e "$KEYFILE")
[ -z "$extra" ] || fail "left after purge besides the store, the policy and the key: $extra"
pass "$STOREDIR, $POLICY and $KEYFILE kept; nothing else"

begin "README.Debian's removal commands; then install and purge leave nothing at all"
rm -rf "$STOREDIR" && rm -f "$KEYFILE" "$POLICY" || fail "README.Debian's rm"
apt_get install "${DEBS[@]}" || fail "apt-get install (again) failed"
INSTALLED=1
[ -f "$KEYFILE" ] || fail "postinst made no $KEYFILE (second install)"
cmp -s "$KEYFILE" "$SCRATCH/key.orig" && fail "the second install's key equals the first's"
apt_get purge "${PKGS[@]}" || fail "apt-get purge (again) failed"
INSTALLED=0
snapshot fs-after2
extra=$(comm -13 "$SCRATCH/fs-before" "$SCRATCH/fs-after2")
[ -z "$extra" ] || fail "left after install and purge without data: $extra"
pass "nothing named *risk* left"

finish "from the installed module"
