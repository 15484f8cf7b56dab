"""Fault tests of the remote backend with independent clients (boto3, libnfs's nfs-cp).

A 3-node cfs-node cluster (child processes, 64 KiB stripes so small files live on one node)
behind the cfs-gateway binary, with the circuit breaker's open time cut to 3 s:
- one data node is killed (-9) during a sustained S3 write/read load: requests that need it
  fail with 503 SlowDown (NFS: an error, never a hang) once its circuit opens, files on the other
  nodes keep being served over S3 and NFS, every upload acknowledged with 200 reads back intact;
- the node comes back on its port: the circuit half-opens, closes, and all files are served;
- a node that answers slowly (injected delay beyond the 5 s backend timeout) fails requests with
  503 instead of holding them.
Usage: remote_fault_test.py <cfs-gateway> <cfs-node> [a4 transport: tcp-uring | libfabric:<p>]
With libfabric:<provider> the nodes also serve libfabric with that provider and the gateway
reaches them over it.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import boto3
import botocore
from botocore.config import Config
from prometheus_client.parser import text_string_to_metric_families

GATEWAY, NODE = sys.argv[1], sys.argv[2]
TRANSPORT = sys.argv[3] if len(sys.argv) > 3 else "tcp-uring"
FABRIC = TRANSPORT[len("libfabric:"):] if TRANSPORT.startswith("libfabric:") else None
KEY, SECRET = "admin", "admin-secret-123"
STRIPE = 65536
BUCKET = "faults"
EXTRA_GATEWAY_FLAGS = []


class Cluster:
    def __init__(self, work):
        self.work = work
        self.procs = {}
        self.ports = {}
        self.fabric_ports = {}
        self.metadata = None

    def served(self, i):
        """Node i's A4 address as the gateway names it (breaker names, logs)."""
        return "127.0.0.1:%d" % (self.fabric_ports[i] if FABRIC else self.ports[i])

    def start_node(self, i, port=0, extra=()):
        """Starts node i; port=None restarts it on the ports it had."""
        fport = 0
        if port is None:
            port, fport = self.ports[i], self.fabric_ports.get(i, 0)
        if FABRIC:
            extra = ["--fabric_port=%d" % fport, "--fabric_provider=" + FABRIC] + list(extra)
        out = os.path.join(self.work, "node%d.out" % i)
        with open(out, "w"):
            pass
        self.procs[i] = subprocess.Popen(
            [NODE, "--data_dir=%s/node%d" % (self.work, i), "--a4_port=%d" % port,
             "--stripe_size=%d" % STRIPE] + list(extra),
            stdout=open(out, "a"), stderr=open(os.path.join(self.work, "node%d.log" % i), "a"))
        for _ in range(200):
            text = open(out).read()
            m = re.search(r"^a4 127\.0\.0\.1:(\d+)$", text, re.M)
            f = re.search(r"^fabric 127\.0\.0\.1:(\d+)$", text, re.M)
            if m and (f or not FABRIC):
                self.ports[i] = int(m.group(1))
                if f:
                    self.fabric_ports[i] = int(f.group(1))
                return text
            time.sleep(0.05)
        raise RuntimeError("node %d did not start" % i)

    def start(self):
        self.start_node(1)
        self.start_node(2)
        layout = ["--data_servers=self,127.0.0.1:%d,127.0.0.1:%d" % (self.ports[1], self.ports[2])]
        if FABRIC:
            layout.append("--fabric_servers=self,127.0.0.1:%d,127.0.0.1:%d" %
                          (self.fabric_ports[1], self.fabric_ports[2]))
        text = self.start_node(0, extra=["--metadata", "--a2_port=0"] + layout)
        for _ in range(200):
            m = re.search(r"^a2 (\S+)$", open(os.path.join(self.work, "node0.out")).read(), re.M)
            if m:
                self.metadata = m.group(1)
                return
            time.sleep(0.05)
        raise RuntimeError("metadata node did not start")

    def kill(self, i):
        self.procs[i].kill()
        self.procs[i].wait()

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()


class RemoteFaultTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="cfs-fault-", dir=os.environ.get("TEST_TMPDIR"))
        self.cluster = Cluster(self.work)
        self.gateway = None
        self.addCleanup(self.cleanup)
        self.cluster.start()
        self.log = os.path.join(self.work, "gateway.log")
        env = dict(os.environ, CFS_ROOT_USER=KEY, CFS_ROOT_PASSWORD=SECRET)
        self.gateway = subprocess.Popen(
            [GATEWAY, "--data_dir=%s/gw" % self.work, "--remote_metadata=" + self.cluster.metadata,
             "--bind_address=127.0.0.1", "--nfs_port=0", "--mount_port=0", "--s3_port=0",
             "--smb_port=0", "--portmapper_port=0", "--control_port=0", "--metrics_port=0",
             "--protocols=nfs,s3", "--breaker_open_seconds=3", "--a4_transport=" + TRANSPORT]
            + EXTRA_GATEWAY_FLAGS,
            stdout=subprocess.DEVNULL, stderr=open(self.log, "w"), env=env)
        for _ in range(300):
            text = open(self.log).read()
            if "ready;" in text:
                break
            time.sleep(0.1)
        else:
            self.fail("gateway did not start:\n" + text)
        self.ports = {name: int(re.search(name + r" listening on 127\.0\.0\.1:(\d+)", text).group(1))
                      for name in ("nfs", "mount", "s3", "admin")}
        self.s3 = boto3.client(
            "s3", endpoint_url="http://127.0.0.1:%d" % self.ports["s3"], aws_access_key_id=KEY,
            aws_secret_access_key=SECRET, region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}, read_timeout=60, connect_timeout=5))
        self.s3.create_bucket(Bucket=BUCKET)

    def cleanup(self):
        if self.gateway is not None and self.gateway.poll() is None:
            self.gateway.kill()
            self.gateway.wait()
        self.cluster.stop()
        if not os.environ.get("CFS_KEEP_WORK"):
            shutil.rmtree(self.work, ignore_errors=True)

    def admin(self, path):
        """(status, body) of a GET on the gateway's admin port."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.ports["admin"], path),
                                        timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def breaker_state(self, node):
        """The node's cfs_gateway_backend_breaker_state from /metrics (0 closed, 2 open)."""
        _, text = self.admin("/metrics")
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if (s.name == "cfs_gateway_backend_breaker_state" and
                        s.labels.get("breaker") == "a4:" + self.cluster.served(node)):
                    return s.value
        return None

    def gateway_log(self):
        return open(self.log).read()

    def get(self, key):
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def status_of(self, fn):
        try:
            fn()
            return 200
        except botocore.exceptions.ClientError as e:
            return e.response["ResponseMetadata"]["HTTPStatusCode"]

    def nfs_copy_out(self, name, dest):
        url = "nfs://127.0.0.1/export/" + BUCKET + "/%s?nfsport=%d&mountport=%d&version=3&uid=0&gid=0" % (
            name, self.ports["nfs"], self.ports["mount"])
        try:
            return subprocess.run(["nfs-cp", url, dest], capture_output=True,
                                  timeout=30).returncode == 0
        except subprocess.TimeoutExpired:
            self.fail("nfs-cp hung on a failed node")

    def test_a_killed_data_node_fails_fast_others_serve_and_nothing_acknowledged_is_lost(self):
        # Small objects (one stripe each) spread over the three nodes.
        written = {}
        for i in range(24):
            body = os.urandom(20000 + i)
            self.s3.put_object(Bucket=BUCKET, Key="small-%d" % i, Body=body)
            written["small-%d" % i] = body

        # Sustained load while a data node dies: new uploads and reads of old ones.
        stop = threading.Event()
        load = {"ok": 0, "failed": 0}
        acked = {}

        def loader():
            n = 0
            while not stop.is_set():
                key = "load-%d" % n
                body = os.urandom(4096 + n % 100)
                status = self.status_of(lambda: self.s3.put_object(Bucket=BUCKET, Key=key, Body=body))
                if status == 200:
                    acked[key] = body
                    load["ok"] += 1
                else:
                    self.assertEqual(status, 503)
                    load["failed"] += 1
                n += 1

        thread = threading.Thread(target=loader)
        thread.start()
        time.sleep(1)
        self.cluster.kill(2)
        time.sleep(2)

        # Reads: files on the live nodes are served, those on the dead one get 503.
        served, refused = 0, 0
        for key, body in written.items():
            try:
                self.assertEqual(self.get(key), body)
                served += 1
            except botocore.exceptions.ClientError as e:
                self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 503)
                self.assertEqual(e.response["Error"]["Code"], "SlowDown")
                refused += 1
        self.assertGreater(served, 0)
        self.assertGreater(refused, 0)
        self.assertIn("circuit open for a4:" + self.cluster.served(2),
                      self.gateway_log())
        # Metrics and readiness show it: the breaker's state is open (2), /readyz fails on it.
        self.assertEqual(self.breaker_state(2), 2)
        self.assertEqual(self.breaker_state(1), 0)
        status, body = self.admin("/readyz")
        self.assertEqual(status, 503, body)
        self.assertIn("node a4:%s: circuit open" % self.cluster.served(2), body)
        # NFS reads through the same gateway: live-node files copy out, dead-node ones fail
        # (an error, not a hang).
        nfs_ok = sum(self.nfs_copy_out(k, os.path.join(self.work, "nfs-" + k)) for k in
                     list(written)[:6])
        self.assertGreater(nfs_ok, 0)

        # The node comes back on its port: its circuit half-opens and closes.
        self.cluster.start_node(2, port=None)
        time.sleep(4)  # the open time (3 s) passes
        deadline = time.time() + 30
        while "circuit closed for a4:" + self.cluster.served(2) not in self.gateway_log():
            self.assertLess(time.time(), deadline, "the circuit never closed")
            self.status_of(lambda: self.get("small-0"))
            self.status_of(lambda: self.get("small-1"))
            self.status_of(lambda: self.get("small-2"))
            time.sleep(0.2)
        time.sleep(1)
        stop.set()
        thread.join()
        self.assertGreater(load["ok"], 0)
        self.assertEqual(self.breaker_state(2), 0)
        status, body = self.admin("/readyz")
        self.assertEqual(status, 200, body)

        # Nothing acknowledged was lost: every file reads back intact.
        for key, body in list(written.items()) + list(acked.items()):
            self.assertEqual(self.get(key), body, key)

    def test_a_slow_node_trips_the_backend_timeout(self):
        written = {}
        for i in range(12):
            body = os.urandom(10000 + i)
            self.s3.put_object(Bucket=BUCKET, Key="s-%d" % i, Body=body)
            written["s-%d" % i] = body
        self.cluster.kill(1)
        self.cluster.start_node(1, port=None, extra=["--inject_delay_ms=7000"])
        statuses = [self.status_of(lambda k=k: self.get(k)) for k in written]
        self.assertIn(503, statuses)  # the slow node's files: the 5 s timeout, then SlowDown
        self.assertIn(200, statuses)  # the other nodes' files
        # Timeouts count as the node's failures: its circuit opens like a dead node's.
        self.assertIn("circuit open for a4:" + self.cluster.served(1),
                      self.gateway_log())


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
