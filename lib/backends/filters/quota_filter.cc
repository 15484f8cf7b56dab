#include "lib/backends/filters/quota_filter.h"

#include <algorithm>
#include <deque>
#include <iterator>
#include <unordered_set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/backend/errors.h"
#include "lib/backend/sync_backend.h"
#include "lib/common/logging.h"

namespace cfs::filters {
namespace {

using backend::Attributes;
using backend::FileType;
using backend::FsError;
using quota::QuotaKey;
using quota::QuotaKind;
using quota::QuotaLedger;
using Keys = std::vector<QuotaKey>;
using Held = std::shared_ptr<QuotaLedger::Reservation>;

backend::RequestContext AsRoot(const backend::RequestContext& c) {
  backend::RequestContext root = c;
  root.identity = backend::Identity::Root();
  return root;
}

// The bytes a quota counts for an object: the size of regular files.
uint64_t BytesOf(const Attributes& a) { return a.type == FileType::kRegular ? a.size : 0; }

int64_t Signed(uint64_t v) { return static_cast<int64_t>(v); }

Keys Minus(const Keys& a, const Keys& b) {
  Keys out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

Keys Both(const Keys& a, const Keys& b) {
  Keys out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

bool IsTree(QuotaKind kind) { return kind == QuotaKind::kExport || kind == QuotaKind::kBucket; }

Held Hold(QuotaLedger::Reservation r) {
  return std::make_shared<QuotaLedger::Reservation>(std::move(r));
}

}  // namespace

QuotaFilter::QuotaFilter(backend::BackendPtr next, QuotaFilterOptions options)
    : ForwardingBackend(std::move(next)) {
  SetExports(std::move(options.exports));
}

void QuotaFilter::SetExports(std::vector<auth::Export> exports) {
  std::lock_guard<std::mutex> lock(mu_);
  exports_ = std::move(exports);
  s3_root_.clear();
  for (const auth::Export& exp : exports_) {
    if (exp.s3_buckets) {
      s3_root_ = exp.path;
      break;
    }
  }
}

QuotaFilter::~QuotaFilter() = default;

std::string QuotaFilter::Describe() const { return ForwardingBackend::Describe(); }

// ---- subjects and trees ----

absl::StatusOr<QuotaKey> QuotaFilter::KeyOf(const quota::QuotaSubject& subject) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, known] : subjects_) {
      if (known == subject) return key;
    }
  }
  uint32_t id = 0;
  switch (subject.kind) {
    case QuotaKind::kUser:
    case QuotaKind::kGroup:
      if (!absl::SimpleAtoi(subject.name, &id)) {
        return absl::InvalidArgumentError(
            absl::StrCat("quota ", subject.ToString(), ": not a numeric id"));
      }
      return QuotaKey{subject.kind, id};
    case QuotaKind::kExport:
    case QuotaKind::kBucket:
      break;
  }
  std::string path;
  std::string s3_root;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s3_root = s3_root_;
    for (const auth::Export& exp : exports_) {
      if (subject.kind == QuotaKind::kExport && exp.name == subject.name) path = exp.path;
    }
  }
  if (subject.kind == QuotaKind::kExport) {
    if (path.empty()) {
      return absl::NotFoundError(absl::StrCat("quota ", subject.ToString(), ": no such export"));
    }
  } else {
    if (s3_root.empty()) {
      return absl::NotFoundError(
          absl::StrCat("quota ", subject.ToString(), ": no export serves S3 buckets"));
    }
    if (subject.name.find('/') != std::string::npos || subject.name == "." ||
        subject.name == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("quota ", subject.ToString(), ": not a bucket name"));
    }
    path = absl::StrCat(s3_root == "/" ? "" : s3_root, "/", subject.name);
  }
  backend::SyncBackend fs(const_cast<QuotaFilter*>(this)->next(),
                          backend::RequestContext{backend::Identity::Root()});
  absl::StatusOr<Attributes> dir = fs.ResolveDirectory(path);
  if (!dir.ok()) {
    return absl::NotFoundError(absl::StrCat("quota ", subject.ToString(), ": ",
                                            QuotaKindName(subject.kind), " directory ", path,
                                            " not found (", dir.status().message(), ")"));
  }
  return QuotaKey{subject.kind, dir->inode};
}

Keys QuotaFilter::TreesOf(Ino dir) const {
  std::lock_guard<std::mutex> lock(mu_);
  Keys out;
  if (tree_roots_.empty()) return out;
  Ino d = dir;
  for (int depth = 0; depth < 4096; ++depth) {
    auto root = tree_roots_.find(d);
    if (root != tree_roots_.end()) out.insert(out.end(), root->second.begin(), root->second.end());
    if (d == backend::kRootInode) break;
    auto up = dir_parent_.find(d);
    if (up == dir_parent_.end() || up->second == d) break;
    d = up->second;
  }
  std::sort(out.begin(), out.end());
  return out;
}

