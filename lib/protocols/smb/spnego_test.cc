#include "lib/protocols/smb/spnego.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

namespace cfs::smb {
namespace {

std::string Raw(absl::string_view hex) { return absl::HexStringToBytes(hex); }

TEST(SpnegoTest, NegotiateHintIsTheRfc4178Encoding) {
  // 60 1c | OID 1.3.6.1.5.5.2 | a0 12 30 10 a0 0e 30 0c | OID 1.3.6.1.4.1.311.2.2.10
  EXPECT_EQ(absl::BytesToHexString(NegotiateHint()),
            "601c06062b0601050502a0123010a00e300c060a2b06010401823702020a");
}

TEST(SpnegoTest, ReadsAWindowsStyleNegTokenInit) {
  // A client NegTokenInit offering NEGOEX and NTLMSSP, with an NTLMSSP NEGOTIATE token.
  std::string ntlm = Raw("4e544c4d53535000010000000782080000000000200000000000000020000000");
  std::string mech_types = Raw("a01a3018060a2b06010401823702021e060a2b06010401823702020a");
  std::string token = std::string("\xa2\x22\x04\x20", 4) + ntlm;
  std::string seq = std::string("\x30", 1) +
                    std::string(1, static_cast<char>(mech_types.size() + token.size())) +
                    mech_types + token;
  std::string init = std::string("\xa0", 1) + std::string(1, static_cast<char>(seq.size())) + seq;
  std::string inner = Raw("06062b0601050502") + init;
  std::string blob =
      std::string("\x60", 1) + std::string(1, static_cast<char>(inner.size())) + inner;
  absl::StatusOr<SpnegoToken> t = ParseSpnego(blob);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->mech_types.size(), 2u);
  EXPECT_EQ(t->mech_types[1], std::string(kNtlmsspOid));
  EXPECT_EQ(t->mech_token, ntlm);
  EXPECT_FALSE(t->raw_ntlmssp);
}

TEST(SpnegoTest, NegTokenRespRoundTripAndRawNtlmssp) {
  std::string resp = NegTokenResp(NegState::kAcceptIncomplete, true, "challenge-bytes");
  absl::StatusOr<SpnegoToken> t = ParseSpnego(resp);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->mech_token, "challenge-bytes");
  std::string long_token(300, 'x');  // long-form DER lengths
  t = ParseSpnego(NegTokenResp(NegState::kAcceptCompleted, false, long_token, "mic"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->mech_token, long_token);
  EXPECT_EQ(t->mech_list_mic, "mic");
  t = ParseSpnego(std::string("NTLMSSP\0\x03", 9));
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->raw_ntlmssp);
}

TEST(SpnegoTest, RefusesMalformedDer) {
  std::string good = NegTokenResp(NegState::kAcceptIncomplete, true, "token");
  for (size_t cut = 0; cut < good.size(); ++cut) {
    EXPECT_THAT(ParseSpnego(good.substr(0, cut)), StatusIs(absl::StatusCode::kInvalidArgument))
        << cut;
  }
  EXPECT_THAT(ParseSpnego(std::string("\xa1\x84\xff\xff\xff\xff", 6)),
              StatusIs(absl::StatusCode::kInvalidArgument));  // huge length
  EXPECT_THAT(ParseSpnego(Raw("6008060600000000000000")),
              StatusIs(absl::StatusCode::kInvalidArgument));  // another OID
  EXPECT_THAT(ParseSpnego("garbage"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace cfs::smb
