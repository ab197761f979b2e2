#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""End-to-end tests of the built riskctl on a scratch policy and store.

Usage: test_riskctl.py [PATH-TO-RISKCTL]   (default: $RR_BUILD_ROOT/tools/
riskctl/riskctl).  Must run as root: riskctl refuses other users, and the
policy and store must be root-owned.

Sign-ins are recorded by the PAM module, not by riskctl: SigninTest drives
the built module through the real libpam (pam_start_confdir, in a child
process) to record them, and skips when the module is not built.
"""
import ctypes
import ctypes.util
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest
from datetime import datetime, timezone

RISKCTL = None

POLICY = """\
version: 1
issuer: Test Corp
store: {{ backend: sqlite, path: {store} }}
on_error: deny
named_locations:
  office: [10.0.0.0/8]
mfa_registration: {{ state: disabled }}
policies:
  - name: Block high user risk
    state: enabled
    users: {{ include: [all], exclude: [breakglass] }}
    conditions: {{ user_risk: [high] }}
    grant: {{ block: true }}
  - name: Sign-in risk requires MFA
    state: enabled
    users: {{ include: [all] }}
    conditions: {{ signin_risk: [medium, high] }}
    grant: {{ require: [mfa] }}
  - name: 'Report "medium" user risk – Büro'
    state: reportOnly
    conditions: {{ user_risk: [medium, high] }}
    grant: {{ require: [mfa, password_change] }}
"""

# Line 3: unknown key; line 7: bad state value; line 9: bad level.
BAD_POLICY = """\
version: 1
store: {{ backend: sqlite, path: {store} }}
bogus_key: 1
policies:
  - name: Broken
    users: {{ include: [all] }}
    state: sometimes
    conditions:
      user_risk: [severe]
    grant: {{ block: true }}
"""

NOBODY = 65534


def existing_account():
    """A real account for whatif (it looks up groups)."""
    for name in ("nobody", "daemon", "bin"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise unittest.SkipTest("no system account to use for whatif")


class ScratchTest(unittest.TestCase):
    """A scratch directory (root, 0700) with a policy and its store."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="riskctl-e2e-")
        os.chmod(self.dir, 0o700)
        self.store = os.path.join(self.dir, "store", "risk.db")
        self.policy = self.write_policy("policy.yaml", POLICY)
        self.env = {k: v for k, v in os.environ.items()
                    if k != "SUDO_USER"}
        self.env["TZ"] = "UTC"

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_policy(self, name, text):
        path = os.path.join(self.dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text.format(store=self.store))
        os.chmod(path, 0o600)
        return path

    def run_ctl(self, *args, env=None, policy=True, prefix=()):
        cmd = list(prefix) + [RISKCTL]
        if policy:
            cmd += ["--policy", self.policy]
        cmd += list(args)
        p = subprocess.run(cmd, capture_output=True, text=True,
                           env=env or self.env, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def ok(self, *args, **kw):
        rc, out, err = self.run_ctl(*args, **kw)
        self.assertEqual(rc, 0, "riskctl %s: rc %d\nstdout:\n%s\nstderr:\n%s"
                         % (" ".join(args), rc, out, err))
        return out

    def ok_json(self, *args, **kw):
        return json.loads(self.ok(*args, "--json", **kw))

    def fails(self, code, *args, **kw):
        rc, out, err = self.run_ctl(*args, **kw)
        self.assertEqual(rc, code, "riskctl %s: rc %d, want %d\nstdout:\n%s"
                         "\nstderr:\n%s" % (" ".join(args), rc, code, out,
                                            err))
        return out, err

    def as_admin(self, *args):
        env = dict(self.env, SUDO_USER="alice-admin")
        return self.ok(*args, env=env)

    def assert_valgrind_clean(self, cases):
        if shutil.which("valgrind") is None:
            self.skipTest("valgrind not installed")
        with open(RISKCTL, "rb") as f:
            if b"__asan_init" in f.read():
                self.skipTest("sanitizer build (ASan checks it instead)")
        vg = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
              "--errors-for-leak-kinds=definite,indirect"]
        for args in cases:
            rc, _, err = self.run_ctl(*args, prefix=vg)
            self.assertNotEqual(rc, 99, "valgrind: %s\n%s" % (args, err))
            self.assertNotIn("==", err, "valgrind: %s\n%s" % (args, err))


