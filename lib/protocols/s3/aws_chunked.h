// AwsChunkedDecoder: decodes an `aws-chunked` request body (S3 streaming uploads) as it
// arrives: chunks "<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n", a final zero-size chunk,
// then optional trailing headers and a blank line. With signing it checks every chunk's
// signature against the previous one (the seed is the request's signature) and, for the signed
// trailer form, the x-amz-trailer-signature. Pure, single-threaded; a fuzz target.
//
// Example:
//   AwsChunkedDecoder decoder(signing);
//   CFS_RETURN_IF_ERROR(decoder.Feed(piece, &payload));  // payload grows with decoded bytes
//   // or, over received slices without copying the payload: decoder.Feed(chain, &out_chain)
//   if (decoder.done()) ... decoder.trailers() ...
#ifndef CFS_LIB_PROTOCOLS_S3_AWS_CHUNKED_H_
#define CFS_LIB_PROTOCOLS_S3_AWS_CHUNKED_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "lib/common/buffer.h"
#include "lib/protocols/s3/digests.h"

namespace cfs::s3 {

struct ChunkSigning {
  std::string signing_key;     // SigningKey() of the request's credential
  std::string amz_date;        // the request's x-amz-date
  std::string scope;           // the credential scope
  std::string seed_signature;  // the request's own signature
};

class AwsChunkedDecoder {
 public:
  // Without `signing`, chunk signatures must be absent (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
  explicit AwsChunkedDecoder(std::optional<ChunkSigning> signing);

  // Decodes `in`, appending payload bytes to `out`. Errors: kInvalidArgument (malformed
  // framing, bytes after the end), kPermissionDenied (a chunk or trailer signature that does
  // not match). After an error the decoder stays failed.
  absl::Status Feed(absl::string_view in, std::string* out);
  // The same over a chain: payload bytes go to `out` as slices of `in` (no copy); only the
  // framing lines are copied (they are short).
  absl::Status Feed(const Buffer& in, Buffer* out);
  bool done() const { return state_ == State::kDone; }
  uint64_t decoded_bytes() const { return decoded_; }
  // Trailing headers (names lower case), without x-amz-trailer-signature.
  const std::vector<std::pair<std::string, std::string>>& trailers() const { return trailers_; }

 private:
  enum class State { kSizeLine, kData, kDataEnd, kTrailer, kDone, kFailed };
  absl::Status Fail(absl::Status status);
  // Decodes `in`, handing each run of payload bytes (a view into `in`) to `emit`.
  absl::Status FeedView(absl::string_view in, absl::FunctionRef<void(absl::string_view)> emit);
  absl::Status OnSizeLine(absl::string_view line);
  absl::Status OnTrailerLine(absl::string_view line);
  absl::Status CheckChunkSignature(absl::string_view data_sha256_hex);

  std::optional<ChunkSigning> signing_;
  State state_ = State::kSizeLine;
  std::string line_;
  uint64_t remaining_ = 0;
  uint64_t decoded_ = 0;
  std::string previous_signature_;
  std::string chunk_signature_;
  std::optional<Digest> chunk_hash_;
  std::vector<std::pair<std::string, std::string>> trailers_;
  std::string trailer_canonical_;
  std::string trailer_signature_;
  size_t trailer_bytes_ = 0;
  absl::Status error_;
};

}  // namespace cfs::s3

#endif  // CFS_LIB_PROTOCOLS_S3_AWS_CHUNKED_H_
