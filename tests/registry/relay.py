#!/usr/bin/python3
"""A TCP relay in front of a test registry, to make faults the tests need on purpose.

usage: relay.py LISTEN_PORT UPSTREAM [--throttle-file FILE] [--hold-blob HEX]...

UPSTREAM is a TCP port on 127.0.0.1 or the path of a unix socket. Bytes are copied both ways.
While FILE exists, answers go out at about 640 KiB/s per connection (a download can then be
caught and killed half way); a request (client chunk) for /blobs/sha256:HEX is held 2 s before
it reaches the registry. Stops when killed.
"""
import argparse
import os
import socket
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("upstream")
    ap.add_argument("--throttle-file")
    ap.add_argument("--hold-blob", action="append", default=[])
    a = ap.parse_args()
    hold = [b"/blobs/sha256:" + h.encode() for h in a.hold_blob]

    def connect():
        if a.upstream.isdigit():
            return socket.create_connection(("127.0.0.1", int(a.upstream)))
        u = socket.socket(socket.AF_UNIX)
        u.connect(a.upstream)
        return u

    def pump(src, dst, from_client):
        try:
            while True:
                data = src.recv(32768)
                if not data:
                    break
                if from_client and b"GET " in data and any(h in data for h in hold):
                    time.sleep(2)
                if not from_client and a.throttle_file and os.path.exists(a.throttle_file):
                    time.sleep(0.05)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", a.port))
    srv.listen(256)
    while True:
        c, _ = srv.accept()
        try:
            u = connect()
        except OSError:
            c.close()
            continue
        threading.Thread(target=pump, args=(c, u, True), daemon=True).start()
        threading.Thread(target=pump, args=(u, c, False), daemon=True).start()


if __name__ == "__main__":
    main()
