"""Quotas through independent clients against the cfs-gateway binary.

- S3 (boto3): a bucket's hard limit refuses the PUT that would pass it with 403 QuotaExceeded
  (before its body is read), deleting makes room, and eight uploaders racing for the last bytes
  never pass the limit together.
- SMB (smbclient): a user's hard limit gives NT_STATUS_DISK_FULL; passing the soft limit logs a
  warning and shows in the metrics.
- /metrics (python3-prometheus-client's parser): usage, limits, soft-exceeded and refusals.
- kill -9 and a restart: usage is counted again from the namespace and agrees.
Usage: quota_test.py <cfs-gateway>
"""
import concurrent.futures
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import boto3
import botocore
from botocore.config import Config
from prometheus_client.parser import text_string_to_metric_families

GATEWAY = sys.argv[1]
ADMIN, ADMIN_SECRET = "admin", "admin-secret-123"
USERS = """
users { name: "alice" uid: 1000 gid: 1000 smb_password: "Passw0rd!"
        s3_keys { access_key_id: "alice" secret: "alice-secret-456" } }
users { name: "carol" uid: 1001 gid: 1001
        s3_keys { access_key_id: "carol" secret: "carol-secret-789" } }
"""
QUOTAS = """
quotas { kind: "user" subject: "1000" soft_bytes: 300000 hard_bytes: 1000000 }
quotas { kind: "bucket" subject: "capped" hard_bytes: 400000 }
quotas { kind: "bucket" subject: "racing" hard_bytes: 500000 }
"""


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        text = r.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


class QuotaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="cfs-quota-", dir=os.environ.get("TEST_TMPDIR"))
        cls.proc = None
        # Bucket quotas name existing buckets: make them first, then restart with the quotas.
        cls.start(USERS)
        carol = cls.s3_client("carol", "carol-secret-789")
        for bucket in ("capped", "racing"):
            carol.create_bucket(Bucket=bucket)
        cls.stop()
        cls.start(USERS + QUOTAS)

    @classmethod
    def tearDownClass(cls):
        cls.stop(signal.SIGKILL)
        if not os.environ.get("CFS_KEEP_WORK"):
            shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def start(cls, config_text):
        config = os.path.join(cls.work, "gateway.conf")
        with open(config, "w") as f:
            f.write(config_text)
        cls.log_path = os.path.join(cls.work, "gateway.log")
        env = dict(os.environ, CFS_ROOT_USER=ADMIN, CFS_ROOT_PASSWORD=ADMIN_SECRET)
        cls.proc = subprocess.Popen(
            [GATEWAY, "--config=" + config, "--data_dir=%s/data" % cls.work,
             "--bind_address=127.0.0.1", "--nfs_port=0", "--mount_port=0", "--s3_port=0",
             "--smb_port=0", "--portmapper_port=0", "--metrics_port=0", "--control_port=0"],
            stdout=subprocess.DEVNULL, stderr=open(cls.log_path, "w"), env=env)
        for _ in range(300):
            text = open(cls.log_path).read()
            if "ready;" in text:
                break
            if cls.proc.poll() is not None:
                raise RuntimeError("gateway exited:\n" + text)
            time.sleep(0.1)
        else:
            raise RuntimeError("gateway did not start:\n" + text)
        cls.ports = {name: int(re.search(name + r" listening on 127\.0\.0\.1:(\d+)", text).group(1))
                     for name in ("s3", "smb", "admin")}

    @classmethod
    def stop(cls, sig=signal.SIGTERM):
        if cls.proc is not None:
            cls.proc.send_signal(sig)
            cls.proc.wait(timeout=60)
            cls.proc = None

    @classmethod
    def s3_client(cls, key, secret):
        return boto3.client(
            "s3", endpoint_url="http://127.0.0.1:%d" % cls.ports["s3"], aws_access_key_id=key,
            aws_secret_access_key=secret, region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}, max_pool_connections=16))

    def carol(self):
        return self.s3_client("carol", "carol-secret-789")

    def smb(self, *commands):
        return subprocess.run(
            ["smbclient", "//127.0.0.1/share", "-p", str(self.ports["smb"]), "-U",
             "alice%Passw0rd!", "-m", "SMB3", "-c", "; ".join(commands)],
            cwd=self.work, capture_output=True, text=True, timeout=120)

    def bucket_bytes(self, bucket):
        listed = self.carol().list_objects_v2(Bucket=bucket).get("Contents", [])
        return sum(o["Size"] for o in listed)

    def test_1_s3_bucket_hard_limit(self):
        s3 = self.carol()
        s3.put_object(Bucket="capped", Key="a", Body=b"a" * 300000)
        with self.assertRaises(botocore.exceptions.ClientError) as refused:
            s3.put_object(Bucket="capped", Key="b", Body=b"b" * 200000)
        self.assertEqual(refused.exception.response["Error"]["Code"], "QuotaExceeded")
        self.assertEqual(refused.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        with self.assertRaises(botocore.exceptions.ClientError):
            s3.head_object(Bucket="capped", Key="b")  # nothing of it is visible
        s3.put_object(Bucket="capped", Key="c", Body=b"c" * 100000)  # exactly at the limit
        # Full, an overwrite that does not grow the object still fits; one that grows does not.
        s3.put_object(Bucket="capped", Key="c", Body=b"C" * 100000)
        self.assertEqual(s3.get_object(Bucket="capped", Key="c")["Body"].read(), b"C" * 100000)
        with self.assertRaises(botocore.exceptions.ClientError) as grown:
            s3.put_object(Bucket="capped", Key="c", Body=b"G" * 100001)
        self.assertEqual(grown.exception.response["Error"]["Code"], "QuotaExceeded")
        s3.delete_object(Bucket="capped", Key="a")
        s3.put_object(Bucket="capped", Key="d", Body=b"d" * 250000)
        self.assertEqual(self.bucket_bytes("capped"), 350000)

    def test_2_concurrent_uploaders_never_pass_the_bucket_limit(self):
        s3 = self.carol()

        def upload(i):
            try:
                s3.put_object(Bucket="racing", Key="obj%02d" % i, Body=os.urandom(100000))
                return "ok"
            except botocore.exceptions.ClientError as e:
                return e.response["Error"]["Code"]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(upload, range(16)))
        self.assertEqual(results.count("ok"), 5, results)
        self.assertEqual(results.count("QuotaExceeded"), 11, results)
        self.assertEqual(self.bucket_bytes("racing"), 500000)

    def test_3_smb_user_limits(self):
        with open(os.path.join(self.work, "small"), "wb") as f:
            f.write(os.urandom(400000))
        with open(os.path.join(self.work, "big"), "wb") as f:
            f.write(os.urandom(700000))
        r = self.smb("put small alice-small")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(self.log_path) as log:
            self.assertRegex(log.read(), r"user 1000 passed its soft limit of 300000 bytes")
        r = self.smb("put big alice-big")
        self.assertIn("NT_STATUS_DISK_FULL", r.stdout + r.stderr)
        samples = scrape(self.ports["admin"])
        self.assertEqual(value(samples, "cfs_gateway_quota_soft_exceeded", kind="user",
                               subject="1000"), 1)

    def test_4_metrics_report_usage_limits_and_refusals(self):
        samples = scrape(self.ports["admin"])
        self.assertEqual(value(samples, "cfs_gateway_quota_usage_bytes", kind="bucket",
                               subject="capped"), self.bucket_bytes("capped"))
        self.assertEqual(value(samples, "cfs_gateway_quota_usage_bytes", kind="bucket",
                               subject="racing"), 500000)
        self.assertEqual(value(samples, "cfs_gateway_quota_limit_bytes", kind="bucket",
                               subject="racing", limit="hard"), 500000)
        self.assertEqual(value(samples, "cfs_gateway_quota_limit_bytes", kind="user",
                               subject="1000", limit="soft"), 300000)
        self.assertGreaterEqual(value(samples, "cfs_gateway_quota_refusals_total"), 13)
        self.assertGreaterEqual(value(samples, "cfs_gateway_quota_soft_crossings_total"), 1)
        self.assertGreaterEqual(
            value(samples, "cfs_gateway_protocol_errors_total", protocol="s3", op="PutObject",
                  code="QuotaExceeded"), 12)

    def test_5_usage_is_recounted_after_kill_9(self):
        before = scrape(self.ports["admin"])
        names = [("user", "1000"), ("bucket", "capped"), ("bucket", "racing")]
        self.stop(signal.SIGKILL)
        self.start(USERS + QUOTAS)
        after = scrape(self.ports["admin"])
        for kind, subject in names:
            for metric in ("cfs_gateway_quota_usage_bytes", "cfs_gateway_quota_usage_inodes"):
                self.assertEqual(value(after, metric, kind=kind, subject=subject),
                                 value(before, metric, kind=kind, subject=subject),
                                 (metric, kind, subject))
        # And the limits still hold.
        with self.assertRaises(botocore.exceptions.ClientError) as refused:
            self.carol().put_object(Bucket="racing", Key="more", Body=b"m")
        self.assertEqual(refused.exception.response["Error"]["Code"], "QuotaExceeded")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