Keys QuotaFilter::TreesOfFile(Ino inode) const {
  Ino parent = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (tree_roots_.empty()) return {};
    auto it = file_parent_.find(inode);
    if (it == file_parent_.end()) return {};
    parent = it->second;
  }
  return TreesOf(parent);
}

Keys QuotaFilter::TreesOfObject(const Attributes& attrs, Ino parent) const {
  if (attrs.type != FileType::kDirectory) return TreesOfFile(attrs.inode);
  if (parent == 0) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = dir_parent_.find(attrs.inode);
    if (it == dir_parent_.end()) return {};
    parent = it->second;
  }
  return TreesOf(parent);
}

Keys QuotaFilter::KeysOf(const Attributes& attrs, const Keys& trees) {
  Keys keys = trees;
  keys.push_back({QuotaKind::kUser, attrs.uid});
  keys.push_back({QuotaKind::kGroup, attrs.gid});
  std::sort(keys.begin(), keys.end());
  return keys;
}

void QuotaFilter::NoteEntry(const Attributes& attrs, Ino parent) {
  bool in_tree = attrs.type != FileType::kDirectory && !TreesOf(parent).empty();
  std::lock_guard<std::mutex> lock(mu_);
  if (attrs.type == FileType::kDirectory) {
    dir_parent_[attrs.inode] = parent;
  } else if (in_tree) {
    file_parent_[attrs.inode] = parent;
  } else {
    file_parent_.erase(attrs.inode);
  }
}

void QuotaFilter::ForgetEntry(const Attributes& attrs) {
  std::lock_guard<std::mutex> lock(mu_);
  if (attrs.type == FileType::kDirectory) {
    dir_parent_.erase(attrs.inode);
  } else {
    file_parent_.erase(attrs.inode);
  }
}

void QuotaFilter::DropTreeRoot(Ino dir) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tree_roots_.find(dir);
  if (it == tree_roots_.end()) return;
  for (const QuotaKey& key : it->second) {
    auto subject = subjects_.find(key);
    if (subject != subjects_.end()) {
      CFS_LOG(INFO, "quota") << "quota of " << subject->second.ToString()
                             << " dropped: its directory was removed";
      subjects_.erase(subject);
    }
    ledger_.RemoveLimits(key);
  }
  tree_roots_.erase(it);
}

