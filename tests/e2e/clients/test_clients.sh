#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# e2e: the secure password change and the shipped configuration with the
# real clients people sign in with, each driven under expect
# (tools/demo/rr-ssh.exp), checked with riskctl:
#
#  (a) ssh, password + keyboard-interactive (conf/pam.d/sshd,
#      conf/sshd_config.d/riskremediate.conf);
#  (b) ssh, key + keyboard-interactive with pam_riskremediate as the only
#      auth module (conf/pam.d/sshd-key, riskremediate-publickey.conf):
#      MFA after the key, the key's fingerprint recorded as the device;
#  (c) ssh, key only: an allowed login gets its key recorded as the
#      device by the session part (sshd exposes it only after account); a
#      blocked user is refused in `account`, the message shown as a banner;
#  (d) su(1) from an unprivileged user (conf/pam.d/su);
#  (e) login(1) on a pseudo-terminal (conf/pam.d/login);
#  (f) ssh, password: the secure password change abandoned three ways
#      (rejected new password, wrong current password, disconnect):
#      nothing recorded, the risk stays, the next login asks again;
#  (g) passwd(1) (conf/pam.d/passwd): root's `passwd USER` remediates as
#      adminGeneratedTemporaryPassword and the user must change that
#      password at the next ssh login; the user's own passwd outside a
#      login does not remediate.
#
# (a), (b), (d) and (e) each cover the whole remediation: the user registers
# an authenticator, an admin confirms the user compromised (user risk high),
# the next sign-in asks for the code and then for a new password, the risk
# is remediated (userPerformedSecuredPasswordChange), the next sign-in with
# the new password is clean and the old password is refused.  TOTP codes
# come from oathtool(1) (tools/demo/rr-totp): each user uses at most two,
# so nothing waits for the clock -- except the user of (f), who needs five:
# the test policy accepts codes up to 4 steps ahead (mfa window 4) and
# rr-totp --ahead 4 hands them out.
#
#   test_clients.sh MODULE.so RISKCTL RR-SSH.EXP RR-TOTP CONF-DIR
#
# Needs root; exits 77 (skip) without root or without sshd/ssh/expect/
# oathtool/su/login/passwd/setpriv/python3.  What it creates carries a random
# suffix and is removed on every exit path: users rrc[abcdefgs]-XXXXXXXX
# (with homes), /etc/pam.d/rr-e2e-cl{pw,key}-XXXXXXXX and two sshd copies of
# those names on random ports of 127.0.0.1, a scratch directory in /tmp.
#
# su, login and passwd read /etc/pam.d/su, /etc/pam.d/login and
# /etc/pam.d/passwd: no other service name can be given to them.  The test
# therefore REPLACES THE SYSTEM FILES while it runs: it first copies them to
# /var/lib/rr-e2e-clients.backup/, installs the test stacks with an atomic
# rename, and puts the originals back (again with a rename) on every exit
# path, including INT and TERM.  While it runs, su, login and passwd on
# this host use the test policy.  If that
# backup directory exists when the test starts, an earlier run crashed
# before restoring: the test refuses to run and prints the commands that
# restore the originals.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh" || exit 1

e2e_args "MODULE.so RISKCTL RR-SSH.EXP RR-TOTP CONF-DIR" 5 "$@"
CONF=$(readlink -f "$5")
require_clients "creates users, /etc/pam.d services, sshd" \
	ssh ssh-keygen expect useradd userdel chpasswd su login passwd setpriv oathtool
for f in pam.d/sshd pam.d/sshd-key pam.d/su pam.d/login pam.d/passwd \
	sshd_config.d/riskremediate.conf sshd_config.d/riskremediate-publickey.conf; do
	[ -r "$CONF/$f" ] || { echo "no $CONF/$f" >&2; exit 1; }
done

BACKUP=/var/lib/rr-e2e-clients.backup
pam_backup_absent "$BACKUP" || exit 1

