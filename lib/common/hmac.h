// One-shot HMAC over OpenSSL's EVP digests (the API BoringSSL shares), for protocol codecs:
// S3 signatures (SHA-256, SHA-1) and SMB/NTLM keys (MD5, SHA-256).
#ifndef CFS_LIB_COMMON_HMAC_H_
#define CFS_LIB_COMMON_HMAC_H_

#include <openssl/evp.h>

#include <string>

#include "absl/strings/string_view.h"

namespace cfs {

// The raw HMAC of `data` keyed with `key` using `md` (EVP_sha256(), EVP_md5(), ...).
std::string Hmac(const EVP_MD* md, absl::string_view key, absl::string_view data);

}  // namespace cfs

#endif  // CFS_LIB_COMMON_HMAC_H_
