"""The admin port of the cfs-gateway binary, probed like Prometheus and Kubernetes would.

- /healthz answers 200 and /readyz 200 with every check listed; other paths 404, POST 405.
- /metrics parses as Prometheus text (python3-prometheus-client's own parser), and its
  counters move with real traffic: libnfs's nfs-cp, boto3 and smbclient, successes and errors
  (NFS3ERR_NOENT, NoSuchKey, STATUS_OBJECT_NAME_NOT_FOUND), bytes in and out, latency
  histograms, open connections and the attribute cache.
Usage: metrics_test.py <cfs-gateway>
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import boto3
import botocore
from botocore.config import Config
from prometheus_client.parser import text_string_to_metric_families

GATEWAY = sys.argv[1]
KEY, SECRET = "admin", "admin-secret-123"


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    samples = {}
    types = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="cfs-metrics-", dir=os.environ.get("TEST_TMPDIR"))
        cls.log = os.path.join(cls.work, "gateway.log")
        env = dict(os.environ, CFS_ROOT_USER=KEY, CFS_ROOT_PASSWORD=SECRET)
        cls.gateway = subprocess.Popen(
            [GATEWAY, "--data_dir=%s/data" % cls.work, "--bind_address=127.0.0.1",
             "--nfs_port=0", "--mount_port=0", "--s3_port=0", "--smb_port=0",
             "--portmapper_port=0", "--metrics_port=0", "--control_port=0"],
            stdout=subprocess.DEVNULL, stderr=open(cls.log, "w"), env=env)
        for _ in range(300):
            text = open(cls.log).read()
            if "ready;" in text:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("gateway did not start:\n" + text)
        cls.ports = {name: int(re.search(name + r" listening on 127\.0\.0\.1:(\d+)", text).group(1))
                     for name in ("nfs", "mount", "s3", "smb", "admin")}
        cls.s3 = boto3.client(
            "s3", endpoint_url="http://127.0.0.1:%d" % cls.ports["s3"], aws_access_key_id=KEY,
            aws_secret_access_key=SECRET, region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}))

    @classmethod
    def tearDownClass(cls):
        cls.gateway.kill()
        cls.gateway.wait()
        if not os.environ.get("CFS_KEEP_WORK"):
            shutil.rmtree(cls.work, ignore_errors=True)

    def get(self, path, method="GET"):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.ports["admin"], path),
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def nfs_url(self, path):
        return ("nfs://127.0.0.1/export/%s?nfsport=%d&mountport=%d&version=3&uid=0&gid=0" %
                (path, self.ports["nfs"], self.ports["mount"]))

    def test_health_and_readiness(self):
        self.assertEqual(self.get("/healthz"), (200, "ok\n"))
        status, body = self.get("/readyz")
        self.assertEqual(status, 200, body)
        self.assertTrue(body.startswith("ready\n"), body)
        for check in ("listeners: ok", "draining: ok", "backend: ok"):
            self.assertIn(check, body)
        self.assertEqual(self.get("/nope")[0], 404)
        self.assertEqual(self.get("/metrics", method="POST")[0], 405)

    def test_counters_move_with_nfs_s3_and_smb_traffic(self):
        before, types = scrape(self.ports["admin"])
        self.assertEqual(types["cfs_gateway_protocol_requests"], "counter")
        self.assertEqual(types["cfs_gateway_protocol_request_duration_seconds"], "histogram")

        # NFS: a write, a read, and a lookup of a name that is not there.
        src = os.path.join(self.work, "in.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(300000))
        subprocess.run(["nfs-cp", src, self.nfs_url("m.bin")], check=True, timeout=60)
        subprocess.run(["nfs-cp", self.nfs_url("m.bin"), os.path.join(self.work, "out.bin")],
                       check=True, timeout=60)
        subprocess.run(["nfs-cp", self.nfs_url("missing.bin"), os.path.join(self.work, "x")],
                       timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # S3: a bucket, a put, a get, and a get of a key that is not there.
        self.s3.create_bucket(Bucket="metrics")
        self.s3.put_object(Bucket="metrics", Key="k", Body=b"x" * 5000)
        self.assertEqual(len(self.s3.get_object(Bucket="metrics", Key="k")["Body"].read()), 5000)
        with self.assertRaises(botocore.exceptions.ClientError):
            self.s3.get_object(Bucket="metrics", Key="absent")
        # SMB: a put, a get, and a get of a file that is not there.
        smb = ["smbclient", "//127.0.0.1/share", "-p", str(self.ports["smb"]),
               "-U", "%s%%%s" % (KEY, SECRET), "-m", "SMB3"]
        subprocess.run(smb + ["-c", "put %s s.bin; get s.bin %s/s.out; get nothere %s/n" %
                              (src, self.work, self.work)],
                       timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.assertTrue(os.path.exists(os.path.join(self.work, "s.out")), "smbclient get failed")

        after, _ = scrape(self.ports["admin"])
        moved = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)
        requests = "cfs_gateway_protocol_requests_total"
        errors = "cfs_gateway_protocol_errors_total"
        for protocol, op in [("nfs", "WRITE"), ("nfs", "READ"), ("nfs", "LOOKUP"),
                             ("mount", "MNT"), ("s3", "CreateBucket"), ("s3", "PutObject"),
                             ("s3", "GetObject"), ("smb", "NEGOTIATE"), ("smb", "SESSION_SETUP"),
                             ("smb", "CREATE"), ("smb", "WRITE"), ("smb", "READ")]:
            self.assertGreater(moved(requests, protocol=protocol, op=op), 0, (protocol, op))
        self.assertGreaterEqual(moved(errors, protocol="nfs", op="LOOKUP", code="NFS3ERR_NOENT"), 1)
        self.assertEqual(moved(errors, protocol="s3", op="GetObject", code="NoSuchKey"), 1)
        self.assertGreaterEqual(
            moved(errors, protocol="smb", op="CREATE", code="STATUS_OBJECT_NAME_NOT_FOUND"), 1)
        self.assertEqual(moved(errors, protocol="s3", op="PutObject", code="NoSuchKey"), 0)
        # Bytes: at least the payloads that went each way.
        self.assertGreaterEqual(moved("cfs_gateway_protocol_received_bytes_total", protocol="nfs"),
                                300000)
        self.assertGreaterEqual(moved("cfs_gateway_protocol_sent_bytes_total", protocol="nfs"),
                                300000)
        self.assertGreaterEqual(moved("cfs_gateway_protocol_received_bytes_total", protocol="s3"),
                                5000)
        self.assertGreaterEqual(moved("cfs_gateway_protocol_sent_bytes_total", protocol="smb"),
                                300000)
        # Latency histograms count every request once.
        hist = "cfs_gateway_protocol_request_duration_seconds"
        self.assertEqual(value(after, hist + "_count", protocol="s3", op="PutObject"),
                         value(after, requests, protocol="s3", op="PutObject"))
        self.assertEqual(value(after, hist + "_bucket", protocol="s3", op="PutObject", le="+Inf"),
                         value(after, hist + "_count", protocol="s3", op="PutObject"))
        # Gauges and the attribute cache are there.
        for protocol in ("nfs", "mount", "s3", "smb"):
            self.assertIn(("cfs_gateway_protocol_connections", (("protocol", protocol),)), after)
        self.assertGreater(value(after, "cfs_gateway_attribute_cache_hits_total") +
                           value(after, "cfs_gateway_attribute_cache_misses_total"), 0)
        ratio = value(after, "cfs_gateway_attribute_cache_hit_ratio")
        self.assertTrue(0 <= ratio <= 1, ratio)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
