#include "lib/backend/file_handle.h"

#include <openssl/hmac.h>

#include "gtest/gtest.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

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
  EXPECT_THAT(ours.Decode(theirs.Encode(FileHandle{1, 2, 3})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ours.Decode(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ours.Decode(std::string(100, 'x')), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(FileHandleCodecTest, AuthenticatorIsStandardHmacSha256) {
  // The precomputed key schedule must give exactly HMAC-SHA256 (compared with OpenSSL's one-shot
  // HMAC, truncated to the handle's 16 bytes), for a short key and one longer than a block.
  FileHandleCodec codec("Jefe");
  std::string wire = codec.Encode(FileHandle{0, 0, 0});
  unsigned char expected[32];
  unsigned int length = 0;
  std::string body = wire.substr(0, 21);
  HMAC(EVP_sha256(), "Jefe", 4, reinterpret_cast<const unsigned char*>(body.data()), body.size(),
       expected, &length);
  EXPECT_EQ(wire.substr(21), std::string(reinterpret_cast<char*>(expected), 16));
  std::string long_key(100, 'k');  // longer than a block: hashed first
  FileHandleCodec long_codec(long_key);
  std::string long_wire = long_codec.Encode(FileHandle{1, 2, 3});
  HMAC(EVP_sha256(), long_key.data(), static_cast<int>(long_key.size()),
       reinterpret_cast<const unsigned char*>(long_wire.data()), 21, expected, &length);
  EXPECT_EQ(long_wire.substr(21), std::string(reinterpret_cast<char*>(expected), 16));
}

TEST(FileHandleCodecTest, GeneratedKeysDiffer) {
  EXPECT_NE(FileHandleCodec::GenerateKey(), FileHandleCodec::GenerateKey());
  EXPECT_GE(FileHandleCodec::GenerateKey().size(), FileHandleCodec::kMinKeySize);
}

}  // namespace
}  // namespace cfs::backend
