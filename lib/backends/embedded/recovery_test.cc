// Recovery of the embedded backend across clean and unclean restarts, in one process.

#include <memory>

#include "gtest/gtest.h"
#include "lib/backends/embedded/embedded_backend.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

using ::cfs::testing::StatusIs;

namespace cfs::embedded {
namespace {

TEST(EmbeddedRecoveryTest, NewStoreIsCleanAndConsistent) {
  cfs::testing::TempDir dir;
  EmbeddedBackendOptions options;
  options.data_dir = dir.path();
  auto backend = EmbeddedBackend::Open(options);
  ASSERT_TRUE(backend.ok()) << backend.status();
  EXPECT_TRUE((*backend)->recovery_report().clean_shutdown);
  EXPECT_TRUE((*backend)->CheckInvariants().empty());
}

TEST(EmbeddedRecoveryTest, WriteVerifierChangesOnEveryStart) {
  cfs::testing::TempDir dir;
  EmbeddedBackendOptions options;
  options.data_dir = dir.path();
  backend::WriteVerifier first;
  {
    auto backend = EmbeddedBackend::Open(options);
    ASSERT_TRUE(backend.ok());
    first = (*backend)->CurrentWriteVerifier();
  }
  auto backend = EmbeddedBackend::Open(options);
  ASSERT_TRUE(backend.ok());
  EXPECT_NE((*backend)->CurrentWriteVerifier(), first);
  EXPECT_TRUE((*backend)->recovery_report().clean_shutdown);
}

TEST(EmbeddedRecoveryTest, SecondOpenOfTheSameDirectoryIsRefused) {
  cfs::testing::TempDir dir;
  EmbeddedBackendOptions options;
  options.data_dir = dir.path();
  auto first = EmbeddedBackend::Open(options);
  ASSERT_TRUE(first.ok());
  auto second = EmbeddedBackend::Open(options);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
}

TEST(EmbeddedRecoveryTest, MissingDataDirIsAClearError) {
  EmbeddedBackendOptions options;
  EXPECT_EQ(EmbeddedBackend::Open(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.data_dir = "/proc/definitely/not/writable";
  EXPECT_THAT(EmbeddedBackend::Open(options), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace cfs::embedded
