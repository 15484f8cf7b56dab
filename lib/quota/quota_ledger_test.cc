#include "lib/quota/quota_ledger.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "lib/backend/errors.h"
#include "testing/status_matchers.h"

namespace cfs::quota {
namespace {

using ::cfs::testing::FsErrorIs;
using ::cfs::testing::IsOk;
using ::cfs::testing::StatusIs;

const QuotaKey kAlice{QuotaKind::kUser, 1000};
const QuotaKey kStaff{QuotaKind::kGroup, 50};
const QuotaKey kPhotos{QuotaKind::kBucket, 77};

TEST(QuotaLedgerTest, HardLimitCountsUsageAndReservations) {
  QuotaLedger ledger;
  QuotaLimits limits;
  limits.hard_bytes = 10000;
  ledger.SetLimits(kAlice, "user 1000", limits);
  ledger.Apply({kAlice}, 6000, 1);
  absl::StatusOr<QuotaLedger::Reservation> first = ledger.Reserve({kAlice}, 3000, 0);
  ASSERT_TRUE(first.ok());
  // 6000 used + 3000 reserved: 2000 more would pass 10000.
  absl::StatusOr<QuotaLedger::Reservation> second = ledger.Reserve({kAlice}, 2000, 0);
  EXPECT_THAT(second.status(), FsErrorIs(backend::FsError::kQuota));
  EXPECT_NE(second.status().message().find("user 1000"), std::string::npos);
  first->Release();
  EXPECT_TRUE(ledger.Reserve({kAlice}, 2000, 0).ok());
  EXPECT_EQ(ledger.stats().refusals, 1u);
}

TEST(QuotaLedgerTest, EveryKeyMustAllowTheGrowth) {
  QuotaLedger ledger;
  QuotaLimits roomy;
  roomy.hard_bytes = 1 << 20;
  QuotaLimits tight;
  tight.hard_bytes = 100;
  ledger.SetLimits(kAlice, "user 1000", roomy);
  ledger.SetLimits(kPhotos, "bucket photos", tight);
  absl::StatusOr<QuotaLedger::Reservation> r = ledger.Reserve({kAlice, kStaff, kPhotos}, 101, 0);
  EXPECT_THAT(r.status(), FsErrorIs(backend::FsError::kQuota));
  EXPECT_NE(r.status().message().find("bucket photos"), std::string::npos);
  // Nothing was reserved on the key that allowed it.
  EXPECT_TRUE(ledger.Reserve({kAlice}, 1 << 20, 0).ok());
}

TEST(QuotaLedgerTest, InodeLimit) {
  QuotaLedger ledger;
  QuotaLimits limits;
  limits.hard_inodes = 2;
  ledger.SetLimits(kStaff, "group 50", limits);
  ledger.Apply({kStaff}, 0, 2);
  EXPECT_THAT(ledger.Reserve({kStaff}, 0, 1).status(), FsErrorIs(backend::FsError::kQuota));
  EXPECT_TRUE(ledger.Reserve({kStaff}, 5000, 0).ok());  // bytes are not limited
  ledger.Apply({kStaff}, 0, -1);
  EXPECT_TRUE(ledger.Reserve({kStaff}, 0, 1).ok());
}

TEST(QuotaLedgerTest, KeysWithoutLimitsAreCountedButNeverRefuse) {
  QuotaLedger ledger;
  EXPECT_FALSE(ledger.HasLimits());
  ledger.Apply({kAlice}, 1 << 30, 3);
  EXPECT_TRUE(ledger.Reserve({kAlice}, uint64_t{1} << 40, 1).ok());
  EXPECT_EQ(ledger.Usage(kAlice).bytes, uint64_t{1} << 30);
  EXPECT_EQ(ledger.Usage(kAlice).inodes, 3u);
  EXPECT_TRUE(ledger.ListLimited().empty());
}

TEST(QuotaLedgerTest, UsageNeverGoesBelowZero) {
  QuotaLedger ledger;
  ledger.Apply({kAlice}, 100, 1);
  ledger.Apply({kAlice}, -500, -4);
  EXPECT_EQ(ledger.Usage(kAlice).bytes, 0u);
  EXPECT_EQ(ledger.Usage(kAlice).inodes, 0u);
}

TEST(QuotaLedgerTest, SoftLimitCrossingsAreCountedOncePerCrossing) {
  QuotaLedger ledger;
  QuotaLimits limits;
  limits.soft_bytes = 1000;
  ledger.SetLimits(kAlice, "user 1000", limits);
  ledger.Apply({kAlice}, 900, 0);
  EXPECT_EQ(ledger.stats().soft_crossings, 0u);
  ledger.Apply({kAlice}, 200, 0);  // 1100: crossed
  ledger.Apply({kAlice}, 200, 0);  // still above: no second warning
  EXPECT_EQ(ledger.stats().soft_crossings, 1u);
  EXPECT_TRUE(ledger.Reserve({kAlice}, 1 << 20, 0).ok());  // soft never refuses
  ledger.Apply({kAlice}, -1000, 0);
  ledger.Apply({kAlice}, 1000, 0);
  EXPECT_EQ(ledger.stats().soft_crossings, 2u);
}

TEST(QuotaLedgerTest, RemovingTheLastLimitTurnsAccountingOff) {
  QuotaLedger ledger;
  QuotaLimits limits;
  limits.hard_bytes = 10;
  ledger.SetLimits(kAlice, "user 1000", limits);
  EXPECT_TRUE(ledger.HasLimits());
  EXPECT_TRUE(ledger.HasLimits(kAlice));
  ledger.SetLimits(kAlice, "user 1000", QuotaLimits{});  // empty: removed
  EXPECT_FALSE(ledger.HasLimits());
  EXPECT_FALSE(ledger.Get(kAlice).has_value());
}

TEST(QuotaLedgerTest, ReplaceUsageKeepsLimits) {
  QuotaLedger ledger;
  QuotaLimits limits;
  limits.hard_bytes = 100;
  ledger.SetLimits(kAlice, "user 1000", limits);
  ledger.Apply({kAlice}, 50, 1);
  ledger.ReplaceUsage({{kAlice, QuotaUsage{80, 2}}, {kStaff, QuotaUsage{5, 1}}});
  ASSERT_TRUE(ledger.Get(kAlice).has_value());
  EXPECT_EQ(ledger.Get(kAlice)->usage.bytes, 80u);
  EXPECT_EQ(ledger.Get(kAlice)->limits.hard_bytes, 100u);
  EXPECT_EQ(ledger.Usage(kStaff).bytes, 5u);
  EXPECT_THAT(ledger.Reserve({kAlice}, 21, 0).status(), FsErrorIs(backend::FsError::kQuota));
}

// Many writers racing for the last bytes never pass the hard limit together.
TEST(QuotaLedgerTest, ConcurrentWritersNeverPassTheHardLimit) {
  QuotaLedger ledger;
  QuotaLimits limits;
  limits.hard_bytes = 50000;
  ledger.SetLimits(kAlice, "user 1000", limits);
  std::atomic<int> granted{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        absl::StatusOr<QuotaLedger::Reservation> r = ledger.Reserve({kAlice}, 1000, 0);
        if (!r.ok()) continue;
        ledger.Apply({kAlice}, 1000, 0);
        granted.fetch_add(1);
      }
    });
  }
  for (std::thread& w : writers) w.join();
  EXPECT_EQ(granted.load(), 50);
  EXPECT_EQ(ledger.Usage(kAlice).bytes, 50000u);
}

