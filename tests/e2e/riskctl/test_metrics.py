#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""End-to-end tests of `riskctl metrics` (Prometheus text format).

Usage: test_metrics.py [PATH-TO-RISKCTL]   (default: $RR_BUILD_ROOT/tools/
riskctl/riskctl).  Must run as root.  Sign-ins go through the built module
and the real libpam (test_riskctl's driver); riskd is the built one, on a
socket of the test's.  Every output must pass `promtool check metrics`
(Debian's prometheus package), and its samples are read back with the
exposition format's rules (label escapes undone) and compared with what the
test did.
"""
import json
import os
import sqlite3
import re
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
import unittest

import test_riskctl as base

PAM_SUCCESS = base.PAM_SUCCESS
PAM_AUTH_ERR = base.PAM_AUTH_ERR
PROMTOOL = shutil.which("promtool")
# A service name the module takes (printable ASCII, no space, '"' or '\')
# with the characters of the labels' syntax in it
ODD = "odd{svc}=a,b#1"
# Names only a store written otherwise holds (the module refuses them):
# '"', '\', newline escaped; other control bytes and non-ASCII as '?', so
# the two last ones become one series
AWKWARD = 'we"ird\\svc\nnext'
AWKWARD_LABEL = 'we\\"ird\\\\svc\\nnext'
ALIKE = ("b\x01r\u00e9", "b\x02r\u00e8")

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def unescape(v):
    out, i = [], 0
    while i < len(v):
        if v[i] == "\\":
            nxt = v[i + 1]
            out.append({"n": "\n", "\\": "\\", '"': '"'}[nxt])
            i += 2
        else:
            out.append(v[i])
            i += 1
    return "".join(out)


def parse(text):
    """{(name, ((label, value), ...)): float}; HELP/TYPE lines checked."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if line.startswith("# HELP "):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError("not a sample line: %r" % line)
        labels, rest = [], m.group(2) or ""
        while rest:
            lm = LABEL.match(rest)
            if not lm:
                raise AssertionError("bad labels: %r" % line)
            labels.append((lm.group(1), unescape(lm.group(2))))
            rest = rest[lm.end():]
        key = (m.group(1), tuple(sorted(labels)))
        if key in samples:
            raise AssertionError("duplicate series: %r" % line)
        samples[key] = float(m.group(3))
    return samples, types


def val(samples, name, **labels):
    key = (name, tuple(sorted(labels.items())))
    if key not in samples:
        raise AssertionError("no sample %s%r" % (name, labels))
    return samples[key]


def family(samples, name):
    return {k[1]: v for k, v in samples.items() if k[0] == name}


class MetricsBase(base.SigninBase):
    def setUp(self):
        super().setUp()
        if PROMTOOL is None:
            self.fail("promtool not installed (Debian package prometheus)")
        self.nosock = os.path.join(self.dir, "no-riskd.sock")

    def promtool_ok(self, text):
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""),
                         "promtool check metrics:\n" + text)

    def metrics(self, *args, socket_path=None, rc=0):
        sock = socket_path or self.nosock
        code, out, err = self.run_ctl("metrics", "--socket", sock, *args)
        self.assertEqual(code, rc, "rc %d\n%s\n%s" % (code, out, err))
        return out, err

    def service_file(self, name, line):
        with open(os.path.join(self.confdir, name), "w") as f:
            f.write(line)

    def sign_in_as(self, service, user, rhost="203.0.113.7"):
        p = subprocess.run([sys.executable, base.__file__, "--pam-driver",
                            self.confdir, service, user, rhost],
                           capture_output=True, text=True,
                           env=self.driver_env(), timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)


