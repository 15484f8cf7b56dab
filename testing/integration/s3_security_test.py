"""The security rules S3 shares with NFS and SMB, through independent clients (boto3, curl,
raw signed HTTP, libnfs's nfs-ls/nfs-cp/nfs-cat, smbclient), against the cfs-gateway binary:

- a presigned URL carries no unsigned x-amz-* header (curl on a boto3-presigned URL);
- S3's staging of bodies in flight is not reachable over NFS or SMB, by any uid;
- one export policy: client address rules, read-only and squashing apply to S3 as to NFS;
- buckets and objects made over S3 admit only their owner unless their ACL says more, and
  what GetBucketAcl reports is what NFS enforces; ListBuckets lists the caller's buckets;
- a sub-resource the gateway does not serve is refused before it changes anything;
- HEAD needs read permission;
- details ceph/s3-tests checks (conditional deletes, whitespace in XML, copy ranges, bucket
  names, listing parameters, tag limits).
"""
import hashlib
import http.client
import os
import shutil
import subprocess
import sys
import time
import unittest
import urllib.parse

import botocore
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3_gateway import (ADMIN_KEY, ADMIN_SECRET, ALICE_KEY, ALICE_SECRET, Gateway,  # noqa: E402
                        code_of, status_of)
from s3_gateway import s3_client as client  # noqa: E402

BINARY = None
BOB_KEY, BOB_SECRET = "bob", "bob-secret-789"
USERS = """
users { name: "bob" uid: 1001 gid: 1001 smb_password: "Bobs-Passw0rd"
        s3_keys { access_key_id: "%s" secret: "%s" } }
users { name: "carol" uid: 1002 gid: 1002 smb_password: "Carols-Passw0rd" }
""" % (BOB_KEY, BOB_SECRET)



