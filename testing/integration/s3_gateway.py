"""Starts the cfs-gateway binary on 127.0.0.1 with kernel-picked ports for S3 integration tests.

Used by the boto3 and aws CLI tests; the gateway runs as a child process with a root user whose
S3 key is ADMIN_KEY/ADMIN_SECRET, so tests drive it with independent clients.
"""
import os
import re
import signal
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TLS_CERT = os.path.join(HERE, "testdata", "tls_cert.pem")  # self-signed for 127.0.0.1
TLS_KEY = os.path.join(HERE, "testdata", "tls_key.pem")
ADMIN_KEY = "admin"
ADMIN_SECRET = "admin-secret-123"
# A second user whose uid (1000) NFS clients also use: shows POSIX ownership across protocols.
ALICE_KEY = "alice"
ALICE_SECRET = "alice-secret-456"
CONFIG = """
users { name: "alice" uid: 1000 gid: 1000 s3_keys { access_key_id: "%s" secret: "%s" } }
""" % (ALICE_KEY, ALICE_SECRET)


class Gateway:
    """`config` is added to the config file (exports, more users); `protocols` are served."""

    def __init__(self, binary, data_dir=None, config="", protocols="nfs,s3", args=()):
        self.binary = binary
        self.args = list(args)
        self.extra_config = config
        self.protocols = protocols
        self.work = tempfile.mkdtemp(prefix="cfs-s3-", dir=os.environ.get("TEST_TMPDIR"))
        self.data_dir = data_dir or os.path.join(self.work, "data")
        self.proc = None
        self.ports = {}

    def start(self):
        self.log_path = os.path.join(self.work, "log")
        env = dict(os.environ, CFS_ROOT_USER=ADMIN_KEY, CFS_ROOT_PASSWORD=ADMIN_SECRET)
        log = open(self.log_path, "w")
        config = os.path.join(self.work, "gateway.conf")
        with open(config, "w") as f:
            f.write(CONFIG + self.extra_config)
        self.proc = subprocess.Popen(
            [self.binary, "--config=" + config, "--data_dir=" + self.data_dir, "--bind_address=127.0.0.1",
             "--nfs_port=0", "--mount_port=0", "--s3_port=0", "--smb_port=0", "--portmapper_port=0", "--metrics_port=0", "--control_port=0",
             "--protocols=" + self.protocols, "--s3_base_domain=s3.test", "--s3_tls_port=0", "--tls_cert_file=" + TLS_CERT,
             "--tls_key_file=" + TLS_KEY] + self.args, stderr=log, env=env)
        for _ in range(300):
            text = self.log()
            if "ready;" in text:
                break
            if self.proc.poll() is not None:
                raise RuntimeError("gateway exited:\n" + text)
            time.sleep(0.1)
        else:
            raise RuntimeError("gateway did not start:\n" + self.log())
        for name in ("nfs", "mount", "s3", "s3-https", "smb"):
            m = re.search(name + r" listening on 127\.0\.0\.1:(\d+)", text)
            if m:
                self.ports[name] = int(m.group(1))
        self.endpoint = "http://127.0.0.1:%d" % self.ports["s3"]
        self.tls_endpoint = "https://127.0.0.1:%d" % self.ports["s3-https"]
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=60)
            self.proc = None

    def log(self):
        with open(self.log_path) as f:
            return f.read()


def s3_client(gateway, key, secret, **config):
    """A boto3 S3 client for `gateway` (path style, no retries); `config` adds botocore
    Config fields (signature_version, read_timeout...)."""
    import boto3
    from botocore.config import Config
    return boto3.client(
        "s3", endpoint_url=gateway.endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config))


def code_of(error):
    return error.response["Error"]["Code"]


def status_of(error):
    return error.response["ResponseMetadata"]["HTTPStatusCode"]
