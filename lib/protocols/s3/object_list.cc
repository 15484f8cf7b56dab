// ObjectStore::ListAsync: one page of a bucket's keys in S3's order, walking the bucket's
// directory tree depth first without waiting. The walk is an explicit stack of directories; each
// step that needs the backend (a directory's entries, its objects' metadata read concurrently, a
// folder object's marker, a changed file's ETag) continues from the backend's callback, and a
// callback that comes at once does not deepen the stack (ListContinue's loop runs it).
#include <algorithm>
#include <map>
#include <mutex>  // std::mutex: visible to ThreadSanitizer
#include <utility>

#include "absl/strings/match.h"
#include "lib/backend/errors.h"
#include "lib/common/serial_loop.h"
#include "lib/protocols/s3/object_store.h"
#include "lib/protocols/s3/object_store_helpers.h"

namespace cfs::s3 {

using backend::Attributes;
using backend::DirEntry;
using backend::FileType;
using backend::FsError;
using backend::Identity;
using backend::InodeNumber;
using internal::IsFsError;
using internal::StampMatches;
using internal::Wait;

struct ObjectStore::ListState {
  struct Entry {
    std::string key;  // name, with a trailing '/' for directories
    DirEntry entry;
  };
  // One directory being listed: its entries in key order and the next to look at.
  struct Frame {
    std::string base;
    std::vector<Entry> entries;
    size_t next = 0;
    std::map<InodeNumber, absl::StatusOr<std::string>> metas;  // of its objects, read ahead
  };

  Identity who;
  ListRequest request;
  ListResult result;
  size_t count = 0;
  bool stop = false;
  std::optional<S3Error> failure;
  std::vector<Frame> stack;
  Done<ListResult> done;

  std::unique_ptr<SerialLoop> loop;  // runs ListStep