void QuotaFilter::Charge(const Keys& keys, int64_t bytes, int64_t inodes) {
  if (bytes == 0 && inodes == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (rebuilding_) {
    for (const QuotaKey& key : keys) {
      during_[key].first += bytes;
      during_[key].second += inodes;
    }
  }
  ledger_.Apply(keys, bytes, inodes);
}

void QuotaFilter::ChargeMove(const Keys& before_keys, uint64_t before_bytes, const Keys& after_keys,
                             uint64_t after_bytes) {
  Charge(Minus(before_keys, after_keys), -Signed(before_bytes), -1);
  Charge(Minus(after_keys, before_keys), Signed(after_bytes), 1);
  Charge(Both(before_keys, after_keys), Signed(after_bytes) - Signed(before_bytes), 0);
}

// ---- the QuotaService ----

absl::StatusOr<bool> QuotaFilter::ApplyLimits(const quota::QuotaSetting& setting) {
  absl::StatusOr<QuotaKey> key = KeyOf(setting.subject);
  if (!key.ok()) return key.status();
  bool fresh = !ledger_.HasLimits(*key);
  ledger_.SetLimits(*key, absl::StrCat(QuotaKindName(key->kind), " ", setting.subject.name),
                    setting.limits);
  std::lock_guard<std::mutex> lock(mu_);
  subjects_[*key] = setting.subject;
  bool new_tree = fresh && IsTree(key->kind);
  if (new_tree) tree_roots_[key->id].push_back(*key);
  return new_tree;
}

absl::Status QuotaFilter::Configure(const std::vector<quota::QuotaSetting>& settings) {
  std::lock_guard<std::mutex> rebuild(rebuild_mu_);
  bool any = false;
  for (const quota::QuotaSetting& setting : settings) {
    absl::Status valid = quota::ValidateQuotaSetting(setting);
    if (!valid.ok()) return valid;
    if (setting.limits.empty()) continue;
    absl::StatusOr<bool> applied = ApplyLimits(setting);
    if (!applied.ok()) return applied.status();
    any = true;
  }
  if (!any) return absl::OkStatus();
  active_.store(true, std::memory_order_release);
  return Scan();
}

absl::Status QuotaFilter::SetQuota(const quota::QuotaSetting& setting) {
  absl::Status valid = quota::ValidateQuotaSetting(setting);
  if (!valid.ok()) return valid;
  if (setting.limits.empty()) {
    absl::Status removed = RemoveQuota(setting.subject);
    return absl::IsNotFound(removed) ? absl::OkStatus() : removed;
  }
  std::lock_guard<std::mutex> rebuild(rebuild_mu_);
  absl::StatusOr<bool> new_tree = ApplyLimits(setting);
  if (!new_tree.ok()) return new_tree.status();
  CFS_LOG(INFO, "quota") << "quota of " << setting.subject.ToString() << " set: bytes soft "
                         << setting.limits.soft_bytes << " hard " << setting.limits.hard_bytes
                         << ", files soft " << setting.limits.soft_inodes << " hard "
                         << setting.limits.hard_inodes;
  // Usage of users and groups is counted for everyone once active; a new tree needs its files.
  if (active() && !*new_tree) return absl::OkStatus();
  active_.store(true, std::memory_order_release);
  return Scan();
}

absl::Status QuotaFilter::RemoveQuota(const quota::QuotaSubject& subject) {
  std::lock_guard<std::mutex> rebuild(rebuild_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find_if(subjects_.begin(), subjects_.end(),
                         [&](const auto& entry) { return entry.second == subject; });
  if (it == subjects_.end()) {
    return absl::NotFoundError(absl::StrCat("quota ", subject.ToString(), ": no limits are set"));
  }
  QuotaKey key = it->first;
  subjects_.erase(it);
  ledger_.RemoveLimits(key);
  if (IsTree(key.kind)) {
    auto root = tree_roots_.find(key.id);
    if (root != tree_roots_.end()) {
      root->second.erase(std::remove(root->second.begin(), root->second.end(), key),
                         root->second.end());
      if (root->second.empty()) tree_roots_.erase(root);
    }
  }
  if (!ledger_.HasLimits()) {
    // Nothing left to enforce: forward untouched again (a later limit scans afresh).
    active_.store(false, std::memory_order_release);
    file_parent_.clear();
    pending_.clear();
    known_.clear();
  }
  CFS_LOG(INFO, "quota") << "quota of " << subject.ToString() << " removed";
  return absl::OkStatus();
}

quota::QuotaReport QuotaFilter::ReportOf(const quota::QuotaSubject& subject,
                                         const QuotaLedger::Entry& entry) const {
  quota::QuotaReport report;
  report.setting = {subject, entry.limits};
  report.usage = entry.usage;
  const quota::QuotaLimits& l = entry.limits;
  report.soft_exceeded = (l.soft_bytes != 0 && entry.usage.bytes > l.soft_bytes) ||
                         (l.soft_inodes != 0 && entry.usage.inodes > l.soft_inodes);
  report.hard_reached = (l.hard_bytes != 0 && entry.usage.bytes >= l.hard_bytes) ||
                        (l.hard_inodes != 0 && entry.usage.inodes >= l.hard_inodes);
  return report;
}

absl::StatusOr<quota::QuotaReport> QuotaFilter::GetQuota(const quota::QuotaSubject& subject) const {
  std::optional<QuotaKey> key;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, known] : subjects_) {
      if (known == subject) key = k;
    }
  }
  std::optional<QuotaLedger::Entry> entry;
  if (key.has_value()) entry = ledger_.Get(*key);
  if (!entry.has_value()) {
    return absl::NotFoundError(absl::StrCat("quota ", subject.ToString(), ": no limits are set"));
  }
  return ReportOf(subject, *entry);
}

std::vector<quota::QuotaReport> QuotaFilter::ListQuotas() const {
  std::vector<QuotaLedger::Entry> entries = ledger_.ListLimited();
  std::vector<quota::QuotaReport> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const QuotaLedger::Entry& entry : entries) {
    auto subject = subjects_.find(entry.key);
    if (subject != subjects_.end()) out.push_back(ReportOf(subject->second, entry));
  }
  std::sort(out.begin(), out.end(), [](const quota::QuotaReport& a, const quota::QuotaReport& b) {
    return a.setting.subject < b.setting.subject;
  });
  return out;
}

absl::Status QuotaFilter::RebuildUsage() {
  std::lock_guard<std::mutex> rebuild(rebuild_mu_);
  if (!active()) return absl::OkStatus();  // nothing is counted without limits
  return Scan();
}

