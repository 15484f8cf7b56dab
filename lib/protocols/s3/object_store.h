// ObjectStore: S3's view of the namespace. Buckets are the directories at the S3 root of an
// export; an object key "a/b/c" is the file a/b/c below its bucket, so S3, NFS and SMB share
// the same files. Everything runs as the caller's identity, so POSIX permissions apply.
//
// Writes never show a partial object: data goes to a staging file under the hidden
// "<root>/.cfs-s3/tmp", is committed to stable storage, gets its metadata (ETag, headers,
// user metadata, tags) as an xattr, and is renamed into place (one atomic backend rename).
// Multipart parts are staged the same way under "<root>/.cfs-s3/uploads/<upload id>/".
// Parent directories of a key are created on PUT and removed on DELETE when they become
// empty, so prefixes appear and disappear as they do on S3.
//
// Threading: the *Async methods never wait: each runs its `done` exactly once, possibly before
// it returns and possibly on a backend thread, so `done` must not block either. The other
// methods block the calling thread until the backend answers: for tests and start-up only,
// never on a loop or backend thread. Thread-safe.
#ifndef CFS_LIB_PROTOCOLS_S3_OBJECT_STORE_H_
#define CFS_LIB_PROTOCOLS_S3_OBJECT_STORE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>  // std::mutex: visible to ThreadSanitizer
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/backend/backend.h"
#include "lib/backend/sync_backend.h"
#include "lib/protocols/s3/object_meta.pb.h"
#include "lib/protocols/s3/s3_result.h"

namespace cfs::s3 {

inline constexpr absl::string_view kMetaXattr = "user.cfs.s3.meta";
inline constexpr absl::string_view kHiddenDir = ".cfs-s3";

struct BucketInfo {
  std::string name;
  backend::Attributes attributes;
};

struct ObjectInfo {
  std::string key;
  backend::Attributes attributes;
  ObjectMeta meta;  // meta.etag is current
};

struct ListResult {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_marker;  // the last key or common prefix returned, when truncated
};

struct ListRequest {
  std::string prefix;
  std::string delimiter;
  std::string after;  // marker / start-after / continuation: keys <= this are skipped
  size_t max_keys = 1000;
};

// Checks bucket names as S3 does (3-63 of a-z 0-9 . -, starting and ending alphanumeric).
bool IsValidBucketName(absl::string_view name);

// The permission bits of what S3 creates in a bucket: objects get the bucket directory's bits
// without execute, directories (key prefixes, folder objects) the bucket's bits. A bucket made
// over S3 is 0700 (private) or 0755 (public-read), so its objects admit only their owner, or
// everyone to read; a bucket a team shares over NFS (say 0770) gets objects its group reads.
uint32_t ObjectMode(const backend::Attributes& bucket);
uint32_t PrefixMode(const backend::Attributes& bucket);
// Splits a key into path segments. Errors: S3 InvalidArgument/KeyTooLongError for keys that
// cannot be a path (empty or "." / ".." segments, NUL, over 1024 bytes, segments over 255).
S3Or<std::vector<std::string>> KeyToPath(absl::string_view key, bool allow_trailing_slash);

class ObjectStore;

// Data being written invisibly: a staging file of its own (Publish it, or the destructor
// removes it), or a region of a multipart upload's assembly file (bounded: writing past the
// region fails, so a neighbouring part is never overwritten).
class StagedObject {
 public:
  ~StagedObject();
  // Appends data; `done` runs once the backend took it (not yet stable: Publish commits).
  // One append at a time. Errors: backend errors as S3 errors (quota, space, ...);
  // IncompleteBody past the region of an assembly part.
  void AppendAsync(Buffer data, absl::AnyInvocable<void(S3Or<Ok>) &&> done);
  S3Or<Ok> Append(Buffer data);
  uint64_t size() const { return size_; }
  backend::InodeNumber inode() const { return inode_; }
  bool in_assembly() const { return !owned_; }
  uint64_t offset() const { return base_offset_; }

