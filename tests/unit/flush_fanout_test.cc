// The fan-out of a Flush over a ledger: which paths get their command now, which are chained,
// what each covers, and what a completed flush command marks. (The queue's fan-out end to end:
// FlushFanoutTest in write_ledger_test.cc.)
#include "flush_fanout.h"

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

class FlushPlanTest : public ::testing::Test {
 protected:
  void SetUp() override { w_ = ledger_.Acquire(); }
  void TearDown() override { ledger_.Release(w_); }
  void Writes(int path, int n) {
    for (int i = 0; i < n; ++i) WriteLedger::Count(w_, path);
  }
  WriteLedger ledger_;
  WriteLedger::Writer w_;
};

TEST_F(FlushPlanTest, NoWritesIsOneCommandDownAnyPath) {
  const FlushPlan plan = PlanFlush(ledger_, 3, 8);
  EXPECT_EQ(plan.commands, 1u);
  EXPECT_EQ(plan.now, 0u);
  EXPECT_EQ(plan.later, 0u);
}

TEST_F(FlushPlanTest, EveryPathWithUncoveredWritesGetsACommandCoveringThemAll) {
  Writes(0, 2);
  Writes(2, 5);
  const FlushPlan plan = PlanFlush(ledger_, 3, 8);
  EXPECT_EQ(plan.commands, 2u);
  EXPECT_EQ(plan.now, 0b101u);
  EXPECT_EQ(plan.later, 0u);
  EXPECT_EQ(plan.covers[0], 2u);
  EXPECT_EQ(plan.covers[2], 5u);
}

TEST_F(FlushPlanTest, FewerSlotsThanPathsChainsTheHigherPaths) {
  Writes(0, 1);
  Writes(1, 1);
  Writes(3, 1);
  FlushPlan plan = PlanFlush(ledger_, 4, 1);
  EXPECT_EQ(plan.commands, 1u);
  EXPECT_EQ(plan.now, 0b0001u);
  EXPECT_EQ(plan.later, 0b1010u);
  plan = PlanFlush(ledger_, 4, 0);
  EXPECT_EQ(plan.commands, 0u);  // no slot: -EAGAIN
  EXPECT_EQ(PlanFlush(ledger_, 4, 0).commands, 0u);
  EXPECT_EQ(PlanFlush(ledger_, 4, 0).now, 0u);
}

TEST_F(FlushPlanTest, ACoveredPathNeedsNoFlushUntilItsNextWrite) {
  Writes(1, 3);
  FlushPlan plan = PlanFlush(ledger_, 2, 8);
  ASSERT_EQ(plan.now, 0b10u);
  EXPECT_FALSE(FlushCompleted(ledger_, FlushFragment(1, plan.covers[1]), 1));
  EXPECT_EQ(PlanFlush(ledger_, 2, 8).now, 0u);
  Writes(1, 1);
  EXPECT_EQ(PlanFlush(ledger_, 2, 8).now, 0b10u);
}

TEST_F(FlushPlanTest, AFlushThatWentDownAnotherPathStillMarksItsTargetAndSaysSo) {
  Writes(0, 4);
  EXPECT_TRUE(FlushCompleted(ledger_, FlushFragment(0, 4), 1));
  EXPECT_EQ(PlanFlush(ledger_, 2, 8).now, 0u);
  // A Flush with no target marks nothing and was not redirected.
  EXPECT_FALSE(FlushCompleted(ledger_, FlushFragment(kFlushAnyPath, 0), 1));
}

TEST_F(FlushPlanTest, NextChainedPathCoversTheWritesCompletedUntilNow) {
  Writes(2, 1);
  uint32_t todo = 0b0100;
  Writes(2, 2);  // completed after the Flush was submitted: covered too
  int p = -2;
  const Fragment f = NextFlushPath(ledger_, &todo, &p);
  EXPECT_EQ(p, 2);
  EXPECT_EQ(todo, 0u);
  EXPECT_EQ(FlushTarget(f), 2u);
  EXPECT_EQ(FlushCovers(f), 3u);
  NextFlushPath(ledger_, &todo, &p);
  EXPECT_EQ(p, -1);  // nothing chained
}

TEST(TakeFlushPathTest, LowestFirst) {
  uint32_t todo = 0b10010;
  EXPECT_EQ(TakeFlushPath(&todo), 1);
  EXPECT_EQ(TakeFlushPath(&todo), 4);
  EXPECT_EQ(todo, 0u);
}

}  // namespace
}  // namespace nvme_mpath::internal
