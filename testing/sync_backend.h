// The blocking backend wrapper, under the name tests use. See lib/backend/sync_backend.h.
#ifndef CFS_TESTING_SYNC_BACKEND_H_
#define CFS_TESTING_SYNC_BACKEND_H_

#include "lib/backend/sync_backend.h"

namespace cfs::testing {
using SyncBackend = backend::SyncBackend;
}  // namespace cfs::testing

#endif  // CFS_TESTING_SYNC_BACKEND_H_
