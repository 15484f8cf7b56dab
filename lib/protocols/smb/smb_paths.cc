#include "lib/protocols/smb/smb_paths.h"

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/backend/errors.h"
#include "lib/protocols/smb/ntstatus.h"

namespace cfs::smb {

uint32_t ParseSmbPath(absl::string_view name, ParsedPath* out) {
  out->components.clear();
  out->normalized.clear();
  if (absl::EndsWithIgnoreCase(name, "::$DATA")) name.remove_suffix(7);
  if (name.empty()) return nt::kSuccess;
  if (name.size() > 32767) return nt::kObjectNameInvalid;
  for (absl::string_view part : absl::StrSplit(name, '\\')) {
    if (part == "..") return nt::kObjectPathSyntaxBad;
    if (part.empty() || part == ".") return nt::kObjectNameInvalid;
    if (part.size() > backend::kMaxNameLength) return nt::kObjectNameInvalid;
    for (char c : part) {
      unsigned char u = static_cast<unsigned char>(c);
      if (u < 0x20 || c == '/' || c == '*' || c == '?' || c == '"' || c == '<' || c == '>' ||
          c == '|' || c == ':') {
        return nt::kObjectNameInvalid;
      }
    }
    out->components.emplace_back(part);
  }
  out->normalized = absl::StrJoin(out->components, "\\");
  return nt::kSuccess;
}

uint32_t ResolveParent(backend::SyncBackend& fs, backend::InodeNumber root, const ParsedPath& path,
                       ResolvedParent* out) {
  out->dir = root;
  out->name.clear();
  if (path.components.empty()) return nt::kSuccess;
  for (size_t i = 0; i + 1 < path.components.size(); ++i) {
    absl::StatusOr<backend::Attributes> next = fs.Lookup(out->dir, path.components[i]);
    if (!next.ok()) {
      if (next.status().code() == absl::StatusCode::kNotFound) return nt::kObjectPathNotFound;
      return NtStatusFor(next.status());
    }
    if (next->type != backend::FileType::kDirectory) return nt::kObjectPathNotFound;
    out->dir = next->inode;
    out->dir_attrs = *next;
  }
  if (path.components.size() == 1) {
    absl::StatusOr<backend::Attributes> dir = fs.GetAttr(root);
    if (!dir.ok()) return NtStatusFor(dir.status());
    out->dir_attrs = *dir;
  }
  out->name = path.components.back();
  return nt::kSuccess;
}

}  // namespace cfs::smb
