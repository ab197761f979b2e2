# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
#
# tests/e2e/lib.sh: the helpers the bash e2e tests share (sshd/test_sshd.sh,
# clients/test_clients.sh): TAP-like steps, riskctl and JSON checks, clients
# under tools/demo/rr-ssh.exp, sshd copies on 127.0.0.1, and the pieces of
# their cleanup.  A test sources it first, from its own directory:
#
#   . "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh" || exit 1
#
# Sourcing only defines functions and the SSH_COMMON array: nothing runs,
# nothing is created.  What each function needs from the caller:
#
#   function        needs set                       sets / does
#   skip WHY        -                               exits 77
#   e2e_args        -                               MODULE RISKCTL EXP TOTP
#   require_clients MODULE                          PY; or exits 77
#   random_suffix   -                               prints 8 hex digits
#   newpw           -                               prints a random password
#   begin pass fail N (a number, 0 at the start)    begin: N+1; fail exits 1
#   finish FROM     N SCRATCH                       exits 0, or fails
#   port_in_use     -                               -
#   rctl            RISKCTL POLICY                  -
#   pam_conf FILE   MODULE POLICY                   prints FILE with the module
#   check_policy    RISKCTL POLICY SCRATCH N        fails if rejected
#   json            PY                              -
#   expect_field    PY N                            -
#   signins_json    RISKCTL POLICY N                -
#   run_exp         EXP                             OUT RC
#   ssh_exp         EXP SCRATCH (known_hosts)       OUT RC
#   ssh_kbd         EXP SCRATCH (known_hosts)       OUT RC
#   ssh_key         SCRATCH (known_hosts)           OUT RC
#   show            OUT RC                          OUT without CRs
#   has hasnt       OUT                             -
#   login_ok        OUT RC N                        -
#   login_refused   OUT RC N                        -
#   ref_of          OUT N                           LINE REF
#   secret_of_out   OUT                             -
#   sanitizer_env   MODULE SCRATCH                  SAN_ENV (array)
#   prepare_sshd    SCRATCH N                       /run/sshd, $SCRATCH/hostkey
#   start_sshd      SCRATCH SAN_ENV, the host key   prints the port
#   known_hosts     SCRATCH (hostkey.pub)           $SCRATCH/known_hosts
#   our_sshd_pids   SSHD_COPIES (array of paths)    -
#   stop_our_sshds  SSHD_COPIES                     -
#   remove_user     -                               -
#   dump_logs       -                               -
#
# SSHD_COPIES must list every sshd copy the test may start
# ("$SCRATCH/NAME" for each start_sshd NAME) before the cleanup trap is set:
# start_sshd prints the port, so it runs in a command substitution and
# cannot add to it, and the cleanup (stop_our_sshds) kills exactly those
# processes and no other sshd.  Each test keeps its own cleanup function and
# traps, built from stop_our_sshds, remove_user and dump_logs.

skip() { echo "SKIP: $*"; exit 77; }

# e2e_args USAGE COUNT "$@": exit 2 with USAGE unless there are COUNT
# arguments; MODULE, RISKCTL, EXP and TOTP are the first four, absolute.
e2e_args() {
	local usage=$1 count=$2
	shift 2
	if [ $# -ne "$count" ]; then
		echo "usage: $0 $usage" >&2
		exit 2
	fi
	MODULE=$(readlink -f "$1")
	RISKCTL=$(readlink -f "$2")
	EXP=$(readlink -f "$3")
	# shellcheck disable=SC2034 # for the caller
	TOTP=$(readlink -f "$4")
}

# require_clients WHY TOOL...: skip (77) unless this runs as root (WHY: what
# for), /usr/sbin/sshd, every TOOL and python3 (PY) are there, and the
# MODULE path has no white space (it goes into PAM lines).
require_clients() {
	local t
	[ "$(id -u)" = 0 ] || skip "needs root ($1)"
	shift
	[ -x /usr/sbin/sshd ] || skip "no /usr/sbin/sshd (apt-get install openssh-server)"
	for t in "$@"; do
		command -v "$t" >/dev/null && continue
		[ "$t" = oathtool ] && skip "no oathtool (apt-get install oathtool)"
		skip "no $t"
	done
	PY=/usr/bin/python3
	[ -x "$PY" ] || PY=$(command -v python3) || skip "no python3"
	case $MODULE in *[[:space:]]*) skip "module path has white space: $MODULE" ;; esac
}

