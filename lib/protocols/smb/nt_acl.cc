#include "lib/protocols/smb/nt_acl.h"

#include "lib/protocols/smb/le_bytes.h"

namespace cfs::smb {

namespace {

constexpr uint32_t kAllRights = 0x001F01FF;
constexpr uint32_t kReadControl = 0x00020000;
constexpr uint32_t kWriteDac = 0x00040000;
constexpr uint32_t kWriteOwner = 0x00080000;
constexpr uint16_t kDaclPresent = 0x0004;
constexpr uint8_t kStoredVersion = 1;

std::string Sid(uint8_t authority, std::initializer_list<uint32_t> subs) {
  std::string out;
  out.push_back(1);
  out.push_back(static_cast<char>(subs.size()));
  out.append(5, '\0');
  out.push_back(static_cast<char>(authority));
  for (uint32_t sub : subs) Put32(&out, sub);
  return out;
}

// The size of the SID at `at`, or 0 when it is malformed or runs past `limit`.
size_t SidSize(absl::string_view data, size_t at, size_t limit) {
  if (at + 8 > limit || data[at] != 1) return 0;
  size_t count = static_cast<uint8_t>(data[at + 1]);
  if (count > 15 || at + 8 + 4 * count > limit) return 0;
  return 8 + 4 * count;
}

const std::string& CreatorOwnerSid() {
  static const std::string* sid = new std::string(Sid(3, {0}));
  return *sid;
}
const std::string& CreatorGroupSid() {
  static const std::string* sid = new std::string(Sid(3, {1}));
  return *sid;
}

bool Evaluated(const Ace& ace) {
  return ace.type == kAceAccessAllowed || ace.type == kAceAccessDenied;
}

}  // namespace

uint32_t MapGenericRights(uint32_t mask) {
  uint32_t out = mask & 0x0FFFFFFF;
  if (mask & 0x80000000) out |= 0x00120089;  // GENERIC_READ
  if (mask & 0x40000000) out |= 0x00120116;  // GENERIC_WRITE
  if (mask & 0x20000000) out |= 0x001200A0;  // GENERIC_EXECUTE
  if (mask & 0x10000000) out |= kAllRights;  // GENERIC_ALL
  return out;
}

std::string UserSid(uint32_t uid) { return Sid(22, {1, uid}); }
std::string GroupSid(uint32_t gid) { return Sid(22, {2, gid}); }
std::string EveryoneSid() { return Sid(1, {0}); }

std::vector<std::string> TokenSids(const backend::Identity& who) {
  std::vector<std::string> sids = {UserSid(who.uid), GroupSid(who.gid)};
  for (uint32_t gid : who.groups) sids.push_back(GroupSid(gid));
  sids.push_back(EveryoneSid());
  sids.push_back(Sid(5, {11}));  // Authenticated Users
  return sids;
}

absl::StatusOr<std::vector<Ace>> DecodeAcl(absl::string_view acl) {
  if (acl.size() < 8 || (acl[0] != 2 && acl[0] != 4)) {
    return absl::InvalidArgumentError("malformed ACL header");
  }
  size_t size = Le16(acl, 2);
  if (size < 8 || size > acl.size()) return absl::InvalidArgumentError("ACL size");
  uint16_t count = Le16(acl, 4);
  std::vector<Ace> aces;
  size_t at = 8;
  for (uint16_t i = 0; i < count; ++i) {
    if (at + 4 > size) return absl::InvalidArgumentError("ACE outside the ACL");
    Ace ace;
    ace.type = static_cast<uint8_t>(acl[at]);
    ace.flags = static_cast<uint8_t>(acl[at + 1]);
    size_t ace_size = Le16(acl, at + 2);
    if (ace_size < 8 || ace_size % 4 != 0 || at + ace_size > size) {
      return absl::InvalidArgumentError("malformed ACE size");
    }
    ace.mask = Le32(acl, at + 4);
    if (Evaluated(ace)) {
      size_t sid_size = SidSize(acl, at + 8, at + ace_size);
      if (sid_size == 0) return absl::InvalidArgumentError("malformed SID in ACE");
      ace.sid = std::string(acl.substr(at + 8, sid_size));
    } else {
      ace.body = std::string(acl.substr(at + 4, ace_size - 4));
    }
    aces.push_back(std::move(ace));
    at += ace_size;
  }
  return aces;
}

std::string EncodeAcl(const std::vector<Ace>& aces) {
  std::string body;
  bool object_aces = false;
  for (const Ace& ace : aces) {
    std::string payload;
    if (Evaluated(ace)) {
      Put32(&payload, ace.mask);
      payload += ace.sid;
    } else {
      payload = ace.body;
      object_aces |= ace.type >= 5 && ace.type <= 8;
    }
    while ((4 + payload.size()) % 4 != 0) payload.push_back('\0');
    body.push_back(static_cast<char>(ace.type));
    body.push_back(static_cast<char>(ace.flags));
    Put16(&body, static_cast<uint16_t>(4 + payload.size()));
    body += payload;
  }
  std::string out;
  out.push_back(object_aces ? 4 : 2);
  out.push_back(0);
  Put16(&out, static_cast<uint16_t>(8 + body.size()));
  Put16(&out, static_cast<uint16_t>(aces.size()));
  Put16(&out, 0);
  return out + body;
}

absl::StatusOr<Dacl> DaclOfDescriptor(absl::string_view sd) {
  if (sd.size() < 20 || sd[0] != 1) return absl::InvalidArgumentError("malformed descriptor");
  Dacl dacl;
  uint16_t control = Le16(sd, 2);
  dacl.control = static_cast<uint16_t>((control & kDaclControlBits) | kDaclPresent);
  size_t dacl_at = Le32(sd, 16);
  if (!(control & kDaclPresent) || dacl_at == 0) {
    dacl.null_dacl = true;
    return dacl;
  }
  if (dacl_at < 20 || dacl_at + 8 > sd.size()) {
    return absl::InvalidArgumentError("DACL outside the descriptor");
  }
  absl::StatusOr<std::vector<Ace>> aces = DecodeAcl(sd.substr(dacl_at));
  if (!aces.ok()) return aces.status();
  dacl.aces = std::move(*aces);
  return dacl;
}

std::string EncodeStoredDacl(const Dacl& dacl) {
  std::string out;
  out.push_back(static_cast<char>(kStoredVersion));
  Put16(&out, dacl.control);
  out.push_back(dacl.null_dacl ? 1 : 0);
  if (!dacl.null_dacl) out += EncodeAcl(dacl.aces);
  return out;
}

absl::StatusOr<Dacl> DecodeStoredDacl(absl::string_view value) {
  if (value.size() < 4 || value[0] != kStoredVersion) {
    return absl::InvalidArgumentError("unknown stored DACL format");
  }
  Dacl dacl;
  dacl.control = Le16(value, 1);
  dacl.null_dacl = value[3] != 0;
  if (dacl.null_dacl) return dacl;
  absl::StatusOr<std::vector<Ace>> aces = DecodeAcl(value.substr(4));
  if (!aces.ok()) return aces.status();
  dacl.aces = std::move(*aces);
  return dacl;
}

uint32_t GrantedByDacl(const Dacl& dacl, const std::vector<std::string>& sids) {
  if (dacl.null_dacl) return kAllRights;
  uint32_t granted = 0;
  uint32_t denied = 0;
  for (const Ace& ace : dacl.aces) {
    if (!Evaluated(ace) || (ace.flags & kAceInheritOnly)) continue;
    bool matches = false;
    for (const std::string& sid : sids) matches |= sid == ace.sid;
    if (!matches) continue;
    uint32_t mask = MapGenericRights(ace.mask);
    if (ace.type == kAceAccessAllowed) {
      granted |= mask & ~denied;
    } else {
      denied |= mask & ~granted;
    }
  }
  return granted;
}

uint32_t GrantedAccessWithDacl(const Dacl& dacl, const backend::Identity& who,
                               const backend::Attributes& file) {
  if (who.IsRoot()) return kAllRights;
  uint32_t granted = GrantedByDacl(dacl, TokenSids(who));
  // The descriptor is the owner's to change, as chmod is: an ACE cannot give that away.
  if (who.uid == file.uid) {
    granted |= kReadControl | kWriteDac;
  } else {
    granted &= ~(kWriteDac | kWriteOwner);
  }
  return granted;
}

std::optional<Dacl> InheritedDacl(const Dacl& parent, bool directory, uint32_t uid, uint32_t gid) {
  if (parent.null_dacl) return std::nullopt;
  Dacl out;
  bool inherited_any = false;
  auto effective_sid = [&](const std::string& sid) {
    if (sid == CreatorOwnerSid()) return UserSid(uid);
    if (sid == CreatorGroupSid()) return GroupSid(gid);
    return sid;
  };
  for (const Ace& ace : parent.aces) {
    if (!Evaluated(ace)) continue;
    bool no_propagate = (ace.flags & kAceNoPropagateInherit) != 0;
    if (!directory) {
      if (!(ace.flags & kAceObjectInherit)) continue;
      Ace child = ace;
      child.flags = kAceInherited;
      child.sid = effective_sid(ace.sid);
      out.aces.push_back(std::move(child));
      inherited_any = true;
      continue;
    }
    if (ace.flags & kAceContainerInherit) {
      // Applies to the new directory, and (unless no-propagate) passes on further down.
      Ace child = ace;
      child.sid = effective_sid(ace.sid);
      child.flags = kAceInherited;
      bool creator = child.sid != ace.sid;
      if (!no_propagate && !creator) {
        child.flags |= ace.flags & (kAceObjectInherit | kAceContainerInherit);
      }
      out.aces.push_back(child);
      if (!no_propagate && creator) {
        Ace passed = ace;  // CREATOR OWNER stays for the directory's own children
        passed.flags =
            static_cast<uint8_t>(kAceInherited | kAceInheritOnly |
                                 (ace.flags & (kAceObjectInherit | kAceContainerInherit)));
        out.aces.push_back(passed);
      }
      inherited_any = true;
    } else if ((ace.flags & kAceObjectInherit) && !no_propagate) {
      Ace passed = ace;  // for files below only
      passed.flags = kAceInherited | kAceInheritOnly | kAceObjectInherit;
      out.aces.push_back(passed);
      inherited_any = true;
    }
  }
  if (!inherited_any) return std::nullopt;
  out.control = kDaclPresent | 0x0400;  // SE_DACL_AUTO_INHERITED
  return out;
}

}  // namespace cfs::smb
