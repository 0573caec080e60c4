// The commands the kernel has not taken yet: progress, refusals, when they count as stalled.
#include "unsent.h"

#include <cerrno>

#include <vector>

#include <gtest/gtest.h>

#include "support/fake_transport.h"

namespace nvme_mpath::internal {
namespace {

constexpr int64_t kMs = 1'000'000;

TEST(UnsentTest, TakenCommandsLeaveTheCount) {
  UnsentCommands u;
  for (int i = 0; i < 5; ++i) u.Prepared();
  EXPECT_EQ(u.count(), 5u);
  EXPECT_FALSE(u.Submitted(5, 0));
  EXPECT_EQ(u.count(), 0u);
  EXPECT_FALSE(u.Stalled(10 * UnsentCommands::kStallNs));
}

TEST(UnsentTest, RefusalStartsTheStallClockAndProgressRestartsIt) {
  UnsentCommands u;
  for (int i = 0; i < 4; ++i) u.Prepared();
  EXPECT_TRUE(u.Submitted(-EAGAIN, 100 * kMs));  // none taken: a submit failure
  EXPECT_TRUE(u.Submitted(-EBUSY, 500 * kMs));   // the clock keeps its start
  EXPECT_FALSE(u.Stalled(1099 * kMs));
  EXPECT_TRUE(u.Stalled(1100 * kMs));
  EXPECT_EQ(u.error(), -EBUSY);  // what the kernel last said
  EXPECT_FALSE(u.Submitted(1, 1100 * kMs));  // a short submit is progress
  EXPECT_EQ(u.count(), 3u);
  EXPECT_FALSE(u.Stalled(2099 * kMs));
  EXPECT_TRUE(u.Stalled(2100 * kMs));
}

TEST(UnsentTest, WrongThreadIsNotAStall) {
  UnsentCommands u;
  u.Prepared();
  EXPECT_FALSE(u.Submitted(-EEXIST, 0));
  EXPECT_FALSE(u.Stalled(10 * UnsentCommands::kStallNs));
  EXPECT_EQ(u.error(), -EAGAIN);  // nothing said yet
}

TEST(UnsentTest, TakingBackClearsThem) {
  UnsentCommands u;
  u.Prepared();
  u.Prepared();
  u.Submitted(0, 0);  // a submit that took nothing, without an errno
  EXPECT_EQ(u.error(), -EAGAIN);
  u.TakenBack(2, 2 * UnsentCommands::kStallNs);
  EXPECT_EQ(u.count(), 0u);
  EXPECT_FALSE(u.Stalled(3 * UnsentCommands::kStallNs));
}

TEST(DropAllUnsentTest, TakesBackEveryPreparedCommandBeyondOneBatch) {
  testing::FakeTransport t(1024);
  ASSERT_TRUE(t.SetFile(0, 3).ok());
  for (uint64_t tag = 1; tag <= 70; ++tag) ASSERT_EQ(t.Prep(0, nvme_uring_cmd{}, tag, -1), 0);
  std::vector<uint64_t> dropped;
  DropAllUnsent(&t, [&](uint64_t tag) { dropped.push_back(tag); });
  ASSERT_EQ(dropped.size(), 70u);  // more than the 64 of one DropUnsent() call
  EXPECT_EQ(dropped.front(), 1u);
  EXPECT_EQ(dropped.back(), 70u);
  DropAllUnsent(&t, [&](uint64_t) { ADD_FAILURE() << "dropped twice"; });
}

}  // namespace
}  // namespace nvme_mpath::internal
