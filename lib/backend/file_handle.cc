#include "lib/backend/file_handle.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <utility>

namespace cfs::backend {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kBodySize = 1 + 4 + 8 + 8;
constexpr size_t kMacSize = 16;

void PutBigEndian(uint64_t value, int bytes, std::string* out) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t GetBigEndian(absl::string_view in, size_t offset, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | static_cast<uint8_t>(in[offset + i]);
  return value;
}

}  // namespace

FileHandleCodec::FileHandleCodec(std::string key) : key_(std::move(key)) {
  constexpr size_t kBlock = 64;  // SHA-256 block size
  std::string block(kBlock, '\0');
  if (key_.size() > kBlock) {
    unsigned int length = 0;
    EVP_Digest(key_.data(), key_.size(), reinterpret_cast<unsigned char*>(block.data()), &length,
               EVP_sha256(), nullptr);
  } else {
    block.replace(0, key_.size(), key_);
  }
  std::string ipad = block;
  std::string opad = block;
  for (size_t i = 0; i < kBlock; ++i) {
    ipad[i] = static_cast<char>(ipad[i] ^ 0x36);
    opad[i] = static_cast<char>(opad[i] ^ 0x5c);
  }
  inner_ = EVP_MD_CTX_new();
  outer_ = EVP_MD_CTX_new();
  EVP_DigestInit_ex(inner_, EVP_sha256(), nullptr);
  EVP_DigestUpdate(inner_, ipad.data(), ipad.size());
  EVP_DigestInit_ex(outer_, EVP_sha256(), nullptr);
  EVP_DigestUpdate(outer_, opad.data(), opad.size());
  OPENSSL_cleanse(block.data(), block.size());
  OPENSSL_cleanse(ipad.data(), ipad.size());
  OPENSSL_cleanse(opad.data(), opad.size());
}

FileHandleCodec::~FileHandleCodec() {
  EVP_MD_CTX_free(inner_);
  EVP_MD_CTX_free(outer_);
}

std::string FileHandleCodec::Mac(absl::string_view body) const {
  unsigned char inner_digest[EVP_MAX_MD_SIZE];
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_MD_CTX_copy_ex(ctx, inner_);
  EVP_DigestUpdate(ctx, body.data(), body.size());
  EVP_DigestFinal_ex(ctx, inner_digest, &length);
  EVP_MD_CTX_copy_ex(ctx, outer_);
  EVP_DigestUpdate(ctx, inner_digest, length);
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  return std::string(reinterpret_cast<char*>(digest), kMacSize);
}

std::string FileHandleCodec::Encode(const FileHandle& handle) const {
  std::string out;
  out.reserve(kEncodedSize);
  out.push_back(static_cast<char>(kVersion));
  PutBigEndian(handle.export_id, 4, &out);
  PutBigEndian(handle.inode, 8, &out);
  PutBigEndian(handle.generation, 8, &out);
  out += Mac(out);
  return out;
}

absl::StatusOr<FileHandle> FileHandleCodec::Decode(absl::string_view wire) const {
  if (wire.size() != kEncodedSize) {
    return absl::InvalidArgumentError("file handle has the wrong size");
  }
  if (static_cast<uint8_t>(wire[0]) != kVersion) {
    return absl::InvalidArgumentError("file handle has an unknown version");
  }
  std::string expected = Mac(wire.substr(0, kBodySize));
  if (CRYPTO_memcmp(expected.data(), wire.data() + kBodySize, kMacSize) != 0) {
    return absl::InvalidArgumentError("file handle failed authentication");
  }
  FileHandle handle;
  handle.export_id = static_cast<uint32_t>(GetBigEndian(wire, 1, 4));
  handle.inode = GetBigEndian(wire, 5, 8);
  handle.generation = GetBigEndian(wire, 13, 8);
  return handle;
}

std::string FileHandleCodec::GenerateKey() {
  std::string key(kMinKeySize * 2, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size()));
  return key;
}

}  // namespace cfs::backend
