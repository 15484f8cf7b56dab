// Named streams ("file:stream", MS-FSCC 2.1.5) kept in the backend's extended attributes, one
// attribute per stream holding its whole content, as Samba's vfs_streams_xattr does. A stream
// belongs to its file's inode: it follows renames and hard links and goes with the inode.
// Names keep the case they were created with and are found ignoring (ASCII) case.
//
// Limits: a stream holds at most the backend's largest attribute value (64 KiB on the
// embedded backend; more fails with FsError::kTooBig), and its name at most
// kMaxStreamNameLength bytes. Writes rewrite the whole attribute: callers serialise writers of
// one file (SmbServerState::WithStreamLock) so none loses another's bytes.
//
// Stateless functions over the asynchronous SPI (`done` runs on a backend thread, or at once;
// string_view arguments need only live for the call, but for WriteStreamAsync's `data`, which
// must stay valid until `done`), each with a blocking form over a SyncBackend that waits for it
// (tests and tools). The caller's identity is checked by the backend (read permission to read,
// owner or write permission to change).
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB_STREAMS_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB_STREAMS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/backend/sync_backend.h"

namespace cfs::smb {

inline constexpr absl::string_view kStreamXattrPrefix = "user.cfs.smb.stream:";
inline constexpr size_t kMaxStreamNameLength = 255 - kStreamXattrPrefix.size();

struct StreamInfo {
  std::string name;  // as created
  uint64_t size = 0;
};

// What a handle on a stream of size `size` shows of its file `base`: the file's times and
// inode, the stream's size, and never the directory type (a directory's stream is data).
backend::Attributes StreamAttributes(const backend::Attributes& base, uint64_t size);

// The stored name of the stream `name` of `inode` (an exact match first, else one that
// differs only in case). Errors: kNoEntry (no such stream), the backend's.
absl::StatusOr<std::string> FindStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                                       absl::string_view name);
void FindStreamAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                     backend::InodeNumber inode, std::string name,
                     std::function<void(absl::StatusOr<std::string>)> done);

// The named streams of `inode` with their sizes, in attribute order.
absl::StatusOr<std::vector<StreamInfo>> ListStreams(backend::SyncBackend& fs,
                                                    backend::InodeNumber inode);
// ListStreams without waiting: `done` runs on a backend thread (or at once).
void ListStreamsAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                      backend::InodeNumber inode,
                      std::function<void(absl::StatusOr<std::vector<StreamInfo>>)> done);

// Creates the empty stream `name`. Errors: kExists, kNameTooLong, the backend's.
absl::Status CreateStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                          absl::string_view name);
using StreamDone = std::function<void(absl::Status)>;
void CreateStreamAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                       backend::InodeNumber inode, absl::string_view name, StreamDone done);

// The whole content of a stream. Errors: kNoEntry.
absl::StatusOr<std::string> ReadStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                                       absl::string_view name);
void ReadStreamAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                     backend::InodeNumber inode, absl::string_view name,
                     backend::Callback<std::string> done);

// Writes `data` at `offset` (zero-filling a gap); returns the stream's new size.
// Errors: kNoEntry, kTooBig (past the attribute size limit).
absl::StatusOr<uint64_t> WriteStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                                     absl::string_view name, uint64_t offset,
                                     absl::string_view data);
void WriteStreamAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                      backend::InodeNumber inode, absl::string_view name, uint64_t offset,
                      absl::string_view data, std::function<void(absl::StatusOr<uint64_t>)> done);

// Cuts or zero-extends the stream to `size`. Errors: kNoEntry, kTooBig.
absl::Status TruncateStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                            absl::string_view name, uint64_t size);
void TruncateStreamAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                         backend::InodeNumber inode, absl::string_view name, uint64_t size,
                         StreamDone done);

// Errors: kNoEntry.
absl::Status RemoveStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                          absl::string_view name);
void RemoveStreamAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                       backend::InodeNumber inode, absl::string_view name, StreamDone done);

// Renames stream `from` to `to`, replacing an existing `to` only when `replace`.
// Errors: kNoEntry, kExists, kNameTooLong.
absl::Status RenameStream(backend::SyncBackend& fs, backend::InodeNumber inode,
                          absl::string_view from, absl::string_view to, bool replace);
void RenameStreamAsync(backend::Backend& backend, const backend::RequestContext& ctx,
                       backend::InodeNumber inode, absl::string_view from, absl::string_view to,
                       bool replace, StreamDone done);

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB_STREAMS_H_
