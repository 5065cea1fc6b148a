#!/usr/bin/python3
"""A minimal RTSP redirector for the redirect tests: answers every request
with 302 and a Location (as some camera gateways and load balancers do).

  redirector.py PORT LOCATION

Prints "ready" when listening on 127.0.0.1:PORT."""
import re
import socket
import sys
import threading

port, location = int(sys.argv[1]), sys.argv[2]


def serve(conn):
    buf = b""
    with conn:
        while True:
            data = conn.recv(4096)
            if not data:
                return
            buf += data
            while b"\r\n\r\n" in buf:
                head, buf = buf.split(b"\r\n\r\n", 1)
                m = re.search(rb"(?im)^cseq:\s*(\d+)", head)
                cseq = m.group(1).decode() if m else "0"
                conn.sendall(f"RTSP/1.0 302 Moved Temporarily\r\nCSeq: {cseq}\r\n"
                             f"Location: {location}\r\nContent-Length: 0\r\n\r\n".encode())


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
