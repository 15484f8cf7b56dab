"""impacket (Debian's python3-impacket, an independent SMB client) against the cfs-gateway
binary: SMB 2.1 and 3.0 sessions (file and directory operations, a multi-MiB round trip,
listings, errors, named streams kept across kill -9, DACLs inherited and enforced), oplock and
lease breaks caused by NFS (nfs-cat, and nfs_overwrite.c on
libnfs) and by another SMB client, and bad input on raw sockets: garbage, truncated and oversized frames,
unknown commands, message ids outside the credit window, a wrong signature, a wrong password.
After each bad input the server keeps serving a well-behaved client.

Usage: smb_impacket_test.py <cfs-gateway binary> <nfs_overwrite binary>
"""
import hashlib
import io
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from impacket import smb3, smb3structs
from impacket.smbconnection import SMBConnection, SessionError

GATEWAY = None
NFS_OVERWRITE = None  # testing/integration/nfs_overwrite.c: writes into an existing file
USER, PASSWORD = "alice", "Passw0rd!"

STATUS_LOGON_FAILURE = 0xC000006D
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_OBJECT_NAME_COLLISION = 0xC0000035
STATUS_DIRECTORY_NOT_EMPTY = 0xC0000101
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_ACCESS_DENIED = 0xC0000022


class Gateway:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cfs-smb-impacket-")
        config = os.path.join(self.dir, "config.txtpb")
        with open(config, "w") as f:
            f.write('users { name: "alice" uid: 1000 gid: 1000 smb_password: "Passw0rd!" }\n'
                    'users { name: "bob" uid: 1001 gid: 1001 smb_password: "Bobs-Passw0rd" }\n')
        self.start()

    def kill_and_restart(self):
        """kill -9, then a new process on the same data directory (new ports)."""
        self.proc.kill()
        self.proc.wait()
        self.log.close()
        self.start()

    def start(self):
        config = os.path.join(self.dir, "config.txtpb")
        self.log = open(os.path.join(self.dir, "log"), "a+")
        self.proc = subprocess.Popen(
            [GATEWAY, "--config=" + config, "--data_dir=" + os.path.join(self.dir, "data"),
             "--bind_address=127.0.0.1", "--nfs_port=0", "--mount_port=0", "--s3_port=0",
             "--smb_port=0", "--portmapper_port=0", "--metrics_port=0", "--control_port=0", "--protocols=smb,nfs"],
            stderr=self.log)
        start_at = self.log.tell()
        deadline = time.time() + 30
        while time.time() < deadline:
            self.log.seek(start_at)
            text = self.log.read()
            m = re.search(r"smb listening on 127\.0\.0\.1:(\d+)", text)
            if m and "ready;" in text:
                self.port = int(m.group(1))
                self.nfs_port = int(re.search(r"nfs listening on 127\.0\.0\.1:(\d+)", text).group(1))
                self.mount_port = int(
                    re.search(r"mount listening on 127\.0\.0\.1:(\d+)", text).group(1))
                return
            time.sleep(0.1)
        raise RuntimeError("gateway did not start:\n" + text)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.seek(0)
        text = self.log.read()
        shutil.rmtree(self.dir, ignore_errors=True)
        # A sanitizer build of the gateway (--config=asan/tsan) reports to its log.
        if "Sanitizer" in text:
            raise AssertionError("the gateway reported a sanitizer error:\n" + text[-8000:])


def setUpModule():
    global gw
    gw = Gateway()


def tearDownModule():
    gw.stop()


def connect(dialect, user=USER, password=PASSWORD):
    conn = SMBConnection("CFS", "127.0.0.1", sess_port=gw.port, preferredDialect=dialect)
    conn.login(user, password)
    return conn


def put(conn, path, data):
    conn.putFile("share", path, io.BytesIO(data).read)


def get(conn, path):
    out = io.BytesIO()
    conn.getFile("share", path, out.write)
    return out.getvalue()


def raw_negotiate(sock, message_id=0):
    """An SMB2 NEGOTIATE offering 2.0.2 and 2.1, framed for Direct TCP."""
    header = struct.pack("<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, 0, 0, 0, 1, 0, 0, message_id, 0,
                         0, 0, b"\0" * 16)
    body = struct.pack("<HHHHI16sIHH", 36, 2, 1, 0, 0, b"C" * 16, 0, 0, 0)
    body += struct.pack("<HH", 0x0202, 0x0210)
    return frame(header + body)


def frame(message):
    return struct.pack(">I", len(message)) + message


def recv_message(sock):
    head = recv_exact(sock, 4)
    if head is None:
        return None
    length = struct.unpack(">I", head)[0] & 0xFFFFFF
    return recv_exact(sock, length)


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        try:
            chunk = sock.recv(n - len(data))
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def closed_by_server(sock):
    sock.settimeout(10)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


