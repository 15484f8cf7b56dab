// SMB2 request bodies after NEGOTIATE (MS-SMB2 2.2.5-2.2.39): one decoder per command, each
// checking the StructureSize and that every offset/length stays inside the message, and the
// fixed parts of the responses. Pure codecs over whole messages (header included: offsets on
// the wire count from the header); fuzzed by smb2_messages_fuzz.
#ifndef CFS_LIB_PROTOCOLS_SMB_SMB2_MESSAGES_H_
#define CFS_LIB_PROTOCOLS_SMB_SMB2_MESSAGES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cfs::smb {

namespace cmd {
inline constexpr uint16_t kNegotiate = 0x00;
inline constexpr uint16_t kSessionSetup = 0x01;
inline constexpr uint16_t kLogoff = 0x02;
inline constexpr uint16_t kTreeConnect = 0x03;
inline constexpr uint16_t kTreeDisconnect = 0x04;
inline constexpr uint16_t kCreate = 0x05;
inline constexpr uint16_t kClose = 0x06;
inline constexpr uint16_t kFlush = 0x07;
inline constexpr uint16_t kRead = 0x08;
inline constexpr uint16_t kWrite = 0x09;
inline constexpr uint16_t kLock = 0x0A;
inline constexpr uint16_t kIoctl = 0x0B;
inline constexpr uint16_t kCancel = 0x0C;
inline constexpr uint16_t kEcho = 0x0D;
inline constexpr uint16_t kQueryDirectory = 0x0E;
inline constexpr uint16_t kChangeNotify = 0x0F;
inline constexpr uint16_t kQueryInfo = 0x10;
inline constexpr uint16_t kSetInfo = 0x11;
inline constexpr uint16_t kOplockBreak = 0x12;
inline constexpr uint16_t kCount = 0x13;
}  // namespace cmd

// SMB2_FILEID: the persistent and volatile halves. All ones in a related compound means "the
// file the previous request opened".
struct FileId {
  uint64_t persistent = 0;
  uint64_t volatile_id = 0;
  bool IsRelatedPlaceholder() const {
    return persistent == ~uint64_t{0} && volatile_id == ~uint64_t{0};
  }
};

struct SessionSetupRequest {
  uint8_t flags = 0;  // 1: binding
  uint8_t security_mode = 0;
  uint32_t capabilities = 0;
  uint64_t previous_session_id = 0;
  std::string security_blob;
};

struct TreeConnectRequest {
  uint16_t flags = 0;
  std::string path;  // UTF-8, "\\server\share"
};

struct CreateContext {
  std::string name;  // 4-byte tags ("MxAc", "QFid", "RqLs", "DHnQ", ...) or GUIDs
  std::string data;
};

struct CreateRequest {
  uint8_t oplock_level = 0;
  uint32_t impersonation_level = 0;
  uint32_t desired_access = 0;
  uint32_t file_attributes = 0;
  uint32_t share_access = 0;
  uint32_t disposition = 0;
  uint32_t options = 0;
  std::string name;  // UTF-8, relative to the share, backslashes as sent
  std::vector<CreateContext> contexts;
};

struct CloseRequest {
  uint16_t flags = 0;  // 1: POSTQUERY_ATTRIB
  FileId file;
};

struct FlushRequest {
  FileId file;
};

struct ReadRequest {
  uint8_t flags = 0;
  uint32_t length = 0;
  uint64_t offset = 0;
  FileId file;
  uint32_t minimum_count = 0;
  uint32_t channel = 0;
};

struct WriteRequest {
  uint64_t offset = 0;
  FileId file;
  uint32_t channel = 0;
  uint32_t flags = 0;      // 1: WRITE_THROUGH
  absl::string_view data;  // into the decoded message (not copied: writes are large)
};

inline constexpr uint32_t kLockShared = 0x1;
inline constexpr uint32_t kLockExclusive = 0x2;
inline constexpr uint32_t kLockUnlock = 0x4;
inline constexpr uint32_t kLockFailImmediately = 0x10;

struct LockElement {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint32_t flags = 0;
};

struct LockRequest {
  uint32_t sequence = 0;
  FileId file;
  std::vector<LockElement> locks;
};

struct IoctlRequest {
  uint32_t ctl_code = 0;
  FileId file;
  std::string input;
  uint32_t max_input_response = 0;
  uint32_t max_output_response = 0;
  uint32_t flags = 0;  // 1: IS_FSCTL
};

inline constexpr uint8_t kQueryRestartScans = 0x01;
inline constexpr uint8_t kQueryReturnSingleEntry = 0x02;
inline constexpr uint8_t kQueryIndexSpecified = 0x04;
inline constexpr uint8_t kQueryReopen = 0x10;

struct QueryDirectoryRequest {
  uint8_t info_class = 0;
  uint8_t flags = 0;
  uint32_t file_index = 0;
  FileId file;
  std::string pattern;  // UTF-8
  uint32_t output_length = 0;
};

