// Fuzz target: the A4 frame decoders must reject or accept any bytes without crashing, and an
// accepted frame must encode back to the same bytes (the codec has one encoding per frame).
// Input: a 24-byte header followed by the payload.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "lib/backends/remote/a4_frame.h"

namespace a4 = cfs::remote::a4;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (bytes.size() < a4::kHeaderSize) {
    (void)a4::DecodeHeader(bytes);
    return 0;
  }
  absl::StatusOr<a4::Header> header = a4::DecodeHeader(bytes.substr(0, a4::kHeaderSize));
  if (!header.ok()) return 0;
  absl::string_view payload = bytes.substr(a4::kHeaderSize);
  if (header->kind == a4::Kind::kRequest) {
    absl::StatusOr<a4::Request> req = a4::DecodeRequest(*header, payload);
    if (!req.ok()) return 0;
    std::string again = a4::EncodeRequest(*req);
    if (req->op == a4::Op::kWrite) again += std::string(req->data);
    if (again != bytes) std::abort();
  } else {
    absl::StatusOr<a4::Response> resp = a4::DecodeResponse(*header, payload);
    if (!resp.ok()) return 0;
    // Error responses keep at most 1 KiB of their message; the rest must round-trip exactly.
    if (!resp->status.ok()) return 0;
    std::string again = a4::EncodeResponse(*resp);
    if (resp->op == a4::Op::kRead) again += std::string(resp->data);
    if (again != bytes) std::abort();
  }
  return 0;
}