class DialectTests:
    dialect = None

    def setUp(self):
        self.conn = connect(self.dialect)
        self.base = "t%d_%s" % (self.dialect, self._testMethodName)
        self.conn.createDirectory("share", self.base)

    def tearDown(self):
        def rmtree(path):
            for entry in self.conn.listPath("share", path + "\\*"):
                name = entry.get_longname()
                if name in (".", ".."):
                    continue
                full = path + "\\" + name
                if entry.is_directory():
                    rmtree(full)
                else:
                    self.conn.deleteFile("share", full)
            self.conn.deleteDirectory("share", path)
        rmtree(self.base)
        self.conn.logoff()

    def test_round_trip_of_several_mib(self):
        data = os.urandom(9 * 1024 * 1024 + 123)
        put(self.conn, self.base + "\\big.bin", data)
        back = get(self.conn, self.base + "\\big.bin")
        self.assertEqual(hashlib.sha256(back).hexdigest(), hashlib.sha256(data).hexdigest())

    def test_listing_shows_files_with_sizes(self):
        put(self.conn, self.base + "\\a.txt", b"hello")
        self.conn.createDirectory("share", self.base + "\\sub")
        entries = {e.get_longname(): e for e in self.conn.listPath("share", self.base + "\\*")}
        self.assertIn(".", entries)
        self.assertIn("..", entries)
        self.assertEqual(entries["a.txt"].get_filesize(), 5)
        self.assertTrue(entries["sub"].is_directory())
        self.assertFalse(entries["a.txt"].is_directory())
        only = [e.get_longname() for e in self.conn.listPath("share", self.base + "\\*.txt")]
        self.assertEqual(only, ["a.txt"])

    def test_rename_and_delete(self):
        put(self.conn, self.base + "\\old.txt", b"x" * 100)
        self.conn.rename("share", self.base + "\\old.txt", self.base + "\\new.txt")
        self.assertEqual(get(self.conn, self.base + "\\new.txt"), b"x" * 100)
        with self.assertRaises(SessionError) as e:
            get(self.conn, self.base + "\\old.txt")
        self.assertEqual(e.exception.getErrorCode(), STATUS_OBJECT_NAME_NOT_FOUND)
        self.conn.deleteFile("share", self.base + "\\new.txt")
        self.assertEqual([e.get_longname() for e in
                          self.conn.listPath("share", self.base + "\\*")], [".", ".."])

    def test_errors_are_the_right_ntstatus(self):
        self.conn.createDirectory("share", self.base + "\\d")
        with self.assertRaises(SessionError) as e:
            self.conn.createDirectory("share", self.base + "\\d")
        self.assertEqual(e.exception.getErrorCode(), STATUS_OBJECT_NAME_COLLISION)
        put(self.conn, self.base + "\\d\\f", b"1")
        with self.assertRaises(SessionError) as e:
            self.conn.deleteDirectory("share", self.base + "\\d")
        self.assertEqual(e.exception.getErrorCode(), STATUS_DIRECTORY_NOT_EMPTY)
        with self.assertRaises(SessionError) as e:
            self.conn.deleteFile("share", self.base + "\\missing")
        self.assertEqual(e.exception.getErrorCode(), STATUS_OBJECT_NAME_NOT_FOUND)

    def test_overwrite_truncates(self):
        put(self.conn, self.base + "\\f", b"a" * 1000)
        put(self.conn, self.base + "\\f", b"b" * 10)
        self.assertEqual(get(self.conn, self.base + "\\f"), b"b" * 10)


class Smb21Test(DialectTests, unittest.TestCase):
    dialect = smb3structs.SMB2_DIALECT_21


class Smb30Test(DialectTests, unittest.TestCase):
    dialect = smb3structs.SMB2_DIALECT_30


def recv_break_body(test, smb):
    """The body of the next unsolicited OPLOCK_BREAK (oplock or lease break) on the connection."""
    packet = smb._NetBIOSSession.recv_packet(20)
    message = smb3structs.SMB2Packet(packet.get_trailer())
    test.assertEqual(message["Command"], smb3structs.SMB2_OPLOCK_BREAK)
    test.assertEqual(message["MessageID"], 0xFFFFFFFFFFFFFFFF)
    return message["Data"]


class OpenFromAnotherClient:
    """Opens a file for reading from a second SMB 3.0 client on a thread of its own (the open
    waits while a break is pending); join() waits for it and gives the file id or None."""

    def __init__(self, name):
        self.conn = connect(smb3structs.SMB2_DIALECT_30)
        self.smb = self.conn.getSMBServer()
        self.tid = self.conn.connectTree("share")
        self.fid = None
        self.thread = threading.Thread(target=self._open, args=(name,))
        self.thread.start()

    def _open(self, name):
        self.fid = self.smb.create(self.tid, name, smb3structs.FILE_READ_DATA,
                                   smb3structs.FILE_SHARE_READ | smb3structs.FILE_SHARE_WRITE, 0,
                                   smb3structs.FILE_OPEN, 0)

    def join(self, timeout):
        self.thread.join(timeout)
        return self.fid

    def close(self):
        self.smb.close(self.tid, self.fid)
        self.conn.logoff()