SUFFIX=$(random_suffix)
UA=rrca-$SUFFIX   # (a) ssh password + keyboard-interactive
UB=rrcb-$SUFFIX   # (b) ssh key + keyboard-interactive
UC=rrcc-$SUFFIX   # (c) ssh key only, blocked
UD=rrcd-$SUFFIX   # (d) the target of su
US=rrcs-$SUFFIX   # (d) the unprivileged user who runs su
UE=rrce-$SUFFIX   # (e) login
UF=rrcf-$SUFFIX   # (f) ssh password, abandoned password changes
UG=rrcg-$SUFFIX   # (g) passwd: root's reset, the user's own change
ALLUSERS="$UA $UB $UC $UD $US $UE $UF $UG"
SVC_PW=rr-e2e-clpw-$SUFFIX
SVC_KEY=rr-e2e-clkey-$SUFFIX
SCRATCH=$(mktemp -d /tmp/rr-e2e-clients.XXXXXX) || exit 1
POLICY=$SCRATCH/policy.yaml
STORE=$SCRATCH/store/risk.db
KEYFILE=$SCRATCH/mfa/riskremediate.key
ISSUER="RR clients"
BLOCK_POLICY="Block $UC"
PWC_POLICY="High user risk requires secure password change"
N=0
CREATED_USERS=()
INSTALLED=()     # system PAM files replaced (su, login, passwd)
PORT_PW=
PORT_KEY=
SSHD_COPIES=("$SCRATCH/$SVC_PW" "$SCRATCH/$SVC_KEY")

# ---- cleanup: always, and only what this run created ------------------------

restore_system_pam() {
	local f ok=1
	for f in "${INSTALLED[@]}"; do
		if cp -p "$BACKUP/$f" "/etc/pam.d/.$f.rr-restore" &&
			mv -f "/etc/pam.d/.$f.rr-restore" "/etc/pam.d/$f" &&
			cmp -s "$BACKUP/$f" "/etc/pam.d/$f"; then
			rm -f "$BACKUP/$f"
		else
			echo "cleanup: could NOT restore /etc/pam.d/$f from $BACKUP/$f" >&2
			ok=0
		fi
	done
	INSTALLED=()
	[ "$ok" = 1 ] && rm -rf "$BACKUP"
	[ "$ok" = 1 ]
}

