// The write hold rule (src/write_hold.h): (TBKAS ? 3 : 2) x KATO + CQT, with a floor for a
// fabrics path that reports KATO 0. The queue's use of it (held, not resent before the hold
// ends, the write_hold override) is in queue_test.cc.
#include "write_hold.h"

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

constexpr int64_t kMs = 1'000'000;

TEST(WriteHoldTest, TbkasHoldsThreeKato) {
  // nvmet advertises TBKAS: the lab's KATO 2 s gives 6 s.
  EXPECT_EQ(WriteHoldNs({.kato_ms = 2000, .cqt_ms = 0, .tbkas = true, .fabrics = true}), 6000 * kMs);
  EXPECT_EQ(WriteHoldNs({.kato_ms = 5000, .cqt_ms = 0, .tbkas = true, .fabrics = true}), 15000 * kMs);
}

TEST(WriteHoldTest, WithoutTbkasHoldsTwoKato) {
  EXPECT_EQ(WriteHoldNs({.kato_ms = 2000, .cqt_ms = 0, .tbkas = false, .fabrics = true}), 4000 * kMs);
}

TEST(WriteHoldTest, CqtIsAdded) {
  EXPECT_EQ(WriteHoldNs({.kato_ms = 2000, .cqt_ms = 700, .tbkas = false, .fabrics = true}), 4700 * kMs);
  EXPECT_EQ(WriteHoldNs({.kato_ms = 2000, .cqt_ms = 65535, .tbkas = true, .fabrics = true}),
            (6000 + 65535) * kMs);
}

TEST(WriteHoldTest, FabricsKatoZeroUsesTheFloor) {
  // 3 x the kernel's default KATO (5 s), whatever TBKAS says, plus CQT.
  for (bool tbkas : {false, true}) {
    const WriteHoldFacts f{.kato_ms = 0, .cqt_ms = 0, .tbkas = tbkas, .fabrics = true};
    EXPECT_TRUE(UsesKatoFloor(f));
    EXPECT_EQ(WriteHoldNs(f), 15000 * kMs);
  }
  EXPECT_EQ(WriteHoldNs({.kato_ms = 0, .cqt_ms = 300, .tbkas = true, .fabrics = true}), 15300 * kMs);
  EXPECT_FALSE(UsesKatoFloor({.kato_ms = 1000, .cqt_ms = 0, .tbkas = true, .fabrics = true}));
}

TEST(WriteHoldTest, PcieWithoutKeepAliveHoldsCqt) {
  const WriteHoldFacts f{.kato_ms = 0, .cqt_ms = 250, .tbkas = false, .fabrics = false};
  EXPECT_FALSE(UsesKatoFloor(f));
  EXPECT_EQ(WriteHoldNs(f), 250 * kMs);
  EXPECT_EQ(WriteHoldNs({.kato_ms = 0, .cqt_ms = 0, .tbkas = false, .fabrics = false}), 0);
}

TEST(WriteHoldTest, FabricsTransports) {
  for (const char* t : {"tcp", "rdma", "fc", "loop", ""}) EXPECT_TRUE(IsFabricsTransport(t)) << t;
  EXPECT_FALSE(IsFabricsTransport("pcie"));
}

}  // namespace
}  // namespace nvme_mpath::internal