class RiskctlTest(ScratchTest):
    """riskctl on its own: admin actions, reads, errors."""

    # ---- status --------------------------------------------------------

    def test_status_unknown_user_is_none(self):
        out = self.ok("status", "carol")
        self.assertRegex(out, r"(?m)^user:\s+carol$")
        self.assertRegex(out, r"(?m)^risk level:\s+none$")
        self.assertRegex(out, r"(?m)^risk state:\s+none$")
        self.assertRegex(out, r"(?m)^risk detail:\s+none$")
        self.assertRegex(out, r"(?m)^last updated:\s+-$")
        doc = self.ok_json("status", "carol")
        self.assertEqual(doc["user"], "carol")
        self.assertEqual(doc["riskLevel"], "none")
        self.assertEqual(doc["riskState"], "none")
        self.assertEqual(doc["riskDetail"], "none")
        self.assertIsNone(doc["riskLastUpdatedDateTime"])
        self.assertEqual(doc["detections"], [])
        # no password reset by root pending
        self.assertNotIn("password change:", out)
        self.assertIs(doc["mustChangePassword"], False)
        self.assertNotIn("mustChangePasswordSince", doc)

    def test_store_created_root_only(self):
        self.ok("status", "carol")
        st = os.stat(self.store)
        self.assertEqual(st.st_uid, 0)
        self.assertEqual(stat.S_IMODE(st.st_mode) & 0o077, 0)
        st = os.stat(os.path.dirname(self.store))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)

    def test_confirm_compromised(self):
        out = self.as_admin("confirm-compromised", "alice")
        self.assertEqual(out.strip(),
                         "alice: confirmed compromised (user risk high)")
        out = self.ok("status", "alice")
        self.assertRegex(out, r"(?m)^risk level:\s+high$")
        self.assertRegex(out, r"(?m)^risk state:\s+confirmedCompromised$")
        self.assertRegex(out,
                         r"(?m)^risk detail:\s+adminConfirmedUserCompromised$")
        self.assertRegex(out, r"(?m)^last updated:\s+\d{4}-\d\d-\d\d "
                         r"\d\d:\d\d:\d\d$")
        # the "why": a table of active detections
        self.assertRegex(out, r"(?m)^TYPE\s+LEVEL\s+SOURCE\s+DETECTED\s+REF$")
        self.assertRegex(out, r"(?m)^adminConfirmedUserCompromised\s+high\s")
        doc = self.ok_json("status", "alice")
        self.assertEqual(doc["riskLevel"], "high")
        self.assertEqual(doc["riskState"], "confirmedCompromised")
        self.assertEqual(doc["riskDetail"], "adminConfirmedUserCompromised")
        self.assertRegex(doc["riskLastUpdatedDateTime"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(len(doc["detections"]), 1)
        det = doc["detections"][0]
        self.assertEqual(det["riskEventType"], "adminConfirmedUserCompromised")
        self.assertEqual(det["riskLevel"], "high")
        self.assertEqual(det["riskState"], "atRisk")
        for key in ("id", "riskDetail", "source", "ref", "detectedDateTime",
                    "lastUpdatedDateTime"):
            self.assertIn(key, det)

    # ---- list ----------------------------------------------------------

    def test_list_risky_users(self):
        self.ok("status", "carol")              # no record: not listed
        self.as_admin("confirm-compromised", "alice")
        out = self.ok("list")
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^USER\s+LEVEL\s+STATE\s+DETAIL\s+"
                         r"UPDATED\s+ACTIVE$")
        self.assertEqual(len(lines), 2, out)
        self.assertRegex(lines[1], r"^alice\s+high\s+confirmedCompromised\s+"
                         r"adminConfirmedUserCompromised\s+\d{4}-.*\s1$")
        # columns are aligned: each header starts where its cells start
        for word in ("LEVEL", "STATE"):
            col = lines[0].index(word)
            self.assertNotEqual(lines[1][col - 1:col], "",
                                "misaligned " + word)
            self.assertEqual(lines[1][col - 1], " ")
        doc = self.ok_json("list")
        self.assertEqual([u["user"] for u in doc], ["alice"])
        self.assertEqual(doc[0]["riskLevel"], "high")
        self.assertEqual(doc[0]["riskState"], "confirmedCompromised")
        self.assertEqual(doc[0]["activeDetections"], 1)
        self.assertEqual(self.ok_json("list", "--level", "medium"), [])
        self.assertEqual(len(self.ok_json("list", "--level", "high")), 1)

    def test_list_bad_level_and_state(self):
        _, err = self.fails(2, "list", "--level", "severe")
        self.assertIn("none, low, medium, high", err)
        _, err = self.fails(2, "list", "--state", "AtRisk")
        self.assertIn("atRisk", err)
        self.assertIn("confirmedCompromised", err)

    # ---- detections ----------------------------------------------------

    def test_detections(self):
        self.as_admin("confirm-compromised", "alice")
        self.as_admin("confirm-compromised", "bob")
        out = self.ok("detections", "--user", "alice")
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^ID\s+USER\s+TYPE\s+LEVEL\s+STATE\s+")
        self.assertEqual(len(lines), 2, out)
        self.assertIn("adminConfirmedUserCompromised", lines[1])
        self.assertIn("alice", lines[1])
        doc = self.ok_json("detections")
        self.assertEqual(sorted(d["user"] for d in doc), ["alice", "bob"])
        doc = self.ok_json("detections", "--user", "bob", "--active")
        self.assertEqual(len(doc), 1)
        self.assertEqual(doc[0]["riskState"], "atRisk")

    # ---- admin verbs and audit -----------------------------------------

    def test_dismiss(self):
        self.as_admin("confirm-compromised", "alice")
        doc = json.loads(self.as_admin("--json", "confirm-compromised",
                                       "bob"))
        self.assertEqual(doc, {"user": "bob",
                               "action": "confirm-compromised",
                               "detectionsChanged": 1, "riskLevel": "high",
                               "riskState": "confirmedCompromised",
                               "riskDetail": "adminConfirmedUserCompromised"})
        out = self.as_admin("dismiss", "alice")
        self.assertEqual(out.strip(),
                         "alice: risk dismissed (1 detection closed)")
        doc = self.ok_json("status", "alice")
        self.assertEqual(doc["riskLevel"], "none")
        self.assertEqual(doc["riskState"], "dismissed")
        self.assertEqual(doc["riskDetail"], "adminDismissedAllRiskForUser")
        self.assertEqual(doc["detections"], [])
        dets = self.ok_json("detections", "--user", "alice")
        self.assertEqual(len(dets), 1)
        self.assertNotEqual(dets[0]["riskState"], "atRisk")
        self.assertEqual(self.ok_json("detections", "--user", "alice",
                                      "--active"), [])
        self.assertEqual([u["user"] for u in self.ok_json("list")], ["bob"])
        listed = self.ok_json("list", "--state", "dismissed")
        self.assertEqual([u["user"] for u in listed], ["alice"])

    def test_unblock_and_audit(self):
        self.as_admin("confirm-compromised", "alice")
        out = self.as_admin("unblock", "alice")
        self.assertEqual(out.strip(), "alice: unblocked (risk dismissed, "
                         "1 detection closed)")
        self.assertEqual(self.ok_json("status", "alice")["riskState"],
                         "dismissed")
        self.ok("dismiss", "bob")               # actor from getuid: root
        audit = self.ok_json("audit")
        self.assertEqual(len(audit), 3, audit)
        by_target = {(a["target"], a["action"]): a for a in audit}
        unblock = by_target.get(("alice", "unblock"))
        self.assertIsNotNone(unblock, audit)
        self.assertEqual(unblock["actor"], "alice-admin")
        self.assertRegex(unblock["time"], r"^\d{4}-\d\d-\d\dT.*Z$")
        confirm = [a for a in audit if a["target"] == "alice"
                   and a["action"] != "unblock"]
        self.assertEqual(len(confirm), 1, audit)
        self.assertEqual(confirm[0]["actor"], "alice-admin")
        self.assertIn(("bob", "dismiss"), by_target)
        self.assertEqual(by_target[("bob", "dismiss")]["actor"], "root")
        out = self.ok("audit")
        self.assertRegex(out.splitlines()[0],
                         r"^ID\s+TIME\s+ACTOR\s+ACTION\s+TARGET\s+DETAIL$")
        self.assertRegex(out, r"(?m)alice-admin\s+unblock\s+alice")
        self.assertEqual(len(self.ok_json("audit", "--limit", "1")), 1)

    def test_invalid_sudo_user_not_trusted(self):
        env = dict(self.env, SUDO_USER="evil user\n")
        self.ok("dismiss", "alice", env=env)
        self.assertEqual(self.ok_json("audit")[0]["actor"], "root")

    def test_invalid_user_names(self):
        for bad in ("-rf", "a b", "a/b", "a:b", "", "x" * 300, "a\x1bb"):
            _, err = self.fails(2, "status", "--", bad)
            self.assertIn("riskctl: invalid user name", err)
            self.assertNotIn("\x1b", err)
        self.fails(2, "unblock", "a/b")
        self.fails(2, "detections", "--user", "a b")
        self.fails(2, "whatif", "--user", "-x")
        self.assertFalse(os.path.exists(self.store))

    # ---- sign-ins ------------------------------------------------------

    def test_signins_unknown_ref(self):
        out, err = self.fails(1, "signins", "--ref", "abcd-1234")
        self.assertEqual(out, "")
        self.assertIn("riskctl: no sign-in with reference ABCD-1234", err)
        self.fails(1, "signins", "--ref", "ABCD-1234", "--json")
        for bad in ("ABCD1234", "ABCD-12345", "GHIJ-1234", "-"):
            _, err = self.fails(2, "signins", "--ref", bad)
            self.assertIn("XXXX-XXXX", err)

    def test_signins_empty(self):
        self.assertEqual(self.ok_json("signins"), [])
        self.assertEqual(self.ok_json("signins", "--user", "alice",
                                      "--limit", "5"), [])
        out = self.ok("signins")
        self.assertRegex(out, r"^TIME\s+REF\s+USER\s+SERVICE\s+RHOST\s+")
        for bad in ("0", "100001", "-1", "1x", ""):
            self.fails(2, "signins", "--limit", bad)

    # ---- whatif --------------------------------------------------------

    def test_whatif_blocks_confirmed_compromised(self):
        user = existing_account()
        self.as_admin("confirm-compromised", user)
        out = self.ok("whatif", "--user", user, "--rhost", "203.0.113.7")
        self.assertRegex(out, r"(?m)^user:\s+%s$" % re.escape(user))
        self.assertRegex(out, r"(?m)^service:\s+sshd$")
        self.assertRegex(out, r"(?m)^rhost:\s+203\.0\.113\.7$")
        self.assertRegex(out, r"(?m)^user risk:\s+high")
        self.assertRegex(out, r"(?m)^POLICY\s+STATE\s+APPLIES\s+ENFORCED\s+"
                         r"REASON$")
        self.assertRegex(out, r"(?m)^Block high user risk\s+enabled\s+yes\s+"
                         r"yes\s+\S")
        self.assertRegex(out, r"(?m)^Sign-in risk requires MFA\s+enabled\s+"
                         r"no\s+no\s+.*sign-in risk")
        self.assertRegex(out, r'(?m)^decision:\s+block \(by "Block high '
                         r'user risk"\)$')
        self.assertRegex(out, r"(?m)^report-only:\s+would require mfa, "
                         r"password_change$")
        doc = self.ok_json("whatif", "--user", user, "--rhost",
                           "203.0.113.7")
        self.assertEqual(doc["user"], user)
        self.assertEqual(doc["service"], "sshd")
        self.assertEqual(doc["rhost"], "203.0.113.7")
        self.assertEqual(doc["userRiskLevel"], "high")
        self.assertEqual(doc["signInRiskLevel"], "none")
        self.assertEqual(doc["decision"], "block")
        self.assertEqual(doc["blockedBy"], "Block high user risk")
        self.assertIsInstance(doc["detections"], list)
        self.assertEqual(doc["reportOnly"]["require"],
                         ["mfa", "password_change"])
        pol = {p["name"]: p for p in doc["policies"]}
        self.assertEqual(len(pol), 3)
        self.assertTrue(pol["Block high user risk"]["applies"])
        self.assertTrue(pol["Block high user risk"]["enforced"])
        mfa = pol["Sign-in risk requires MFA"]
        self.assertFalse(mfa["applies"])
        self.assertFalse(mfa["enforced"])
        self.assertIn("sign-in risk none", mfa["reason"])
        # UTF-8 and quotes round-trip through the JSON writer
        ro = pol['Report "medium" user risk – Büro']
        self.assertEqual(ro["state"], "reportOnly")
        self.assertTrue(ro["applies"])
        self.assertFalse(ro["enforced"])
        # whatif records nothing
        self.assertEqual(self.ok_json("signins"), [])
        self.assertEqual(len(self.ok_json("audit")), 1)

    def test_whatif_allow_and_exclusion(self):
        user = existing_account()
        doc = self.ok_json("whatif", "--user", user, "--service", "su")
        self.assertEqual(doc["decision"], "allow")
        self.assertEqual(doc["require"], [])
        self.assertIsNone(doc["rhost"])
        self.assertIsNone(doc["blockedBy"])
        self.assertEqual(doc["service"], "su")
        reason = {p["name"]: p["reason"] for p in doc["policies"]}
        self.assertIn("user risk none", reason["Block high user risk"])
        out = self.ok("whatif", "--user", user, "--service", "su")
        self.assertRegex(out, r"(?m)^decision:\s+allow$")
        self.assertRegex(out, r"(?m)^rhost:\s+- \(local\)$")

    def test_whatif_errors(self):
        self.fails(2, "whatif")
        self.fails(1, "whatif", "--user", "no-such-user-rr")
        self.fails(2, "whatif", "--user", existing_account(), "--service",
                   "ss hd")

    # ---- policy check --------------------------------------------------

    def test_policy_check_ok(self):
        out = self.ok("policy", "check")
        self.assertEqual(out.strip(), "%s: OK (3 policies)" % self.policy)
        out = self.ok("policy", "check", self.policy, policy=False)
        self.assertEqual(out.strip(), "%s: OK (3 policies)" % self.policy)
        doc = self.ok_json("policy", "check")
        self.assertTrue(doc["valid"])
        self.assertEqual(doc["policies"], 3)
        self.assertEqual(doc["errors"], [])

    def test_policy_check_invalid(self):
        bad = self.write_policy("bad.yaml", BAD_POLICY)
        out, err = self.fails(3, "policy", "check", bad)
        self.assertEqual(out, "")
        located = re.findall(r"(?m)^%s:(\d+):(\d+): .+$" % re.escape(bad),
                             err)
        lines = sorted({int(line) for line, _ in located})
        self.assertGreaterEqual(len(located), 3, err)
        self.assertIn(3, lines, err)
        self.assertIn(7, lines, err)
        self.assertIn(9, lines, err)
        # every verb refuses an invalid policy with the same report
        out, err2 = self.fails(3, "--policy", bad, "status", "alice",
                               policy=False)
        self.assertEqual(len(re.findall(r"(?m)^%s:\d+:\d+: " %
                                        re.escape(bad), err2)),
                         len(located))
        rc, out, _ = self.run_ctl("--json", "policy", "check", bad)
        self.assertEqual(rc, 3)
        doc = json.loads(out)
        self.assertFalse(doc["valid"])
        self.assertEqual(len(doc["errors"]), len(located))
        self.assertTrue(all(e["line"] > 0 and e["column"] > 0
                            for e in doc["errors"]))

    def test_policy_missing_or_unsafe(self):
        missing = os.path.join(self.dir, "nope.yaml")
        _, err = self.fails(3, "--policy", missing, "list", policy=False)
        self.assertIn(missing, err)
        os.chmod(self.policy, 0o666)
        _, err = self.fails(3, "list")
        self.assertIn(self.policy, err)

    # ---- store refusal, root, usage ------------------------------------

    def test_store_refused_when_world_readable(self):
        self.ok("status", "alice")
        os.chmod(self.store, 0o644)
        out, err = self.fails(5, "status", "alice")
        self.assertEqual(out, "")
        self.assertIn("riskctl: ", err)
        self.assertIn(self.store, err)
        self.assertIn("refused", err)

    def test_store_refused_when_directory_open(self):
        self.ok("status", "alice")
        os.chmod(os.path.dirname(self.store), 0o777)
        _, err = self.fails(5, "list")
        self.assertIn(self.store, err)

    def test_non_root_refused(self):
        if shutil.which("setpriv") is None:
            self.skipTest("setpriv not installed")
        # a copy nobody can execute, outside the root-only scratch dir
        bindir = tempfile.mkdtemp(prefix="riskctl-bin-")
        try:
            os.chmod(bindir, 0o755)
            exe = os.path.join(bindir, "riskctl")
            shutil.copy(RISKCTL, exe)
            os.chmod(exe, 0o755)
            drop = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                    "--clear-groups", exe]
            for args in (["status", "alice"], ["list"],
                         ["policy", "check"], ["unblock", "alice"],
                         ["mfa", "status", "alice"], ["mfa", "reset", "alice"],
                         ["mfa", "grace-reset", "alice"],
                         ["tap", "issue", "root"],
                         ["tap", "issue", "root", "--ttl", "2h"]):
                p = subprocess.run(drop + args, capture_output=True,
                                   text=True, env=self.env, timeout=60)
                self.assertEqual(p.returncode, 4, p.stderr)
                self.assertIn("riskctl: must be run as root (the risk store "
                              "is root-only)", p.stderr)
            p = subprocess.run(drop + ["--help"], capture_output=True,
                               text=True, env=self.env, timeout=60)
            self.assertEqual(p.returncode, 0)
            self.assertIn("Usage: riskctl", p.stdout)
        finally:
            shutil.rmtree(bindir)

    def test_usage_errors(self):
        self.fails(2, policy=False)
        _, err = self.fails(2, "frobnicate")
        self.assertIn("unknown verb", err)
        _, err = self.fails(2, "--frob", "list")
        self.assertIn("unknown option '--frob'", err)
        _, err = self.fails(2, "status", "-rf")
        self.assertIn("unknown option '-r'", err)
        _, err = self.fails(2, "list", "--ref", "ABCD-1234")
        self.assertIn("--ref is not valid for 'list'", err)
        self.fails(2, "status")
        self.fails(2, "status", "a", "b")
        self.fails(2, "signins", "--user")
        self.fails(2, "policy")
        self.fails(2, "policy", "lint")
        _, err = self.fails(2, "confirm-safe")
        self.assertIn("confirm-safe needs --ref ID", err)
        self.fails(2, "confirm-safe", "alice", "--ref", "ABCD-1234")
        self.fails(2, "confirm-safe", "--ref", "ABCD-12345")
        _, err = self.fails(2, "detections", "--type", "bogus")
        self.assertIn("invalid type 'bogus' (allowed: unfamiliarFeatures, ",
                      err)
        self.assertIn("passwordSpray", err)
        self.fails(2, "detections", "--level", "severe")
        self.fails(2, "detections", "--state", "gone")
        for bad in ("0", "7x", "-1d", "3651d", ""):
            _, err = self.fails(2, "detections", "--since", bad)
            self.assertIn("invalid since", err)
        _, err = self.fails(2, "detections", "--active", "--state",
                            "dismissed")
        self.assertIn("--active means --state atRisk", err)
        _, err = self.fails(2, "list", "--since", "1d")
        self.assertIn("--since is not valid for 'list'", err)
        # signins --since: a cursor of --format graph (test_graph.py)
        _, err = self.fails(2, "signins", "--since", "1d")
        self.assertIn("signins --since takes a cursor", err)
        _, err = self.fails(2, "mfa")
        self.assertIn("'mfa' needs a sub-verb: status, reset, grace-reset "
                      "or key-init",
                      err)
        _, err = self.fails(2, "mfa", "frob", "alice")
        self.assertIn("unknown sub-verb 'frob' for 'mfa'", err)
        _, err = self.fails(2, "tap", "alice")
        self.assertIn("unknown sub-verb 'alice' for 'tap' (expected issue)",
                      err)
        self.fails(2, "mfa", "status")
        self.fails(2, "mfa", "reset", "a", "b")
        self.fails(2, "tap", "issue")
        _, err = self.fails(2, "policy", "lint")
        self.assertIn("(expected check or install)", err)
        self.assertFalse(os.path.exists(self.store))

    def test_options_anywhere(self):
        self.as_admin("confirm-compromised", "alice")
        a = self.run_ctl("--json", "status", "alice", policy=True)
        b = self.run_ctl("status", "alice", "--json", policy=True)
        c = self.run_ctl("status", "--json", "alice", "--policy",
                         self.policy, policy=False)
        self.assertEqual(a[0], 0)
        self.assertEqual(json.loads(a[1]), json.loads(b[1]))
        self.assertEqual(json.loads(a[1]), json.loads(c[1]))

    def test_help_version_verbs(self):
        out = self.ok("--help", policy=False)
        self.assertIn("Usage: riskctl", out)
        out = self.ok("--version", policy=False)
        self.assertRegex(out, r"^riskctl \d+\.\d+")
        verbs = self.ok("--list-verbs", policy=False).splitlines()
        for v in ("status", "list", "signins", "detections", "unblock",
                  "dismiss", "confirm-compromised", "confirm-safe",
                  "whatif", "policy check", "audit", "mfa status", "mfa reset",
                  "mfa grace-reset", "tap issue"):
            self.assertIn(v, verbs)
        helptext = self.ok("--help", policy=False)
        for v in ("mfa status USER", "mfa reset USER", "mfa grace-reset USER",
                  "tap issue USER [--ttl DURATION]"):
            self.assertIn(v, helptext)

    # ---- memory ----------------------------------------------------------

    def test_valgrind_clean(self):
        user = existing_account()
        self.as_admin("confirm-compromised", user)
        bad = self.write_policy("bad.yaml", BAD_POLICY)
        self.assert_valgrind_clean(
            [["status", user], ["--json", "status", user], ["list"],
             ["--json", "detections"], ["audit"], ["--json", "audit"],
             ["whatif", "--user", user, "--rhost", "192.0.2.1"],
             ["--json", "whatif", "--user", user],
             ["signins", "--ref", "ABCD-1234"], ["dismiss", user],
             ["policy", "check"], ["policy", "check", bad],
             ["--json", "policy", "check", bad], ["status", "a/b"],
             ["mfa", "status", user], ["--json", "mfa", "status", user],
             ["tap", "issue", user], ["--json", "tap", "issue", user],
             ["mfa", "reset", user], ["mfa", "grace-reset", user],
             ["tap", "issue", "no-such-user-rr"],
             ["tap", "issue", user, "--ttl", "1x"], ["mfa", "frob"]])


