#include "lib/protocols/s3/digests.h"

#include <isa-l/crc.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "lib/common/hmac.h"

namespace cfs::s3 {

struct Digest::Evp {
  EVP_MD_CTX* ctx = nullptr;
  ~Evp() { EVP_MD_CTX_free(ctx); }
};

Digest::Digest(DigestKind kind) : kind_(kind) {
  const EVP_MD* md = nullptr;
  switch (kind) {
    case DigestKind::kMd5:
      md = EVP_md5();
      break;
    case DigestKind::kSha1:
      md = EVP_sha1();
      break;
    case DigestKind::kSha256:
      md = EVP_sha256();
      break;
    case DigestKind::kCrc32:
      crc_ = 0;
      break;
    case DigestKind::kCrc32c:
      crc_ = 0xFFFFFFFFu;
      break;
  }
  if (md != nullptr) {
    evp_ = std::make_unique<Evp>();
    evp_->ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(evp_->ctx, md, nullptr);
  }
}

Digest::~Digest() = default;
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;

void Digest::Update(absl::string_view data) {
  if (evp_ != nullptr) {
    EVP_DigestUpdate(evp_->ctx, data.data(), data.size());
    return;
  }
  auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  if (kind_ == DigestKind::kCrc32) {
    crc_ = crc32_gzip_refl(crc_, bytes, data.size());
  } else {
    crc_ = crc32_iscsi(const_cast<unsigned char*>(bytes), static_cast<int>(data.size()), crc_);
  }
}

std::string Digest::Final() {
  if (evp_ != nullptr) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(evp_->ctx, out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
  }
  uint32_t value = kind_ == DigestKind::kCrc32c ? crc_ ^ 0xFFFFFFFFu : crc_;
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(value >> (24 - 8 * i));
  return out;
}

std::string DigestOf(DigestKind kind, absl::string_view data) {
  Digest digest(kind);
  digest.Update(data);
  return digest.Final();
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  return cfs::Hmac(EVP_sha256(), key, data);
}

std::string HmacSha1(absl::string_view key, absl::string_view data) {
  return cfs::Hmac(EVP_sha1(), key, data);
}

std::string HexEncode(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

std::string Base64Encode(absl::string_view bytes) { return absl::Base64Escape(bytes); }

bool Base64Decode(absl::string_view text, std::string* out) {
  if (text.size() % 4 != 0) return false;
  for (char c : text) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=';
    if (!ok) return false;
  }
  return absl::Base64Unescape(text, out);
}

bool SecureEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace cfs::s3
