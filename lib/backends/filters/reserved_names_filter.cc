#include "lib/backends/filters/reserved_names_filter.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/backend/errors.h"

namespace cfs::filters {

namespace {

using backend::FsError;
using backend::FsErrorStatus;

bool Hidden(const backend::RequestContext& c, absl::string_view name) {
  return !c.internal && ReservedNamesFilter::IsReserved(name);
}

absl::Status NotThere(absl::string_view name) {
  return FsErrorStatus(FsError::kNoEntry, absl::StrCat(name, ": no such entry"));
}

absl::Status NotYours(absl::string_view name) {
  return FsErrorStatus(FsError::kAccess,
                       absl::StrCat("names starting with ", backend::kReservedNamePrefix,
                                    " are reserved for the gateway: ", name));
}

// Reads a directory page and drops the reserved entries; a page that had nothing else goes on
// from where it ended, so a caller never gets an empty page that is not the last.
struct FilteredReadDir : std::enable_shared_from_this<FilteredReadDir> {
  backend::Backend* next;
  backend::RequestContext ctx;
  backend::InodeNumber dir;
  uint64_t verifier;
  size_t max_entries;
  bool with_attributes;
  backend::Callback<backend::ReadDirResult> done;

  void From(uint64_t cookie) {
    next->ReadDir(ctx, dir, cookie, verifier, max_entries, with_attributes,
                  [self = shared_from_this()](absl::StatusOr<backend::ReadDirResult> page) {
                    self->OnPage(std::move(page));
                  });
  }

  void OnPage(absl::StatusOr<backend::ReadDirResult> page) {
    if (!page.ok()) return std::move(done)(std::move(page));
    std::vector<backend::DirEntry>& entries = page->entries;
    uint64_t last_cookie = entries.empty() ? 0 : entries.back().cookie;
    size_t before = entries.size();
    entries.erase(std::remove_if(entries.begin(), entries.end(),
                                 [](const backend::DirEntry& e) {
                                   return ReservedNamesFilter::IsReserved(e.name);
                                 }),
                  entries.end());
    if (entries.empty() && before > 0 && !page->eof) {
      verifier = page->cookie_verifier;
      return From(last_cookie);
    }
    std::move(done)(std::move(page));
  }
};

}  // namespace

bool ReservedNamesFilter::IsReserved(absl::string_view name) {
  return absl::StartsWith(name, backend::kReservedNamePrefix);
}

void ReservedNamesFilter::Lookup(const Ctx& c, Ino dir, absl::string_view name,
                                 Cb<backend::Attributes> done) {
  if (Hidden(c, name)) return std::move(done)(NotThere(name));
  ForwardingBackend::Lookup(c, dir, name, std::move(done));
}

void ReservedNamesFilter::Create(const Ctx& c, const backend::CreateRequest& request,
                                 Cb<backend::EntryResult> done) {
  if (Hidden(c, request.name)) return std::move(done)(NotYours(request.name));
  ForwardingBackend::Create(c, request, std::move(done));
}

void ReservedNamesFilter::MakeDirectory(const Ctx& c, Ino parent, absl::string_view name,
                                        const backend::SetAttributes& attrs,
                                        Cb<backend::EntryResult> done) {
  if (Hidden(c, name)) return std::move(done)(NotYours(name));
  ForwardingBackend::MakeDirectory(c, parent, name, attrs, std::move(done));
}

void ReservedNamesFilter::MakeSymlink(const Ctx& c, Ino parent, absl::string_view name,
                                      absl::string_view target, const backend::SetAttributes& attrs,
                                      Cb<backend::EntryResult> done) {
  if (Hidden(c, name)) return std::move(done)(NotYours(name));
  ForwardingBackend::MakeSymlink(c, parent, name, target, attrs, std::move(done));
}

void ReservedNamesFilter::MakeNode(const Ctx& c, Ino parent, absl::string_view name,
                                   backend::FileType type, uint32_t major, uint32_t minor,
                                   const backend::SetAttributes& attrs,
                                   Cb<backend::EntryResult> done) {
  if (Hidden(c, name)) return std::move(done)(NotYours(name));
  ForwardingBackend::MakeNode(c, parent, name, type, major, minor, attrs, std::move(done));
}

void ReservedNamesFilter::Link(const Ctx& c, Ino inode, Ino dir, absl::string_view name,
                               Cb<backend::EntryResult> done) {
  if (Hidden(c, name)) return std::move(done)(NotYours(name));
  ForwardingBackend::Link(c, inode, dir, name, std::move(done));
}

void ReservedNamesFilter::Unlink(const Ctx& c, Ino dir, absl::string_view name,
                                 Cb<backend::DirChange> done) {
  if (Hidden(c, name)) return std::move(done)(NotThere(name));
  ForwardingBackend::Unlink(c, dir, name, std::move(done));
}

void ReservedNamesFilter::RemoveDirectory(const Ctx& c, Ino dir, absl::string_view name,
                                          Cb<backend::DirChange> done) {
  if (Hidden(c, name)) return std::move(done)(NotThere(name));
  ForwardingBackend::RemoveDirectory(c, dir, name, std::move(done));
}

void ReservedNamesFilter::Rename(const Ctx& c, Ino from_dir, absl::string_view from_name,
                                 Ino to_dir, absl::string_view to_name,
                                 Cb<backend::RenameResult> done) {
  if (Hidden(c, from_name)) return std::move(done)(NotThere(from_name));
  if (Hidden(c, to_name)) return std::move(done)(NotYours(to_name));
  ForwardingBackend::Rename(c, from_dir, from_name, to_dir, to_name, std::move(done));
}

void ReservedNamesFilter::ReadDir(const Ctx& c, Ino dir, uint64_t cookie, uint64_t verifier,
                                  size_t max_entries, bool with_attributes,
                                  Cb<backend::ReadDirResult> done) {
  if (c.internal) {
    return ForwardingBackend::ReadDir(c, dir, cookie, verifier, max_entries, with_attributes,
                                      std::move(done));
  }
  auto read = std::make_shared<FilteredReadDir>();
  read->next = &next();
  read->ctx = c;
  read->dir = dir;
  read->verifier = verifier;
  read->max_entries = max_entries;
  read->with_attributes = with_attributes;
  read->done = std::move(done);
  read->From(cookie);
}

}  // namespace cfs::filters
