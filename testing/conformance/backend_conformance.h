// The SPI conformance suite: behaviour every backend::Backend must show.
//
// A backend joins by instantiating the suite with a factory that opens a fresh, empty backend
// (and may reopen the same store for restart checks):
//
// Example:
//   INSTANTIATE_TEST_SUITE_P(Embedded, BackendConformanceTest,
//                            ::testing::Values(MakeEmbeddedFactory()));

#ifndef CFS_TESTING_CONFORMANCE_BACKEND_CONFORMANCE_H_
#define CFS_TESTING_CONFORMANCE_BACKEND_CONFORMANCE_H_

#include <functional>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "lib/backend/backend.h"
#include "testing/sync_backend.h"
#include "testing/temp_dir.h"

namespace cfs::testing {

struct BackendFactory {
  std::string name;
  // Opens the backend whose state lives in `dir` (empty on first call).
  std::function<std::unique_ptr<backend::Backend>(const std::string& dir)> open;
};

// The fixture: a fresh store in a temporary directory, reopened on demand.
class BackendConformanceTest : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override { Reopen(); }

  // Shuts the backend down (a clean stop) and opens it again on the same state.
  void Reopen();

  SyncBackend fs();
  SyncBackend as(uint32_t uid, uint32_t gid = 100);
  backend::InodeNumber NewFile(backend::InodeNumber dir, const std::string& name);
  backend::InodeNumber NewDir(backend::InodeNumber dir, const std::string& name,
                              uint32_t mode = 0755);

  TempDir dir_;
  std::unique_ptr<backend::Backend> backend_;
};

}  // namespace cfs::testing

#endif  // CFS_TESTING_CONFORMANCE_BACKEND_CONFORMANCE_H_
