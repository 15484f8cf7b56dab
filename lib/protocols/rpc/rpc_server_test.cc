// The RPC dispatcher over a real TCP connection: RPC-level errors, auth checks, bad input and
// the duplicate request cache.

#include "lib/protocols/rpc/rpc_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include "gtest/gtest.h"
#include "lib/protocols/rpc/xdr.h"
#include "testing/loopback.h"

namespace cfs::rpc {
namespace {

constexpr uint32_t kProgram = 400123;

// Program 400123 v2..3: proc 0 NULL, proc 1 counts calls and echoes args (non-idempotent).
class CountingProgram : public RpcProgram {
 public:
  uint32_t program() const override { return kProgram; }
  uint32_t min_version() const override { return 2; }
  uint32_t max_version() const override { return 3; }
  bool IsNonIdempotent(uint32_t, uint32_t procedure) const override { return procedure == 1; }
  void Dispatch(RpcCall call, RpcReply reply) override {
    if (call.procedure == 0) return std::move(reply)(AcceptStat::kSuccess, "", "");
    if (call.procedure != 1) return std::move(reply)(AcceptStat::kProcUnavail, "", "");
    XdrReader in(call.args);
    uint32_t value = in.U32();
    if (!in.ok()) return std::move(reply)(AcceptStat::kGarbageArgs, "", "");
    int n = ++calls;
    XdrWriter out;
    out.U32(value);
    out.U32(static_cast<uint32_t>(n));
    std::move(reply)(AcceptStat::kSuccess, out.Release(), "");
  }
  std::atomic<int> calls{0};
};

class RpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dispatcher_ =
        std::make_unique<RpcDispatcher>(std::vector<RpcProgram*>{&program_}, &cache_, 64 * 1024);
    net::TcpServerOptions options;
    options.name = "rpc-test";
    server_ = std::make_unique<net::TcpServer>(options, dispatcher_->HandlerFactory());
    ASSERT_TRUE(server_->Start("127.0.0.1", 0).ok());
  }

  int Connect() {
    int fd = cfs::testing::ConnectLoopback(server_->port());
    EXPECT_GE(fd, 0);
    return fd;
  }

  // Sends raw bytes and reads one framed reply; empty when the server closed instead.
  std::string RoundTrip(int fd, const std::string& bytes) {
    send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    std::string in;
    char buf[65536];
    absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (absl::Now() < give_up) {
      auto split = SplitRecord(in);
      if (split.ok() && split->has_value()) return (*split)->record;
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return "";
      in.append(buf, n);
    }
    return "";
  }

  static std::string Sys(uint32_t uid = 1000) {
    return EncodeAuthSys(AuthSys{1, "test", uid, 100, {}});
  }
  static std::string Arg(uint32_t v) {
    XdrWriter w;
    w.U32(v);
    return w.Release();
  }
  // The accept_stat of a reply (or 100 + reject/auth stat for MSG_DENIED).
  // The reply is kept until the next call, since `rest` reads from it.
  static uint32_t Stat(std::string reply, XdrReader* rest = nullptr) {
    static std::string* kept = new std::string;
    *kept = std::move(reply);
    XdrReader in(*kept);
    in.U32();
    in.U32();
    uint32_t reply_stat = in.U32();
    if (reply_stat == 1) {
      uint32_t reject = in.U32();
      uint32_t detail = in.U32();
      return 100 + reject * 10 + detail;
    }
    in.U32();
    in.Opaque(400);
    uint32_t stat = in.U32();
    if (rest != nullptr) *rest = in;
    return stat;
  }

  CountingProgram program_;
  DuplicateRequestCache cache_;
  std::unique_ptr<RpcDispatcher> dispatcher_;
  std::unique_ptr<net::TcpServer> server_;
};

