// Authenticate() on requests signed here with the SigV4 primitives (themselves checked against
// the AWS examples in sigv4_test): clock skew, presigned expiry, payload modes, key lookup.
#include "lib/protocols/s3/s3_auth.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "lib/protocols/s3/digests.h"
#include "lib/protocols/s3/sigv4.h"

namespace cfs::s3 {
namespace {

class S3AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth::User alice;
    alice.name = "alice";
    alice.uid = 1000;
    alice.gid = 1000;
    alice.s3_keys.push_back({"AKIDALICE", "alice-secret"});
    ASSERT_TRUE(users_.Upsert(alice).ok());
  }

  static std::string AmzDate(absl::Time t) {
    return absl::FormatTime("%Y%m%dT%H%M%SZ", t, absl::UTCTimeZone());
  }

  // A GET signed in the Authorization header at time `when`.
  http::HttpRequest Signed(absl::Time when, const std::string& secret = "alice-secret",
                           const std::string& payload = std::string(kEmptySha256)) {
    http::HttpRequest r;
    r.method = "GET";
    r.target = "/bucket/key?list-type=2";
    std::string date = AmzDate(when);
    r.headers = {
        {"host", "127.0.0.1:9000"}, {"x-amz-date", date}, {"x-amz-content-sha256", payload}};
    SigV4Credential c{"AKIDALICE", date.substr(0, 8), "us-east-1", "s3"};
    CanonicalInput in{r.method,
                      r.RawPath(),
                      r.RawQuery(),
                      &r.headers,
                      {"host", "x-amz-content-sha256", "x-amz-date"},
                      payload};
    std::string signature =
        SignatureHex(SigningKey(secret, c), StringToSign(date, c.Scope(), *CanonicalRequest(in)));
    r.headers.emplace_back(
        "authorization",
        absl::StrCat("AWS4-HMAC-SHA256 Credential=AKIDALICE/", c.Scope(),
                     ",SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=", signature));
    return r;
  }

  http::HttpRequest Presigned(absl::Time when, int expires) {
    http::HttpRequest r;
    r.method = "GET";
    std::string date = AmzDate(when);
    SigV4Credential c{"AKIDALICE", date.substr(0, 8), "us-east-1", "s3"};
    std::string query =
        absl::StrCat("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDALICE%2F",
                     date.substr(0, 8), "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=", date,
                     "&X-Amz-Expires=", expires, "&X-Amz-SignedHeaders=host");
    r.target = "/bucket/key?" + query;
    r.headers = {{"host", "127.0.0.1:9000"}};
    CanonicalInput in{r.method, r.RawPath(),        r.RawQuery(), &r.headers,
                      {"host"}, "UNSIGNED-PAYLOAD", true};
    std::string signature = SignatureHex(SigningKey("alice-secret", c),
                                         StringToSign(date, c.Scope(), *CanonicalRequest(in)));
    r.target += "&X-Amz-Signature=" + signature;
    return r;
  }

  S3Or<AuthResult> Run(const http::HttpRequest& r, absl::Time now) {
    return Authenticate(AuthInput{&r, "", now}, users_);
  }

  auth::UserStore users_;
  absl::Time now_ = absl::Now();
};

TEST_F(S3AuthTest, HeaderSignatureMapsToTheUser) {
  S3Or<AuthResult> result = Run(Signed(now_), now_);
  ASSERT_TRUE(result.ok()) << result.error().code << " " << result.error().message;
  EXPECT_EQ(result->identity.uid, 1000u);
  EXPECT_EQ(result->payload, PayloadMode::kSha256);
  EXPECT_EQ(Run(Signed(now_, "wrong"), now_).error().code, "SignatureDoesNotMatch");
  http::HttpRequest tampered = Signed(now_);
  tampered.target = "/bucket/other";
  EXPECT_EQ(Run(tampered, now_).error().code, "SignatureDoesNotMatch");
}

TEST_F(S3AuthTest, ClockSkewOverFifteenMinutes) {
  EXPECT_TRUE(Run(Signed(now_ - absl::Minutes(14)), now_).ok());
  EXPECT_EQ(Run(Signed(now_ - absl::Minutes(16)), now_).error().code, "RequestTimeTooSkewed");
  EXPECT_EQ(Run(Signed(now_ + absl::Minutes(16)), now_).error().code, "RequestTimeTooSkewed");
}