absl::Status QuotaFilter::CheckGrowth(const backend::Identity& who, Ino dir, uint64_t bytes,
                                      uint64_t inodes) const {
  if (!active()) return absl::OkStatus();
  Attributes owner;
  owner.uid = who.uid;
  owner.gid = who.gid;
  return ledger_.Check(KeysOf(owner, TreesOf(dir)), bytes, inodes);
}

absl::Status QuotaFilter::Scan() {
  absl::Time start = absl::Now();
  backend::SyncBackend fs(next(), backend::RequestContext{backend::Identity::Root()});
  std::map<QuotaKey, quota::QuotaUsage> counted;
  std::unordered_set<Ino> linked_seen;  // files with several links count once
  {
    std::lock_guard<std::mutex> lock(mu_);
    rebuilding_ = true;
    during_.clear();
    known_.clear();  // unwatched while no limit was set: look files up afresh
  }
  auto finish = [&](absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (status.ok()) {
      for (const auto& [key, delta] : during_) {
        quota::QuotaUsage& u = counted[key];
        u.bytes = std::max<int64_t>(0, Signed(u.bytes) + delta.first);
        u.inodes = std::max<int64_t>(0, Signed(u.inodes) + delta.second);
      }
      ledger_.ReplaceUsage(std::move(counted));
    }
    rebuilding_ = false;
    during_.clear();
    return status;
  };
  struct Item {
    Ino dir;
    Keys trees;
  };
  std::deque<Item> work;
  work.push_back({backend::kRootInode, TreesOf(backend::kRootInode)});
  uint64_t objects = 0;
  while (!work.empty()) {
    Item item = std::move(work.front());
    work.pop_front();
    uint64_t cookie = 0;
    uint64_t verifier = 0;
    for (;;) {
      absl::StatusOr<backend::ReadDirResult> page =
          fs.ReadDir(item.dir, cookie, verifier, 512, /*with_attributes=*/true);
      if (!page.ok()) {
        std::optional<FsError> error = backend::GetFsError(page.status());
        if (error == FsError::kNoEntry || error == FsError::kStale ||
            error == FsError::kNotDirectory) {
          break;  // removed while the scan ran
        }
        return finish(absl::Status(page.status().code(),
                                   absl::StrCat("quota scan: ", page.status().message())));
      }
      for (const backend::DirEntry& entry : page->entries) {
        cookie = entry.cookie;
        Attributes a;
        if (entry.attributes.has_value()) {
          a = *entry.attributes;
        } else {
          absl::StatusOr<Attributes> got = fs.GetAttr(entry.inode);
          if (!got.ok()) continue;
          a = *got;
        }
        if (a.type != FileType::kDirectory && a.nlink > 1 && !linked_seen.insert(a.inode).second) {
          continue;
        }
        ++objects;
        for (const QuotaKey& key : KeysOf(a, item.trees)) {
          counted[key].bytes += BytesOf(a);
          counted[key].inodes += 1;
        }
        Keys child_trees;
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (a.type == FileType::kDirectory) {
            dir_parent_[a.inode] = item.dir;
            child_trees = item.trees;
            auto root = tree_roots_.find(a.inode);
            if (root != tree_roots_.end()) {
              child_trees.insert(child_trees.end(), root->second.begin(), root->second.end());
              std::sort(child_trees.begin(), child_trees.end());
            }
          } else if (!item.trees.empty()) {
            file_parent_[a.inode] = item.dir;
          }
        }
        if (a.type == FileType::kDirectory) work.push_back({a.inode, std::move(child_trees)});
      }
      verifier = page->cookie_verifier;
      if (page->eof || page->entries.empty()) break;
    }
  }
  absl::Status done = finish(absl::OkStatus());
  CFS_LOG(INFO, "quota") << "usage counted: " << objects << " objects in "
                         << absl::FormatDuration(absl::Now() - start);
  return done;
}

// ---- enforcement ----

void QuotaFilter::Remember(const Attributes& attrs) {
  if (attrs.type != FileType::kRegular) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = known_.find(attrs.inode);
  if (it != known_.end()) {
    // Completions can arrive out of order: keep the newest state.
    if (attrs.change_id >= it->second.change_id) it->second = attrs;
    return;
  }
  if (known_.size() >= kMaxKnown) known_.clear();
  known_.emplace(attrs.inode, attrs);
}

void QuotaFilter::Forget(Ino inode) {
  std::lock_guard<std::mutex> lock(mu_);
  known_.erase(inode);
}

std::optional<Attributes> QuotaFilter::Recall(Ino inode) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = known_.find(inode);
  if (it == known_.end()) return std::nullopt;
  return it->second;
}

