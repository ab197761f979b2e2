#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run test_leak_range against a local HTTPS range server with real TLS.

  range_server.py TEST_BINARY [ARGUMENT...]

Makes a test CA, a second (wrong) CA and a server certificate for
127.0.0.1 with `openssl`, serves Pwned-Passwords-style range files over
HTTPS (python3 standard library only) and records every request (request
line and headers) in a log file the test reads.  Paths:

  /range/XXXXX     the range file for prefix XXXXX, 404 when there is none
  /slow/XXXXX      the same after 3 seconds
  /bad/XXXXX       a body that is not a range
  /big/XXXXX       a valid range of about 5 MiB
  /redirect/XXXXX  302 to /range/XXXXX

It also listens as a would-be proxy (plain TCP on 127.0.0.1) and records
the first line of every connection it gets (RR_LEAK_PROXY, whose log is
RR_LEAK_PROXY_LOG): the range request must never go there, whatever the
environment's proxy variables say.

Exit status: the test's.
"""
import hashlib
import http.server
import os
import shutil
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time

LEAKED = "correct horse battery staple"
CLEAN = "x9!Qm2#clean-and-unique"
PADDED = "padded-only-password"
MISSING = "no range file for this one"


def sha1(text):
    return hashlib.sha1(text.encode()).hexdigest().upper()


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-keyout", name + ".key", "-out", name + ".pem",
            "-subj", "/CN=rr leak test " + name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def make_certs(d):
    make_ca(d, "ca")
    make_ca(d, "wrong-ca")
    openssl("req", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1", cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
            "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "server.ext", "-out", "server.pem", cwd=d)


def make_ranges(d):
    """A range file per prefix: neighbours, the leaked suffix with a count,
    the padded password's suffix with count 0 (padding), none for the
    clean password."""
    rd = os.path.join(d, "ranges")
    os.mkdir(rd)
    files = {}
    for pw, count in ((LEAKED, 42), (CLEAN, None), (PADDED, 0)):
        h = sha1(pw)
        lines = files.setdefault(h[:5], [])
        lines += ["%s:%d" % ("0" * 34 + "1", 3), "%s:%d" % ("F" * 35, 1)]
        if count is not None:
            lines.append("%s:%d" % (h[5:], count))
    assert sha1(MISSING)[:5] not in files
    for prefix, lines in files.items():
        with open(os.path.join(rd, prefix), "w") as f:
            f.write("\r\n".join(sorted(lines)) + "\r\n")
    return rd


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ranges = None
    log_path = None
    log_lock = threading.Lock()

    def log_message(self, fmt, *args):
        pass

    def record(self):
        with self.log_lock, open(self.log_path, "a") as f:
            f.write("REQ %s\n" % self.requestline)
            for k, v in self.headers.items():
                f.write("HDR %s: %s\n" % (k, v))

    def send(self, code, body, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def range_body(self, prefix):
        path = os.path.join(self.ranges, prefix)
        if len(prefix) != 5 or not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def do_GET(self):
        self.record()
        parts = self.path.split("/")
        if len(parts) != 3 or parts[0] != "":
            return self.send(404, b"not found\n")
        kind, prefix = parts[1], parts[2]
        if kind == "slow":
            time.sleep(3)
            kind = "range"
        if kind == "bad":
            return self.send(200, b"<html>this is not a range</html>\n")
        if kind == "big":
            line = ("A" * 35 + ":1\r\n").encode()
            return self.send(200, line * (5 * 1024 * 1024 // len(line) + 1))
        if kind == "redirect":
            return self.send(302, b"", [("Location", "/range/" + prefix)])
        body = self.range_body(prefix) if kind == "range" else None
        if body is None:
            return self.send(404, b"no such range\n")
        return self.send(200, body)


class ProxyHandler(socketserver.StreamRequestHandler):
    log_path = None

    def handle(self):
        line = self.rfile.readline(1024).decode(errors="replace").strip()
        with Handler.log_lock, open(self.log_path, "a") as f:
            f.write("CONN %s\n" % line)


class ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # aborted TLS handshakes and timeouts are expected


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = tempfile.mkdtemp(prefix="rr-leak-range-")
    try:
        make_certs(d)
        Handler.ranges = make_ranges(d)
        Handler.log_path = os.path.join(d, "server.log")
        open(Handler.log_path, "w").close()
        httpd = Server(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(d, "server.pem"),
                            os.path.join(d, "server.key"))
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        t = threading.Thread(target=httpd.serve_forever, daemon=True)
        t.start()
        ProxyHandler.log_path = os.path.join(d, "proxy.log")
        open(ProxyHandler.log_path, "w").close()
        proxy = ProxyServer(("127.0.0.1", 0), ProxyHandler)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        env = dict(os.environ,
                   RR_LEAK_BASE="https://127.0.0.1:%d/" %
                   httpd.server_address[1],
                   RR_LEAK_CA=os.path.join(d, "ca.pem"),
                   RR_LEAK_WRONG_CA=os.path.join(d, "wrong-ca.pem"),
                   RR_LEAK_LOG=Handler.log_path,
                   RR_LEAK_PROXY="http://127.0.0.1:%d" %
                   proxy.server_address[1],
                   RR_LEAK_PROXY_LOG=ProxyHandler.log_path,
                   RR_LEAK_DIR=d,
                   RR_LEAK_PW_LEAKED=LEAKED, RR_LEAK_PW_CLEAN=CLEAN,
                   RR_LEAK_PW_PADDED=PADDED, RR_LEAK_PW_MISSING=MISSING)
        rc = subprocess.run(sys.argv[1:], env=env).returncode
        httpd.shutdown()
        proxy.shutdown()
        return rc
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