  // Adds a key or common prefix; false (and truncated) once max_keys are in.
  bool Room() {
    if (count < request.max_keys) return true;
    result.truncated = true;
    stop = true;
    return false;
  }
  // The common prefix `name` rolls up into, or "" when it does not.
  std::string CommonPrefix(const std::string& name) const {
    if (request.delimiter.empty() || !absl::StartsWith(name, request.prefix)) return "";
    size_t pos = name.find(request.delimiter, request.prefix.size());
    if (pos == std::string::npos) return "";
    return name.substr(0, pos + request.delimiter.size());
  }
  // Emits common prefix `cp` unless it was emitted already or lies at or before the marker.
  void EmitPrefix(const std::string& cp) {
    if (cp <= request.after || absl::StartsWith(request.after, cp)) return;
    if (!result.common_prefixes.empty() && result.common_prefixes.back() == cp) return;
    if (!Room()) return;
    result.common_prefixes.push_back(cp);
    result.next_marker = cp;
    ++count;
  }
  void AddObject(std::string key, const Attributes& attributes, ObjectMeta meta) {
    result.objects.push_back({key, attributes, std::move(meta)});
    result.next_marker = std::move(key);
    ++count;
  }
};

void ObjectStore::ListAsync(const Identity& who, std::string bucket, ListRequest request,
                            Done<ListResult> done) {
  auto list = std::make_shared<ListState>();
  list->who = who;
  list->request = std::move(request);
  list->done = std::move(done);
  // The loop holds the state only weakly: the state owns the loop.
  std::weak_ptr<ListState> weak = list;
  list->loop = std::make_unique<SerialLoop>([this, weak] {
    if (std::shared_ptr<ListState> held = weak.lock()) ListStep(held);
  });
  BucketInodeAsync(who, bucket, [this, list](S3Or<InodeNumber> dir) {
    if (!dir.ok()) return std::move(list->done)(dir.error());
    ListEnter(list, *dir, "");
  });
}

// Reads directory `inode` (keys below `base`) and the metadata of the objects it can still
// add, then pushes it on the stack and goes on.
void ObjectStore::ListEnter(std::shared_ptr<ListState> list, InodeNumber inode, std::string base) {
  ReadDirectoryAsync(
      list->who, inode, 512,
      [this, list, base](absl::StatusOr<std::vector<DirEntry>> read) mutable {
        if (!read.ok()) {
          if (base.empty() || !IsFsError(read.status(), FsError::kNoEntry)) {
            list->failure = FromStatus(read.status(), NoSuchBucket());
            list->stop = true;
          }  // else pruned meanwhile: nothing below it
          return ListContinue(list);
        }
        ListState::Frame frame;
        frame.base = base;
        for (DirEntry& e : *read) {
          if (e.name == "." || e.name == "..") continue;
          bool is_dir = e.type == FileType::kDirectory;
          if (!is_dir && e.type != FileType::kRegular) continue;  // symlinks, devices: not objects
          std::string key = base + e.name + (is_dir ? "/" : "");
          frame.entries.push_back({std::move(key), std::move(e)});
        }
        std::sort(
            frame.entries.begin(), frame.entries.end(),
            [](const ListState::Entry& a, const ListState::Entry& b) { return a.key < b.key; });
        // The metadata of the objects this page can still take, read concurrently rather than
        // one backend round trip after another.
        std::vector<InodeNumber> wanted;
        for (const ListState::Entry& e : frame.entries) {
          if (wanted.size() + list->count > list->request.max_keys) break;
          if (e.entry.type != FileType::kRegular ||
              !absl::StartsWith(e.key, list->request.prefix) || e.key <= list->request.after ||
              !list->CommonPrefix(e.key).empty()) {
            continue;
          }
          wanted.push_back(e.entry.inode);
        }
        auto held = std::make_shared<ListState::Frame>(std::move(frame));
        ReadXattrsAsync(
            list->who, std::move(wanted), kMetaXattr,
            [this, list, held](std::map<InodeNumber, absl::StatusOr<std::string>> metas) {
              held->metas = std::move(metas);
              list->stack.push_back(std::move(*held));
              ListContinue(list);
            });
      });
}

void ObjectStore::ReadXattrsAsync(
    const Identity& who, std::vector<InodeNumber> inodes, absl::string_view name,
    absl::AnyInvocable<void(std::map<InodeNumber, absl::StatusOr<std::string>>) &&> done) {
  struct Batch {
    std::mutex mu;
    size_t pending = 0;
    std::map<InodeNumber, absl::StatusOr<std::string>> results;
    absl::AnyInvocable<void(std::map<InodeNumber, absl::StatusOr<std::string>>) &&> done;
  };
  if (inodes.empty()) return std::move(done)({});
  auto batch = std::make_shared<Batch>();
  batch->pending = inodes.size();
  batch->done = std::move(done);
  for (InodeNumber inode : inodes) {
    backend_.GetXattr(Ctx(who), inode, name, [batch, inode](absl::StatusOr<std::string> value) {
      {
        std::lock_guard<std::mutex> lock(batch->mu);
        batch->results.emplace(inode, std::move(value));
        if (--batch->pending != 0) return;
      }
      std::move(batch->done)(std::move(batch->results));
    });
  }
}

// Runs ListStep until it waits for the backend; a callback that arrives while it runs (at once,
// or on another thread) makes it go round again instead of recursing.
void ObjectStore::ListContinue(std::shared_ptr<ListState> list) { list->loop->Continue(); }

// Goes through the top directory's entries until one needs the backend (then returns, its
// callback calling ListContinue) or the page is full or the walk is over (then answers).
void ObjectStore::ListStep(std::shared_ptr<ListState> list) {
  const ListRequest& request = list->request;
  while (!list->stop && !list->stack.empty()) {
    ListState::Frame& frame = list->stack.back();
    if (frame.next == frame.entries.size()) {
      list->stack.pop_back();
      continue;
    }
    ListState::Entry& e = frame.entries[frame.next++];
    const std::string& key = e.key;
    if (e.entry.type == FileType::kDirectory) {
      // Every key below starts with `key`.
      if (!absl::StartsWith(key, request.prefix) && !absl::StartsWith(request.prefix, key)) {
        continue;
      }
      if (key < request.after && !absl::StartsWith(request.after, key)) continue;
      std::string cp = list->CommonPrefix(key);
      if (!cp.empty()) {
        list->EmitPrefix(cp);
        continue;
      }
      InodeNumber inode = e.entry.inode;
      if (!absl::StartsWith(key, request.prefix) || key <= request.after) {
        ListEnter(list, inode, key);
        return;
      }
      // A folder object "key" itself comes before everything below it.
      Attributes attributes = e.entry.attributes.value_or(Attributes{});
      attributes.size = 0;
      backend_.GetXattr(Ctx(list->who), inode, kMetaXattr,
                        [this, list, inode, key, attributes](absl::StatusOr<std::string> stored) {
                          if (stored.ok()) {
                            if (!list->Room()) return ListContinue(list);
                            list->AddObject(key, attributes, ParseObjectMeta(*stored));
                          }
                          ListEnter(list, inode, key);
                        });
      return;
    }
    if (!absl::StartsWith(key, request.prefix) || key <= request.after) continue;
    std::string cp = list->CommonPrefix(key);
    if (!cp.empty()) {
      list->EmitPrefix(cp);
      continue;
    }
    if (!list->Room()) break;
    auto stored = frame.metas.find(e.entry.inode);
    std::optional<absl::StatusOr<std::string>> prefetched;
    if (stored != frame.metas.end()) prefetched = std::move(stored->second);
    if (!e.entry.attributes.has_value()) {
      backend_.GetAttr(Ctx(list->who), e.entry.inode,
                       [this, list, key, prefetched](absl::StatusOr<Attributes> a) mutable {
                         if (!a.ok()) return ListContinue(list);  // removed meanwhile
                         ListAddObject(list, key, *a, std::move(prefetched));
                       });
      return;
    }
    // The common case, the stored metadata still describing the file, needs no backend.
    if (prefetched.has_value() && prefetched->ok()) {
      ObjectMeta meta = ParseObjectMeta(**prefetched);
      if (StampMatches(meta, *e.entry.attributes)) {
        list->AddObject(key, *e.entry.attributes, std::move(meta));
        continue;
      }
    }
    ListAddObject(list, key, *e.entry.attributes, std::move(prefetched));
    return;
  }
  if (list->failure.has_value()) return std::move(list->done)(*list->failure);
  if (!list->result.truncated) list->result.next_marker.clear();
  std::move(list->done)(std::move(list->result));
}

// Adds an object whose ETag may need recomputing, then goes on.
void ObjectStore::ListAddObject(std::shared_ptr<ListState> list, std::string key,
                                const Attributes& attributes,
                                std::optional<absl::StatusOr<std::string>> prefetched) {
  CurrentMetaAsync(list->who, attributes, std::move(prefetched),
                   [this, list, key = std::move(key), attributes](ObjectMeta meta) mutable {
                     list->AddObject(std::move(key), attributes, std::move(meta));
                     ListContinue(list);
                   });
}

S3Or<ListResult> ObjectStore::List(const Identity& who, absl::string_view bucket,
                                   const ListRequest& request) {
  return Wait<ListResult>([&](Done<ListResult> done) {
    ListAsync(who, std::string(bucket), request, std::move(done));
  });
}

}  // namespace cfs::s3
