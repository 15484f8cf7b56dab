#include "lib/backend/file_handle.h"

#include "gtest/gtest.h"

namespace cfs::backend {
namespace {

TEST(FileHandleCodecTest, RoundTrips) {
  FileHandleCodec codec(std::string(32, 'k'));
  FileHandle fh{7, 0x0123456789abcdefULL, 99};
  std::string wire = codec.Encode(fh);
  EXPECT_EQ(wire.size(), FileHandleCodec::kEncodedSize);
  absl::StatusOr<FileHandle> back = codec.Decode(wire);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, fh);
}

TEST(FileHandleCodecTest, RejectsEveryFlippedBit) {
  FileHandleCodec codec(std::string(32, 'k'));
  std::string wire = codec.Encode(FileHandle{1, 2, 3});
  for (size_t i = 0; i < wire.size() * 8; ++i) {
    std::string bad = wire;
    bad[i / 8] ^= static_cast<char>(1 << (i % 8));
    EXPECT_EQ(codec.Decode(bad).status().code(), absl::StatusCode::kInvalidArgument) << i;
  }
}

TEST(FileHandleCodecTest, HandlesFromAnotherDeploymentFail) {
  FileHandleCodec ours(std::string(32, 'a'));
  FileHandleCodec theirs(std::string(32, 'b'));
  EXPECT_FALSE(ours.Decode(theirs.Encode(FileHandle{1, 2, 3})).ok());
  EXPECT_FALSE(ours.Decode("").ok());
  EXPECT_FALSE(ours.Decode(std::string(100, 'x')).ok());
}

TEST(FileHandleCodecTest, GeneratedKeysDiffer) {
  EXPECT_NE(FileHandleCodec::GenerateKey(), FileHandleCodec::GenerateKey());
  EXPECT_GE(FileHandleCodec::GenerateKey().size(), FileHandleCodec::kMinKeySize);
}

}  // namespace
}  // namespace cfs::backend
