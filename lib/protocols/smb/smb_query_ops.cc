// QUERY_DIRECTORY and QUERY_INFO of SmbConnection.
#include <atomic>
#include <memory>

#include "absl/strings/match.h"
#include "lib/auth/posix_permissions.h"
#include "lib/backend/errors.h"
#include "lib/backend/sync_backend.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb_access.h"
#include "lib/protocols/smb/smb_connection.h"
#include "lib/protocols/smb/smb_info.h"
#include "lib/protocols/smb/smb_paths.h"
#include "lib/protocols/smb/smb_streams.h"

namespace cfs::smb {

namespace {

bool IsDirectoryClass(uint8_t c) {
  return c == info::kDirectory || c == info::kFullDirectory || c == info::kBothDirectory ||
         c == info::kNames || c == info::kIdBothDirectory || c == info::kIdFullDirectory;
}

// Answers an info buffer with the size rules of MS-SMB2 3.3.5.20: too small for the fixed part
// is INFO_LENGTH_MISMATCH, a cut variable part is BUFFER_OVERFLOW with what fits.
SmbResponse InfoResponse(std::string data, size_t min_size, uint32_t output_length) {
  SmbResponse out;
  if (output_length < min_size) return SmbResponse{nt::kInfoLengthMismatch};
  if (data.size() > output_length) {
    data.resize(output_length);
    out.status = nt::kBufferOverflow;
  }
  out.body = EncodeOutputBufferResponse(data);
  return out;
}

// What QUERY_INFO reports of a named pipe.
backend::Attributes PipeAttributes() {
  backend::Attributes attrs;
  attrs.type = backend::FileType::kRegular;
  attrs.nlink = 1;
  return attrs;
}

}  // namespace

namespace {

using Listing = std::vector<std::pair<std::string, backend::Attributes>>;

// The entries of `open`'s directory that match `pattern` ("." and ".." first), from backend
// callbacks: a literal name is one case-insensitive lookup, a wildcard a scan of the directory.
void GatherListing(backend::Backend& backend, const std::shared_ptr<Open>& open,
                   const std::string& pattern, std::function<void(absl::StatusOr<Listing>)> done) {
  backend::Backend* b = &backend;
  const backend::RequestContext& ctx = open->tree->ctx;
  b->GetAttr(
      ctx, open->inode,
      [b, open, pattern, done = std::move(done)](absl::StatusOr<backend::Attributes> self) mutable {
        if (!self.ok()) return done(self.status());
        auto listing = std::make_shared<Listing>();
        if (MatchPattern(pattern, ".")) listing->emplace_back(".", *self);
        // The entries after "." and "..": one name, or the matching ones of the whole directory.
        auto entries = [b, open, pattern, listing, done = std::move(done)]() mutable {
          const backend::RequestContext& ctx = open->tree->ctx;
          if (pattern.find_first_of("*?<>\"") == std::string::npos) {
            return LookupIgnoringCaseAsync(
                *b, ctx, open->inode, pattern,
                [listing, done](absl::StatusOr<backend::Attributes> one, std::string name) {
                  if (one.ok()) listing->emplace_back(std::move(name), *one);
                  done(std::move(*listing));
                });
          }
          ScanDirectory(
              *b, ctx, open->inode, /*with_attributes=*/true, 512,
              [listing, pattern](backend::DirEntry& e) {
                if (IsSmbVisibleName(e.name) && MatchPattern(pattern, e.name) &&
                    e.attributes.has_value()) {
                  listing->emplace_back(std::move(e.name), *e.attributes);
                }
                return true;
              },
              [listing, done](absl::Status status) {
                if (!status.ok()) return done(status);
                done(std::move(*listing));
              });
        };
        if (!MatchPattern(pattern, "..")) return entries();
        if (open->parent == 0) {
          listing->emplace_back("..", *self);
          return entries();
        }
        b->GetAttr(open->tree->ctx, open->parent,
                   [listing, self = *self, entries = std::move(entries)](
                       absl::StatusOr<backend::Attributes> parent) mutable {
                     listing->emplace_back("..", parent.ok() ? *parent : self);
                     entries();
                   });
      });
}

}  // namespace

std::optional<SmbResponse> SmbConnection::QueryDirectory(SmbRequest& r, SmbLater later) {
  absl::StatusOr<QueryDirectoryRequest> req = DecodeQueryDirectory(r.message);
  if (!req.ok()) return SmbResponse{nt::kInvalidParameter};
  std::shared_ptr<Open> open = FindOpen(r, req->file);
  if (open == nullptr) return SmbResponse{nt::kFileClosed};
  if (!open->directory || open->pipe != nullptr) return SmbResponse{nt::kInvalidParameter};
  if (!IsDirectoryClass(req->info_class)) return SmbResponse{nt::kInvalidInfoClass};
  if (!(open->granted_access & access::kReadData)) return SmbResponse{nt::kAccessDenied};
  if (req->output_length == 0 || req->output_length > server_.config().max_io) {
    return SmbResponse{nt::kInvalidParameter};
  }
  bool restart = (req->flags & (kQueryRestartScans | kQueryReopen)) != 0;
  bool fresh;
  {
    std::lock_guard<std::mutex> lock(open->mu);
    fresh = !open->enumeration_started || restart;
  }
  std::shared_ptr<SmbConnection> self = shared_from_this();
  if (!fresh) {
    // A call that continues an enumeration drops the entries removed since it started (as
    // Windows does).
    ContinueListing(open, std::make_shared<QueryDirectoryRequest>(std::move(*req)),
                    std::move(later));
    return std::nullopt;
  }
  std::string pattern = req->pattern.empty() ? "*" : req->pattern;
  GatherListing(server_.backend(), open, pattern,
                [self, open, pattern, req = std::make_shared<QueryDirectoryRequest>(*req),
                 later = std::move(later)](absl::StatusOr<Listing> listing) mutable {
                  if (!listing.ok()) return later(SmbResponse{NtStatusFor(listing.status())});
                  SmbResponse out;
                  {
                    // The first call's snapshot is fresh: no entry needs checking.
                    std::lock_guard<std::mutex> lock(open->mu);
                    open->listing = std::move(*listing);
                    open->next_entry = 0;
                    open->pattern = pattern;
                    open->enumeration_started = true;
                    if (open->listing.empty()) return later(SmbResponse{nt::kNoSuchFile});
                    out = FillDirectoryBuffer(*open, *req, open->listing.size(), {});
                  }
                  later(std::move(out));
                });
  return std::nullopt;
}

void SmbConnection::ContinueListing(const std::shared_ptr<Open>& open,
                                    const std::shared_ptr<QueryDirectoryRequest>& req,
                                    SmbLater later) {
  // The next entries that may fit are looked up side by side; those gone (or replaced by
  // another file) are skipped.
  constexpr size_t kBatch = 256;
  size_t from;
  std::vector<std::pair<std::string, backend::InodeNumber>> batch;
  {
    std::lock_guard<std::mutex> lock(open->mu);
    from = open->next_entry;
    if (from >= open->listing.size()) return later(SmbResponse{nt::kNoMoreFiles});
    size_t end = std::min(open->listing.size(), from + kBatch);
    for (size_t i = from; i < end; ++i) {
      batch.emplace_back(open->listing[i].first, open->listing[i].second.inode);
    }
  }
  struct Check {
    std::vector<char> gone;
    std::atomic<size_t> left{1};
  };
  auto check = std::make_shared<Check>();
  check->gone.assign(batch.size(), 0);
  check->left = batch.size() + 1;
  std::shared_ptr<SmbConnection> self = shared_from_this();
  std::function<void()> one_done = [self, open, req, from, check, later]() mutable {
    if (check->left.fetch_sub(1) != 1) return;
    SmbResponse out;
    bool next_batch = false;
    {
      std::lock_guard<std::mutex> lock(open->mu);
      if (open->next_entry != from) {
        // Another channel moved the enumeration meanwhile: its entries are answered as they are.
        out = FillDirectoryBuffer(*open, *req, open->listing.size(), {});
      } else {
        size_t end = from + check->gone.size();
        out = FillDirectoryBuffer(*open, *req, end,
                                  [&](size_t index) { return check->gone[index - from] != 0; });
        // Every entry of the batch was gone: the next batch may have some.
        static const size_t kNoEntries = EncodeOutputBufferResponse("").size();
        next_batch = out.status == nt::kSuccess && open->next_entry == end &&
                     end < open->listing.size() && out.body.size() == kNoEntries;
      }
    }
    if (next_batch) return self->ContinueListing(open, req, std::move(later));
    later(std::move(out));
  };
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& [name, inode] = batch[i];
    if (name == "." || name == "..") {
      one_done();
      continue;
    }
    server_.backend().Lookup(
        open->tree->ctx, open->inode, name,
        [check, i, inode = inode, one_done](absl::StatusOr<backend::Attributes> still) mutable {
          check->gone[i] = !still.ok() || still->inode != inode;
          one_done();
        });
  }
  one_done();
}

