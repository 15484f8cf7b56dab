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

// Blocks for an asynchronous form (the blocking forms are for tests and tools).
template <typename T, typename StartFn>
absl::StatusOr<T> Wait(StartFn&& start) {
  return backend::Await<T>([&](backend::Callback<T> done) {
    auto shared = std::make_shared<backend::Callback<T>>(std::move(done));
    start([shared](absl::StatusOr<T> result) { std::move (*shared)(std::move(result)); });
  });
}

template <typename StartFn>
absl::Status WaitStatus(StartFn&& start) {
  return Wait<bool>([&](auto done) {
           start([done](absl::Status status) {
             if (!status.ok()) return done(status);
             done(true);
           });
         })
      .status();
}

}  // namespace

backend::Attributes StreamAttributes(const backend::Attributes& base, uint64_t size) {
  backend::Attributes out = base;
  out.type = backend::FileType::kRegular;
  out.size = size;
  out.space_used = size;
  return out;
}

void FindStreamAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                     backend::InodeNumber inode, std::string name,
                     std::function<void(absl::StatusOr<std::string>)> done) {
  if (absl::Status valid = CheckName(name); !valid.ok()) return done(valid);
  backend::Backend* b = &backend;
  backend.GetXattr(
      ctx, inode, AttributeName(name),
      [b, ctx, inode, name, done = std::move(done)](absl::StatusOr<std::string> exact) mutable {
        if (exact.ok()) return done(std::move(name));
        if (backend::GetFsError(exact.status()) != FsError::kNoEntry) return done(exact.status());
        b->ListXattrs(
            ctx, inode,
            [name, done = std::move(done)](absl::StatusOr<std::vector<std::string>> names) {
              if (!names.ok()) return done(names.status());
              for (absl::string_view attribute : *names) {
                if (!absl::ConsumePrefix(&attribute, kStreamXattrPrefix)) continue;
                if (absl::EqualsIgnoreCase(attribute, name)) {
                  return done(std::string(attribute));
                }
              }
              done(FsErrorStatus(FsError::kNoEntry, absl::StrCat("no stream '", name, "'")));
            });
      });
}

absl::StatusOr<std::string> FindStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                                       absl::string_view name) {
  return Wait<std::string>([&](auto done) {
    FindStreamAsync(fs.backend(), fs.context(), inode, std::string(name), std::move(done));
  });
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

void CreateStreamAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                       backend::InodeNumber inode, absl::string_view name, StreamDone done) {
  if (absl::Status valid = CheckName(name); !valid.ok()) return done(valid);
  backend.SetXattr(
      ctx, inode, AttributeName(name), "", backend::XattrSetMode::kCreateOnly,
      [done = std::move(done)](absl::StatusOr<backend::Done> set) { done(set.status()); });
}

absl::Status CreateStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                          absl::string_view name) {
  return WaitStatus(
      [&](StreamDone done) { CreateStreamAsync(fs.backend(), fs.context(), inode, name, done); });
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

void WriteStreamAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                      backend::InodeNumber inode, absl::string_view name, uint64_t offset,
                      absl::string_view data, std::function<void(absl::StatusOr<uint64_t>)> done) {
  backend::Backend* b = &backend;
  backend.GetXattr(ctx, inode, AttributeName(name),
                   [b, ctx, inode, attribute = AttributeName(name), offset, data,
                    done = std::move(done)](absl::StatusOr<std::string> content) mutable {
                     if (!content.ok()) return done(content.status());
                     if (data.empty()) return done(content->size());
                     // Larger than any attribute can be: refused before the arithmetic below could
                     // overflow.
                     if (offset > (uint64_t{1} << 32) || data.size() > (uint64_t{1} << 32)) {
                       return done(FsErrorStatus(FsError::kTooBig, "stream too large"));
                     }
                     uint64_t end = offset + data.size();
                     if (content->size() < end) content->resize(end, '\0');
                     content->replace(offset, data.size(), data.data(), data.size());
                     uint64_t size = content->size();
                     b->SetXattr(
                         ctx, inode, attribute, *content, backend::XattrSetMode::kReplaceOnly,
                         [size, done = std::move(done)](absl::StatusOr<backend::Done> stored) {
                           if (!stored.ok()) return done(stored.status());
                           done(size);
                         });
                   });
}

absl::StatusOr<uint64_t> WriteStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                                     absl::string_view name, uint64_t offset,
                                     absl::string_view data) {
  return Wait<uint64_t>([&](auto done) {
    WriteStreamAsync(fs.backend(), fs.context(), inode, name, offset, data, std::move(done));
  });
}

void TruncateStreamAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                         backend::InodeNumber inode, absl::string_view name, uint64_t size,
                         StreamDone done) {
  backend::Backend* b = &backend;
  backend.GetXattr(ctx, inode, AttributeName(name),
                   [b, ctx, inode, attribute = AttributeName(name), size,
                    done = std::move(done)](absl::StatusOr<std::string> content) mutable {
                     if (!content.ok()) return done(content.status());
                     if (content->size() == size) return done(absl::OkStatus());
                     if (size > (uint64_t{1} << 32)) {
                       return done(FsErrorStatus(FsError::kTooBig, "stream too large"));
                     }
                     content->resize(size, '\0');
                     b->SetXattr(ctx, inode, attribute, *content,
                                 backend::XattrSetMode::kReplaceOnly,
                                 [done = std::move(done)](absl::StatusOr<backend::Done> stored) {
                                   done(stored.status());
                                 });
                   });
}

absl::Status TruncateStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                            absl::string_view name, uint64_t size) {
  return WaitStatus([&](StreamDone done) {
    TruncateStreamAsync(fs.backend(), fs.context(), inode, name, size, done);
  });
}

void RemoveStreamAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                       backend::InodeNumber inode, absl::string_view name, StreamDone done) {
  backend.RemoveXattr(
      ctx, inode, AttributeName(name),
      [done = std::move(done)](absl::StatusOr<backend::Done> removed) { done(removed.status()); });
}

absl::Status RemoveStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                          absl::string_view name) {
  return WaitStatus(
      [&](StreamDone done) { RemoveStreamAsync(fs.backend(), fs.context(), inode, name, done); });
}

void RenameStreamAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                       backend::InodeNumber inode, absl::string_view from, absl::string_view to,
                       bool replace, StreamDone done) {
  if (absl::Status valid = CheckName(to); !valid.ok()) return done(valid);
  backend::Backend* b = &backend;
  backend.GetXattr(
      ctx, inode, AttributeName(from),
      [b, ctx, inode, from = AttributeName(from), to = AttributeName(to), replace,
       done = std::move(done)](absl::StatusOr<std::string> content) mutable {
        if (!content.ok()) return done(content.status());
        b->SetXattr(
            ctx, inode, to, *content,
            replace ? backend::XattrSetMode::kCreateOrReplace : backend::XattrSetMode::kCreateOnly,
            [b, ctx, inode, from, done = std::move(done)](absl::StatusOr<backend::Done> stored) {
              if (!stored.ok()) return done(stored.status());
              b->RemoveXattr(ctx, inode, from,
                             [done = std::move(done)](absl::StatusOr<backend::Done> removed) {
                               done(removed.status());
                             });
            });
      });
}

absl::Status RenameStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                          absl::string_view from, absl::string_view to, bool replace) {
  return WaitStatus([&](StreamDone done) {
    RenameStreamAsync(fs.backend(), fs.context(), inode, from, to, replace, done);
  });
}

}  // namespace cfs::smb
