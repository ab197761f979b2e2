#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""riskctl --format graph (SIEM export) end to end.

Usage: test_graph.py SCHEMA-DIR [PATH-TO-RISKCTL]  (default riskctl:
$RR_BUILD_ROOT/tools/riskctl/riskctl).  Runs with Debian's python3, which
has python3-jsonschema.  Sign-ins are recorded by the built module
through the real libpam (test_riskctl.SigninBase); every line riskctl
prints is validated against tests/data/graph/*.schema.json, and the
cursor (--cursor-file, --since) is followed as a shipper would.
"""
import json
import os
import re
import shutil
import sqlite3
import sys
import unittest
from datetime import datetime

import jsonschema

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_riskctl as base  # noqa: E402

SCHEMA_DIR = None
FLEET_POLICY = """\
version: 1
store:
  backend: etcd
  path: {store}
  etcd: {{ endpoints: ["http://127.0.0.1:1"], prefix: /rr-graph/ }}
mfa_registration: {{ state: disabled }}
"""
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def date_time(value):
    """RFC 3339 in UTC, as riskctl writes it ("2026-11-25T19:22:05Z"):
    jsonschema's own date-time check needs a module Debian lacks."""
    if not isinstance(value, str):
        return True
    if not RFC3339_UTC.match(value):
        raise ValueError("not YYYY-MM-DDTHH:MM:SSZ")
    datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    return True


def validator(name):
    with open(os.path.join(SCHEMA_DIR, name + ".schema.json")) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=FORMATS)


class GraphTest(base.SigninBase):
    """Graph-shaped JSON Lines from sign-ins the module recorded."""

    def setUp(self):
        super().setUp()
        with open(os.path.join(self.dir, "anon.list"), "w") as f:
            f.write("198.51.100.0/24\n")
        self.policy = self.write_policy(
            "graph.yaml",
            base.POLICY + base.DETECTIONS.replace("{lists}", self.dir))
        with open(os.path.join(self.confdir, "rrtest"), "w") as f:
            f.write("auth required %s policy=%s\n"
                    % (self.module, self.policy))
        self.user = base.existing_account()
        self.v = {n: validator(n) for n in
                  ("signIn", "riskDetection", "riskyUser")}

    def blocked_sign_in(self, rhost):
        res = self.sign_in(self.user, rhost)
        self.assertEqual(res["rc"], base.PAM_AUTH_ERR, res)
        m = re.search(r"reference ([0-9A-F]{4}-[0-9A-F]{4})",
                      " ".join(res["messages"]))
        self.assertIsNotNone(m, res)
        return m.group(1)

    def graph(self, resource, *args):
        """Run riskctl with --format graph; every line one object that
        validates against the resource's schema."""
        out = self.ok(*args, "--format", "graph")
        self.assertTrue(out == "" or out.endswith("\n"), out)
        docs = []
        for line in out.splitlines():
            doc = json.loads(line)  # one object per line, no array
            self.assertIsInstance(doc, dict)
            errors = sorted(self.v[resource].iter_errors(doc),
                            key=lambda e: list(e.path))
            self.assertEqual(errors, [], "%s: %s" % (
                line, "; ".join(e.message for e in errors)))
            docs.append(doc)
        return docs

    def cursor(self, path):
        with open(path) as f:
            return f.read()

    # ---- the schemas can fail ----------------------------------------

    def test_schema_rejects(self):
        good = {"id": "alice", "userPrincipalName": "alice",
                "riskLevel": "high", "riskState": "atRisk",
                "riskDetail": "none", "isDeleted": False,
                "isProcessing": False,
                "riskLastUpdatedDateTime": "2026-11-25T19:22:05Z"}
        self.assertTrue(self.v["riskyUser"].is_valid(good))
        for key, bad in (("riskLevel", "severe"), ("riskState", "risky"),
                         ("riskLastUpdatedDateTime", "2026-13-25T19:22:05Z"),
                         ("riskLastUpdatedDateTime", "2026-11-25 19:22:05"),
                         ("extra", 1)):
            self.assertFalse(self.v["riskyUser"].is_valid(
                dict(good, **{key: bad})), (key, bad))

    # ---- signIn ------------------------------------------------------

    def test_signins_cursor_and_fields(self):
        cur = os.path.join(self.dir, "signins.cursor")
        self.as_admin("confirm-compromised", self.user)
        blocked = self.blocked_sign_in("203.0.113.7")

        docs = self.graph("signIn", "signins", "--cursor-file", cur)
        self.assertEqual(len(docs), 1)
        s = docs[0]
        self.assertEqual(s["id"], blocked)
        self.assertEqual(s["userPrincipalName"], self.user)
        self.assertEqual(s["appDisplayName"], "rrtest")
        self.assertEqual(s["ipAddress"], "203.0.113.7")
        self.assertEqual(s["riskLevelDuringSignIn"], "none")
        self.assertEqual(s["riskEventTypes_v2"], [])
        self.assertEqual(s["conditionalAccessStatus"], "failure")
        self.assertEqual(s["status"]["errorCode"], 53003)
        self.assertEqual(s["status"]["failureReason"], "Access has been "
                         "blocked by Conditional Access policies.")
        self.assertEqual(s["appliedConditionalAccessPolicies"], [
            {"id": "Block high user risk",
             "displayName": "Block high user risk", "result": "failure",
             "enforcedGrantControls": ["Block"],
             "enforcedSessionControls": []},
            {"id": 'Report "medium" user risk – Büro',
             "displayName": 'Report "medium" user risk – Büro',
             "result": "reportOnlyInterrupted",
             "enforcedGrantControls": ["Mfa", "PasswordChange"],
             "enforcedSessionControls": []}])
        self.assertRegex(self.cursor(cur), r"^signins:[1-9][0-9]*\n$")

        # the shipper's next run: nothing new, the file left as it was
        ino = os.stat(cur).st_ino
        self.assertEqual(self.graph("signIn", "signins", "--cursor-file",
                                    cur), [])
        self.assertEqual(os.stat(cur).st_ino, ino)
        first = self.cursor(cur)

        # one new (risky) sign-in: exactly that one
        self.as_admin("unblock", self.user)
        risky = self.blocked_sign_in("198.51.100.7")
        docs = self.graph("signIn", "signins", "--cursor-file", cur)
        self.assertEqual([d["id"] for d in docs], [risky])
        s = docs[0]
        self.assertEqual((s["riskLevelDuringSignIn"], s["riskState"],
                          s["riskDetail"], s["riskEventTypes_v2"]),
                         ("medium", "atRisk", "none",
                          ["anonymizedIPAddress"]))
        self.assertEqual(s["ipAddress"], "198.51.100.7")
        self.assertNotEqual(s["status"]["errorCode"], 0)
        self.assertNotEqual(self.cursor(cur), first)
        self.assertEqual(self.graph("signIn", "signins", "--cursor-file",
                                    cur), [])

        # an admin's change to it re-emits it, once, in its new state
        self.as_admin("confirm-safe", "--ref", risky)
        docs = self.graph("signIn", "signins", "--cursor-file", cur)
        self.assertEqual([(d["id"], d["riskState"], d["riskDetail"])
                          for d in docs],
                         [(risky, "confirmedSafe",
                           "adminConfirmedSigninSafe")])
        self.assertEqual(self.graph("signIn", "signins", "--cursor-file",
                                    cur), [])

        # --since with the cursor a file holds: the same stream
        self.assertEqual(
            [d["id"] for d in self.graph("signIn", "signins", "--since",
                                         first.strip())], [risky])
        self.assertEqual(len(self.graph("signIn", "signins", "--since",
                                        "signins:0")), 2)
        self.assertEqual([d["id"] for d in self.graph(
            "signIn", "signins", "--user", "nosuchuser")], [])

    def test_same_second_records_each_once(self):
        """Three sign-ins (in the same second or not), shipped one per run
        (--limit 1): each once, in order, then nothing."""
        refs = [self.blocked_sign_in("198.51.100.%d" % i)
                for i in (10, 11, 12)]
        db = sqlite3.connect(self.store)
        with db:  # the same second for all three, whatever the clock did
            db.execute("UPDATE signins SET time = 1764000000")
        db.close()
        cur = os.path.join(self.dir, "c")
        got = []
        for _ in range(4):
            got += [d["id"] for d in self.graph(
                "signIn", "signins", "--limit", "1", "--cursor-file", cur)]
        self.assertEqual(got, refs)
        docs = self.graph("signIn", "signins", "--since", "signins:0")
        self.assertEqual({d["createdDateTime"] for d in docs},
                         {"2025-11-24T16:00:00Z"})

    # ---- riskDetection and riskyUser ---------------------------------

    def test_detections_and_users(self):
        cur = os.path.join(self.dir, "detections.cursor")
        self.as_admin("confirm-compromised", self.user)
        self.as_admin("unblock", self.user)
        risky = self.blocked_sign_in("198.51.100.7")

        docs = self.graph("riskDetection", "detections", "--cursor-file",
                          cur)
        self.assertEqual(len(docs), 2)
        user_det, signin_det = docs  # oldest first
        self.assertEqual((user_det["riskEventType"], user_det["activity"],
                          user_det["detectionTimingType"],
                          user_det["riskState"], user_det["riskDetail"],
                          user_det["riskLevel"]),
                         ("adminConfirmedUserCompromised", "user", "offline",
                          "dismissed", "adminDismissedAllRiskForUser",
                          "high"))
        self.assertEqual((signin_det["riskEventType"],
                          signin_det["activity"],
                          signin_det["detectionTimingType"],
                          signin_det["requestId"],
                          signin_det["correlationId"],
                          signin_det["ipAddress"], signin_det["riskLevel"],
                          signin_det["riskState"],
                          signin_det["userPrincipalName"]),
                         ("anonymizedIPAddress", "signin", "realtime", risky,
                          risky, "198.51.100.7", "medium", "atRisk",
                          self.user))
        self.assertLess(int(user_det["id"]), int(signin_det["id"]))
        self.assertEqual(self.cursor(cur),
                         "detections:%s\n" % signin_det["id"])
        self.assertEqual(self.graph("riskDetection", "detections",
                                    "--cursor-file", cur), [])

        second = self.blocked_sign_in("198.51.100.9")
        docs = self.graph("riskDetection", "detections", "--cursor-file",
                          cur)
        self.assertEqual([(d["requestId"], d["riskEventType"])
                          for d in docs],
                         [(second, "anonymizedIPAddress")])
        self.assertEqual(self.graph("riskDetection", "detections",
                                    "--cursor-file", cur), [])
        # the filters still apply; --since DURATION as before
        self.assertEqual(len(self.graph("riskDetection", "detections",
                                        "--type", "anonymizedIPAddress")),
                         2)
        self.assertEqual(len(self.graph("riskDetection", "detections",
                                        "--since", "1d")), 3)

        users = self.graph("riskyUser", "list")
        me = [u for u in users if u["userPrincipalName"] == self.user]
        self.assertEqual(len(me), 1)
        self.assertEqual((me[0]["id"], me[0]["riskState"],
                          me[0]["isDeleted"], me[0]["isProcessing"]),
                         (self.user, "atRisk", False, False))
        self.as_admin("dismiss", self.user)
        me = [u for u in self.graph("riskyUser", "list")
              if u["id"] == self.user]
        # a dismissed user stays in the riskyUsers list, as in Graph
        self.assertEqual((me[0]["riskLevel"], me[0]["riskState"],
                          me[0]["riskDetail"]),
                         ("none", "dismissed", "adminDismissedAllRiskForUser"))
        self.memcheck([
            ["signins", "--format", "graph"],
            ["detections", "--format", "graph", "--cursor-file", cur],
            ["list", "--format", "graph"]])

    def memcheck(self, cases):
        """Each case free of memory errors and leaks: under valgrind, or,
        in a sanitizer build, under ASan/LSan (exit non-zero on either).
        Never skipped: valgrind is in tests/run-all's packages."""
        with open(base.RISKCTL, "rb") as f:
            asan = b"__asan_init" in f.read()
        if asan:
            for args in cases:
                self.ok(*args)
            return
        self.assertIsNotNone(shutil.which("valgrind"), "valgrind missing")
        vg = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
              "--errors-for-leak-kinds=definite,indirect"]
        for args in cases:
            rc, _, err = self.run_ctl(*args, prefix=vg)
            self.assertEqual(rc, 0, "valgrind: %s\n%s" % (args, err))
            self.assertNotIn("==", err, "valgrind: %s\n%s" % (args, err))

    # ---- errors --------------------------------------------------------

    def test_bad_cursors(self):
        for bad in ("signins:", "signins:x1", "signins:-1", "nosuch:1",
                    "signins:99999999999999999999", "signins:1:2",
                    "signins:" + "1" * 40):
            _, err = self.fails(2, "signins", "--format", "graph",
                                "--since", bad)
            self.assertIn("riskctl: invalid since", err)
        _, err = self.fails(2, "signins", "--format", "graph", "--since",
                            "detections:3")
        self.assertIn("is a cursor of 'detections', not of 'signins'", err)
        _, err = self.fails(2, "signins", "--since", "signins:3")
        self.assertIn("for --format graph only", err)
        _, err = self.fails(2, "signins", "--format", "graph", "--since",
                            "1d")
        self.assertIn("takes a cursor", err)
        _, err = self.fails(2, "status", self.user, "--format", "graph")
        self.assertIn("option --format graph is not valid for 'status'",
                      err)
        _, err = self.fails(2, "list", "--format", "yaml")
        self.assertIn("invalid format 'yaml'", err)
        _, err = self.fails(2, "list", "--json", "--format", "graph")
        self.assertIn("contradict", err)
        cur = os.path.join(self.dir, "c")
        _, err = self.fails(2, "signins", "--format", "graph", "--since",
                            "signins:0", "--cursor-file", cur)
        self.assertIn("cannot be combined", err)
        for text in ("garbage\n", "detections:4\n", "signins:1\nx"):
            with open(cur, "w") as f:
                f.write(text)
            os.chmod(cur, 0o600)
            self.fails(7, "signins", "--format", "graph", "--cursor-file",
                       cur)
            self.assertEqual(self.cursor(cur), text)  # left alone
        os.chmod(cur, 0o666)
        with open(cur, "w") as f:
            f.write("signins:0\n")
        _, err = self.fails(7, "signins", "--format", "graph",
                            "--cursor-file", cur)
        self.assertIn("not group/other-writable", err)
        os.unlink(cur)
        os.symlink(os.path.join(self.dir, "elsewhere"), cur)
        self.fails(7, "signins", "--format", "graph", "--cursor-file", cur)
        # a fleet's detections have no stable ids: refused before etcd is
        # asked (nothing listens on port 1); its host's sign-ins work
        fleet = self.write_policy("fleet.yaml", FLEET_POLICY)
        _, err = self.fails(2, "--policy", fleet, "detections", "--format",
                            "graph", policy=False)
        self.assertIn("not available with a fleet policy", err)
        self.assertEqual(self.ok("--policy", fleet, "signins", "--format",
                                 "graph", policy=False), "")
        # --format json is --json
        self.assertEqual(json.loads(self.ok("list", "--format", "json")),
                         json.loads(self.ok("list", "--json")))


def main():
    global SCHEMA_DIR
    if len(sys.argv) < 2:
        sys.exit("usage: test_graph.py SCHEMA-DIR [RISKCTL]")
    SCHEMA_DIR = sys.argv.pop(1)
    base.run_tests("test_graph.py SCHEMA-DIR RISKCTL")


if __name__ == "__main__":
    main()