TAP_RE = r"^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$"


def iso_time(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc).timestamp()


def local_time(text):
    """riskctl's local time; the tests run it with TZ=UTC."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=timezone.utc).timestamp()


# A policy naming every kind of file; line 8 names the list (column 9),
# line 10 the hash file (column 16), line 4 the key (column 18).
FILES_POLICY = """\
version: 1
store: {{ backend: sqlite, path: {store} }}
on_error: deny
mfa: {{ key_file: {key} }}
detections:
  anonymizedIPAddress:
    lists:
      - {lst}
  leakedCredentials:
    hash_file: {hashes}
policies:
  - name: Block high user risk
    conditions: {{ user_risk: [high] }}
    grant: {{ block: true }}
"""


class PolicyFilesTest(ScratchTest):
    """policy check and policy install check the files a policy names."""

    def setUp(self):
        super().setUp()
        self.lst = os.path.join(self.dir, "anon.list")
        self.hashes = os.path.join(self.dir, "pwned.txt")
        self.key = os.path.join(self.dir, "mfa.key")
        self.write_file(self.lst, "192.0.2.0/24\n", 0o644)
        self.write_file(self.hashes, "", 0o644)
        self.write_file(self.key, "k" * 32, 0o600)
        self.policy = self.files_policy("files.yaml")

    def write_file(self, path, text, mode):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)

    def files_policy(self, name, **over):
        paths = dict(store=self.store, key=self.key, lst=self.lst,
                     hashes=self.hashes)
        paths.update(over)
        path = os.path.join(self.dir, name)
        self.write_file(path, FILES_POLICY.format(**paths), 0o644)
        return path

    def assert_file_error(self, err, line, col, key, path, why):
        want = "%s:%d:%d: %s: %s: %s" % (self.policy, line, col, key, path,
                                         why)
        self.assertIn(want, err.splitlines(), err)

    def test_all_present_and_safe(self):
        out = self.ok("policy", "check")
        self.assertEqual(out.strip(), "%s: OK (1 policy)" % self.policy)
        rc, _, err = self.run_ctl("policy", "check")
        self.assertEqual(err, "")
        doc = self.ok_json("policy", "check")
        self.assertTrue(doc["valid"])
        self.assertEqual(doc["errors"], [])
        self.assertEqual(doc["warnings"], [])

    def test_missing_list(self):
        os.unlink(self.lst)
        out, err = self.fails(3, "policy", "check")
        self.assertEqual(out, "")
        self.assert_file_error(err, 8, 9,
                               "detections.anonymizedIPAddress.lists",
                               self.lst, "does not exist")
        doc = json.loads(self.run_ctl("--json", "policy", "check")[1])
        self.assertFalse(doc["valid"])
        self.assertEqual([(e["line"], e["column"]) for e in doc["errors"]],
                         [(8, 9)])

    def test_group_writable_list(self):
        os.chmod(self.lst, 0o664)
        _, err = self.fails(3, "policy", "check")
        self.assert_file_error(err, 8, 9,
                               "detections.anonymizedIPAddress.lists",
                               self.lst, "is group/other-writable (refused)")

    def test_symlinked_list(self):
        real = os.path.join(self.dir, "real.list")
        os.rename(self.lst, real)
        os.symlink(real, self.lst)
        _, err = self.fails(3, "policy", "check")
        self.assert_file_error(err, 8, 9,
                               "detections.anonymizedIPAddress.lists",
                               self.lst, "is a symbolic link (refused)")

    def test_list_not_root_and_not_regular(self):
        os.chown(self.lst, NOBODY, NOBODY)
        os.unlink(self.hashes)
        os.mkdir(self.hashes)
        _, err = self.fails(3, "policy", "check")
        self.assert_file_error(err, 8, 9,
                               "detections.anonymizedIPAddress.lists",
                               self.lst, "is not owned by root (refused)")
        self.assert_file_error(err, 10, 16,
                               "detections.leakedCredentials.hash_file",
                               self.hashes, "is not a regular file "
                               "(refused)")

    def test_key_file_missing_is_a_warning_unsafe_an_error(self):
        os.unlink(self.key)
        rc, out, err = self.run_ctl("policy", "check")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.strip(), "%s: OK (1 policy)" % self.policy)
        self.assertIn("%s:4:18: warning: mfa.key_file: %s: does not exist "
                      "yet" % (self.policy, self.key), err)
        doc = self.ok_json("policy", "check")
        self.assertTrue(doc["valid"])
        self.assertEqual([(w["line"], w["column"]) for w in doc["warnings"]],
                         [(4, 18)])
        self.write_file(self.key, "k" * 32, 0o644)
        _, err = self.fails(3, "policy", "check")
        self.assert_file_error(err, 4, 18, "mfa.key_file", self.key,
                               "has mode 0644: group/other must have no "
                               "access (chmod 0600)")

    def test_mfa_key_init(self):
        os.unlink(self.key)
        self.assertEqual(self.ok("mfa", "key-init"),
                         "%s: created (0600 root)\n" % self.key)
        st = os.stat(self.key)
        self.assertEqual((st.st_size, st.st_mode & 0o7777, st.st_uid),
                         (32, 0o600, 0))
        with open(self.key, "rb") as f:
            key = f.read()
        self.assertNotEqual(key, b"\0" * 32)
        # policy check no longer warns
        rc, _, err = self.run_ctl("policy", "check")
        self.assertEqual((rc, err), (0, ""))
        # a key that exists is kept, never replaced
        self.assertEqual(self.ok("mfa", "key-init"),
                         "%s: exists, kept\n" % self.key)
        self.assertEqual(self.ok_json("mfa", "key-init"),
                         {"keyFile": self.key, "created": False})
        with open(self.key, "rb") as f:
            self.assertEqual(f.read(), key)
        # FILE instead of the policy's (as a package's postinst, with no
        # policy yet)
        other = os.path.join(self.dir, "other.key")
        self.assertEqual(self.ok_json("mfa", "key-init", other,
                                      policy=False),
                         {"keyFile": other, "created": True})
        with open(other, "rb") as f:
            self.assertNotEqual(f.read(), key)
        # unsafe or unusable keys are errors, and left alone
        os.chmod(self.key, 0o644)
        _, err = self.fails(3, "mfa", "key-init")
        self.assertIn("MFA key file %s: Operation not permitted (it must be "
                      "owned by root, mode 0600)" % self.key, err)
        self.assertEqual(os.stat(self.key).st_mode & 0o777, 0o644)
        _, err = self.fails(3, "mfa", "key-init",
                            os.path.join(self.dir, "no", "such.key"))
        self.assertIn("No such file or directory", err)
        _, err = self.fails(2, "mfa", "key-init", "relative.key")
        self.assertIn("FILE must be an absolute path", err)
        self.fails(2, "mfa", "key-init", self.key, "extra")

    def test_every_verb_still_loads_the_policy(self):
        # only policy check and install look at the files
        os.unlink(self.lst)
        self.ok("status", "alice")

    # ---- policy install ------------------------------------------------

    def dest_state(self, dest):
        st = os.lstat(dest)
        with open(dest, "rb") as f:
            return st.st_ino, stat.S_IMODE(st.st_mode), f.read()

    def test_install_replaces_atomically(self):
        dest = os.path.join(self.dir, "installed.yaml")
        self.write_file(dest, POLICY.format(store=self.store), 0o600)
        ino, _, _ = self.dest_state(dest)
        out = self.ok("--policy", dest, "policy", "install", self.policy,
                      policy=False)
        self.assertEqual(out.strip(), "%s: installed (1 policy)" % dest)
        new_ino, mode, text = self.dest_state(dest)
        self.assertNotEqual(new_ino, ino)
        self.assertEqual(mode, 0o600)  # the stricter mode is kept
        with open(self.policy, "rb") as f:
            self.assertEqual(text, f.read())
        self.assertEqual(os.stat(dest).st_uid, 0)
        self.ok("--policy", dest, "policy", "check", policy=False)
        self.assertEqual(sorted(os.listdir(self.dir)),
                         sorted(["anon.list", "files.yaml", "installed.yaml",
                                 "mfa.key", "policy.yaml", "pwned.txt"]))

    def test_install_new_dest_is_0644(self):
        dest = os.path.join(self.dir, "new.yaml")
        self.ok("--policy", dest, "policy", "install", self.policy,
                policy=False)
        _, mode, _ = self.dest_state(dest)
        self.assertEqual(mode, 0o644)

    def test_install_refuses_invalid(self):
        dest = os.path.join(self.dir, "installed.yaml")
        self.write_file(dest, POLICY.format(store=self.store), 0o644)
        before = self.dest_state(dest)
        bad = self.write_policy("bad.yaml", BAD_POLICY)
        os.chmod(bad, 0o644)
        out, err = self.fails(3, "--policy", dest, "policy", "install", bad,
                              policy=False)
        self.assertEqual(out, "")
        self.assertIn("%s: not installed; %s is unchanged" % (bad, dest),
                      err)
        self.assertEqual(self.dest_state(dest), before)
        # valid YAML naming a missing list: refused too
        os.unlink(self.lst)
        _, err = self.fails(3, "--policy", dest, "policy", "install",
                            self.policy, policy=False)
        self.assert_file_error(err, 8, 9,
                               "detections.anonymizedIPAddress.lists",
                               self.lst, "does not exist")
        self.assertEqual(self.dest_state(dest), before)
        # an untrusted source, and one that does not exist
        self.write_file(self.lst, "", 0o644)
        os.chmod(self.policy, 0o666)
        self.fails(3, "--policy", dest, "policy", "install", self.policy,
                   policy=False)
        self.fails(3, "--policy", dest, "policy", "install",
                   os.path.join(self.dir, "nope.yaml"), policy=False)
        self.assertEqual(self.dest_state(dest), before)
        self.assertFalse([n for n in os.listdir(self.dir)
                          if n.startswith(".")])


class SamplePolicyTest(unittest.TestCase):
    """conf/riskremediate.yaml as README.md installs it passes the check."""

    # created on first use by the module: not installed, not commented
    ON_DEMAND = {"/var/lib/riskremediate/risk.db",
                 "/etc/security/riskremediate.key"}

    def sample(self):
        root = os.environ.get("RR_SOURCE_ROOT") or os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
        return os.path.join(root, "conf", "riskremediate.yaml")

    def test_paths_are_commented_or_created_on_demand(self):
        named = set()
        with open(self.sample()) as f:
            for line in f:
                code = line.split("#", 1)[0]
                named.update(re.findall(r"(?:^|[\s\[{,\"'])(/[A-Za-z_][\w./-]*)",
                                        code))
        self.assertEqual(named - self.ON_DEMAND, set())

    def test_check_as_installed(self):
        d = tempfile.mkdtemp(prefix="riskctl-sample-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        dest = os.path.join(d, "riskremediate.yaml")
        # README: install -m 0644 -o root -g root conf/riskremediate.yaml
        shutil.copyfile(self.sample(), dest)
        os.chmod(dest, 0o644)
        os.chown(dest, 0, 0)
        p = subprocess.run([RISKCTL, "policy", "check", dest],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "%s: OK (3 policies)" % dest)
        for line in p.stderr.splitlines():
            self.assertIn(": warning: ", line)


class MfaTest(ScratchTest):
    """mfa status|reset|grace-reset and tap issue."""

    def store_bytes(self):
        data = b""
        for suffix in ("", "-wal", "-shm", "-journal"):
            path = self.store + suffix
            if os.path.exists(path):
                with open(path, "rb") as f:
                    data += f.read()
        self.assertTrue(data)
        return data

    def issue(self, user, *args):
        """tap issue as an admin; returns (pass, expiry, output)."""
        before = time.time()
        out = self.as_admin("tap", "issue", user, *args)
        m = re.fullmatch(r"Temporary access pass for (\S+): (\S+) \(single "
                         r"use, expires (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\)\. "
                         r"It lets (\S+) register a new authenticator at "
                         r"the next sign-in\.\n", out)
        self.assertIsNotNone(m, out)
        self.assertEqual(m.group(1), user)
        self.assertEqual(m.group(4), user)
        self.assertRegex(m.group(2), TAP_RE)
        return m.group(2), local_time(m.group(3)), before

    def test_status_of_user_with_nothing(self):
        out = self.ok("mfa", "status", "carol")
        self.assertRegex(out, r"(?m)^user:\s+carol$")
        self.assertRegex(out, r"(?m)^registered:\s+no$")
        self.assertNotRegex(out, r"(?m)^registered at:")
        self.assertRegex(out, r"(?m)^grace period:\s+not started \(14 days")
        self.assertRegex(out, r"(?m)^failures:\s+0 wrong codes in the last "
                         r"15m \(lock at 5\)$")
        self.assertRegex(out, r"(?m)^mfa locked:\s+no$")
        self.assertRegex(out, r"(?m)^access pass:\s+none$")
        doc = self.ok_json("mfa", "status", "carol")
        self.assertEqual(doc, {
            "user": "carol", "registered": False, "algorithm": None,
            "digits": None, "period": None, "registeredDateTime": None,
            "registrationState": "disabled", "graceDays": 14,
            "graceStartDateTime": None, "graceDaysLeft": None,
            "failures": 0, "maxFailures": 5, "failureWindowSeconds": 900,
            "locked": False, "temporaryAccessPassPending": False,
            "temporaryAccessPassExpiresDateTime": None})
        # reading is not an admin action
        self.assertEqual(self.ok_json("audit"), [])

    def test_status_follows_policy_settings(self):
        self.policy = self.write_policy("mfa.yaml", POLICY.replace(
            "mfa_registration: {{ state: disabled }}",
            "mfa_registration: {{ state: enabled, grace_days: 3 }}\n"
            "mfa: {{ max_failures: 2, failure_window: 1h }}"))
        doc = self.ok_json("mfa", "status", "carol")
        self.assertEqual(doc["registrationState"], "enabled")
        self.assertEqual(doc["graceDays"], 3)
        self.assertEqual(doc["maxFailures"], 2)
        self.assertEqual(doc["failureWindowSeconds"], 3600)
        out = self.ok("mfa", "status", "carol")
        self.assertRegex(out, r"(?m)^failures:\s+0 wrong codes in the last "
                         r"1h \(lock at 2\)$")
        self.assertRegex(out, r"(?m)^grace period:\s+not started \(3 days")

    def test_tap_issue_status_audit(self):
        user = existing_account()
        tap, expires, before = self.issue(user)
        # default lifetime: the policy's tap_lifetime, 1h
        self.assertAlmostEqual(expires, before + 3600, delta=60)
        out = self.ok("mfa", "status", user)
        m = re.search(r"(?m)^access pass:\s+pending, expires "
                      r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$", out)
        self.assertIsNotNone(m, out)
        self.assertEqual(local_time(m.group(1)), expires)
        self.assertNotIn(tap, out)
        doc = self.ok_json("mfa", "status", user)
        self.assertTrue(doc["temporaryAccessPassPending"])
        self.assertEqual(iso_time(doc["temporaryAccessPassExpiresDateTime"]),
                         expires)
        self.assertFalse(doc["registered"])
        # the audit says a pass was issued, by whom, never the pass
        audit = self.ok_json("audit")
        self.assertEqual(len(audit), 1, audit)
        self.assertEqual(audit[0]["action"], "tap-issue")
        self.assertEqual(audit[0]["target"], user)
        self.assertEqual(audit[0]["actor"], "alice-admin")
        text = self.ok("audit")
        self.assertRegex(text, r"(?m)alice-admin\s+tap-issue\s+%s"
                         % re.escape(user))
        bare = tap.replace("-", "")
        for blob in (json.dumps(audit), text):
            self.assertNotIn(tap, blob)
            self.assertNotIn(bare, blob)
        # nor anywhere in the store's bytes (only its hash is kept)
        data = self.store_bytes()
        for form in (tap, bare, tap.lower(), bare.lower()):
            self.assertNotIn(form.encode(), data)

    def test_tap_issue_json_and_ttl(self):
        user = existing_account()
        before = time.time()
        out = self.as_admin("--json", "tap", "issue", user, "--ttl", "2h")
        doc = json.loads(out)
        self.assertEqual(sorted(doc), ["expiresDateTime", "pass", "user"])
        self.assertEqual(doc["user"], user)
        self.assertRegex(doc["pass"], TAP_RE)
        self.assertAlmostEqual(iso_time(doc["expiresDateTime"]),
                               before + 7200, delta=60)
        # a new pass replaces the old one; passes differ
        tap2, expires2, before2 = self.issue(user, "--ttl", "30m")
        self.assertNotEqual(tap2, doc["pass"])
        self.assertAlmostEqual(expires2, before2 + 1800, delta=60)
        st = self.ok_json("mfa", "status", user)
        self.assertEqual(iso_time(st["temporaryAccessPassExpiresDateTime"]),
                         expires2)
        # the bounds themselves are accepted
        _, e, b = self.issue(user, "--ttl", "5m")
        self.assertAlmostEqual(e, b + 300, delta=60)
        _, e, b = self.issue(user, "--ttl", "30d")
        self.assertAlmostEqual(e, b + 30 * 86400, delta=60)
        _, e, b = self.issue(user, "--ttl", "300")
        self.assertAlmostEqual(e, b + 300, delta=60)
        audit = self.ok_json("audit")
        self.assertEqual([a["action"] for a in audit], ["tap-issue"] * 5)
        data = self.store_bytes()
        self.assertNotIn(doc["pass"].encode(), data)
        self.assertNotIn(tap2.encode(), data)

    def test_tap_lifetime_from_policy(self):
        self.policy = self.write_policy("mfa.yaml", POLICY.replace(
            "mfa_registration: {{ state: disabled }}",
            "mfa_registration: {{ state: disabled }}\n"
            "mfa: {{ tap_lifetime: 10m }}"))
        _, expires, before = self.issue(existing_account())
        self.assertAlmostEqual(expires, before + 600, delta=60)

    def test_tap_ttl_errors(self):
        user = existing_account()
        for bad in ("4m", "299", "31d", "2592001", "0", "99999999999d"):
            _, err = self.fails(2, "tap", "issue", user, "--ttl", bad)
            self.assertIn("riskctl: invalid ttl", err)
            self.assertIn("from 5m to 30d", err)
        for bad in ("2x", "", "1.5h", "-1h", "h", "1 h", "01h", "1h30m",
                    "\x1b[31m"):
            _, err = self.fails(2, "tap", "issue", user, "--ttl", bad)
            self.assertIn("riskctl: invalid ttl", err)
            self.assertIn("30m, 2h or 1d", err)
            self.assertNotIn("\x1b", err)
        _, err = self.fails(2, "tap", "issue", user, "--ttl")
        self.assertIn("needs a value", err)
        _, err = self.fails(2, "mfa", "status", user, "--ttl", "1h")
        self.assertIn("--ttl is not valid for 'mfa status'", err)
        self.fails(2, "status", user, "--ttl", "1h")
        self.assertFalse(os.path.exists(self.store))

    def test_tap_unknown_or_invalid_user(self):
        out, err = self.fails(1, "tap", "issue", "no-such-user-rr")
        self.assertEqual(out, "")
        self.assertIn("riskctl: no such user 'no-such-user-rr'", err)
        self.fails(1, "--json", "tap", "issue", "no-such-user-rr")
        _, err = self.fails(2, "tap", "issue", "a/b")
        self.assertIn("invalid user name", err)
        self.fails(2, "mfa", "status", "a b")
        self.fails(2, "mfa", "reset", "-x")
        self.fails(2, "mfa", "grace-reset", "a:b")
        self.assertFalse(os.path.exists(self.store))

    def test_mfa_reset_audited(self):
        user = existing_account()
        self.issue(user)
        out = self.as_admin("mfa", "reset", user)
        self.assertEqual(out, "%s: authenticator removed; they register "
                         "again at next sign-in\n" % user)
        # the reset revoked the unused pass
        doc = self.ok_json("mfa", "status", user)
        self.assertFalse(doc["temporaryAccessPassPending"])
        self.assertIsNone(doc["temporaryAccessPassExpiresDateTime"])
        self.assertFalse(doc["registered"])
        doc = json.loads(self.as_admin("--json", "mfa", "reset", "carol"))
        self.assertEqual(doc, {"user": "carol", "action": "mfa-reset"})
        self.ok("mfa", "reset", "dave")         # actor from getuid: root
        audit = self.ok_json("audit")
        resets = [(a["target"], a["actor"]) for a in audit
                  if a["action"] == "mfa-reset"]
        self.assertEqual(sorted(resets), sorted([
            (user, "alice-admin"), ("carol", "alice-admin"),
            ("dave", "root")]))
        self.assertRegex(self.ok("audit"),
                         r"(?m)alice-admin\s+mfa-reset\s+carol")

    def test_mfa_grace_reset_audited(self):
        out = self.as_admin("mfa", "grace-reset", "carol")
        self.assertEqual(out, "carol: registration grace period restarts "
                         "at next sign-in (14 days)\n")
        doc = json.loads(self.as_admin("--json", "mfa", "grace-reset",
                                       "erin"))
        self.assertEqual(doc, {"user": "erin", "action": "mfa-grace-reset"})
        self.assertIsNone(self.ok_json("mfa", "status", "carol")
                          ["graceStartDateTime"])
        audit = self.ok_json("audit")
        self.assertEqual(sorted((a["target"], a["action"], a["actor"])
                                for a in audit),
                         [("carol", "mfa-grace-reset", "alice-admin"),
                          ("erin", "mfa-grace-reset", "alice-admin")])
        self.policy = self.write_policy("g1.yaml", POLICY.replace(
            "mfa_registration: {{ state: disabled }}",
            "mfa_registration: {{ state: enabled, grace_days: 1 }}"))
        out = self.as_admin("mfa", "grace-reset", "carol")
        self.assertIn("(1 day)", out)


# ---- a minimal PAM client, run in a child process ----------------------

PAM_SUCCESS = 0
PAM_AUTH_ERR = 7
PAM_RHOST = 4
PAM_TTY = 3
PAM_ERROR_MSG = 3
PAM_TEXT_INFO = 4
PAM_CONV_ERR = 19


class PamMessage(ctypes.Structure):
    _fields_ = [("msg_style", ctypes.c_int), ("msg", ctypes.c_char_p)]


class PamResponse(ctypes.Structure):
    _fields_ = [("resp", ctypes.c_void_p), ("resp_retcode", ctypes.c_int)]


CONV_FUNC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int,
                             ctypes.POINTER(ctypes.POINTER(PamMessage)),
                             ctypes.POINTER(ctypes.POINTER(PamResponse)),
                             ctypes.c_void_p)


class PamConv(ctypes.Structure):
    _fields_ = [("conv", CONV_FUNC), ("appdata_ptr", ctypes.c_void_p)]


def pam_driver(confdir, service, user, rhost):
    """Run the auth stack once; print {"rc", "messages"} as JSON."""
    libc = ctypes.CDLL(None)
    libc.calloc.restype = ctypes.c_void_p
    libc.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
    pam = ctypes.CDLL(ctypes.util.find_library("pam"))
    messages = []

    def conv(n, msgs, resp, _data):
        out = libc.calloc(n, ctypes.sizeof(PamResponse))
        for i in range(n):
            m = msgs[i].contents
            if m.msg_style not in (PAM_ERROR_MSG, PAM_TEXT_INFO):
                messages.append("PROMPT: " + m.msg.decode())
                return PAM_CONV_ERR     # no answers in this test
            messages.append(m.msg.decode())
        resp[0] = ctypes.cast(out, ctypes.POINTER(PamResponse))
        return PAM_SUCCESS

    cb = CONV_FUNC(conv)
    pconv = PamConv(cb, None)
    h = ctypes.c_void_p()
    rc = pam.pam_start_confdir(service.encode(), user.encode(),
                               ctypes.byref(pconv), confdir.encode(),
                               ctypes.byref(h))
    if rc != PAM_SUCCESS:
        print(json.dumps({"rc": -1, "messages": ["pam_start failed"]}))
        return
    pam.pam_set_item(h, PAM_RHOST, rhost.encode())
    pam.pam_set_item(h, PAM_TTY, b"ssh")
    rc = pam.pam_authenticate(h, 0)
    pam.pam_end(h, rc)
    print(json.dumps({"rc": rc, "messages": messages}))


class SigninBase(ScratchTest):
    """Sign-ins recorded by the real module (skips when not built)."""

    def setUp(self):
        super().setUp()
        root = os.environ.get("RR_BUILD_ROOT")
        self.module = os.path.join(root or "", "pam_riskremediate",
                                   "module", "pam_riskremediate.so")
        if not root or not os.path.exists(self.module):
            self.skipTest("module not built (set RR_BUILD_ROOT)")
        lib = ctypes.util.find_library("pam")
        if not lib or not hasattr(ctypes.CDLL(lib), "pam_start_confdir"):
            self.skipTest("libpam without pam_start_confdir")
        self.confdir = os.path.join(self.dir, "pam.d")
        os.mkdir(self.confdir, 0o700)
        with open(os.path.join(self.confdir, "rrtest"), "w") as f:
            f.write("auth required %s policy=%s\n"
                    % (self.module, self.policy))

    def driver_env(self):
        """In a sanitizer build the module needs the ASan/UBSan runtimes
        loaded first into the (uninstrumented) Python driver."""
        env = dict(self.env)
        ldd = subprocess.run(["ldd", self.module], capture_output=True,
                             text=True)
        libs = re.findall(r"=> (\S*lib(?:asan|ubsan)\.so\S*)", ldd.stdout)
        if libs:
            env["LD_PRELOAD"] = ":".join(libs)
            # Python's own allocations are not ours to judge
            env["ASAN_OPTIONS"] = "detect_leaks=0"
        return env

    def sign_in(self, user, rhost):
        p = subprocess.run([sys.executable, os.path.abspath(__file__),
                            "--pam-driver", self.confdir, "rrtest", user,
                            rhost], capture_output=True, text=True,
                           env=self.driver_env(), timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)


class SigninTest(SigninBase):
    """Sign-ins recorded by the real module, looked up with riskctl."""

    def test_blocked_signin_lookup_and_unblock(self):
        user = existing_account()
        self.as_admin("confirm-compromised", user)
        res = self.sign_in(user, "203.0.113.7")
        self.assertEqual(res["rc"], PAM_AUTH_ERR, res)
        told = " ".join(res["messages"])
        m = re.search(r"reference ([0-9A-F]{4}-[0-9A-F]{4})", told)
        self.assertIsNotNone(m, told)
        ref = m.group(1)

        out = self.ok("signins", "--ref", ref.lower())
        self.assertRegex(out, r"(?m)^ref:\s+%s$" % ref)
        self.assertRegex(out, r"(?m)^user:\s+%s$" % re.escape(user))
        self.assertRegex(out, r"(?m)^service:\s+rrtest$")
        self.assertRegex(out, r"(?m)^rhost:\s+203\.0\.113\.7$")
        self.assertRegex(out, r"(?m)^decision:\s+block$")
        self.assertRegex(out, r"(?m)^outcome:\s+blocked$")
        self.assertRegex(out, r"(?m)^user risk:\s+high$")
        self.assertRegex(out, r"(?m)^applied policies:\s+Block high user "
                         r"risk$")
        self.assertRegex(out, r"(?m)^report-only policies:\s+Report ")
        self.assertRegex(out, r"(?m)^mfa:\s+-$")
        doc = self.ok_json("signins", "--ref", ref)
        self.assertEqual(len(doc), 1)
        s = doc[0]
        self.assertEqual(s["ref"], ref)
        self.assertEqual(s["user"], user)
        self.assertEqual(s["rhost"], "203.0.113.7")
        self.assertEqual(s["decision"], "block")
        self.assertEqual(s["outcome"], "blocked")
        self.assertEqual(s["userRiskLevel"], "high")
        self.assertEqual(s["appliedPolicies"], ["Block high user risk"])
        self.assertEqual(s["reportOnlyPolicies"],
                         ['Report "medium" user risk – Büro'])
        self.assertRegex(s["createdDateTime"], r"Z$")
        self.assertIsNone(s["mfa"])

        self.as_admin("unblock", user)
        res = self.sign_in(user, "203.0.113.7")
        self.assertEqual(res["rc"], PAM_SUCCESS, res)
        doc = self.ok_json("signins", "--user", user)
        self.assertEqual([x["outcome"] for x in doc], ["success", "blocked"])
        self.assertEqual(len(self.ok_json("signins", "--limit", "1")), 1)
        out = self.ok("signins")
        self.assertRegex(out.splitlines()[2], r"\s%s\s+%s\s+rrtest\s+"
                         r"203\.0\.113\.7\s+block\s+blocked\s+"
                         % (ref, re.escape(user)))
        # last: skips when valgrind is missing
        self.assert_valgrind_clean([["signins", "--ref", ref],
                                    ["--json", "signins"], ["signins"]])


    def test_refused_registration_shows_mfa(self):
        """A risky sign-in that needs MFA from a user with no authenticator
        is blocked (no enrolment during risk); signins says so in mfa."""
        self.policy = self.write_policy("mfa.yaml", POLICY.replace(
            "    conditions: {{ user_risk: [high] }}\n"
            "    grant: {{ block: true }}",
            "    conditions: {{ user_risk: [high] }}\n"
            "    grant: {{ require: [mfa] }}"))
        with open(os.path.join(self.confdir, "rrtest"), "w") as f:
            f.write("auth required %s policy=%s\n"
                    % (self.module, self.policy))
        user = existing_account()
        self.as_admin("confirm-compromised", user)
        res = self.sign_in(user, "203.0.113.7")
        self.assertEqual(res["rc"], PAM_AUTH_ERR, res)
        told = " ".join(res["messages"])
        m = re.search(r"reference ([0-9A-F]{4}-[0-9A-F]{4})", told)
        self.assertIsNotNone(m, told)
        self.assertIn("no authenticator app is registered", told)
        ref = m.group(1)
        out = self.ok("signins", "--ref", ref)
        self.assertRegex(out, r"(?m)^outcome:\s+blocked$")
        self.assertRegex(out, r"(?m)^mfa:\s+refused$")
        doc = self.ok_json("signins", "--ref", ref)
        self.assertEqual(doc[0]["mfa"], "refused")
        self.assertEqual(doc[0]["outcome"], "blocked")
        self.assertEqual(doc[0]["decision"], "require")


DETECTIONS = """\
detections:
  anonymizedIPAddress: {{ level: medium, lists: [{lists}/anon.list] }}
