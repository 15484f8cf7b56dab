// SMB session cryptography against published vectors: MS-NLMP 4.2.4 (NTLMv2), RFC 4493
// (AES-CMAC), the GCM paper's test case 1 (GMAC of nothing), and an SMB 3.0 signed
// SESSION_SETUP response (key derivation + AES-CMAC signing, from go-smb2's test suite);
// plus encryption round trips and tampering for every cipher.
#include "lib/protocols/smb/smb_crypto.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "lib/auth/user_store.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

namespace cfs::smb {
namespace {

std::string Hex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }
std::string Raw(absl::string_view hex) { return absl::HexStringToBytes(hex); }

// MS-NLMP 4.2.4.1.3: temp = 0101 0000 | 0000 0000 | time 0 | client challenge aa.. | 0000 0000
// | AV pairs (domain "Domain", server "Server", EOL) | 0000 0000.
const char kTemp[] =
    "0101000000000000"
    "0000000000000000"
    "aaaaaaaaaaaaaaaa"
    "00000000"
    "02000c0044006f006d00610069006e00"
    "01000c005300650072007600650072000000"
    "0000"
    "00000000";

TEST(NtlmV2Test, MsNlmpVectors) {
  absl::StatusOr<std::string> nt_hash = auth::NtHash("Password");
  ASSERT_TRUE(nt_hash.ok());
  EXPECT_EQ(Hex(*nt_hash), "a4f49c406510bdcab6824ee7c30fd852");
  absl::StatusOr<std::string> owf = NtOwfV2(*nt_hash, "User", "Domain");
  ASSERT_TRUE(owf.ok());
  EXPECT_EQ(Hex(*owf), "0c868a403bfd7a93a3001ef22ef02e3f");
  std::string response = Raw("68cd0ab851e51c96aabc927bebef6a1c") + Raw(kTemp);
  NtlmV2Check check = CheckNtlmV2Response(*owf, Raw("0123456789abcdef"), response);
  ASSERT_TRUE(check.valid);
  EXPECT_EQ(Hex(check.session_base_key), "8de40ccadbc14a82f15cb0ad0de95ca3");
  // The user name is case-insensitive, the password is not.
  EXPECT_EQ(Hex(*NtOwfV2(*nt_hash, "uSeR", "Domain")), Hex(*owf));
  absl::StatusOr<std::string> other = NtOwfV2(*auth::NtHash("password"), "User", "Domain");
  EXPECT_FALSE(CheckNtlmV2Response(*other, Raw("0123456789abcdef"), response).valid);
  // Another challenge, a changed blob or a short response fail.
  EXPECT_FALSE(CheckNtlmV2Response(*owf, Raw("0123456789abcdee"), response).valid);
  std::string changed = response;
  changed[40] ^= 1;
  EXPECT_FALSE(CheckNtlmV2Response(*owf, Raw("0123456789abcdef"), changed).valid);
  EXPECT_FALSE(CheckNtlmV2Response(*owf, Raw("0123456789abcdef"), response.substr(0, 30)).valid);
}

TEST(NtlmV2Test, KeyExchangeIsRc4) {
  // MS-NLMP 4.2.4.2.3: the random session key 55..55 encrypted with the key exchange key.
  absl::StatusOr<std::string> encrypted =
      Rc4(Raw("8de40ccadbc14a82f15cb0ad0de95ca3"), std::string(16, '\x55'));
  ASSERT_TRUE(encrypted.ok()) << encrypted.status();
  EXPECT_EQ(Hex(*encrypted), "c5dad2544fc9799094ce1ce90bc9d03e");
  EXPECT_EQ(*Rc4(Raw("8de40ccadbc14a82f15cb0ad0de95ca3"), *encrypted), std::string(16, '\x55'));
}

TEST(SigningTest, AesCmacRfc4493) {
  std::string key = Raw("2b7e151628aed2a6abf7158809cf4f3c");
  EXPECT_EQ(Hex(*SignAesCmac(key, "")), "bb1d6929e95937287fa37d129b756746");
  EXPECT_EQ(Hex(*SignAesCmac(key, Raw("6bc1bee22e409f96e93d7e117393172a"))),
            "070a16b46b4d4144f79bdd9dd04a287c");
}

TEST(SigningTest, Smb30SessionSetupSignature) {
  std::string session_key = Raw("726d4c454e63516446695457664e5042");
  std::string signing_key =
      Smb3Kdf(session_key, std::string("SMB2AESCMAC\0", 12), std::string("SmbSign\0", 8));
  std::string packet = Raw(
      "fe534d42400001000000000001007f00090000000000000003000000000000000000000000000000020000007b"
      "fba3f4000000000000000000000000000000000900000048000900a1073005a0030a0100");
  EXPECT_EQ(Hex(*SignAesCmac(signing_key, packet)), "041393e756a048c9092c4e52dc703719");
  EXPECT_EQ(Smb3Kdf(session_key, "L", "C", 256).size(), 32u);
}

TEST(SigningTest, GmacAndHmac) {
  // GCM test case 1 (McGrew and Viega): zero key and IV, no data.
  EXPECT_EQ(Hex(*SignAesGmac(std::string(16, '\0'), std::string(12, '\0'), "")),
            "58e2fccefa7e3061367f1d57a4e7455a");
  std::string key = Raw("000102030405060708090a0b0c0d0e0f");
  std::string a = *SignAesGmac(key, std::string(12, '\1'), "message");
  EXPECT_NE(a, *SignAesGmac(key, std::string(12, '\2'), "message"));  // nonce matters
  EXPECT_NE(a, *SignAesGmac(key, std::string(12, '\1'), "messagf"));
  EXPECT_EQ(SignHmacSha256(key, "message").size(), 16u);
}

TEST(EncryptionTest, RoundTripsAndRefusesTampering) {
  for (Cipher cipher :
       {Cipher::kAes128Ccm, Cipher::kAes128Gcm, Cipher::kAes256Ccm, Cipher::kAes256Gcm}) {
    bool wide = cipher == Cipher::kAes256Ccm || cipher == Cipher::kAes256Gcm;
    std::string key(wide ? 32 : 16, 'k');
    std::string nonce(NonceLength(cipher), 'n');
    std::string aad(32, 'a');
    std::string plain = "an SMB2 message body of some length, " + std::string(1000, 'x');
    absl::StatusOr<Sealed> sealed = Encrypt(cipher, key, nonce, aad, plain);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_NE(sealed->ciphertext, plain);
    EXPECT_EQ(*Decrypt(cipher, key, nonce, aad, sealed->ciphertext, sealed->tag), plain);
    std::string bad = sealed->ciphertext;
    bad[5] ^= 1;
    EXPECT_EQ(Decrypt(cipher, key, nonce, aad, bad, sealed->tag).status().code(),
              absl::StatusCode::kPermissionDenied);
    std::string other_aad = aad;
    other_aad[0] ^= 1;
    EXPECT_THAT(Decrypt(cipher, key, nonce, other_aad, sealed->ciphertext, sealed->tag),
                StatusIs(absl::StatusCode::kPermissionDenied));
    EXPECT_FALSE(
        Decrypt(cipher, std::string(key.size(), 'K'), nonce, aad, sealed->ciphertext, sealed->tag)
            .ok());
    EXPECT_THAT(Encrypt(cipher, "short", nonce, aad, plain),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

}  // namespace
}  // namespace cfs::smb
