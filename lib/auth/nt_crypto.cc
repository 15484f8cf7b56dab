#include "lib/auth/nt_crypto.h"

#include <openssl/opensslv.h>
#if OPENSSL_VERSION_MAJOR >= 3
#include <openssl/provider.h>
#endif

namespace cfs::auth {

bool Utf8ToUtf16Le(absl::string_view in, std::string* out) {
  size_t i = 0;
  while (i < in.size()) {
    unsigned char c = in[i];
    uint32_t cp;
    int extra;
    if (c < 0x80) {
      cp = c;
      extra = 0;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      extra = 2;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07;
      extra = 3;
    } else {
      return false;
    }
    if (i + extra >= in.size()) return false;  // truncated sequence
    for (int k = 1; k <= extra; ++k) {
      unsigned char cc = in[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    i += extra + 1;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    auto put = [out](uint32_t unit) {
      out->push_back(static_cast<char>(unit & 0xFF));
      out->push_back(static_cast<char>(unit >> 8));
    };
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xD800 | (cp >> 10));
      put(0xDC00 | (cp & 0x3FF));
    } else {
      put(cp);
    }
  }
  return true;
}

namespace {
#if OPENSSL_VERSION_MAJOR >= 3
// MD4 and RC4 live in OpenSSL 3's legacy provider: loaded (beside the default one) on first
// use and unloaded at exit.
class LegacyProviders {
 public:
  LegacyProviders()
      : legacy_(OSSL_PROVIDER_load(nullptr, "legacy")),
        default_(OSSL_PROVIDER_load(nullptr, "default")) {}
  ~LegacyProviders() {
    if (legacy_ != nullptr) OSSL_PROVIDER_unload(legacy_);
    if (default_ != nullptr) OSSL_PROVIDER_unload(default_);
  }

 private:
  OSSL_PROVIDER* legacy_;
  OSSL_PROVIDER* default_;
};
#endif
}  // namespace

bool Utf16LeToUtf8(absl::string_view in, std::string* out) {
  if (in.size() % 2 != 0) return false;
  for (size_t i = 0; i < in.size(); i += 2) {
    uint32_t cp = static_cast<uint8_t>(in[i]) | (static_cast<uint8_t>(in[i + 1]) << 8);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (i + 3 >= in.size()) return false;
      uint32_t low = static_cast<uint8_t>(in[i + 2]) | (static_cast<uint8_t>(in[i + 3]) << 8);
      if (low < 0xDC00 || low > 0xDFFF) return false;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      i += 2;
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return false;
    }
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return true;
}

void LoadLegacyCryptoProviders() {
#if OPENSSL_VERSION_MAJOR >= 3
  static const LegacyProviders providers;
#endif
}

}  // namespace cfs::auth