inline constexpr uint8_t kInfoFile = 1;
inline constexpr uint8_t kInfoFilesystem = 2;
inline constexpr uint8_t kInfoSecurity = 3;
inline constexpr uint8_t kInfoQuota = 4;

struct QueryInfoRequest {
  uint8_t info_type = 0;
  uint8_t info_class = 0;
  uint32_t output_length = 0;
  std::string input;
  uint32_t additional_information = 0;
  uint32_t flags = 0;
  FileId file;
};

struct SetInfoRequest {
  uint8_t info_type = 0;
  uint8_t info_class = 0;
  std::string buffer;
  uint32_t additional_information = 0;
  FileId file;
};

struct ChangeNotifyRequest {
  uint16_t flags = 0;
  uint32_t output_length = 0;
  FileId file;
  uint32_t completion_filter = 0;
};

struct OplockBreakAcknowledgment {
  uint8_t oplock_level = 0;
  FileId file;
};

// Each decoder takes the whole message (SMB2 header included). Errors: kInvalidArgument
// (short, wrong StructureSize, a buffer outside the message, a name that is not UTF-16).
absl::StatusOr<SessionSetupRequest> DecodeSessionSetup(absl::string_view message);
absl::StatusOr<TreeConnectRequest> DecodeTreeConnect(absl::string_view message);
absl::StatusOr<CreateRequest> DecodeCreate(absl::string_view message);
absl::StatusOr<CloseRequest> DecodeClose(absl::string_view message);
absl::StatusOr<FlushRequest> DecodeFlush(absl::string_view message);
absl::StatusOr<ReadRequest> DecodeRead(absl::string_view message);
// WriteRequest::data points into `message`, which must outlive it.
absl::StatusOr<WriteRequest> DecodeWrite(absl::string_view message);
absl::StatusOr<LockRequest> DecodeLock(absl::string_view message);
absl::StatusOr<IoctlRequest> DecodeIoctl(absl::string_view message);
absl::StatusOr<QueryDirectoryRequest> DecodeQueryDirectory(absl::string_view message);
absl::StatusOr<QueryInfoRequest> DecodeQueryInfo(absl::string_view message);
absl::StatusOr<SetInfoRequest> DecodeSetInfo(absl::string_view message);
absl::StatusOr<ChangeNotifyRequest> DecodeChangeNotify(absl::string_view message);
// An oplock break acknowledgment (StructureSize 24; lease acknowledgments are refused).
absl::StatusOr<OplockBreakAcknowledgment> DecodeOplockBreakAck(absl::string_view message);
// The FileId a request names (CLOSE, FLUSH, READ, WRITE, LOCK, IOCTL, QUERY_DIRECTORY,
// CHANGE_NOTIFY, QUERY_INFO, SET_INFO, OPLOCK_BREAK), or nullopt (other commands, too short).
std::optional<FileId> RequestFileId(uint16_t command, absl::string_view message);
// LOGOFF, TREE_DISCONNECT, ECHO, CANCEL: a 4-byte body. Errors: kInvalidArgument.
absl::Status DecodeEmpty(absl::string_view message);

// ---- responses (the body after the SMB2 header) ----

// The error response body (MS-SMB2 2.2.2) with `data` as ErrorData.
std::string EncodeErrorBody(absl::string_view data = "");
// A body of just StructureSize `size` and zero padding to `size` & ~1 bytes.
std::string EncodeSmallBody(uint16_t structure_size);
std::string EncodeSessionSetupResponse(uint16_t session_flags, absl::string_view security_blob);

struct CreateResponse {
  uint8_t oplock_level = 0;
  uint8_t flags = 0;
  uint32_t create_action = 0;
  uint64_t creation_time = 0;
  uint64_t last_access_time = 0;
  uint64_t last_write_time = 0;
  uint64_t change_time = 0;
  uint64_t allocation_size = 0;
  uint64_t end_of_file = 0;
  uint32_t file_attributes = 0;
  FileId file;
  std::vector<CreateContext> contexts;
};
std::string EncodeCreateResponse(const CreateResponse& response);

// Bytes offset from the header where READ/QUERY_* responses put their data.
inline constexpr uint32_t kReadDataOffset = 64 + 16;
// The READ response body without its data (the data follows it on the wire).
std::string EncodeReadResponseHead(uint32_t data_length);
std::string EncodeWriteResponse(uint32_t count);
// QUERY_DIRECTORY, QUERY_INFO and CHANGE_NOTIFY share this shape: StructureSize 9,
// OutputBufferOffset, OutputBufferLength, the buffer.
std::string EncodeOutputBufferResponse(absl::string_view output);
std::string EncodeIoctlResponse(uint32_t ctl_code, const FileId& file, absl::string_view output);

void PutFileId(std::string* out, const FileId& file);

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_SMB2_MESSAGES_H_
