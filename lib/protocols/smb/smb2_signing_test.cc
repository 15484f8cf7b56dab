#include "lib/protocols/smb/smb2_signing.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "lib/protocols/smb/digest_sha512.h"
#include "lib/protocols/smb/smb2_header.h"
#include "lib/protocols/smb/smb2_negotiate.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

namespace cfs::smb {
namespace {

std::string Raw(absl::string_view hex) { return absl::HexStringToBytes(hex); }

// The SMB 3.0 SESSION_SETUP response signed with session key "rmLENcQdFiTWfNPB" (go-smb2).
const char kSessionSetupResponse[] =
    "fe534d42400001000000000001007f00090000000000000003000000000000000000000000000000020000007b"
    "fba3f4000000000000000000000000000000000900000048000900a1073005a0030a0100";

TEST(SigningTest, Smb30MessageSignature) {
  SessionKeys keys = DeriveSessionKeys(kDialect300, Raw("726d4c454e63516446695457664e5042"), "");
  std::string message = Raw(kSessionSetupResponse);
  ASSERT_TRUE(SignMessage(kSigningAesCmac, keys.signing, &message).ok());
  EXPECT_EQ(absl::BytesToHexString(message.substr(48, 16)), "041393e756a048c9092c4e52dc703719");
  EXPECT_TRUE(VerifyMessage(kSigningAesCmac, keys.signing, message));
  std::string tampered = message;
  tampered[70] ^= 1;
  EXPECT_FALSE(VerifyMessage(kSigningAesCmac, keys.signing, tampered));
  EXPECT_FALSE(VerifyMessage(kSigningAesCmac, keys.server_out, message));
}

TEST(SigningTest, EveryAlgorithmRoundTrips) {
  for (uint16_t dialect : {kDialect210, kDialect300, kDialect311}) {
    SessionKeys keys = DeriveSessionKeys(dialect, std::string(16, 'k'), std::string(64, 'p'));
    EXPECT_EQ(keys.signing.size(), 16u);
    uint16_t algorithm = dialect == kDialect210   ? kSigningHmacSha256
                         : dialect == kDialect300 ? kSigningAesCmac
                                                  : kSigningAesGmac;
    Smb2Header header;
    header.message_id = 42;
    header.flags = kFlagServerToRedir;
    std::string message = EncodeSmb2Header(header) + "body";
    ASSERT_TRUE(SignMessage(algorithm, keys.signing, &message).ok());
    EXPECT_TRUE(VerifyMessage(algorithm, keys.signing, message)) << dialect;
    std::string other_id = message;
    other_id[24] = 43;  // GMAC's nonce and every MAC cover the message id
    EXPECT_FALSE(VerifyMessage(algorithm, keys.signing, other_id)) << dialect;
  }
  std::string not_smb = "garbage";
  EXPECT_THAT(SignMessage(kSigningAesCmac, std::string(16, 'k'), &not_smb),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SigningTest, Smb311KeysDependOnThePreauthHash) {
  PreauthHash hash;
  EXPECT_EQ(hash.value(), std::string(64, '\0'));
  hash.Update("negotiate request");
  EXPECT_EQ(hash.value(), Sha512(std::string(64, '\0') + "negotiate request"));
  hash.Update("negotiate response");
  SessionKeys a = DeriveSessionKeys(kDialect311, std::string(16, 'k'), hash.value());
  hash.Update("session setup");
  SessionKeys b = DeriveSessionKeys(kDialect311, std::string(16, 'k'), hash.value());
  EXPECT_NE(a.signing, b.signing);
  EXPECT_NE(a.server_in, a.server_out);
  EXPECT_EQ(
      DeriveSessionKeys(kDialect311, std::string(16, 'k'), hash.value(), 256).server_in.size(),
      32u);
}

}  // namespace
}  // namespace cfs::smb
