#include "lib/protocols/rpc/portmap_client.h"

#include "gtest/gtest.h"
#include "testing/fake_portmapper.h"

namespace cfs::rpc {
namespace {

TEST(PortmapRegistrationTest, RegistersAndUnregisters) {
  cfs::testing::FakePortmapper portmapper;
  ASSERT_TRUE(portmapper.started());
  {
    PortmapRegistration reg("127.0.0.1", portmapper.port());
    ASSERT_TRUE(reg.Register({{100003, 3, 12049}, {100005, 3, 12048}}).ok());
    EXPECT_TRUE(portmapper.Has(100003, 3, 6, 12049));
    EXPECT_TRUE(portmapper.Has(100005, 3, 6, 12048));
  }
  EXPECT_EQ(portmapper.size(), 0u) << "mappings were left behind";
}

TEST(PortmapRegistrationTest, NoPortmapperIsUnavailable) {
  // Port 1 on loopback: nothing listens there.
  PortmapRegistration reg("127.0.0.1", 1);
  EXPECT_EQ(reg.Register({{100003, 3, 2049}}).code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace cfs::rpc
