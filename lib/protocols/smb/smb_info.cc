#include "lib/protocols/smb/smb_info.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/auth/nt_crypto.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/nt_acl.h"

namespace cfs::smb {

namespace {

constexpr uint64_t kEpochDelta = 11644473600ULL;  // seconds from 1601 to 1970

std::string Utf16(absl::string_view utf8) {
  std::string out;
  if (!auth::Utf8ToUtf16Le(utf8, &out)) out.clear();
  return out;
}

absl::Status BadClass(uint8_t info_class) {
  return absl::InvalidArgumentError(absl::StrCat("information class ", info_class));
}

void PutTimes(std::string* out, const backend::Attributes& a) {
  Put64(out, ToFiletime(a.birth_time.seconds != 0 ? a.birth_time : a.ctime));
  Put64(out, ToFiletime(a.atime));
  Put64(out, ToFiletime(a.mtime));
  Put64(out, ToFiletime(a.ctime));
}

std::string BasicInfo(const backend::Attributes& a) {
  std::string out;
  PutTimes(&out, a);
  Put32(&out, FileAttributesOf(a));
  Put32(&out, 0);
  return out;
}

std::string StandardInfo(const OpenFacts& f) {
  std::string out;
  Put64(&out, AllocationSizeOf(f.attrs));
  Put64(&out, f.attrs.type == backend::FileType::kDirectory ? 0 : f.attrs.size);
  Put32(&out, f.attrs.nlink);
  out.push_back(f.delete_pending ? 1 : 0);
  out.push_back(f.attrs.type == backend::FileType::kDirectory ? 1 : 0);
  Put16(&out, 0);
  return out;
}

std::string NameInfo(absl::string_view path) {
  std::string name = Utf16(absl::StrCat("\\", path));
  std::string out;
  Put32(&out, static_cast<uint32_t>(name.size()));
  out += name;
  return out;
}

// ---- SIDs ----

struct Sid {
  uint8_t authority = 0;
  std::vector<uint32_t> subs;
  size_t size = 0;
};

absl::StatusOr<Sid> DecodeSid(absl::string_view sd, size_t at) {
  if (at + 8 > sd.size() || sd[at] != 1) return absl::InvalidArgumentError("malformed SID");
  Sid sid;
  size_t count = static_cast<uint8_t>(sd[at + 1]);
  if (count > 15 || at + 8 + 4 * count > sd.size()) {
    return absl::InvalidArgumentError("malformed SID");
  }
  for (int i = 2; i < 7; ++i) {
    if (sd[at + i] != 0) return absl::UnimplementedError("SID authority has no POSIX id");
  }
  sid.authority = static_cast<uint8_t>(sd[at + 7]);
  for (size_t i = 0; i < count; ++i) sid.subs.push_back(Le32(sd, at + 8 + 4 * i));
  sid.size = 8 + 4 * count;
  return sid;
}

bool IsEveryone(const Sid& sid) {
  return sid.authority == 1 && sid.subs.size() == 1 && sid.subs[0] == 0;
}

constexpr uint32_t kRead = 0x00120089;        // FILE_GENERIC_READ
constexpr uint32_t kWrite = 0x00000116;       // data, append, EA, attributes
constexpr uint32_t kExecute = 0x000000A0;     // FILE_EXECUTE | FILE_READ_ATTRIBUTES
constexpr uint32_t kOwnerExtra = 0x000D0080;  // WRITE_DAC | WRITE_OWNER | DELETE | READ_ATTR

uint32_t MaskOf(uint32_t bits, bool directory) {
  uint32_t mask = 0x00120080;  // READ_CONTROL | SYNCHRONIZE | READ_ATTRIBUTES
  if (bits & 4) mask |= kRead;
  if (bits & 2) mask |= kWrite | (directory ? 0x40u : 0u);
  if (bits & 1) mask |= kExecute;
  return mask;
}

uint32_t BitsOf(uint32_t mask) {
  if (mask & 0x10000000) return 7;  // GENERIC_ALL
  uint32_t bits = 0;
  if (mask & (0x1 | 0x80000000)) bits |= 4;
  if (mask & (0x2 | 0x40000000)) bits |= 2;
  if (mask & (0x20 | 0x20000000)) bits |= 1;
  return bits;
}

}  // namespace

uint64_t ToFiletime(const backend::Timestamp& t) {
  if (t.seconds < -static_cast<int64_t>(kEpochDelta)) return 0;
  return static_cast<uint64_t>(t.seconds + static_cast<int64_t>(kEpochDelta)) * 10000000ULL +
         t.nanos / 100;
}

backend::Timestamp FromFiletime(uint64_t filetime) {
  backend::Timestamp t;
  t.seconds = static_cast<int64_t>(filetime / 10000000ULL) - static_cast<int64_t>(kEpochDelta);
  t.nanos = static_cast<uint32_t>((filetime % 10000000ULL) * 100);
  return t;
}

uint64_t FiletimeNow() { return ToFiletime(backend::Timestamp::Now()); }

uint32_t FileAttributesOf(const backend::Attributes& attrs) {
  if (attrs.type == backend::FileType::kDirectory) return kAttrDirectory;
  uint32_t out = kAttrArchive;
  if ((attrs.mode & 0222) == 0) out |= kAttrReadonly;
  if (attrs.flags & backend::kFileFlagSparse) out |= kAttrSparse;
  return out;
}

uint64_t AllocationSizeOf(const backend::Attributes& attrs) {
  if (attrs.type == backend::FileType::kDirectory) return 0;
  uint64_t used = std::max(attrs.space_used, attrs.size);
  return (used + 4095) / 4096 * 4096;
}

size_t MinFileInfoSize(uint8_t c) {
  switch (c) {
    case info::kBasic:
      return 40;
    case info::kStandard:
      return 24;
    case info::kInternal:
    case info::kPosition:
    case info::kAttributeTag:
      return 8;
    case info::kEa:
    case info::kAccess:
    case info::kMode:
    case info::kAlignment:
      return 4;
    case info::kAll:
      return 104;
    case info::kNetworkOpen:
      return 56;
    case info::kCompression:
      return 16;
    case info::kStream:
      return 32;
    case info::kFullEa:
      return 0;
    case info::kNormalizedName:
    case info::kName:
      return 4;
    case info::kAlternateName:
      return 8;
    default:
      return 0;
  }
}

size_t MinFsInfoSize(uint8_t c) {
  switch (c) {
    case info::kFsVolume:
      return 24;
    case info::kFsSize:
      return 24;
    case info::kFsDevice:
      return 8;
    case info::kFsAttribute:
      return 16;
    case info::kFsFullSize:
      return 32;
    case info::kFsObjectId:
      return 64;
    case info::kFsSectorSize:
      return 28;
    default:
      return 0;
  }
}

absl::StatusOr<std::string> EncodeFileInfo(uint8_t info_class, const OpenFacts& f) {
  const backend::Attributes& a = f.attrs;
  std::string out;
  switch (info_class) {
    case info::kBasic:
      return BasicInfo(a);
    case info::kStandard:
      return StandardInfo(f);
    case info::kInternal:
      Put64(&out, a.inode);
      return out;
    case info::kEa:
      Put32(&out, 0);
      return out;
    case info::kAccess:
      Put32(&out, f.granted_access);
      return out;
    case info::kPosition:
      Put64(&out, f.position);
      return out;
    case info::kMode:
      Put32(&out, f.mode);
      return out;
    case info::kAlignment:
      Put32(&out, 0);
      return out;
    case info::kAll:
      out = BasicInfo(a) + StandardInfo(f);
      Put64(&out, a.inode);
      Put32(&out, 0);  // EaSize
      Put32(&out, f.granted_access);
      Put64(&out, f.position);
      Put32(&out, f.mode);
      Put32(&out, 0);  // alignment
      out += NameInfo(f.path);
      return out;
    case info::kNormalizedName: {
      std::string name = Utf16(f.path);
      Put32(&out, static_cast<uint32_t>(name.size()));
      out += name;
      return out;
    }
    case info::kAlternateName:
      return absl::UnimplementedError("no 8.3 names");
    case info::kStream: {
      // FILE_STREAM_INFORMATION entries (MS-FSCC 2.4.43), 8-byte aligned and linked by
      // NextEntryOffset: a directory has no unnamed data stream.
      size_t last = 0;
      auto add = [&](absl::string_view stream, uint64_t size, uint64_t allocation) {
        if (!out.empty()) {
          size_t at = (out.size() + 7) & ~size_t{7};
          out.resize(at, '\0');
          uint32_t next = static_cast<uint32_t>(at - last);
          for (int k = 0; k < 4; ++k) out[last + k] = static_cast<char>(next >> (8 * k));
          last = at;
        }
        std::string name = Utf16(absl::StrCat(":", stream, ":$DATA"));
        Put32(&out, 0);
        Put32(&out, static_cast<uint32_t>(name.size()));
        Put64(&out, size);
        Put64(&out, allocation);
        out += name;
      };
      if (a.type != backend::FileType::kDirectory) add("", a.size, AllocationSizeOf(a));
      for (const auto& [stream, size] : f.named_streams) add(stream, size, size);
      return out;
    }
    case info::kCompression:
      Put64(&out, a.size);
      Put16(&out, 0);
      out.append(6, '\0');
      return out;
    case info::kNetworkOpen:
      PutTimes(&out, a);
      Put64(&out, AllocationSizeOf(a));
      Put64(&out, a.type == backend::FileType::kDirectory ? 0 : a.size);
      Put32(&out, FileAttributesOf(a));
      Put32(&out, 0);
      return out;
    case info::kAttributeTag:
      Put32(&out, FileAttributesOf(a));
      Put32(&out, 0);
      return out;
    default:
      return BadClass(info_class);
  }
}

absl::StatusOr<std::string> EncodeFsInfo(uint8_t info_class, const VolumeFacts& v) {
  std::string out;
  constexpr uint32_t kSectorsPerUnit = 8;
  constexpr uint32_t kBytesPerSector = 512;
  constexpr uint64_t kUnit = kSectorsPerUnit * kBytesPerSector;
  switch (info_class) {
    case info::kFsVolume: {
      std::string label = Utf16(v.label);
      Put64(&out, v.creation_filetime);
      Put32(&out, v.serial);
      Put32(&out, static_cast<uint32_t>(label.size()));
      out.push_back(0);
      out.push_back(0);
      out += label;
      return out;
    }
    case info::kFsSize:
      Put64(&out, v.stat.total_bytes / kUnit);
      Put64(&out, v.stat.available_bytes / kUnit);
      Put32(&out, kSectorsPerUnit);
      Put32(&out, kBytesPerSector);
      return out;
    case info::kFsFullSize:
      Put64(&out, v.stat.total_bytes / kUnit);
      Put64(&out, v.stat.available_bytes / kUnit);
      Put64(&out, v.stat.free_bytes / kUnit);
      Put32(&out, kSectorsPerUnit);
      Put32(&out, kBytesPerSector);
      return out;
    case info::kFsDevice:
      Put32(&out, 7);     // FILE_DEVICE_DISK
      Put32(&out, 0x20);  // FILE_DEVICE_IS_MOUNTED
      return out;
    case info::kFsAttribute: {
      std::string name = Utf16("NTFS");
      // CASE_SENSITIVE_SEARCH | CASE_PRESERVED_NAMES | UNICODE_ON_DISK | PERSISTENT_ACLS |
      // SUPPORTS_SPARSE_FILES | NAMED_STREAMS
      Put32(&out, 0x1 | 0x2 | 0x4 | 0x8 | 0x40 | 0x40000);
      Put32(&out, 255);
      Put32(&out, static_cast<uint32_t>(name.size()));
      out += name;
      return out;
    }
    case info::kFsObjectId:
      Put32(&out, v.serial);
      out.resize(64, '\0');
      return out;
    case info::kFsSectorSize:
      for (int i = 0; i < 4; ++i) Put32(&out, kBytesPerSector);
      Put32(&out, 0x3);  // ALIGNED_DEVICE | PARTITION_ALIGNED_ON_DEVICE
      Put32(&out, 0);
      Put32(&out, 0);
      return out;
    default:
      return BadClass(info_class);
  }
}

absl::StatusOr<std::string> EncodeDirectoryEntry(uint8_t info_class, const backend::Attributes& a,
                                                 absl::string_view name) {
  std::string utf16 = Utf16(name);
  std::string out;
  Put32(&out, 0);  // NextEntryOffset
  Put32(&out, 0);  // FileIndex
  if (info_class == info::kNames) {
    Put32(&out, static_cast<uint32_t>(utf16.size()));
    out += utf16;
    return out;
  }
  switch (info_class) {
    case info::kDirectory:
    case info::kFullDirectory:
    case info::kBothDirectory:
    case info::kIdBothDirectory:
    case info::kIdFullDirectory:
      break;
    default:
      return BadClass(info_class);
  }
  PutTimes(&out, a);
  Put64(&out, a.type == backend::FileType::kDirectory ? 0 : a.size);
  Put64(&out, AllocationSizeOf(a));
  Put32(&out, FileAttributesOf(a));
  Put32(&out, static_cast<uint32_t>(utf16.size()));
  if (info_class != info::kDirectory) Put32(&out, 0);  // EaSize
  if (info_class == info::kBothDirectory || info_class == info::kIdBothDirectory) {
    out.push_back(0);  // ShortNameLength
    out.push_back(0);
    out.append(24, '\0');
  }
  if (info_class == info::kIdBothDirectory) {
    Put16(&out, 0);
    Put64(&out, a.inode);
  } else if (info_class == info::kIdFullDirectory) {
    Put32(&out, 0);
    Put64(&out, a.inode);
  }
  out += utf16;
  return out;
}

bool MatchPattern(absl::string_view pattern, absl::string_view name) {
  if (pattern.empty() || pattern == "*" || pattern == "<") return true;
  // Iterative matching with backtracking over the last star.
  size_t p = 0;
  size_t n = 0;
  size_t star = absl::string_view::npos;
  size_t star_n = 0;
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '*' || pattern[p] == '<')) {
      star = p++;
      star_n = n;
    } else if (p < pattern.size() &&
               (pattern[p] == '?' || pattern[p] == '>' || (pattern[p] == '"' && name[n] == '.') ||
                lower(pattern[p]) == lower(name[n]))) {
      ++p;
      ++n;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() &&
         (pattern[p] == '*' || pattern[p] == '<' || pattern[p] == '>' || pattern[p] == '"')) {
    ++p;
  }
  return p == pattern.size();
}

