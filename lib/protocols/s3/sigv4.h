// AWS Signature Version 4 for S3: the canonical request, string to sign, signing key and the
// chunk and trailer signatures of aws-chunked uploads. Pure functions, no I/O; the S3
// authenticator (s3_auth.h) applies them to requests.
// Reference: AWS "Signature Version 4 signing process" and "Signature calculations for the
// Authorization header / query parameters / streaming uploads" (S3 API reference).
#ifndef CFS_LIB_PROTOCOLS_S3_SIGV4_H_
#define CFS_LIB_PROTOCOLS_S3_SIGV4_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cfs::s3 {

inline constexpr absl::string_view kSigV4Algorithm = "AWS4-HMAC-SHA256";
inline constexpr absl::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct SigV4Credential {
  std::string access_key;
  std::string date;  // YYYYMMDD
  std::string region;
  std::string service;  // "s3"
  // "<date>/<region>/<service>/aws4_request"
  std::string Scope() const;
};

struct SigV4Authorization {
  SigV4Credential credential;
  std::vector<std::string> signed_headers;  // lower case, as listed
  std::string signature;                    // lower-case hex
};

// Parses "Credential=<key>/<date>/<region>/<service>/aws4_request" (the part after '=').
// Errors: kInvalidArgument with what is wrong.
absl::StatusOr<SigV4Credential> ParseCredential(absl::string_view text);
// Parses an Authorization header "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=...".
absl::StatusOr<SigV4Authorization> ParseAuthorizationHeader(absl::string_view header);

// AWS URI encoding: every byte but A-Z a-z 0-9 - . _ ~ becomes %XX (upper case); '/' is kept
// when `keep_slash`.
std::string AwsUriEncode(absl::string_view in, bool keep_slash);

struct CanonicalInput {
  absl::string_view method;
  absl::string_view raw_path;   // as sent, percent-encoded
  absl::string_view raw_query;  // as sent, percent-encoded
  // Every request header, names lower case (duplicates allowed).
  const std::vector<std::pair<std::string, std::string>>* headers = nullptr;
  std::vector<std::string> signed_headers;
  absl::string_view payload_hash;     // hex SHA-256, UNSIGNED-PAYLOAD or STREAMING-...
  bool drop_signature_param = false;  // presigned: X-Amz-Signature is not signed
};

// The canonical request. Errors: kInvalidArgument (bad escapes, a signed header that is
// missing, host not signed).
absl::StatusOr<std::string> CanonicalRequest(const CanonicalInput& input);
std::string StringToSign(absl::string_view amz_date, absl::string_view scope,
                         absl::string_view canonical_request);
std::string SigningKey(absl::string_view secret, const SigV4Credential& credential);
// Lower-case hex HMAC-SHA256 of `string_to_sign` with `signing_key`.
std::string SignatureHex(absl::string_view signing_key, absl::string_view string_to_sign);

// aws-chunked: the string to sign of one chunk (its data's SHA-256 in hex) and of the trailer
// (SHA-256 in hex of the trailing header lines "name:value\n").
std::string ChunkStringToSign(absl::string_view amz_date, absl::string_view scope,
                              absl::string_view previous_signature,
                              absl::string_view chunk_sha256_hex);
std::string TrailerStringToSign(absl::string_view amz_date, absl::string_view scope,
                                absl::string_view previous_signature,
                                absl::string_view trailer_sha256_hex);

}  // namespace cfs::s3

#endif  // CFS_LIB_PROTOCOLS_S3_SIGV4_H_