TEST_F(RpcServerTest, AnswersRpcLevelErrors) {
  int fd = Connect();
  // Unknown program.
  EXPECT_EQ(Stat(RoundTrip(fd, FrameRecord(EncodeCall(1, 999, 1, 0, AuthFlavor::kNone, "", "")))),
            1u);
  // Version outside 2..3: PROG_MISMATCH with the range.
  XdrReader rest("");
  EXPECT_EQ(
      Stat(RoundTrip(fd, FrameRecord(EncodeCall(2, kProgram, 4, 0, AuthFlavor::kNone, "", ""))),
           &rest),
      2u);
  EXPECT_EQ(rest.U32(), 2u);
  EXPECT_EQ(rest.U32(), 3u);
  // Unknown procedure.
  EXPECT_EQ(
      Stat(RoundTrip(fd, FrameRecord(EncodeCall(3, kProgram, 3, 9, AuthFlavor::kSys, Sys(), "")))),
      3u);
  // Garbage arguments.
  EXPECT_EQ(Stat(RoundTrip(
                fd, FrameRecord(EncodeCall(4, kProgram, 3, 1, AuthFlavor::kSys, Sys(), "xy")))),
            4u);
  // rpcvers 3: MSG_DENIED RPC_MISMATCH (reject 0, low 2).
  std::string v3 = EncodeCall(5, kProgram, 3, 0, AuthFlavor::kNone, "", "");
  v3[11] = 3;
  EXPECT_EQ(Stat(RoundTrip(fd, FrameRecord(v3))), 102u);
  // AUTH_NONE for a procedure that needs AUTH_SYS: AUTH_TOOWEAK; a broken AUTH_SYS: BADCRED.
  EXPECT_EQ(Stat(RoundTrip(
                fd, FrameRecord(EncodeCall(6, kProgram, 3, 1, AuthFlavor::kNone, "", Arg(1))))),
            115u);
  EXPECT_EQ(Stat(RoundTrip(
                fd, FrameRecord(EncodeCall(7, kProgram, 3, 1, AuthFlavor::kSys, "bad!", Arg(1))))),
            111u);
  EXPECT_EQ(
      Stat(RoundTrip(fd, FrameRecord(EncodeCall(8, kProgram, 3, 1, AuthFlavor::kGss, "", Arg(1))))),
      115u);
  // NULL with AUTH_NONE is fine, and the connection kept serving through all of the above.
  EXPECT_EQ(
      Stat(RoundTrip(fd, FrameRecord(EncodeCall(9, kProgram, 3, 0, AuthFlavor::kNone, "", "")))),
      0u);
  close(fd);
}

TEST_F(RpcServerTest, RetransmittedNonIdempotentCallGetsTheOriginalReply) {
  std::string call = FrameRecord(EncodeCall(77, kProgram, 3, 1, AuthFlavor::kSys, Sys(), Arg(5)));
  int first = Connect();
  std::string reply1 = RoundTrip(first, call);
  close(first);
  int second = Connect();  // clients retransmit on a new connection too
  std::string reply2 = RoundTrip(second, call);
  EXPECT_EQ(reply1, reply2);
  EXPECT_EQ(program_.calls.load(), 1) << "the retransmission was executed again";
  // A new xid is a new call.
  RoundTrip(second, FrameRecord(EncodeCall(78, kProgram, 3, 1, AuthFlavor::kSys, Sys(), Arg(5))));
  EXPECT_EQ(program_.calls.load(), 2);
  close(second);
}

TEST_F(RpcServerTest, BadInputClosesOnlyThatConnection) {
  int good = Connect();
  // An oversized fragment: closed.
  int huge = Connect();
  std::string marker("\xff\xff\xff\xff", 4);
  EXPECT_EQ(RoundTrip(huge, marker + "xxxx"), "");
  // A truncated header inside a complete record: GARBAGE_ARGS when the xid is there.
  int truncated = Connect();
  std::string call = EncodeCall(11, kProgram, 3, 1, AuthFlavor::kSys, Sys(), Arg(1));
  EXPECT_EQ(Stat(RoundTrip(truncated, FrameRecord(call.substr(0, 14)))), 4u);
  // The good connection still works, multi-fragment records included.
  std::string whole = EncodeCall(12, kProgram, 3, 0, AuthFlavor::kNone, "", "");
  std::string split;
  XdrWriter w(&split);
  w.U32(10);
  w.Raw(whole.substr(0, 10));
  w.U32(0x80000000 | static_cast<uint32_t>(whole.size() - 10));
  w.Raw(whole.substr(10));
  EXPECT_EQ(Stat(RoundTrip(good, split)), 0u);
  close(good);
  close(huge);
  close(truncated);
}

TEST(DuplicateRequestCacheTest, EvictsTheOldest) {
  DuplicateRequestCache cache(2);
  std::string reply;
  RequestKey a{"c", 1, 1, 1, 1, 0}, b{"c", 2, 1, 1, 1, 0}, c{"c", 3, 1, 1, 1, 0};
  EXPECT_EQ(cache.Begin(a, &reply), DuplicateRequestCache::Lookup::kNew);
  EXPECT_EQ(cache.Begin(a, &reply), DuplicateRequestCache::Lookup::kInProgress);
  cache.Finish(a, "ra");
  EXPECT_EQ(cache.Begin(a, &reply), DuplicateRequestCache::Lookup::kReplay);
  EXPECT_EQ(reply, "ra");
  cache.Begin(b, &reply);
  cache.Begin(c, &reply);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.Begin(a, &reply), DuplicateRequestCache::Lookup::kNew);  // was evicted
}

}  // namespace
}  // namespace cfs::rpc