cleanup() {
	local rc=$? u
	trap - EXIT INT TERM
	dump_logs "$rc" 30 "$SCRATCH/sshd-pw.log" "$SCRATCH/sshd-key.log"
	# the system files first: they matter most
	[ ${#INSTALLED[@]} -gt 0 ] && { restore_system_pam || rc=1; }
	stop_our_sshds
	for u in "${CREATED_USERS[@]}"; do
		remove_user "$u" -r
	done
	rm -f "/etc/pam.d/$SVC_PW" "/etc/pam.d/$SVC_KEY"
	rm -rf "$SCRATCH"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- helpers (the shared ones are in ../lib.sh) ------------------------------

# ssh_pw USER PASSWORD: password + keyboard-interactive on the password sshd.
ssh_pw() { ssh_kbd "$PORT_PW" "$1" "$2"; }

# ssh_keykbd USER PASSWORD: the user's key, then keyboard-interactive, on
# the key sshd (PASSWORD answers only "Current password:").
ssh_keykbd() {
	ssh_exp "$2" -p "$PORT_KEY" \
		-i "$SCRATCH/key-$1" -o IdentitiesOnly=yes \
		-o PreferredAuthentications=publickey,keyboard-interactive \
		-o PasswordAuthentication=no -o NumberOfPasswordPrompts=1 \
		"$1@127.0.0.1" 'echo LOGIN-OK'
}

# ssh_keyonly USER PORT: the key and nothing else (BatchMode: no prompt).
ssh_keyonly() { ssh_key "$2" "$1" "$SCRATCH/key-$1"; }

# su_to PASSWORD: `su - $UD` run by the unprivileged $US on a pty.
su_to() {
	run_exp "$1" setpriv --reuid="$US" --regid="$US" --init-groups \
		--reset-env su - "$UD" -c 'echo LOGIN-OK'
}

# su_self_to PASSWORD: `su - $UD` run by $UD himself (his own session).
su_self_to() {
	run_exp "$1" setpriv --reuid="$UD" --regid="$UD" --init-groups \
		--reset-env su - "$UD" -c 'echo LOGIN-OK'
}

# login_as PASSWORD: login(1) for $UE on a pty; its ~/.profile prints
# LOGIN-OK and exits.
login_as() {
	run_exp "$1" env -i TERM=dumb PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		"${SAN_ENV[@]}" login -- "$UE"
}

# last_signin USER OUTFILE: USER's last sign-in, as JSON.
last_signin() { signins_json "$2" --user "$1" --limit 1; }

# ---- the phases every client goes through ------------------------------------

# register CLIENT USER: the first sign-in registers an authenticator (no
# grace: registration is required); sets SECRET_<USER>.
# CLIENT is a function taking the password as its last argument.
declare -A SECRET PW OLDPW AHEAD
CODE_CMD='"$TOTP" --ahead "$AHEAD" "$RR_SSH_SECRET" "$STEPS"'
register() {
	local client=$1 u=$2
	RR_SSH_CODE_CMD=$CODE_CMD TOTP=$TOTP AHEAD=${AHEAD[$u]:-1} \
		STEPS=$SCRATCH/steps-$u "$client" "${PW[$u]}"
	login_ok "the registration sign-in of $u failed"
	has "Your authenticator app is registered." || fail "$u: no registration confirmation"
	SECRET[$u]=$(secret_of_out)
	[[ ${SECRET[$u]} =~ ^[A-Z2-7]{32}$ ]] || fail "$u: no secret in the otpauth URI"
	rctl --json mfa status "$u" >"$SCRATCH/mfa-$u.json" || fail "riskctl mfa status $u"
	expect_field "$SCRATCH/mfa-$u.json" 'd["registered"]' True
}

# compromise USER: riskctl confirm-compromised; user risk high.
compromise() {
	rctl confirm-compromised "$1" >/dev/null || fail "riskctl confirm-compromised $1"
	rctl --json status "$1" >"$SCRATCH/st-$1.json" || fail "riskctl status $1"
	expect_field "$SCRATCH/st-$1.json" 'd["riskLevel"]' high
	expect_field "$SCRATCH/st-$1.json" 'd["riskState"]' confirmedCompromised
}

# remediate CLIENT USER: the sign-in at high user risk: the code, then the
# password change (current, new, retyped); the user risk is remediated.
remediate() {
	local client=$1 u=$2 new
	new=$(newpw)
	RR_SSH_CODE_CMD=$CODE_CMD TOTP=$TOTP AHEAD=${AHEAD[$u]:-1} \
		RR_SSH_SECRET=${SECRET[$u]} STEPS=$SCRATCH/steps-$u \
		RR_SSH_NEW_PASSWORD=$new "$client" "${PW[$u]}"
	login_ok "the remediating sign-in of $u failed"
	has "Enter the code from your authenticator app:" || fail "$u: no MFA prompt"
	has "Your account is at high risk. You passed multifactor authentication; now choose a new password." ||
		fail "$u: no explanation before the password change"
	has "New password:" || fail "$u: no new password asked"
	hasnt "Set up" || fail "$u: offered a registration again"
	OLDPW[$u]=${PW[$u]}
	PW[$u]=$new
	rctl --json status "$u" >"$SCRATCH/st-$u.json" || fail "riskctl status $u"
	expect_field "$SCRATCH/st-$u.json" 'd["riskLevel"]' none
	expect_field "$SCRATCH/st-$u.json" 'd["riskState"]' remediated
	expect_field "$SCRATCH/st-$u.json" 'd["riskDetail"]' userPerformedSecuredPasswordChange
	rctl --json detections --user "$u" >"$SCRATCH/det-$u.json" || fail "riskctl detections"
	expect_field "$SCRATCH/det-$u.json" '[x["riskState"] for x in d if x["riskState"] == "atRisk" or x["riskState"] == "confirmedCompromised"]' '[]'
	last_signin "$u" "$SCRATCH/sr-$u.json"
	expect_field "$SCRATCH/sr-$u.json" 'd[0]["mfa"]' passed
	expect_field "$SCRATCH/sr-$u.json" 'd[0]["outcome"]' success
	expect_field "$SCRATCH/sr-$u.json" 'd[0]["userRiskLevel"]' high
	expect_field "$SCRATCH/sr-$u.json" '"'"$PWC_POLICY"'" in d[0]["appliedPolicies"]' True
}

# clean CLIENT USER: the new password signs in with no question.
clean() {
	"$1" "${PW[$2]}"
	login_ok "$2: the sign-in with the new password failed"
	hasnt "Enter the code" || fail "$2: asked for a code after the remediation"
	hasnt "New password:" || fail "$2: asked to change the password again"
	last_signin "$2" "$SCRATCH/sc-$2.json"
	expect_field "$SCRATCH/sc-$2.json" 'd[0]["outcome"]' success
	expect_field "$SCRATCH/sc-$2.json" 'd[0]["decision"]' allow
}

# oldrefused CLIENT USER: the password before the change is refused.
oldrefused() {
	"$1" "${OLDPW[$2]}"
	login_refused "$2: the old password was accepted"
	hasnt "Enter the code" || fail "$2: the old password led to an MFA prompt"
}

# ---- set up ------------------------------------------------------------------

echo "# scratch $SCRATCH, suffix $SUFFIX"
chmod 0711 "$SCRATCH"
mkdir -m 0700 "$SCRATCH/mfa" "$SCRATCH/store" || fail "mkdir"
mkdir -m 0755 "$SCRATCH/ak" || fail "mkdir"

for u in $ALLUSERS; do
	useradd -m -s /bin/sh -c "rr e2e test (tests/e2e/clients)" "$u" || fail "useradd $u"
	CREATED_USERS+=("$u")
	[ "$u" = "$US" ] && continue # su's caller needs no password
	PW[$u]=$(newpw)
	printf '%s:%s\n' "$u" "${PW[$u]}" | chpasswd || fail "chpasswd $u"
	ssh-keygen -q -t ed25519 -N '' -C "$u" -f "$SCRATCH/key-$u" || fail "ssh-keygen"
	cp "$SCRATCH/key-$u.pub" "$SCRATCH/ak/$u"
	chmod 0644 "$SCRATCH/ak/$u"
done
# login(1) starts a login shell: its profile prints the marker and exits
printf 'echo LOGIN-OK\nexit 0\n' >"/home/$UE/.profile" || fail "profile"

(
	umask 077
	cat >"$POLICY" <<EOF
version: 1
issuer: $ISSUER
store: { backend: sqlite, path: $STORE }
on_error: deny
mfa_registration:
  state: enabled
  grace_days: 0
  users: { include: [all], exclude: [root, $US] }
mfa:
  key_file: $KEYFILE
  window: 4   # codes up to 4 steps ahead: (f) needs five within a minute
detections:
  unfamiliarFeatures: { enabled: false }
  passwordSpray: { enabled: false }
  bruteForce: { level: high, failures: 10, window: 10m }
policies:
  - name: $PWC_POLICY
    state: enabled
    users: { include: [all], exclude: [root] }
    conditions: { user_risk: [high] }
    grant: { require: [mfa, password_change] }
  - name: $BLOCK_POLICY
    state: enabled
    users: { include: [$UC] }
    conditions: { user_risk: [high] }
    grant: { block: true }
EOF
)
check_policy

# pam.d files: the shipped ones, with this build's module and the policy
pamconf() { pam_conf "$CONF/pam.d/$1"; }
pamconf sshd >"/etc/pam.d/$SVC_PW"
pamconf sshd-key >"/etc/pam.d/$SVC_KEY"
grep -q "$MODULE policy=$POLICY" "/etc/pam.d/$SVC_KEY" || fail "no module line in sshd-key"

# su and login: the system files, backed up, replaced atomically
mkdir -m 0700 "$BACKUP" || fail "mkdir $BACKUP"
for f in su login passwd; do
	cp -p "/etc/pam.d/$f" "$BACKUP/$f" || fail "backup of /etc/pam.d/$f"
	cmp -s "/etc/pam.d/$f" "$BACKUP/$f" || fail "backup of /etc/pam.d/$f differs"
	pamconf "$f" >"/etc/pam.d/.$f.rr-e2e" || fail "writing /etc/pam.d/.$f.rr-e2e"
	chmod 0644 "/etc/pam.d/.$f.rr-e2e"
	INSTALLED+=("$f")
	mv -f "/etc/pam.d/.$f.rr-e2e" "/etc/pam.d/$f" || fail "installing /etc/pam.d/$f"
done
echo "# /etc/pam.d/su, login and passwd replaced; originals in $BACKUP"

prepare_sshd
sanitizer_env "sshd and login; su (set-user-ID) is skipped"

# clients_sshd NAME SNIPPET LOG: an sshd copy named NAME (its PAM service)
# whose config is the shipped SNIPPET first (sshd keeps the first value),
# then what the test needs.  Prints the port.
clients_sshd() {
	start_sshd "$1" "$SCRATCH/$3.log" <<EOF
Include $CONF/sshd_config.d/$2
AuthorizedKeysFile $SCRATCH/ak/%u
AllowUsers $ALLUSERS
EOF
}
PORT_PW=$(clients_sshd "$SVC_PW" riskremediate.conf sshd-pw) || fail "sshd ($SVC_PW) did not start"
PORT_KEY=$(clients_sshd "$SVC_KEY" riskremediate-publickey.conf sshd-key) || fail "sshd ($SVC_KEY) did not start"
known_hosts "$PORT_PW" "$PORT_KEY"
echo "# sshd: password $SVC_PW on :$PORT_PW, key $SVC_KEY on :$PORT_KEY"

# what the shipped snippets set, as sshd reads them
"$SCRATCH/$SVC_KEY" -T -f "$SCRATCH/$SVC_KEY.config" >"$SCRATCH/key.T" 2>&1 || fail "sshd -T (key)"
"$SCRATCH/$SVC_PW" -T -f "$SCRATCH/$SVC_PW.config" >"$SCRATCH/pw.T" 2>&1 || fail "sshd -T (password)"
for l in 'authenticationmethods publickey,keyboard-interactive' 'passwordauthentication no' \
	'kbdinteractiveauthentication yes' 'exposeauthinfo yes' 'usepam yes'; do
	grep -qx "$l" "$SCRATCH/key.T" || fail "key sshd: not '$l'"
done
for l in 'authenticationmethods any' 'passwordauthentication no' \
	'kbdinteractiveauthentication yes' 'exposeauthinfo yes' 'usepam yes'; do
	grep -qx "$l" "$SCRATCH/pw.T" || fail "password sshd: not '$l'"
done

# ---- (a) ssh: password + keyboard-interactive --------------------------------

c_a() { ssh_pw "$UA" "$1"; }

begin "(a) ssh password: the first sign-in registers an authenticator"
register c_a "$UA"
pass "registered"

begin "(a) ssh password: user at high risk: code, new password, risk remediated"
compromise "$UA"
remediate c_a "$UA"
pass "remediated (userPerformedSecuredPasswordChange)"

begin "(a) ssh password: the new password signs in clean; the old one is refused"
clean c_a "$UA"
oldrefused c_a "$UA"
pass "clean with the new password, old password refused"

# ---- (b) ssh: key + keyboard-interactive, module-only auth -------------------

c_b() { ssh_keykbd "$UB" "$1"; }
FP_B=$(ssh-keygen -l -E sha256 -f "$SCRATCH/key-$UB.pub" | awk '{ print $2 }')

begin "(b) ssh key + keyboard-interactive: the key alone is not enough"
ssh_keyonly "$UB" "$PORT_KEY"
login_refused "the key sshd let a key alone in"
pass "refused (AuthenticationMethods publickey,keyboard-interactive)"

begin "(b) ssh key + keyboard-interactive: registration after the key, no password asked; device = key"
register c_b "$UB"
hasnt "Password:" || fail "a password was asked after the key"
last_signin "$UB" "$SCRATCH/sb.json"
expect_field "$SCRATCH/sb.json" 'd[0]["mfa"]' registered
expect_field "$SCRATCH/sb.json" 'd[0]["device"]' "$FP_B"
expect_field "$SCRATCH/sb.json" 'd[0]["service"]' "$SVC_KEY"
pass "registered; device $FP_B"

begin "(b) ssh key + keyboard-interactive: user at high risk: code, password change, remediated"
compromise "$UB"
remediate c_b "$UB"
has "Current password:" || fail "the current password was not asked"
expect_field "$SCRATCH/sr-$UB.json" 'd[0]["device"]' "$FP_B"
pass "remediated"

begin "(b) ssh key + keyboard-interactive: clean afterwards; the old password is refused (password sshd)"
clean c_b "$UB"
ssh_pw "$UB" "${OLDPW[$UB]}"
login_refused "$UB: the old password was accepted"
pass "clean; old password refused"

# ---- (c) ssh: key only -------------------------------------------------------

begin "(c) ssh key only (password sshd): allowed in account; the key recorded as the device at session open"
ssh_keyonly "$UB" "$PORT_PW"
login_ok "$UB: the key-only login failed"
last_signin "$UB" "$SCRATCH/sk.json"
expect_field "$SCRATCH/sk.json" 'd[0]["service"]' "$SVC_PW"
expect_field "$SCRATCH/sk.json" 'd[0]["outcome"]' success
expect_field "$SCRATCH/sk.json" 'd[0]["mfa"]' None
expect_field "$SCRATCH/sk.json" 'd[0]["device"]' "$FP_B"
pass "allowed; device $FP_B"

begin "(c) ssh key only: a blocked user is refused in account, the message shown"
compromise "$UC"
ssh_keyonly "$UC" "$PORT_PW"
login_refused "the blocked key login succeeded"
ref_of "Sign-in blocked:"
[ "$LINE" = "Sign-in blocked: your account is at high risk. Contact your IT help desk and quote reference $REF." ] ||
	fail "block message differs: '$LINE'"
rctl --json signins --ref "$REF" >"$SCRATCH/sc.json" || fail "riskctl signins --ref"
expect_field "$SCRATCH/sc.json" 'd[0]["outcome"]' blocked
expect_field "$SCRATCH/sc.json" 'd[0]["decision"]' block
expect_field "$SCRATCH/sc.json" '"'"$BLOCK_POLICY"'" in d[0]["appliedPolicies"]' True
# refused in account: no session, so no device
expect_field "$SCRATCH/sc.json" 'd[0]["device"]' None
pass "blocked, ref $REF"

begin "(c) ssh key only: a user who needs a secure password change is denied, told what to do"
compromise "$UA"
ssh_keyonly "$UA" "$PORT_PW"
login_refused "a key login skipped the secure password change"
ref_of "Sign-in denied:"
[ "$LINE" = "Sign-in denied: your account is at high risk, and policy requires multifactor authentication and a password change, which this login method cannot ask for. Sign in with a password or keyboard-interactive method. Contact your IT help desk and quote reference $REF." ] ||
	fail "message differs: '$LINE'"
pass "denied, ref $REF"

# ---- (d) su from an unprivileged user -----------------------------------------

c_d() { su_to "$1"; }
c_d_self() { su_self_to "$1"; }

# su is set-user-ID root: the dynamic loader ignores LD_PRELOAD, so a
# sanitizer build of the module cannot load in it
if [ ${#SAN_ENV[@]} -eq 0 ]; then

begin "(d) su from another user's session: no authenticator can be registered there"
# whoever knows the password must not enrol an app from someone else's
# session: $US's su is not a trusted console (the real uid says whose)
c_d "${PW[$UD]}"
login_refused "$UD: a registration through $US's su was not refused"
has "it cannot be registered from another user's session" ||
	fail "su by $US: no explanation of the refusal"
hasnt "otpauth://" || fail "su by $US: a secret was shown"
rctl --json mfa status "$UD" >"$SCRATCH/mfa-$UD.json" || fail "riskctl mfa status $UD"
expect_field "$SCRATCH/mfa-$UD.json" 'd["registered"]' False
pass "refused"

begin "(d) su in the user's own session: registers an authenticator"
register c_d_self "$UD"
pass "registered"

begin "(d) su: user at high risk: code, new password, risk remediated"
compromise "$UD"
remediate c_d "$UD"
last_signin "$UD" "$SCRATCH/sd.json"
expect_field "$SCRATCH/sd.json" 'd[0]["service"]' su-l
pass "remediated"

begin "(d) su: the new password switches clean; the old one is refused"
clean c_d "$UD"
oldrefused c_d "$UD"
has "Authentication failure" || fail "su did not say Authentication failure"
pass "clean; old password refused"
else
	echo "# (d) su skipped: sanitizer build (su is set-user-ID; LD_PRELOAD is ignored)"
fi

# ---- (e) login on a pty --------------------------------------------------------

c_e() { login_as "$1"; }

begin "(e) login: the first sign-in registers an authenticator"
register c_e "$UE"
pass "registered"

begin "(e) login: user at high risk: code, new password, risk remediated"
compromise "$UE"
remediate c_e "$UE"
last_signin "$UE" "$SCRATCH/se.json"
expect_field "$SCRATCH/se.json" 'd[0]["service"]' login
pass "remediated"

begin "(e) login: the new password signs in clean; the old one is refused"
clean c_e "$UE"
oldrefused c_e "$UE"
pass "clean; old password refused"

# ---- (f) ssh: the secure password change abandoned ---------------------------

c_f() { ssh_pw "$UF" "$1"; }
AHEAD[$UF]=4

# abandoned HOW: the sign-in at high user risk passes MFA and gives up in
# the password change (the caller's environment says how); the login is
# refused and nothing is recorded: the risk stays, the sign-in awaits the
# change, the password is the old one.
abandoned() {
	RR_SSH_CODE_CMD=$CODE_CMD TOTP=$TOTP AHEAD=${AHEAD[$UF]} \
		RR_SSH_SECRET=${SECRET[$UF]} STEPS=$SCRATCH/steps-$UF c_f "${PW[$UF]}"
	login_refused "$UF: the login with an abandoned password change succeeded"
	has "Enter the code from your authenticator app:" || fail "$UF: no MFA before the change ($1)"
	has "now choose a new password." || fail "$UF: the password change was not asked for ($1)"
	rctl --json status "$UF" >"$SCRATCH/st-$UF.json" || fail "riskctl status $UF"
	expect_field "$SCRATCH/st-$UF.json" 'd["riskLevel"]' high
	expect_field "$SCRATCH/st-$UF.json" 'd["riskState"]' confirmedCompromised
	expect_field "$SCRATCH/st-$UF.json" 'len(d["detections"])' 1
	last_signin "$UF" "$SCRATCH/sf.json"
	expect_field "$SCRATCH/sf.json" 'd[0]["mfa"]' passed
	expect_field "$SCRATCH/sf.json" 'd[0]["outcome"]' password_change_required
	rctl --json audit >"$SCRATCH/audit.json" || fail "riskctl audit"
	expect_field "$SCRATCH/audit.json" '[a["action"] for a in d if a["target"] == "'"$UF"'" and a["action"] != "confirm-compromised"]' '[]'
}

begin "(f) ssh password: registration, then user at high risk"
register c_f "$UF"
compromise "$UF"
pass "registered, user risk high"

begin "(f) abandoned: the new password is rejected (retyped differently)"
RR_SSH_NEW_PASSWORD=$(newpw) RR_SSH_RETYPE_PASSWORD=$(newpw) abandoned "rejected new password"
has "Retype new password:" || fail "$UF: the new password was not retyped"
pass "refused; risk, sign-in and password unchanged"

begin "(f) abandoned: the current password is wrong"
RR_SSH_CURRENT_PASSWORD=$(newpw) RR_SSH_NEW_PASSWORD=$(newpw) abandoned "wrong current password"
has "Current password:" || fail "$UF: the current password was not asked"
hasnt "Retype new password:" || fail "$UF: went on after a wrong current password"
pass "refused; nothing recorded"

begin "(f) abandoned: the client disconnects at \"New password:\""
abandoned disconnect
has "New password:" || fail "$UF: no new password asked"
[ "$RC" = 125 ] || fail "$UF: expect did not hang up at the new password (exit $RC)"
pass "disconnected; nothing recorded"

begin "(f) the next login asks again and the change completes; old password refused"
remediate c_f "$UF"
clean c_f "$UF"
oldrefused c_f "$UF"
pass "remediated on the fourth try; clean afterwards"

# ---- (g) passwd: root's reset, the user's own change --------------------------

c_g() { ssh_pw "$UG" "$1"; }

# passwd_run PASSWORD NEW COMMAND...: passwd(1) under expect, answering
# "Current password:" with PASSWORD and the new one twice with NEW.
passwd_run() {
	local cur=$1 new=$2
	shift 2
	RR_SSH_NEW_PASSWORD=$new run_exp "$cur" "$@"
}

begin "(g) passwd: registration, then user at high risk"
register c_g "$UG"
compromise "$UG"
pass "registered, user risk high"

begin "(g) root runs passwd $UG: adminGeneratedTemporaryPassword, change at next login"
temp=$(newpw)
passwd_run unused "$temp" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin passwd "$UG"
[ "$RC" = 0 ] || fail "root's passwd $UG failed"
has "password updated successfully" || fail "passwd did not say it updated the password"
hasnt "Current password:" || fail "root was asked for the current password"
rctl --json status "$UG" >"$SCRATCH/st-$UG.json" || fail "riskctl status $UG"
expect_field "$SCRATCH/st-$UG.json" 'd["riskLevel"]' none
expect_field "$SCRATCH/st-$UG.json" 'd["riskState"]' remediated
expect_field "$SCRATCH/st-$UG.json" 'd["riskDetail"]' adminGeneratedTemporaryPassword
expect_field "$SCRATCH/st-$UG.json" 'd["mustChangePassword"]' True
rctl status "$UG" >"$SCRATCH/st-$UG.txt" || fail "riskctl status $UG"
grep -Eq '^password change: +at next login \(root reset the password ' "$SCRATCH/st-$UG.txt" ||
	fail "riskctl status does not say the password must change: $(cat "$SCRATCH/st-$UG.txt")"
rctl --json audit >"$SCRATCH/audit.json" || fail "riskctl audit"
expect_field "$SCRATCH/audit.json" '[[a["actor"], a["action"]] for a in d if a["target"] == "'"$UG"'"][0]' '["root", "password-reset"]'
OLDPW[$UG]=${PW[$UG]}
PW[$UG]=$temp
pass "remediated by root's reset; must change"

begin "(g) the old password is refused; the temporary one must be changed at sign-in"
oldrefused c_g "$UG"
new=$(newpw)
RR_SSH_NEW_PASSWORD=$new c_g "${PW[$UG]}"
login_ok "$UG: the sign-in with the temporary password and a change failed"
has "Your administrator reset your password. Choose a new password now." ||
	fail "$UG: not told why the password must change"
has "Current password:" || fail "$UG: the temporary password was not asked as current"
hasnt "Enter the code" || fail "$UG: asked for a code (no risk left)"
rctl --json status "$UG" >"$SCRATCH/st-$UG.json" || fail "riskctl status $UG"
expect_field "$SCRATCH/st-$UG.json" 'd["mustChangePassword"]' False
expect_field "$SCRATCH/st-$UG.json" 'd["riskState"]' remediated
OLDPW[$UG]=${PW[$UG]}
PW[$UG]=$new
clean c_g "$UG"
oldrefused c_g "$UG"
pass "changed at sign-in; clean afterwards; temporary password refused"

begin "(g) the user's own passwd outside a login does not remediate"
compromise "$UG"
new=$(newpw)
passwd_run "${PW[$UG]}" "$new" setpriv --reuid="$UG" --regid="$UG" --init-groups \
	--reset-env passwd
[ "$RC" = 0 ] || fail "$UG's own passwd failed"
has "Current password:" || fail "passwd did not ask $UG for the current password"
has "password updated successfully" || fail "passwd did not say it updated the password"
PW[$UG]=$new
rctl --json status "$UG" >"$SCRATCH/st-$UG.json" || fail "riskctl status $UG"
expect_field "$SCRATCH/st-$UG.json" 'd["riskLevel"]' high
expect_field "$SCRATCH/st-$UG.json" 'd["riskState"]' confirmedCompromised
expect_field "$SCRATCH/st-$UG.json" 'd["mustChangePassword"]' False
pass "password changed, user risk still high"

finish "from sshd or login"