class OplockTest(unittest.TestCase):
    def recv_break(self, smb):
        """The next oplock break: (level, file id)."""
        body = recv_break_body(self, smb)
        return body[2], body[8:24]

    def test_nfs_read_and_smb_write_break_a_batch_oplock(self):
        conn = connect(smb3structs.SMB2_DIALECT_21)
        put(conn, "oplocked.txt", b"written over SMB")
        smb = conn.getSMBServer()
        tid = conn.connectTree("share")
        fid = smb.create(tid, "oplocked.txt",
                         smb3structs.FILE_READ_DATA | smb3structs.FILE_WRITE_DATA,
                         smb3structs.FILE_SHARE_READ | smb3structs.FILE_SHARE_WRITE, 0,
                         smb3structs.FILE_OPEN, 0,
                         oplockLevel=smb3structs.SMB2_OPLOCK_LEVEL_BATCH)
        # A read over NFS: the batch oplock (write caching) breaks to level II, and the client
        # must acknowledge.
        url = ("nfs://127.0.0.1/export/oplocked.txt?nfsport=%d&mountport=%d&version=3"
               "&uid=1000&gid=1000" % (gw.nfs_port, gw.mount_port))
        nfs = subprocess.Popen(["nfs-cat", url], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
        level, broken = self.recv_break(smb)
        self.assertEqual(level, smb3structs.SMB2_OPLOCK_LEVEL_II)
        self.assertEqual(broken, fid)
        ack = smb3structs.SMB2Packet()
        ack["Command"] = smb3structs.SMB2_OPLOCK_BREAK
        ack["TreeID"] = tid
        ack["Data"] = struct.pack("<HBxI", 24, smb3structs.SMB2_OPLOCK_LEVEL_II, 0) + fid
        smb.recvSMB(smb.sendSMB(ack))
        self.assertEqual(nfs.wait(60), 0)
        self.assertEqual(nfs.stdout.read(), b"written over SMB")
        # A write by another client: level II breaks to none, no acknowledgement needed.
        other = connect(smb3structs.SMB2_DIALECT_30)
        osmb = other.getSMBServer()
        otid = other.connectTree("share")
        ofid = osmb.create(otid, "oplocked.txt",
                           smb3structs.FILE_READ_DATA | smb3structs.FILE_WRITE_DATA,
                           smb3structs.FILE_SHARE_READ | smb3structs.FILE_SHARE_WRITE, 0,
                           smb3structs.FILE_OPEN, 0)
        text = b"written by another SMB client"
        osmb.write(otid, ofid, text, 0, len(text))
        osmb.close(otid, ofid)
        level, broken = self.recv_break(smb)
        self.assertEqual(level, smb3structs.SMB2_OPLOCK_LEVEL_NONE)
        self.assertEqual(broken, fid)
        self.assertEqual(smb.read(tid, fid, 0, 100), b"written by another SMB client")
        smb.close(tid, fid)
        other.logoff()
        conn.logoff()


class CaseInsensitiveNamesTest(unittest.TestCase):
    def test_names_match_ignoring_case(self):
        conn = connect(smb3structs.SMB2_DIALECT_30)
        conn.createDirectory("share", "MixedDir")
        put(conn, "MixedDir\\CaseFile.txt", b"found whatever the case")
        # Windows names are case-insensitive: every component may differ in case.
        self.assertEqual(get(conn, "mixeddir\\CASEFILE.TXT"), b"found whatever the case")
        # Creating a name that exists in another case is a collision, not a second file.
        with self.assertRaises(SessionError) as raised:
            conn.createDirectory("share", "MIXEDDIR\\casefile.txt")
        self.assertEqual(raised.exception.getErrorCode(), STATUS_OBJECT_NAME_COLLISION)
        names = [f.get_longname() for f in conn.listPath("share", "MixedDir\\*")]
        self.assertEqual(sorted(n for n in names if n not in (".", "..")), ["CaseFile.txt"])
        conn.deleteFile("share", "MIXEDDIR\\CASEFILE.TXT")
        conn.deleteDirectory("share", "mixeddir")
        conn.logoff()


class SetInfoTest(unittest.TestCase):
    def test_times_read_only_end_of_file_and_allocation(self):
        conn = connect(smb3structs.SMB2_DIALECT_30)
        put(conn, "setinfo.bin", b"0123456789")
        smb = conn.getSMBServer()
        tid = conn.connectTree("share")
        fid = smb.create(tid, "setinfo.bin", 0x0012019F | 0x100,  # generic read/write + attrs
                         smb3structs.FILE_SHARE_READ, 0, smb3structs.FILE_OPEN, 0)
        # FileBasicInformation (class 4): creation, access, write and change times, attributes.
        when = 132000000000000000  # a FILETIME in 2019
        smb.setInfo(tid, fid, struct.pack("<qqqqII", 0, 0, when, 0, 0, 0), fileInfoClass=4)
        basic = smb.queryInfo(tid, fid, fileInfoClass=4)
        self.assertEqual(struct.unpack_from("<q", basic, 16)[0], when)
        # End of file (class 20) truncates; a larger allocation (class 19) changes nothing, a
        # smaller one truncates too.
        smb.setInfo(tid, fid, struct.pack("<q", 6), fileInfoClass=20)
        smb.setInfo(tid, fid, struct.pack("<q", 4096), fileInfoClass=19)
        standard = smb.queryInfo(tid, fid, fileInfoClass=5)  # FileStandardInformation
        self.assertEqual(struct.unpack_from("<q", standard, 8)[0], 6)
        smb.setInfo(tid, fid, struct.pack("<q", 4), fileInfoClass=19)
        standard = smb.queryInfo(tid, fid, fileInfoClass=5)
        self.assertEqual(struct.unpack_from("<q", standard, 8)[0], 4)
        # FILE_ATTRIBUTE_READONLY takes the write bits away; clearing it gives the owner's back.
        smb.setInfo(tid, fid, struct.pack("<qqqqII", 0, 0, 0, 0, 0x1, 0), fileInfoClass=4)
        attributes = struct.unpack_from("<I", smb.queryInfo(tid, fid, fileInfoClass=4), 32)[0]
        self.assertTrue(attributes & 0x1, hex(attributes))
        smb.setInfo(tid, fid, struct.pack("<qqqqII", 0, 0, 0, 0, 0x80, 0), fileInfoClass=4)
        attributes = struct.unpack_from("<I", smb.queryInfo(tid, fid, fileInfoClass=4), 32)[0]
        self.assertFalse(attributes & 0x1, hex(attributes))
        smb.close(tid, fid)
        self.assertEqual(get(conn, "setinfo.bin"), b"0123")
        conn.deleteFile("share", "setinfo.bin")
        conn.logoff()


STATUS_NO_MORE_FILES = 0x80000006


class DirectoryEnumerationTest(unittest.TestCase):
    def names(self, buffer):
        """The names of a FILE_NAMES_INFORMATION buffer (MS-FSCC 2.4.28)."""
        out, at = [], 0
        while True:
            following, _, length = struct.unpack_from("<III", buffer, at)
            out.append(buffer[at + 12:at + 12 + length].decode("utf-16-le"))
            if following == 0:
                return out
            at += following

    def test_entries_removed_during_an_enumeration_are_left_out(self):
        # A continued QUERY_DIRECTORY checks that the entries it is about to return still exist
        # (as Windows does), batch after batch: removing most of a large directory between two
        # calls leaves those names out, and every other name comes exactly once.
        conn = connect(smb3structs.SMB2_DIALECT_30)
        conn.createDirectory("share", "Many")
        names = ["f%04d.txt" % i for i in range(700)]
        for name in names:
            put(conn, "Many\\" + name, b"x")
        smb = conn.getSMBServer()
        tid = conn.connectTree("share")
        fid = smb.create(tid, "Many", smb3structs.FILE_READ_DATA,
                         smb3structs.FILE_SHARE_READ | smb3structs.FILE_SHARE_WRITE |
                         smb3structs.FILE_SHARE_DELETE,
                         smb3structs.FILE_DIRECTORY_FILE, smb3structs.FILE_OPEN, 0)
        seen = self.names(smb.queryDirectory(tid, fid, "*", maxBufferSize=1024))
        self.assertTrue(0 < len(seen) < 100, len(seen))
        removed = set(names[100:650])
        for name in removed:
            conn.deleteFile("share", "Many\\" + name)
        while True:
            try:
                seen += self.names(smb.queryDirectory(tid, fid, "*", maxBufferSize=1024))
            except smb3.SessionError as e:
                self.assertEqual(e.get_error_code(), STATUS_NO_MORE_FILES)
                break
        smb.close(tid, fid)
        seen = [n for n in seen if n not in (".", "..")]
        self.assertEqual(sorted(seen), sorted(set(names) - removed))
        for name in set(names) - removed:
            conn.deleteFile("share", "Many\\" + name)
        conn.deleteDirectory("share", "Many")
        conn.logoff()


STATUS_SHARING_VIOLATION = 0xC0000043
DELETE = 0x00010000
FILE_DELETE_CHILD = 0x00000040
READ_CONTROL = 0x00020000
WRITE_DAC = 0x00040000
WRITE_OWNER = 0x00080000
MAXIMUM_ALLOWED = 0x02000000
OWNER_SECURITY_INFORMATION, DACL_SECURITY_INFORMATION = 0x1, 0x4
OBJECT_INHERIT, CONTAINER_INHERIT, INHERITED = 0x01, 0x02, 0x10


def sid(authority, *subs):
    return bytes([1, len(subs), 0, 0, 0, 0, 0, authority]) + b"".join(
        struct.pack("<I", x) for x in subs)


def descriptor(aces):
    """A self-relative security descriptor with a DACL of (type, flags, mask, sid) ACEs."""
    body = b""
    for ace_type, flags, mask, ace_sid in aces:
        payload = struct.pack("<I", mask) + ace_sid
        body += bytes([ace_type, flags]) + struct.pack("<H", 4 + len(payload)) + payload
    acl = bytes([2, 0]) + struct.pack("<HHH", 8 + len(body), len(aces), 0) + body
    return bytes([1, 0]) + struct.pack("<HIIII", 0x8004, 0, 0, 0, 20) + acl


def dacl_aces(sd):
    """The (type, flags, mask, sid) ACEs of a self-relative descriptor's DACL."""
    at = struct.unpack_from("<I", sd, 16)[0]
    count = struct.unpack_from("<H", sd, at + 4)[0]
    at += 8
    aces = []
    for _ in range(count):
        ace_type, flags, size, mask = struct.unpack_from("<BBHI", sd, at)
        aces.append((ace_type, flags, mask, sd[at + 8:at + size]))
        at += size
    return aces


class StreamsTest(unittest.TestCase):
    """Named streams ("file:stream") beside a file's own data, kept across kill -9."""

    def stream_names(self, conn, path):
        smb = conn.getSMBServer()
        tid = conn.connectTree("share")
        fid = smb.create(tid, path, smb3structs.FILE_READ_ATTRIBUTES, smb3structs.FILE_SHARE_READ,
                         0, smb3structs.FILE_OPEN, 0)
        info = smb.queryInfo(tid, fid, fileInfoClass=22)  # FileStreamInformation
        smb.close(tid, fid)
        names, at = [], 0
        while True:
            next_at, length = struct.unpack_from("<II", info, at)
            names.append(info[at + 24:at + 24 + length].decode("utf-16-le"))
            if next_at == 0:
                return names
            at += next_at

    def test_streams_beside_the_data_survive_kill_9(self):
        own = Gateway()
        try:
            conn = SMBConnection("CFS", "127.0.0.1", sess_port=own.port,
                                 preferredDialect=smb3structs.SMB2_DIALECT_30)
            conn.login(USER, PASSWORD)
            put(conn, "streamed.txt", b"the file's own data")
            put(conn, "streamed.txt:Meta", b"kept in a named stream")
            put(conn, "streamed.txt:other:$DATA", b"x" * 5000)
            self.assertEqual(get(conn, "streamed.txt:meta"), b"kept in a named stream")
            self.assertEqual(get(conn, "streamed.txt::$DATA"), b"the file's own data")
            self.assertEqual(self.stream_names(conn, "streamed.txt"),
                             ["::$DATA", ":Meta:$DATA", ":other:$DATA"])
            # A stream over the backend's attribute limit is refused, not cut.
            with self.assertRaises(SessionError):
                put(conn, "streamed.txt:huge", b"y" * (1 << 20))
            conn.deleteFile("share", "streamed.txt:other")
            conn.logoff()
            # Acknowledged stream data is on disk: a kill -9 loses none of it.
            own.kill_and_restart()
            conn = SMBConnection("CFS", "127.0.0.1", sess_port=own.port,
                                 preferredDialect=smb3structs.SMB2_DIALECT_21)
            conn.login(USER, PASSWORD)
            self.assertEqual(get(conn, "streamed.txt:Meta"), b"kept in a named stream")
            names = self.stream_names(conn, "streamed.txt")
            self.assertIn(":Meta:$DATA", names)
            self.assertNotIn(":other:$DATA", names)
            self.assertEqual(get(conn, "streamed.txt"), b"the file's own data")
            conn.logoff()
            # NFS sees the file's own data only.
            url = ("nfs://127.0.0.1/export/streamed.txt?nfsport=%d&mountport=%d&version=3"
                   "&uid=1000&gid=1000" % (own.nfs_port, own.mount_port))
            self.assertEqual(subprocess.run(["nfs-cat", url], capture_output=True,
                                            timeout=60).stdout, b"the file's own data")
        finally:
            own.stop()


class DaclTest(unittest.TestCase):
    """A DACL set over SMB is kept, inherited by new files and enforced."""

    def test_inherited_dacl_without_delete_refuses_delete(self):
        conn = connect(smb3structs.SMB2_DIALECT_30)
        smb = conn.getSMBServer()
        tid = conn.connectTree("share")
        conn.createDirectory("share", "acl_dir")
        owner = sid(22, 1, 1000)
        everything_but_delete = 0x001F01FF & ~(DELETE | FILE_DELETE_CHILD)
        d = smb.create(tid, "acl_dir", READ_CONTROL | WRITE_DAC, smb3structs.FILE_SHARE_READ,
                       smb3structs.FILE_DIRECTORY_FILE, smb3structs.FILE_OPEN, 0)
        smb.setInfo(tid, d, descriptor([(0, OBJECT_INHERIT, everything_but_delete, owner)]),
                    infoType=3, fileInfoClass=0, additionalInformation=DACL_SECURITY_INFORMATION)
        smb.close(tid, d)
        put(conn, "acl_dir\kept.txt", b"cannot be deleted")
        # The new file inherited the ACE (marked inherited) and it is what QUERY_INFO shows.
        f = smb.create(tid, "acl_dir\kept.txt", READ_CONTROL, smb3structs.FILE_SHARE_READ, 0,
                       smb3structs.FILE_OPEN, 0)
        aces = dacl_aces(smb.queryInfo(tid, f, infoType=3, fileInfoClass=0,
                                       additionalInformation=DACL_SECURITY_INFORMATION))
        smb.close(tid, f)
        self.assertEqual(aces, [(0, INHERITED, everything_but_delete, owner)])
        # Neither the file's DACL nor the directory's (no FILE_DELETE_CHILD) grants DELETE.
        with self.assertRaises(SessionError) as raised:
            conn.deleteFile("share", "acl_dir\kept.txt")
        self.assertEqual(raised.exception.getErrorCode(), STATUS_ACCESS_DENIED)
        self.assertEqual(get(conn, "acl_dir\kept.txt"), b"cannot be deleted")
        # A file made by creating one of its streams inherits the same DACL.
        put(conn, "acl_dir\\via_stream.txt:side", b"stream first")
        with self.assertRaises(SessionError) as raised:
            conn.deleteFile("share", "acl_dir\\via_stream.txt")
        self.assertEqual(raised.exception.getErrorCode(), STATUS_ACCESS_DENIED)
        # FILE_DELETE_CHILD on the directory allows it.
        d = smb.create(tid, "acl_dir", READ_CONTROL | WRITE_DAC, smb3structs.FILE_SHARE_READ,
                       smb3structs.FILE_DIRECTORY_FILE, smb3structs.FILE_OPEN, 0)
        smb.setInfo(tid, d, descriptor([(0, 0, 0x001F01FF, owner)]), infoType=3,
                    fileInfoClass=0, additionalInformation=DACL_SECURITY_INFORMATION)
        smb.close(tid, d)
        conn.deleteFile("share", "acl_dir\kept.txt")
        conn.deleteFile("share", "acl_dir\\via_stream.txt")
        conn.deleteDirectory("share", "acl_dir")
        conn.logoff()


class SecurityDescriptorOwnerTest(unittest.TestCase):
    """Only a file's owner (or root) changes its security descriptor, as chmod over NFS: a
    DACL granting everyone full control does not give WRITE_DAC or WRITE_OWNER away."""

    def test_only_the_owner_changes_the_security_descriptor(self):
        alice = connect(smb3structs.SMB2_DIALECT_30)
        put(alice, "plain.txt", b"mode bits only")
        put(alice, "owned.txt", b"alice's")
        smb = alice.getSMBServer()
        tid = alice.connectTree("share")
        f = smb.create(tid, "owned.txt", READ_CONTROL | WRITE_DAC, smb3structs.FILE_SHARE_READ,
                       0, smb3structs.FILE_OPEN, 0)
        everyone_full = descriptor([(0, 0, 0x001F01FF, sid(22, 1, 1000)),
                                    (0, 0, 0x001F01FF, sid(1, 0))])
        smb.setInfo(tid, f, everyone_full, infoType=3, fileInfoClass=0,
                    additionalInformation=DACL_SECURITY_INFORMATION)
        smb.close(tid, f)
        bob = connect(smb3structs.SMB2_DIALECT_30, "bob", "Bobs-Passw0rd")
        bsmb = bob.getSMBServer()
        btid = bob.connectTree("share")
        share = smb3structs.FILE_SHARE_READ | smb3structs.FILE_SHARE_WRITE
        for name in ("plain.txt", "owned.txt"):
            for right in (WRITE_DAC, WRITE_OWNER):
                with self.assertRaises(smb3.SessionError) as raised:
                    bsmb.create(btid, name, right, share, 0, smb3structs.FILE_OPEN, 0)
                self.assertEqual(raised.exception.get_error_code(), STATUS_ACCESS_DENIED,
                                 (name, hex(right)))
        # The most bob may have is without them, so storing a descriptor is refused too.
        h = bsmb.create(btid, "owned.txt", MAXIMUM_ALLOWED, share, 0, smb3structs.FILE_OPEN, 0)
        with self.assertRaises(smb3.SessionError) as raised:
            bsmb.setInfo(btid, h, descriptor([]), infoType=3, fileInfoClass=0,
                         additionalInformation=DACL_SECURITY_INFORMATION)
        self.assertEqual(raised.exception.get_error_code(), STATUS_ACCESS_DENIED)
        bsmb.close(btid, h)
        bob.logoff()
        # The owner is unaffected: her file reads, and she still changes its DACL.
        self.assertEqual(get(alice, "owned.txt"), b"alice's")
        f = smb.create(tid, "owned.txt", READ_CONTROL | WRITE_DAC, smb3structs.FILE_SHARE_READ,
                       0, smb3structs.FILE_OPEN, 0)
        smb.setInfo(tid, f, descriptor([(0, 0, 0x001F01FF, sid(22, 1, 1000))]), infoType=3,
                    fileInfoClass=0, additionalInformation=DACL_SECURITY_INFORMATION)
        smb.close(tid, f)
        alice.deleteFile("share", "owned.txt")
        alice.deleteFile("share", "plain.txt")
        alice.logoff()


class RqLs:
    """An RqLs create context (MS-SMB2 2.2.13.2.8, version 1) for impacket's create()."""

    def __init__(self, key, state):
        self.key, self.state = key, state

    def getData(self):
        data = self.key + struct.pack("<IIQ", self.state, 0, 0)
        return struct.pack("<IHHHHI", 0, 16, 4, 0, 24, len(data)) + b"RqLs" + b"\0" * 4 + data


LEASE_R, LEASE_H, LEASE_W = 1, 2, 4


class LeaseTest(unittest.TestCase):
    def recv_lease_break(self, smb):
        """The next lease break notification: (flags, key, current state, new state)."""
        body = recv_break_body(self, smb)
        size, _, flags = struct.unpack("<HHI", body[:8])
        self.assertEqual(size, 44)
        current, new = struct.unpack("<II", body[24:32])
        return flags, body[8:24], current, new

    def ack(self, smb, tid, key, state):
        ack = smb3structs.SMB2Packet()
        ack["Command"] = smb3structs.SMB2_OPLOCK_BREAK
        ack["TreeID"] = tid
        ack["Data"] = struct.pack("<HHI", 36, 0, 0) + key + struct.pack("<IQ", state, 0)
        answer = smb.recvSMB(smb.sendSMB(ack))
        self.assertEqual(answer["Status"], 0)

    def test_nfs_write_breaks_a_lease(self):
        conn = connect(smb3structs.SMB2_DIALECT_21)  # 3.0 would encrypt the break (impacket)
        put(conn, "leased.txt", b"written over SMB")
        smb = conn.getSMBServer()
        tid = conn.connectTree("share")
        key = os.urandom(16)
        fid = smb.create(tid, "leased.txt",
                         smb3structs.FILE_READ_DATA | smb3structs.FILE_WRITE_DATA,
                         smb3structs.FILE_SHARE_READ | smb3structs.FILE_SHARE_WRITE, 0,
                         smb3structs.FILE_OPEN, 0, oplockLevel=0xFF,
                         createContexts=[RqLs(key, LEASE_R | LEASE_H | LEASE_W)])
        # A write over NFS: the read-handle-write lease (the client caches data and handles)
        # breaks to none, and the client must acknowledge.
        url = ("nfs://127.0.0.1/export/leased.txt?nfsport=%d&mountport=%d&version=3"
               "&uid=1000&gid=1000" % (gw.nfs_port, gw.mount_port))
        nfs = subprocess.Popen([NFS_OVERWRITE, url], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        nfs.stdin.write(b"WRITTEN OVER NFS")
        nfs.stdin.close()
        flags, broken_key, current, new = self.recv_lease_break(smb)
        self.assertEqual(flags, 1)  # acknowledgement required
        self.assertEqual(broken_key, key)
        self.assertEqual(current, LEASE_R | LEASE_H | LEASE_W)
        self.assertEqual(new, 0)
        self.ack(smb, tid, key, 0)
        self.assertEqual(nfs.wait(60), 0, nfs.stdout.read())
        self.assertEqual(smb.read(tid, fid, 0, 100), b"WRITTEN OVER NFS")
        smb.close(tid, fid)
        conn.logoff()

    def test_second_client_breaks_write_caching(self):
        conn = connect(smb3structs.SMB2_DIALECT_21)
        put(conn, "leased2.txt", b"first")
        smb = conn.getSMBServer()
        tid = conn.connectTree("share")
        key = os.urandom(16)
        fid = smb.create(tid, "leased2.txt", smb3structs.FILE_READ_DATA,
                         smb3structs.FILE_SHARE_READ | smb3structs.FILE_SHARE_WRITE, 0,
                         smb3structs.FILE_OPEN, 0, oplockLevel=0xFF,
                         createContexts=[RqLs(key, LEASE_R | LEASE_W)])
        # Another client opens the file: the lease loses write caching (RW -> R); the other
        # client's CREATE completes once the holder acknowledges.
        other = OpenFromAnotherClient("leased2.txt")
        flags, broken_key, current, new = self.recv_lease_break(smb)
        self.assertEqual((flags, broken_key, current, new), (1, key, LEASE_R | LEASE_W, LEASE_R))
        self.ack(smb, tid, key, LEASE_R)
        self.assertIsNotNone(other.join(30))
        other.close()
        smb.close(tid, fid)
        conn.logoff()


class DurableContext:
    """A DHnQ (request, 16 reserved bytes) or DHnC (reconnect: the file id) create context."""

    def __init__(self, name, data):
        self.name, self.data = name, data

    def getData(self):
        return struct.pack("<IHHHHI", 0, 16, 4, 0, 24, len(self.data)) + self.name + b"\0" * 4 \
            + self.data


class DurableTest(unittest.TestCase):
    def test_disconnect_during_a_break_closes_the_durable_handle(self):
        # A durable handle with a batch oplock; another client's open breaks the oplock, and the
        # holder's connection drops before it acknowledges. The handle is not kept for a
        # reconnect: the waiting open goes ahead at once (not after the 35 s break timeout), and
        # a reconnect finds nothing (as smbtorture's durable-open.open2-oplock expects).
        conn = connect(smb3structs.SMB2_DIALECT_21)
        smb = conn.getSMBServer()
        tid = conn.connectTree("share")
        fid = smb.create(tid, "durable-break.txt",
                         smb3structs.FILE_READ_DATA | smb3structs.FILE_WRITE_DATA,
                         smb3structs.FILE_SHARE_READ | smb3structs.FILE_SHARE_WRITE, 0,
                         smb3structs.FILE_OVERWRITE_IF, 0,
                         oplockLevel=smb3structs.SMB2_OPLOCK_LEVEL_BATCH,
                         createContexts=[DurableContext(b"DHnQ", b"\0" * 16)])
        other = OpenFromAnotherClient("durable-break.txt")
        body = recv_break_body(self, smb)
        self.assertEqual(body[8:24], fid)
        smb._NetBIOSSession.close()  # gone without acknowledging
        self.assertIsNotNone(other.join(30), "the open waited for a break nobody can acknowledge")
        third = connect(smb3structs.SMB2_DIALECT_21)
        tsmb = third.getSMBServer()
        ttid = third.connectTree("share")
        with self.assertRaises(smb3.SessionError) as e:  # the raw layer's error type
            tsmb.create(ttid, "durable-break.txt", smb3structs.FILE_READ_DATA,
                        smb3structs.FILE_SHARE_READ | smb3structs.FILE_SHARE_WRITE, 0,
                        smb3structs.FILE_OPEN, 0,
                        createContexts=[DurableContext(b"DHnC", fid)])
        self.assertEqual(e.exception.get_error_code(), STATUS_OBJECT_NAME_NOT_FOUND)
        other.close()
        third.logoff()


class BadInputTest(unittest.TestCase):
    def assert_still_serving(self):
        conn = connect(smb3structs.SMB2_DIALECT_21)
        put(conn, "alive.txt", b"alive")
        self.assertEqual(get(conn, "alive.txt"), b"alive")
        conn.logoff()

    def raw(self):
        return socket.create_connection(("127.0.0.1", gw.port), timeout=10)

    def test_garbage_closes_the_connection(self):
        with self.raw() as s:
            s.sendall(frame(b"GET / HTTP/1.1\r\n\r\n"))
            self.assertTrue(closed_by_server(s))
        self.assert_still_serving()

    def test_truncated_header_closes_the_connection(self):
        with self.raw() as s:
            s.sendall(frame(b"\xfeSMB" + b"\0" * 20))
            self.assertTrue(closed_by_server(s))
        self.assert_still_serving()

    def test_oversized_frame_closes_the_connection(self):
        with self.raw() as s:
            s.sendall(struct.pack(">I", 0x00FFFFFF) + b"\xfeSMB" + b"\0" * 60)
            self.assertTrue(closed_by_server(s))
        self.assert_still_serving()

    def test_truncated_frame_then_close_is_harmless(self):
        with self.raw() as s:
            s.sendall(struct.pack(">I", 1000) + b"\xfeSMB" + b"\0" * 30)
        self.assert_still_serving()

    def test_negotiate_then_unknown_command(self):
        with self.raw() as s:
            s.sendall(raw_negotiate(s))
            reply = recv_message(s)
            self.assertIsNotNone(reply)
            self.assertEqual(reply[:4], b"\xfeSMB")
            status, = struct.unpack_from("<I", reply, 8)
            self.assertEqual(status, 0)
            dialect, = struct.unpack_from("<H", reply, 64 + 4)
            self.assertEqual(dialect, 0x0210)
            header = struct.pack("<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, 0, 0, 0x77, 1, 0, 0, 1,
                                 0, 0, 0, b"\0" * 16)
            s.sendall(frame(header + struct.pack("<HH", 4, 0)))
            reply = recv_message(s)
            self.assertIsNotNone(reply)
            status, = struct.unpack_from("<I", reply, 8)
            self.assertNotEqual(status, 0)  # an error status, not a crash or a hang
        self.assert_still_serving()

    def test_message_id_outside_the_credit_window_closes(self):
        with self.raw() as s:
            s.sendall(raw_negotiate(s))
            self.assertIsNotNone(recv_message(s))
            header = struct.pack("<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, 0, 0, 0x0D, 1, 0, 0,
                                 100000, 0, 0, 0, b"\0" * 16)
            s.sendall(frame(header + struct.pack("<HH", 4, 0)))
            self.assertTrue(closed_by_server(s))
        self.assert_still_serving()

    def test_reused_message_id_closes(self):
        with self.raw() as s:
            s.sendall(raw_negotiate(s))
            self.assertIsNotNone(recv_message(s))
            s.sendall(raw_negotiate(s, message_id=0))
            self.assertTrue(closed_by_server(s))
        self.assert_still_serving()

    def test_smb1_other_than_negotiate_closes(self):
        with self.raw() as s:
            s.sendall(frame(b"\xffSMB" + bytes([0x25]) + b"\0" * 40))
            self.assertTrue(closed_by_server(s))
        self.assert_still_serving()

    def test_wrong_password(self):
        with self.assertRaises(SessionError) as e:
            connect(smb3structs.SMB2_DIALECT_30, password="wrong")
        self.assertEqual(e.exception.getErrorCode(), STATUS_LOGON_FAILURE)
        with self.assertRaises(SessionError) as e:
            connect(smb3structs.SMB2_DIALECT_30, user="nobody-here")
        self.assertEqual(e.exception.getErrorCode(), STATUS_LOGON_FAILURE)
        self.assert_still_serving()

    def test_wrong_signature_is_refused(self):
        conn = connect(smb3structs.SMB2_DIALECT_21)
        smb = conn.getSMBServer()
        smb._Connection["RequireSigning"] = True
        smb._Session["SigningRequired"] = True
        smb._Session["SigningActivated"] = True
        smb._Session["SessionKey"] = b"\x01" * 16  # 2.1 signs with it: not the session's key
        smb._Session["SigningKey"] = b"\x01" * 16
        with self.assertRaises(Exception):
            conn.listPath("share", "*")
        self.assert_still_serving()


if __name__ == "__main__":
    GATEWAY = os.path.realpath(sys.argv.pop(1))
    NFS_OVERWRITE = os.path.realpath(sys.argv.pop(1))
    unittest.main(verbosity=2)
