// NTSTATUS codes the SMB server returns (MS-ERREF 2.3) and the one table that maps backend
// errors to them (the SMB protocol's error edge, like NfsContext::StatusToNfs for NFS).
#ifndef CFS_LIB_PROTOCOLS_SMB_NTSTATUS_H_
#define CFS_LIB_PROTOCOLS_SMB_NTSTATUS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace cfs::smb {

namespace nt {
inline constexpr uint32_t kSuccess = 0x00000000;
inline constexpr uint32_t kPending = 0x00000103;
inline constexpr uint32_t kNotifyCleanup = 0x0000010B;
inline constexpr uint32_t kNotifyEnumDir = 0x0000010C;
inline constexpr uint32_t kBufferOverflow = 0x80000005;
inline constexpr uint32_t kNoMoreFiles = 0x80000006;
inline constexpr uint32_t kUnsuccessful = 0xC0000001;
inline constexpr uint32_t kNotImplemented = 0xC0000002;
inline constexpr uint32_t kInvalidInfoClass = 0xC0000003;
inline constexpr uint32_t kInfoLengthMismatch = 0xC0000004;
inline constexpr uint32_t kInvalidHandle = 0xC0000008;
inline constexpr uint32_t kInvalidParameter = 0xC000000D;
inline constexpr uint32_t kNoSuchFile = 0xC000000F;
inline constexpr uint32_t kInvalidDeviceRequest = 0xC0000010;
inline constexpr uint32_t kEndOfFile = 0xC0000011;
inline constexpr uint32_t kInvalidViewSize = 0xC000001F;
inline constexpr uint32_t kMoreProcessingRequired = 0xC0000016;
inline constexpr uint32_t kNoMemory = 0xC0000017;
inline constexpr uint32_t kAccessDenied = 0xC0000022;
inline constexpr uint32_t kBufferTooSmall = 0xC0000023;
inline constexpr uint32_t kObjectNameInvalid = 0xC0000033;
inline constexpr uint32_t kObjectNameNotFound = 0xC0000034;
inline constexpr uint32_t kObjectNameCollision = 0xC0000035;
inline constexpr uint32_t kObjectPathInvalid = 0xC0000039;
inline constexpr uint32_t kObjectPathNotFound = 0xC000003A;
inline constexpr uint32_t kObjectPathSyntaxBad = 0xC000003B;
inline constexpr uint32_t kSharingViolation = 0xC0000043;
inline constexpr uint32_t kEaTooLarge = 0xC0000050;
inline constexpr uint32_t kNonExistentEaEntry = 0xC0000051;
inline constexpr uint32_t kNoEasOnFile = 0xC0000052;
inline constexpr uint32_t kDeletePending = 0xC0000056;
inline constexpr uint32_t kFileLockConflict = 0xC0000054;
inline constexpr uint32_t kLockNotGranted = 0xC0000055;
inline constexpr uint32_t kPrivilegeNotHeld = 0xC0000061;
inline constexpr uint32_t kLogonFailure = 0xC000006D;
inline constexpr uint32_t kRangeNotLocked = 0xC000007E;
inline constexpr uint32_t kDiskFull = 0xC000007F;
inline constexpr uint32_t kInsufficientResources = 0xC000009A;
inline constexpr uint32_t kFileIsADirectory = 0xC00000BA;
inline constexpr uint32_t kNotSupported = 0xC00000BB;
inline constexpr uint32_t kNetworkNameDeleted = 0xC00000C9;
inline constexpr uint32_t kBadNetworkName = 0xC00000CC;
inline constexpr uint32_t kRequestNotAccepted = 0xC00000D0;
inline constexpr uint32_t kInternalError = 0xC00000E5;
inline constexpr uint32_t kDirectoryNotEmpty = 0xC0000101;
inline constexpr uint32_t kNotADirectory = 0xC0000103;
inline constexpr uint32_t kNameTooLong = 0xC0000106;
inline constexpr uint32_t kFileClosed = 0xC0000128;
inline constexpr uint32_t kRequestOutOfSequence = 0xC000042A;
inline constexpr uint32_t kCancelled = 0xC0000120;
inline constexpr uint32_t kCannotDelete = 0xC0000121;
inline constexpr uint32_t kUserSessionDeleted = 0xC0000203;
inline constexpr uint32_t kNotSameDevice = 0xC00000D4;
inline constexpr uint32_t kFileTooLarge = 0xC0000904;
inline constexpr uint32_t kQuotaExceeded = 0xC0000044;
inline constexpr uint32_t kNetworkSessionExpired = 0xC000035C;
inline constexpr uint32_t kInvalidDeviceState = 0xC0000184;
inline constexpr uint32_t kFsDriverRequired = 0xC000019C;
inline constexpr uint32_t kStoppedOnSymlink = 0x8000002D;
inline constexpr uint32_t kFileNotAvailable = 0xC0000467;
inline constexpr uint32_t kIoTimeout = 0xC00000B5;
inline constexpr uint32_t kRetry = 0xC000022D;
inline constexpr uint32_t kObjectNameExists = 0x40000000;
inline constexpr uint32_t kFileSystemLimitation = 0xC0000427;
inline constexpr uint32_t kInvalidLockRange = 0xC00001A1;
inline constexpr uint32_t kMediaWriteProtected = 0xC00000A2;
inline constexpr uint32_t kDuplicateObjectId = 0xC000022A;
inline constexpr uint32_t kInvalidNetworkResponse = 0xC00000C3;
inline constexpr uint32_t kInvalidOplockProtocol = 0xC00000E3;
}  // namespace nt

// The status's MS-ERREF name ("STATUS_ACCESS_DENIED"), or STATUS_0x<hex> for one not listed.
std::string NtStatusName(uint32_t status);

// The NTSTATUS for a backend error: the FsError payload first, then the status code.
// Backend unavailability (kUnavailable, kDeadlineExceeded) becomes
// STATUS_INSUFFICIENT_RESOURCES, which clients retry.
uint32_t NtStatusFor(const absl::Status& status);

// True for the warning and success classes (the response carries a body).
inline bool IsSuccessOrWarning(uint32_t status) { return (status >> 30) != 3; }

}  // namespace cfs::smb

#endif  // CFS_LIB_PROTOCOLS_SMB_NTSTATUS_H_
