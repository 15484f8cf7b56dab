// S3 request authentication: AWS Signature V4 (Authorization header, presigned query, all
// payload modes) and Signature V2 (header and presigned) for older tools. Maps the access key
// to the gateway user whose POSIX identity the request runs as.
#ifndef CFS_LIB_PROTOCOLS_S3_S3_AUTH_H_
#define CFS_LIB_PROTOCOLS_S3_S3_AUTH_H_

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "lib/auth/user_store.h"
#include "lib/backend/types.h"
#include "lib/protocols/http/http_message.h"
#include "lib/protocols/s3/aws_chunked.h"
#include "lib/protocols/s3/s3_result.h"

namespace cfs::s3 {

inline constexpr absl::Duration kMaxClockSkew = absl::Minutes(15);

// How the request body is protected, from x-amz-content-sha256.
enum class PayloadMode {
  kUnsigned,                 // UNSIGNED-PAYLOAD, presigned, SigV2
  kSha256,                   // a hex SHA-256 the body must match
  kStreamingSigned,          // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
  kStreamingSignedTrailer,   // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
  kStreamingUnsignedTrailer  // STREAMING-UNSIGNED-PAYLOAD-TRAILER
};

struct AuthResult {
  backend::Identity identity;
  std::string access_key;
  PayloadMode payload = PayloadMode::kUnsigned;
  std::string payload_sha256;                 // kSha256: expected hex digest
  std::optional<ChunkSigning> chunk_signing;  // kStreamingSigned*
  // No credentials: the request runs as nobody and is served only on public-read buckets.
  bool anonymous = false;
};

struct AuthInput {
  const http::HttpRequest* request = nullptr;
  std::string bucket_from_host;  // virtual-hosted style: the bucket named by Host, else ""
  absl::Time now;
};

// A request without credentials is anonymous (the handler decides what it may do).
// Errors (S3): AccessDenied (expired presigned URL), InvalidAccessKeyId,
// SignatureDoesNotMatch, RequestTimeTooSkewed, AuthorizationHeaderMalformed, InvalidRequest.
S3Or<AuthResult> Authenticate(const AuthInput& input, const auth::UserStore& users);

}  // namespace cfs::s3

#endif  // CFS_LIB_PROTOCOLS_S3_S3_AUTH_H_
