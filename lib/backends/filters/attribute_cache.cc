#include "lib/backends/filters/attribute_cache.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/auth/posix_permissions.h"

namespace cfs::filters {

using backend::Attributes;

AttributeCache::AttributeCache(backend::BackendPtr next, AttributeCacheOptions options)
    : ForwardingBackend(std::move(next)), options_(options) {}

AttributeCache::Stats AttributeCache::stats() const {
  Stats s;
  s.hits = hits_.load();
  s.misses = misses_.load();
  s.invalidations = invalidations_.load();
  s.name_hits = name_hits_.load();
  std::lock_guard<std::mutex> lock(mu_);
  s.entries = entries_.size();
  return s;
}

std::string AttributeCache::Describe() const {
  return absl::StrCat(ForwardingBackend::Describe(), " (attribute cache ", options_.capacity,
                      " entries)");
}

absl::Status AttributeCache::Shutdown(absl::Time deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shut_down_ = true;
    entries_.clear();
    lru_.clear();
    names_.clear();
  }
  return ForwardingBackend::Shutdown(deadline);
}

uint64_t AttributeCache::Sequence() {
  std::lock_guard<std::mutex> lock(mu_);
  return sequence_;
}

void AttributeCache::Insert(const Attributes& attrs, uint64_t sequence_at_start) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_ || sequence_ != sequence_at_start) return;  // changed meanwhile: may be stale
  auto it = entries_.find(attrs.inode);
  if (it != entries_.end()) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  while (entries_.size() >= options_.capacity && !lru_.empty()) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(attrs.inode);
  entries_[attrs.inode] = Entry{attrs, absl::Now() + options_.ttl, epoch_, lru_.begin()};
}

void AttributeCache::Invalidate(const std::vector<Ino>& inodes) {
  std::lock_guard<std::mutex> lock(mu_);
  ++sequence_;
  for (Ino inode : inodes) {
    auto it = entries_.find(inode);
    if (it == entries_.end()) continue;
    lru_.erase(it->second.lru);
    entries_.erase(it);
    invalidations_.fetch_add(1);
  }
}

void AttributeCache::InvalidateAll() {
  std::lock_guard<std::mutex> lock(mu_);
  ++sequence_;
  ++epoch_;  // every entry now belongs to an old epoch: a miss
  invalidations_.fetch_add(1);
}

template <typename T>
AttributeCache::Cb<T> AttributeCache::InvalidateAfter(Cb<T> done, std::vector<Ino> inodes,
                                                      bool all) {
  // Before the call as well as after: a hit while it runs would otherwise serve the old state
  // to a client that already saw the new one by another path.
  if (all) {
    InvalidateAll();
  } else {
    Invalidate(inodes);
  }
  return [this, inodes = std::move(inodes), all,
          done = std::move(done)](absl::StatusOr<T> result) mutable {
    if (all) {
      InvalidateAll();
    } else {
      Invalidate(inodes);
    }
    std::move(done)(std::move(result));
  };
}

void AttributeCache::GetAttr(const Ctx& c, Ino inode, Cb<Attributes> done) {
  std::optional<Attributes> hit;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (Entry* entry = FindLocked(inode)) {
      lru_.splice(lru_.begin(), lru_, entry->lru);
      hit = entry->attrs;
    }
  }
  if (hit.has_value()) {
    hits_.fetch_add(1);
    // Completes on the caller's thread: the SPI allows it, and it skips the pool hop.
    std::move(done)(std::move(*hit));
    return;
  }
  misses_.fetch_add(1);
  uint64_t start = Sequence();
  ForwardingBackend::GetAttr(
      c, inode, [this, start, done = std::move(done)](absl::StatusOr<Attributes> attrs) mutable {
        if (attrs.ok()) Insert(*attrs, start);
        std::move(done)(std::move(attrs));
      });
}

std::string AttributeCache::NameKey(Ino dir, absl::string_view name) {
  std::string key(reinterpret_cast<const char*>(&dir), sizeof(dir));
  key.append(name.data(), name.size());
  return key;
}

AttributeCache::Entry* AttributeCache::FindLocked(Ino inode) {
  auto it = entries_.find(inode);
  if (shut_down_ || it == entries_.end() || it->second.epoch != epoch_ ||
      absl::Now() >= it->second.expires) {
    return nullptr;
  }
  return &it->second;
}

