// Where an I/O is cut into commands: the transfer limit (with interleaved metadata), NOIOB, the
// NLB field; counting and walking agree.
#include "split_planner.h"

#include <vector>

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

std::vector<Fragment> Fragments(const SplitPlanner& p, IoOp op, uint64_t slba, uint32_t nlb) {
  std::vector<Fragment> out;
  const uint32_t n = p.ForEachFragment(op, slba, nlb, [&out](const Fragment& f) { out.push_back(f); });
  EXPECT_EQ(n, out.size());
  EXPECT_EQ(p.CountCommands(op, slba, nlb), n);
  return out;
}

void ExpectFragment(const Fragment& f, uint64_t slba, uint32_t nlb, uint32_t offset) {
  EXPECT_EQ(f.slba, slba);
  EXPECT_EQ(f.nlb, nlb);
  EXPECT_EQ(f.offset_lbas, offset);
}

TEST(SplitPlannerTest, NoLimitKeepsAnIoWhole) {
  SplitPlanner p(512, 0, 0);
  EXPECT_EQ(p.MaxLbas(IoOp::kRead), kMaxNlb);
  EXPECT_TRUE(p.FitsOneCommand(0, kMaxNlb));
  EXPECT_FALSE(p.FitsOneCommand(0, kMaxNlb + 1));  // the 16-bit NLB field
  EXPECT_FALSE(p.FitsOneCommand(0, 0));             // nlb 0 is never "one command"
  const auto f = Fragments(p, IoOp::kRead, 10, 100);
  ASSERT_EQ(f.size(), 1u);
  ExpectFragment(f[0], 10, 100, 0);
}

TEST(SplitPlannerTest, SplitsAtTheTransferLimit) {
  SplitPlanner p(512, 0, 4096);  // 8 LBAs per command
  EXPECT_EQ(p.MaxLbas(IoOp::kWrite), 8u);
  EXPECT_TRUE(p.FitsOneCommand(3, 8));
  EXPECT_FALSE(p.FitsOneCommand(3, 9));
  const auto f = Fragments(p, IoOp::kWrite, 100, 20);
  ASSERT_EQ(f.size(), 3u);
  ExpectFragment(f[0], 100, 8, 0);
  ExpectFragment(f[1], 108, 8, 8);
  ExpectFragment(f[2], 116, 4, 16);
}

TEST(SplitPlannerTest, InterleavedMetadataCountsTowardsTheTransferLimit) {
  SplitPlanner p(512 + 8, 0, 4096);  // an extended LBA is 520 bytes: 7 fit in 4096
  EXPECT_EQ(p.MaxLbas(IoOp::kRead), 7u);
  SplitPlanner tiny(4096, 0, 512);  // a limit below one LBA still moves one LBA per command
  EXPECT_EQ(tiny.MaxLbas(IoOp::kRead), 1u);
}

TEST(SplitPlannerTest, SplitsAtNoiobBoundaries) {
  SplitPlanner p(512, 16, 0);
  EXPECT_TRUE(p.FitsOneCommand(16, 16));
  EXPECT_FALSE(p.FitsOneCommand(10, 8));  // crosses LBA 16
  const auto f = Fragments(p, IoOp::kRead, 10, 30);
  ASSERT_EQ(f.size(), 3u);
  ExpectFragment(f[0], 10, 6, 0);
  ExpectFragment(f[1], 16, 16, 6);
  ExpectFragment(f[2], 32, 8, 22);
}

TEST(SplitPlannerTest, StricterOfTransferLimitAndNoiobWins) {
  SplitPlanner p(512, 16, 2048);  // 4 LBAs per command, boundaries every 16
  const auto f = Fragments(p, IoOp::kRead, 14, 8);
  ASSERT_EQ(f.size(), 3u);
  ExpectFragment(f[0], 14, 2, 0);  // up to the boundary
  ExpectFragment(f[1], 16, 4, 2);
  ExpectFragment(f[2], 20, 2, 6);
}

TEST(SplitPlannerTest, WriteZeroesIgnoresTheTransferLimitButNotNoiob) {
  SplitPlanner p(512, 0, 4096);
  EXPECT_EQ(p.MaxLbas(IoOp::kWriteZeroes), kMaxNlb);
  EXPECT_EQ(p.CountCommands(IoOp::kWriteZeroes, 0, 1000), 1u);
  EXPECT_EQ(p.CountCommands(IoOp::kWriteZeroes, 0, kMaxNlb * 2 + 1), 3u);
  SplitPlanner q(512, 100, 4096);
  EXPECT_EQ(q.CountCommands(IoOp::kWriteZeroes, 50, 100), 2u);
  // Write Uncorrectable moves no data either.
  EXPECT_EQ(p.MaxLbas(IoOp::kWriteUncorrectable), kMaxNlb);
  EXPECT_EQ(p.CountCommands(IoOp::kWriteUncorrectable, 0, kMaxNlb + 1), 2u);
  EXPECT_EQ(q.CountCommands(IoOp::kWriteUncorrectable, 50, 100), 2u);
  // Verify is bounded as a read of its LBAs (the controller's Verify Size Limit is not read).
  EXPECT_EQ(p.MaxLbas(IoOp::kVerify), 8u);
  EXPECT_EQ(p.CountCommands(IoOp::kVerify, 0, 17), 3u);
}

TEST(SplitPlannerTest, FollowsTheTransferLimitOfTheCurrentAssociations) {
  SplitPlanner p(512, 0, 8192);
  EXPECT_EQ(p.MaxLbas(IoOp::kRead), 16u);
  p.SetMaxTransferBytes(4096);  // a path reopened with a smaller MDTS
  EXPECT_EQ(p.max_transfer_bytes(), 4096u);
  EXPECT_EQ(p.MaxLbas(IoOp::kRead), 8u);
  p.SetMaxTransferBytes(0);  // none known: keep the last one
  EXPECT_EQ(p.max_transfer_bytes(), 4096u);
  EXPECT_EQ(p.MaxLbas(IoOp::kRead), 8u);
}

}  // namespace
}  // namespace nvme_mpath::internal