TEST_F(S3AuthTest, PayloadModes) {
  S3Or<AuthResult> streaming =
      Run(Signed(now_, "alice-secret", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), now_);
  ASSERT_TRUE(streaming.ok());
  EXPECT_EQ(streaming->payload, PayloadMode::kStreamingSigned);
  ASSERT_TRUE(streaming->chunk_signing.has_value());
  EXPECT_EQ(streaming->chunk_signing->seed_signature.size(), 64u);
  EXPECT_EQ(Run(Signed(now_, "alice-secret", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"), now_)->payload,
            PayloadMode::kStreamingUnsignedTrailer);
  EXPECT_EQ(Run(Signed(now_, "alice-secret", "UNSIGNED-PAYLOAD"), now_)->payload,
            PayloadMode::kUnsigned);
  EXPECT_EQ(Run(Signed(now_, "alice-secret", "bogus"), now_).error().code, "InvalidArgument");
  http::HttpRequest missing = Signed(now_);
  missing.headers.erase(missing.headers.begin() + 2);  // x-amz-content-sha256
  EXPECT_EQ(Run(missing, now_).error().code, "InvalidRequest");
}

TEST_F(S3AuthTest, PresignedExpiry) {
  EXPECT_TRUE(Run(Presigned(now_, 60), now_ + absl::Seconds(30)).ok());
  S3Or<AuthResult> expired = Run(Presigned(now_, 60), now_ + absl::Seconds(61));
  EXPECT_EQ(expired.error().code, "AccessDenied");
  EXPECT_EQ(expired.error().message, "Request has expired");
  EXPECT_EQ(Run(Presigned(now_, 700000), now_).error().code, "AuthorizationQueryParametersError");
}

TEST_F(S3AuthTest, UnsignedAmzHeadersAreRefused) {
  http::HttpRequest copy = Presigned(now_, 60);
  copy.headers.emplace_back("x-amz-copy-source", "bucket/other-key");
  copy.headers.emplace_back("x-amz-meta-color", "red");
  S3Or<AuthResult> refused = Run(copy, now_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "AccessDenied");
  ASSERT_EQ(refused.error().details.size(), 1u);
  EXPECT_EQ(refused.error().details[0].second, "x-amz-copy-source, x-amz-meta-color");
  // The payload hash of a presigned URL is part of what was signed: it may come unlisted.
  http::HttpRequest payload = Presigned(now_, 60);
  payload.headers.emplace_back("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
  EXPECT_TRUE(Run(payload, now_).ok());
  // Header authentication: an x-amz-* header added after signing is refused as well.
  http::HttpRequest tagged = Signed(now_);
  tagged.headers.emplace_back("x-amz-tagging", "a=b");
  EXPECT_EQ(Run(tagged, now_).error().code, "AccessDenied");
  // Other headers may go unsigned, as on AWS.
  http::HttpRequest agent = Signed(now_);
  agent.headers.emplace_back("user-agent", "curl");
  EXPECT_TRUE(Run(agent, now_).ok());
}

TEST_F(S3AuthTest, UnknownKeysAnonymousAndV2) {
  http::HttpRequest r = Signed(now_);
  r.headers.back().second.replace(r.headers.back().second.find("AKIDALICE"), 9, "AKIDNOBODY");
  EXPECT_EQ(Run(r, now_).error().code, "InvalidAccessKeyId");
  http::HttpRequest anonymous;
  anonymous.method = "GET";
  anonymous.target = "/bucket/key";
  S3Or<AuthResult> nobody = Run(anonymous, now_);
  ASSERT_TRUE(nobody.ok());
  EXPECT_TRUE(nobody->anonymous);
  EXPECT_EQ(nobody->identity.uid, 65534u);
  // Signature V2: "GET\n\n\n<date>\n/bucket/key" signed with HMAC-SHA1.
  http::HttpRequest v2;
  v2.method = "GET";
  v2.target = "/bucket/key";
  std::string date = http::HttpDate(absl::ToUnixSeconds(now_));
  v2.headers = {{"date", date}};
  std::string signature =
      Base64Encode(HmacSha1("alice-secret", absl::StrCat("GET\n\n\n", date, "\n/bucket/key")));
  v2.headers.emplace_back("authorization", "AWS AKIDALICE:" + signature);
  S3Or<AuthResult> result = Run(v2, now_);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->identity.uid, 1000u);
  EXPECT_EQ(Run(v2, now_ + absl::Minutes(20)).error().code, "RequestTimeTooSkewed");
}

}  // namespace
}  // namespace cfs::s3
