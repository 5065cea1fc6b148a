#!/usr/bin/env python3
"""camsim fault check: a raw RTSP client (not ingest/, not ffmpeg) that
drives each scripted behaviour and checks what goes over the wire.

Needs CAMSIM (the binary) and ffmpeg (to make the clip); exits 77 without
ffmpeg. Each check prints 'ok - ...' or raises."""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

CAMSIM = os.environ.get("CAMSIM")


class Conn:
    def __init__(self, port, mount):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.url = f"rtsp://127.0.0.1:{port}/{mount}"
        self.cseq = 0
        self.buf = b""
        self.session = None

    def close(self):
        self.sock.close()

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("server closed the connection")
        self.buf += data

    def request(self, method, url=None, headers=None, timeout=5):
        self.cseq += 1
        h = {"CSeq": str(self.cseq)}
        if self.session:
            h["Session"] = self.session
        h.update(headers or {})
        msg = f"{method} {url or self.url} RTSP/1.0\r\n"
        msg += "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
        self.sock.sendall(msg.encode())
        return self.response(timeout)

    def response(self, timeout=5):
        """Returns (status, headers, body), skipping interleaved frames."""
        deadline = time.time() + timeout
        while True:
            while self.buf[:1] == b"$":
                if len(self.buf) < 4:
                    break
                n = struct.unpack(">H", self.buf[2:4])[0]
                if len(self.buf) < 4 + n:
                    break
                self.buf = self.buf[4 + n:]
            end = self.buf.find(b"\r\n\r\n")
            if self.buf[:1] not in (b"", b"$") and end >= 0:
                head = self.buf[:end].decode()
                lines = head.split("\r\n")
                hdr = {}
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    hdr[k.strip().lower()] = v.strip()
                n = int(hdr.get("content-length", "0"))
                while len(self.buf) < end + 4 + n:
                    self._fill(max(0.1, deadline - time.time()))
                body = self.buf[end + 4:end + 4 + n]
                self.buf = self.buf[end + 4 + n:]
                status = int(lines[0].split()[1])
                if "session" in hdr:
                    self.session = hdr["session"].split(";")[0]
                return status, hdr, body
            if self.buf[:1] not in (b"", b"$") and not self.buf.startswith(b"RTSP/"[: len(self.buf)]):
                return None, {}, self.buf
            self._fill(max(0.1, deadline - time.time()))

    def start(self, transport="RTP/AVP/TCP;unicast;interleaved=0-1"):
        st, _, _ = self.request("DESCRIBE", headers={"Accept": "application/sdp"})
        assert st == 200, st
        st, hdr, _ = self.request("SETUP", url=self.url + "/trackID=0", headers={"Transport": transport})
        if st != 200:
            return st, hdr
        st, _, _ = self.request("PLAY", headers={"Range": "npt=0.000-"})
        assert st == 200, st
        return st, hdr

    def frames(self, seconds, keepalive=True):
        """Reads interleaved packets for SECONDS: [(time, channel, bytes)]."""
        out = []
        end = time.time() + seconds
        next_ka = time.time() + 1
        while time.time() < end:
            if keepalive and time.time() >= next_ka:
                self.cseq += 1
                self.sock.sendall(
                    f"GET_PARAMETER {self.url} RTSP/1.0\r\nCSeq: {self.cseq}\r\n"
                    f"Session: {self.session}\r\n\r\n".encode())
                next_ka += 1
            try:
                self._fill(min(0.2, max(0.01, end - time.time())))
            except socket.timeout:
                continue
            while True:
                if self.buf[:1] == b"$" and len(self.buf) >= 4:
                    n = struct.unpack(">H", self.buf[2:4])[0]
                    if len(self.buf) < 4 + n:
                        break
                    out.append((time.time(), self.buf[1], self.buf[4:4 + n]))
                    self.buf = self.buf[4 + n:]
                elif self.buf.startswith(b"RTSP/") and b"\r\n\r\n" in self.buf:
                    self.buf = self.buf[self.buf.find(b"\r\n\r\n") + 4:]
                else:
                    break
        return out


def rtp(pkts, ch=0):
    res = []
    for t, c, p in pkts:
        if c == ch and len(p) >= 12:
            seq, ts, ssrc = struct.unpack(">HII", p[2:12])
            res.append((t, seq, ts, ssrc, p[1] & 0x80))
    return res


def ok(msg):
    print(f"ok - {msg}", flush=True)


