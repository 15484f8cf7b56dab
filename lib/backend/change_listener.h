// ChangeListener and ChangeSource: how a protocol learns that a file's data is about to be
// read or changed through the gateway, whichever protocol asks (the SMB frontend breaks the
// oplocks and leases its clients hold when NFS, S3 or another SMB client touches the file).
//
// The gateway's backend chain provides one ChangeSource (a filter every call passes through);
// frontends get it from their FrontendContext and subscribe while they run. Listeners run on
// the caller's thread before the call goes on and must not block. Implementations are
// thread-safe.
//
// Example:
//   int id = changes.Subscribe([](const backend::DataAccess& a) { BreakOplocks(a.inode); });
//   ...
//   changes.Unsubscribe(id);

#ifndef CFS_LIB_BACKEND_CHANGE_LISTENER_H_
#define CFS_LIB_BACKEND_CHANGE_LISTENER_H_

#include <cstdint>
#include <functional>

#include "lib/backend/types.h"

namespace cfs::backend {

// One read or change of a file's data (or size).
struct DataAccess {
  InodeNumber inode = 0;
  bool write = false;   // data or size changes (else a read)
  uint64_t origin = 0;  // RequestContext::origin of the caller (0: not a protocol's open)
};

using ChangeListener = std::function<void(const DataAccess&)>;

class ChangeSource {
 public:
  virtual ~ChangeSource() = default;
  // Calls `listener` for every access from now on; returns the id for Unsubscribe.
  virtual int Subscribe(ChangeListener listener) = 0;
  // Stops the listener `id`: no call of it starts after this returns (one already started on
  // another thread may still finish, so what it captures must outlive that, e.g. shared_ptr).
  virtual void Unsubscribe(int id) = 0;
};

}  // namespace cfs::backend

#endif  // CFS_LIB_BACKEND_CHANGE_LISTENER_H_