absl::StatusOr<BasicInfoChange> DecodeBasicInfo(absl::string_view b) {
  if (b.size() < 36) return absl::InvalidArgumentError("FileBasicInformation too short");
  BasicInfoChange out;
  auto time_at = [&](size_t at) -> std::optional<backend::Timestamp> {
    uint64_t v = Le64(b, at);
    if (v == 0 || v == ~uint64_t{0} || v == ~uint64_t{0} - 1) return std::nullopt;
    return FromFiletime(v);
  };
  out.birth_time = time_at(0);
  out.atime = time_at(8);
  out.mtime = time_at(16);
  out.ctime = time_at(24);
  out.attributes = Le32(b, 32);
  return out;
}

absl::StatusOr<RenameInfo> DecodeRenameInfo(absl::string_view b) {
  if (b.size() < 20) return absl::InvalidArgumentError("FileRenameInformation too short");
  RenameInfo out;
  out.replace_if_exists = b[0] != 0;
  uint32_t length = Le32(b, 16);
  if (length == 0 || length % 2 != 0 || length > b.size() - 20) {
    return absl::InvalidArgumentError("FileRenameInformation name outside the buffer");
  }
  if (!auth::Utf16LeToUtf8(b.substr(20, length), &out.target)) {
    return absl::InvalidArgumentError("rename target is not UTF-16");
  }
  return out;
}