class MetricsTest(MetricsBase):
    def raw_signin(self, ref, service):
        """A sign-in row written straight into the store's file."""
        db = sqlite3.connect(self.store)
        with db:
            db.execute("INSERT INTO signins(ref, time, user, service, rhost,"
                       " action, outcome, signin_risk, user_risk, detections,"
                       " applied, report_only, reason) VALUES (?, ?, 'carol',"
                       " ?, '', 'allow', 'success', 'none', 'none', '', '',"
                       " '', '')", (ref, int(time.time()), service))
        db.close()

    def test_counts_escaping_and_size(self):
        user = base.existing_account()
        self.service_file(ODD, "auth required %s policy=%s\n"
                          % (self.module, self.policy))
        for _ in range(2):
            self.assertEqual(self.sign_in(user, "203.0.113.7")["rc"],
                             PAM_SUCCESS)
        res = self.sign_in_as(ODD, user)
        self.assertEqual(res["rc"], PAM_SUCCESS, res)
        self.as_admin("confirm-compromised", user)
        self.assertEqual(self.sign_in(user, "203.0.113.7")["rc"],
                         PAM_AUTH_ERR)
        self.raw_signin("0000-0001", AWKWARD)
        self.raw_signin("0000-0002", ALIKE[0])
        self.raw_signin("0000-0003", ALIKE[1])

        out, err = self.metrics()
        self.assertEqual(err, "")   # riskd not running: no error
        self.promtool_ok(out)
        s, types = parse(out)
        for name in ("signins_retained", "signins_last_hour"):
            n = "riskremediate_" + name
            self.assertEqual(types[n], "gauge")
            self.assertEqual(family(s, n), {
                (("decision", "allow"), ("outcome", "success"),
                 ("service", "rrtest")): 2,
                (("decision", "block"), ("outcome", "blocked"),
                 ("service", "rrtest")): 1,
                (("decision", "allow"), ("outcome", "success"),
                 ("service", ODD)): 1,
                (("decision", "allow"), ("outcome", "success"),
                 ("service", AWKWARD)): 1,
                (("decision", "allow"), ("outcome", "success"),
                 ("service", "b?r??")): 2,
            })
        self.assertIn('service="%s"' % AWKWARD_LABEL, out)
        self.assertEqual(val(s, "riskremediate_users", risk_level="high",
                             risk_state="confirmedCompromised"), 1)
        self.assertEqual(sum(family(s, "riskremediate_users").values()), 1)
        self.assertEqual(len(family(s, "riskremediate_users")), 24)
        self.assertEqual(family(s, "riskremediate_detections"), {
            (("level", "high"), ("state", "atRisk"),
             ("type", "adminConfirmedUserCompromised")): 1})
        self.assertEqual(val(s, "riskremediate_mfa_registered_users"), 0)
        self.assertEqual(val(s, "riskremediate_riskd_up"), 0)
        self.assertFalse(family(s, "riskremediate_riskd_call_duration_"
                                "seconds_count"))
        size = os.stat(self.store).st_size
        if os.path.exists(self.store + "-wal"):
            size += os.stat(self.store + "-wal").st_size
        self.assertGreater(size, 0)
        self.assertEqual(val(s, "riskremediate_store_size_bytes"), size)
        # last: skips when valgrind is missing (or in a sanitizer build)
        self.assert_valgrind_clean([["metrics", "--socket", self.nosock]])

    def test_mfa_and_grace(self):
        """A pass issued, a user interrupted for registration."""
        self.policy = self.write_policy("mfa.yaml", base.POLICY.replace(
            "mfa_registration: {{ state: disabled }}",
            "mfa_registration: {{ state: enabled, grace_days: 3 }}"))
        self.service_file("rrtest", "auth required %s policy=%s\n"
                          % (self.module, self.policy))
        user = base.existing_account()
        # the interrupt: offered, not taken (the driver answers no prompt)
        res = self.sign_in(user, "203.0.113.7")
        self.assertIn("3 days left", res["messages"][0], res)
        self.ok("tap", "issue", user)
        s, _ = parse(self.metrics()[0])
        self.assertEqual(val(s, "riskremediate_mfa_unregistered_users",
                             grace="running"), 1)
        self.assertEqual(val(s, "riskremediate_mfa_unregistered_users",
                             grace="over"), 0)
        self.assertEqual(
            val(s, "riskremediate_mfa_temporary_access_pass_users"), 1)

    def test_textfile_atomic_0644(self):
        self.as_admin("confirm-compromised", "carol")
        out, _ = self.metrics()
        tdir = os.path.join(self.dir, "textfile")
        os.mkdir(tdir, 0o755)
        path = os.path.join(tdir, "riskremediate.prom")
        with open(path, "w") as f:
            f.write("old\n")
        os.chmod(path, 0o600)
        old_ino = os.stat(path).st_ino
        os.umask(0o077)     # the mode does not depend on the umask
        try:
            res, err = self.metrics("--textfile", path)
        finally:
            os.umask(0o022)
        self.assertEqual((res, err), ("", ""))
        st = os.stat(path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o644)
        self.assertNotEqual(st.st_ino, old_ino)  # renamed over, not rewritten
        with open(path) as f:
            text = f.read()
        self.assertEqual(text, out)
        self.promtool_ok(text)
        self.assertEqual(os.listdir(tdir), ["riskremediate.prom"])
        # a directory that is not there: an error, nothing written
        code, o, err = self.run_ctl("metrics", "--socket", self.nosock,
                                    "--textfile",
                                    os.path.join(self.dir, "no", "x.prom"))
        self.assertEqual(code, 5, err)
        self.assertIn("cannot write", err)
        self.fails(2, "metrics", "--textfile", "relative.prom")
        self.fails(2, "metrics", "--socket", "/" + "x" * 200)
        self.fails(2, "status", "carol", "--textfile", "/tmp/x.prom")

    def test_store_unreadable_writes_nothing(self):
        tdir = os.path.join(self.dir, "textfile")
        os.mkdir(tdir, 0o755)
        path = os.path.join(tdir, "riskremediate.prom")
        self.ok("status", "carol")   # creates the store
        os.chmod(os.path.dirname(self.store), 0o777)
        code, out, err = self.run_ctl("metrics", "--textfile", path)
        self.assertEqual(code, 5, err)
        self.assertIn("cannot open the risk store", err)
        self.assertFalse(os.path.exists(path))


