// NTLMSSP against the MS-NLMP 4.2.4 example exchange as Chromium's NTLM test data carries it
// (the spec's inputs plus a MIC and channel bindings): NEGOTIATE, the spec's CHALLENGE and an
// AUTHENTICATE for User/Domain with password "Password".
#include "lib/protocols/smb/ntlmssp.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "lib/auth/user_store.h"
#include "lib/protocols/smb/smb_crypto.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

namespace cfs::smb {
namespace {

std::string Raw(absl::string_view hex) { return absl::HexStringToBytes(hex); }

const char kNegotiate[] = "4e544c4d53535000010000000782080000000000200000000000000020000000";
const char kChallenge[] =
    "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef00000000000000002400240044"
    "000000060070170000000f53006500720076006500720002000c0044006f006d00610069006e0001000c00530065"
    "00720076006500720000000000";
const char kAuthenticate[] =
    "4e544c4d535350000300000018001800580000008a008a00700000000c000c00fa0000000800080006010000100010"
    "000e0100000000000058000000038208000000000000000000f7361633f0ad9bdf4a7c421bc6b824a30000000000"
    "000000000000000000000000000000000000008c0260dbef690662af9c42d50782d2ed0101000000000000800bc8fd"
    "00d4d201aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e0001000c0053006500720076006500"
    "720006000400020000000a0010006586e99d81c2fc984e47172fd4dd03100900160048005400540050002f005300"
    "65007200760065007200000000000000000044006f006d00610069006e00550073006500720043004f004d005000"
    "5500540045005200";

std::optional<std::string> Lookup(const std::string& user) {
  if (user != "User") return std::nullopt;
  return *auth::NtHash("Password");
}

TEST(NtlmsspTest, ParsesTheMessages) {
  EXPECT_EQ(*ParseNegotiateFlags(Raw(kNegotiate)), 0x00088207u);
  absl::StatusOr<NtlmAuthenticate> a = ParseAuthenticate(Raw(kAuthenticate));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->user, "User");
  EXPECT_EQ(a->domain, "Domain");
  EXPECT_EQ(a->workstation, "COMPUTER");
  EXPECT_EQ(a->nt_response.size(), 138u);
  EXPECT_TRUE(a->has_mic);
  EXPECT_THAT(ParseNegotiateFlags(Raw(kChallenge)), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(NtlmsspTest, VerifiesTheExampleExchange) {
  absl::StatusOr<NtlmResult> r = VerifyAuthenticate(
      Raw(kNegotiate), Raw(kChallenge), Raw(kAuthenticate), Raw("0123456789abcdef"), Lookup);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->user, "User");
  EXPECT_EQ(absl::BytesToHexString(r->session_key), "623dbd071be7a530b6a95c2eb4982470");
}

TEST(NtlmsspTest, RefusesWhatDoesNotAuthenticate) {
  auto verify = [](const std::string& negotiate, const std::string& authenticate,
                   const std::string& challenge_bytes = Raw("0123456789abcdef")) {
    return VerifyAuthenticate(negotiate, Raw(kChallenge), authenticate, challenge_bytes, Lookup)
        .status()
        .code();
  };
  std::string authenticate = Raw(kAuthenticate);
  EXPECT_EQ(verify(Raw(kNegotiate), authenticate, Raw("0123456789abcdee")),
            absl::StatusCode::kPermissionDenied);  // another challenge
  std::string other_negotiate = Raw(kNegotiate);
  other_negotiate[12] ^= 1;  // the MIC covers the NEGOTIATE too
  EXPECT_EQ(verify(other_negotiate, authenticate), absl::StatusCode::kPermissionDenied);
  std::string wrong_password = authenticate;
  wrong_password[112] ^= 1;  // NTProofStr
  EXPECT_EQ(verify(Raw(kNegotiate), wrong_password), absl::StatusCode::kPermissionDenied);
  std::string other_user = authenticate;
  other_user[0x106] = 'X';  // "User" -> "Xser"
  EXPECT_EQ(verify(Raw(kNegotiate), other_user), absl::StatusCode::kPermissionDenied);
  std::string outside = authenticate;
  outside[20 + 4] = static_cast<char>(0xff);  // NT response offset past the end
  EXPECT_EQ(verify(Raw(kNegotiate), outside), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(verify(Raw(kNegotiate), authenticate.substr(0, 40)),
            absl::StatusCode::kInvalidArgument);
  std::string unterminated = authenticate;
  unterminated[20] = static_cast<char>(138 - 8);  // the AV pair list loses MsvAvEOL + padding
  EXPECT_EQ(verify(Raw(kNegotiate), unterminated), absl::StatusCode::kInvalidArgument);
  std::string overrun = authenticate;
  overrun[112 + 44 + 2] = static_cast<char>(0xf0);  // the first AV pair runs past the end
  EXPECT_EQ(verify(Raw(kNegotiate), overrun), absl::StatusCode::kInvalidArgument);
}

TEST(NtlmsspTest, ChallengeCarriesTheTargetInfo) {
  std::string challenge =
      BuildChallenge(0x00088207, Raw("0123456789abcdef"), "DOMAIN", "GATEWAY", 0x01d2d400fdc80b80);
  EXPECT_EQ(challenge.substr(0, 12), std::string("NTLMSSP\0\x02\0\0\0", 12));
  EXPECT_EQ(challenge.substr(24, 8), Raw("0123456789abcdef"));
  EXPECT_NE(challenge.find(std::string("G\0A\0T\0E\0W\0A\0Y\0", 14)), std::string::npos);
}

}  // namespace
}  // namespace cfs::smb
