"""No number of slow or stalled clients stops service to others (S3 and SMB), against the
cfs-gateway binary:

- S3: 200 connections GET a 24 MiB public object with a 4 KiB receive buffer and never read,
  and 200 presigned PUTs send their body one byte a second; meanwhile boto3 and the aws CLI put,
  get and list as usual (each call must finish within its client's 20 s read timeout; the
  latencies are printed).
- SMB: 200 sessions send READs and never read the answers, and 200 send a WRITE one byte a
  second; meanwhile smbclient puts and gets files.

A slow peer costs its own connection's buffers, never a shared thread (docs/operations.md,
"Slow and stalled clients"). Usage: slow_clients_test.py <cfs-gateway binary>
"""
import hashlib
import os
import resource
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

from impacket import smb3structs
from impacket.smbconnection import SMBConnection

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3_gateway import ALICE_KEY, ALICE_SECRET, Gateway, s3_client  # noqa: E402

BINARY = None
HELD = 200  # stalled readers, and as many slow writers, per protocol
USERS = 'users { name: "carol" uid: 1002 gid: 1002 smb_password: "Carols-Passw0rd" }\n'


def alice(gateway, **config):
    return s3_client(gateway, ALICE_KEY, ALICE_SECRET, connect_timeout=20, read_timeout=20,
                     **config)


class Dribbler:
    """Sends one byte a second on each of its sockets until stopped."""

    def __init__(self):
        self.items = []  # (socket, bytes left to send)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def add(self, sock, data):
        self.items.append([sock, data])

    def run(self):
        while not self.stop.wait(1.0):
            for item in self.items:
                if item[1]:
                    try:
                        item[0].send(item[1][:1])
                    except OSError:
                        item[1] = b""
                        continue
                    item[1] = item[1][1:]


def timed(latencies, fn, *args, **kwargs):
    start = time.time()
    result = fn(*args, **kwargs)
    latencies.append(time.time() - start)
    return result


class SlowClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
        cls.gateway = Gateway(BINARY, config=USERS, protocols="s3,smb").start()
        cls.s3 = alice(cls.gateway)
        cls.s3.create_bucket(Bucket="public", ACL="public-read")
        cls.big = os.urandom(24 << 20)
        cls.s3.put_object(Bucket="public", Key="big", Body=cls.big)
        cls.s3.create_bucket(Bucket="work")

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop()
        log = cls.gateway.log()
        if "Sanitizer" in log:
            raise AssertionError("the gateway reported a sanitizer error:\n" + log[-8000:])

    def stalled_s3_readers(self):
        socks = []
        for _ in range(HELD):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", self.gateway.ports["s3"]))
            s.sendall(b"GET /public/big HTTP/1.1\r\nHost: x\r\n\r\n")  # never read
            socks.append(s)
        return socks

    def slow_s3_writers(self, dribbler):
        presigner = alice(self.gateway, signature_version="s3v4")
        socks = []
        for i in range(HELD):
            url = presigner.generate_presigned_url(
                "put_object", Params={"Bucket": "work", "Key": "slow-%d" % i}, ExpiresIn=600)
            parts = urllib.parse.urlsplit(url)
            s = socket.create_connection((parts.hostname, parts.port))
            s.sendall(("PUT %s?%s HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: 1000\r\n\r\n" %
                       (parts.path, parts.query, parts.hostname, parts.port)).encode())
            dribbler.add(s, b"x" * 1000)
            socks.append(s)
        return socks

    def test_s3_serves_others_while_hundreds_of_clients_stall(self):
        dribbler = Dribbler()
        held = self.stalled_s3_readers() + self.slow_s3_writers(dribbler)
        dribbler.thread.start()
        time.sleep(2)  # every held request is in the server by now
        latencies = []
        try:
            for i in range(10):
                body = os.urandom(256 << 10)
                timed(latencies, self.s3.put_object, Bucket="work", Key="k%d" % i, Body=body)
                got = timed(latencies, self.s3.get_object, Bucket="work", Key="k%d" % i)
                self.assertEqual(got["Body"].read(), body)
                timed(latencies, self.s3.list_objects_v2, Bucket="work", Prefix="k")
            # The aws CLI, an independent client, up and down.
            env = dict(os.environ, AWS_ACCESS_KEY_ID=ALICE_KEY,
                       AWS_SECRET_ACCESS_KEY=ALICE_SECRET, AWS_DEFAULT_REGION="us-east-1")
            src = os.path.join(self.gateway.work, "cli-src")
            with open(src, "wb") as f:
                f.write(os.urandom(3 << 20))
            for args in (["cp", src, "s3://work/cli"], ["cp", "s3://work/cli", src + ".back"]):
                start = time.time()
                subprocess.run(["aws", "--endpoint-url", self.gateway.endpoint,
                                "--cli-read-timeout", "20", "--cli-connect-timeout", "20",
                                "s3"] + args, env=env, check=True, timeout=60,
                               capture_output=True)
                latencies.append(time.time() - start)
            with open(src, "rb") as a, open(src + ".back", "rb") as b:
                self.assertEqual(hashlib.md5(a.read()).digest(), hashlib.md5(b.read()).digest())
        finally:
            dribbler.stop.set()
            for s in held:
                s.close()
        print("S3 with %d stalled readers and %d slow writers held: %d calls, median %.3f s, "
              "max %.3f s" % (HELD, HELD, len(latencies), statistics.median(latencies),
                              max(latencies)))

    # ---- SMB ----

    def smb_login(self):
        conn = SMBConnection("CFS", "127.0.0.1", sess_port=self.gateway.ports["smb"],
                             preferredDialect=smb3structs.SMB2_DIALECT_21)
        conn.login("carol", "Carols-Passw0rd")
        return conn

    def stalled_smb_readers(self, name):
        conns = []
        for _ in range(HELD):
            conn = self.smb_login()
            smb = conn.getSMBServer()
            tid = conn.connectTree("share")
            fid = smb.create(tid, name, 0x00120089, smb3structs.FILE_SHARE_READ, 0,
                             smb3structs.FILE_OPEN, 0)
            sock = smb._NetBIOSSession.get_socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            for offset in range(0, 16 << 16, 1 << 16):  # 16 READs of 64 KiB, never read
                packet = smb.SMB_PACKET()
                packet["Command"] = smb3structs.SMB2_READ
                packet["TreeID"] = tid
                read = smb3structs.SMB2Read()
                read["Padding"] = 0x50
                read["FileID"] = fid
                read["Length"] = 1 << 16
                read["Offset"] = offset
                packet["Data"] = read
                smb.sendSMB(packet)
            conns.append(conn)
        return conns

    def slow_smb_writers(self, dribbler):
        conns = []
        for i in range(HELD):
            conn = self.smb_login()
            smb = conn.getSMBServer()
            tid = conn.connectTree("share")
            fid = smb.create(tid, "slow-%d" % i, 0x0012019F, smb3structs.FILE_SHARE_READ, 0,
                             smb3structs.FILE_OVERWRITE_IF, 0)
            # A WRITE framed as impacket's sendSMB would send it, dribbled a byte a second.
            packet = smb.SMB_PACKET()
            packet["Command"] = smb3structs.SMB2_WRITE
            packet["TreeID"] = tid
            packet["MessageID"] = smb._Connection["SequenceWindow"]
            smb._Connection["SequenceWindow"] += 1
            packet["SessionID"] = smb._Session["SessionID"]
            packet["CreditCharge"] = 1
            write = smb3structs.SMB2Write()
            write["FileID"] = fid
            write["Length"] = 1000
            write["Offset"] = 0
            write["WriteChannelInfoOffset"] = 0
            write["Buffer"] = b"w" * 1000
            packet["Data"] = write
            message = packet.getData()
            dribbler.add(smb._NetBIOSSession.get_socket(),
                         struct.pack(">I", len(message)) + message)
            conns.append(conn)
        return conns

    def smbclient(self, command):
        start = time.time()
        out = subprocess.run(
            ["smbclient", "//127.0.0.1/share", "-p", str(self.gateway.ports["smb"]), "-U",
             "carol%Carols-Passw0rd", "-m", "SMB3", "-c", command],
            capture_output=True, text=True, timeout=60, cwd=self.gateway.work)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        return time.time() - start

    def test_smb_serves_others_while_hundreds_of_clients_stall(self):
        with open(os.path.join(self.gateway.work, "big.bin"), "wb") as f:
            f.write(os.urandom(4 << 20))
        self.smbclient("put big.bin")
        dribbler = Dribbler()
        held = self.stalled_smb_readers("big.bin") + self.slow_smb_writers(dribbler)
        dribbler.thread.start()
        time.sleep(2)
        latencies = []
        try:
            for i in range(5):
                latencies.append(self.smbclient("put big.bin copy%d.bin; get copy%d.bin back.bin"
                                                % (i, i)))
                with open(os.path.join(self.gateway.work, "back.bin"), "rb") as a, \
                        open(os.path.join(self.gateway.work, "big.bin"), "rb") as b:
                    self.assertEqual(a.read(), b.read())
        finally:
            dribbler.stop.set()
            for conn in held:
                try:
                    conn.getSMBServer()._NetBIOSSession.get_socket().close()
                except OSError:
                    pass
        print("SMB with %d stalled readers and %d slow writers held: %d smbclient runs, median "
              "%.3f s, max %.3f s" % (HELD, HELD, len(latencies), statistics.median(latencies),
                                       max(latencies)))


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