random_suffix() { head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
newpw() { head -c 15 /dev/urandom | base64 | tr '+/' '.-'; }

# ---- steps -------------------------------------------------------------------

fail() {
	echo "not ok $N - $*"
	exit 1
}
pass() { echo "ok $N - $*"; }
begin() { N=$((N + 1)); echo "# $N: $*"; }

# finish FROM: fail if a sanitizer wrote a report (log_path in SCRATCH;
# FROM says whose, e.g. "from sshd"), else say that all steps passed and
# exit 0.
finish() {
	if ls "$SCRATCH"/asan* "$SCRATCH"/ubsan* >/dev/null 2>&1; then
		cat "$SCRATCH"/asan* "$SCRATCH"/ubsan* 2>/dev/null
		N=$((N + 1))
		fail "sanitizer reports $1 (above)"
	fi
	echo "# all $N steps passed"
	exit 0
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- riskctl and its JSON ----------------------------------------------------

rctl() { "$RISKCTL" --policy "$POLICY" "$@"; }

# pam_conf FILE: a shipped conf/pam.d file with this build's module and the
# test's policy on every pam_riskremediate line (comments untouched).
pam_conf() {
	sed -e "/^[[:space:]]*#/!s|pam_riskremediate\.so|$MODULE policy=$POLICY|" "$1"
}

# check_policy: fail unless riskctl accepts POLICY (its complaint shown).
check_policy() {
	rctl policy check >"$SCRATCH/check.out" 2>&1 || {
		cat "$SCRATCH/check.out"
		fail "riskctl policy check rejects the test policy"
	}
}

# json FILE PYTHON-EXPR: print the expression over the parsed JSON `d`.
json() {
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if not isinstance(v, (list, dict)) else json.dumps(v))' "$1" "$2"
}

# expect_field FILE PYTHON-EXPR VALUE: fail unless json prints VALUE.
expect_field() {
	local v
	v=$(json "$1" "$2") || fail "cannot evaluate $2 over $1"
	[ "$v" = "$3" ] || fail "$2 is '$v', expected '$3': $(cat "$1")"
}

# signins_json OUTFILE [riskctl signins options...]
signins_json() {
	local out=$1
	shift
	rctl --json signins "$@" >"$out" || fail "riskctl --json signins $* failed"
}

# ---- clients -----------------------------------------------------------------

# show: print OUT (the client's output, CRs removed from it) and RC, indented.
show() {
	OUT=$(printf '%s\n' "$OUT" | tr -d '\r')
	printf '%s\n' "$OUT" | sed 's/^/  | /'
	echo "  (exit status $RC)"
}

# run_exp PASSWORD COMMAND...: COMMAND under rr-ssh.exp.  What to answer to
# the module's questions comes from the environment of the call:
# RR_SSH_SETUP, RR_SSH_CODE or RR_SSH_CODE_CMD, RR_SSH_TAP,
# RR_SSH_NEW_PASSWORD, ... (see tools/demo/rr-ssh.exp).  Sets OUT and RC.
run_exp() {
	local pw=$1
	shift
	RC=0
	OUT=$(RR_SSH_PASSWORD=$pw RR_SSH_TIMEOUT=60 expect -f "$EXP" "$@" 2>&1) || RC=$?
	show
}

# the options of every ssh here: no configuration, only the test's host key
SSH_COMMON=(-F /dev/null -o GlobalKnownHostsFile=/dev/null
	-o StrictHostKeyChecking=yes -o ConnectTimeout=20)

# ssh_exp PASSWORD SSH-ARGUMENT...: ssh with SSH_COMMON and
# $SCRATCH/known_hosts under rr-ssh.exp (see run_exp).  Sets OUT and RC.
ssh_exp() {
	local pw=$1
	shift
	run_exp "$pw" ssh "${SSH_COMMON[@]}" \
		-o UserKnownHostsFile="$SCRATCH/known_hosts" "$@"
}

# ssh_kbd PORT USER PASSWORD [SSH-OPTION...]: password + keyboard-interactive
# as USER on 127.0.0.1:PORT, which runs 'echo LOGIN-OK'.  Sets OUT and RC.
ssh_kbd() {
	local port=$1 user=$2 pw=$3
	shift 3
	ssh_exp "$pw" -p "$port" "$@" \
		-o PreferredAuthentications=keyboard-interactive \
		-o PubkeyAuthentication=no -o PasswordAuthentication=no \
		-o NumberOfPasswordPrompts=1 "$user@127.0.0.1" 'echo LOGIN-OK'
}

# ssh_key PORT USER KEY [SSH-OPTION...]: the key and nothing else (BatchMode:
# no prompt) as USER on 127.0.0.1:PORT, which runs 'echo LOGIN-OK'.  Sets
# OUT and RC.
ssh_key() {
	local port=$1 user=$2 key=$3
	shift 3
	RC=0
	OUT=$(timeout 60 ssh "${SSH_COMMON[@]}" -p "$port" "$@" \
		-o UserKnownHostsFile="$SCRATCH/known_hosts" \
		-i "$key" -o IdentitiesOnly=yes \
		-o PreferredAuthentications=publickey -o BatchMode=yes \
		"$user@127.0.0.1" 'echo LOGIN-OK' 2>&1 </dev/null) || RC=$?
	show
}

# has TEXT / hasnt TEXT: some line / no line of OUT contains TEXT.
has() { grep -qF -- "$1" <<<"$OUT"; }
hasnt() { ! grep -qF -- "$1" <<<"$OUT"; }

# login_ok WHY / login_refused WHY: fail with WHY unless the client exited 0
# and printed the line LOGIN-OK / exited non-zero; a refused login must not
# print LOGIN-OK anywhere.
login_ok() {
	[ "$RC" = 0 ] && grep -qx LOGIN-OK <<<"$OUT" || fail "$1"
}

login_refused() {
	[ "$RC" != 0 ] || fail "$1"
	grep -q LOGIN-OK <<<"$OUT" && fail "the refused login ran the command"
	return 0
}

# ref_of TEXT: the first line of OUT containing TEXT (LINE, without ssh's
# "(user@host) " prefix of a prompt's instruction text) and the reference
# it ends with, "... quote reference XXXX-XXXX." (REF).
ref_of() {
	LINE=$(grep -F -- "$1" <<<"$OUT" | head -n1)
	[ -n "$LINE" ] || fail "no line '$1...' in the client output"
	LINE=${LINE#\(*@127.0.0.1) }
	REF=${LINE##* reference }
	REF=${REF%.}
	[[ $REF =~ ^[0-9A-F]{4}-[0-9A-F]{4}$ ]] || fail "reference '$REF' is not XXXX-XXXX"
}

# secret_of_out: the base32 secret of the otpauth:// URI the client printed.
secret_of_out() {
	sed -n 's|^otpauth://totp/.*[?&]secret=\([A-Z2-7]*\).*|\1|p' <<<"$OUT" | head -n1
}

# ---- sshd copies -------------------------------------------------------------

# sanitizer_env WHO: SAN_ENV, the environment an (uninstrumented) program
# needs to load an ASan/UBSan build of MODULE: the runtimes preloaded, the
# reports written to SCRATCH (see finish).  Empty for a plain build.  WHO
# completes "# sanitizer build: LD_PRELOAD=... for ".
sanitizer_env() {
	local preload
	SAN_ENV=()
	preload=$(ldd "$MODULE" 2>/dev/null | awk '/lib(asan|ubsan)\.so/ { print $3 }' | tr '\n' ':')
	[ -n "$preload" ] || return 0
	preload=${preload%:}
	echo "# sanitizer build: LD_PRELOAD=$preload for $1"
	SAN_ENV=(LD_PRELOAD="$preload"
		ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:log_path=$SCRATCH/asan"
		UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$SCRATCH/ubsan")
}

# prepare_sshd: sshd's privilege separation directory and the host key
# ($SCRATCH/hostkey) every sshd copy of the test uses.
prepare_sshd() {
	mkdir -p /run/sshd
	chmod 0755 /run/sshd
	ssh-keygen -q -t ed25519 -N '' -C rr-e2e -f "$SCRATCH/hostkey" || fail "ssh-keygen"
}

# start_sshd NAME LOG <CONFIG: a copy of /usr/sbin/sshd at $SCRATCH/NAME
# (so NAME is its PAM service; list it in SSHD_COPIES) on a free random port
# of 127.0.0.1, with SAN_ENV, logging to LOG.  Its configuration
# ($SCRATCH/NAME.config) is the lines read from stdin first (sshd keeps the
# first value it reads), then the settings every test here needs.  Prints
# the port; returns 1 if no try started.
start_sshd() {
	local name=$1 log=$2 head port p
	head=$(cat)
	cp /usr/sbin/sshd "$SCRATCH/$name" || return 1
	for _ in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 40000))
		port_in_use "$port" && continue
		cat >"$SCRATCH/$name.config" <<EOF
$head
Port $port
ListenAddress 127.0.0.1
HostKey $SCRATCH/hostkey
PidFile $SCRATCH/$name.pid
PubkeyAuthentication yes
# the scratch directory is under /tmp (mode 1777), which StrictModes refuses
StrictModes no
PermitRootLogin no
PrintMotd no
X11Forwarding no
AllowTcpForwarding no
MaxStartups 100
LogLevel VERBOSE
EOF
		env "${SAN_ENV[@]}" "$SCRATCH/$name" -f "$SCRATCH/$name.config" \
			-E "$log" || continue
		for _ in $(seq 100); do
			if port_in_use "$port"; then
				echo "$port"
				return 0
			fi
			sleep 0.1
		done
		# it did not listen in time: stop it before trying another port
		for p in $(our_sshd_pids "$SCRATCH/$name"); do kill "$p" 2>/dev/null; done
	done
	return 1
}

# known_hosts PORT...: $SCRATCH/known_hosts, the host key on those ports.
known_hosts() {
	local p
	for p in "$@"; do
		printf '[127.0.0.1]:%s %s\n' "$p" "$(cut -d' ' -f1,2 "$SCRATCH/hostkey.pub")"
	done >"$SCRATCH/known_hosts"
}

# ---- cleanup: only what the test created -------------------------------------

# our_sshd_pids [EXE...]: the processes whose executable is one of EXE
# (default: the SSHD_COPIES), even once it is deleted.
our_sshd_pids() {
	local p e x
	[ $# -gt 0 ] || set -- "${SSHD_COPIES[@]}"
	for p in /proc/[0-9]*; do
		e=$(readlink "$p/exe" 2>/dev/null) || continue
		e=${e% (deleted)}
		for x in "$@"; do
			[ "$e" = "$x" ] && echo "${p#/proc/}"
		done
	done
	return 0
}

# stop_our_sshds: TERM to our sshd copies, up to 5 s to go, then KILL.
stop_our_sshds() {
	local p
	for p in $(our_sshd_pids); do kill "$p" 2>/dev/null; done
	for _ in $(seq 50); do
		[ -z "$(our_sshd_pids)" ] && break
		sleep 0.1
	done
	for p in $(our_sshd_pids); do kill -KILL "$p" 2>/dev/null; done
	return 0
}

# add_user USER PASSWORD COMMENT: a new account without a home (shell
# /bin/sh) with PASSWORD; USER_CREATED=1 for the caller's cleanup
# (remove_user).
add_user() {
	useradd -M -d / -s /bin/sh -c "$3" "$1" || fail "useradd $1"
	# shellcheck disable=SC2034 # for the caller's cleanup
	USER_CREATED=1
	printf '%s:%s\n' "$1" "$2" | chpasswd || fail "chpasswd"
}

# remove_user USER [USERDEL-OPTION...]: kill USER's processes and delete
# the account (with -f if need be); complain if it is still there.
remove_user() {
	local u=$1 p
	shift
	for p in $(ps -o pid= -u "$u" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	userdel "$@" "$u" >/dev/null 2>&1 || userdel -f "$@" "$u" >/dev/null 2>&1
	getent passwd "$u" >/dev/null && echo "cleanup: could not remove user $u" >&2
	return 0
}

# dump_logs RC LINES FILE...: unless RC is 0 or 77 (skip), print the last
# LINES lines of each FILE there is.
dump_logs() {
	local rc=$1 lines=$2 f
	shift 2
	[ "$rc" != 0 ] && [ "$rc" != 77 ] || return 0
	for f in "$@"; do
		[ -r "$f" ] || continue
		echo "---- $f, last lines"
		tail -n "$lines" "$f"
	done
}

# pam_backup_absent DIR: the e2e tests that replace system PAM files (su,
# login, passwd) keep the originals in DIR while they run and remove it on
# every exit path.  If DIR exists, an earlier run crashed: say how to
# restore them and fail.
pam_backup_absent() {
	local f
	[ -e "$1" ] || return 0
	echo "Bail out! $1 exists: an earlier run of an e2e clients test did not" >&2
	echo "restore /etc/pam.d files.  Check and restore them, e.g.:" >&2
	for f in su login passwd; do
		[ -e "$1/$f" ] && echo "    cp -p $1/$f /etc/pam.d/.$f.rr && mv -f /etc/pam.d/.$f.rr /etc/pam.d/$f" >&2
	done
	echo "    rm -r $1" >&2
	return 1
}