void QuotaFilter::WriteWith(const Ctx& c, const Attributes& attrs, uint64_t offset, Buffer data,
                            backend::Stability stability, Cb<backend::WriteResult> done) {
  Ino inode = attrs.inode;
  uint64_t end = offset + data.size();
  uint64_t growth = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t base = attrs.size;
    auto p = pending_.find(inode);
    if (p != pending_.end()) base = std::max(base, p->second.end);
    growth = end > base ? end - base : 0;
  }
  absl::StatusOr<QuotaLedger::Reservation> reserved =
      ledger_.Reserve(KeysOf(attrs, TreesOfFile(inode)), growth, 0);
  if (!reserved.ok()) {
    std::move(done)(reserved.status());
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    Pending& p = pending_[inode];
    p.end = std::max(p.end, end);
    ++p.count;
  }
  Held held = Hold(std::move(*reserved));
  auto finish = [this, inode, held,
                 done = std::move(done)](absl::StatusOr<backend::WriteResult> result) mutable {
    if (result.ok()) {
      const backend::AttrChange& change = result->attributes;
      Charge(KeysOf(change.after, TreesOfFile(inode)),
             Signed(change.after.size) - Signed(change.before.size), 0);
      Remember(change.after);
    } else {
      Forget(inode);  // look again next time
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto p = pending_.find(inode);
      if (p != pending_.end() && --p->second.count <= 0) pending_.erase(p);
    }
    held->Release();
    std::move(done)(std::move(result));
  };
  next().Write(c, inode, offset, std::move(data), stability, std::move(finish));
}

void QuotaFilter::Write(const Ctx& c, Ino inode, uint64_t offset, Buffer data,
                        backend::Stability stability, Cb<backend::WriteResult> done) {
  if (!active()) {
    next().Write(c, inode, offset, std::move(data), stability, std::move(done));
    return;
  }
  if (std::optional<Attributes> known = Recall(inode)) {
    WriteWith(c, *known, offset, std::move(data), stability, std::move(done));
    return;
  }
  next().GetAttr(AsRoot(c), inode,
                 [this, c, inode, offset, data = std::move(data), stability,
                  done = std::move(done)](absl::StatusOr<Attributes> attrs) mutable {
                   if (!attrs.ok() || attrs->type != FileType::kRegular) {
                     // The backend gives the error (stale handle, a directory...).
                     next().Write(c, inode, offset, std::move(data), stability, std::move(done));
                     return;
                   }
                   Remember(*attrs);
                   WriteWith(c, *attrs, offset, std::move(data), stability, std::move(done));
                 });
}

void QuotaFilter::SetAttr(const Ctx& c, Ino inode, const backend::SetAttributes& attrs,
                          Cb<backend::AttrChange> done) {
  if (!active() || (!attrs.size.has_value() && !attrs.uid.has_value() && !attrs.gid.has_value())) {
    next().SetAttr(c, inode, attrs, std::move(done));
    return;
  }
  next().GetAttr(
      AsRoot(c), inode,
      [this, c, inode, attrs, done = std::move(done)](absl::StatusOr<Attributes> before) mutable {
        if (!before.ok()) {
          next().SetAttr(c, inode, attrs, std::move(done));
          return;
        }
        Keys trees = TreesOfObject(*before, 0);
        Attributes after = *before;
        if (attrs.uid.has_value()) after.uid = *attrs.uid;
        if (attrs.gid.has_value()) after.gid = *attrs.gid;
        if (attrs.size.has_value() && before->type == FileType::kRegular) after.size = *attrs.size;
        Keys before_keys = KeysOf(*before, trees);
        Keys after_keys = KeysOf(after, trees);
        // A new owner takes on the whole object; the others only its growth.
        absl::StatusOr<QuotaLedger::Reservation> taken =
            ledger_.Reserve(Minus(after_keys, before_keys), BytesOf(after), 1);
        if (!taken.ok()) {
          std::move(done)(taken.status());
          return;
        }
        uint64_t growth = after.size > before->size ? after.size - before->size : 0;
        absl::StatusOr<QuotaLedger::Reservation> grown =
            ledger_.Reserve(Both(after_keys, before_keys), BytesOf(after) > 0 ? growth : 0, 0);
        if (!grown.ok()) {
          std::move(done)(grown.status());
          return;
        }
        Held held_taken = Hold(std::move(*taken));
        Held held_grown = Hold(std::move(*grown));
        next().SetAttr(c, inode, attrs,
                       [this, inode, trees, held_taken, held_grown, done = std::move(done)](
                           absl::StatusOr<backend::AttrChange> change) mutable {
                         if (change.ok()) {
                           ChargeMove(KeysOf(change->before, trees), BytesOf(change->before),
                                      KeysOf(change->after, trees), BytesOf(change->after));
                           Remember(change->after);
                         } else {
                           Forget(inode);
                         }
                         held_taken->Release();
                         held_grown->Release();
                         std::move(done)(std::move(change));
                       });
      });
}

