// AWS JS SDK v3 against the gateway: streaming uploads with trailing checksums
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER over plain HTTP), multipart through lib-storage, listing,
// copy and batch delete. Usage: node s3_js_test.mjs <endpoint> <access key> <secret>
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { Readable } from "node:stream";
import {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand,
  ListObjectsV2Command, CopyObjectCommand, DeleteObjectsCommand, DeleteBucketCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";

const [endpoint, accessKeyId, secretAccessKey] = process.argv.slice(2);
const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true,
                          credentials: { accessKeyId, secretAccessKey } });
const modes = [];
s3.middlewareStack.add((next) => async (args) => {
  modes.push(args.request.headers["x-amz-content-sha256"]);
  return next(args);
}, { step: "finalizeRequest", priority: "low" });

const md5 = (b) => crypto.createHash("md5").update(b).digest("hex");
const bytes = async (body) => Buffer.from(await body.transformToByteArray());
const bucket = "js-bucket";

await s3.send(new CreateBucketCommand({ Bucket: bucket }));
const data = crypto.randomBytes(300 * 1024);
for (const [key, body, extra] of [["buffer", data, {}],
                                  ["stream", Readable.from([data]), { ContentLength: data.length }]]) {
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body,
                                                   ChecksumAlgorithm: "CRC32", ...extra }));
  assert.equal(put.ETag, `"${md5(data)}"`, key);
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key,
                                                     ChecksumMode: "ENABLED" }));
  assert.equal(head.ContentLength, data.length);
  assert.equal(head.ChecksumCRC32, put.ChecksumCRC32, key);
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  assert.ok((await bytes(got.Body)).equals(data), key);
}
assert.ok(modes.includes("STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
          "the SDK sent no streaming trailer upload: " + modes.join(","));

// lib-storage: a stream of unknown length becomes a multipart upload of 5 MiB parts.
const big = crypto.randomBytes(12 * 1024 * 1024 + 123);
const upload = new Upload({ client: s3, params: { Bucket: bucket, Key: "dir/big.bin",
                                                  Body: Readable.from([big]) },
                            partSize: 5 * 1024 * 1024, queueSize: 2 });
const done = await upload.done();
assert.match(done.ETag, /-3"$/);
const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "dir/big.bin",
                                                 Range: "bytes=5242880-5242889" }));
assert.ok((await bytes(got.Body)).equals(big.subarray(5242880, 5242890)));
const whole = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "dir/big.bin" }));
assert.ok((await bytes(whole.Body)).equals(big));

await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: "dir/copy",
                                      CopySource: `${bucket}/buffer` }));
const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: "/" }));
assert.deepEqual(list.Contents.map((o) => o.Key), ["buffer", "stream"]);
assert.deepEqual(list.CommonPrefixes.map((p) => p.Prefix), ["dir/"]);
const deleted = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [
  { Key: "buffer" }, { Key: "stream" }, { Key: "dir/big.bin" }, { Key: "dir/copy" }] } }));
assert.equal(deleted.Deleted.length, 4);
await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
try {
  await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "buffer" }));
  assert.fail("HEAD after the bucket was deleted");
} catch (e) {
  assert.equal(e.$metadata.httpStatusCode, 404);
}
console.log("PASS");
