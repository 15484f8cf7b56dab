// SigV4 against the examples published in the S3 API reference ("Signature calculations for
// the Authorization header", "... query parameters", "... streaming uploads"), plus the
// digests and the aws-chunked decoder.
#include "lib/protocols/s3/sigv4.h"

#include <string>

#include "gtest/gtest.h"
#include "lib/protocols/s3/aws_chunked.h"
#include "lib/protocols/s3/digests.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

namespace cfs::s3 {
namespace {

constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kDate[] = "20130524T000000Z";

SigV4Credential ExampleCredential() {
  return {"AKIAIOSFODNN7EXAMPLE", "20130524", "us-east-1", "s3"};
}

std::string Sign(const CanonicalInput& input) {
  absl::StatusOr<std::string> canonical = CanonicalRequest(input);
  EXPECT_TRUE(canonical.ok()) << canonical.status();
  SigV4Credential c = ExampleCredential();
  return SignatureHex(SigningKey(kSecret, c), StringToSign(kDate, c.Scope(), *canonical));
}

TEST(SigV4Test, GetObjectWithRange) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"host", "examplebucket.s3.amazonaws.com"},
      {"range", "bytes=0-9"},
      {"x-amz-content-sha256", std::string(kEmptySha256)},
      {"x-amz-date", kDate}};
  CanonicalInput input{"GET",
                       "/test.txt",
                       "",
                       &headers,
                       {"host", "range", "x-amz-content-sha256", "x-amz-date"},
                       kEmptySha256};
  EXPECT_EQ(Sign(input), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, PutObject) {
  std::string payload_hash = HexEncode(DigestOf(DigestKind::kSha256, "Welcome to Amazon S3."));
  EXPECT_EQ(payload_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  std::vector<std::pair<std::string, std::string>> headers = {
      {"date", "Fri, 24 May 2013 00:00:00 GMT"},
      {"host", "examplebucket.s3.amazonaws.com"},
      {"x-amz-content-sha256", payload_hash},
      {"x-amz-date", kDate},
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
  CanonicalInput input{
      "PUT",
      "/test%24file.text",
      "",
      &headers,
      {"date", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-storage-class"},
      payload_hash};
  EXPECT_EQ(Sign(input), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4Test, PresignedGet) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"host", "examplebucket.s3.amazonaws.com"}};
  std::string query =
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-"
      "east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-"
      "SignedHeaders=host&X-Amz-Signature=whatever";
  CanonicalInput input{"GET", "/test.txt", query, &headers, {"host"}, "UNSIGNED-PAYLOAD", true};
  EXPECT_EQ(Sign(input), "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(SigV4Test, ParsesAuthorizationHeader) {
  absl::StatusOr<SigV4Authorization> a = ParseAuthorizationHeader(
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
      "SignedHeaders=host;range;x-amz-date,Signature="
      "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->credential.access_key, "AKIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(a->credential.Scope(), "20130524/us-east-1/s3/aws4_request");
  EXPECT_EQ(a->signed_headers.size(), 3u);
  EXPECT_THAT(ParseAuthorizationHeader("AWS4-HMAC-SHA256 Credential=a/b/c"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseAuthorizationHeader("AWS AKID:sig"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(ParseAuthorizationHeader(
                   "AWS4-HMAC-SHA256 Credential=A/20130524/r/s3/aws4_request,SignedHeaders=host")
                   .ok());
}

TEST(SigV4Test, CanonicalRequestRefusesUnsignedHost) {
  std::vector<std::pair<std::string, std::string>> headers = {{"host", "h"}, {"x-amz-date", "d"}};
  CanonicalInput input{"GET", "/", "", &headers, {"x-amz-date"}, kEmptySha256};
  EXPECT_THAT(CanonicalRequest(input), StatusIs(absl::StatusCode::kInvalidArgument));
  input.signed_headers = {"host", "range"};
  EXPECT_THAT(CanonicalRequest(input),
              StatusIs(absl::StatusCode::kInvalidArgument));  // a signed header that is not there
}

std::string ExampleChunkedBody(const std::string& sig1, const std::string& sig2,
                               const std::string& sig3) {
  return "10000;chunk-signature=" + sig1 + "\r\n" + std::string(65536, 'a') + "\r\n" +
         "400;chunk-signature=" + sig2 + "\r\n" + std::string(1024, 'a') + "\r\n" +
         "0;chunk-signature=" + sig3 + "\r\n\r\n";
}

ChunkSigning ExampleChunkSigning() {
  SigV4Credential c = ExampleCredential();
  return {SigningKey(kSecret, c), kDate, c.Scope(),
          "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"};
}

TEST(AwsChunkedTest, SignedChunksOfTheDocumentationExample) {
  std::string body =
      ExampleChunkedBody("ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                         "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                         "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9");
  EXPECT_EQ(body.size(), 66824u);  // the example's Content-Length
  for (size_t slice : {body.size(), size_t{1}, size_t{1000}}) {
    AwsChunkedDecoder decoder(ExampleChunkSigning());
    std::string out;
    for (size_t i = 0; i < body.size(); i += slice) {
      ASSERT_TRUE(decoder.Feed(absl::string_view(body).substr(i, slice), &out).ok()) << slice;
    }
    EXPECT_TRUE(decoder.done());
    EXPECT_EQ(out, std::string(66560, 'a'));
  }
}

TEST(AwsChunkedTest, RejectsTamperedChunksAndSignatures) {
  std::string good1 = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
  std::string good2 = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
  std::string good3 = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";
  std::string body = ExampleChunkedBody(good1, good2, good3);
  body[100] = 'b';  // data changed
  AwsChunkedDecoder tampered(ExampleChunkSigning());
  std::string out;
  EXPECT_EQ(tampered.Feed(body, &out).code(), absl::StatusCode::kPermissionDenied);
  // Chunks reordered (a valid signature in the wrong place) fail too.
  AwsChunkedDecoder reordered(ExampleChunkSigning());
  EXPECT_EQ(reordered.Feed(ExampleChunkedBody(good2, good1, good3), &out).code(),
            absl::StatusCode::kPermissionDenied);
  // A missing signature, bad sizes, missing CRLF.
  AwsChunkedDecoder unsigned_chunk(ExampleChunkSigning());
  EXPECT_THAT(unsigned_chunk.Feed("3\r\nabc\r\n", &out),
              StatusIs(absl::StatusCode::kPermissionDenied));
  AwsChunkedDecoder bad_size(std::nullopt);
  EXPECT_THAT(bad_size.Feed("zz\r\n", &out), StatusIs(absl::StatusCode::kInvalidArgument));
  AwsChunkedDecoder too_long(std::nullopt);
  EXPECT_THAT(too_long.Feed("3\r\nabcd\r\n", &out), StatusIs(absl::StatusCode::kInvalidArgument));
  AwsChunkedDecoder after_end(std::nullopt);
  EXPECT_THAT(after_end.Feed("0\r\n\r\nextra", &out), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(AwsChunkedTest, UnsignedPayloadWithTrailer) {
  AwsChunkedDecoder decoder(std::nullopt);
  std::string out;
  ASSERT_TRUE(decoder.Feed("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n", &out).ok());
  EXPECT_TRUE(decoder.done());
  EXPECT_EQ(out, "hello");
  ASSERT_EQ(decoder.trailers().size(), 1u);
  EXPECT_EQ(decoder.trailers()[0].first, "x-amz-checksum-crc32");
  EXPECT_EQ(decoder.trailers()[0].second, "NhCmhg==");
}

TEST(AwsChunkedTest, SignedTrailer) {
  ChunkSigning signing = ExampleChunkSigning();
  // Build a signed body with our own primitives, then check the decoder accepts it and
  // refuses a changed trailer.
  std::string data_hash = HexEncode(DigestOf(DigestKind::kSha256, "hello"));
  std::string sig1 =
      SignatureHex(signing.signing_key,
                   ChunkStringToSign(kDate, signing.scope, signing.seed_signature, data_hash));
  std::string sig2 = SignatureHex(signing.signing_key,
                                  ChunkStringToSign(kDate, signing.scope, sig1, kEmptySha256));
  std::string trailer = "x-amz-checksum-crc32:NhCmhg==\n";
  std::string trailer_sig = SignatureHex(
      signing.signing_key, TrailerStringToSign(kDate, signing.scope, sig2,
                                               HexEncode(DigestOf(DigestKind::kSha256, trailer))));
  std::string body = "5;chunk-signature=" + sig1 + "\r\nhello\r\n0;chunk-signature=" + sig2 +
                     "\r\nx-amz-checksum-crc32:NhCmhg==\r\nx-amz-trailer-signature:" + trailer_sig +
                     "\r\n\r\n";
  AwsChunkedDecoder decoder(signing);
  std::string out;
  ASSERT_TRUE(decoder.Feed(body, &out).ok());
  EXPECT_TRUE(decoder.done());
  std::string changed = body;
  changed.replace(changed.find("NhCmhg=="), 8, "AAAAAA==");
  AwsChunkedDecoder refuses(signing);
  EXPECT_EQ(refuses.Feed(changed, &out).code(), absl::StatusCode::kPermissionDenied);
}

TEST(DigestsTest, KnownValues) {
  EXPECT_EQ(HexEncode(DigestOf(DigestKind::kCrc32, "123456789")), "cbf43926");
  EXPECT_EQ(HexEncode(DigestOf(DigestKind::kCrc32c, "123456789")), "e3069283");
  EXPECT_EQ(Base64Encode(DigestOf(DigestKind::kCrc32, "hello")), "NhCmhg==");
  EXPECT_EQ(HexEncode(DigestOf(DigestKind::kMd5, "")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(HexEncode(DigestOf(DigestKind::kSha1, "abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d");
  Digest split(DigestKind::kCrc32c);
  split.Update("1234");
  split.Update("56789");
  EXPECT_EQ(HexEncode(split.Final()), "e3069283");
  std::string decoded;
  EXPECT_TRUE(Base64Decode("NhCmhg==", &decoded));
  EXPECT_FALSE(Base64Decode("NhCmhg=", &decoded));
  EXPECT_FALSE(Base64Decode("Nh*mhg==", &decoded));
}

}  // namespace
}  // namespace cfs::s3