 private:
  friend class ObjectStore;
  StagedObject(ObjectStore* store, backend::Identity identity, backend::InodeNumber dir,
               std::string name, backend::InodeNumber inode);
  ObjectStore* store_;
  backend::Identity identity_;
  backend::InodeNumber dir_;
  std::string name_;
  backend::InodeNumber inode_;
  uint64_t size_ = 0;
  bool done_ = false;
  bool owned_ = true;  // false: a region of an assembly file, which is never removed here
  uint64_t base_offset_ = 0;
  uint64_t limit_ = UINT64_MAX;
  std::function<void()> on_destroy_;
};

struct UploadInfo {
  std::string upload_id;
  UploadMeta meta;
  backend::InodeNumber dir = 0;
};

struct PartInfo {
  int number = 0;
  PartMeta meta;
  backend::Attributes attributes;
  backend::InodeNumber inode = 0;       // the part's marker (or data) file
  backend::InodeNumber data_inode = 0;  // where its bytes are, from meta.offset()
};

class ObjectStore {
 public:
  template <typename T>
  using Done = absl::AnyInvocable<void(S3Or<T>) &&>;

  // Resolves `root_path` (the S3 root of the export) and creates the hidden staging
  // directories. Errors: kNotFound (no such directory), backend errors.
  static absl::StatusOr<std::unique_ptr<ObjectStore>> Open(backend::Backend& backend,
                                                           absl::string_view root_path);

  // Buckets.
  // The buckets `who` owns (S3's ListBuckets: others' buckets are not listed, even readable).
  void ListBucketsAsync(const backend::Identity& who, Done<std::vector<BucketInfo>> done);
  S3Or<std::vector<BucketInfo>> ListBuckets(const backend::Identity& who);
  S3Or<BucketInfo> HeadBucket(const backend::Identity& who, absl::string_view bucket);
  // Makes a bucket owned by `who` with the canned ACL "private" (mode 0700) or "public-read"
  // (0755, and anonymous reads allowed).
  void CreateBucketAsync(const backend::Identity& who, std::string bucket, std::string canned,
                         Done<Ok> done);
  S3Or<Ok> CreateBucket(const backend::Identity& who, absl::string_view bucket,
                        absl::string_view canned);
  void DeleteBucketAsync(const backend::Identity& who, std::string bucket, Done<Ok> done);
  S3Or<Ok> DeleteBucket(const backend::Identity& who, absl::string_view bucket);
  // Bucket canned ACL: "private" or "public-read" (anonymous GET/HEAD and listing, as the
  // anonymous user, so POSIX permissions still apply). Only the bucket's owner (or root)
  // changes it; setting it also sets the bucket directory's mode (0700 or 0755), which every
  // protocol enforces. GetBucketAcl says whether anonymous reads are allowed.
  void GetBucketAclAsync(std::string bucket, Done<std::string> done);
  S3Or<std::string> GetBucketAcl(absl::string_view bucket);
  void SetBucketAclAsync(const backend::Identity& who, std::string bucket, std::string canned,
                         Done<Ok> done);
  S3Or<Ok> SetBucketAcl(const backend::Identity& who, absl::string_view bucket,
                        absl::string_view canned);

  // The bucket's directory, for a PUT (asynchronous HeadBucket).
  void HeadBucketAsync(const backend::Identity& who, std::string bucket, Done<BucketInfo> done);

  // Objects. Head computes (and stores) the ETag of a file changed outside S3.
  void HeadAsync(const backend::Identity& who, std::string bucket, std::string key,
                 Done<ObjectInfo> done);
  S3Or<ObjectInfo> Head(const backend::Identity& who, absl::string_view bucket,
                        absl::string_view key);
  // Up to `count` bytes at `offset` ("" at the end of the file).
  void ReadAsync(const backend::Identity& who, backend::InodeNumber inode, uint64_t offset,
                 uint64_t count, Done<std::string> done);
  S3Or<std::string> Read(const backend::Identity& who, backend::InodeNumber inode, uint64_t offset,
                         uint64_t count);
  // A staging file owned by `who` with permission bits `mode` (what the object will have).
  void StageAsync(const backend::Identity& who, uint32_t mode,
                  Done<std::unique_ptr<StagedObject>> done);
  S3Or<std::unique_ptr<StagedObject>> Stage(const backend::Identity& who, uint32_t mode = 0600);
  // Commits `staged`, stores `meta` (etag, size and mtime are filled in) and renames it to
  // bucket/key, replacing an existing object. Returns the published object's info.
  void PublishAsync(const backend::Identity& who, std::unique_ptr<StagedObject> staged,
                    std::string bucket, std::string key, ObjectMeta meta, Done<ObjectInfo> done);
  S3Or<ObjectInfo> Publish(const backend::Identity& who, std::unique_ptr<StagedObject> staged,
                           absl::string_view bucket, absl::string_view key, ObjectMeta meta);
  // Creates the "folder" object key/ (an empty directory marked as an object).
  void PutFolderAsync(const backend::Identity& who, std::string bucket, std::string key,
                      ObjectMeta meta, Done<ObjectInfo> done);
  S3Or<ObjectInfo> PutFolder(const backend::Identity& who, absl::string_view bucket,
                             absl::string_view key, ObjectMeta meta);
  // Deletes bucket/key; a missing key is not an error (S3 semantics).
  void DeleteAsync(const backend::Identity& who, std::string bucket, std::string key,
                   Done<Ok> done);
  S3Or<Ok> Delete(const backend::Identity& who, absl::string_view bucket, absl::string_view key);
  // Replaces the stored metadata of an existing object (tagging, copy-in-place).
  void UpdateMetaAsync(const backend::Identity& who, backend::InodeNumber inode,
                       const ObjectMeta& meta, Done<Ok> done);
  S3Or<Ok> UpdateMeta(const backend::Identity& who, const ObjectInfo& object,
                      const ObjectMeta& meta);
  void ListAsync(const backend::Identity& who, std::string bucket, ListRequest request,
                 Done<ListResult> done);
  S3Or<ListResult> List(const backend::Identity& who, absl::string_view bucket,
                        const ListRequest& request);