aggregation: {{ enabled: true, signins: 2, min_level: medium, window: 1d }}
"""


class DetectionsTest(SigninBase):
    """confirm-safe and the detections filters, on sign-ins recorded by
    the module from a listed (anonymizing) address."""

    def setUp(self):
        super().setUp()
        with open(os.path.join(self.dir, "anon.list"), "w") as f:
            f.write("198.51.100.0/24\n")
        self.policy = self.write_policy(
            "det.yaml", POLICY + DETECTIONS.replace("{lists}", self.dir))
        with open(os.path.join(self.confdir, "rrtest"), "w") as f:
            f.write("auth required %s policy=%s\n"
                    % (self.module, self.policy))
        self.user = existing_account()

    def risky_sign_in(self, rhost="198.51.100.7"):
        res = self.sign_in(self.user, rhost)
        self.assertEqual(res["rc"], PAM_AUTH_ERR, res)
        m = re.search(r"reference ([0-9A-F]{4}-[0-9A-F]{4})",
                      " ".join(res["messages"]))
        self.assertIsNotNone(m, res)
        return m.group(1)

    def test_confirm_safe_lowers_aggregated_risk(self):
        first = self.risky_sign_in()
        self.assertEqual(self.ok_json("status", self.user)["riskLevel"],
                         "none")
        second = self.risky_sign_in()
        doc = self.ok_json("status", self.user)
        self.assertEqual((doc["riskLevel"], doc["riskState"]),
                         ("medium", "atRisk"))

        out = self.as_admin("confirm-safe", "--ref", first.lower())
        self.assertEqual(out, "%s: sign-in confirmed safe; %s risk now "
                         "none\n" % (first, self.user))
        doc = self.ok_json("status", self.user)
        self.assertEqual((doc["riskLevel"], doc["riskState"],
                          doc["riskDetail"]),
                         ("none", "confirmedSafe", "adminConfirmedSigninSafe"))
        dets = self.ok_json("detections", "--user", self.user)
        self.assertEqual(sorted((d["ref"], d["riskState"], d["riskDetail"])
                                for d in dets),
                         sorted([(first, "confirmedSafe",
                                  "adminConfirmedSigninSafe"),
                                 (second, "atRisk", "none")]))
        audit = [a for a in self.ok_json("audit")
                 if a["action"] == "confirm-safe"]
        self.assertEqual([(a["actor"], a["target"], a["detail"])
                          for a in audit],
                         [("alice-admin", self.user, "ref " + first)])

        # the next risky sign-in meets the aggregation again
        self.risky_sign_in("198.51.100.8")
        self.assertEqual(self.ok_json("status", self.user)["riskLevel"],
                         "medium")
        doc = json.loads(self.as_admin("--json", "confirm-safe", "--ref",
                                       second))
        self.assertEqual(doc, {"ref": second, "user": self.user,
                               "action": "confirm-safe",
                               "riskLevel": "none",
                               "effectiveRiskLevel": "none",
                               "riskState": "confirmedSafe",
                               "riskDetail": "adminConfirmedSigninSafe"})

        _, err = self.fails(1, "confirm-safe", "--ref", "0000-0000")
        self.assertIn("riskctl: no sign-in with reference 0000-0000", err)
        self.assert_valgrind_clean([["confirm-safe", "--ref", first],
                                    ["detections", "--type",
                                     "anonymizedIPAddress", "--since", "1d"]])

    def test_detections_filters(self):
        self.as_admin("confirm-compromised", self.user)
        ref = self.risky_sign_in()

        def refs(*args):
            return sorted((d["riskEventType"], d["ref"]) for d in
                          self.ok_json("detections", *args))

        anon = ("anonymizedIPAddress", ref)
        admin = ("adminConfirmedUserCompromised", None)
        self.assertEqual(refs(), sorted([anon, admin]))
        self.assertEqual(refs("--type", "anonymizedIPAddress"), [anon])
        self.assertEqual(refs("--type", "passwordSpray"), [])
        self.assertEqual(refs("--level", "high"), [admin])
        self.assertEqual(refs("--level", "medium", "--user", self.user),
                         [anon])
        self.assertEqual(refs("--state", "atRisk"), sorted([anon, admin]))
        self.assertEqual(refs("--active", "--state", "atRisk",
                              "--type", "adminConfirmedUserCompromised"),
                         [admin])
        self.assertEqual(refs("--user", "nosuchuser"), [])
        d = self.ok_json("detections", "--type", "anonymizedIPAddress")[0]
        self.assertEqual((d["source"], d["riskScope"], d["riskLevel"]),
                         ("198.51.100.7", "signin", "medium"))
        self.assertEqual(len(self.ok_json("detections", "--limit", "1")), 1)
        # --since: move the admin detection three days back
        import sqlite3
        db = sqlite3.connect(self.store)
        with db:
            db.execute("UPDATE detections SET detected = detected - 259200"
                       " WHERE type = 'adminConfirmedUserCompromised'")
        db.close()
        self.assertEqual(refs("--since", "2d"), [anon])
        self.assertEqual(refs("--since", "4d"), sorted([anon, admin]))
        self.assertEqual(refs("--since", "71h", "--level", "high"), [])

        self.as_admin("dismiss", self.user)
        self.assertEqual(refs("--active"), [])
        self.assertEqual(refs("--state", "dismissed"), sorted([anon, admin]))
        out = self.ok("detections", "--state", "dismissed", "--type",
                      "anonymizedIPAddress")
        lines = out.splitlines()
        self.assertEqual(len(lines), 2, out)
        self.assertRegex(lines[1], r"\sanonymizedIPAddress\s+medium\s+"
                         r"dismissed\s+adminDismissedAllRiskForUser\s+"
                         r"198\.51\.100\.7\s")


def main():
    global RISKCTL
    if len(sys.argv) == 6 and sys.argv[1] == "--pam-driver":
        pam_driver(*sys.argv[2:])
        return
    run_tests("test_riskctl.py RISKCTL")


def run_tests(usage):
    """The riskctl e2e programs' command line (this one's, test_graph.py's,
    test_metrics.py's): RISKCTL, or $RR_BUILD_ROOT's; then the tests of
    the program run (__main__), as root."""
    global RISKCTL
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        RISKCTL = os.path.abspath(sys.argv.pop(1))
    else:
        root = os.environ.get("RR_BUILD_ROOT")
        if not root:
            sys.exit("usage: %s (or set RR_BUILD_ROOT)" % usage)
        RISKCTL = os.path.join(root, "tools", "riskctl", "riskctl")
    if os.geteuid() != 0:
        print("SKIP: riskctl e2e tests must run as root")
        sys.exit(77)
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
