#include "lib/protocols/smb/smb_streams.h"

#include <memory>
#include <mutex>
#include <optional>
#include <utility>

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

void ListStreamsAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                      backend::InodeNumber inode,
                      std::function<void(absl::StatusOr<std::vector<StreamInfo>>)> done) {
  backend::Backend* b = &backend;
  backend.ListXattrs(
      ctx, inode,
      [b, ctx, inode, done = std::move(done)](absl::StatusOr<std::vector<std::string>> names) {
        if (!names.ok()) return done(names.status());
        // The sizes are read side by side; a stream removed meanwhile is left out.
        struct Sizes {
          std::mutex mu;
          std::vector<std::optional<StreamInfo>> found;
          size_t left = 0;
        };
        auto sizes = std::make_shared<Sizes>();
        std::vector<std::string> streams;
        for (absl::string_view attribute : *names) {
          if (absl::ConsumePrefix(&attribute, kStreamXattrPrefix)) streams.emplace_back(attribute);
        }
        if (streams.empty()) return done(std::vector<StreamInfo>{});
        sizes->found.resize(streams.size());
        sizes->left = streams.size();
        auto finish = [sizes, done] {
          std::vector<StreamInfo> out;
          for (std::optional<StreamInfo>& info : sizes->found) {
            if (info.has_value()) out.push_back(*std::move(info));
          }
          done(std::move(out));
        };
        for (size_t i = 0; i < streams.size(); ++i) {
          b->GetXattr(ctx, inode, AttributeName(streams[i]),
                      [sizes, finish, i, name = streams[i]](absl::StatusOr<std::string> content) {
                        bool last;
                        {
                          std::lock_guard<std::mutex> lock(sizes->mu);
                          if (content.ok()) sizes->found[i] = StreamInfo{name, content->size()};
                          last = --sizes->left == 0;
                        }
                        if (last) finish();
                      });
        }
      });
}

absl::StatusOr<std::vector<StreamInfo>> ListStreams(backend::SyncBackend& fs,
                                                    backend::InodeNumber inode) {
  // The blocking form waits for the asynchronous one (blocking-pool callers only).
  return backend::Await<std::vector<StreamInfo>>(
      [&](backend::Callback<std::vector<StreamInfo>> done) {
        ListStreamsAsync(fs.backend(), fs.context(), inode,
                         [done = std::make_shared<backend::Callback<std::vector<StreamInfo>>>(
                              std::move(done))](absl::StatusOr<std::vector<StreamInfo>> streams) {
                           std::move (*done)(std::move(streams));
                         });
      });
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

void ReadStreamAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                     backend::InodeNumber inode, absl::string_view name,
                     backend::Callback<std::string> done) {
  backend.GetXattr(ctx, inode, AttributeName(name), std::move(done));
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
