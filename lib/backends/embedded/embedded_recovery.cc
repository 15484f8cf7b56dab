// Start-up recovery and the invariant check of EmbeddedStore.
//
// Every namespace change is one atomic RocksDB batch, so after a crash the metadata is always a
// state some sequence of whole operations produced. What a crash can leave behind is outside the
// batches: inodes unlinked while open (orphans), extent files whose inode was freed or never
// committed, and extent bytes written past the size an unacknowledged write would have recorded.
// The full scan also verifies (and repairs) the link counts and entries themselves, so a store
// damaged by anything else still comes up consistent.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/backend/errors.h"
#include "lib/backends/embedded/embedded_store.h"
#include "lib/common/logging.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace cfs::embedded {

using backend::FileType;
using backend::InodeNumber;
using backend::kRootInode;

absl::Status EmbeddedStore::Recover() {
  // Orphans: unlinked while open in the previous run; nobody holds them open now.
  std::vector<InodeNumber> orphans;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(kOrphanPrefix); it->Valid() && it->key().starts_with(kOrphanPrefix); it->Next()) {
      orphans.push_back(InodeOfKey(absl::string_view(it->key().data(), it->key().size())));
    }
  }
  if (!orphans.empty()) {
    rocksdb::WriteBatch batch;
    for (InodeNumber inode : orphans) StageFreeInode(batch, inode);
    absl::Status s = CommitBatch(batch, /*sync=*/true);
    if (!s.ok()) return s;
    FreeData(orphans);
    recovery_.orphans_reclaimed += orphans.size();
  }
  if (!recovery_.clean_shutdown) {
    std::vector<std::string> violations;
    absl::Status s = ScanNamespace(/*repair=*/true, &recovery_, &violations);
    if (!s.ok()) return s;
    for (const std::string& v : violations) CFS_LOG(WARNING, "embedded") << "repaired: " << v;
  }
  CFS_LOG(INFO, "embedded") << "opened " << options_.data_dir << " (boot " << boot_count_
                            << (recovery_.clean_shutdown ? ", clean" : ", after a crash")
                            << "; reclaimed " << recovery_.orphans_reclaimed << " orphans, "
                            << recovery_.stray_files_removed << " stray files, trimmed "
                            << recovery_.files_trimmed << ", fixed " << recovery_.nlink_fixed
                            << " link counts, removed " << recovery_.dangling_entries_removed
                            << " dangling entries)";
  return absl::OkStatus();
}

std::vector<std::string> EmbeddedStore::CheckInvariants() {
  std::unique_lock<std::shared_mutex> lock(mu_);
  std::vector<std::string> violations;
  RecoveryReport ignored;
  absl::Status s = ScanNamespace(/*repair=*/false, &ignored, &violations);
  if (!s.ok()) violations.push_back(absl::StrCat("scan failed: ", s.ToString()));
  return violations;
}