  // Multipart uploads.
  // Starts an upload; its object will have meta.object_mode().
  void CreateUploadAsync(const backend::Identity& who, const UploadMeta& meta,
                         Done<std::string> done);
  S3Or<std::string> CreateUpload(const backend::Identity& who, const UploadMeta& meta);
  void GetUploadAsync(const backend::Identity& who, std::string upload_id, std::string bucket,
                      std::string key, Done<UploadInfo> done);
  S3Or<UploadInfo> GetUpload(const backend::Identity& who, absl::string_view upload_id,
                             absl::string_view bucket, absl::string_view key);
  // Where part `part_number` of `length` bytes (nullopt: unknown) is written: straight into
  // the upload's assembly file when its size fits the upload's part size and the number was
  // not uploaded before, else a staging file of its own.
  void StagePartAsync(const backend::Identity& who, const UploadInfo& upload, int part_number,
                      std::optional<uint64_t> length, Done<std::unique_ptr<StagedObject>> done);
  S3Or<std::unique_ptr<StagedObject>> StagePart(const backend::Identity& who,
                                                const UploadInfo& upload, int part_number,
                                                std::optional<uint64_t> length);
  void PublishPartAsync(const backend::Identity& who, std::unique_ptr<StagedObject> staged,
                        const UploadInfo& upload, int part_number, PartMeta meta,
                        Done<PartInfo> done);
  S3Or<PartInfo> PublishPart(const backend::Identity& who, std::unique_ptr<StagedObject> staged,
                             const UploadInfo& upload, int part_number, PartMeta meta);
  // Completes an upload whose `parts` lie in order, back to back from offset 0, in the
  // assembly file: the file is cut to their total size and published as the object without
  // copying. Returns nullopt (nothing changed) when the parts are not laid out so.
  void PublishAssemblyAsync(const backend::Identity& who, const UploadInfo& upload,
                            const std::vector<const PartInfo*>& parts, std::string bucket,
                            std::string key, ObjectMeta meta,
                            absl::AnyInvocable<void(std::optional<S3Or<ObjectInfo>>) &&> done);
  std::optional<S3Or<ObjectInfo>> PublishAssembly(const backend::Identity& who,
                                                  const UploadInfo& upload,
                                                  const std::vector<const PartInfo*>& parts,
                                                  absl::string_view bucket, absl::string_view key,
                                                  ObjectMeta meta);
  void ListPartsAsync(const backend::Identity& who, const UploadInfo& upload,
                      Done<std::vector<PartInfo>> done);
  S3Or<std::vector<PartInfo>> ListParts(const backend::Identity& who, const UploadInfo& upload);
  void RemoveUploadAsync(const backend::Identity& who, const UploadInfo& upload, Done<Ok> done);
  S3Or<Ok> RemoveUpload(const backend::Identity& who, const UploadInfo& upload);
  void ListUploadsAsync(const backend::Identity& who, std::string bucket,
                        Done<std::vector<UploadInfo>> done);
  S3Or<std::vector<UploadInfo>> ListUploads(const backend::Identity& who, absl::string_view bucket);

