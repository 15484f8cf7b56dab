"""S3 API conformance with boto3 (Debian's python3-boto3) against the cfs-gateway binary.

Every S3 operation the gateway serves, the errors clients rely on, presigned URLs, bad input,
and multi-protocol: objects are files that NFS clients (libnfs's nfs-cat/nfs-cp) read and write.
"""
import base64
import hashlib
import os
import socket
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import zlib

import boto3
import botocore
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3_gateway import (ADMIN_KEY, ADMIN_SECRET, ALICE_KEY, ALICE_SECRET, TLS_CERT,  # noqa: E402
                        Gateway, code_of, s3_client, status_of)

GATEWAY = None


def client(key=ADMIN_KEY, secret=ADMIN_SECRET, **config):
    return s3_client(GATEWAY, key, secret, **config)


class S3Test(unittest.TestCase):
    def setUp(self):
        self.s3 = client()
        self.bucket = ("b-" + self.id().split(".")[-1].lower().replace("_", "-")[5:45]).rstrip("-")
        self.s3.create_bucket(Bucket=self.bucket)

    def assertS3Error(self, code, status, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as raised:
            fn(*args, **kwargs)
        self.assertEqual(code_of(raised.exception), code, raised.exception.response)
        self.assertEqual(status_of(raised.exception), status)
        return raised.exception

    # ---- buckets ----

    def test_buckets(self):
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        self.assertIn(self.bucket, names)
        self.assertNotIn(".cfs-s3", names)
        self.s3.head_bucket(Bucket=self.bucket)
        loc = self.s3.get_bucket_location(Bucket=self.bucket)
        self.assertIsNone(loc.get("LocationConstraint"))
        self.assertS3Error("BucketAlreadyOwnedByYou", 409, self.s3.create_bucket,
                           Bucket=self.bucket)
        self.assertS3Error("InvalidBucketName", 400, self.s3.create_bucket, Bucket="Bad_Name")
        self.s3.put_object(Bucket=self.bucket, Key="k", Body=b"x")
        self.assertS3Error("BucketNotEmpty", 409, self.s3.delete_bucket, Bucket=self.bucket)
        self.s3.delete_object(Bucket=self.bucket, Key="k")
        self.s3.delete_bucket(Bucket=self.bucket)
        self.assertS3Error("404", 404, self.s3.head_bucket, Bucket=self.bucket)
        self.assertS3Error("NoSuchBucket", 404, self.s3.list_objects_v2, Bucket=self.bucket)
        self.assertS3Error("NoSuchBucket", 404, self.s3.put_object, Bucket=self.bucket,
                           Key="k", Body=b"x")

    # ---- objects ----

    def test_put_get_head_with_metadata(self):
        body = os.urandom(100000)
        put = self.s3.put_object(Bucket=self.bucket, Key="dir/sub/obj.bin", Body=body,
                                 ContentType="application/x-test", Metadata={"color": "blue"},
                                 CacheControl="max-age=60", ContentDisposition="inline")
        self.assertEqual(put["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
        got = self.s3.get_object(Bucket=self.bucket, Key="dir/sub/obj.bin")
        self.assertEqual(got["Body"].read(), body)
        self.assertEqual(got["ContentType"], "application/x-test")
        self.assertEqual(got["Metadata"], {"color": "blue"})
        self.assertEqual(got["CacheControl"], "max-age=60")
        self.assertEqual(got["ContentDisposition"], "inline")
        head = self.s3.head_object(Bucket=self.bucket, Key="dir/sub/obj.bin")
        self.assertEqual(head["ContentLength"], len(body))
        self.assertEqual(head["ETag"], put["ETag"])
        # Overwrite replaces data and metadata.
        self.s3.put_object(Bucket=self.bucket, Key="dir/sub/obj.bin", Body=b"short")
        got = self.s3.get_object(Bucket=self.bucket, Key="dir/sub/obj.bin")
        self.assertEqual(got["Body"].read(), b"short")
        self.assertEqual(got["Metadata"], {})
        self.assertS3Error("NoSuchKey", 404, self.s3.get_object, Bucket=self.bucket, Key="nope")
        self.assertS3Error("404", 404, self.s3.head_object, Bucket=self.bucket, Key="dir/sub")
        # Empty objects.
        self.s3.put_object(Bucket=self.bucket, Key="empty", Body=b"")
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="empty")["Body"].read(), b"")

    def test_ranges(self):
        body = bytes(range(256)) * 40
        self.s3.put_object(Bucket=self.bucket, Key="r", Body=body)
        cases = {"bytes=0-9": body[0:10], "bytes=100-": body[100:], "bytes=-7": body[-7:],
                 "bytes=10-99999": body[10:]}
        for spec, want in cases.items():
            got = self.s3.get_object(Bucket=self.bucket, Key="r", Range=spec)
            self.assertEqual(got["Body"].read(), want, spec)
            self.assertEqual(got["ResponseMetadata"]["HTTPStatusCode"], 206)
            self.assertTrue(got["ContentRange"].endswith("/%d" % len(body)))
        error = self.assertS3Error("InvalidRange", 416, self.s3.get_object, Bucket=self.bucket,
                                   Key="r", Range="bytes=%d-" % len(body))
        self.assertEqual(error.response["ResponseMetadata"]["HTTPHeaders"]["content-range"],
                         "bytes */%d" % len(body))

    def test_conditional_requests(self):
        etag = self.s3.put_object(Bucket=self.bucket, Key="c", Body=b"data")["ETag"]
        head = self.s3.head_object(Bucket=self.bucket, Key="c")
        self.s3.get_object(Bucket=self.bucket, Key="c", IfMatch=etag)
        self.assertS3Error("PreconditionFailed", 412, self.s3.get_object, Bucket=self.bucket,
                           Key="c", IfMatch='"0000"')
        self.assertS3Error("304", 304, self.s3.get_object, Bucket=self.bucket, Key="c",
                           IfNoneMatch=etag)
        self.assertS3Error("304", 304, self.s3.get_object, Bucket=self.bucket, Key="c",
                           IfModifiedSince=head["LastModified"])
        self.assertS3Error("PreconditionFailed", 412, self.s3.get_object, Bucket=self.bucket,
                           Key="c", IfUnmodifiedSince=head["LastModified"].replace(year=2000))
        self.s3.get_object(Bucket=self.bucket, Key="c",
                           IfModifiedSince=head["LastModified"].replace(year=2000))

        # PUT with If-None-Match: * creates only when absent.
        def if_none_match(request, **kwargs):
            request.headers["If-None-Match"] = "*"
        s3 = client()
        s3.meta.events.register("before-sign.s3.PutObject", if_none_match)
        s3.put_object(Bucket=self.bucket, Key="fresh", Body=b"1")
        self.assertS3Error("PreconditionFailed", 412, s3.put_object, Bucket=self.bucket,
                           Key="fresh", Body=b"2")
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="fresh")["Body"].read(), b"1")

    def test_copy_object(self):
        self.s3.put_object(Bucket=self.bucket, Key="src", Body=b"copy me",
                           Metadata={"a": "1"}, ContentType="text/x-a")
        src = {"Bucket": self.bucket, "Key": "src"}
        out = self.s3.copy_object(Bucket=self.bucket, Key="dst/copy", CopySource=src)
        self.assertEqual(out["CopyObjectResult"]["ETag"],
                         '"%s"' % hashlib.md5(b"copy me").hexdigest())
        got = self.s3.get_object(Bucket=self.bucket, Key="dst/copy")
        self.assertEqual(got["Body"].read(), b"copy me")
        self.assertEqual(got["Metadata"], {"a": "1"})
        self.assertEqual(got["ContentType"], "text/x-a")
        self.s3.copy_object(Bucket=self.bucket, Key="dst/replaced", CopySource=src,
                            MetadataDirective="REPLACE", Metadata={"b": "2"})
        got = self.s3.head_object(Bucket=self.bucket, Key="dst/replaced")
        self.assertEqual(got["Metadata"], {"b": "2"})
        self.assertS3Error("InvalidRequest", 400, self.s3.copy_object, Bucket=self.bucket,
                           Key="src", CopySource=src)
        self.s3.copy_object(Bucket=self.bucket, Key="src", CopySource=src,
                            MetadataDirective="REPLACE", Metadata={"c": "3"})
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="src")["Metadata"],
                         {"c": "3"})
        self.assertS3Error("NoSuchKey", 404, self.s3.copy_object, Bucket=self.bucket, Key="x",
                           CopySource={"Bucket": self.bucket, "Key": "missing"})
        self.assertS3Error("PreconditionFailed", 412, self.s3.copy_object, Bucket=self.bucket,
                           Key="x", CopySource=src, CopySourceIfMatch='"nope"')

    def test_delete_objects(self):
        for key in ("d/1", "d/2", "d/3"):
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"x")
        out = self.s3.delete_objects(Bucket=self.bucket, Delete={
            "Objects": [{"Key": "d/1"}, {"Key": "d/2"}, {"Key": "never"}]})
        self.assertEqual(sorted(d["Key"] for d in out["Deleted"]), ["d/1", "d/2", "never"])
        out = self.s3.delete_objects(Bucket=self.bucket, Delete={
            "Objects": [{"Key": "d/3"}], "Quiet": True})
        self.assertNotIn("Deleted", out)
        self.assertEqual(self.s3.list_objects_v2(Bucket=self.bucket)["KeyCount"], 0)

    def test_delete_prunes_empty_prefixes(self):
        self.s3.put_object(Bucket=self.bucket, Key="p/q/r", Body=b"x")
        self.s3.delete_object(Bucket=self.bucket, Key="p/q/r")
        listing = self.s3.list_objects_v2(Bucket=self.bucket, Delimiter="/")
        self.assertEqual(listing["KeyCount"], 0, listing)
        self.s3.delete_object(Bucket=self.bucket, Key="never/was")  # 204 for missing keys

    def test_object_versions_of_a_bucket_never_versioned(self):
        for key in ("v/1", "v/2", "w"):
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"x")
        got, marker = [], None
        while True:
            args = {"Bucket": self.bucket, "MaxKeys": 2}
            if marker:
                args["KeyMarker"] = marker
            page = self.s3.list_object_versions(**args)
            for version in page.get("Versions", []):
                self.assertEqual(version["VersionId"], "null")
                self.assertTrue(version["IsLatest"])
                got.append(version["Key"])
            if not page["IsTruncated"]:
                break
            marker = page["NextKeyMarker"]
        self.assertEqual(got, ["v/1", "v/2", "w"])
        page = self.s3.list_object_versions(Bucket=self.bucket, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in page["CommonPrefixes"]], ["v/"])
        self.s3.delete_object(Bucket=self.bucket, Key="w", VersionId="null")
        self.assertNotIn("w", [v["Key"] for v in
                               self.s3.list_object_versions(Bucket=self.bucket)["Versions"]])

    def test_listing_order_prefix_delimiter_and_pages(self):
        keys = ["a!", "a-b", "a/b", "a/c/d", "a0", "b/x", "b/y/z", "c", "é", "a/b0"]
        for key in keys:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=key.encode())
        want = sorted(k.encode() for k in keys)
        for v2 in (True, False):
            got, token = [], None
            while True:
                args = {"Bucket": self.bucket, "MaxKeys": 3}
                if v2:
                    if token:
                        args["ContinuationToken"] = token
                    page = self.s3.list_objects_v2(**args)
                else:
                    if token:
                        args["Marker"] = token
                    page = self.s3.list_objects(**args)
                got += [o["Key"] for o in page.get("Contents", [])]
                if not page["IsTruncated"]:
                    break
                token = page["NextContinuationToken"] if v2 else page["Contents"][-1]["Key"]
            self.assertEqual([k.encode() for k in got], want, "v2" if v2 else "v1")
        page = self.s3.list_objects_v2(Bucket=self.bucket, Delimiter="/")
        self.assertEqual([o["Key"] for o in page["Contents"]], ["a!", "a-b", "a0", "c", "é"])
        self.assertEqual([p["Prefix"] for p in page["CommonPrefixes"]], ["a/", "b/"])
        page = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="a/", Delimiter="/")
        self.assertEqual([o["Key"] for o in page["Contents"]], ["a/b", "a/b0"])
        self.assertEqual([p["Prefix"] for p in page["CommonPrefixes"]], ["a/c/"])
        page = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="a/b")
        self.assertEqual([o["Key"] for o in page["Contents"]], ["a/b", "a/b0"])
        page = self.s3.list_objects_v2(Bucket=self.bucket, StartAfter="a0")
        self.assertEqual(page["Contents"][0]["Key"], "b/x")
        # Pages over common prefixes: a marker equal to a prefix skips all below it.
        page = self.s3.list_objects(Bucket=self.bucket, Delimiter="/", MaxKeys=2)
        self.assertTrue(page["IsTruncated"])
        page = self.s3.list_objects(Bucket=self.bucket, Delimiter="/", Marker=page["NextMarker"])
        self.assertEqual([o["Key"] for o in page.get("Contents", [])], ["a0", "c", "é"])
        self.assertEqual([p["Prefix"] for p in page["CommonPrefixes"]], ["a/", "b/"])
        page = self.s3.list_objects(Bucket=self.bucket, Delimiter="/", Marker="a/")
        self.assertEqual([p["Prefix"] for p in page["CommonPrefixes"]], ["b/"])
        # URL encoding of keys (botocore leaves them encoded when the caller asked for it).
        page = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="é", EncodingType="url")
        self.assertEqual([o["Key"] for o in page["Contents"]], ["%C3%A9"])
        page = self.s3.list_objects_v2(Bucket=self.bucket, FetchOwner=True, MaxKeys=1)
        self.assertIn("Owner", page["Contents"][0])
        self.assertEqual(page["Contents"][0]["ETag"], '"%s"' % hashlib.md5(b"a!").hexdigest())

    def test_folder_objects(self):
        self.s3.put_object(Bucket=self.bucket, Key="folder/", Body=b"")
        page = self.s3.list_objects_v2(Bucket=self.bucket)
        self.assertEqual([o["Key"] for o in page["Contents"]], ["folder/"])
        self.s3.head_object(Bucket=self.bucket, Key="folder/")
        self.s3.put_object(Bucket=self.bucket, Key="folder/inner", Body=b"x")
        self.s3.delete_object(Bucket=self.bucket, Key="folder/inner")
        self.s3.head_object(Bucket=self.bucket, Key="folder/")  # still there
        self.s3.delete_object(Bucket=self.bucket, Key="folder/")
        self.assertEqual(self.s3.list_objects_v2(Bucket=self.bucket)["KeyCount"], 0)

    def test_keys_that_cannot_be_paths(self):
        for key in ("a/../b", "../escape", "a//b", "./x", "x/" + "n" * 256):
            error = self.assertS3Error(
                "KeyTooLongError" if len(key) > 255 else "InvalidArgument", 400,
                self.s3.put_object, Bucket=self.bucket, Key=key, Body=b"x")
            self.assertTrue(error)
        self.s3.put_object(Bucket=self.bucket, Key="file", Body=b"x")
        self.assertS3Error("KeyConflict", 409, self.s3.put_object, Bucket=self.bucket,
                           Key="file/below", Body=b"x")
        self.s3.put_object(Bucket=self.bucket, Key="dir/below", Body=b"x")
        self.assertS3Error("KeyConflict", 409, self.s3.put_object, Bucket=self.bucket,
                           Key="dir", Body=b"x")
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        self.assertNotIn("escape", names)
        self.assertEqual(sorted(o["Key"] for o in self.s3.list_objects_v2(
            Bucket=self.bucket)["Contents"]), ["dir/below", "file"])

    def test_tagging(self):
        self.s3.put_object(Bucket=self.bucket, Key="t", Body=b"x", Tagging="k1=v1&k2=v2")
        tags = self.s3.get_object_tagging(Bucket=self.bucket, Key="t")["TagSet"]
        self.assertEqual(tags, [{"Key": "k1", "Value": "v1"}, {"Key": "k2", "Value": "v2"}])
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="t")["ResponseMetadata"]
                         ["HTTPHeaders"]["x-amz-tagging-count"], "2")
        self.s3.put_object_tagging(Bucket=self.bucket, Key="t",
                                   Tagging={"TagSet": [{"Key": "only", "Value": "one"}]})
        self.assertEqual(self.s3.get_object_tagging(Bucket=self.bucket, Key="t")["TagSet"],
                         [{"Key": "only", "Value": "one"}])
        self.s3.delete_object_tagging(Bucket=self.bucket, Key="t")
        self.assertEqual(self.s3.get_object_tagging(Bucket=self.bucket, Key="t")["TagSet"], [])

    def test_checksums(self):
        body = b"checksummed body"
        crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
        out = self.s3.put_object(Bucket=self.bucket, Key="sum", Body=body, ChecksumCRC32=crc)
        self.assertEqual(out["ChecksumCRC32"], crc)
        head = self.s3.head_object(Bucket=self.bucket, Key="sum", ChecksumMode="ENABLED")
        self.assertEqual(head["ChecksumCRC32"], crc)
        sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
        self.s3.put_object(Bucket=self.bucket, Key="sha", Body=body, ChecksumSHA256=sha)
        self.assertS3Error("BadDigest", 400, self.s3.put_object, Bucket=self.bucket, Key="bad",
                           Body=body, ChecksumCRC32="AAAAAA==")
        md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
        self.assertS3Error("BadDigest", 400, self.s3.put_object, Bucket=self.bucket, Key="bad",
                           Body=body, ContentMD5=md5)
        self.assertS3Error("404", 404, self.s3.head_object, Bucket=self.bucket, Key="bad")

    # ---- multipart ----

    def test_multipart(self):
        s3 = self.s3
        upload = s3.create_multipart_upload(Bucket=self.bucket, Key="mp/obj",
                                            Metadata={"m": "1"}, ContentType="video/x-test")
        uid = upload["UploadId"]
        part1 = os.urandom(5 << 20)
        part2 = os.urandom(1 << 20)
        e1 = s3.upload_part(Bucket=self.bucket, Key="mp/obj", UploadId=uid, PartNumber=1,
                            Body=part1)["ETag"]
        e2 = s3.upload_part(Bucket=self.bucket, Key="mp/obj", UploadId=uid, PartNumber=2,
                            Body=part2)["ETag"]
        e3 = s3.upload_part(Bucket=self.bucket, Key="mp/obj", UploadId=uid, PartNumber=3,
                            Body=b"left out")["ETag"]
        parts = s3.list_parts(Bucket=self.bucket, Key="mp/obj", UploadId=uid)["Parts"]
        self.assertEqual([(p["PartNumber"], p["ETag"], p["Size"]) for p in parts],
                         [(1, e1, len(part1)), (2, e2, len(part2)), (3, e3, 8)])
        page = s3.list_parts(Bucket=self.bucket, Key="mp/obj", UploadId=uid, MaxParts=2)
        self.assertTrue(page["IsTruncated"])
        self.assertEqual(page["NextPartNumberMarker"], 2)
        uploads = s3.list_multipart_uploads(Bucket=self.bucket)["Uploads"]
        self.assertEqual([(u["Key"], u["UploadId"]) for u in uploads], [("mp/obj", uid)])
        # Not visible before Complete.
        self.assertS3Error("NoSuchKey", 404, s3.get_object, Bucket=self.bucket, Key="mp/obj")
        self.assertS3Error("InvalidPartOrder", 400, s3.complete_multipart_upload,
                           Bucket=self.bucket, Key="mp/obj", UploadId=uid,
                           MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2},
                                                      {"PartNumber": 1, "ETag": e1}]})
        self.assertS3Error("InvalidPart", 400, s3.complete_multipart_upload,
                           Bucket=self.bucket, Key="mp/obj", UploadId=uid,
                           MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e2}]})
        self.assertS3Error("EntityTooSmall", 400, s3.complete_multipart_upload,
                           Bucket=self.bucket, Key="mp/obj", UploadId=uid,
                           MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2},
                                                      {"PartNumber": 3, "ETag": e3}]})
        done = s3.complete_multipart_upload(
            Bucket=self.bucket, Key="mp/obj", UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                       {"PartNumber": 2, "ETag": e2}]})
        md5s = hashlib.md5(hashlib.md5(part1).digest() + hashlib.md5(part2).digest()).hexdigest()
        self.assertEqual(done["ETag"], '"%s-2"' % md5s)
        got = s3.get_object(Bucket=self.bucket, Key="mp/obj")
        self.assertEqual(got["Body"].read(), part1 + part2)
        self.assertEqual(got["ETag"], done["ETag"])
        self.assertEqual(got["Metadata"], {"m": "1"})
        self.assertEqual(got["ContentType"], "video/x-test")
        self.assertS3Error("NoSuchUpload", 404, s3.list_parts, Bucket=self.bucket,
                           Key="mp/obj", UploadId=uid)

    def test_multipart_parts_out_of_order_and_uploaded_twice(self):
        # Parts land in place in one file when they can; out-of-order sizes and re-uploaded
        # numbers take the copying path. Either way the object is the parts listed, in order.
        s3 = self.s3
        uid = s3.create_multipart_upload(Bucket=self.bucket, Key="ooo")["UploadId"]
        part2 = os.urandom((5 << 20) + 7)
        part1_old = os.urandom(5 << 20)
        part1 = os.urandom(5 << 20)
        part3 = os.urandom(1000)
        e2 = s3.upload_part(Bucket=self.bucket, Key="ooo", UploadId=uid, PartNumber=2,
                            Body=part2)["ETag"]
        s3.upload_part(Bucket=self.bucket, Key="ooo", UploadId=uid, PartNumber=1, Body=part1_old)
        e1 = s3.upload_part(Bucket=self.bucket, Key="ooo", UploadId=uid, PartNumber=1,
                            Body=part1)["ETag"]
        e3 = s3.upload_part(Bucket=self.bucket, Key="ooo", UploadId=uid, PartNumber=3,
                            Body=part3)["ETag"]
        s3.complete_multipart_upload(
            Bucket=self.bucket, Key="ooo", UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2},
                                       {"PartNumber": 3, "ETag": e3}]})
        self.assertEqual(s3.get_object(Bucket=self.bucket, Key="ooo")["Body"].read(),
                         part1 + part2 + part3)
        # In place: equal parts and a short last one, listed without the middle part's
        # neighbour beyond the end.
        uid = s3.create_multipart_upload(Bucket=self.bucket, Key="inplace")["UploadId"]
        parts = [os.urandom(5 << 20), os.urandom(5 << 20), os.urandom(3)]
        etags = [s3.upload_part(Bucket=self.bucket, Key="inplace", UploadId=uid, PartNumber=n + 1,
                                Body=body)["ETag"] for n, body in enumerate(parts)]
        s3.complete_multipart_upload(
            Bucket=self.bucket, Key="inplace", UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etags[0]},
                                       {"PartNumber": 2, "ETag": etags[1]}]})
        got = s3.get_object(Bucket=self.bucket, Key="inplace")
        self.assertEqual(got["ContentLength"], 10 << 20)
        self.assertEqual(got["Body"].read(), parts[0] + parts[1])

    def test_multipart_part_sent_again_while_the_first_is_in_flight(self):
        # A part number whose first upload is still receiving its body goes to a file of its
        # own; the answer must not wait for the first (it once deadlocked the loop thread).
        s3 = self.s3
        uid = s3.create_multipart_upload(Bucket=self.bucket, Key="again")["UploadId"]
        first, second = os.urandom(5 << 20), os.urandom(5 << 20)
        url = urllib.parse.urlsplit(s3.generate_presigned_url(
            "upload_part", Params={"Bucket": self.bucket, "Key": "again", "UploadId": uid,
                                   "PartNumber": 1}))
        slow = socket.create_connection((url.hostname, url.port))
        slow.sendall(("PUT %s?%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n"
                      % (url.path, url.query, url.netloc, len(first))).encode() + first[:1 << 20])
        time.sleep(0.5)  # the first upload holds part 1's place now
        quick = client(read_timeout=20)
        e_second = quick.upload_part(Bucket=self.bucket, Key="again", UploadId=uid, PartNumber=1,
                                     Body=second)["ETag"]
        slow.sendall(first[1 << 20:])
        answer = slow.recv(4096).decode(errors="replace")
        slow.close()
        self.assertIn(" 200 ", answer.splitlines()[0])
        # The upload that finished last is part 1.
        s3.complete_multipart_upload(
            Bucket=self.bucket, Key="again", UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1,
                                        "ETag": '"%s"' % hashlib.md5(first).hexdigest()}]})
        self.assertEqual(s3.get_object(Bucket=self.bucket, Key="again")["Body"].read(), first)
        self.assertTrue(e_second)

    def test_multipart_abort_and_part_copy(self):
        s3 = self.s3
        source = os.urandom(6 << 20)
        s3.put_object(Bucket=self.bucket, Key="source", Body=source)
        uid = s3.create_multipart_upload(Bucket=self.bucket, Key="copied")["UploadId"]
        r1 = s3.upload_part_copy(Bucket=self.bucket, Key="copied", UploadId=uid, PartNumber=1,
                                 CopySource={"Bucket": self.bucket, "Key": "source"},
                                 CopySourceRange="bytes=0-%d" % ((5 << 20) - 1))
        r2 = s3.upload_part_copy(Bucket=self.bucket, Key="copied", UploadId=uid, PartNumber=2,
                                 CopySource={"Bucket": self.bucket, "Key": "source"},
                                 CopySourceRange="bytes=%d-%d" % (5 << 20, len(source) - 1))
        s3.complete_multipart_upload(
            Bucket=self.bucket, Key="copied", UploadId=uid,
            MultipartUpload={"Parts": [
                {"PartNumber": 1, "ETag": r1["CopyPartResult"]["ETag"]},
                {"PartNumber": 2, "ETag": r2["CopyPartResult"]["ETag"]}]})
        self.assertEqual(s3.get_object(Bucket=self.bucket, Key="copied")["Body"].read(), source)
        uid = s3.create_multipart_upload(Bucket=self.bucket, Key="aborted")["UploadId"]
        s3.upload_part(Bucket=self.bucket, Key="aborted", UploadId=uid, PartNumber=1, Body=b"x")
        s3.abort_multipart_upload(Bucket=self.bucket, Key="aborted", UploadId=uid)
        self.assertS3Error("NoSuchUpload", 404, s3.upload_part, Bucket=self.bucket,
                           Key="aborted", UploadId=uid, PartNumber=2, Body=b"x")
        self.assertS3Error("NoSuchUpload", 404, s3.abort_multipart_upload, Bucket=self.bucket,
                           Key="aborted", UploadId="0" * 32)
        self.assertS3Error("404", 404, s3.head_object, Bucket=self.bucket, Key="aborted")
        self.assertEqual(s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []), [])

    # ---- auth ----

    def test_authentication_errors(self):
        self.assertS3Error("SignatureDoesNotMatch", 403,
                           client(secret="wrong").list_objects_v2, Bucket=self.bucket)
        self.assertS3Error("InvalidAccessKeyId", 403,
                           client(key="nobody").list_objects_v2, Bucket=self.bucket)
        anonymous = boto3.client("s3", endpoint_url=GATEWAY.endpoint, region_name="us-east-1",
                                 config=Config(signature_version=botocore.UNSIGNED))
        self.assertS3Error("AccessDenied", 403, anonymous.list_objects_v2, Bucket=self.bucket)

    def test_public_read_buckets(self):
        anonymous = boto3.client("s3", endpoint_url=GATEWAY.endpoint, region_name="us-east-1",
                                 config=Config(signature_version=botocore.UNSIGNED,
                                               s3={"addressing_style": "path"}))
        self.s3.put_object(Bucket=self.bucket, Key="doc", Body=b"private")
        self.assertS3Error("AccessDenied", 403, anonymous.get_object, Bucket=self.bucket,
                           Key="doc")
        public = self.bucket[:50] + "-pub"
        self.s3.create_bucket(Bucket=public, ACL="public-read")
        self.s3.put_object(Bucket=public, Key="dir/page.html", Body=b"<p>hi</p>")
        grants = self.s3.get_bucket_acl(Bucket=public)["Grants"]
        self.assertIn("http://acs.amazonaws.com/groups/global/AllUsers",
                      [g["Grantee"].get("URI") for g in grants])
        self.assertEqual(anonymous.get_object(Bucket=public, Key="dir/page.html")["Body"].read(),
                         b"<p>hi</p>")
        self.assertEqual([o["Key"] for o in anonymous.list_objects_v2(Bucket=public)["Contents"]],
                         ["dir/page.html"])
        url = "%s/%s/dir/page.html" % (GATEWAY.endpoint, public)
        self.assertEqual(urllib.request.urlopen(url).read(), b"<p>hi</p>")
        self.assertS3Error("AccessDenied", 403, anonymous.put_object, Bucket=public, Key="x",
                           Body=b"x")
        self.assertS3Error("AccessDenied", 403, anonymous.delete_object, Bucket=public,
                           Key="dir/page.html")
        self.assertS3Error("AccessDenied", 403, client(ALICE_KEY, ALICE_SECRET).put_bucket_acl,
                           Bucket=public, ACL="private")
        self.s3.put_bucket_acl(Bucket=public, ACL="private")
        self.assertS3Error("AccessDenied", 403, anonymous.get_object, Bucket=public,
                           Key="dir/page.html")
        self.assertS3Error("NotImplemented", 501, self.s3.put_object, Bucket=public, Key="y",
                           Body=b"y", ACL="public-read-write")

    def test_presigned_urls(self):
        self.s3.put_object(Bucket=self.bucket, Key="pre", Body=b"presigned data")
        self.s3 = client(signature_version="s3v4")  # boto3 presigns with SigV2 by default
        url = self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": "pre"}, ExpiresIn=60)
        self.assertEqual(urllib.request.urlopen(url).read(), b"presigned data")
        put_url = self.s3.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": "pre-put"}, ExpiresIn=60)
        self.assertIn("X-Amz-Signature=", put_url)
        request = urllib.request.Request(put_url, data=b"uploaded", method="PUT",
                                         headers={"Content-Type": ""})
        urllib.request.urlopen(request).read()
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="pre-put")["Body"].read(),
                         b"uploaded")
        tampered = url.replace("pre?", "pre-put?")
        with self.assertRaises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(tampered)
        self.assertEqual(raised.exception.code, 403)
        self.assertIn(b"SignatureDoesNotMatch", raised.exception.read())
        expiring = self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": "pre"}, ExpiresIn=1)
        time.sleep(2.1)
        with self.assertRaises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(expiring)
        self.assertEqual(raised.exception.code, 403)
        self.assertIn(b"Request has expired", raised.exception.read())

    def test_signature_v2(self):
        v2 = client(signature_version="s3")
        v2.put_object(Bucket=self.bucket, Key="v2/obj", Body=b"old tools")
        self.assertEqual(v2.get_object(Bucket=self.bucket, Key="v2/obj")["Body"].read(),
                         b"old tools")
        url = v2.generate_presigned_url("get_object",
                                        Params={"Bucket": self.bucket, "Key": "v2/obj"})
        self.assertEqual(urllib.request.urlopen(url).read(), b"old tools")
        self.assertS3Error("SignatureDoesNotMatch", 403,
                           client(secret="wrong", signature_version="s3").get_object,
                           Bucket=self.bucket, Key="v2/obj")

    # ---- bad input ----

    def raw_put(self, key, declared, sent, extra_headers=(), half_close=True):
        """PUTs through a presigned URL with a declared Content-Length, sending `sent` bytes
        and closing; returns (status, body) or None when the server just closed."""
        import http.client
        import urllib.parse
        url = client(signature_version="s3v4").generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=60)
        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        conn.putrequest("PUT", parts.path + "?" + parts.query, skip_accept_encoding=True)
        conn.putheader("Content-Length", str(declared))
        for name, value in extra_headers:
            conn.putheader(name, value)
        conn.endheaders()
        if sent:
            conn.send(sent)
        if half_close:
            conn.sock.shutdown(1)  # no more bytes from the client
        try:
            response = conn.getresponse()
            return response.status, response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError):
            return None
        finally:
            conn.close()

    def test_truncated_bodies_leave_nothing_behind(self):
        self.raw_put("truncated", 1000, b"only ten b")
        self.assertS3Error("404", 404, self.s3.head_object, Bucket=self.bucket, Key="truncated")
        self.s3.put_object(Bucket=self.bucket, Key="kept", Body=b"old contents")
        self.raw_put("kept", 5000, b"x" * 100)
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="kept")["Body"].read(),
                         b"old contents")
        self.assertEqual(sorted(o["Key"] for o in self.s3.list_objects_v2(
            Bucket=self.bucket)["Contents"]), ["kept"])

    def test_oversized_and_malformed_requests(self):
        result = self.raw_put("huge", 6 << 30, b"", half_close=False)
        self.assertIsNotNone(result)
        self.assertEqual(result[0], 400)
        self.assertIn(b"EntityTooLarge", result[1])
        result = self.raw_put("md5", 3, b"abc", [("Content-MD5", "not base64!")],
                              half_close=False)
        self.assertEqual(result[0], 400)
        self.assertIn(b"InvalidDigest", result[1])
        # Malformed XML bodies.
        self.assertS3Error("MalformedXML", 400, self.s3.delete_objects, Bucket=self.bucket,
                           Delete={"Objects": []})
        uid = self.s3.create_multipart_upload(Bucket=self.bucket, Key="m")["UploadId"]
        self.assertS3Error("MalformedXML", 400, self.s3.complete_multipart_upload,
                           Bucket=self.bucket, Key="m", UploadId=uid,
                           MultipartUpload={"Parts": []})
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key="m", UploadId=uid)

    def test_virtual_hosted_style(self):
        import socket
        real = socket.getaddrinfo

        def resolve(host, *args, **kwargs):  # *.s3.test is the gateway
            return real("127.0.0.1" if host.endswith("s3.test") else host, *args, **kwargs)
        socket.getaddrinfo = resolve
        try:
            vhost = boto3.client(
                "s3", endpoint_url="http://s3.test:%d" % GATEWAY.ports["s3"],
                aws_access_key_id=ADMIN_KEY, aws_secret_access_key=ADMIN_SECRET,
                region_name="us-east-1", config=Config(s3={"addressing_style": "virtual"}))
            vhost.put_object(Bucket=self.bucket, Key="v/key", Body=b"virtual")
            self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="v/key")["Body"].read(),
                             b"virtual")
            listing = vhost.list_objects_v2(Bucket=self.bucket)
            self.assertEqual([o["Key"] for o in listing["Contents"]], ["v/key"])
        finally:
            socket.getaddrinfo = real

    # ---- multi-protocol ----

    def nfs_url(self, path, uid=0):
        return ("nfs://127.0.0.1/export/%s?nfsport=%d&mountport=%d&version=3&uid=%d&gid=%d" %
                (path, GATEWAY.ports["nfs"], GATEWAY.ports["mount"], uid, uid))

    def test_s3_object_read_over_nfs(self):
        # alice's object is alice's file: her uid reads it over NFS, another uid does not.
        alice = client(ALICE_KEY, ALICE_SECRET)
        bucket = "alice-" + self.bucket[:40]
        alice.create_bucket(Bucket=bucket)
        body = os.urandom(3 << 20)
        alice.put_object(Bucket=bucket, Key="shared/file.bin", Body=body)
        out = os.path.join(GATEWAY.work, "from-nfs.bin")
        subprocess.run(["nfs-cp", self.nfs_url("%s/shared/file.bin" % bucket, 1000), out],
                       check=True, timeout=60)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), body)
        other = subprocess.run(["nfs-cp", self.nfs_url("%s/shared/file.bin" % bucket, 1001),
                                out + ".other"], timeout=60, capture_output=True)
        self.assertNotEqual(other.returncode, 0, "another uid read a private S3 object")

    def test_nfs_written_file_is_an_object(self):
        # alice (uid 1000) owns the bucket; NFS clients with uid 1000 write into it.
        alice = client(ALICE_KEY, ALICE_SECRET)
        bucket = "alice-" + self.bucket[:40]
        alice.create_bucket(Bucket=bucket)
        body = os.urandom(1 << 20)
        src = os.path.join(GATEWAY.work, "nfs-src.bin")
        with open(src, "wb") as f:
            f.write(body)
        result = subprocess.run(["nfs-cp", src, self.nfs_url(self.bucket + "/x.bin", 1000)],
                                timeout=60, capture_output=True)
        self.assertNotEqual(result.returncode, 0, "uid 1000 must not write into root's bucket")
        subprocess.run(["nfs-cp", src, self.nfs_url(bucket + "/from-nfs.bin", 1000)],
                       check=True, timeout=60)
        listing = alice.list_objects_v2(Bucket=bucket)["Contents"]
        self.assertEqual([(o["Key"], o["Size"]) for o in listing], [("from-nfs.bin", len(body))])
        self.assertEqual(listing[0]["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
        got = alice.get_object(Bucket=bucket, Key="from-nfs.bin")
        self.assertEqual(got["Body"].read(), body)
        self.assertEqual(got["ETag"], listing[0]["ETag"])
        # POSIX permissions hold over S3 too: alice cannot write into root's bucket.
        self.assertS3Error("AccessDenied", 403, alice.put_object, Bucket=self.bucket, Key="a",
                           Body=b"x")


class HttpsTest(unittest.TestCase):
    """The same API over HTTPS; boto3 streams checksummed uploads there as aws-chunked bodies
    with an unsigned trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER)."""

    def setUp(self):
        self.s3 = boto3.client(
            "s3", endpoint_url=GATEWAY.tls_endpoint, verify=TLS_CERT,
            aws_access_key_id=ADMIN_KEY, aws_secret_access_key=ADMIN_SECRET,
            region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))

    def test_trailer_checksum_upload_and_download(self):
        import io
        self.s3.create_bucket(Bucket="tls-bucket")
        body = os.urandom(3 << 20)
        crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
        out = self.s3.put_object(Bucket="tls-bucket", Key="trailer.bin", Body=io.BytesIO(body),
                                 ChecksumAlgorithm="CRC32")
        self.assertEqual(out["ChecksumCRC32"], crc)
        self.assertEqual(out["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
        got = self.s3.get_object(Bucket="tls-bucket", Key="trailer.bin", ChecksumMode="ENABLED")
        self.assertEqual(got["Body"].read(), body)
        self.assertEqual(got["ChecksumCRC32"], crc)
        self.assertNotIn("ContentEncoding", got)  # aws-chunked is not part of the object
        # Multipart over TLS with per-part checksums.
        uid = self.s3.create_multipart_upload(Bucket="tls-bucket", Key="mp.bin",
                                              ChecksumAlgorithm="CRC32")["UploadId"]
        part = self.s3.upload_part(Bucket="tls-bucket", Key="mp.bin", UploadId=uid,
                                   PartNumber=1, Body=io.BytesIO(body), ChecksumAlgorithm="CRC32")
        self.assertEqual(part["ChecksumCRC32"], crc)
        self.s3.complete_multipart_upload(
            Bucket="tls-bucket", Key="mp.bin", UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"],
                                        "ChecksumCRC32": crc}]})
        self.assertEqual(self.s3.get_object(Bucket="tls-bucket", Key="mp.bin")["Body"].read(),
                         body)

    def test_one_gib_multipart_with_checksums(self):
        from boto3.s3.transfer import TransferConfig
        self.s3.create_bucket(Bucket="tls-big")
        path = os.path.join(GATEWAY.work, "1g.bin")
        block = os.urandom(16 << 20)
        digest = hashlib.sha256()
        with open(path, "wb") as f:
            for i in range(64):  # 1 GiB, every 16 MiB block different
                chunk = i.to_bytes(8, "big") + block[8:]
                f.write(chunk)
                digest.update(chunk)
        config = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=64 << 20,
                                max_concurrency=4)
        self.s3.upload_file(path, "tls-big", "big/1g.bin", Config=config,
                            ExtraArgs={"ChecksumAlgorithm": "CRC32"})
        os.unlink(path)
        head = self.s3.head_object(Bucket="tls-big", Key="big/1g.bin")
        self.assertEqual(head["ContentLength"], 1 << 30)
        self.assertTrue(head["ETag"].endswith('-16"'), head["ETag"])
        got = hashlib.sha256()
        body = self.s3.get_object(Bucket="tls-big", Key="big/1g.bin")["Body"]
        for chunk in iter(lambda: body.read(8 << 20), b""):
            got.update(chunk)
        self.assertEqual(got.hexdigest(), digest.hexdigest())
        self.s3.delete_object(Bucket="tls-big", Key="big/1g.bin")

    def test_plain_http_on_the_tls_port_is_refused(self):
        with self.assertRaises(Exception):
            urllib.request.urlopen(GATEWAY.tls_endpoint.replace("https", "http") + "/",
                                   timeout=10).read()


if __name__ == "__main__":
    GATEWAY = Gateway(sys.argv.pop(1)).start()
    try:
        unittest.main(verbosity=2)
    finally:
        GATEWAY.stop()