def signed_request(gateway, method, target, body=b"", key=ALICE_KEY, secret=ALICE_SECRET):
    """Sends a SigV4-signed request for any method and target (sub-resources boto3 has no call
    for); returns (status, body)."""
    url = gateway.endpoint + target
    request = AWSRequest(method=method, url=url, data=body)
    request.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    S3SigV4Auth(Credentials(key, secret), "s3", "us-east-1").add_auth(request)
    prepared = request.prepare()
    parts = urllib.parse.urlsplit(prepared.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        path = parts.path + ("?" + parts.query if parts.query else "")
        conn.request(method, path, body=body, headers=dict(prepared.headers))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def nfs_url(gateway, path, uid):
    return ("nfs://127.0.0.1/export/%s?nfsport=%d&mountport=%d&version=3&uid=%d&gid=%d" %
            (path, gateway.ports["nfs"], gateway.ports["mount"], uid, uid))


def nfs(gateway, tool, path, uid, *extra):
    return subprocess.run([tool, nfs_url(gateway, path, uid), *extra], capture_output=True,
                          text=True, timeout=60)


def smbclient(gateway, user, password, command):
    return subprocess.run(
        ["smbclient", "//127.0.0.1/share", "-p", str(gateway.ports["smb"]), "-U",
         "%s%%%s" % (user, password), "-m", "SMB3", "-c", command],
        capture_output=True, text=True, timeout=60)


class SharedGatewayTest(unittest.TestCase):
    """Rules that hold on the default export (every client, read-write, root squash)."""

    @classmethod
    def setUpClass(cls):
        cls.gateway = Gateway(BINARY, config=USERS, protocols="nfs,s3,smb").start()
        cls.alice = client(cls.gateway, ALICE_KEY, ALICE_SECRET)
        cls.bob = client(cls.gateway, BOB_KEY, BOB_SECRET)
        cls.admin = client(cls.gateway, ADMIN_KEY, ADMIN_SECRET)

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop()

    def setUp(self):
        self.bucket = ("s-" + self.id().split(".")[-1].lower().replace("_", "-")[5:45]).rstrip("-")
        self.alice.create_bucket(Bucket=self.bucket)

    def assertS3Error(self, code, status, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as raised:
            fn(*args, **kwargs)
        self.assertEqual(code_of(raised.exception), code, raised.exception.response)
        self.assertEqual(status_of(raised.exception), status)
        return raised.exception

    # ---- 1: presigned URLs and unsigned x-amz-* headers ----

    def test_presigned_put_refuses_unsigned_amz_headers(self):
        self.alice.put_object(Bucket=self.bucket, Key="secret", Body=b"the signer's secret")
        presigner = client(self.gateway, ALICE_KEY, ALICE_SECRET, signature_version="s3v4")
        url = presigner.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": "dst"}, ExpiresIn=300)
        body = os.path.join(self.gateway.work, "upload.txt")
        with open(body, "wb") as f:
            f.write(b"uploaded")
        for header in ["x-amz-copy-source: %s/secret" % self.bucket, "x-amz-tagging: a=b",
                       "x-amz-meta-color: red"]:
            out = subprocess.run(["curl", "-s", "-o", "-", "-w", "%{http_code}", "-X", "PUT",
                                  "-H", header, "--data-binary", "@" + body, url],
                                 capture_output=True, timeout=30)
            self.assertTrue(out.stdout.endswith(b"403"), (header, out.stdout))
            self.assertIn(b"HeadersNotSigned", out.stdout)
            self.assertS3Error("404", 404, self.alice.head_object, Bucket=self.bucket,
                               Key="dst")
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
                              "--data-binary", "@" + body, url], capture_output=True, timeout=30)
        self.assertEqual(out.stdout, b"200")
        got = self.alice.get_object(Bucket=self.bucket, Key="dst")
        self.assertEqual(got["Body"].read(), b"uploaded")
        self.assertEqual(got["Metadata"], {})

    # ---- 2: S3's staging is out of every other protocol's reach ----

    def test_bodies_in_flight_are_out_of_reach_of_nfs_and_smb(self):
        presigner = client(self.gateway, ALICE_KEY, ALICE_SECRET, signature_version="s3v4")
        url = presigner.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": "slow"}, ExpiresIn=300)
        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        conn.putrequest("PUT", parts.path + "?" + parts.query, skip_accept_encoding=True)
        conn.putheader("Content-Length", str(2 << 20))
        conn.endheaders()
        conn.send(b"in flight " * 100000)  # about 1 MiB of 2: staged, not yet published
        time.sleep(0.5)
        for uid in (0, 1001, 1000):
            listing = nfs(self.gateway, "nfs-ls", "", uid)
            self.assertEqual(listing.returncode, 0, listing.stderr)
            self.assertNotIn(".cfs-s3", listing.stdout)
            for path in (".cfs-s3", ".cfs-s3/tmp", ".cfs-s3/uploads"):
                self.assertNotEqual(nfs(self.gateway, "nfs-ls", path, uid).returncode, 0, path)
        source = os.path.join(self.gateway.work, "planted")
        with open(source, "w") as f:
            f.write("planted")
        for target in (".cfs-s3/tmp/planted", ".cfs-s3/uploads/planted", ".cfs-s3"):
            planted = subprocess.run(["nfs-cp", source, nfs_url(self.gateway, target, 1001)],
                                     capture_output=True, timeout=60)
            self.assertNotEqual(planted.returncode, 0, target)
        out = smbclient(self.gateway, "bob", "Bobs-Passw0rd", "ls")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertNotIn(".cfs-s3", out.stdout)
        self.assertIn(self.bucket, out.stdout)
        for command in ("ls .cfs-s3\\*", "ls .cfs-s3\\tmp\\*", "mkdir .cfs-s3",
                        "mkdir .cfs-s3-mine", "cd .cfs-s3\\uploads"):
            out = smbclient(self.gateway, "bob", "Bobs-Passw0rd", command)
            self.assertRegex(out.stdout + out.stderr, "NT_STATUS_(OBJECT_NAME_NOT_FOUND|"
                             "OBJECT_PATH_NOT_FOUND|ACCESS_DENIED|NO_SUCH_FILE)", command)
        conn.send(b"." * ((2 << 20) - 1000000))
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()
        self.assertEqual(self.alice.head_object(Bucket=self.bucket, Key="slow")["ContentLength"],
                         2 << 20)

    # ---- 5: private buckets ----

    def test_buckets_and_objects_are_their_owners(self):
        self.alice.put_object(Bucket=self.bucket, Key="dir/doc", Body=b"alice's")
        self.assertNotIn(self.bucket, [b["Name"] for b in self.bob.list_buckets()["Buckets"]])
        self.assertIn(self.bucket, [b["Name"] for b in self.alice.list_buckets()["Buckets"]])
        self.assertS3Error("AccessDenied", 403, self.bob.get_object, Bucket=self.bucket,
                           Key="dir/doc")
        self.assertS3Error("AccessDenied", 403, self.bob.list_objects_v2, Bucket=self.bucket)
        bobs = self.bucket[:50] + "-bob"
        self.bob.create_bucket(Bucket=bobs)
        self.assertS3Error("AccessDenied", 403, self.bob.copy_object, Bucket=bobs, Key="copy",
                           CopySource={"Bucket": self.bucket, "Key": "dir/doc"})
        # What GetBucketAcl says is what NFS enforces.
        grants = self.alice.get_bucket_acl(Bucket=self.bucket)["Grants"]
        self.assertEqual([(g["Grantee"].get("ID"), g["Permission"]) for g in grants],
                         [("1000", "FULL_CONTROL")])
        self.assertNotEqual(nfs(self.gateway, "nfs-ls", self.bucket, 1001).returncode, 0)
        self.assertNotEqual(nfs(self.gateway, "nfs-cat", self.bucket + "/dir/doc", 1001)
                            .returncode, 0)
        self.assertEqual(nfs(self.gateway, "nfs-cat", self.bucket + "/dir/doc", 1000).stdout,
                         "alice's")
        self.alice.put_bucket_acl(Bucket=self.bucket, ACL="public-read")
        grants = self.alice.get_bucket_acl(Bucket=self.bucket)["Grants"]
        self.assertIn(("http://acs.amazonaws.com/groups/global/AllUsers", "READ"),
                      [(g["Grantee"].get("URI"), g["Permission"]) for g in grants])
        listing = nfs(self.gateway, "nfs-ls", self.bucket, 1001)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertIn("dir", listing.stdout)
        # The object kept its own (private) mode, as S3 objects keep their own ACLs.
        self.assertNotEqual(nfs(self.gateway, "nfs-cat", self.bucket + "/dir/doc", 1001)
                            .returncode, 0)

    # ---- 6: sub-resources on an allow-list ----

    def test_unknown_sub_resources_change_nothing(self):
        self.alice.put_object(Bucket=self.bucket, Key="k", Body=b"body")
        empty = self.bucket[:50] + "-empty"
        self.alice.create_bucket(Bucket=empty)
        cases = [("DELETE", "/%s?metadataTable" % empty, b""),
                 ("PUT", "/%s?versioning" % empty,
                  b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"),
                 ("GET", "/%s?policyStatus" % self.bucket, b""),
                 ("GET", "/%s/k?attributes" % self.bucket, b""),
                 ("DELETE", "/%s/k?retention" % self.bucket, b""),
                 ("PUT", "/%s/k?anything-new" % self.bucket, b"overwrite"),
                 ("POST", "/%s?delete&metadataTable" % self.bucket, b"")]
        for method, target, body in cases:
            status, answer = signed_request(self.gateway, method, target, body)
            self.assertEqual(status, 501, (method, target, answer))
            self.assertIn(b"NotImplemented", answer)
        self.alice.head_bucket(Bucket=empty)
        self.assertEqual(self.alice.get_object(Bucket=self.bucket, Key="k")["Body"].read(),
                         b"body")
        status, _ = signed_request(self.gateway, "PATCH", "/%s/k" % self.bucket)
        self.assertEqual(status, 405)

    # ---- 8: names SMB cannot carry ----

    def test_keys_smb_cannot_name_are_left_out_of_smb_listings(self):
        bobs = self.bucket[:50] + "-names"
        self.bob.create_bucket(Bucket=bobs)
        for key in ("dir/a\\b", "dir/x:y", "dir/what?", "dir/ok.txt"):
            self.bob.put_object(Bucket=bobs, Key=key, Body=b"data")
        out = smbclient(self.gateway, "bob", "Bobs-Passw0rd", "ls %s\\dir\\*" % bobs)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("ok.txt", out.stdout)
        self.assertNotIn("NT_STATUS", out.stdout + out.stderr)
        for hidden in ("a\\b", "x:y", "what?"):
            self.assertNotIn(hidden, out.stdout)
        # They are still objects (and files over NFS).
        keys = [o["Key"] for o in self.bob.list_objects_v2(Bucket=bobs)["Contents"]]
        self.assertEqual(sorted(keys), ["dir/a\\b", "dir/ok.txt", "dir/what?", "dir/x:y"])
        self.assertIn("x:y", nfs(self.gateway, "nfs-ls", bobs + "/dir", 1001).stdout)

    # ---- 9: HEAD needs read permission ----

    def test_head_needs_read_permission(self):
        self.alice.put_object(Bucket=self.bucket, Key="private", Body=b"not yours")
        self.alice.put_object(Bucket=self.bucket, Key="empty", Body=b"")
        self.alice.put_bucket_acl(Bucket=self.bucket, ACL="public-read")  # objects stay 0600
        self.assertS3Error("403", 403, self.bob.head_object, Bucket=self.bucket, Key="private")
        self.assertS3Error("AccessDenied", 403, self.bob.get_object, Bucket=self.bucket,
                           Key="private")
        self.assertEqual(self.alice.head_object(Bucket=self.bucket, Key="private")["ETag"],
                         '"%s"' % hashlib.md5(b"not yours").hexdigest())
        self.assertS3Error("403", 403, self.bob.head_object, Bucket=self.bucket, Key="empty")
        # Objects made after the bucket became public-read are readable by everyone.
        self.alice.put_object(Bucket=self.bucket, Key="public", Body=b"for all")
        self.assertEqual(self.bob.head_object(Bucket=self.bucket, Key="public")["ContentLength"],
                         7)

    # ---- 10: details from ceph/s3-tests ----

    def delete_with_headers(self, key, **headers):
        """DeleteObject with conditional headers (newer than Debian's boto3), signed."""
        deleter = client(self.gateway, ALICE_KEY, ALICE_SECRET)

        def add(request, **kwargs):
            for name, value in headers.items():
                request.headers[name] = value
        deleter.meta.events.register("before-sign.s3.DeleteObject", add)
        return deleter.delete_object(Bucket=self.bucket, Key=key)

    def delete_objects_xml(self, objects):
        body = ("<Delete>%s</Delete>" % "".join("<Object>%s</Object>" % o for o in objects))
        status, answer = signed_request(self.gateway, "POST", "/%s?delete" % self.bucket,
                                        body.encode())
        self.assertEqual(status, 200, answer)
        return answer.decode()

    def test_conditional_deletes(self):
        etag = self.alice.put_object(Bucket=self.bucket, Key="obj", Body=b"x")["ETag"]
        self.assertS3Error("PreconditionFailed", 412, self.delete_with_headers, "obj",
                           **{"If-Match": '"badetag"'})
        self.alice.head_object(Bucket=self.bucket, Key="obj")
        self.delete_with_headers("obj", **{"If-Match": etag})
        self.assertS3Error("404", 404, self.alice.head_object, Bucket=self.bucket, Key="obj")
        self.delete_with_headers("obj", **{"If-Match": '"badetag"'})  # deleting nothing: 204
        etag = self.alice.put_object(Bucket=self.bucket, Key="obj", Body=b"x")["ETag"]
        answer = self.delete_objects_xml(["<Key>obj</Key><ETag>badetag</ETag>"])
        self.assertIn("<Code>PreconditionFailed</Code>", answer)
        self.alice.head_object(Bucket=self.bucket, Key="obj")
        answer = self.delete_objects_xml(["<Key>obj</Key><ETag>%s</ETag>" % etag])
        self.assertIn("<Deleted><Key>obj</Key></Deleted>", answer)
        self.alice.put_object(Bucket=self.bucket, Key="sized", Body=b"12345")
        self.assertS3Error("PreconditionFailed", 412, self.delete_with_headers, "sized",
                           **{"x-amz-if-match-size": "4"})
        mtime = self.alice.head_object(Bucket=self.bucket, Key="sized")["LastModified"]
        self.assertS3Error("PreconditionFailed", 412, self.delete_with_headers, "sized",
                           **{"x-amz-if-match-last-modified-time":
                              "Thu, 01 Jan 2015 00:00:00 GMT"})
        answer = self.delete_objects_xml([
            "<Key>sized</Key><LastModifiedTime>2015-01-01T00:00:00Z</LastModifiedTime>"])
        self.assertIn("<Code>PreconditionFailed</Code>", answer)
        self.delete_with_headers("sized", **{
            "x-amz-if-match-size": "5",
            "x-amz-if-match-last-modified-time": mtime.strftime("%a, %d %b %Y %H:%M:%S GMT")})
        self.assertS3Error("404", 404, self.alice.head_object, Bucket=self.bucket, Key="sized")

    def test_whitespace_only_xml_text_is_data(self):
        self.alice.put_object(Bucket=self.bucket, Key=" ", Body=b"space")
        result = self.alice.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": " "}]})
        self.assertEqual(result["Deleted"][0]["Key"], " ")
        self.assertEqual(self.alice.list_objects_v2(Bucket=self.bucket)["KeyCount"], 0)
        self.alice.put_object(Bucket=self.bucket, Key="tagged", Body=b"t")
        self.alice.put_object_tagging(Bucket=self.bucket, Key="tagged", Tagging={
            "TagSet": [{"Key": "k", "Value": " "}]})
        self.assertEqual(self.alice.get_object_tagging(Bucket=self.bucket, Key="tagged")["TagSet"],
                         [{"Key": "k", "Value": " "}])
        eleven = {"TagSet": [{"Key": "k%d" % i, "Value": "v"} for i in range(11)]}
        self.assertS3Error("InvalidTag", 400, self.alice.put_object_tagging,
                           Bucket=self.bucket, Key="tagged", Tagging=eleven)

    def test_upload_part_copy_range_past_the_source(self):
        self.alice.put_object(Bucket=self.bucket, Key="five", Body=b"12345")
        upload = self.alice.create_multipart_upload(Bucket=self.bucket, Key="dest")["UploadId"]
        error = self.assertS3Error("InvalidRange", 416, self.alice.upload_part_copy,
                                   Bucket=self.bucket, Key="dest", UploadId=upload, PartNumber=1,
                                   CopySource={"Bucket": self.bucket, "Key": "five"},
                                   CopySourceRange="bytes=0-21")
        self.assertIsNotNone(error)
        self.assertS3Error("InvalidArgument", 400, self.alice.upload_part_copy,
                           Bucket=self.bucket, Key="dest", UploadId=upload, PartNumber=1,
                           CopySource={"Bucket": self.bucket, "Key": "five"},
                           CopySourceRange="bytes=0-")
        part = self.alice.upload_part_copy(Bucket=self.bucket, Key="dest", UploadId=upload,
                                           PartNumber=1, CopySourceRange="bytes=1-3",
                                           CopySource={"Bucket": self.bucket, "Key": "five"})
        self.alice.complete_multipart_upload(
            Bucket=self.bucket, Key="dest", UploadId=upload, MultipartUpload={"Parts": [
                {"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]})
        self.assertEqual(self.alice.get_object(Bucket=self.bucket, Key="dest")["Body"].read(),
                         b"234")

    def test_bucket_names_that_are_not_dns_labels(self):
        for name in ("192.168.5.123", "foo-.bar", "foo.-bar"):
            self.assertS3Error("InvalidBucketName", 400, self.alice.create_bucket, Bucket=name)

    def test_listing_parameters(self):
        for key in ("bar", "baz", "foo"):
            self.alice.put_object(Bucket=self.bucket, Key=key, Body=b"")
        for listing in (self.alice.list_objects(Bucket=self.bucket, MaxKeys=0),
                        self.alice.list_objects_v2(Bucket=self.bucket, MaxKeys=0)):
            self.assertFalse(listing["IsTruncated"])
            self.assertNotIn("Contents", listing)
        listing = self.alice.list_objects_v2(Bucket=self.bucket, ContinuationToken="")
        self.assertEqual([o["Key"] for o in listing["Contents"]], ["bar", "baz", "foo"])
        self.assertEqual(listing["ContinuationToken"], "")
        listing = self.alice.list_objects(Bucket=self.bucket, Prefix="\x0a")
        self.assertEqual(listing["Prefix"], "\x0a")
        listing = self.alice.list_objects(Bucket=self.bucket, Prefix="b a")
        self.assertEqual(listing["Prefix"], "b a")


class ExportRulesTest(unittest.TestCase):
    """One export policy for every protocol: each case restarts the gateway on the same data
    with other rules."""

    def setUp(self):
        self.work = os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), self.id().split(".")[-1])
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        self.data = os.path.join(self.work, "data")
        gateway = Gateway(BINARY, data_dir=self.data, config=USERS, protocols="nfs,s3,smb").start()
        try:
            alice = client(gateway, ALICE_KEY, ALICE_SECRET)
            alice.create_bucket(Bucket="alices")
            alice.put_object(Bucket="alices", Key="doc", Body=b"alice's document")
        finally:
            gateway.stop()
        self.gateway = None

    def tearDown(self):
        if self.gateway is not None:
            self.gateway.stop()

    def start(self, rules):
        export = 'exports { id: 1 name: "all" path: "/" %s }\n' % rules
        self.gateway = Gateway(BINARY, data_dir=self.data, config=USERS + export,
                               protocols="nfs,s3,smb").start()
        return (client(self.gateway, ALICE_KEY, ALICE_SECRET),
                client(self.gateway, ADMIN_KEY, ADMIN_SECRET))

    def assertDenied(self, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as raised:
            fn(*args, **kwargs)
        self.assertEqual(status_of(raised.exception), 403, raised.exception.response)

    def test_read_only_export(self):
        alice, _ = self.start("rules { read_only: true }")
        self.assertEqual(alice.get_object(Bucket="alices", Key="doc")["Body"].read(),
                         b"alice's document")
        self.assertDenied(alice.put_object, Bucket="alices", Key="new", Body=b"x")
        self.assertDenied(alice.delete_object, Bucket="alices", Key="doc")
        self.assertDenied(alice.create_bucket, Bucket="another")
        self.assertDenied(alice.delete_objects, Bucket="alices", Delete={"Objects": [{"Key":
                                                                                    "doc"}]})
        self.assertDenied(alice.create_multipart_upload, Bucket="alices", Key="m")
        self.assertEqual(alice.get_object(Bucket="alices", Key="doc")["Body"].read(),
                         b"alice's document")
        source = os.path.join(self.work, "f")
        with open(source, "w") as f:
            f.write("x")
        out = subprocess.run(["nfs-cp", source, nfs_url(self.gateway, "alices/nfs", 1000)],
                             capture_output=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)

    def test_client_rules_that_do_not_admit_the_client(self):
        alice, admin = self.start('rules { clients: "10.0.0.0/8" }')
        self.assertDenied(alice.get_object, Bucket="alices", Key="doc")
        self.assertDenied(alice.list_buckets)
        self.assertDenied(admin.list_buckets)
        self.assertNotEqual(nfs(self.gateway, "nfs-ls", "", 1000).returncode, 0)
        out = smbclient(self.gateway, "bob", "Bobs-Passw0rd", "ls")
        self.assertIn("NT_STATUS_ACCESS_DENIED", out.stdout + out.stderr)

    def test_root_squash_applies_to_s3(self):
        _, admin = self.start("rules { root_squash: true }")
        self.assertDenied(admin.get_object, Bucket="alices", Key="doc")
        self.assertDenied(admin.put_object, Bucket="alices", Key="by-root", Body=b"x")
        self.gateway.stop()
        _, admin = self.start("rules { root_squash: false }")
        self.assertEqual(admin.get_object(Bucket="alices", Key="doc")["Body"].read(),
                         b"alice's document")

    def test_all_squash_applies_to_s3(self):
        alice, _ = self.start("rules { all_squash: true anonymous_uid: 1002 anonymous_gid: 1002 }")
        self.assertDenied(alice.get_object, Bucket="alices", Key="doc")
        alice.create_bucket(Bucket="squashed")
        alice.put_object(Bucket="squashed", Key="k", Body=b"by carol's uid")
        listing = nfs(self.gateway, "nfs-cat", "squashed/k", 1002)
        self.assertEqual(listing.stdout, "by carol's uid")


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
