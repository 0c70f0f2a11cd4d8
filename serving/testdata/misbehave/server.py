#!/usr/bin/python3
"""A deliberately misbehaving model server, for the supervisor's isolation tests.

It speaks just enough of the container contract (GET /ping, POST
/invocations) on the Unix socket in TENANTML_WORKER_SOCKET, one request at
a time, and misbehaves on request:

  body "hang"          stop answering anything (/ping included)
  body "alloc"         allocate memory until the limit stops it; report how
                       much it got on stderr, then exit 3
  body "crash"         exit 7 at once
  body "slow"          say "slow request started" on stderr, answer after 1 s
  body "connect H:P"   try a TCP connection and answer what happened
  anything else        answer "ok"

With MISBEHAVE_INVOCATIONS_STATUS set (e.g. 500), every POST answers that
status with the body "canary failure": a model that fails on all traffic,
for the blue/green rollback tests. With MISBEHAVE_PASS_BODY set as well,
a POST whose body is exactly MISBEHAVE_PASS_BODY answers 200 with
MISBEHAVE_PASS_ANSWER instead: a model that passes a smoke test with that
payload and fails on every other request (the promotion pipeline's
canary test).

It is test data, never a production image: tenantml's own worker has no
such switch.
"""

import os
import socket
import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so that an idle keep-alive
    # connection never holds this one-at-a-time server.
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/ping":
            return self.reply(200, b"ok")
        self.reply(404, b"no such route")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode()
        status = os.environ.get("MISBEHAVE_INVOCATIONS_STATUS")
        if status:
            passing = os.environ.get("MISBEHAVE_PASS_BODY")
            if passing is not None and body == passing:
                return self.reply(200, os.environ.get("MISBEHAVE_PASS_ANSWER", "").encode())
            return self.reply(int(status), b"canary failure")
        if body == "hang":
            while True:
                time.sleep(3600)
        if body == "alloc":
            chunks, got = [], 0
            try:
                while True:
                    b = bytearray(16 << 20)
                    for i in range(0, len(b), 4096):
                        b[i] = 1
                    chunks.append(b)
                    got += len(b)
            except MemoryError:
                chunks = None
                sys.stderr.write("misbehave: allocated %d bytes before MemoryError\n" % got)
                sys.stderr.flush()
                os._exit(3)
        if body == "crash":
            os._exit(7)
        if body == "slow":
            sys.stderr.write("misbehave: slow request started\n")
            sys.stderr.flush()
            time.sleep(1)
            return self.reply(200, b"slow ok")
        if body.startswith("connect "):
            host, port = body[len("connect "):].rsplit(":", 1)
            try:
                socket.create_connection((host, int(port)), timeout=2).close()
                return self.reply(200, b"connected")
            except OSError as e:
                return self.reply(200, ("refused: %s" % e).encode())
        self.reply(200, b"ok")


class UnixServer(socketserver.UnixStreamServer):
    def get_request(self):
        conn, _ = super().get_request()
        return conn, ("worker", 0)


def main():
    sock = os.environ["TENANTML_WORKER_SOCKET"]
    os.umask(0o077)
    if os.path.exists(sock):
        os.remove(sock)
    srv = UnixServer(sock, Handler)
    os.chmod(sock, 0o600)
    srv.serve_forever()


if __name__ == "__main__":
    main()
