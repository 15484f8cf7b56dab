// Fuzz target: the S3 decoders of untrusted bytes. The first byte picks one: the SigV4
// Authorization header and credential parsers, the aws-chunked decoder (unsigned, and signed
// with a fixed key), and the XML request bodies (Delete, CompleteMultipartUpload, Tagging,
// CreateBucketConfiguration).

#include <cstddef>
#include <cstdint>
#include <string>

#include "lib/protocols/s3/aws_chunked.h"
#include "lib/protocols/s3/sigv4.h"
#include "lib/protocols/s3/xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  absl::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  using namespace cfs::s3;  // NOLINT: a fuzz target
  switch (data[0] % 8) {
    case 0:
      ParseAuthorizationHeader(input).IgnoreError();
      break;
    case 1:
      ParseCredential(input).IgnoreError();
      break;
    case 2:
    case 3: {
      std::optional<ChunkSigning> signing;
      if (data[0] % 8 == 3) {
        signing = ChunkSigning{std::string(32, 'k'), "20130524T000000Z",
                               "20130524/us-east-1/s3/aws4_request", std::string(64, '0')};
      }
      AwsChunkedDecoder decoder(signing);
      std::string out;
      // Feed in two pieces so the state machine resumes mid-line and mid-chunk.
      size_t half = input.size() / 2;
      if (decoder.Feed(input.substr(0, half), &out).ok()) {
        decoder.Feed(input.substr(half), &out).IgnoreError();
      }
      if (out.size() > input.size()) __builtin_trap();  // decoding never grows the payload
      break;
    }
    case 4:
      ParseDeleteRequest(input).IgnoreError();
      break;
    case 5:
      ParseCompleteMultipart(input).IgnoreError();
      break;
    case 6:
      ParseTagging(input).IgnoreError();
      break;
    case 7:
      ParseCreateBucketConfiguration(input).IgnoreError();
      break;
  }
  return 0;
}
