// GoogleTest matchers for absl::Status and the backend's FsError.
//
// Example:
//   EXPECT_THAT(backend.Lookup(...), StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(result.status(), FsErrorIs(FsError::kNotEmpty));
//   ASSERT_OK(status);

#ifndef CFS_TESTING_STATUS_MATCHERS_H_
#define CFS_TESTING_STATUS_MATCHERS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "lib/backend/errors.h"

namespace cfs::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER_P(StatusIs, code, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code;
}

MATCHER_P(FsErrorIs, error, "fails with FsError " + std::string(backend::FsErrorName(error))) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return backend::GetFsError(s) == error;
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.ok();
}

}  // namespace cfs::testing

#define ASSERT_OK(expr) ASSERT_THAT(expr, ::cfs::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT(expr, ::cfs::testing::IsOk())

#endif  // CFS_TESTING_STATUS_MATCHERS_H_