 private:
  friend class StagedObject;
  ObjectStore(backend::Backend& backend, backend::InodeNumber root, backend::InodeNumber tmp,
              backend::InodeNumber uploads);
  backend::RequestContext Ctx(const backend::Identity& who) const;
  void BucketInodeAsync(const backend::Identity& who, absl::string_view bucket,
                        Done<backend::InodeNumber> done);
  S3Or<backend::InodeNumber> BucketInode(const backend::Identity& who, absl::string_view bucket);
  // Walks `segments` below `dir`; with `create`, makes missing directories (PrefixMode of
  // `dir`, the bucket).
  struct WalkState;
  void WalkAsync(const backend::Identity& who, backend::InodeNumber dir,
                 std::vector<std::string> segments, bool create, Done<backend::Attributes> done);
  void WalkStep(std::shared_ptr<WalkState> walk);
  // Publish's last steps: the parents made, the rename (retried when a DELETE pruned a parent
  // meanwhile), the published file's attributes.
  struct PublishState;
  void PublishRename(std::shared_ptr<PublishState> publish);
  // Every entry of a directory (with attributes), page by page.
  using DirectoryDone = absl::AnyInvocable<void(absl::StatusOr<std::vector<backend::DirEntry>>) &&>;
  struct DirectoryRead;
  void ReadDirectoryAsync(const backend::Identity& who, backend::InodeNumber dir, size_t page,
                          DirectoryDone done);
  void ReadDirectoryStep(std::shared_ptr<DirectoryRead> read);
  // Delete's steps: the key's parent directory, then the prefixes the delete left empty.
  struct DeleteState;
  void DeleteFindParent(std::shared_ptr<DeleteState> del);
  void DeletePrune(std::shared_ptr<DeleteState> del);
  S3Or<backend::Attributes> Walk(const backend::Identity& who, backend::InodeNumber dir,
                                 const std::vector<std::string>& segments, bool create);
  // The object's metadata, its ETag recomputed if the file changed since it was stored.
  // `prefetched`: the metadata xattr as already read, if it was.
  void CurrentMetaAsync(const backend::Identity& who, const backend::Attributes& attributes,
                        std::optional<absl::StatusOr<std::string>> prefetched,
                        absl::AnyInvocable<void(ObjectMeta) &&> done);
  // The ETag of a file written outside S3: the MD5 of its bytes, read piece by piece.
  struct DigestState;
  void DigestStep(std::shared_ptr<DigestState> digest);
  ObjectMeta CurrentMeta(const backend::Identity& who, const backend::Attributes& attributes,
                         const absl::StatusOr<std::string>* prefetched = nullptr);
  // The xattr `name` of each of `inodes`, read concurrently.
  void ReadXattrsAsync(
      const backend::Identity& who, std::vector<backend::InodeNumber> inodes,
      absl::string_view name,
      absl::AnyInvocable<void(std::map<backend::InodeNumber, absl::StatusOr<std::string>>) &&>
          done);
  // StagePart's steps (object_multipart.cc): one part-placement decision at a time per upload
  // (LockUpload runs `fn` now or once the upload's current holder unlocks).
  void LockUpload(const std::string& upload_id, absl::AnyInvocable<void() &&> fn);
  void UnlockUpload(const std::string& upload_id);
  struct StagePartState;
  void StagePartLocked(std::shared_ptr<StagePartState> stage);
  void StagePartInAssembly(std::shared_ptr<StagePartState> stage, uint64_t offset);
  // List's walk (object_list.cc).
  struct ListState;
  void ListEnter(std::shared_ptr<ListState> list, backend::InodeNumber inode, std::string base);
  void ListContinue(std::shared_ptr<ListState> list);
  void ListStep(std::shared_ptr<ListState> list);
  void ListAddObject(std::shared_ptr<ListState> list, std::string key,
                     const backend::Attributes& attributes,
                     std::optional<absl::StatusOr<std::string>> prefetched);

  backend::Backend& backend_;
  // Part numbers being written into assembly files right now, by upload id: a second upload
  // of the same number goes to a file of its own. Guards them and upload_locks_.
  std::mutex parts_mu_;
  std::map<std::string, std::set<int>> parts_in_flight_;
  // Uploads whose part placement is being decided, and who waits for each.
  std::map<std::string, std::deque<absl::AnyInvocable<void() &&>>> upload_locks_;
  const backend::InodeNumber root_;
  const backend::InodeNumber tmp_;
  const backend::InodeNumber uploads_;
};

// Parses/serialises the stored metadata; a corrupt xattr reads as empty.
ObjectMeta ParseObjectMeta(absl::string_view bytes);

}  // namespace cfs::s3

#endif  // CFS_LIB_PROTOCOLS_S3_OBJECT_STORE_H_