void QuotaFilter::Create(const Ctx& c, const backend::CreateRequest& request,
                         Cb<backend::EntryResult> done) {
  if (!active()) {
    next().Create(c, request, std::move(done));
    return;
  }
  bool changes_size =
      request.attributes.size.has_value() && request.how != backend::CreateMode::kGuarded;
  if (!changes_size) {
    CreateChecked(c, request, std::nullopt, false, std::move(done));
    return;
  }
  // A truncating create of an existing file: its old size tells what the truncation frees.
  next().Lookup(
      AsRoot(c), request.parent, request.name,
      [this, c, request, done = std::move(done)](absl::StatusOr<Attributes> found) mutable {
        CreateChecked(c, request, found.ok() ? std::optional<Attributes>(*found) : std::nullopt,
                      true, std::move(done));
      });
}

void QuotaFilter::CreateChecked(const Ctx& c, const backend::CreateRequest& request,
                                std::optional<Attributes> existing, bool looked_up,
                                Cb<backend::EntryResult> done) {
  Keys trees = TreesOf(request.parent);
  Attributes owner;
  owner.type = FileType::kRegular;
  owner.uid = request.attributes.uid.value_or(c.identity.uid);
  owner.gid = request.attributes.gid.value_or(c.identity.gid);
  uint64_t bytes = request.attributes.size.value_or(0);
  uint64_t inodes = 1;
  if (existing.has_value()) {
    // Opening (or truncating) what exists adds no file; the backend refuses other kinds.
    owner = *existing;
    trees = TreesOfFile(existing->inode);
    uint64_t size = request.attributes.size.value_or(existing->size);
    bytes =
        existing->type == FileType::kRegular && size > existing->size ? size - existing->size : 0;
    inodes = 0;
  }
  absl::StatusOr<QuotaLedger::Reservation> reserved =
      ledger_.Reserve(KeysOf(owner, trees), bytes, inodes);
  if (!reserved.ok() && !looked_up) {
    // Refused as a new file: it may be an open of an existing one, which adds none.
    next().Lookup(
        AsRoot(c), request.parent, request.name,
        [this, c, request, done = std::move(done)](absl::StatusOr<Attributes> found) mutable {
          CreateChecked(c, request, found.ok() ? std::optional<Attributes>(*found) : std::nullopt,
                        true, std::move(done));
        });
    return;
  }
  if (!reserved.ok()) {
    std::move(done)(reserved.status());
    return;
  }
  Held held = Hold(std::move(*reserved));
  Ino parent = request.parent;
  next().Create(c, request,
                [this, parent, trees, existing, held,
                 done = std::move(done)](absl::StatusOr<backend::EntryResult> result) mutable {
                  if (result.ok()) {
                    const Attributes& a = result->attributes;
                    Remember(a);
                    bool created =
                        result->parent.before.change_id != result->parent.after.change_id;
                    if (created) {
                      NoteEntry(a, parent);
                      Charge(KeysOf(a, TreesOf(parent)), Signed(BytesOf(a)), 1);
                    } else if (existing.has_value() && existing->inode == a.inode) {
                      Charge(KeysOf(a, trees), Signed(a.size) - Signed(existing->size), 0);
                    }
                  }
                  held->Release();
                  std::move(done)(std::move(result));
                });
}

namespace {

// Runs `make` (which creates one new entry under `parent`) after reserving one file; refuses
// with kQuota only when `name` does not exist already (the backend then says kExists).
template <typename Make>
void ReserveOneAndMake(QuotaLedger& ledger, backend::Backend& next,
                       const backend::RequestContext& c, backend::InodeNumber parent,
                       absl::string_view name, const Keys& keys, Make make) {
  absl::StatusOr<QuotaLedger::Reservation> reserved = ledger.Reserve(keys, 0, 1);
  if (reserved.ok()) {
    make(Hold(std::move(*reserved)), absl::OkStatus());
    return;
  }
  next.Lookup(AsRoot(c), parent, name,
              [make = std::move(make),
               refusal = reserved.status()](absl::StatusOr<Attributes> found) mutable {
                make(Hold(QuotaLedger::Reservation()), found.ok() ? absl::OkStatus() : refusal);
              });
}

}  // namespace

