// TempDir: a fresh directory under $TEST_TMPDIR (or /tmp) removed with everything in it when
// the object goes away. Thread-compatible.
//
// Example:
//   cfs::testing::TempDir dir;
//   options.data_dir = dir.path();

#ifndef CFS_TESTING_TEMP_DIR_H_
#define CFS_TESTING_TEMP_DIR_H_

#include <string>

namespace cfs::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace cfs::testing

#endif  // CFS_TESTING_TEMP_DIR_H_