void AttributeCache::Lookup(const Ctx& c, Ino dir, absl::string_view name, Cb<Attributes> done) {
  bool cacheable = name != "." && name != ".." && name.size() <= backend::kMaxNameLength;
  std::string key = cacheable ? NameKey(dir, name) : std::string();
  if (cacheable) {
    std::optional<Attributes> hit;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = names_.find(key);
      if (it != names_.end() && it->second.epoch == epoch_ && absl::Now() < it->second.expires) {
        const Entry* dir_entry = FindLocked(dir);
        const Entry* child = FindLocked(it->second.inode);
        if (dir_entry != nullptr && child != nullptr &&
            auth::MayAccess(c.identity, dir_entry->attrs, backend::kAccessExecute)) {
          hit = child->attrs;
        }
      }
    }
    if (hit.has_value()) {
      name_hits_.fetch_add(1);
      std::move(done)(std::move(*hit));
      return;
    }
  }
  uint64_t start = Sequence();
  ForwardingBackend::Lookup(
      c, dir, name,
      [this, start, cacheable, key = std::move(key),
       done = std::move(done)](absl::StatusOr<Attributes> attrs) mutable {
        if (attrs.ok()) {
          Insert(*attrs, start);
          if (cacheable) {
            std::lock_guard<std::mutex> lock(mu_);
            if (!shut_down_ && sequence_ == start) {
              if (names_.size() >= options_.capacity) names_.clear();  // crude, bounded
              names_[key] = NameEntry{attrs->inode, absl::Now() + options_.ttl, epoch_};
            }
          }
        }
        std::move(done)(std::move(attrs));
      });
}

void AttributeCache::SetAttr(const Ctx& c, Ino inode, const backend::SetAttributes& attrs,
                             Cb<backend::AttrChange> done) {
  ForwardingBackend::SetAttr(c, inode, attrs, InvalidateAfter(std::move(done), {inode}));
}

void AttributeCache::Create(const Ctx& c, const backend::CreateRequest& request,
                            Cb<backend::EntryResult> done) {
  // An unchecked create may truncate an existing file whose inode is not known here.
  ForwardingBackend::Create(c, request, InvalidateAfter(std::move(done), {}, /*all=*/true));
}

void AttributeCache::MakeDirectory(const Ctx& c, Ino parent, absl::string_view name,
                                   const backend::SetAttributes& attrs,
                                   Cb<backend::EntryResult> done) {
  ForwardingBackend::MakeDirectory(c, parent, name, attrs,
                                   InvalidateAfter(std::move(done), {parent}));
}

void AttributeCache::MakeSymlink(const Ctx& c, Ino parent, absl::string_view name,
                                 absl::string_view target, const backend::SetAttributes& attrs,
                                 Cb<backend::EntryResult> done) {
  ForwardingBackend::MakeSymlink(c, parent, name, target, attrs,
                                 InvalidateAfter(std::move(done), {parent}));
}

void AttributeCache::MakeNode(const Ctx& c, Ino parent, absl::string_view name,
                              backend::FileType type, uint32_t major, uint32_t minor,
                              const backend::SetAttributes& attrs, Cb<backend::EntryResult> done) {
  ForwardingBackend::MakeNode(c, parent, name, type, major, minor, attrs,
                              InvalidateAfter(std::move(done), {parent}));
}

void AttributeCache::Link(const Ctx& c, Ino inode, Ino dir, absl::string_view name,
                          Cb<backend::EntryResult> done) {
  ForwardingBackend::Link(c, inode, dir, name, InvalidateAfter(std::move(done), {inode, dir}));
}

void AttributeCache::Unlink(const Ctx& c, Ino dir, absl::string_view name,
                            Cb<backend::DirChange> done) {
  ForwardingBackend::Unlink(c, dir, name, InvalidateAfter(std::move(done), {}, /*all=*/true));
}

void AttributeCache::RemoveDirectory(const Ctx& c, Ino dir, absl::string_view name,
                                     Cb<backend::DirChange> done) {
  ForwardingBackend::RemoveDirectory(c, dir, name,
                                     InvalidateAfter(std::move(done), {}, /*all=*/true));
}

void AttributeCache::Rename(const Ctx& c, Ino from_dir, absl::string_view from_name, Ino to_dir,
                            absl::string_view to_name, Cb<backend::RenameResult> done) {
  ForwardingBackend::Rename(c, from_dir, from_name, to_dir, to_name,
                            InvalidateAfter(std::move(done), {}, /*all=*/true));
}

void AttributeCache::SetXattr(const Ctx& c, Ino inode, absl::string_view name,
                              absl::string_view value, backend::XattrSetMode mode,
                              Cb<backend::Done> done) {
  ForwardingBackend::SetXattr(c, inode, name, value, mode,
                              InvalidateAfter(std::move(done), {inode}));
}

void AttributeCache::RemoveXattr(const Ctx& c, Ino inode, absl::string_view name,
                                 Cb<backend::Done> done) {
  ForwardingBackend::RemoveXattr(c, inode, name, InvalidateAfter(std::move(done), {inode}));
}

void AttributeCache::Release(const Ctx& c, Ino inode, Cb<backend::Done> done) {
  ForwardingBackend::Release(c, inode, InvalidateAfter(std::move(done), {inode}));
}

void AttributeCache::Write(const Ctx& c, Ino inode, uint64_t offset, Buffer data,
                           backend::Stability stability, Cb<backend::WriteResult> done) {
  ForwardingBackend::Write(c, inode, offset, std::move(data), stability,
                           InvalidateAfter(std::move(done), {inode}));
}

void AttributeCache::Commit(const Ctx& c, Ino inode, uint64_t offset, uint64_t count,
                            Cb<backend::CommitResult> done) {
  ForwardingBackend::Commit(c, inode, offset, count, InvalidateAfter(std::move(done), {inode}));
}

}  // namespace cfs::filters
