// The durable handle contexts against byte layouts written out from MS-SMB2 2.2.13.2.4,
// 2.2.13.2.11/12 and 2.2.14.2.12.
#include "lib/protocols/smb/smb2_durable.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

namespace cfs::smb {
namespace {

const std::string kGuid = absl::HexStringToBytes("00112233445566778899aabbccddeeff");

TEST(Smb2DurableTest, DecodesTheV2Request) {
  std::string data = absl::HexStringToBytes(
                         "60ea0000"
                         "00000000"
                         "0000000000000000") +
                     kGuid;
  absl::StatusOr<DurableV2Request> r = DecodeDurableV2Request(data);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->timeout_ms, 60000u);
  EXPECT_EQ(r->flags, 0u);
  EXPECT_EQ(r->create_guid, kGuid);
  EXPECT_THAT(DecodeDurableV2Request(data.substr(1)), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(EncodeDurableV2Response(60000, 0), absl::HexStringToBytes("60ea000000000000"));
  EXPECT_EQ(EncodeDurableV1Response(), std::string(8, '\0'));
}

TEST(Smb2DurableTest, DecodesBothReconnects) {
  std::string file = absl::HexStringToBytes(
      "0100000000000000"
      "0200000000000000");
  absl::StatusOr<DurableReconnect> v1 = DecodeDurableReconnect("DHnC", file);
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->version, 1);
  EXPECT_EQ(v1->file.persistent, 1u);
  EXPECT_EQ(v1->file.volatile_id, 2u);
  absl::StatusOr<DurableReconnect> v2 =
      DecodeDurableReconnect("DH2C", file + kGuid + absl::HexStringToBytes("00000000"));
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->version, 2);
  EXPECT_EQ(v2->create_guid, kGuid);
  EXPECT_THAT(DecodeDurableReconnect("DHnC", file + "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeDurableReconnect("DH2C", file), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeDurableReconnect("RqLs", file), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace cfs::smb
