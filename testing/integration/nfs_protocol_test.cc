// NFSv3 at the wire level, with our own RPC encoding over a socket: the cases a well-behaved
// client never produces (garbage arguments, forged and stale handles, retransmissions, a backend
// that is down, a wrong version).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "lib/gateway/gateway.h"
#include "lib/protocols/nfs/nfs3_xdr.h"
#include "lib/protocols/rpc/rpc_message.h"
#include "lib/protocols/rpc/rpc_server.h"
#include "lib/protocols/rpc/xdr.h"
#include "testing/fake_portmapper.h"
#include "testing/loopback.h"
#include "testing/temp_dir.h"

namespace cfs::testing {
namespace {

using nfs::Nfs3Proc;
using nfs::Nfs3Status;
using rpc::XdrReader;
using rpc::XdrWriter;

class RawRpcClient {
 public:
  explicit RawRpcClient(int port) : fd_(ConnectLoopback(port)), connected_(fd_ >= 0) {}
  ~RawRpcClient() { close(fd_); }

  // Sends one call and returns the reply record ("" if the server closed).
  std::string Call(uint32_t xid, uint32_t program, uint32_t version, uint32_t proc,
                   const std::string& args) {
    std::string cred = rpc::EncodeAuthSys(rpc::AuthSys{1, "raw", 1000, 1000, {}});
    std::string call = rpc::FrameRecord(
        rpc::EncodeCall(xid, program, version, proc, rpc::AuthFlavor::kSys, cred, args));
    send(fd_, call.data(), call.size(), MSG_NOSIGNAL);
    std::string in;
    char buf[65536];
    absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (absl::Now() < give_up) {
      auto split = rpc::SplitRecord(in);
      if (split.ok() && split->has_value()) return (*split)->record;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return "";
      in.append(buf, n);
    }
    return "";
  }

  bool connected() const { return connected_; }

 private:
  int fd_;
  bool connected_ = false;
};

// Skips the reply header; returns the accept_stat and leaves `body` at the result. The reply is
// kept until the next call, since `body` reads from it.
uint32_t AcceptStat(std::string reply, XdrReader* body) {
  static std::string* kept = new std::string;
  *kept = std::move(reply);
  XdrReader in(*kept);
  in.U32();
  in.U32();
  if (in.U32() != 0) return 1000;  // denied
  in.U32();
  in.Opaque(400);
  uint32_t stat = in.U32();
  *body = in;
  return stat;
}

std::string HandleArgs(const std::string& fh) {
  XdrWriter w;
  w.Opaque(fh);
  return w.Release();
}

std::string DirOp(const std::string& fh, const std::string& name) {
  XdrWriter w;
  w.Opaque(fh);
  w.String(name);
  return w.Release();
}

class NfsProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gateway::GatewayOptions options;
    options.data_dir = dir_.path() + "/state";
    options.bind_address = "127.0.0.1";
    options.nfs_port = options.mount_port = options.s3_port = options.smb_port = 0;
    options.metrics_port = 0;
    options.control_port = 0;
    auto built = gateway::GatewayBuilder().SetOptions(options).Build();
    ASSERT_TRUE(built.ok()) << built.status();
    gateway_ = std::move(*built);
    ASSERT_TRUE(gateway_->Start().ok());
    client_ = std::make_unique<RawRpcClient>(gateway_->address("nfs")->port);
    ASSERT_TRUE(client_->connected());
    // MNT /export (the NFS port serves MOUNT too).
    XdrWriter path;
    path.String("/export");
    XdrReader body("");
    ASSERT_EQ(AcceptStat(client_->Call(1, nfs::kMountProgram, 3, 1, path.Release()), &body), 0u);
    ASSERT_EQ(body.U32(), 0u);  // MNT3_OK
    root_ = body.Opaque(64);
    ASSERT_FALSE(root_.empty());
  }

  // CREATE `name` (guarded) in the root; returns the new handle.
  std::string Create(uint32_t xid, const std::string& name) {
    XdrWriter args;
    args.Raw(DirOp(root_, name));
    args.U32(1);  // GUARDED
    for (int i = 0; i < 4; ++i) args.Bool(false);
    args.U32(0);
    args.U32(0);
    XdrReader body("");
    EXPECT_EQ(AcceptStat(client_->Call(xid, nfs::kNfsProgram, 3, 8, args.Release()), &body), 0u);
    EXPECT_EQ(body.U32(), 0u) << "CREATE failed";
    EXPECT_TRUE(body.Bool());  // post_op_fh3 follows
    return body.Opaque(64);
  }

  uint32_t NfsStatus(uint32_t xid, Nfs3Proc proc, const std::string& args) {
    XdrReader body("");
    uint32_t stat = AcceptStat(
        client_->Call(xid, nfs::kNfsProgram, 3, static_cast<uint32_t>(proc), args), &body);
    if (stat != 0) return 100000 + stat;
    return body.U32();
  }

  TempDir dir_;
  std::unique_ptr<gateway::Gateway> gateway_;
  std::unique_ptr<RawRpcClient> client_;
  std::string root_;
};

