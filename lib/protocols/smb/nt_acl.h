// Windows access control lists (MS-DTYP 2.4.4-2.4.5) for SMB: the DACL a client sets is kept
// with the file and decides, together with the POSIX permissions, what a handle may do.
//
// What is stored: a DACL as the client set it (allow and deny ACEs with inheritance flags, any
// SIDs), in the extended attribute kDaclXattr of the file. Owner and group are not stored: they
// are the file's POSIX uid and gid (S-1-22-1-<uid>, S-1-22-2-<gid>), so a chown over NFS moves
// them. Files without a stored DACL show one made from their mode bits (smb_info.h).
//
// Evaluation (MS-DTYP 2.5.3.2): ACEs in order, a deny ACE removes rights not granted yet, an
// allow ACE grants rights not denied yet; INHERIT_ONLY ACEs are skipped; GENERIC_* bits map to
// the file rights. The owner always holds READ_CONTROL and WRITE_DAC, and nobody else holds
// WRITE_DAC or WRITE_OWNER, whatever an ACE says (changing the descriptor is chmod/chown, the
// owner's alone, on every protocol); root holds everything.
// Pure functions; the decoder is fuzzed (smb_info_fuzz).
#ifndef CFS_LIB_PROTOCOLS_SMB_NT_ACL_H_
#define CFS_LIB_PROTOCOLS_SMB_NT_ACL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/backend/types.h"

namespace cfs::smb {

inline constexpr absl::string_view kDaclXattr = "user.cfs.smb.dacl";

// ACE types and flags.
inline constexpr uint8_t kAceAccessAllowed = 0;
inline constexpr uint8_t kAceAccessDenied = 1;
inline constexpr uint8_t kAceObjectInherit = 0x01;
inline constexpr uint8_t kAceContainerInherit = 0x02;
inline constexpr uint8_t kAceNoPropagateInherit = 0x04;
inline constexpr uint8_t kAceInheritOnly = 0x08;
inline constexpr uint8_t kAceInherited = 0x10;

// Security descriptor control bits that describe a DACL (kept with it).
inline constexpr uint16_t kDaclControlBits = 0x0004 | 0x0008 | 0x0100 | 0x0400 | 0x1000;

struct Ace {
  uint8_t type = kAceAccessAllowed;
  uint8_t flags = 0;
  uint32_t mask = 0;
  std::string sid;   // binary SID (allow and deny ACEs)
  std::string body;  // everything after the header, for ACE types kept but not evaluated
};

struct Dacl {
  uint16_t control = 0x0004;  // SE_DACL_PRESENT and the DACL's inheritance bits
  bool null_dacl = false;     // present but empty pointer: everyone may do everything
  std::vector<Ace> aces;
};

// The GENERIC_* bits of `mask` mapped to the file rights they stand for (MS-SMB2 2.2.13.1).
uint32_t MapGenericRights(uint32_t mask);

// Binary SIDs of the Unix mapping and the well-known principals.
std::string UserSid(uint32_t uid);
std::string GroupSid(uint32_t gid);
std::string EveryoneSid();
// The SIDs `who` is known by: user, groups, Everyone, Authenticated Users.
std::vector<std::string> TokenSids(const backend::Identity& who);

// Parses an ACL structure. Errors: kInvalidArgument (malformed).
absl::StatusOr<std::vector<Ace>> DecodeAcl(absl::string_view acl);
std::string EncodeAcl(const std::vector<Ace>& aces);

// The DACL of a self-relative security descriptor (a NULL DACL when the descriptor says
// present with no ACL). Errors: kInvalidArgument.
absl::StatusOr<Dacl> DaclOfDescriptor(absl::string_view sd);

// The extended attribute value for `dacl`, and back. Errors: kInvalidArgument.
std::string EncodeStoredDacl(const Dacl& dacl);
absl::StatusOr<Dacl> DecodeStoredDacl(absl::string_view value);

// The rights `dacl` grants to a caller known by `sids` (before owner and root rules).
uint32_t GrantedByDacl(const Dacl& dacl, const std::vector<std::string>& sids);

// What a handle's caller gets on a file with `dacl`: GrantedByDacl plus the owner's implicit
// READ_CONTROL | WRITE_DAC (less WRITE_DAC and WRITE_OWNER for others), or every right for root.
uint32_t GrantedAccessWithDacl(const Dacl& dacl, const backend::Identity& who,
                               const backend::Attributes& file);

// The DACL a new file (or directory) inherits from its parent's (MS-DTYP 2.5.3.4): the object-
// inherit (files) or container-inherit (directories) ACEs, marked inherited, CREATOR OWNER and
// CREATOR GROUP replaced by the new owner and group. Null when nothing is inherited.
std::optional<Dacl> InheritedDacl(const Dacl& parent, bool directory, uint32_t uid, uint32_t gid);

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_NT_ACL_H_
