#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""End-to-end tests of `riskctl feeds update` and `riskctl lists compile`
against a local HTTP server with scripted responses: 200 with validators,
304 on a conditional request, 404, a truncated body, a malformed body.  A
failed download keeps the old list; a good one replaces it and compiles
LIST.idx, which `riskctl whatif` (the module's assessment code) then uses.

Usage: test_feeds.py [PATH-TO-RISKCTL]  (default $RR_BUILD_ROOT/tools/
riskctl/riskctl).  Runs as root (lists, policy and store are root-owned);
skips otherwise.  Python standard library only.
"""
import http.server
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

RISKCTL = None

POLICY = """\
version: 1
store: {{ backend: sqlite, path: {dir}/store/risk.db }}
mfa_registration: {{ state: disabled }}
detections:
  maliciousIPAddress:
    level: high
    lists:
      - {{ file: {dir}/lists/bad.list, url: "{url}" }}
  anonymizedIPAddress:
    level: medium
    lists: [ {dir}/lists/anon.list ]
policies:
  - name: Block high sign-in risk
    conditions: {{ signin_risk: [high] }}
    grant: {{ block: true }}
"""

V1 = b"# feed v1\n198.51.100.0/24\n203.0.113.7\n"
V2 = b"192.0.2.128/25\n2001:db8:bad::/48\n"
ETAG1 = '"v1-abc"'
LASTMOD1 = "Wed, 25 Nov 2026 10:00:00 GMT"


class Feed(http.server.BaseHTTPRequestHandler):
    """Serves whatever the test scripted in `server.script`; records the
    request headers in `server.seen`."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        srv.seen.append(dict(self.headers))
        kind, body, headers = srv.script
        if kind == "conditional":
            if self.headers.get("If-None-Match") == ETAG1:
                self.send_response(304)
                self.end_headers()
                return
            kind = "ok"
        if kind == "ok":
            self.send_response(200)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif kind == "truncated":
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) + 500))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_response(int(kind))
            self.send_header("Content-Length", "0")
            self.end_headers()


def header_v1(st, count_ranges):
    """A LIST.idx header (rr_iplist_idx.c) for a text with stat `st`."""
    return (b"RRIPIDX\n" +
            struct.pack("=IIII", 1, 0x01020304, 128, 33) +
            struct.pack("=QqqQQ", st.st_size, st.st_mtime_ns,
                        st.st_ctime_ns, st.st_ino, count_ranges) +
            bytes(32) + bytes(32))


def v4_range(lo, hi):
    def b(ip):
        return bytes(int(x) for x in ip.split(".")) + bytes(12)
    return bytes([4]) + b(lo) + b(hi)


class FeedsTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (root-owned lists and store)")
        self.dir = tempfile.mkdtemp(prefix="rr-feeds-")
        os.chmod(self.dir, 0o700)
        os.mkdir(os.path.join(self.dir, "lists"), 0o755)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Feed)
        self.server.seen = []
        self.server.script = ("404", b"", {})
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()
        port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/bad.txt" % port
        self.policy = os.path.join(self.dir, "policy.yaml")
        with open(self.policy, "w") as f:
            f.write(POLICY.format(dir=self.dir, url=self.url))
        os.chmod(self.policy, 0o600)
        self.bad = os.path.join(self.dir, "lists", "bad.list")
        self.anon = os.path.join(self.dir, "lists", "anon.list")
        with open(self.anon, "w") as f:
            f.write("# local list, no feed\n100.64.0.0/10\n")
        os.chmod(self.anon, 0o644)
        self.user = "root"

    def tearDown(self):
        if hasattr(self, "server"):
            self.server.shutdown()
            self.server.server_close()
        if hasattr(self, "dir"):
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- helpers -------------------------------------------------------
    def ctl(self, *args):
        p = subprocess.run([RISKCTL, "--policy", self.policy] + list(args),
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def update(self, script):
        self.server.script = script
        self.server.seen.clear()
        rc, out, err = self.ctl("feeds", "update", "--json")
        rows = {r["list"]: r for r in json.loads(out)}
        return rc, rows, err

    def serve_v1(self):
        rc, rows, err = self.update(("ok", V1, {"ETag": ETAG1,
                                                "Last-Modified": LASTMOD1}))
        self.assertEqual(rc, 0, err)
        return rows

    def detections(self, rhost):
        rc, out, err = self.ctl("whatif", "--user", self.user, "--rhost",
                                rhost, "--json")
        self.assertEqual(rc, 0, err)
        return {d["riskEventType"] for d in json.loads(out)["detections"]}

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def assert_kept_v1(self, rows, rc, want_error):
        self.assertEqual(rc, 6)
        row = rows[self.bad]
        self.assertEqual(row["result"], "failed")
        self.assertIn(want_error, row["error"])
        self.assertEqual(self.read(self.bad), V1)
        # the other list is still compiled, the old list still answers
        self.assertEqual(rows[self.anon]["result"], "upToDate")
        self.assertIn("maliciousIPAddress", self.detections("203.0.113.7"))
        # no temporary file left (".NAME.XXXXXX", rr_replace_file)
        leftovers = [n for n in os.listdir(os.path.dirname(self.bad))
                     if n.startswith(("bad.list.", ".bad.list"))
                     and n not in ("bad.list.idx", "bad.list.meta")]
        self.assertEqual(leftovers, [])

    # ---- tests ---------------------------------------------------------
    def test_200_then_304(self):
        rows = self.serve_v1()
        self.assertEqual(rows[self.bad]["result"], "updated")
        self.assertEqual(rows[self.bad]["ranges"], 2)
        self.assertEqual(rows[self.bad]["feed"], self.url)
        self.assertIsNone(rows[self.bad]["error"])
        self.assertEqual(rows[self.anon]["result"], "compiled")
        self.assertIsNone(rows[self.anon]["feed"])
        self.assertEqual(self.read(self.bad), V1)
        # first request is unconditional
        self.assertNotIn("If-None-Match", self.server.seen[0])
        for path, mode in ((self.bad, 0o644), (self.bad + ".idx", 0o644),
                           (self.anon + ".idx", 0o644),
                           (self.bad + ".meta", 0o600)):
            st = os.lstat(path)
            self.assertTrue(stat.S_ISREG(st.st_mode), path)
            self.assertEqual(st.st_uid, 0, path)
            self.assertEqual(stat.S_IMODE(st.st_mode), mode, path)
        self.assertIn("maliciousIPAddress", self.detections("203.0.113.7"))
        self.assertIn("maliciousIPAddress", self.detections("198.51.100.9"))
        self.assertIn("anonymizedIPAddress", self.detections("100.64.1.1"))
        self.assertEqual(self.detections("192.0.2.200"), set())

        idx_before = os.stat(self.bad + ".idx")
        rc, rows, err = self.update(("conditional", V2, {}))
        self.assertEqual(rc, 0, err)
        seen = self.server.seen[0]
        self.assertEqual(seen.get("If-None-Match"), ETAG1)
        self.assertEqual(seen.get("If-Modified-Since"), LASTMOD1)
        self.assertEqual(rows[self.bad]["result"], "notModified")
        self.assertEqual(rows[self.bad]["ranges"], 2)
        self.assertEqual(self.read(self.bad), V1)
        # nothing changed: the index was not rewritten
        self.assertEqual(os.stat(self.bad + ".idx").st_ino,
                         idx_before.st_ino)

        # human output: one row per list
        self.server.script = ("conditional", V2, {})
        rc, out, err = self.ctl("feeds", "update")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"LIST +FEED +RESULT")
        self.assertIn("not modified, 2 ranges", out)
        self.assertIn("index up to date, 1 ranges", out)

        # a new version replaces the list and its index
        rc, rows, err = self.update(("ok", V2, {"ETag": '"v2"'}))
        self.assertEqual(rc, 0, err)
        self.assertEqual(rows[self.bad]["result"], "updated")
        self.assertEqual(self.read(self.bad), V2)
        self.assertEqual(self.detections("203.0.113.7"), set())
        self.assertIn("maliciousIPAddress", self.detections("192.0.2.200"))
        self.assertIn("maliciousIPAddress",
                      self.detections("2001:db8:bad::1"))
        with open(self.bad + ".meta") as f:
            meta = f.read()
        self.assertIn('etag "v2"', meta)
        self.assertNotIn("last-modified", meta)

    def test_404_keeps_old_list(self):
        self.serve_v1()
        rc, rows, err = self.update(("404", b"", {}))
        self.assert_kept_v1(rows, rc, "HTTP status 404")

    def test_truncated_body_keeps_old_list(self):
        self.serve_v1()
        rc, rows, err = self.update(("truncated", V2, {}))
        self.assert_kept_v1(rows, rc, "truncated")

    def test_malformed_body_keeps_old_list(self):
        self.serve_v1()
        rc, rows, err = self.update(
            ("ok", b"192.0.2.0/24\nnot-an-address\n", {}))
        self.assert_kept_v1(rows, rc, "malformed body: line 2")
        rc, rows, err = self.update(("ok", b"# nothing\n", {}))
        self.assert_kept_v1(rows, rc, "no addresses")
        rc, rows, err = self.update(("ok", b"", {}))
        self.assert_kept_v1(rows, rc, "empty")

    def test_first_download_fails_without_list(self):
        rc, rows, err = self.update(("500", b"", {}))
        self.assertEqual(rc, 6)
        self.assertEqual(rows[self.bad]["result"], "failed")
        self.assertFalse(os.path.exists(self.bad))
        self.assertEqual(rows[self.anon]["result"], "compiled")

    def test_lookups_use_the_index(self):
        """whatif answers from LIST.idx when it matches the text: a forged
        index (same text identity, other ranges) changes the answer; a
        changed text makes it stale and the text decides again."""
        self.serve_v1()
        st = os.stat(self.bad)
        forged = header_v1(st, 1) + v4_range("192.0.2.0", "192.0.2.255")
        with open(self.bad + ".idx", "wb") as f:
            f.write(forged)
        self.assertIn("maliciousIPAddress", self.detections("192.0.2.1"))
        self.assertEqual(self.detections("203.0.113.7"), set())
        # lists compile sees the hash mismatch and rebuilds it
        rc, out, err = self.ctl("lists", "compile", "--json")
        self.assertEqual(rc, 0, err)
        rows = {r["list"]: r for r in json.loads(out)}
        self.assertEqual(rows[self.bad]["result"], "compiled")
        self.assertEqual(rows[self.anon]["result"], "upToDate")
        self.assertEqual(self.detections("192.0.2.1"), set())
        self.assertIn("maliciousIPAddress", self.detections("203.0.113.7"))
        # an admin edits the list by hand: the index is stale, the text
        # answers (no recompile needed for correct answers)
        with open(self.bad, "ab") as f:
            f.write(b"192.0.2.1\n")
        self.assertIn("maliciousIPAddress", self.detections("192.0.2.1"))
        # a damaged index is ignored, not trusted
        with open(self.bad + ".idx", "r+b") as f:
            f.write(b"XXXX")
        self.assertIn("maliciousIPAddress", self.detections("192.0.2.1"))
        rc, out, err = self.ctl("lists", "compile")
        self.assertEqual(rc, 0, err)
        self.assertIn("compiled, 3 ranges", out)

    def test_lists_compile_reports_bad_list(self):
        with open(self.anon, "w") as f:
            f.write("100.64.0.0/10\n300.1.1.1\n")
        rc, out, err = self.ctl("lists", "compile", "--json")
        self.assertEqual(rc, 6, err)
        rows = {r["list"]: r for r in json.loads(out)}
        self.assertEqual(rows[self.anon]["result"], "failed")
        self.assertIn("line 2", rows[self.anon]["error"])
        self.assertFalse(os.path.exists(self.anon + ".idx"))
        # no network for lists compile
        self.assertEqual(self.server.seen, [])

    # ---- hostile outputs (issue 15: every path riskctl writes) ----------
    def outside_file(self):
        """A root file outside the lists' directory; its snapshot."""
        out = tempfile.mkdtemp(prefix="rr-feeds-out-")
        self.addCleanup(shutil.rmtree, out, True)
        target = os.path.join(out, "target")
        with open(target, "wb") as f:
            f.write(b"outside\n")
        os.chmod(target, 0o644)
        return out, target

    @staticmethod
    def snap(path):
        st = os.lstat(path)
        with open(path, "rb") as f:
            return (f.read(), st.st_mode, st.st_uid, st.st_mtime_ns)

    def test_hostile_output_files(self):
        """The list, its .idx and its .meta planted as a symbolic link or
        a hard link to a file outside, a FIFO, alice's file or a
        group/other-writable one: feeds update replaces the name with a
        new root file (rename, never a write through what was there), in
        well under a second; the file outside is unchanged.  A directory
        in the list's place is refused."""
        out, target = self.outside_file()
        kinds = ("symlink", "hardlink", "fifo", "alice", "writable")
        for suffix, mode in (("", 0o644), (".idx", 0o644), (".meta", 0o600)):
            for kind in kinds:
                with self.subTest(file="bad.list" + suffix, kind=kind):
                    self.serve_v1()
                    path = self.bad + suffix
                    os.unlink(path)
                    if kind == "symlink":
                        os.symlink(target, path)
                    elif kind == "hardlink":
                        os.link(target, path)
                    elif kind == "fifo":
                        os.mkfifo(path, 0o600)
                    else:
                        with open(path, "wb") as f:
                            f.write(b"planted\n")
                        if kind == "alice":
                            os.chown(path, 1000, 1000)
                        else:
                            os.chmod(path, 0o666)
                    before = self.snap(target)
                    t0 = time.monotonic()
                    rc, rows, err = self.update(("ok", V2, {}))
                    took = time.monotonic() - t0
                    self.assertLess(took, 1.0)
                    self.assertEqual(rc, 0, err)
                    self.assertEqual(rows[self.bad]["result"], "updated")
                    st = os.lstat(path)
                    self.assertTrue(stat.S_ISREG(st.st_mode))
                    self.assertEqual(st.st_uid, 0)
                    self.assertEqual(st.st_nlink, 1)
                    self.assertEqual(stat.S_IMODE(st.st_mode), mode)
                    self.assertEqual(self.read(self.bad), V2)
                    self.assertEqual(self.snap(target), before)
        self.serve_v1()
        os.unlink(self.bad)
        os.mkdir(self.bad)
        rc, rows, err = self.update(("ok", V2, {}))
        self.assertEqual(rc, 6)
        self.assertEqual(rows[self.bad]["result"], "failed")
        self.assertIn("Is a directory", rows[self.bad]["error"])

    def test_hostile_output_directory(self):
        """The lists' directory swapped for a symbolic link to another
        directory, or made alice's, or group/other-writable: refused with
        the directory and the reason, nothing written anywhere."""
        self.serve_v1()
        out, target = self.outside_file()
        lists = os.path.dirname(self.bad)
        cases = (("symlink", "is a symbolic link (refused)"),
                 ("alice", "is not owned by root or is group/other-writable"),
                 ("writable",
                  "is not owned by root or is group/other-writable"))
        for kind, why in cases:
            with self.subTest(kind=kind):
                if kind == "symlink":
                    os.rename(lists, lists + ".real")
                    os.symlink(out, lists)
                elif kind == "alice":
                    os.chown(lists, 1000, 1000)
                else:
                    os.chmod(lists, 0o777)
                try:
                    before = sorted(os.listdir(out))
                    rc, rows, err = self.update(("ok", V2, {}))
                    self.assertEqual(rc, 6, err)
                    self.assertEqual(rows[self.bad]["result"], "failed")
                    self.assertIn("directory %s %s" % (lists, why),
                                  rows[self.bad]["error"])
                    self.assertEqual(sorted(os.listdir(out)), before)
                finally:
                    if kind == "symlink":
                        os.unlink(lists)
                        os.rename(lists + ".real", lists)
                    os.chown(lists, 0, 0)
                    os.chmod(lists, 0o755)
                self.assertEqual(self.read(self.bad), V1)


def main():
    global RISKCTL
    args = sys.argv[1:]
    if args and not args[0].startswith("-"):
        RISKCTL = os.path.abspath(args.pop(0))
    else:
        RISKCTL = os.path.join(os.environ.get("RR_BUILD_ROOT", "build"),
                               "tools", "riskctl", "riskctl")
    unittest.main(argv=[sys.argv[0]] + args, verbosity=2)


if __name__ == "__main__":
    main()
