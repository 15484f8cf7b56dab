// RequestBody: reads an S3 request's payload from the HTTP exchange, decoding aws-chunked
// framing (checking chunk and trailer signatures) and computing what must be verified at the
// end: MD5 (ETag, Content-MD5), the payload SHA-256 of SigV4 and x-amz-checksum-* values from
// headers or trailers.
#ifndef CFS_LIB_PROTOCOLS_S3_REQUEST_BODY_H_
#define CFS_LIB_PROTOCOLS_S3_REQUEST_BODY_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "lib/protocols/http/http_server.h"
#include "lib/protocols/s3/aws_chunked.h"
#include "lib/protocols/s3/digests.h"
#include "lib/protocols/s3/s3_auth.h"
#include "lib/protocols/s3/s3_result.h"

namespace cfs::s3 {

class RequestBody {
 public:
  // Checks the framing headers (Content-MD5 form, x-amz-decoded-content-length, checksum
  // algorithm names, size limit) before any byte is read. `auth` is borrowed: it must outlive
  // the body (it lives in the request's call).
  static S3Or<std::unique_ptr<RequestBody>> Start(http::HttpExchange exchange,
                                                  const AuthResult& auth, uint64_t max_size);

  // The next payload bytes (slices of the received blocks, not copies); empty at the end. nullopt
  // when the client has sent nothing more yet: `resume` then runs on a worker once it has (call
  // Next again from there). Errors: IncompleteBody, RequestTimeout, SignatureDoesNotMatch,
  // EntityTooLarge, malformed aws-chunked framing.
  std::optional<S3Or<Buffer>> Next(std::function<void()> resume);

  using Checksums = std::map<std::string, std::string>;
  // Where Drain hands each piece: `next` runs once the sink took it (now or later, on any
  // thread), with the sink's error to stop the body.
  using Sink = std::function<void(Buffer piece, absl::AnyInvocable<void(S3Or<Ok>) &&> next)>;
  // Reads the whole body, handing each piece to `sink` as it arrives, then verifies it. No
  // thread waits for a slow client or for the sink: Drain returns at once, and `done` runs (on
  // whichever thread delivered the end: a worker, or the sink's callback) with the checksums
  // verified, or the first error of the body or the sink.
  static void Drain(std::shared_ptr<RequestBody> body, Sink sink,
                    absl::AnyInvocable<void(S3Or<Checksums>) &&> done);
  // After the end: checks Content-MD5, the SigV4 payload hash, x-amz-checksum-* and the decoded
  // length. The checksums verified are put in `checksums` (algorithm -> base64).
  S3Or<Ok> Verify(std::map<std::string, std::string>* checksums);
  uint64_t size() const { return size_; }
  // The payload length the request declared (Content-Length, or x-amz-decoded-content-length
  // of an aws-chunked body); nullopt when it did not.
  std::optional<uint64_t> expected_size() const;
  // Hex MD5 of the payload (valid after the end).
  const std::string& md5_hex() const { return md5_hex_; }
  const std::string& md5_raw() const { return md5_raw_; }

 private:
  RequestBody(http::HttpExchange exchange, const AuthResult& auth, uint64_t max_size);
  http::HttpExchange exchange_;
  const AuthResult& auth_;
  uint64_t max_size_;
  std::optional<AwsChunkedDecoder> chunked_;
  std::optional<uint64_t> decoded_length_;
  Digest md5_{DigestKind::kMd5};
  std::optional<Digest> sha256_;
  std::map<std::string, Digest> checksums_;  // algorithm name ("crc32", ...) -> digest
  std::string trailer_name_;                 // x-amz-trailer, if any
  uint64_t size_ = 0;
  bool ended_ = false;
  std::string md5_hex_;
  std::string md5_raw_;
};

// "crc32" -> kCrc32 ...; nullopt for unknown names.
std::optional<DigestKind> ChecksumKind(absl::string_view algorithm);

}  // namespace cfs::s3

#endif  // CFS_LIB_PROTOCOLS_S3_REQUEST_BODY_H_