std::string EncodeSecurityDescriptor(const backend::Attributes& a, uint32_t additional,
                                     const Dacl* stored) {
  std::string owner = UserSid(a.uid);
  std::string group = GroupSid(a.gid);
  std::string dacl;
  uint16_t dacl_control = 0x0004;  // SE_DACL_PRESENT
  if (stored != nullptr) {
    dacl_control = stored->control;
    if (!stored->null_dacl) dacl = EncodeAcl(stored->aces);
  } else {
    bool dir = a.type == backend::FileType::kDirectory;
    auto allow = [](uint32_t mask, std::string sid) {
      smb::Ace ace;
      ace.mask = mask;
      ace.sid = std::move(sid);
      return ace;
    };
    dacl = EncodeAcl({allow(MaskOf((a.mode >> 6) & 7, dir) | kOwnerExtra, owner),
                      allow(MaskOf((a.mode >> 3) & 7, dir), group),
                      allow(MaskOf(a.mode & 7, dir), EveryoneSid())});
  }

  uint16_t control = 0x8000;  // SE_SELF_RELATIVE
  std::string body;
  uint32_t owner_at = 0, group_at = 0, dacl_at = 0;
  if (additional & kSecOwner) {
    owner_at = 20 + static_cast<uint32_t>(body.size());
    body += owner;
  }
  if (additional & kSecGroup) {
    group_at = 20 + static_cast<uint32_t>(body.size());
    body += group;
  }
  if (additional & kSecDacl) {
    control |= dacl_control;
    if (!dacl.empty()) {  // a NULL DACL is present with no offset
      dacl_at = 20 + static_cast<uint32_t>(body.size());
      body += dacl;
    }
  }
  std::string out;
  out.push_back(1);
  out.push_back(0);
  Put16(&out, control);
  Put32(&out, owner_at);
  Put32(&out, group_at);
  Put32(&out, 0);
  Put32(&out, dacl_at);
  out += body;
  return out;
}

