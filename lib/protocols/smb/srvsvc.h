// The srvsvc named pipe on IPC$: just enough DCE/RPC (C706 connection-oriented PDUs, NDR20) to
// answer BIND and srvsvc NetShareEnumAll (opnum 15) at levels 0 and 1, NetShareGetInfo
// (opnum 16) at levels 0 and 1, and NetSrvGetInfo (opnum 21) at levels 100 and 101, which is
// what `smbclient -L` and Windows' share browsing ask. Other operations get a DCE/RPC fault
// (nca_s_op_rng_error), other interfaces a bind rejection. One SrvsvcPipe per open of the pipe;
// thread-compatible. The PDU decoder is fuzzed (srvsvc_fuzz).
#ifndef CFS_LIB_PROTOCOLS_SMB_SRVSVC_H_
#define CFS_LIB_PROTOCOLS_SMB_SRVSVC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cfs::smb {

struct ShareListing {
  std::string name;
  uint32_t type = 0;  // STYPE_DISKTREE 0; STYPE_IPC|STYPE_SPECIAL 0x80000003
  std::string remark;
};

class SrvsvcPipe {
 public:
  SrvsvcPipe(std::string server_name, std::vector<ShareListing> shares)
      : server_name_(std::move(server_name)), shares_(std::move(shares)) {}

  // Feeds bytes the client wrote; complete PDUs are answered into the read queue.
  // Errors: kInvalidArgument (not DCE/RPC: the pipe is then unusable).
  absl::Status Write(absl::string_view bytes);
  // Takes up to `max` bytes of answers (fewer when less is queued).
  std::string Read(size_t max);
  size_t pending() const { return output_.size(); }

 private:
  void Answer(absl::string_view pdu);
  void Bind(absl::string_view pdu, uint8_t type, uint32_t call_id);
  void Request(absl::string_view pdu, uint32_t call_id);
  void Respond(uint32_t call_id, uint16_t context, const std::string& stub);
  void Fault(uint32_t call_id, uint32_t status);

  std::string server_name_;
  std::vector<ShareListing> shares_;
  std::string input_;
  std::string output_;
  bool bound_ = false;
  uint16_t max_xmit_ = 4280;
};

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SRVSVC_H_
