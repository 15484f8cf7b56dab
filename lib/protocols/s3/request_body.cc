#include "lib/protocols/s3/request_body.h"

#include <mutex>  // std::mutex: visible to ThreadSanitizer
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cfs::s3 {

namespace {
constexpr absl::string_view kChecksumHeader = "x-amz-checksum-";

S3Error Incomplete() {
  return S3Error::Make(400, "IncompleteBody",
                       "You did not provide the number of bytes specified by the "
                       "Content-Length HTTP header.");
}
S3Error RequestTimeout() {
  return S3Error::Make(400, "RequestTimeout",
                       "Your socket connection to the server was not read from or written to "
                       "within the timeout period.");
}
S3Error TooLarge() {
  return S3Error::Make(400, "EntityTooLarge",
                       "Your proposed upload exceeds the maximum allowed size");
}
}  // namespace

std::optional<DigestKind> ChecksumKind(absl::string_view algorithm) {
  std::string lower = absl::AsciiStrToLower(algorithm);
  if (lower == "crc32") return DigestKind::kCrc32;
  if (lower == "crc32c") return DigestKind::kCrc32c;
  if (lower == "sha1") return DigestKind::kSha1;
  if (lower == "sha256") return DigestKind::kSha256;
  return std::nullopt;
}

RequestBody::RequestBody(http::HttpExchange exchange, const AuthResult& auth, uint64_t max_size)
    : exchange_(std::move(exchange)), auth_(auth), max_size_(max_size) {}

S3Or<std::unique_ptr<RequestBody>> RequestBody::Start(http::HttpExchange exchange,
                                                      const AuthResult& auth, uint64_t max_size) {
  const http::HttpRequest& r = exchange.request();
  std::unique_ptr<RequestBody> body(new RequestBody(exchange, auth, max_size));
  bool streaming = auth.payload == PayloadMode::kStreamingSigned ||
                   auth.payload == PayloadMode::kStreamingSignedTrailer ||
                   auth.payload == PayloadMode::kStreamingUnsignedTrailer;
  if (streaming) {
    body->chunked_.emplace(auth.chunk_signing);
    std::optional<absl::string_view> decoded = r.Header("x-amz-decoded-content-length");
    uint64_t length = 0;
    if (decoded.has_value()) {
      if (!absl::SimpleAtoi(*decoded, &length)) {
        return InvalidArgument("x-amz-decoded-content-length is not a number");
      }
      body->decoded_length_ = length;
      if (length > max_size) return TooLarge();
    } else if (auth.payload == PayloadMode::kStreamingSigned) {
      return S3Error::Make(411, "MissingContentLength",
                           "You must provide the x-amz-decoded-content-length header.");
    }
  } else if (r.content_length.value_or(0) > max_size) {
    return TooLarge();
  }
  if (auth.payload == PayloadMode::kSha256) body->sha256_.emplace(DigestKind::kSha256);
  std::optional<absl::string_view> md5 = r.Header("content-md5");
  if (md5.has_value()) {
    std::string raw;
    if (!Base64Decode(*md5, &raw) || raw.size() != 16) {
      return S3Error::Make(400, "InvalidDigest", "The Content-MD5 you specified was invalid.");
    }
  }
  for (const auto& [name, value] : r.headers) {
    if (!absl::StartsWith(name, kChecksumHeader) || name == "x-amz-checksum-algorithm" ||
        name == "x-amz-checksum-mode" || name == "x-amz-checksum-type") {
      continue;
    }
    std::string algorithm = name.substr(kChecksumHeader.size());
    std::optional<DigestKind> kind = ChecksumKind(algorithm);
    if (!kind.has_value()) return InvalidRequest(absl::StrCat("Unknown checksum ", name));
    body->checksums_.emplace(algorithm, Digest(*kind));
  }
  std::optional<absl::string_view> trailer = r.Header("x-amz-trailer");
  if (trailer.has_value()) {
    std::string name = absl::AsciiStrToLower(*trailer);
    if (!absl::StartsWith(name, kChecksumHeader) || !streaming) {
      return InvalidRequest(
          "x-amz-trailer must name an x-amz-checksum-* trailer of an "
          "aws-chunked upload");
    }
    std::string algorithm = name.substr(kChecksumHeader.size());
    std::optional<DigestKind> kind = ChecksumKind(algorithm);
    if (!kind.has_value()) return InvalidRequest(absl::StrCat("Unknown checksum ", name));
    body->trailer_name_ = name;
    body->checksums_.emplace(algorithm, Digest(*kind));
  }
  return body;
}

std::optional<uint64_t> RequestBody::expected_size() const {
  if (chunked_.has_value()) return decoded_length_;
  const http::HttpRequest& r = exchange_.request();
  if (r.chunked) return std::nullopt;
  return r.content_length.value_or(0);
}

std::optional<S3Or<Buffer>> RequestBody::Next(std::function<void()> resume) {
  while (!ended_) {
    std::optional<absl::StatusOr<Buffer>> ready = exchange_.ReadBody(1 << 20, resume);
    if (!ready.has_value()) return std::nullopt;  // `resume` runs when more has arrived
    absl::StatusOr<Buffer>& raw = *ready;
    if (raw.status().code() == absl::StatusCode::kDeadlineExceeded) {
      return S3Or<Buffer>(RequestTimeout());
    }
    if (!raw.ok()) return S3Or<Buffer>(Incomplete());
    Buffer payload;
    if (raw->empty()) {
      ended_ = true;
      if (chunked_.has_value() && !chunked_->done()) return S3Or<Buffer>(Incomplete());
    } else if (chunked_.has_value()) {
      absl::Status status = chunked_->Feed(*raw, &payload);
      if (status.code() == absl::StatusCode::kPermissionDenied) {
        return S3Or<Buffer>(S3Error::Make(403, "SignatureDoesNotMatch", status.message()));
      }
      if (!status.ok()) return S3Or<Buffer>(InvalidArgument(status.message()));
    } else {
      payload = *std::move(raw);
    }
    if (payload.empty()) continue;
    size_ += payload.size();
    if (size_ > max_size_ || (decoded_length_.has_value() && size_ > *decoded_length_)) {
      return S3Or<Buffer>(TooLarge());
    }
    // Every digest runs over the bytes once, as they pass.
    for (const Buffer::Slice& slice : payload.slices()) {
      md5_.Update(slice.bytes);
      if (sha256_.has_value()) sha256_->Update(slice.bytes);
      for (auto& [name, digest] : checksums_) digest.Update(slice.bytes);
    }
    return S3Or<Buffer>(std::move(payload));
  }
  if (md5_raw_.empty()) {
    md5_raw_ = md5_.Final();
    md5_hex_ = HexEncode(md5_raw_);
  }
  return S3Or<Buffer>(Buffer());
}

namespace {

// One Drain: steps through the body on whichever thread has it, and stops (holding no thread)
// whenever the client has sent nothing more yet or the sink has not taken the last piece.
struct Drainer : std::enable_shared_from_this<Drainer> {
  std::shared_ptr<RequestBody> body;
  RequestBody::Sink sink;
  absl::AnyInvocable<void(S3Or<RequestBody::Checksums>) &&> done;

  // Whether the sink answered before it returned (then the loop goes on: no recursion per
  // piece) or will answer later (then its answer calls Step).
  struct Handoff {
    std::mutex mu;
    bool returned = false;
    std::optional<S3Or<Ok>> answer;
  };

  void Step() {
    std::shared_ptr<Drainer> self = shared_from_this();
    while (true) {
      std::optional<S3Or<Buffer>> piece = body->Next([self] { self->Step(); });
      if (!piece.has_value()) return;
      if (!piece->ok()) return std::move(done)(piece->error());
      if ((*piece)->empty()) {
        RequestBody::Checksums checksums;
        S3Or<Ok> verified = body->Verify(&checksums);
        if (!verified.ok()) return std::move(done)(verified.error());
        return std::move(done)(std::move(checksums));
      }
      auto handoff = std::make_shared<Handoff>();
      sink(*std::move(*piece), [self, handoff](S3Or<Ok> taken) {
        {
          std::lock_guard<std::mutex> lock(handoff->mu);
          if (!handoff->returned) {
            handoff->answer = std::move(taken);
            return;
          }
        }
        if (!taken.ok()) return std::move(self->done)(taken.error());
        self->Step();
      });
      std::optional<S3Or<Ok>> answer;
      {
        std::lock_guard<std::mutex> lock(handoff->mu);
        handoff->returned = true;
        if (!handoff->answer.has_value()) return;  // the sink's callback goes on
        answer = std::move(handoff->answer);
      }
      if (!answer->ok()) return std::move(done)(answer->error());  // outside the lock
    }
  }
};

}  // namespace

void RequestBody::Drain(std::shared_ptr<RequestBody> body, Sink sink,
                        absl::AnyInvocable<void(S3Or<Checksums>) &&> done) {
  auto drainer = std::make_shared<Drainer>();
  drainer->body = std::move(body);
  drainer->sink = std::move(sink);
  drainer->done = std::move(done);
  drainer->Step();
}

S3Or<Ok> RequestBody::Verify(std::map<std::string, std::string>* checksums) {
  const http::HttpRequest& r = exchange_.request();
  if (decoded_length_.has_value() && size_ != *decoded_length_) return Incomplete();
  std::optional<absl::string_view> md5 = r.Header("content-md5");
  if (md5.has_value()) {
    std::string raw;
    Base64Decode(*md5, &raw);
    if (raw != md5_raw_) {
      return BadDigest("The Content-MD5 you specified did not match what we received.");
    }
  }
  if (sha256_.has_value() && HexEncode(sha256_->Final()) != auth_.payload_sha256) {
    return S3Error::Make(400, "XAmzContentSHA256Mismatch",
                         "The provided 'x-amz-content-sha256' header does not match what was "
                         "computed.");
  }
  for (auto& [algorithm, digest] : checksums_) {
    std::string name = absl::StrCat(kChecksumHeader, algorithm);
    std::optional<std::string> given;
    if (name == trailer_name_) {
      for (const auto& [trailer, value] : chunked_->trailers()) {
        if (trailer == name) given = value;
      }
      if (!given.has_value()) {
        return InvalidRequest(absl::StrCat("The trailer ", name, " is missing"));
      }
    } else {
      given = std::string(r.Header(name).value_or(""));
    }
    std::string computed = Base64Encode(digest.Final());
    if (computed != *given) {
      return BadDigest(
          absl::StrCat("The ", name, " you specified did not match the calculated checksum."));
    }
    (*checksums)[algorithm] = computed;
  }
  return Ok{};
}

}  // namespace cfs::s3