absl::StatusOr<SecurityChange> DecodeSecurityDescriptor(absl::string_view sd, uint32_t additional,
                                                        const backend::Attributes& current) {
  if (sd.size() < 20 || sd[0] != 1) return absl::InvalidArgumentError("malformed descriptor");
  SecurityChange out;
  size_t owner_at = Le32(sd, 4);
  size_t group_at = Le32(sd, 8);
  size_t dacl_at = Le32(sd, 16);  // size_t: offset + 8 must not wrap
  if ((additional & kSecOwner) && owner_at != 0) {
    absl::StatusOr<Sid> sid = DecodeSid(sd, owner_at);
    if (!sid.ok()) return sid.status();
    if (sid->authority != 22 || sid->subs.size() != 2 || sid->subs[0] != 1) {
      return absl::UnimplementedError("owner SID has no POSIX uid");
    }
    out.uid = sid->subs[1];
  }
  if ((additional & kSecGroup) && group_at != 0) {
    absl::StatusOr<Sid> sid = DecodeSid(sd, group_at);
    if (!sid.ok()) return sid.status();
    if (sid->authority != 22 || sid->subs.size() != 2 || sid->subs[0] != 2) {
      return absl::UnimplementedError("group SID has no POSIX gid");
    }
    out.gid = sid->subs[1];
  }
  if ((additional & kSecDacl) && dacl_at != 0) {
    if (dacl_at + 8 > sd.size()) return absl::InvalidArgumentError("DACL outside descriptor");
    uint16_t count = Le16(sd, dacl_at + 4);
    size_t at = dacl_at + 8;
    uint32_t uid = out.uid.value_or(current.uid);
    uint32_t gid = out.gid.value_or(current.gid);
    uint32_t mode = current.mode & 07000;
    for (uint16_t i = 0; i < count; ++i) {
      if (at + 8 > sd.size()) return absl::InvalidArgumentError("ACE outside descriptor");
      uint8_t type = static_cast<uint8_t>(sd[at]);
      uint16_t size = Le16(sd, at + 2);
      if (size < 8 || at + size > sd.size()) return absl::InvalidArgumentError("malformed ACE");
      uint32_t mask = Le32(sd, at + 4);
      absl::StatusOr<Sid> sid = DecodeSid(sd, at + 8);
      if (!sid.ok()) return sid.status();
      if (type != 0) return absl::UnimplementedError("only allow ACEs map to mode bits");
      uint32_t bits = BitsOf(mask);
      if (IsEveryone(*sid)) {
        mode |= bits;
      } else if (sid->authority == 22 && sid->subs.size() == 2 && sid->subs[0] == 1 &&
                 sid->subs[1] == uid) {
        mode |= bits << 6;
      } else if (sid->authority == 22 && sid->subs.size() == 2 && sid->subs[0] == 2 &&
                 sid->subs[1] == gid) {
        mode |= bits << 3;
      } else {
        return absl::UnimplementedError("an ACE names a SID other than owner, group, Everyone");
      }
      at += size;
    }
    out.mode = mode;
  }
  return out;
}

}  // namespace cfs::smb