SmbResponse SmbConnection::FillDirectoryBuffer(Open& open, const QueryDirectoryRequest& req,
                                               size_t end,
                                               const std::function<bool(size_t)>& gone) {
  if (open.next_entry >= open.listing.size()) return SmbResponse{nt::kNoMoreFiles};
  std::string out;
  size_t last_entry_at = 0;
  bool single = (req.flags & kQueryReturnSingleEntry) != 0;
  while (open.next_entry < end) {
    const auto& [name, attrs] = open.listing[open.next_entry];
    if (gone && gone(open.next_entry)) {
      ++open.next_entry;
      continue;
    }
    absl::StatusOr<std::string> entry = EncodeDirectoryEntry(req.info_class, attrs, name);
    if (!entry.ok()) return SmbResponse{nt::kInvalidInfoClass};
    size_t aligned_at = (out.size() + 7) & ~size_t{7};
    if (aligned_at + entry->size() > req.output_length) {
      if (out.empty()) return SmbResponse{nt::kBufferOverflow};
      break;
    }
    if (!out.empty()) {
      uint32_t next = static_cast<uint32_t>(aligned_at - last_entry_at);
      for (int k = 0; k < 4; ++k) out[last_entry_at + k] = static_cast<char>(next >> (8 * k));
    }
    out.resize(aligned_at, '\0');
    last_entry_at = aligned_at;
    out += *entry;
    ++open.next_entry;
    if (single) break;
  }
  SmbResponse resp;
  resp.body = EncodeOutputBufferResponse(out);
  return resp;
}

