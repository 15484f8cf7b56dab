// Fuzz target: the SET_INFO buffer decoders, the security descriptor and DACL decoders and the
// wildcard matcher. The first byte picks one: 'R' rename, 'S' security descriptor, 'P' pattern
// ("pattern\0name"), anything else basic information.

#include <cstddef>
#include <cstdint>

#include "lib/protocols/smb/smb_info.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cfs::smb;
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.empty()) return 0;
  char kind = in[0];
  absl::string_view rest = in.substr(1);
  if (kind == 'R') {
    DecodeRenameInfo(rest).IgnoreError();
  } else if (kind == 'S') {
    cfs::backend::Attributes current;
    current.mode = 0640;
    absl::StatusOr<SecurityChange> change =
        DecodeSecurityDescriptor(rest, kSecOwner | kSecGroup | kSecDacl, current);
    if (change.ok() && change->mode.has_value()) {
      current.mode = *change->mode;
      EncodeSecurityDescriptor(current, kSecOwner | kSecGroup | kSecDacl);
    }
    // The DACL kept as given: decoded, stored, read back, evaluated, inherited, shown.
    absl::StatusOr<Dacl> dacl = DaclOfDescriptor(rest);
    if (dacl.ok()) {
      absl::StatusOr<Dacl> stored = DecodeStoredDacl(EncodeStoredDacl(*dacl));
      if (!stored.ok() || stored->aces.size() != dacl->aces.size()) __builtin_trap();
      GrantedAccessWithDacl(*stored, cfs::backend::Identity::Of(1000, 100), current);
      InheritedDacl(*stored, true, 1000, 100);
      InheritedDacl(*stored, false, 1000, 100);
      EncodeSecurityDescriptor(current, kSecOwner | kSecGroup | kSecDacl, &*stored);
    }
  } else if (kind == 'P') {
    size_t nul = rest.find('\0');
    if (nul != absl::string_view::npos) MatchPattern(rest.substr(0, nul), rest.substr(nul + 1));
  } else {
    DecodeBasicInfo(rest).IgnoreError();
  }
  return 0;
}