def main():
    if not CAMSIM:
        sys.exit("set CAMSIM")
    if not shutil.which("ffmpeg"):
        print("SKIP: ffmpeg is not installed")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="camsim-faults.")
    proc = None
    try:
        clip = os.path.join(tmp, "clip.h264")
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                        "testsrc2=size=320x180:rate=25", "-t", "2", "-g", "25", "-bf", "0",
                        "-c:v", "libx264", "-bsf:v", "h264_mp4toannexb", "-f", "h264", clip],
                       check=True)
        mounts = ["stall0:h264:stall:2", "drop0:h264:drop:2", "dropone:h264:drop:1:once",
                  "slow0:h264:slow_describe:2", "garbage0:h264:garbage", "jump0:h264:ts_jump:1",
                  "ssrc0:h264:ssrc_change:1", "big0:h264:oversized_sdp",
                  "wrong0:h264:wrong_channel", "notcp0:h264:tcp_refused_setup",
                  "refuse0:h264:refuse", "digest0:h264:unauthorized"]
        log = os.path.join(tmp, "sessions.log")
        out = open(os.path.join(tmp, "camsim.out"), "w+")
        proc = subprocess.Popen([CAMSIM, "--port", "0", "--clip", "h264=" + clip, "--mounts", "4",
                                 "--session-timeout", "3", "--max-sessions", "6",
                                 "--session-log", log] + [a for m in mounts for a in ("--mount", m)],
                                stdout=out, stderr=subprocess.STDOUT)
        port = None
        for _ in range(100):
            out.seek(0)
            m = re.search(r"listening on rtsp://127.0.0.1:(\d+)/", out.read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.1)
        assert port, "camsim did not start"

        # normal: RTP, continuous seq and 3600-tick timestamps across the loop, SRs.
        c = Conn(port, "cam0")
        c.start()
        pk = c.frames(3.0)
        r = rtp(pk)
        assert len(r) > 60, len(r)
        for a, b in zip(r, r[1:]):
            assert (b[1] - a[1]) & 0xffff == 1, ("seq gap", a, b)
            assert (b[2] - a[2]) & 0xffffffff in (0, 3600), ("ts step", a, b)
        srs = [p for _, ch, p in pk if ch == 1 and p[1] == 200]
        assert len(srs) >= 2 and struct.unpack(">I", srs[0][4:8])[0] == r[0][3], "no RTCP SR"
        ok(f"cam0: {len(r)} RTP packets over 3 s across the clip loop, seq and ts continuous, "
           f"{len(srs)} sender reports")
        c.close()

        # max sessions (6): cam0..cam3 on 4 connections + 2 more, the 7th gets 453.
        held = []
        for i in range(6):
            h = Conn(port, f"cam{i % 4}")
            st, _ = h.start()
            assert st == 200
            held.append(h)
        h = Conn(port, "cam0")
        st, _ = h.start()
        assert st == 453, st
        for x in held + [h]:
            x.close()
        ok("max-sessions 6: the 7th SETUP gets 453")
        time.sleep(0.3)

        # session timeout 3 s without keep-alive: server closes.
        c = Conn(port, "cam1")
        c.start()
        t0 = time.time()
        try:
            c.frames(6.0, keepalive=False)
            raise AssertionError("session did not expire")
        except EOFError:
            pass
        dt = time.time() - t0
        assert 2.5 < dt < 5.5, dt
        ok(f"no keep-alive: session expired after {dt:.1f} s (timeout 3)")
        c.close()

        # stall:2 -> media stops at ~2 s, the connection still answers.
        c = Conn(port, "stall0")
        c.start()
        t0 = time.time()
        r = rtp(c.frames(4.0))
        last = r[-1][0] - t0
        assert 1.7 < last < 2.4, last
        st, _, _ = c.request("OPTIONS")
        assert st == 200
        ok(f"stall:2: last RTP at {last:.2f} s, connection still answers")
        c.close()

        # drop:2 -> closed at ~2 s, again for a new session; drop:1:once only once.
        for attempt in (1, 2):
            c = Conn(port, "drop0")
            c.start()
            t0 = time.time()
            try:
                c.frames(4.0)
                raise AssertionError("not dropped")
            except EOFError:
                pass
            dt = time.time() - t0
            assert 1.7 < dt < 2.5, dt
            c.close()
        ok(f"drop:2: closed after {dt:.2f} s, on reconnection too")
        c = Conn(port, "dropone")
        c.start()
        try:
            c.frames(2.0)
            raise AssertionError("not dropped")
        except EOFError:
            pass
        c.close()
        c = Conn(port, "dropone")
        c.start()
        assert len(rtp(c.frames(2.0))) > 30
        c.close()
        ok("drop:1:once: first session dropped, second streams")

        # slow_describe:2
        c = Conn(port, "slow0")
        t0 = time.time()
        st, _, _ = c.request("DESCRIBE", timeout=5)
        dt = time.time() - t0
        assert st == 200 and 1.9 < dt < 2.6, (st, dt)
        ok(f"slow_describe:2: DESCRIBE answered after {dt:.2f} s")
        c.close()

        # garbage
        c = Conn(port, "garbage0")
        st, _, body = c.request("DESCRIBE")
        assert st is None and not body.startswith(b"RTSP"), body[:8]
        ok("garbage: DESCRIBE answered with non-RTSP bytes")
        c.close()

        # oversized SDP
        c = Conn(port, "big0")
        st, hdr, body = c.request("DESCRIBE", timeout=10)
        assert st == 200 and hdr["content-length"] == "1000000" and len(body) == 1000000
        ok("oversized_sdp: Content-Length 1000000 and that many bytes")
        c.close()

        # ts_jump:1 and ssrc_change:1
        c = Conn(port, "jump0")
        c.start()
        r = rtp(c.frames(2.0))
        # RTP timestamps start at a random value and wrap at 2^32.
        steps = [(b[2] - a[2]) & 0xffffffff for a, b in zip(r, r[1:])]
        jumps = [d for d in steps if d not in (0, 3600)]
        assert len(jumps) == 1 and jumps[0] == 3600 * 90000 + 3600, jumps
        ok("ts_jump:1: one forward jump of 1 h in the RTP timestamp")
        c.close()
        c = Conn(port, "ssrc0")
        c.start()
        r = rtp(c.frames(2.0))
        ssrcs = sorted(set(x[3] for x in r), key=[x[3] for x in r].index)
        assert len(ssrcs) == 2, ssrcs
        ok(f"ssrc_change:1: SSRC {ssrcs[0]:08X} -> {ssrcs[1]:08X}")
        c.close()

        # wrong_channel: SETUP says 0-1, RTP comes on 7.
        c = Conn(port, "wrong0")
        c.start()
        chans = set(ch for _, ch, _ in c.frames(1.5))
        assert 0 not in chans and 7 in chans, chans
        ok(f"wrong_channel: interleaved channels {sorted(chans)} instead of 0-1")
        c.close()

        # tcp_refused_setup: 461 for TCP, UDP works from the server's ports.
        c = Conn(port, "notcp0")
        st, _ = c.start()
        assert st == 461, st
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        cp = u.getsockname()[1]
        st, hdr = c.start(f"RTP/AVP;unicast;client_port={cp}-{cp + 1}")
        assert st == 200, st
        sp = int(re.search(r"server_port=(\d+)", hdr["transport"]).group(1))
        u.settimeout(2)
        data, frm = u.recvfrom(2000)
        assert frm[1] == sp and data[0] == 0x80, frm
        ok(f"tcp_refused_setup: 461 for TCP; UDP RTP arrives from server_port {sp}")
        u.close()
        c.close()

        # refuse, 401, limits
        c = Conn(port, "refuse0")
        try:
            c.request("OPTIONS")
            raise AssertionError("refuse answered")
        except (EOFError, ConnectionResetError):
            pass
        ok("refuse: closed without an answer")
        c = Conn(port, "digest0")
        st, hdr, _ = c.request("DESCRIBE")
        assert st == 401 and 'qop="auth"' in hdr["www-authenticate"]
        ok("unauthorized: 401 Digest qop=auth")
        c.close()
        c = Conn(port, "cam0")
        c.sock.sendall(b"OPTIONS rtsp://x/cam0 RTSP/1.0\r\nX: " + b"a" * 9000)
        st, _, _ = c.response()
        assert st == 400
        try:
            c.response(2)
            raise AssertionError("still open after an oversized request")
        except EOFError:
            pass
        ok("a request over 8 KiB: 400 and closed")
        c.close()

        # the session log
        time.sleep(0.3)
        lines = open(log).read().splitlines()
        pat = re.compile(r"^\S+Z [0-9A-F]{16} \S+ 127\.0\.0\.1:\d+ (setup|play|teardown|closed)$")
        assert lines and all(pat.match(x) for x in lines), [x for x in lines if not pat.match(x)][:3]
        setups = sum(x.endswith(" setup") for x in lines)
        closed = sum(x.endswith(" closed") for x in lines)
        assert setups == closed, (setups, closed)
        ok(f"session log: {len(lines)} well-formed lines, every setup closed")

        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        proc = None
        ok("SIGINT: exit 0")
    finally:
        if proc:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
