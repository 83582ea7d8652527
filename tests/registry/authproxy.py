#!/usr/bin/env python3
"""Bearer-token front for tests/registry/pull.sh (loopback only).

Port P (registry): /v2/* needs "Authorization: Bearer <token>" (401 with a Bearer challenge
otherwise) and is proxied to the plain registry UPSTREAM; blob GETs are answered with a 307 to
port P+1, a different origin standing in for blob storage, which logs whether an Authorization
header reached it (it must not) and proxies too. /token checks Basic USER:PASS. The first
manifest GET of a repository named "*ratelimited*" gets 429 with Retry-After: 1.
Usage: authproxy.py PORT UPSTREAM_HOST:PORT USER PASS LOGFILE
"""
import base64
import http.server
import sys
import threading
import urllib.error
import urllib.request

PORT, UPSTREAM, USER, PASS, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
TOKEN = "t0k3n-" + base64.b16encode(USER.encode()).decode()
limited = set()
lock = threading.Lock()


def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")


def proxy(h):
    req = urllib.request.Request("http://%s%s" % (UPSTREAM, h.path))
    for k in ("Accept", "Range"):
        if h.headers.get(k):
            req.add_header(k, h.headers[k])
    try:
        r = urllib.request.urlopen(req)
    except urllib.error.HTTPError as e:
        r = e
    h.send_response(r.status if hasattr(r, "status") else r.code)
    for k in ("Content-Type", "Content-Length", "Content-Range", "Docker-Content-Digest"):
        if r.headers.get(k):
            h.send_header(k, r.headers[k])
    h.end_headers()
    while True:
        b = r.read(65536)
        if not b:
            break
        h.wfile.write(b)


class Front(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        log("front %s auth=%s" % (self.requestline, "yes" if self.headers.get("Authorization") else "no"))

    def plain(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/token"):
            want = "Basic " + base64.b64encode(("%s:%s" % (USER, PASS)).encode()).decode()
            if self.headers.get("Authorization") != want:
                return self.plain(401, b'{"details":"incorrect username or password"}')
            return self.plain(200, ('{"token":"%s","expires_in":300}' % TOKEN).encode(),
                              [("Content-Type", "application/json")])
        if not self.path.startswith("/v2/"):
            return self.plain(404)
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            repo = self.path[4:].split("/manifests/")[0].split("/blobs/")[0]
            chal = 'Bearer realm="http://127.0.0.1:%d/token",service="fy-test",scope="repository:%s:pull"' % (PORT, repo)
            return self.plain(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                              [("WWW-Authenticate", chal), ("Content-Type", "application/json")])
        if "/manifests/" in self.path and "ratelimited" in self.path:
            with lock:
                first = self.path not in limited
                limited.add(self.path)
            if first:
                return self.plain(429, b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
                                  [("Retry-After", "1")])
        if "/blobs/" in self.path:
            return self.plain(307, headers=[("Location", "http://127.0.0.1:%d%s" % (PORT + 1, self.path))])
        proxy(self)


class Storage(Front):
    def log_message(self, fmt, *args):
        log("storage %s auth=%s" % (self.requestline, "LEAKED" if self.headers.get("Authorization") else "no"))

    def do_GET(self):
        proxy(self)


def serve(port, handler):
    http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


threading.Thread(target=serve, args=(PORT + 1, Storage), daemon=True).start()
serve(PORT, Front)