void QuotaFilter::MakeEntry(const Ctx& c, Ino parent, absl::string_view name,
                            const backend::SetAttributes& attrs,
                            absl::AnyInvocable<void(Cb<backend::EntryResult>) &&> make,
                            Cb<backend::EntryResult> done) {
  Attributes owner;
  owner.uid = attrs.uid.value_or(c.identity.uid);
  owner.gid = attrs.gid.value_or(c.identity.gid);
  ReserveOneAndMake(ledger_, next(), c, parent, name, KeysOf(owner, TreesOf(parent)),
                    [this, parent, make = std::move(make), done = std::move(done)](
                        Held held, absl::Status allowed) mutable {
                      if (!allowed.ok()) {
                        std::move(done)(allowed);
                        return;
                      }
                      std::move(make)([this, parent, held, done = std::move(done)](
                                          absl::StatusOr<backend::EntryResult> result) mutable {
                        if (result.ok()) {
                          NoteEntry(result->attributes, parent);
                          Charge(KeysOf(result->attributes, TreesOf(parent)), 0, 1);
                        }
                        held->Release();
                        std::move(done)(std::move(result));
                      });
                    });
}

void QuotaFilter::MakeDirectory(const Ctx& c, Ino parent, absl::string_view name,
                                const backend::SetAttributes& attrs,
                                Cb<backend::EntryResult> done) {
  if (!active()) {
    next().MakeDirectory(c, parent, name, attrs, std::move(done));
    return;
  }
  MakeEntry(
      c, parent, name, attrs,
      [this, c, parent, name = std::string(name), attrs](Cb<backend::EntryResult> made) {
        next().MakeDirectory(c, parent, name, attrs, std::move(made));
      },
      std::move(done));
}

void QuotaFilter::MakeSymlink(const Ctx& c, Ino parent, absl::string_view name,
                              absl::string_view target, const backend::SetAttributes& attrs,
                              Cb<backend::EntryResult> done) {
  if (!active()) {
    next().MakeSymlink(c, parent, name, target, attrs, std::move(done));
    return;
  }
  MakeEntry(
      c, parent, name, attrs,
      [this, c, parent, name = std::string(name), target = std::string(target),
       attrs](Cb<backend::EntryResult> made) {
        next().MakeSymlink(c, parent, name, target, attrs, std::move(made));
      },
      std::move(done));
}

void QuotaFilter::MakeNode(const Ctx& c, Ino parent, absl::string_view name, backend::FileType type,
                           uint32_t rdev_major, uint32_t rdev_minor,
                           const backend::SetAttributes& attrs, Cb<backend::EntryResult> done) {
  if (!active()) {
    next().MakeNode(c, parent, name, type, rdev_major, rdev_minor, attrs, std::move(done));
    return;
  }
  MakeEntry(
      c, parent, name, attrs,
      [this, c, parent, name = std::string(name), type, rdev_major, rdev_minor,
       attrs](Cb<backend::EntryResult> made) {
        next().MakeNode(c, parent, name, type, rdev_major, rdev_minor, attrs, std::move(made));
      },
      std::move(done));
}

void QuotaFilter::Link(const Ctx& c, Ino inode, Ino dir, absl::string_view name,
                       Cb<backend::EntryResult> done) {
  if (active() && TreesOfFile(inode) != TreesOf(dir)) {
    std::move(done)(backend::FsErrorStatus(
        FsError::kCrossDevice, "a hard link may not cross the boundary of a quota tree"));
    return;
  }
  next().Link(c, inode, dir, name, std::move(done));
}

void QuotaFilter::Unlink(const Ctx& c, Ino dir, absl::string_view name,
                         Cb<backend::DirChange> done) {
  if (!active()) {
    next().Unlink(c, dir, name, std::move(done));
    return;
  }
  next().Lookup(AsRoot(c), dir, name,
                [this, c, dir, name = std::string(name),
                 done = std::move(done)](absl::StatusOr<Attributes> victim) mutable {
                  next().Unlink(c, dir, name,
                                [this, victim = std::move(victim), done = std::move(done)](
                                    absl::StatusOr<backend::DirChange> result) mutable {
                                  if (result.ok() && victim.ok() &&
                                      victim->type != FileType::kDirectory && victim->nlink <= 1) {
                                    Charge(KeysOf(*victim, TreesOfFile(victim->inode)),
                                           -Signed(BytesOf(*victim)), -1);
                                    ForgetEntry(*victim);
                                    Forget(victim->inode);
                                  }
                                  std::move(done)(std::move(result));
                                });
                });
}