namespace {

// One backend call gathering a fact of QUERY_INFO: calls `next` with kSuccess or the NTSTATUS
// that ends the chain.
using FactDone = std::function<void(uint32_t status)>;
using FactStep = std::function<void(FactDone next)>;

// Runs steps[i..] one after the other (each from the previous one's callback), then `done`.
void RunFactSteps(const std::shared_ptr<std::vector<FactStep>>& steps, size_t i, FactDone done) {
  if (i == steps->size()) return done(nt::kSuccess);
  (*steps)[i]([steps, i, done](uint32_t status) {
    if (status != nt::kSuccess) return done(status);
    RunFactSteps(steps, i + 1, done);
  });
}

}  // namespace

std::optional<SmbResponse> SmbConnection::QueryInfo(SmbRequest& r, SmbLater later) {
  absl::StatusOr<QueryInfoRequest> req = DecodeQueryInfo(r.message);
  if (!req.ok()) return SmbResponse{nt::kInvalidParameter};
  std::shared_ptr<Open> open = FindOpen(r, req->file);
  if (open == nullptr) return SmbResponse{nt::kFileClosed};
  if (req->output_length > server_.config().max_io) return SmbResponse{nt::kInvalidParameter};
  if (open->pipe != nullptr && req->info_type != kInfoFilesystem) {
    QueryFacts facts;
    facts.attrs = facts.file_attrs = PipeAttributes();
    return AnswerQueryInfo(*req, *open, facts);
  }
  // The facts the answer needs, gathered by backend callbacks one after the other: the
  // attributes, a named stream's size, the list of streams, the volume's figures, the DACL.
  auto facts = std::make_shared<QueryFacts>();
  auto steps = std::make_shared<std::vector<FactStep>>();
  backend::Backend* backend = &server_.backend();
  if (open->pipe != nullptr) {
    facts->attrs = facts->file_attrs = PipeAttributes();
  } else {
    steps->push_back([backend, open, facts](FactDone next) {
      backend->GetAttr(open->tree->ctx, open->inode,
                       [facts, next](absl::StatusOr<backend::Attributes> got) {
                         if (!got.ok()) return next(NtStatusFor(got.status()));
                         facts->attrs = facts->file_attrs = *got;
                         next(nt::kSuccess);
                       });
    });
  }
  if (!open->stream.empty()) {
    steps->push_back([backend, open, facts](FactDone next) {
      ReadStreamAsync(*backend, open->tree->ctx, open->inode, open->stream,
                      [facts, next](absl::StatusOr<std::string> content) {
                        if (!content.ok()) return next(NtStatusFor(content.status()));
                        facts->attrs = StreamAttributes(facts->attrs, content->size());
                        next(nt::kSuccess);
                      });
    });
  }
  if (req->info_type == kInfoFile && req->info_class == info::kStream) {
    steps->push_back([backend, open, facts](FactDone next) {
      ListStreamsAsync(*backend, open->tree->ctx, open->inode,
                       [facts, next](absl::StatusOr<std::vector<StreamInfo>> streams) {
                         if (!streams.ok()) return next(NtStatusFor(streams.status()));
                         facts->streams = *std::move(streams);
                         next(nt::kSuccess);
                       });
    });
  }
  if (req->info_type == kInfoFilesystem) {
    steps->push_back([backend, open, facts](FactDone next) {
      backend->FsStat(open->tree->ctx, open->tree->share->root,
                      [facts, next](absl::StatusOr<backend::FsStatResult> stat) {
                        if (!stat.ok()) return next(NtStatusFor(stat.status()));
                        facts->stat = *stat;
                        next(nt::kSuccess);
                      });
    });
  }
  if (req->info_type == kInfoSecurity && (open->granted_access & access::kReadControl) &&
      !(req->additional_information & kSecSacl)) {
    steps->push_back([backend, open, facts](FactDone next) {
      LoadDaclAsync(*backend, open->tree->ctx, open->inode,
                    [facts, next](std::optional<Dacl> dacl) {
                      facts->dacl = std::move(dacl);
                      next(nt::kSuccess);
                    });
    });
  }
  std::shared_ptr<SmbConnection> self = shared_from_this();
  RunFactSteps(steps, 0,
               [self, open, req = *req, facts, later = std::move(later)](uint32_t status) {
                 if (status != nt::kSuccess) return later(SmbResponse{status});
                 later(self->AnswerQueryInfo(req, *open, *facts));
               });
  return std::nullopt;
}

