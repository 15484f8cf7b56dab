#include "lib/protocols/smb/smb_streams.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/backend/errors.h"

namespace cfs::smb {

namespace {

using backend::FsError;
using backend::FsErrorStatus;

std::string AttributeName(absl::string_view stream) {
  return absl::StrCat(kStreamXattrPrefix, stream);
}

absl::Status CheckName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxStreamNameLength) {
    return FsErrorStatus(FsError::kNameTooLong, "stream name is empty or too long");
  }
  return absl::OkStatus();
}

}  // namespace

backend::Attributes StreamAttributes(const backend::Attributes& base, uint64_t size) {
  backend::Attributes out = base;
  out.type = backend::FileType::kRegular;
  out.size = size;
  out.space_used = size;
  return out;
}

absl::StatusOr<std::string> FindStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                                       absl::string_view name) {
  if (absl::Status valid = CheckName(name); !valid.ok()) return valid;
  absl::StatusOr<std::string> exact = fs.GetXattr(inode, AttributeName(name));
  if (exact.ok()) return std::string(name);
  if (backend::GetFsError(exact.status()) != FsError::kNoEntry) return exact.status();
  absl::StatusOr<std::vector<std::string>> names = fs.ListXattrs(inode);
  if (!names.ok()) return names.status();
  for (absl::string_view attribute : *names) {
    if (!absl::ConsumePrefix(&attribute, kStreamXattrPrefix)) continue;
    if (absl::EqualsIgnoreCase(attribute, name)) return std::string(attribute);
  }
  return FsErrorStatus(FsError::kNoEntry, absl::StrCat("no stream '", name, "'"));
}

absl::StatusOr<std::vector<StreamInfo>> ListStreams(backend::SyncBackend& fs,
                                                    backend::InodeNumber inode) {
  absl::StatusOr<std::vector<std::string>> names = fs.ListXattrs(inode);
  if (!names.ok()) return names.status();
  std::vector<StreamInfo> streams;
  for (absl::string_view attribute : *names) {
    if (!absl::ConsumePrefix(&attribute, kStreamXattrPrefix)) continue;
    absl::StatusOr<std::string> content = fs.GetXattr(inode, AttributeName(attribute));
    if (!content.ok()) continue;  // removed meanwhile
    streams.push_back({std::string(attribute), content->size()});
  }
  return streams;
}

absl::Status CreateStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                          absl::string_view name) {
  if (absl::Status valid = CheckName(name); !valid.ok()) return valid;
  return fs.SetXattr(inode, AttributeName(name), "", backend::XattrSetMode::kCreateOnly).status();
}

absl::StatusOr<std::string> ReadStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                                       absl::string_view name) {
  return fs.GetXattr(inode, AttributeName(name));
}

absl::StatusOr<uint64_t> WriteStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                                     absl::string_view name, uint64_t offset,
                                     absl::string_view data) {
  absl::StatusOr<std::string> content = fs.GetXattr(inode, AttributeName(name));
  if (!content.ok()) return content.status();
  if (data.empty()) return content->size();
  // Larger than any attribute can be: refused before the arithmetic below could overflow.
  if (offset > (uint64_t{1} << 32) || data.size() > (uint64_t{1} << 32)) {
    return FsErrorStatus(FsError::kTooBig, "stream too large");
  }
  uint64_t end = offset + data.size();
  if (content->size() < end) content->resize(end, '\0');
  content->replace(offset, data.size(), data.data(), data.size());
  absl::StatusOr<backend::Done> stored =
      fs.SetXattr(inode, AttributeName(name), *content, backend::XattrSetMode::kReplaceOnly);
  if (!stored.ok()) return stored.status();
  return content->size();
}

absl::Status TruncateStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                            absl::string_view name, uint64_t size) {
  absl::StatusOr<std::string> content = fs.GetXattr(inode, AttributeName(name));
  if (!content.ok()) return content.status();
  if (content->size() == size) return absl::OkStatus();
  if (size > (uint64_t{1} << 32)) return FsErrorStatus(FsError::kTooBig, "stream too large");
  content->resize(size, '\0');
  return fs.SetXattr(inode, AttributeName(name), *content, backend::XattrSetMode::kReplaceOnly)
      .status();
}

absl::Status RemoveStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                          absl::string_view name) {
  return fs.RemoveXattr(inode, AttributeName(name)).status();
}

absl::Status RenameStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                          absl::string_view from, absl::string_view to, bool replace) {
  if (absl::Status valid = CheckName(to); !valid.ok()) return valid;
  absl::StatusOr<std::string> content = fs.GetXattr(inode, AttributeName(from));
  if (!content.ok()) return content.status();
  absl::StatusOr<backend::Done> stored = fs.SetXattr(
      inode, AttributeName(to), *content,
      replace ? backend::XattrSetMode::kCreateOrReplace : backend::XattrSetMode::kCreateOnly);
  if (!stored.ok()) return stored.status();
  return fs.RemoveXattr(inode, AttributeName(from)).status();
}

}  // namespace cfs::smb
