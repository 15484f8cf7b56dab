#include "lib/protocols/smb/smb_paths.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/auth/nt_crypto.h"
#include "lib/backend/errors.h"
#include "lib/protocols/smb/ntstatus.h"

namespace cfs::smb {

namespace {

// The characters Windows forbids in a name (MS-FSCC 2.1.5.2), NUL and '\\' included.
bool ForbiddenInName(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u < 0x20 || c == '\\' || c == '/' || c == '*' || c == '?' || c == '"' || c == '<' ||
         c == '>' || c == '|' || c == ':';
}

}  // namespace

bool IsSmbVisibleName(absl::string_view name) {
  if (std::any_of(name.begin(), name.end(), ForbiddenInName)) return false;
  std::string utf16;
  return auth::Utf8ToUtf16Le(name, &utf16);
}

uint32_t ParseSmbPath(absl::string_view name, ParsedPath* out) {
  out->components.clear();
  out->normalized.clear();
  out->stream.clear();
  out->data_stream = false;
  if (name.size() > 32767) return nt::kObjectNameInvalid;
  // The last component may name a stream: "file:stream[:type]" (MS-FSCC 2.1.5).
  size_t last = name.rfind('\\');
  size_t colon = name.find(':', last == absl::string_view::npos ? 0 : last + 1);
  if (colon != absl::string_view::npos) {
    absl::string_view suffix = name.substr(colon + 1);
    name = name.substr(0, colon);
    absl::string_view stream = suffix.substr(0, suffix.find(':'));
    if (stream.size() < suffix.size() &&
        !absl::EqualsIgnoreCase(suffix.substr(stream.size() + 1), "$DATA")) {
      return nt::kObjectNameInvalid;  // another type, or a third colon
    }
    if (stream.empty() && stream.size() == suffix.size()) return nt::kObjectNameInvalid;
    // Stream names may hold any character but NUL, '\\', '/' and ':' (MS-FSCC 2.1.5.3).
    if (stream.find_first_of(absl::string_view("\0/\\", 3)) != absl::string_view::npos) {
      return nt::kObjectNameInvalid;
    }
    if (!stream.empty() && name.empty()) return nt::kObjectNameInvalid;
    out->stream = std::string(stream);
    out->data_stream = stream.empty();
  }
  if (name.empty()) return nt::kSuccess;
  for (absl::string_view part : absl::StrSplit(name, '\\')) {
    if (part == "..") return nt::kObjectPathSyntaxBad;
    if (part.empty() || part == ".") return nt::kObjectNameInvalid;
    if (part.size() > backend::kMaxNameLength) return nt::kObjectNameInvalid;
    if (std::any_of(part.begin(), part.end(), ForbiddenInName)) return nt::kObjectNameInvalid;
    out->components.emplace_back(part);
  }
  out->normalized = absl::StrJoin(out->components, "\\");
  return nt::kSuccess;
}

namespace {

// One ScanDirectory: where the next page starts, and whether the page asked for now was answered
// inside the ReadDir call (then the caller's loop reads the next, instead of recursing).
struct Scan {
  backend::Backend* backend = nullptr;
  backend::RequestContext ctx;
  backend::InodeNumber dir = 0;
  bool with_attributes = false;
  size_t page_size = 0;
  std::function<bool(backend::DirEntry&)> visit;
  std::function<void(absl::Status)> done;
  uint64_t cookie = 0;
  uint64_t verifier = 0;
  std::mutex mu;
  bool in_call = false;
  bool answered_in_call = false;
};

void ReadPages(std::shared_ptr<Scan> scan);

// Takes one page; true when the scan goes on with the next.
bool TakePage(Scan& scan, absl::StatusOr<backend::ReadDirResult> page) {
  if (!page.ok()) {
    scan.done(page.status());
    return false;
  }
  for (backend::DirEntry& entry : page->entries) {
    scan.cookie = entry.cookie;
    if (!scan.visit(entry)) {
      scan.done(absl::OkStatus());
      return false;
    }
  }
  scan.verifier = page->cookie_verifier;
  if (page->eof || page->entries.empty()) {
    scan.done(absl::OkStatus());
    return false;
  }
  return true;
}

void ReadPages(std::shared_ptr<Scan> scan) {
  while (true) {
    {
      std::lock_guard<std::mutex> lock(scan->mu);
      scan->in_call = true;
      scan->answered_in_call = false;
    }
    scan->backend->ReadDir(scan->ctx, scan->dir, scan->cookie, scan->verifier, scan->page_size,
                           scan->with_attributes,
                           [scan](absl::StatusOr<backend::ReadDirResult> page) {
                             if (!TakePage(*scan, std::move(page))) return;
                             {
                               std::lock_guard<std::mutex> lock(scan->mu);
                               if (scan->in_call) {
                                 scan->answered_in_call = true;
                                 return;
                               }
                             }
                             ReadPages(scan);
                           });
    std::lock_guard<std::mutex> lock(scan->mu);
    scan->in_call = false;
    if (!scan->answered_in_call) return;  // the callback reads the next page
  }
}

}  // namespace

void ScanDirectory(backend::Backend& backend, const backend::RequestContext& ctx,
                   backend::InodeNumber dir, bool with_attributes, size_t page_size,
                   std::function<bool(backend::DirEntry& entry)> visit,
                   std::function<void(absl::Status status)> done) {
  auto scan = std::make_shared<Scan>();
  scan->backend = &backend;
  scan->ctx = ctx;
  scan->dir = dir;
  scan->with_attributes = with_attributes;
  scan->page_size = page_size;
  scan->visit = std::move(visit);
  scan->done = std::move(done);
  ReadPages(std::move(scan));
}

void LookupIgnoringCaseAsync(
    backend::Backend& backend, const backend::RequestContext& ctx, backend::InodeNumber dir,
    std::string name,
    std::function<void(absl::StatusOr<backend::Attributes> found, std::string name)> done) {
  backend::Backend* b = &backend;
  backend.Lookup(
      ctx, dir, name,
      [b, ctx, dir, name,
       done = std::move(done)](absl::StatusOr<backend::Attributes> found) mutable {
        bool has_letters =
            std::any_of(name.begin(), name.end(), [](char c) { return absl::ascii_isalpha(c); });
        if (found.ok() || found.status().code() != absl::StatusCode::kNotFound || !has_letters) {
          return done(std::move(found), std::move(name));
        }
        // A miss costs a scan of the directory (as in Samba without a name cache).
        auto stored = std::make_shared<std::string>();
        auto miss = std::make_shared<absl::Status>(found.status());
        ScanDirectory(
            *b, ctx, dir, false, 1000,
            [name, stored](backend::DirEntry& entry) {
              if (!absl::EqualsIgnoreCase(entry.name, name)) return true;
              *stored = entry.name;
              return false;
            },
            [b, ctx, dir, name, stored, miss, done](absl::Status) {
              if (stored->empty()) return done(*miss, name);
              b->Lookup(ctx, dir, *stored,
                        [stored, done](absl::StatusOr<backend::Attributes> again) {
                          done(std::move(again), *stored);
                        });
            });
      });
}

namespace {

// One ResolveParentAsync: the components walked so far.
struct Walk {
  backend::Backend* backend = nullptr;
  backend::RequestContext ctx;
  backend::InodeNumber root = 0;
  ParsedPath path;
  size_t next = 0;  // the component looked up next
  ResolvedParent out;
  std::function<void(uint32_t status, ResolvedParent parent)> done;
};

// Looks the next directory component up, or ends the walk at the last component. Recurses
// from the lookup's callback: at most one level per component.
void WalkNext(const std::shared_ptr<Walk>& walk) {
  const std::vector<std::string>& components = walk->path.components;
  if (walk->next + 1 >= components.size()) {
    walk->out.name = components.back();
    if (components.size() > 1) return walk->done(nt::kSuccess, std::move(walk->out));
    walk->backend->GetAttr(walk->ctx, walk->root, [walk](absl::StatusOr<backend::Attributes> dir) {
      if (!dir.ok()) return walk->done(NtStatusFor(dir.status()), {});
      walk->out.dir_attrs = *dir;
      walk->done(nt::kSuccess, std::move(walk->out));
    });
    return;
  }
  LookupIgnoringCaseAsync(*walk->backend, walk->ctx, walk->out.dir, components[walk->next],
                          [walk](absl::StatusOr<backend::Attributes> next, std::string stored) {
                            if (!next.ok()) {
                              if (next.status().code() == absl::StatusCode::kNotFound) {
                                return walk->done(nt::kObjectPathNotFound, {});
                              }
                              return walk->done(NtStatusFor(next.status()), {});
                            }
                            if (next->type != backend::FileType::kDirectory) {
                              return walk->done(nt::kObjectPathNotFound, {});
                            }
                            walk->out.dir = next->inode;
                            walk->out.dir_attrs = *next;
                            walk->out.dir_path = walk->out.PathOf(stored);
                            ++walk->next;
                            WalkNext(walk);
                          });
}

}  // namespace

void ResolveParentAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                        backend::InodeNumber root, const ParsedPath& path,
                        std::function<void(uint32_t status, ResolvedParent parent)> done) {
  auto walk = std::make_shared<Walk>();
  walk->out.dir = root;
  if (path.components.empty()) return done(nt::kSuccess, std::move(walk->out));
  walk->backend = &backend;
  walk->ctx = ctx;
  walk->root = root;
  walk->path = path;
  walk->done = std::move(done);
  WalkNext(walk);
}

}  // namespace cfs::smb
