// The lease codecs against byte layouts written out from MS-SMB2 2.2.13.2.8/10, 2.2.23.2 and
// 2.2.24.2.
#include "lib/protocols/smb/smb2_lease.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "lib/protocols/smb/le_bytes.h"
#include "lib/protocols/smb/smb2_header.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

namespace cfs::smb {
namespace {

const std::string kKey = absl::HexStringToBytes("00112233445566778899aabbccddeeff");
const std::string kParent = absl::HexStringToBytes("ffeeddccbbaa99887766554433221100");

TEST(Smb2LeaseTest, DecodesBothContextVersions) {
  std::string v1 = kKey + absl::HexStringToBytes(
                              "07000000"
                              "00000000"
                              "0000000000000000");
  absl::StatusOr<LeaseContext> a = DecodeLeaseContext(v1);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->version, 1);
  EXPECT_EQ(a->key, kKey);
  EXPECT_EQ(a->state, kLeaseRead | kLeaseHandle | kLeaseWrite);

  std::string v2 = kKey +
                   absl::HexStringToBytes(
                       "03000000"
                       "04000000"
                       "0000000000000000") +
                   kParent +
                   absl::HexStringToBytes(
                       "0500"
                       "0000");
  absl::StatusOr<LeaseContext> b = DecodeLeaseContext(v2);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->version, 2);
  EXPECT_EQ(b->state, kLeaseRead | kLeaseHandle);
  EXPECT_EQ(b->flags, kLeaseFlagParentKeySet);
  EXPECT_EQ(b->parent_key, kParent);
  EXPECT_EQ(b->epoch, 5);
  EXPECT_EQ(EncodeLeaseContext(*b), v2);  // the response has the request's layout

  EXPECT_THAT(DecodeLeaseContext(v1.substr(0, 31)), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeLeaseContext(v2 + "x"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(Smb2LeaseTest, BreakAcknowledgmentRoundTrip) {
  std::string message(kSmb2HeaderSize, '\0');
  Put16(&message, 36);
  Put16(&message, 0);
  Put32(&message, 0);
  message += kKey;
  Put32(&message, kLeaseRead);
  Put64(&message, 0);
  absl::StatusOr<LeaseBreakAck> ack = DecodeLeaseBreakAck(message);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->key, kKey);
  EXPECT_EQ(ack->state, kLeaseRead);
  EXPECT_EQ(EncodeLeaseBreakAckResponse(*ack), message.substr(kSmb2HeaderSize));

  EXPECT_THAT(DecodeLeaseBreakAck(message.substr(0, message.size() - 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::string oplock_ack = message;
  oplock_ack[kSmb2HeaderSize] = 24;  // an oplock acknowledgment is not a lease one
  EXPECT_THAT(DecodeLeaseBreakAck(oplock_ack), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(Smb2LeaseTest, BreakNotificationLayout) {
  std::string body = EncodeLeaseBreakNotification(kKey, 3, true, 7, 3);
  ASSERT_EQ(body.size(), 44u);
  EXPECT_EQ(Le16(body, 0), 44);
  EXPECT_EQ(Le16(body, 2), 3);  // NewEpoch
  EXPECT_EQ(Le32(body, 4), kLeaseBreakAckRequired);
  EXPECT_EQ(body.substr(8, 16), kKey);
  EXPECT_EQ(Le32(body, 24), 7u);  // CurrentLeaseState
  EXPECT_EQ(Le32(body, 28), 3u);  // NewLeaseState
  EXPECT_EQ(body.substr(32), std::string(12, '\0'));
}

}  // namespace
}  // namespace cfs::smb
