// Fuzz target: the aws-chunked decoder over a Buffer chain split at every byte. The first byte
// picks unsigned or signed (fixed key) decoding; the rest is the body. The body is decoded
// once as one string (the reference), then as chains of two slices cut at every offset (every
// 7th offset for bodies over 2 KiB) and as a chain of one-byte slices: each must give the same
// status, payload bytes and end state, so no state of the decoder depends on where the network
// cut the bytes.

#include <cstddef>
#include <cstdint>
#include <string>

#include "lib/common/buffer.h"
#include "lib/protocols/s3/aws_chunked.h"

namespace {

using cfs::Buffer;
using cfs::s3::AwsChunkedDecoder;
using cfs::s3::ChunkSigning;

struct Outcome {
  absl::StatusCode code;
  std::string payload;
  bool done;
};

std::optional<ChunkSigning> Signing(bool signed_body) {
  if (!signed_body) return std::nullopt;
  return ChunkSigning{std::string(32, 'k'), "20130524T000000Z",
                      "20130524/us-east-1/s3/aws4_request", std::string(64, '0')};
}

Outcome DecodeChain(const Buffer& chain, bool signed_body) {
  AwsChunkedDecoder decoder(Signing(signed_body));
  Buffer out;
  absl::Status s = decoder.Feed(chain, &out);
  return Outcome{s.code(), out.ToString(), decoder.done()};
}

void Check(const Outcome& want, const Outcome& got) {
  if (want.code != got.code || want.done != got.done) __builtin_trap();
  // After an error the payload so far may differ only by where the error was found: compare
  // payloads of successful decodes.
  if (want.code == absl::StatusCode::kOk && want.payload != got.payload) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  bool signed_body = (data[0] & 1) != 0;
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);

  AwsChunkedDecoder reference(Signing(signed_body));
  std::string payload;
  absl::Status s = reference.Feed(body, &payload);
  Outcome want{s.code(), payload, reference.done()};
  if (payload.size() > body.size()) __builtin_trap();  // decoding never grows the payload

  size_t step = body.size() > 2048 ? 7 : 1;
  for (size_t cut = 0; cut <= body.size(); cut += step) {
    Buffer chain = Buffer::CopyOf(absl::string_view(body).substr(0, cut));
    chain.Append(Buffer::Adopt(body.substr(cut) + std::string(300, '\0')).Take(body.size() - cut));
    Check(want, DecodeChain(chain, signed_body));
  }
  if (body.size() <= 4096) {
    Buffer bytes;
    for (char c : body)
      bytes.Append(Buffer::Adopt(std::string(1, c) + std::string(300, '\0')).Take(1));
    Check(want, DecodeChain(bytes, signed_body));
  }
  return 0;
}
