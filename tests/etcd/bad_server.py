#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run test_etcd_bad against a local HTTP server that plays a broken etcd.

  bad_server.py TEST_BINARY

The server listens on a free port of 127.0.0.1 (plain http: allowed for
loopback endpoints) and answers every /v3/... request according to the
request's key: the key /bad/MODE asks for answer MODE (see ANSWERS and
WATCH below).  The test gets the endpoint in RR_ETCD_BAD_URL.  Python
standard library only.  Exit status: the test's.
"""
import base64
import http.server
import json
import os
import socketserver
import subprocess
import sys
import threading


def b64(s):
    return base64.b64encode(s if isinstance(s, bytes) else s.encode()).decode()


def kv(key, value="v", mod="5", create="5"):
    return {"key": b64(key), "value": b64(value), "create_revision": create,
            "mod_revision": mod, "version": "1"}


HDR = {"cluster_id": "1", "member_id": "2", "revision": "9", "raft_term": "2"}


def ok(body):
    return 200, json.dumps(body).encode()


ANSWERS = {
    "good": ok({"header": HDR, "kvs": [kv("/bad/good")], "count": "1"}),
    "garbage": (200, b"this is not json"),
    "truncated": (200, b'{"header":{"revision":"5"},"kvs":[{"key":'),
    "empty": (200, b""),
    "array": (200, b"[1,2]"),
    "revnum": ok({"header": {"revision": 9}}),
    "noheader": ok({"kvs": []}),
    "kvsobj": ok({"header": HDR, "kvs": {"key": b64("/bad/kvsobj")}}),
    "notb64": ok({"header": HDR, "kvs": [{"key": "!!!", "mod_revision": "5"}],
                  "count": "1"}),
    "bigvalue": ok({"header": HDR, "kvs": [kv("/bad/bigvalue",
                                               b"x" * (2 << 20))],
                    "count": "1"}),
    "toomany": ok({"header": HDR, "count": "11",
                   "kvs": [kv("/bad/toomany")] * 11}),
    "otherkey": ok({"header": HDR, "kvs": [kv("/bad/other")], "count": "1"}),
    "negrev": ok({"header": HDR, "kvs": [kv("/bad/negrev", mod="-1")],
                  "count": "1"}),
    "overflow": ok({"header": {"revision": "99999999999999999999"}}),
    "nomod": ok({"header": HDR, "kvs": [{"key": b64("/bad/nomod")}],
                 "count": "1"}),
    "countlow": ok({"header": HDR, "kvs": [kv("/bad/countlow")]}),
    "dup": (200, b'{"header":{"revision":"1"},"header":{"revision":"2"}}'),
    "html500": (500, b"<html><body>Internal Server Error</body></html>"),
    "denied": (403, json.dumps({"error": "etcdserver: permission denied",
                                "message": "etcdserver: permission denied",
                                "code": 7}).encode()),
    "errortype": (403, json.dumps({"error": "x", "message": 7,
                                   "code": "7"}).encode()),
    "succstr": ok({"header": HDR, "succeeded": "yes"}),
    "deep": (200, b'{"header":' + b"[" * 5000 + b"]" * 5000 + b"}"),
    "nul": (200, b'{"header":{"revision":"5\\u00009"}}'),
}

CREATED = {"result": {"header": HDR, "created": True}}


def event(key, mod, typ=None):
    e = {"kv": kv(key, mod=mod)}
    if typ:
        e["type"] = typ
    return e


WATCH = {
    "wgarbage": [CREATED, "not json at all"],
    "worder": [CREATED, {"result": {"header": HDR, "events": [
        event("/bad/worder", "7"), event("/bad/worder", "6")]}}],
    "wback": [CREATED,
              {"result": {"header": HDR, "events": [event("/bad/a", "7")]}},
              {"result": {"header": HDR, "events": [event("/bad/a", "7")]}}],
    "wtype": [CREATED, {"result": {"header": HDR, "events": [
        event("/bad/wtype", "7", "BOGUS")]}}],
    "wfrag": [CREATED, {"result": {"header": HDR, "fragment": True}}],
    "wnoresult": [CREATED, {"something": {}}],
    "wclose": [CREATED],
    "wlong": None,  # a line over the client's cap, never ended
    "werror": [{"error": {"grpc_code": 14, "http_code": 503,
                          "message": "etcdserver: no leader",
                          "http_status": "Service Unavailable"}}],
}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def body_key(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        req = req.get("create_request", req)
        if "compare" in req:
            req = req["compare"][0]
        key = base64.b64decode(req.get("key", "")).decode(errors="replace")
        return key.rsplit("/", 1)[-1]

    def send(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def stream(self, mode):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        if WATCH[mode] is None:
            self.wfile.write(b'{"result":' + b" " * (9 << 20))
            return
        for m in WATCH[mode]:
            line = m if isinstance(m, str) else json.dumps(m)
            # etcd ends its error line without a newline
            end = b"" if mode == "werror" else b"\n"
            self.wfile.write(line.encode() + end)
            self.wfile.flush()

    def do_POST(self):
        mode = self.body_key()
        if self.path == "/v3/watch" and mode in WATCH:
            self.stream(mode)
        elif self.path == "/v3/watch" and mode == "huge":
            self.stream("wlong")
        elif mode == "huge":
            self.send_response(200)
            self.send_header("Content-Length", str(65 << 20))
            self.end_headers()
            chunk = b" " * (1 << 20)
            try:
                for _ in range(65):
                    self.wfile.write(chunk)
            except OSError:
                pass
        else:
            self.send(*ANSWERS.get(mode, (404, b"{}")))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env = dict(os.environ,
               RR_ETCD_BAD_URL="http://127.0.0.1:%d" % srv.server_address[1])
    wrap = []
    if os.environ.get("RR_TEST_ETCD_VALGRIND") == "1":
        wrap = ["valgrind", "-q", "--error-exitcode=9", "--leak-check=full",
                "--errors-for-leak-kinds=definite"]
    rc = subprocess.call(wrap + sys.argv[1:], env=env)
    srv.shutdown()
    return rc


if __name__ == "__main__":
    sys.exit(main())