TEST_F(NfsProtocolTest, GarbageArgumentsGetGarbageArgs) {
  XdrReader body("");
  EXPECT_EQ(AcceptStat(client_->Call(10, nfs::kNfsProgram, 3, 1, "\x01\x02"), &body), 4u);
  XdrWriter huge;
  huge.U32(5000);  // a handle longer than 64 bytes
  EXPECT_EQ(AcceptStat(client_->Call(11, nfs::kNfsProgram, 3, 1, huge.Release()), &body), 4u);
  // The connection still serves.
  EXPECT_EQ(NfsStatus(12, Nfs3Proc::kGetAttr, HandleArgs(root_)), 0u);
}

TEST_F(NfsProtocolTest, ForgedHandlesAreBadHandleAndFreedInodesStale) {
  std::string forged = root_;
  forged[10] ^= 1;
  EXPECT_EQ(NfsStatus(20, Nfs3Proc::kGetAttr, HandleArgs(forged)),
            static_cast<uint32_t>(Nfs3Status::kBadHandle));
  EXPECT_EQ(NfsStatus(21, Nfs3Proc::kGetAttr, HandleArgs("short")),
            static_cast<uint32_t>(Nfs3Status::kBadHandle));
  std::string fh = Create(22, "doomed");
  EXPECT_EQ(NfsStatus(23, Nfs3Proc::kGetAttr, HandleArgs(fh)), 0u);
  EXPECT_EQ(NfsStatus(24, Nfs3Proc::kRemove, DirOp(root_, "doomed")), 0u);
  EXPECT_EQ(NfsStatus(25, Nfs3Proc::kGetAttr, HandleArgs(fh)),
            static_cast<uint32_t>(Nfs3Status::kStale));
}

TEST_F(NfsProtocolTest, RetransmittedRemoveGetsTheOriginalReply) {
  Create(30, "once");
  std::string first = client_->Call(31, nfs::kNfsProgram, 3, 12, DirOp(root_, "once"));
  std::string again = client_->Call(31, nfs::kNfsProgram, 3, 12, DirOp(root_, "once"));
  EXPECT_EQ(first, again);
  XdrReader body("");
  ASSERT_EQ(AcceptStat(again, &body), 0u);
  EXPECT_EQ(body.U32(), 0u) << "the retransmission was executed again (NOENT)";
  // A genuinely new REMOVE of the same name does fail.
  EXPECT_EQ(NfsStatus(32, Nfs3Proc::kRemove, DirOp(root_, "once")),
            static_cast<uint32_t>(Nfs3Status::kNoEnt));
}

TEST_F(NfsProtocolTest, WrongVersionGetsTheSupportedRange) {
  std::string reply = client_->Call(40, nfs::kNfsProgram, 4, 0, "");
  XdrReader body("");
  ASSERT_EQ(AcceptStat(reply, &body), 2u);  // PROG_MISMATCH
  EXPECT_EQ(body.U32(), 3u);
  EXPECT_EQ(body.U32(), 3u);
}

