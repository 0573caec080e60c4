// The command slots: the free list, the state transitions and their checks, lookup by tag.
#include "command_pool.h"

#include <gtest/gtest.h>

#include "tag.h"

namespace nvme_mpath::internal {
namespace {

TEST(CommandPoolTest, TakesSlotZeroFirstAndReusesTheLastReleased) {
  CommandPool pool(4);
  Io io;
  EXPECT_EQ(pool.depth(), 4u);
  EXPECT_EQ(pool.free(), 4u);
  Cmd* a = pool.Take(&io, {100, 8, 0});
  Cmd* b = pool.Take(&io, {108, 8, 8});
  EXPECT_EQ(a->slot, 0u);
  EXPECT_EQ(b->slot, 1u);
  EXPECT_EQ(pool.free(), 2u);
  EXPECT_EQ(b->state, CmdState::kTaken);
  EXPECT_EQ(b->io, &io);
  EXPECT_EQ(b->frag.slba, 108u);
  EXPECT_EQ(b->frag.nlb, 8u);
  EXPECT_EQ(b->frag.offset_lbas, 8u);
  pool.Release(a);
  EXPECT_EQ(a->state, CmdState::kFree);
  EXPECT_EQ(a->io, nullptr);
  EXPECT_EQ(pool.free(), 3u);
  EXPECT_EQ(pool.Take(&io, {0, 1, 0}), a);  // LIFO: the slot still warm in cache
}

TEST(CommandPoolTest, TakeStartsAFreshAttemptState) {
  CommandPool pool(1);
  Io io;
  Cmd* c = pool.Take(&io, {0, 1, 0});
  c->attempt = 3;
  c->retries = 2;
  c->path = 1;
  c->sticky_path = 1;
  c->last_res = -EIO;
  c->first_fail_ns = 5;
  pool.Release(c);
  c = pool.Take(&io, {7, 2, 0});
  EXPECT_EQ(c->attempt, 0);
  EXPECT_EQ(c->retries, 0);
  EXPECT_EQ(c->path, 0);
  EXPECT_EQ(c->sticky_path, -1);
  EXPECT_EQ(c->last_res, 0);
  EXPECT_EQ(c->first_fail_ns, 0);
}

TEST(CommandPoolTest, FindMatchesOnlyTheCurrentAttemptInTheGivenState) {
  CommandPool pool(4);
  Io io;
  Cmd* c = pool.Take(&io, {0, 1, 0});
  pool.Take(&io, {1, 1, 0});
  c->tag = Tag{c->slot, 1, 2, 77}.Pack();
  pool.Move(c, CmdState::kInflight);
  EXPECT_EQ(pool.Find(c->tag, CmdState::kInflight), c);
  EXPECT_EQ(pool.Find(c->tag, CmdState::kOrphaned), nullptr);
  EXPECT_EQ(pool.Find(Tag{c->slot, 1, 2, 78}.Pack(), CmdState::kInflight), nullptr);  // stale
  EXPECT_EQ(pool.Find(Tag{c->slot, 0, 2, 77}.Pack(), CmdState::kInflight), nullptr);  // path
  EXPECT_EQ(pool.Find(Tag{9, 1, 2, 77}.Pack(), CmdState::kInflight), nullptr);  // no such slot
}

TEST(CommandPoolTest, OrphanKeepsTheSlotUntilItsLateCompletion) {
  CommandPool pool(2);
  Io io;
  Cmd* c = pool.Take(&io, {0, 1, 0});
  pool.Move(c, CmdState::kInflight);
  EXPECT_EQ(pool.Orphan(c), &io);
  EXPECT_EQ(c->io, nullptr);
  EXPECT_EQ(c->state, CmdState::kOrphaned);
  EXPECT_EQ(pool.free(), 1u);
  pool.Release(c);
  EXPECT_EQ(pool.free(), 2u);
}

TEST(CommandPoolTest, AllowedMovesAreTheDiagramsAndNoOthers) {
  using S = CmdState;
  const S all[] = {S::kFree, S::kTaken, S::kInflight, S::kParked, S::kDelayed, S::kOrphaned};
  int allowed = 0;
  for (S from : all)
    for (S to : all) allowed += IsAllowedMove(from, to);
  EXPECT_EQ(allowed, 11);
  EXPECT_TRUE(IsAllowedMove(S::kFree, S::kTaken));
  EXPECT_TRUE(IsAllowedMove(S::kTaken, S::kInflight));
  EXPECT_TRUE(IsAllowedMove(S::kTaken, S::kParked));
  EXPECT_TRUE(IsAllowedMove(S::kTaken, S::kDelayed));
  EXPECT_TRUE(IsAllowedMove(S::kTaken, S::kFree));
  EXPECT_TRUE(IsAllowedMove(S::kInflight, S::kTaken));
  EXPECT_TRUE(IsAllowedMove(S::kInflight, S::kOrphaned));
  EXPECT_TRUE(IsAllowedMove(S::kInflight, S::kFree));
  EXPECT_TRUE(IsAllowedMove(S::kParked, S::kTaken));
  EXPECT_TRUE(IsAllowedMove(S::kDelayed, S::kTaken));
  EXPECT_TRUE(IsAllowedMove(S::kOrphaned, S::kFree));
  // Among the forbidden: a command parked or delayed straight from the kernel, an orphan sent
  // again, a free command sent.
  EXPECT_FALSE(IsAllowedMove(S::kInflight, S::kParked));
  EXPECT_FALSE(IsAllowedMove(S::kInflight, S::kDelayed));
  EXPECT_FALSE(IsAllowedMove(S::kOrphaned, S::kTaken));
  EXPECT_FALSE(IsAllowedMove(S::kFree, S::kInflight));
  EXPECT_FALSE(IsAllowedMove(S::kFree, S::kFree));
}

TEST(CommandPoolTest, ListsKeepFifoOrderAndTheirSize) {
  CommandPool pool(3);
  Io io;
  Cmd* a = pool.Take(&io, {0, 1, 0});
  Cmd* b = pool.Take(&io, {1, 1, 0});
  Cmd* c = pool.Take(&io, {2, 1, 0});
  CmdList l;
  l.PushBack(a);
  l.PushBack(b);
  l.PushBack(c);
  EXPECT_EQ(l.size, 3u);
  l.Remove(b);
  EXPECT_EQ(l.head, a);
  EXPECT_EQ(a->next, c);
  EXPECT_EQ(l.tail, c);
  CmdList all = l.TakeAll();
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.size, 0u);
  EXPECT_EQ(all.size, 2u);
  EXPECT_EQ(all.head, a);
}

#if NVME_MPATH_ASSERTS_ENABLED

TEST(CommandPoolTest, CountsEveryStateAndChecksTheAccounting) {
  CommandPool pool(4);
  Io io;
  Cmd* a = pool.Take(&io, {0, 1, 0});
  Cmd* b = pool.Take(&io, {1, 1, 0});
  Cmd* c = pool.Take(&io, {2, 1, 0});
  pool.Move(a, CmdState::kInflight);
  pool.Move(b, CmdState::kParked);
  pool.Move(c, CmdState::kDelayed);
  EXPECT_EQ(pool.count(CmdState::kFree), 1u);
  EXPECT_EQ(pool.count(CmdState::kInflight), 1u);
  EXPECT_EQ(pool.count(CmdState::kParked), 1u);
  EXPECT_EQ(pool.count(CmdState::kDelayed), 1u);
  pool.CheckAccounting(1, 1);  // free + in flight + parked + delayed == depth
  pool.Orphan(a);
  pool.CheckAccounting(1, 1);
  EXPECT_EQ(pool.count(CmdState::kOrphaned), 1u);
}

class CommandPoolDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(CommandPoolDeathTest, ReleasingAFreeCommandAborts) {
  CommandPool pool(2);
  Io io;
  Cmd* c = pool.Take(&io, {0, 1, 0});
  pool.Release(c);
  EXPECT_DEATH(pool.Release(c), "assertion failed: IsAllowedMove.* \\(free\\)");
}

TEST_F(CommandPoolDeathTest, ParkingACommandStillInTheKernelAborts) {
  CommandPool pool(2);
  Io io;
  Cmd* c = pool.Take(&io, {0, 1, 0});
  pool.Move(c, CmdState::kInflight);
  EXPECT_DEATH(pool.Move(c, CmdState::kParked), "assertion failed: .*\\(in flight\\)");
}

TEST_F(CommandPoolDeathTest, TakingFromAnEmptyPoolAborts) {
  CommandPool pool(1);
  Io io;
  pool.Take(&io, {0, 1, 0});
  EXPECT_DEATH(pool.Take(&io, {1, 1, 0}), "Take\\(\\) from an empty pool");
}

TEST_F(CommandPoolDeathTest, AccountingThatDoesNotAddUpAborts) {
  CommandPool pool(2);
  Io io;
  pool.Move(pool.Take(&io, {0, 1, 0}), CmdState::kParked);
  EXPECT_DEATH(pool.CheckAccounting(0, 0), "assertion failed: count\\(CmdState::kParked\\) == parked");
  Cmd* c = pool.Take(&io, {1, 1, 0});  // left in the queue's hands
  EXPECT_DEATH(pool.CheckAccounting(1, 0), "left in the queue's hands");
  pool.Release(c);
}

#endif  // NVME_MPATH_ASSERTS_ENABLED

}  // namespace
}  // namespace nvme_mpath::internal