def frame(type_, fields):
    body = bytes([type_, len(fields)])
    for f in fields:
        body += b"\x01" + len(f).to_bytes(4, "big") + f
    return len(body).to_bytes(4, "big") + body


class FakeRiskd:
    """A listener that answers riskctl's request with `answer` (bytes),
    for the answers no real riskd gives (malformed, another version)."""

    def __init__(self, path, answer):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.answer = answer
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conn, _ = self.sock.accept()
        conn.recv(4096)
        if self.answer is not None:
            conn.sendall(self.answer)
            conn.close()
        else:
            time.sleep(3)        # no answer: riskctl gives up after 1 s
            conn.close()

    def close(self):
        self.thread.join(5)
        self.sock.close()


class RiskdMetricsTest(MetricsBase):
    def setUp(self):
        super().setUp()
        self.riskd_bin = os.path.join(os.environ["RR_BUILD_ROOT"], "tools",
                                      "riskd", "riskd")
        self.sock = os.path.join(self.dir, "run", "riskd.sock")
        self.riskd = None

    def tearDown(self):
        self.stop_riskd()
        super().tearDown()

    def start_riskd(self):
        self.riskd = subprocess.Popen(
            [self.riskd_bin, "--socket", self.sock, "--policy",
             self.policy], env=self.driver_env())
        for _ in range(200):
            if os.path.exists(self.sock):
                return
            time.sleep(0.025)
        self.fail("riskd did not listen on %s" % self.sock)

    def stop_riskd(self):
        if self.riskd:
            self.riskd.terminate()
            self.assertEqual(self.riskd.wait(10), 0)
            self.riskd = None

    def counts(self):
        out, err = self.metrics(socket_path=self.sock)
        self.assertEqual(err, "")
        self.promtool_ok(out)
        s, types = parse(out)
        self.assertEqual(val(s, "riskremediate_riskd_up"), 1)
        self.assertEqual(types["riskremediate_riskd_call_duration_seconds"],
                         "histogram")
        return s

    def test_histogram_counts_calls(self):
        self.start_riskd()
        self.service_file("rrtest", "auth required %s policy=%s riskd=%s\n"
                          % (self.module, self.policy, self.sock))
        s0 = self.counts()
        started = val(s0, "riskremediate_riskd_start_time_seconds")
        self.assertLessEqual(abs(started - time.time()), 60)
        user = base.existing_account()
        for _ in range(3):
            self.assertEqual(self.sign_in(user, "203.0.113.7")["rc"],
                             PAM_SUCCESS)
        s1 = self.counts()
        name = "riskremediate_riskd_call_duration_seconds"
        for t in ("auth", "account", "password", "session"):
            before = val(s0, name + "_count", type=t)
            after = val(s1, name + "_count", type=t)
            self.assertEqual(after - before, 3 if t == "auth" else 0, t)
            self.assertEqual(val(s1, name + "_bucket", type=t, le="+Inf"),
                             after)
            buckets = sorted(((float(dict(k)["le"]), v) for k, v in
                              family(s1, name + "_bucket").items()
                              if dict(k)["type"] == t))
            self.assertEqual(len(buckets), 14)
            self.assertEqual([b for b, _ in buckets][:3],
                             [0.001, 0.0025, 0.005])
            counts = [v for _, v in buckets]
            self.assertEqual(counts, sorted(counts))   # cumulative
        self.assertGreater(val(s1, name + "_sum", type="auth"), 0)
        # the sign-ins are those riskd ran: in the store's counts too
        self.assertEqual(val(s1, "riskremediate_signins_retained",
                             service="rrtest", decision="allow",
                             outcome="success"), 3)
        # riskd stopped: up 0, not an error
        self.stop_riskd()
        out, err = self.metrics(socket_path=self.sock)
        self.assertEqual(err, "")
        self.promtool_ok(out)
        self.assertEqual(val(parse(out)[0], "riskremediate_riskd_up"), 0)

    def answered(self, answer, message):
        os.makedirs(os.path.dirname(self.sock), mode=0o700, exist_ok=True)
        fake = FakeRiskd(self.sock, answer)
        try:
            out, err = self.metrics(socket_path=self.sock, rc=8)
        finally:
            fake.close()
        self.assertIn(message, err)
        self.promtool_ok(out)
        s, _ = parse(out)
        self.assertEqual(val(s, "riskremediate_riskd_up"), 0)
        self.assertFalse(family(s, "riskremediate_riskd_start_time_seconds"))
        # the store's part is all there
        self.assertEqual(len(family(s, "riskremediate_users")), 24)

    def test_malformed_answer(self):
        self.answered(frame(8, []), "its answer is malformed")

    def test_other_version(self):
        self.answered(frame(9, [b"riskd of another version"]),
                      "restart riskd after an upgrade")

    def test_no_answer(self):
        self.answered(None, "no answer within 1 s")


def main():
    base.run_tests("test_metrics.py RISKCTL")


if __name__ == "__main__":
    main()