TEST_F(NfsProtocolTest, UnavailableBackendAnswersJukebox) {
  ASSERT_TRUE(gateway_->backend().Shutdown(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(NfsStatus(50, Nfs3Proc::kGetAttr, HandleArgs(root_)),
            static_cast<uint32_t>(Nfs3Status::kJukebox));
}

TEST_F(NfsProtocolTest, WriteReportsStabilityAndTheRestartVerifier) {
  std::string fh = Create(60, "w");
  XdrWriter args;
  args.Opaque(fh);
  args.U64(0);
  args.U32(5);
  args.U32(2);  // FILE_SYNC
  args.Opaque("hello");
  XdrReader body("");
  ASSERT_EQ(AcceptStat(client_->Call(61, nfs::kNfsProgram, 3, 7, args.Release()), &body), 0u);
  ASSERT_EQ(body.U32(), 0u);
  ASSERT_TRUE(body.Bool());  // pre_op_attr present
  body.U64();
  body.U64();
  body.U64();
  ASSERT_TRUE(body.Bool());  // post_op_attr present
  for (int i = 0; i < 21; ++i) body.U32();
  EXPECT_EQ(body.U32(), 5u);  // count
  EXPECT_EQ(body.U32(), 2u);  // committed FILE_SYNC
  EXPECT_EQ(body.U64(), gateway_->backend().CurrentWriteVerifier());
  EXPECT_TRUE(body.ok());
}

TEST_F(NfsProtocolTest, DotDotAtASubdirectoryExportRootStaysInside) {
  // Make /projects, then serve it as an export of its own.
  XdrWriter mkdir;
  mkdir.Raw(DirOp(root_, "projects"));
  mkdir.Bool(true);  // mode
  mkdir.U32(0777);
  for (int i = 0; i < 3; ++i) mkdir.Bool(false);
  mkdir.U32(0);
  mkdir.U32(0);
  ASSERT_EQ(NfsStatus(80, Nfs3Proc::kMkdir, mkdir.Release()), 0u);
  client_.reset();
  gateway_.reset();
  gateway::GatewayOptions options;
  options.data_dir = dir_.path() + "/state";
  options.bind_address = "127.0.0.1";
  options.nfs_port = options.mount_port = options.s3_port = options.smb_port = 0;
  options.metrics_port = 0;
  options.control_port = 0;
  auth::Export projects;
  projects.path = "/projects";
  projects.nfs_path = "/projects";
  options.exports = {projects};
  auto built = gateway::GatewayBuilder().SetOptions(options).Build();
  ASSERT_TRUE(built.ok()) << built.status();
  gateway_ = std::move(*built);
  ASSERT_TRUE(gateway_->Start().ok());
  client_ = std::make_unique<RawRpcClient>(gateway_->address("nfs")->port);
  XdrWriter path;
  path.String("/projects");
  XdrReader body("");
  ASSERT_EQ(AcceptStat(client_->Call(81, nfs::kMountProgram, 3, 1, path.Release()), &body), 0u);
  ASSERT_EQ(body.U32(), 0u);
  std::string projects_root = body.Opaque(64);
  ASSERT_EQ(
      AcceptStat(client_->Call(82, nfs::kNfsProgram, 3, 3, DirOp(projects_root, "..")), &body), 0u);
  ASSERT_EQ(body.U32(), 0u);
  EXPECT_EQ(body.Opaque(64), projects_root) << "LOOKUP .. left the export";
}

TEST(NfsPortmapperTest, RegistersNfsAndMountAndUnregistersAtShutdown) {
  FakePortmapper portmapper;
  ASSERT_TRUE(portmapper.started());
  TempDir dir;
  gateway::GatewayOptions options;
  options.data_dir = dir.path() + "/state";
  options.bind_address = "127.0.0.1";
  options.nfs_port = options.mount_port = options.s3_port = options.smb_port = 0;
  options.metrics_port = 0;
  options.control_port = 0;
  options.portmapper_port = portmapper.port();
  auto gateway = gateway::GatewayBuilder().SetOptions(options).Build();
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  ASSERT_TRUE((*gateway)->Start().ok());
  uint32_t nfs_port = (*gateway)->address("nfs")->port;
  uint32_t mount_port = (*gateway)->address("mount")->port;
  EXPECT_TRUE(portmapper.Has(nfs::kNfsProgram, 3, 6, nfs_port));
  EXPECT_TRUE(portmapper.Has(nfs::kNfsProgram, 3, 17, nfs_port));
  EXPECT_TRUE(portmapper.Has(nfs::kMountProgram, 3, 6, mount_port));
  EXPECT_TRUE(portmapper.Has(nfs::kMountProgram, 3, 17, mount_port));
  ASSERT_TRUE((*gateway)->Shutdown().ok());
  EXPECT_EQ(portmapper.size(), 0u) << "registrations outlived the gateway";
}

TEST_F(NfsProtocolTest, UdpServesTheSameProgramsOnTheSamePort) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to = LoopbackAddress(gateway_->address("nfs")->port);
  XdrWriter args;
  args.Opaque(root_);
  std::string cred = rpc::EncodeAuthSys(rpc::AuthSys{1, "udp", 1000, 1000, {}});
  std::string call =
      rpc::EncodeCall(70, nfs::kNfsProgram, 3, 1, rpc::AuthFlavor::kSys, cred, args.Release());
  sendto(fd, call.data(), call.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1) << "no UDP reply";
  char buf[65536];
  ssize_t n = recv(fd, buf, sizeof(buf), 0);
  ASSERT_GT(n, 0);
  XdrReader body("");
  ASSERT_EQ(AcceptStat(std::string(buf, n), &body), 0u);
  EXPECT_EQ(body.U32(), 0u);  // NFS3_OK
  EXPECT_EQ(body.U32(), 2u);  // NF3DIR

  // A 1 MiB READ over UDP comes back short enough to fit a datagram.
  std::string fh = Create(71, "big-over-udp");
  XdrWriter write;
  write.Opaque(fh);
  write.U64(0);
  write.U32(200000);
  write.U32(2);
  write.Opaque(std::string(200000, 'u'));
  ASSERT_EQ(NfsStatus(72, Nfs3Proc::kWrite, write.Release()), 0u);
  XdrWriter read;
  read.Opaque(fh);
  read.U64(0);
  read.U32(1 << 20);
  std::string read_call =
      rpc::EncodeCall(73, nfs::kNfsProgram, 3, 6, rpc::AuthFlavor::kSys, cred, read.Release());
  sendto(fd, read_call.data(), read_call.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  ASSERT_EQ(poll(&p, 1, 5000), 1) << "no UDP reply to a large READ";
  n = recv(fd, buf, sizeof(buf), 0);
  ASSERT_GT(n, 0);
  ASSERT_EQ(AcceptStat(std::string(buf, n), &body), 0u);
  EXPECT_EQ(body.U32(), 0u);
  ASSERT_TRUE(body.Bool());
  for (int i = 0; i < 21; ++i) body.U32();  // fattr3
  uint32_t count = body.U32();
  EXPECT_GT(count, 0u);
  EXPECT_LE(count, rpc::kMaxDatagramReply);
  EXPECT_FALSE(body.Bool()) << "a short read must not claim eof";
  close(fd);
}

}  // namespace
}  // namespace cfs::testing
