#include "lib/common/net/udp_server.h"

#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/common/thread_pool.h"
#include "testing/loopback.h"

namespace cfs::net {
namespace {

std::string RoundTrip(int fd, int port, const std::string& datagram) {
  sockaddr_in to = cfs::testing::LoopbackAddress(port);
  sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 5000) != 1) return "";
  char buf[65536];
  ssize_t n = recv(fd, buf, sizeof(buf), 0);
  return n > 0 ? std::string(buf, n) : "";
}

TEST(UdpServerTest, RepliesFromTheLoopAndFromOtherThreads) {
  ThreadPool pool(2, 64);
  UdpServer server([&pool](absl::string_view data, const std::string& peer, UdpReply reply) {
    std::string text(data);
    if (text == "later") {
      pool.Submit([reply, peer] { reply(absl::StrCat("later from ", peer)); });
    } else {
      reply(absl::StrCat("echo:", text));
    }
  });
  ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  EXPECT_EQ(RoundTrip(fd, server.port(), "one"), "echo:one");
  EXPECT_EQ(RoundTrip(fd, server.port(), "later"), "later from 127.0.0.1");
  EXPECT_EQ(RoundTrip(fd, server.port(), std::string(60000, 'x')).size(), 60005u);
  close(fd);
  server.Shutdown();
  pool.Shutdown();
}

}  // namespace
}  // namespace cfs::net
