#include "lib/protocols/s3/aws_chunked.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "lib/protocols/s3/sigv4.h"

namespace cfs::s3 {

namespace {
constexpr size_t kMaxLine = 4096;
constexpr size_t kMaxTrailerBytes = 16 * 1024;
constexpr absl::string_view kSignaturePrefix = "chunk-signature=";
}  // namespace

AwsChunkedDecoder::AwsChunkedDecoder(std::optional<ChunkSigning> signing)
    : signing_(std::move(signing)) {
  if (signing_.has_value()) previous_signature_ = signing_->seed_signature;
}

absl::Status AwsChunkedDecoder::Fail(absl::Status status) {
  state_ = State::kFailed;
  error_ = status;
  return status;
}

absl::Status AwsChunkedDecoder::Feed(absl::string_view in, std::string* out) {
  return FeedView(in, [out](absl::string_view data) { out->append(data.data(), data.size()); });
}

absl::Status AwsChunkedDecoder::Feed(const Buffer& in, Buffer* out) {
  for (const Buffer::Slice& slice : in.slices()) {
    absl::Status status = FeedView(slice.bytes, [&slice, out](absl::string_view data) {
      out->Append(Buffer::Wrap(slice.owner, data));
    });
    if (!status.ok()) return status;
  }
  return state_ == State::kFailed ? error_ : absl::OkStatus();
}

absl::Status AwsChunkedDecoder::FeedView(absl::string_view in,
                                         absl::FunctionRef<void(absl::string_view)> emit) {
  while (!in.empty()) {
    switch (state_) {
      case State::kFailed:
        return error_;
      case State::kDone:
        return Fail(absl::InvalidArgumentError("bytes after the end of the aws-chunked body"));
      case State::kData: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
        absl::string_view data = in.substr(0, n);
        if (chunk_hash_.has_value()) chunk_hash_->Update(data);
        emit(data);
        decoded_ += n;
        remaining_ -= n;
        in.remove_prefix(n);
        if (remaining_ == 0) {
          if (chunk_hash_.has_value()) {
            absl::Status status = CheckChunkSignature(HexEncode(chunk_hash_->Final()));
            if (!status.ok()) return Fail(status);
          }
          state_ = State::kDataEnd;
        }
        break;
      }
      case State::kSizeLine:
      case State::kDataEnd:
      case State::kTrailer: {
        size_t nl = in.find('\n');
        size_t take = nl == absl::string_view::npos ? in.size() : nl + 1;
        line_.append(in.data(), take);
        in.remove_prefix(take);
        if (line_.size() > kMaxLine) {
          return Fail(absl::InvalidArgumentError("aws-chunked line too long"));
        }
        if (nl == absl::string_view::npos) break;
        if (line_.size() < 2 || line_[line_.size() - 2] != '\r') {
          return Fail(absl::InvalidArgumentError("aws-chunked lines must end with CRLF"));
        }
        std::string line = line_.substr(0, line_.size() - 2);
        line_.clear();
        absl::Status status;
        if (state_ == State::kDataEnd) {
          if (!line.empty()) {
            return Fail(absl::InvalidArgumentError("chunk data longer than its size"));
          }
          state_ = State::kSizeLine;
        } else if (state_ == State::kSizeLine) {
          status = OnSizeLine(line);
        } else {
          status = OnTrailerLine(line);
        }
        if (!status.ok()) return Fail(status);
        break;
      }
    }
  }
  return state_ == State::kFailed ? error_ : absl::OkStatus();
}

absl::Status AwsChunkedDecoder::OnSizeLine(absl::string_view line) {
  size_t semi = line.find(';');
  absl::string_view hex = line.substr(0, semi);
  if (hex.empty() || hex.size() > 15) return absl::InvalidArgumentError("bad chunk size");
  uint64_t size = 0;
  for (char c : hex) {
    int v = absl::ascii_isdigit(c)   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
    if (v < 0) return absl::InvalidArgumentError("bad chunk size");
    size = size * 16 + static_cast<uint64_t>(v);
  }
  chunk_signature_.clear();
  if (semi != absl::string_view::npos) {
    absl::string_view ext = line.substr(semi + 1);
    if (!absl::ConsumePrefix(&ext, kSignaturePrefix) || ext.size() != 64) {
      return absl::InvalidArgumentError("bad chunk extension");
    }
    chunk_signature_ = std::string(ext);
  }
  if (signing_.has_value() && chunk_signature_.empty()) {
    return absl::PermissionDeniedError("a chunk has no signature");
  }
  if (!signing_.has_value() && !chunk_signature_.empty()) {
    return absl::InvalidArgumentError("a chunk signature in an unsigned upload");
  }
  if (size == 0) {
    if (signing_.has_value()) {
      absl::Status status = CheckChunkSignature(kEmptySha256);
      if (!status.ok()) return status;
    }
    state_ = State::kTrailer;
    return absl::OkStatus();
  }
  remaining_ = size;
  if (signing_.has_value()) chunk_hash_.emplace(DigestKind::kSha256);
  state_ = State::kData;
  return absl::OkStatus();
}

absl::Status AwsChunkedDecoder::CheckChunkSignature(absl::string_view data_sha256_hex) {
  std::string expected = SignatureHex(
      signing_->signing_key,
      ChunkStringToSign(signing_->amz_date, signing_->scope, previous_signature_, data_sha256_hex));
  chunk_hash_.reset();
  if (!SecureEquals(expected, chunk_signature_)) {
    return absl::PermissionDeniedError("a chunk signature does not match");
  }
  previous_signature_ = chunk_signature_;
  return absl::OkStatus();
}

absl::Status AwsChunkedDecoder::OnTrailerLine(absl::string_view line) {
  if (line.empty()) {
    if (signing_.has_value() && !trailers_.empty()) {
      if (trailer_signature_.empty()) {
        return absl::PermissionDeniedError("the trailer is not signed");
      }
      std::string expected = SignatureHex(
          signing_->signing_key,
          TrailerStringToSign(signing_->amz_date, signing_->scope, previous_signature_,
                              HexEncode(DigestOf(DigestKind::kSha256, trailer_canonical_))));
      if (!SecureEquals(expected, trailer_signature_)) {
        return absl::PermissionDeniedError("the trailer signature does not match");
      }
    }
    state_ = State::kDone;
    return absl::OkStatus();
  }
  trailer_bytes_ += line.size();
  if (trailer_bytes_ > kMaxTrailerBytes) return absl::InvalidArgumentError("trailer too large");
  size_t colon = line.find(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError("malformed trailer line");
  }
  std::string name = absl::AsciiStrToLower(line.substr(0, colon));
  std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  if (name == "x-amz-trailer-signature") {
    trailer_signature_ = value;
    return absl::OkStatus();
  }
  if (!trailer_signature_.empty()) {
    return absl::InvalidArgumentError("a trailer after the trailer signature");
  }
  absl::StrAppend(&trailer_canonical_, name, ":", value, "\n");
  trailers_.emplace_back(std::move(name), std::move(value));
  return absl::OkStatus();
}

}  // namespace cfs::s3
