// What NT hashes and NTLM need besides common crypto: UTF-16LE strings and OpenSSL 3's legacy
// algorithms (MD4, RC4), which live in its "legacy" provider.
#ifndef CFS_LIB_AUTH_NT_CRYPTO_H_
#define CFS_LIB_AUTH_NT_CRYPTO_H_

#include <string>

#include "absl/strings/string_view.h"

namespace cfs::auth {

// UTF-8 to UTF-16LE, appended to `out`; false on malformed input.
bool Utf8ToUtf16Le(absl::string_view in, std::string* out);

// UTF-16LE to UTF-8, appended to `out`; false on an odd length or unpaired surrogates.
bool Utf16LeToUtf8(absl::string_view in, std::string* out);

// Loads OpenSSL 3's legacy and default providers once (no-op elsewhere). Thread-safe.
void LoadLegacyCryptoProviders();

}  // namespace cfs::auth

#endif  // CFS_LIB_AUTH_NT_CRYPTO_H_