void QuotaFilter::RemoveDirectory(const Ctx& c, Ino dir, absl::string_view name,
                                  Cb<backend::DirChange> done) {
  if (!active()) {
    next().RemoveDirectory(c, dir, name, std::move(done));
    return;
  }
  next().Lookup(AsRoot(c), dir, name,
                [this, c, dir, name = std::string(name),
                 done = std::move(done)](absl::StatusOr<Attributes> victim) mutable {
                  next().RemoveDirectory(
                      c, dir, name,
                      [this, dir, victim = std::move(victim),
                       done = std::move(done)](absl::StatusOr<backend::DirChange> result) mutable {
                        if (result.ok() && victim.ok()) {
                          Charge(KeysOf(*victim, TreesOf(dir)), 0, -1);
                          DropTreeRoot(victim->inode);
                          ForgetEntry(*victim);
                        }
                        std::move(done)(std::move(result));
                      });
                });
}

void QuotaFilter::Rename(const Ctx& c, Ino from_dir, absl::string_view from_name, Ino to_dir,
                         absl::string_view to_name, Cb<backend::RenameResult> done) {
  if (!active()) {
    next().Rename(c, from_dir, from_name, to_dir, to_name, std::move(done));
    return;
  }
  struct State {
    absl::StatusOr<Attributes> source = absl::UnknownError("");
    absl::StatusOr<Attributes> target = absl::UnknownError("");
  };
  auto state = std::make_shared<State>();
  std::string from(from_name);
  std::string to(to_name);
  next().Lookup(
      AsRoot(c), from_dir, from,
      [this, c, from_dir, from, to_dir, to, state,
       done = std::move(done)](absl::StatusOr<Attributes> source) mutable {
        state->source = std::move(source);
        next().Lookup(
            AsRoot(c), to_dir, to,
            [this, c, from_dir, from, to_dir, to, state,
             done = std::move(done)](absl::StatusOr<Attributes> target) mutable {
              state->target = std::move(target);
              if (!state->source.ok()) {
                next().Rename(c, from_dir, from, to_dir, to,
                              std::move(done));  // the backend's error
                return;
              }
              const Attributes& src = *state->source;
              Keys from_trees = TreesOf(from_dir);
              Keys to_trees = TreesOf(to_dir);
              Held held = Hold(QuotaLedger::Reservation());
              if (from_trees != to_trees) {
                if (src.type == FileType::kDirectory) {
                  std::move(done)(backend::FsErrorStatus(
                      FsError::kCrossDevice,
                      "a directory may not be renamed across the boundary of a quota tree"));
                  return;
                }
                // A file it replaces (its last link) frees its share in the same trees.
                uint64_t bytes = BytesOf(src);
                uint64_t files = 1;
                if (state->target.ok() && state->target->inode != src.inode &&
                    state->target->type != FileType::kDirectory && state->target->nlink <= 1) {
                  uint64_t freed = BytesOf(*state->target);
                  bytes = bytes > freed ? bytes - freed : 0;
                  files = 0;
                }
                absl::StatusOr<QuotaLedger::Reservation> reserved =
                    ledger_.Reserve(Minus(to_trees, from_trees), bytes, files);
                if (!reserved.ok()) {
                  std::move(done)(reserved.status());
                  return;
                }
                held = Hold(std::move(*reserved));
              }
              Keys target_keys;
              if (state->target.ok()) {
                target_keys = KeysOf(*state->target, state->target->type == FileType::kDirectory
                                                         ? to_trees
                                                         : TreesOfFile(state->target->inode));
              }
              next().Rename(
                  c, from_dir, from, to_dir, to,
                  [this, to_dir, state, from_trees, to_trees, target_keys, held,
                   done = std::move(done)](absl::StatusOr<backend::RenameResult> result) mutable {
                    if (result.ok()) {
                      const Attributes& src = *state->source;
                      if (state->target.ok() && state->target->inode != src.inode) {
                        const Attributes& victim = *state->target;
                        if (victim.type == FileType::kDirectory) {
                          Charge(target_keys, 0, -1);
                          DropTreeRoot(victim.inode);
                          ForgetEntry(victim);
                        } else if (victim.nlink <= 1) {
                          Charge(target_keys, -Signed(BytesOf(victim)), -1);
                          ForgetEntry(victim);
                        }
                      }
                      if (from_trees != to_trees) {
                        Charge(Minus(from_trees, to_trees), -Signed(BytesOf(src)), -1);
                        Charge(Minus(to_trees, from_trees), Signed(BytesOf(src)), 1);
                      }
                      NoteEntry(src, to_dir);
                    }
                    held->Release();
                    std::move(done)(std::move(result));
                  });
            });
      });
}

}  // namespace cfs::filters