SmbResponse SmbConnection::AnswerQueryInfo(const QueryInfoRequest& request, Open& open_ref,
                                           const QueryFacts& gathered) {
  const QueryInfoRequest* req = &request;
  Open* open = &open_ref;
  const backend::Attributes& attrs = gathered.attrs;
  const backend::Attributes& file_attrs = gathered.file_attrs;
  switch (req->info_type) {
    case kInfoFile: {
      if (req->info_class == info::kFullEa) return SmbResponse{nt::kNoEasOnFile};
      // The classes with times and attributes need FILE_READ_ATTRIBUTES (MS-FSA 2.1.5.12);
      // the others need no access right.
      bool needs_read_attributes =
          req->info_class == info::kBasic || req->info_class == info::kAll ||
          req->info_class == info::kNetworkOpen || req->info_class == info::kAttributeTag;
      if (needs_read_attributes && !(open->granted_access & access::kReadAttributes)) {
        return SmbResponse{nt::kAccessDenied};
      }
      if (req->info_class == info::kNormalizedName && dialect_ < kDialect311) {
        return SmbResponse{nt::kNotSupported};
      }
      OpenFacts facts;
      facts.attrs = attrs;
      facts.path = open->path;
      facts.granted_access = open->granted_access;
      facts.delete_pending = open->pipe == nullptr && server_.state().DeletePending(open->Key());
      if (req->info_class == info::kStream && open->pipe == nullptr) {
        facts.attrs = file_attrs;  // the file's own data stream, then its named streams
        for (const StreamInfo& stream : gathered.streams) {
          facts.named_streams.emplace_back(stream.name, stream.size);
        }
      }
      {
        std::lock_guard<std::mutex> lock(open->mu);
        facts.position = open->position;
      }
      facts.mode = open->create_options & 0x00000036;
      absl::StatusOr<std::string> data = EncodeFileInfo(req->info_class, facts);
      if (!data.ok()) {
        return SmbResponse{data.status().code() == absl::StatusCode::kUnimplemented
                               ? nt::kNotImplemented
                               : nt::kInvalidInfoClass};
      }
      return InfoResponse(*data, MinFileInfoSize(req->info_class), req->output_length);
    }
    case kInfoFilesystem: {
      VolumeFacts volume;
      volume.stat = gathered.stat;
      volume.creation_filetime = server_.start_filetime();
      volume.serial = static_cast<uint32_t>(open->tree->share->root * 2654435761u);
      volume.label = open->tree->share->name;
      absl::StatusOr<std::string> data = EncodeFsInfo(req->info_class, volume);
      if (!data.ok()) return SmbResponse{nt::kInvalidInfoClass};
      return InfoResponse(*data, MinFsInfoSize(req->info_class), req->output_length);
    }
    case kInfoSecurity: {
      if (!(open->granted_access & access::kReadControl)) return SmbResponse{nt::kAccessDenied};
      if (req->additional_information & kSecSacl) return SmbResponse{nt::kPrivilegeNotHeld};
      const std::optional<Dacl>& dacl = gathered.dacl;
      std::string sd = EncodeSecurityDescriptor(file_attrs, req->additional_information,
                                                dacl.has_value() ? &*dacl : nullptr);
      if (sd.size() > req->output_length) {
        std::string needed;
        Put32(&needed, static_cast<uint32_t>(sd.size()));
        SmbResponse out;
        out.status = nt::kBufferTooSmall;
        out.body = EncodeErrorBody(needed);
        return out;
      }
      SmbResponse out;
      out.body = EncodeOutputBufferResponse(sd);
      return out;
    }
    case kInfoQuota:
      return SmbResponse{nt::kNotSupported};
    default:
      return SmbResponse{nt::kInvalidParameter};
  }
}

}  // namespace cfs::smb
