#include "lib/backend/errors.h"

#include <cerrno>

#include "gtest/gtest.h"
#include "testing/status_matchers.h"

namespace cfs::backend {
namespace {

TEST(FsErrorTest, RoundTripsEveryErrorThroughTheStatusPayload) {
  for (int i = 0; i <= static_cast<int>(FsError::kIo); ++i) {
    FsError error = static_cast<FsError>(i);
    absl::Status status = FsErrorStatus(error, "why");
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(status.message(), "why");
    EXPECT_EQ(GetFsError(status), error) << FsErrorName(error);
  }
}

TEST(FsErrorTest, MapsToCanonicalCodes) {
  EXPECT_EQ(FsErrorStatus(FsError::kNoEntry, "").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(FsErrorStatus(FsError::kNotEmpty, "").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(FsErrorStatus(FsError::kQuota, "").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(FsErrorStatus(FsError::kAccess, "").code(), absl::StatusCode::kPermissionDenied);
}

TEST(FsErrorTest, PlainStatusHasNoFsError) {
  EXPECT_EQ(GetFsError(absl::NotFoundError("x")), std::nullopt);
  EXPECT_EQ(GetFsError(absl::OkStatus()), std::nullopt);
}

TEST(FsErrorTest, MapsErrno) {
  EXPECT_EQ(FsErrorFromErrno(ENOSPC), FsError::kNoSpace);
  EXPECT_EQ(FsErrorFromErrno(EDQUOT), FsError::kQuota);
  EXPECT_EQ(FsErrorFromErrno(EBADMSG), FsError::kIo);
  EXPECT_EQ(GetFsError(ErrnoStatus(ENOSPC, "pwrite")), FsError::kNoSpace);
}

}  // namespace
}  // namespace cfs::backend
