#include "lib/protocols/rpc/rpc_message.h"

#include "gtest/gtest.h"
#include "lib/protocols/rpc/xdr.h"

namespace cfs::rpc {
namespace {

TEST(XdrTest, RoundTripsAndPads) {
  XdrWriter w;
  w.U32(7);
  w.U64(0x0102030405060708ULL);
  w.Bool(true);
  w.String("abcde");
  w.FixedOpaque("xy");
  std::string bytes = w.Release();
  EXPECT_EQ(bytes.size(), 4u + 8 + 4 + (4 + 8) + 4);
  XdrReader r(bytes);
  EXPECT_EQ(r.U32(), 7u);
  EXPECT_EQ(r.U64(), 0x0102030405060708ULL);
  EXPECT_TRUE(r.Bool());
  EXPECT_EQ(r.String(10), "abcde");
  EXPECT_EQ(r.FixedOpaque(2), "xy");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(XdrTest, FailuresAreSticky) {
  XdrWriter w;
  w.String("too long for the limit");
  std::string bytes = w.Release();
  XdrReader r(bytes);
  EXPECT_EQ(r.String(5), "");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.U32(), 0u);
  XdrReader truncated(absl::string_view("\0\0", 2));
  truncated.U32();
  EXPECT_FALSE(truncated.ok());
  XdrWriter b;
  b.U32(2);
  std::string two = b.Release();
  XdrReader bad_bool(two);
  bad_bool.Bool();
  EXPECT_FALSE(bad_bool.ok());
}

TEST(RecordMarkingTest, JoinsFragmentsAndWaitsForMore) {
  std::string stream;
  XdrWriter w(&stream);
  w.U32(3);  // not last
  w.Raw("abc");
  w.U32(0x80000002);  // last
  w.Raw("de");
  w.U32(0x80000001);  // next record, incomplete
  auto split = SplitRecord(stream);
  ASSERT_TRUE(split.ok());
  ASSERT_TRUE(split->has_value());
  EXPECT_EQ((*split)->record, "abcde");
  EXPECT_EQ((*split)->consumed, 13u);
  auto rest = SplitRecord(absl::string_view(stream).substr(13));
  ASSERT_TRUE(rest.ok());
  EXPECT_FALSE(rest->has_value());
}

TEST(RecordMarkingTest, OversizedFragmentsAreRefused) {
  std::string stream;
  XdrWriter w(&stream);
  w.U32(0x80000000 | 5000);
  EXPECT_EQ(SplitRecord(stream, 4096).status().code(), absl::StatusCode::kResourceExhausted);
  // Many small fragments adding up past the limit too.
  std::string many;
  XdrWriter m(&many);
  for (int i = 0; i < 5; ++i) {
    m.U32(1000);
    m.Raw(std::string(1000, 'x'));
  }
  EXPECT_EQ(SplitRecord(many, 4096).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(CallTest, DecodesHeaderAndAuthSys) {
  AuthSys cred{42, "client", 1000, 100, {10, 20}};
  std::string call = EncodeCall(99, 100003, 3, 1, AuthFlavor::kSys, EncodeAuthSys(cred), "ARGS");
  CallError error{CallError::kGarbage};
  auto header = DecodeCall(call, &error);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->xid, 99u);
  EXPECT_EQ(header->program, 100003u);
  EXPECT_EQ(header->version, 3u);
  EXPECT_EQ(header->procedure, 1u);
  EXPECT_EQ(header->args, "ARGS");
  auto sys = DecodeAuthSys(header->credential);
  ASSERT_TRUE(sys.has_value());
  EXPECT_EQ(sys->uid, 1000u);
  EXPECT_EQ(sys->gids, (std::vector<uint32_t>{10, 20}));
}

TEST(CallTest, ClassifiesBadCalls) {
  CallError error{CallError::kGarbage};
  std::string call = EncodeCall(5, 1, 1, 0, AuthFlavor::kNone, "", "");
  std::string v3 = call;
  v3[11] = 3;  // rpcvers
  EXPECT_FALSE(DecodeCall(v3, &error).has_value());
  EXPECT_EQ(error.kind, CallError::kRpcMismatch);
  EXPECT_EQ(error.xid, 5u);
  std::string reply = call;
  reply[7] = 1;  // msg_type REPLY
  EXPECT_FALSE(DecodeCall(reply, &error).has_value());
  EXPECT_EQ(error.kind, CallError::kNotACall);
  EXPECT_FALSE(DecodeCall(call.substr(0, 20), &error).has_value());
  EXPECT_EQ(error.kind, CallError::kGarbage);
  AuthSys too_many{1, "m", 0, 0, std::vector<uint32_t>(17, 1)};
  EXPECT_FALSE(DecodeAuthSys(EncodeAuthSys(too_many)).has_value());
  EXPECT_FALSE(DecodeAuthSys(EncodeAuthSys(AuthSys{}) + "x").has_value());
}

TEST(ReplyTest, EncodesMismatchRanges) {
  std::string r = EncodeProgMismatch(7, 3, 3);
  XdrReader in(r);
  EXPECT_EQ(in.U32(), 7u);  // xid
  EXPECT_EQ(in.U32(), 1u);  // REPLY
  EXPECT_EQ(in.U32(), 0u);  // MSG_ACCEPTED
  in.U32();
  in.Opaque(400);           // verifier
  EXPECT_EQ(in.U32(), 2u);  // PROG_MISMATCH
  EXPECT_EQ(in.U32(), 3u);
  EXPECT_EQ(in.U32(), 3u);
  EXPECT_TRUE(in.ok());
}

}  // namespace
}  // namespace cfs::rpc