TEST(QuotaSettingTest, Validation) {
  QuotaSetting ok{{QuotaKind::kUser, "1000"}, {}};
  ok.limits.soft_bytes = 10;
  ok.limits.hard_bytes = 20;
  EXPECT_THAT(ValidateQuotaSetting(ok), IsOk());
  QuotaSetting named = ok;
  named.subject.name = "alice";
  EXPECT_THAT(ValidateQuotaSetting(named), StatusIs(absl::StatusCode::kInvalidArgument));
  QuotaSetting inverted = ok;
  inverted.limits.soft_bytes = 30;
  absl::Status s = ValidateQuotaSetting(inverted);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(s.message().find("soft_bytes"), std::string::npos);
  QuotaSetting unnamed{{QuotaKind::kBucket, ""}, {}};
  EXPECT_THAT(ValidateQuotaSetting(unnamed), StatusIs(absl::StatusCode::kInvalidArgument));
  QuotaSetting bucket{{QuotaKind::kBucket, "photos"}, {}};
  EXPECT_THAT(ValidateQuotaSetting(bucket), IsOk());
}

TEST(QuotaKindTest, NamesRoundTrip) {
  for (QuotaKind kind :
       {QuotaKind::kUser, QuotaKind::kGroup, QuotaKind::kExport, QuotaKind::kBucket}) {
    absl::StatusOr<QuotaKind> parsed = ParseQuotaKind(QuotaKindName(kind));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, kind);
  }
  EXPECT_THAT(ParseQuotaKind("planet").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ((QuotaSubject{QuotaKind::kBucket, "photos"}.ToString()), "bucket:photos");
}

}  // namespace
}  // namespace cfs::quota
