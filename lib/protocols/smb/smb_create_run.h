// The state of one SMB2 CREATE while its backend callbacks run (SmbConnection::CreateRun),
// shared by smb_create_ops.cc (files and directories) and smb_stream_ops.cc (named streams).
// Internal to the SMB connection's implementation.
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB_CREATE_RUN_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB_CREATE_RUN_H_

#include <memory>
#include <optional>
#include <string>

#include "lib/protocols/smb/smb2_durable.h"
#include "lib/protocols/smb/smb2_lease.h"
#include "lib/protocols/smb/smb_connection.h"
#include "lib/protocols/smb/smb_create_helpers.h"
#include "lib/protocols/smb/smb_paths.h"

namespace cfs::smb {

// One CREATE of a file, directory or named stream while its backend calls run. Touched by one step
// at a time (the loop, then backend threads in turn); `r` lives until `later` runs (the waiting
// compound or the pending entry of a retry holds it).
struct SmbConnection::CreateRun {
  SmbRequest* r = nullptr;
  SmbLater later;
  CreateRequest req;
  bool durable_v1 = false;
  std::optional<DurableV2Request> durable_v2;
  ParsedPath path;
  ResolvedParent parent;
  std::shared_ptr<Open> open;
  uint32_t desired = 0;
  bool want_delete_on_close = false;
  std::optional<LeaseContext> lease_request;
  std::string lease_id;
  backend::Attributes attrs;
  uint32_t action = create::kActionOpened;
  uint32_t maximal_access = 0;  // for MxAc
  bool truncate = false;
  // A named stream's CREATE: its file's attributes, and whether this CREATE made the file.
  backend::Attributes base;
  bool made_base = false;
};

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB_CREATE_RUN_H_
