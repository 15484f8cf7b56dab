// AttributeCache: a bounded server-side cache of file attributes in front of a backend.
//
// GETATTR-heavy clients (NFS revalidation, ACCESS, READDIR+) are answered from memory, and so
// are repeated LOOKUPs (a name cache: directory + name -> inode, answered only when the
// directory's cached attributes grant the caller search permission). Every
// change made through the gateway invalidates what it touches: SetAttr, Write, Commit, xattr
// changes and Release the inode; creations and links the inode and its directory; Unlink,
// RemoveDirectory and Rename (whose victim is unknown here) everything, by bumping an epoch.
// A miss racing with an invalidation is not inserted, so a stale entry is never cached. Entries
// also expire after `ttl` (other writers behind a shared backend). Thread-safe.
//
// Example:
//   auto cached = std::make_unique<AttributeCache>(std::move(backend), AttributeCacheOptions{});
//   AttributeCache::Stats s = cached->stats();  // hits, misses, hit ratio

#ifndef CFS_LIB_BACKENDS_FILTERS_ATTRIBUTE_CACHE_H_
#define CFS_LIB_BACKENDS_FILTERS_ATTRIBUTE_CACHE_H_

#include <atomic>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/backends/filters/forwarding_backend.h"

namespace cfs::filters {

struct AttributeCacheOptions {
  size_t capacity = 65536;  // entries; the least recently used goes first
  absl::Duration ttl = absl::Seconds(30);
};

class AttributeCache : public ForwardingBackend {
 public:
  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t invalidations = 0;
    uint64_t name_hits = 0;
    size_t entries = 0;
    double hit_ratio() const {
      return hits + misses == 0 ? 0.0 : static_cast<double>(hits) / (hits + misses);
    }
  };

  AttributeCache(backend::BackendPtr next, AttributeCacheOptions options);

  Stats stats() const;

  std::string Describe() const override;
  absl::Status Shutdown(absl::Time deadline) override;
  void Lookup(const Ctx& c, Ino dir, absl::string_view name, Cb<backend::Attributes> done) override;
  void GetAttr(const Ctx& c, Ino inode, Cb<backend::Attributes> done) override;
  void SetAttr(const Ctx& c, Ino inode, const backend::SetAttributes& attrs,
               Cb<backend::AttrChange> done) override;
  void Create(const Ctx& c, const backend::CreateRequest& request,
              Cb<backend::EntryResult> done) override;
  void MakeDirectory(const Ctx& c, Ino parent, absl::string_view name,
                     const backend::SetAttributes& attrs, Cb<backend::EntryResult> done) override;
  void MakeSymlink(const Ctx& c, Ino parent, absl::string_view name, absl::string_view target,
                   const backend::SetAttributes& attrs, Cb<backend::EntryResult> done) override;
  void MakeNode(const Ctx& c, Ino parent, absl::string_view name, backend::FileType type,
                uint32_t major, uint32_t minor, const backend::SetAttributes& attrs,
                Cb<backend::EntryResult> done) override;
  void Link(const Ctx& c, Ino inode, Ino dir, absl::string_view name,
            Cb<backend::EntryResult> done) override;
  void Unlink(const Ctx& c, Ino dir, absl::string_view name, Cb<backend::DirChange> done) override;
  void RemoveDirectory(const Ctx& c, Ino dir, absl::string_view name,
                       Cb<backend::DirChange> done) override;
  void Rename(const Ctx& c, Ino from_dir, absl::string_view from_name, Ino to_dir,
              absl::string_view to_name, Cb<backend::RenameResult> done) override;
  void SetXattr(const Ctx& c, Ino inode, absl::string_view name, absl::string_view value,
                backend::XattrSetMode mode, Cb<backend::Done> done) override;
  void RemoveXattr(const Ctx& c, Ino inode, absl::string_view name,
                   Cb<backend::Done> done) override;
  void Release(const Ctx& c, Ino inode, Cb<backend::Done> done) override;
  void Write(const Ctx& c, Ino inode, uint64_t offset, Buffer data, backend::Stability stability,
             Cb<backend::WriteResult> done) override;
  void Commit(const Ctx& c, Ino inode, uint64_t offset, uint64_t count,
              Cb<backend::CommitResult> done) override;

 private:
  struct Entry {
    backend::Attributes attrs;
    absl::Time expires;
    uint64_t epoch = 0;
    std::list<Ino>::iterator lru;
  };
  struct NameEntry {
    Ino inode = 0;
    absl::Time expires;
    uint64_t epoch = 0;
  };
  static std::string NameKey(Ino dir, absl::string_view name);
  // The entry of `inode` if still valid (not expired, current epoch). Requires mu_.
  Entry* FindLocked(Ino inode);

  // The current invalidation sequence (a miss inserts only if it has not moved).
  uint64_t Sequence();
  void Insert(const backend::Attributes& attrs, uint64_t sequence_at_start);
  void Invalidate(const std::vector<Ino>& inodes);
  void InvalidateAll();
  // Wraps `done` so that `inodes` (or everything) are invalidated when the call completes.
  template <typename T>
  Cb<T> InvalidateAfter(Cb<T> done, std::vector<Ino> inodes, bool all = false);

  const AttributeCacheOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<Ino, Entry> entries_;            // guarded by mu_
  std::list<Ino> lru_;                                // most recent first; guarded by mu_
  std::unordered_map<std::string, NameEntry> names_;  // guarded by mu_
  uint64_t epoch_ = 0;                                // guarded by mu_
  uint64_t sequence_ = 0;                             // guarded by mu_
  bool shut_down_ = false;                            // guarded by mu_
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> invalidations_{0};
  std::atomic<uint64_t> name_hits_{0};
};

}  // namespace cfs::filters

#endif  // CFS_LIB_BACKENDS_FILTERS_ATTRIBUTE_CACHE_H_
