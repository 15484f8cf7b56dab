#include "lib/protocols/smb/srvsvc.h"

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "lib/auth/nt_crypto.h"
#include "lib/protocols/smb/le_bytes.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

namespace cfs::smb {
namespace {

// A BIND to srvsvc v3 (NDR) and a NetShareEnumAll level 1 request, as in the fuzz corpus.
std::string Corpus(const std::string& name) {
  std::ifstream in("lib/protocols/smb/testdata/srvsvc_corpus/" + name, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(SrvsvcTest, BindThenNetShareEnumAllListsEveryShare) {
  SrvsvcPipe pipe("CFS", {{"share", 0, "main"}, {"IPC$", 0x80000003u, "IPC Service"}});
  ASSERT_TRUE(pipe.Write(Corpus("bind_enum")).ok());
  std::string out = pipe.Read(1 << 20);
  ASSERT_GE(out.size(), 16u);
  EXPECT_EQ(out[2], 12);  // bind_ack
  uint16_t ack_length = Le16(out, 8);
  // The one context result: acceptance (0).
  absl::string_view ack = absl::string_view(out).substr(0, ack_length);
  size_t results = ack.size() - 24;
  EXPECT_EQ(Le16(ack, results), 0);
  absl::string_view response = absl::string_view(out).substr(ack_length);
  ASSERT_GE(response.size(), 24u);
  EXPECT_EQ(response[2], 2);          // response
  EXPECT_EQ(Le32(response, 12), 2u);  // call id
  absl::string_view stub = response.substr(24);
  EXPECT_EQ(Le32(stub, 0), 1u);   // level
  EXPECT_EQ(Le32(stub, 12), 2u);  // entries read
  std::string share16;
  ASSERT_TRUE(auth::Utf8ToUtf16Le("share", &share16));
  std::string ipc16;
  ASSERT_TRUE(auth::Utf8ToUtf16Le("IPC$", &ipc16));
  EXPECT_NE(stub.find(share16), absl::string_view::npos);
  EXPECT_NE(stub.find(ipc16), absl::string_view::npos);
  EXPECT_EQ(Le32(stub, stub.size() - 4), 0u);  // WERR_OK
}

TEST(SrvsvcTest, PiecesAndUnknownOperations) {
  SrvsvcPipe pipe("CFS", {{"share", 0, ""}});
  std::string both = Corpus("bind_enum");
  for (char c : both) ASSERT_TRUE(pipe.Write(std::string(1, c)).ok());  // byte by byte
  EXPECT_GT(pipe.pending(), 0u);
  pipe.Read(1 << 20);
  std::string request = both.substr(Le16(both, 8));
  request[22] = 99;  // opnum 99
  ASSERT_TRUE(pipe.Write(request).ok());
  std::string fault = pipe.Read(1 << 20);
  ASSERT_GE(fault.size(), 28u);
  EXPECT_EQ(fault[2], 3);                   // fault
  EXPECT_EQ(Le32(fault, 24), 0x1C010002u);  // nca_s_op_rng_error
  EXPECT_THAT(pipe.Write("not dce/rpc at all"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SrvsvcTest, RequestsBeforeBindFault) {
  SrvsvcPipe pipe("CFS", {});
  std::string both = Corpus("bind_enum");
  ASSERT_TRUE(pipe.Write(both.substr(Le16(both, 8))).ok());
  std::string out = pipe.Read(1 << 20);
  ASSERT_GE(out.size(), 16u);
  EXPECT_EQ(out[2], 3);
}

}  // namespace
}  // namespace cfs::smb
