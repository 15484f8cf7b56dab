// SHA-512 (OpenSSL EVP) for the SMB 3.1.1 preauth integrity hash.
#ifndef CFS_LIB_PROTOCOLS_SMB_DIGEST_SHA512_H_
#define CFS_LIB_PROTOCOLS_SMB_DIGEST_SHA512_H_

#include <openssl/evp.h>

#include <string>

#include "absl/strings/string_view.h"

namespace cfs::smb {

inline std::string Sha512(absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha512(), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_DIGEST_SHA512_H_
