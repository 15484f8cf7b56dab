#include "lib/protocols/smb/smb2_negotiate.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "lib/protocols/smb/smb2_header.h"
#include "lib/protocols/smb/spnego.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

namespace cfs::smb {
namespace {

// Captured from Debian's smbclient 4.17 (`smbclient -L` against a listening socket): one SMB2
// NEGOTIATE offering 2.0.2-3.1.1 with preauth, encryption, signing and netname contexts.
const char kSmbclientNegotiate[] =
    "fe534d42400000000000000000001f00000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000024000500010000007f000000cba358b3b4c4724f9f137b36628057ee"
    "700000000400000002021002000302031103000001002600000000000100200001007929885"
    "4df4b782ee9914e8a90e84e7e1f511e5a9cac28a604afaea00c01a9b9000002000a00000000000400020001000400"
    "03000000000000000800080000000000030002000100000005001200000000003100320037002e0030002e003000"
    "2e003100";

TEST(NegotiateTest, DecodesSmbclientsRequest) {
  std::string message = absl::HexStringToBytes(kSmbclientNegotiate);
  ASSERT_EQ(DecodeSmb2Header(message)->command, 0);  // NEGOTIATE
  absl::StatusOr<NegotiateRequest> r = DecodeNegotiateRequest(message);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->dialects, (std::vector<uint16_t>{0x0202, 0x0210, 0x0300, 0x0302, 0x0311}));
  EXPECT_EQ(r->security_mode, 1);  // signing enabled, not required
  EXPECT_EQ(r->capabilities, 0x7fu);
  EXPECT_EQ(r->context_count, 4);
  EXPECT_EQ(r->hash_algorithms, std::vector<uint16_t>{kHashSha512});
  EXPECT_EQ(r->preauth_salt.size(), 32u);
  EXPECT_EQ(r->ciphers, (std::vector<uint16_t>{2, 1, 4, 3}));  // 128-GCM, 128-CCM, 256-GCM, 256-CCM
  EXPECT_EQ(r->signing_algorithms, (std::vector<uint16_t>{2, 1, 0}));  // GMAC, CMAC, HMAC
  EXPECT_EQ(r->netname, "127.0.0.1");
  EXPECT_EQ(ChooseDialect(*r, kDialect202, kDialect311), kDialect311);
  EXPECT_EQ(ChooseDialect(*r, kDialect202, kDialect300), kDialect300);
  EXPECT_EQ(ChooseDialect(*r, 0x0400, 0x0500), std::nullopt);
}

TEST(NegotiateTest, RefusesMalformedRequests) {
  std::string message = absl::HexStringToBytes(kSmbclientNegotiate);
  for (size_t cut : {size_t{70}, size_t{100}, size_t{150}, message.size() - 3}) {
    EXPECT_THAT(DecodeNegotiateRequest(message.substr(0, cut)),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << cut;
  }
  std::string no_dialects = message;
  no_dialects[kSmb2HeaderSize + 2] = 0;
  EXPECT_THAT(DecodeNegotiateRequest(no_dialects), StatusIs(absl::StatusCode::kInvalidArgument));
  std::string far_contexts = message;
  far_contexts[kSmb2HeaderSize + 29] = 0x7f;  // context offset far past the end
  EXPECT_THAT(DecodeNegotiateRequest(far_contexts), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(NegotiateTest, ResponseLayout) {
  NegotiateResponse response;
  response.security_blob = NegotiateHint();
  response.preauth_salt = std::string(32, 's');
  response.cipher = 2;
  response.signing_algorithm = 2;
  std::string body = EncodeNegotiateResponse(response);
  EXPECT_EQ(body[0], 65);
  EXPECT_EQ(static_cast<uint8_t>(body[4]), 0x11);  // dialect 0x0311
  EXPECT_EQ(body[6], 3);                           // three contexts
  uint16_t blob_offset = static_cast<uint8_t>(body[56]) | (static_cast<uint8_t>(body[57]) << 8);
  EXPECT_EQ(blob_offset, 128);
  EXPECT_EQ(body.substr(blob_offset - kSmb2HeaderSize, response.security_blob.size()),
            response.security_blob);
  uint32_t context_offset = static_cast<uint8_t>(body[60]) | (static_cast<uint8_t>(body[61]) << 8);
  EXPECT_EQ(context_offset % 8, 0u);
  EXPECT_EQ(body[context_offset - kSmb2HeaderSize], kContextPreauthIntegrity);
  response.dialect = kDialect210;  // no contexts before 3.1.1
  EXPECT_EQ(EncodeNegotiateResponse(response).size(), 64 + response.security_blob.size());
}

}  // namespace
}  // namespace cfs::smb
