// Streaming digests S3 needs: MD5 (ETags, Content-MD5), SHA-1 and SHA-256 (payload hashes and
// x-amz-checksum-*) through OpenSSL EVP, CRC32 and CRC32C through ISA-L; plus HMAC-SHA256 for
// signatures and the hex/base64 encodings they travel in. See docs/dependencies.md.
#ifndef CFS_LIB_PROTOCOLS_S3_DIGESTS_H_
#define CFS_LIB_PROTOCOLS_S3_DIGESTS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace cfs::s3 {

enum class DigestKind { kMd5, kSha1, kSha256, kCrc32, kCrc32c };

// One running digest. Not thread-safe; movable.
class Digest {
 public:
  explicit Digest(DigestKind kind);
  ~Digest();
  Digest(Digest&&) noexcept;
  Digest& operator=(Digest&&) noexcept;
  void Update(absl::string_view data);
  // The raw digest bytes (CRCs big-endian, 4 bytes). The digest can't be updated afterwards.
  std::string Final();
  DigestKind kind() const { return kind_; }

 private:
  DigestKind kind_;
  struct Evp;
  std::unique_ptr<Evp> evp_;
  uint32_t crc_ = 0;
};

std::string DigestOf(DigestKind kind, absl::string_view data);
std::string HmacSha256(absl::string_view key, absl::string_view data);
std::string HmacSha1(absl::string_view key, absl::string_view data);
std::string HexEncode(absl::string_view bytes);  // lower case
std::string Base64Encode(absl::string_view bytes);
// Strict standard base64 with padding; false when malformed.
bool Base64Decode(absl::string_view text, std::string* out);
// Constant-time equality for signatures.
bool SecureEquals(absl::string_view a, absl::string_view b);

}  // namespace cfs::s3

#endif  // CFS_LIB_PROTOCOLS_S3_DIGESTS_H_
