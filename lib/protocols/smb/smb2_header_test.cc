#include "lib/protocols/smb/smb2_header.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "lib/protocols/smb/smb_crypto.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

namespace cfs::smb {
namespace {

// The SMB 3.0 SESSION_SETUP response of smb_crypto_test, as a client sent it on the wire.
const char kSessionSetupResponse[] =
    "fe534d42400001000000000001007f00090000000000000003000000000000000000000000000000020000007b"
    "fba3f4000000000000000000000000000000000900000048000900a1073005a0030a0100";

TEST(Smb2HeaderTest, DecodesAWireMessageAndEncodesItBack) {
  std::string wire = absl::HexStringToBytes(kSessionSetupResponse);
  absl::StatusOr<Smb2Header> h = DecodeSmb2Header(wire);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->command, 1);  // SESSION_SETUP
  EXPECT_EQ(h->credit_charge, 1);
  EXPECT_EQ(h->credits, 127);
  EXPECT_EQ(h->flags, kFlagServerToRedir | kFlagSigned);
  EXPECT_EQ(h->message_id, 3u);
  EXPECT_EQ(h->session_id, 0xf4a3fb7b00000002ull);
  EXPECT_FALSE(h->async());
  EXPECT_EQ(EncodeSmb2Header(*h), wire.substr(0, kSmb2HeaderSize));
  EXPECT_EQ(KindOf(wire), MessageKind::kSmb2);
}

TEST(Smb2HeaderTest, AsyncFormAndErrors) {
  Smb2Header h;
  h.flags = kFlagAsyncCommand | kFlagServerToRedir;
  h.async_id = 0x1122334455667788ull;
  h.status = 0x00000103;  // STATUS_PENDING
  absl::StatusOr<Smb2Header> back = DecodeSmb2Header(EncodeSmb2Header(h));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->async_id, h.async_id);
  EXPECT_EQ(back->status, h.status);
  EXPECT_THAT(DecodeSmb2Header("short"), StatusIs(absl::StatusCode::kInvalidArgument));
  std::string wrong = EncodeSmb2Header(h);
  wrong[4] = 32;  // structure size
  EXPECT_THAT(DecodeSmb2Header(wrong), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(KindOf(std::string("\xFFSMB", 4) + "rest"), MessageKind::kSmb1);
}

TEST(Smb2HeaderTest, Compounds) {
  Smb2Header first;
  first.next_command = 72;  // 64-byte header + 8 bytes of body
  Smb2Header second;
  second.flags = kFlagRelatedOperations;
  std::string packet =
      EncodeSmb2Header(first) + std::string(8, 'b') + EncodeSmb2Header(second) + "tail";
  absl::StatusOr<std::vector<absl::string_view>> parts = SplitCompound(packet);
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].size(), 72u);
  EXPECT_EQ((*parts)[1].size(), 68u);
  for (uint32_t bad : {70u, 8u, 4096u}) {  // unaligned, inside the header, past the end
    first.next_command = bad;
    std::string broken = EncodeSmb2Header(first) + std::string(8, 'b') + EncodeSmb2Header(second);
    EXPECT_THAT(SplitCompound(broken), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(FramingTest, DirectTcp) {
  std::string framed = FrameMessage("abcdef");
  EXPECT_EQ(framed.substr(0, 4), std::string("\0\0\0\x06", 4));
  EXPECT_EQ(*FrameSize(framed, 1 << 20), std::optional<size_t>(10));
  EXPECT_EQ(*FrameSize(framed.substr(0, 3), 1 << 20), std::optional<size_t>());
  EXPECT_THAT(FrameSize(std::string("\x85\0\0\0", 4), 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument));  // NetBIOS keep-alive
  EXPECT_THAT(FrameSize(std::string("\0\xff\xff\xff", 4), 1 << 20),
              StatusIs(absl::StatusCode::kInvalidArgument));  // over the limit
}

TEST(TransformHeaderTest, EncryptsAMessageEndToEnd) {
  std::string message = absl::HexStringToBytes(kSessionSetupResponse);
  TransformHeader t;
  t.nonce = std::string(12, '\x42');
  t.original_message_size = static_cast<uint32_t>(message.size());
  t.session_id = 0xf4a3fb7b00000002ull;
  std::string key(16, 'k');
  std::string header = EncodeTransformHeader(t);
  ASSERT_EQ(header.size(), kTransformHeaderSize);
  absl::StatusOr<Sealed> sealed =
      Encrypt(Cipher::kAes128Gcm, key, t.nonce, TransformAad(header), message);
  ASSERT_TRUE(sealed.ok());
  t.signature = sealed->tag;
  std::string wire = EncodeTransformHeader(t) + sealed->ciphertext;
  EXPECT_EQ(KindOf(wire), MessageKind::kTransform);
  absl::StatusOr<TransformHeader> back = DecodeTransformHeader(wire);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->session_id, t.session_id);
  EXPECT_EQ(back->original_message_size, message.size());
  absl::StatusOr<std::string> plain =
      Decrypt(Cipher::kAes128Gcm, key, back->nonce.substr(0, 12),
              TransformAad(wire.substr(0, kTransformHeaderSize)),
              absl::string_view(wire).substr(kTransformHeaderSize), back->signature);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, message);
  // The session id is authenticated: changing it fails decryption.
  wire[44] ^= 1;
  EXPECT_FALSE(Decrypt(Cipher::kAes128Gcm, key, back->nonce.substr(0, 12),
                       TransformAad(wire.substr(0, kTransformHeaderSize)),
                       absl::string_view(wire).substr(kTransformHeaderSize), back->signature)
                   .ok());
}

}  // namespace
}  // namespace cfs::smb
