// Named streams: parsing "file:stream:$DATA" paths and the streams kept in extended attributes
// of the embedded backend.
#include "lib/protocols/smb/smb_streams.h"

#include "gtest/gtest.h"
#include "lib/backend/errors.h"
#include "lib/backends/embedded/embedded_backend.h"
#include "lib/protocols/smb/ntstatus.h"
#include "lib/protocols/smb/smb_paths.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace cfs::smb {
namespace {

using backend::FsError;
using backend::kRootInode;

TEST(SmbPathsTest, StreamSuffixes) {
  ParsedPath p;
  ASSERT_EQ(ParseSmbPath("dir\\file:Stream One", &p), nt::kSuccess);
  EXPECT_EQ(p.normalized, "dir\\file");
  EXPECT_EQ(p.stream, "Stream One");
  EXPECT_FALSE(p.data_stream);
  ASSERT_EQ(ParseSmbPath("file:s:$dAtA", &p), nt::kSuccess);
  EXPECT_EQ(p.stream, "s");
  ASSERT_EQ(ParseSmbPath("file::$DATA", &p), nt::kSuccess);
  EXPECT_EQ(p.normalized, "file");
  EXPECT_TRUE(p.stream.empty());
  EXPECT_TRUE(p.data_stream);
  ASSERT_EQ(ParseSmbPath("file:\x05odd\n?*", &p), nt::kSuccess);
  EXPECT_EQ(p.stream, "\x05odd\n?*");
  ASSERT_EQ(ParseSmbPath("", &p), nt::kSuccess);
  EXPECT_TRUE(p.components.empty());
}

TEST(SmbPathsTest, BadStreamNames) {
  ParsedPath p;
  EXPECT_EQ(ParseSmbPath("file:", &p), nt::kObjectNameInvalid);
  EXPECT_EQ(ParseSmbPath("file:s:", &p), nt::kObjectNameInvalid);
  EXPECT_EQ(ParseSmbPath("file:s:$FOO", &p), nt::kObjectNameInvalid);
  EXPECT_EQ(ParseSmbPath("file:s:$DATA:x", &p), nt::kObjectNameInvalid);
  EXPECT_EQ(ParseSmbPath("dir:s\\file", &p), nt::kObjectNameInvalid);
  EXPECT_EQ(ParseSmbPath(":s", &p), nt::kObjectNameInvalid);
  EXPECT_EQ(ParseSmbPath(absl::string_view("file:a\0b", 8), &p), nt::kObjectNameInvalid);
  EXPECT_EQ(ParseSmbPath("file:a/b", &p), nt::kObjectNameInvalid);
}

class SmbStreamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    embedded::EmbeddedBackendOptions options;
    options.data_dir = dir_.path();
    auto opened = embedded::EmbeddedBackend::Open(options);
    ASSERT_OK(opened);
    backend_ = std::move(*opened);
    fs_ = std::make_unique<backend::SyncBackend>(
        *backend_, backend::RequestContext{backend::Identity::Root()});
    auto file = fs_->Create(kRootInode, "file");
    ASSERT_OK(file);
    inode_ = file->attributes.inode;
  }

  cfs::testing::TempDir dir_;
  std::unique_ptr<embedded::EmbeddedBackend> backend_;
  std::unique_ptr<backend::SyncBackend> fs_;
  backend::InodeNumber inode_ = 0;
};

TEST_F(SmbStreamsTest, WriteReadTruncateAndList) {
  ASSERT_OK(CreateStream(*fs_, inode_, "Alpha"));
  EXPECT_EQ(backend::GetFsError(CreateStream(*fs_, inode_, "Alpha")), FsError::kExists);
  ASSERT_OK(WriteStream(*fs_, inode_, "Alpha", 0, "hello"));
  auto size = WriteStream(*fs_, inode_, "Alpha", 8, "xy");
  ASSERT_OK(size);
  EXPECT_EQ(*size, 10u);
  EXPECT_EQ(*ReadStream(*fs_, inode_, "Alpha"), std::string("hello\0\0\0xy", 10));
  ASSERT_OK(TruncateStream(*fs_, inode_, "Alpha", 4));
  EXPECT_EQ(*ReadStream(*fs_, inode_, "Alpha"), "hell");
  ASSERT_OK(CreateStream(*fs_, inode_, "beta"));
  // Attributes that are not streams (S3 metadata) are not listed.
  ASSERT_OK(fs_->SetXattr(inode_, "user.cfs.s3.meta", "m"));
  auto streams = ListStreams(*fs_, inode_);
  ASSERT_OK(streams);
  ASSERT_EQ(streams->size(), 2u);
  EXPECT_EQ((*streams)[0].name, "Alpha");
  EXPECT_EQ((*streams)[0].size, 4u);
  EXPECT_EQ((*streams)[1].name, "beta");
  // The file's own data is untouched.
  EXPECT_EQ(fs_->GetAttr(inode_)->size, 0u);
}

TEST_F(SmbStreamsTest, FoundIgnoringCaseUnderTheStoredName) {
  ASSERT_OK(CreateStream(*fs_, inode_, "MixedCase"));
  auto found = FindStream(*fs_, inode_, "mixedcase");
  ASSERT_OK(found);
  EXPECT_EQ(*found, "MixedCase");
  EXPECT_EQ(backend::GetFsError(FindStream(*fs_, inode_, "other").status()), FsError::kNoEntry);
}

TEST_F(SmbStreamsTest, RenameAndRemove) {
  ASSERT_OK(CreateStream(*fs_, inode_, "a"));
  ASSERT_OK(WriteStream(*fs_, inode_, "a", 0, "data"));
  ASSERT_OK(CreateStream(*fs_, inode_, "b"));
  EXPECT_EQ(backend::GetFsError(RenameStream(*fs_, inode_, "a", "b", false)), FsError::kExists);
  ASSERT_OK(RenameStream(*fs_, inode_, "a", "b", true));
  EXPECT_EQ(*ReadStream(*fs_, inode_, "b"), "data");
  EXPECT_EQ(backend::GetFsError(ReadStream(*fs_, inode_, "a").status()), FsError::kNoEntry);
  ASSERT_OK(RemoveStream(*fs_, inode_, "b"));
  EXPECT_TRUE(ListStreams(*fs_, inode_)->empty());
}

TEST_F(SmbStreamsTest, LimitsAreErrors) {
  ASSERT_OK(CreateStream(*fs_, inode_, "big"));
  EXPECT_EQ(
      backend::GetFsError(WriteStream(*fs_, inode_, "big", 0, std::string(70000, 'x')).status()),
      FsError::kTooBig);
  EXPECT_EQ(backend::GetFsError(WriteStream(*fs_, inode_, "big", uint64_t{1} << 40, "x").status()),
            FsError::kTooBig);
  EXPECT_EQ(
      backend::GetFsError(CreateStream(*fs_, inode_, std::string(kMaxStreamNameLength + 1, 'n'))),
      FsError::kNameTooLong);
  EXPECT_EQ(*ReadStream(*fs_, inode_, "big"), "");
}

}  // namespace
}  // namespace cfs::smb