absl::Status EmbeddedStore::ScanNamespace(bool repair, RecoveryReport* report,
                                          std::vector<std::string>* violations) {
  std::map<InodeNumber, InodeRecord> inodes;
  std::set<InodeNumber> orphan_marks;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(kInodePrefix); it->Valid() && it->key().starts_with(kInodePrefix); it->Next()) {
    absl::StatusOr<InodeRecord> record =
        DecodeInode(absl::string_view(it->value().data(), it->value().size()));
    if (!record.ok()) return record.status();
    inodes[record->attrs.inode] = std::move(*record);
  }
  for (it->Seek(kOrphanPrefix); it->Valid() && it->key().starts_with(kOrphanPrefix); it->Next()) {
    orphan_marks.insert(InodeOfKey(absl::string_view(it->key().data(), it->key().size())));
  }
  if (inodes.count(kRootInode) == 0) return absl::DataLossError("the root inode is missing");

  rocksdb::WriteBatch batch;
  std::map<InodeNumber, uint32_t> links;    // entries naming each inode
  std::map<InodeNumber, uint32_t> subdirs;  // subdirectories of each directory
  std::set<std::pair<InodeNumber, uint64_t>> live_cookies;
  for (it->Seek(kDirentPrefixByte); it->Valid() && it->key().starts_with(kDirentPrefixByte);
       it->Next()) {
    absl::string_view key(it->key().data(), it->key().size());
    InodeNumber dir = InodeOfKey(key);
    absl::StatusOr<DirentValue> entry =
        DecodeDirent(absl::string_view(it->value().data(), it->value().size()));
    if (!entry.ok()) return entry.status();
    auto child = inodes.find(entry->inode);
    auto parent = inodes.find(dir);
    if (child == inodes.end() || parent == inodes.end()) {
      violations->push_back(absl::StrCat("entry '", NameOfKey(key), "' in ", dir,
                                         " names missing inode ", entry->inode));
      if (repair) {
        batch.Delete(it->key());
        batch.Delete(CookieKey(dir, entry->cookie));
        ++report->dangling_entries_removed;
      }
      continue;
    }
    live_cookies.insert({dir, entry->cookie});
    ++links[entry->inode];
    if (child->second.attrs.type == FileType::kDirectory) {
      ++subdirs[dir];
      if (child->second.parent != dir) {
        violations->push_back(absl::StrCat("directory ", entry->inode, " records parent ",
                                           child->second.parent, " but is entered in ", dir));
        if (repair) {
          child->second.parent = dir;
          Stage(batch, child->second);
        }
      }
    }
  }
  std::string cookie_prefix = "c";
  for (it->Seek(cookie_prefix); it->Valid() && it->key().starts_with(cookie_prefix); it->Next()) {
    absl::string_view key(it->key().data(), it->key().size());
    if (live_cookies.count({InodeOfKey(key), CookieOfKey(key)}) == 0) {
      violations->push_back(absl::StrCat("readdir cookie ", CookieOfKey(key), " of ",
                                         InodeOfKey(key), " names no entry"));
      if (repair) batch.Delete(it->key());
    }
  }

  std::vector<InodeNumber> to_free;
  for (auto& [inode, record] : inodes) {
    backend::Attributes& a = record.attrs;
    uint32_t entries = links[inode];
    if (inode != kRootInode && entries == 0) {
      if (orphan_marks.count(inode) != 0 && !repair) continue;  // open and unlinked: expected
      violations->push_back(absl::StrCat("inode ", inode, " is in no directory"));
      if (repair) {
        StageFreeInode(batch, inode);
        to_free.push_back(inode);
        ++report->orphans_reclaimed;
      }
      continue;
    }
    uint32_t expected = a.type == FileType::kDirectory ? 2 + subdirs[inode] : entries;
    if (a.nlink != expected) {
      violations->push_back(
          absl::StrCat("inode ", inode, " has nlink ", a.nlink, " but ", expected, " links"));
      if (repair) {
        a.nlink = expected;
        Stage(batch, record);
        ++report->nlink_fixed;
      }
    }
  }

  for (InodeNumber inode : extents_->ListInodes()) {
    auto record = inodes.find(inode);
    if (record == inodes.end() || record->second.attrs.type != FileType::kRegular) {
      violations->push_back(absl::StrCat("extent file of inode ", inode, " has no file"));
      if (repair) {
        to_free.push_back(inode);
        ++report->stray_files_removed;
      }
      continue;
    }
    uint64_t length = extents_->Length(inode);
    if (length > record->second.attrs.size) {
      violations->push_back(absl::StrCat("extent file of inode ", inode, " holds ", length,
                                         " bytes, more than its size ", record->second.attrs.size));
      if (repair) {
        absl::Status s = extents_->Truncate(inode, record->second.attrs.size);
        if (!s.ok()) return s;
        ++report->files_trimmed;
      }
    }
  }
  if (!repair) return absl::OkStatus();
  absl::Status s = CommitBatch(batch, /*sync=*/true);
  if (!s.ok()) return s;
  FreeData(to_free);
  return absl::OkStatus();
}

}  // namespace cfs::embedded
