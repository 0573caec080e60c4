// Whether a queue takes an Io as given, and how many commands it makes: one rule per row, and the
// hot path's inline check agrees with the full one.
#include "io_check.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

alignas(4096) uint8_t g_buf[1 << 16];
void Done(Io*) {}

constexpr uint64_t kNsze = 1 << 20;
constexpr uint32_t kDepth = 8;

Io Read(uint64_t slba, uint32_t nlb) {
  Io io;
  io.op = IoOp::kRead;
  io.slba = slba;
  io.nlb = nlb;
  io.buf = g_buf;
  io.done = Done;
  return io;
}

int Check(const Io& io, const SplitPlanner& p, uint32_t* n) { return CheckIo(&io, kNsze, kDepth, p, n); }

TEST(IoCheckTest, SimpleReadPassesBothChecks) {
  const SplitPlanner p(512, 0, 4096);
  Io io = Read(10, 8);
  uint32_t n = 0;
  EXPECT_TRUE(IsSimpleIo(io, kNsze, p));
  EXPECT_EQ(Check(io, p, &n), 0);
  EXPECT_EQ(n, 1u);
  io.op = IoOp::kWrite;
  EXPECT_TRUE(IsSimpleIo(io, kNsze, p));
}

TEST(IoCheckTest, EachRuleHasItsError) {
  const SplitPlanner p(512, 0, 4096);
  uint32_t n = 0;
  EXPECT_EQ(CheckIo(nullptr, kNsze, kDepth, p, &n), -EINVAL);
  Io io = Read(0, 8);
  io.done = nullptr;
  EXPECT_EQ(Check(io, p, &n), -EINVAL);  // no callback
  io = Read(0, 8);
  io.buf = g_buf + 2;
  EXPECT_EQ(Check(io, p, &n), -EINVAL);  // misaligned buffer
  io = Read(0, 8);
  io.md = g_buf + 1;
  EXPECT_EQ(Check(io, p, &n), -EINVAL);  // misaligned metadata
  io = Read(0, 0);
  EXPECT_EQ(Check(io, p, &n), -EINVAL);  // nlb 0
  io = Read(kNsze - 4, 8);
  EXPECT_EQ(Check(io, p, &n), -ERANGE);  // past the end
  io = Read(0, 8 * kDepth + 1);
  EXPECT_EQ(Check(io, p, &n), -E2BIG);   // more commands than the queue has slots
  io = Read(0, 8);
  io.op = static_cast<IoOp>(99);
  EXPECT_EQ(Check(io, p, &n), -EOPNOTSUPP);
  for (const Io& bad : {Read(0, 0), Read(kNsze, 1), Read(0, 9)}) EXPECT_FALSE(IsSimpleIo(bad, kNsze, p));
}

TEST(IoCheckTest, SplitIoCountsItsCommands) {
  const SplitPlanner p(512, 16, 4096);
  uint32_t n = 0;
  Io io = Read(10, 30);  // 6 to the boundary, then 8, 8, 8
  EXPECT_FALSE(IsSimpleIo(io, kNsze, p));
  EXPECT_EQ(Check(io, p, &n), 0);
  EXPECT_EQ(n, 4u);
  io.op = IoOp::kWriteZeroes;  // no transfer limit: at the boundaries only (6, 16, 8)
  io.buf = nullptr;
  EXPECT_EQ(Check(io, p, &n), 0);
  EXPECT_EQ(n, 3u);
  for (IoOp op : {IoOp::kVerify, IoOp::kWriteUncorrectable}) {  // no buffer needed
    io.op = op;
    EXPECT_EQ(Check(io, p, &n), 0) << IoOpName(op);
    EXPECT_EQ(n, op == IoOp::kVerify ? 4u : 3u) << IoOpName(op);  // verify: as a read
    io.nlb = 0;
    EXPECT_EQ(Check(io, p, &n), -EINVAL) << IoOpName(op);
    io.nlb = 30;
    io.slba = kNsze - 1;
    EXPECT_EQ(Check(io, p, &n), -ERANGE) << IoOpName(op);
    io.slba = 10;
  }
}

TEST(IoCheckTest, DeallocateRangesAndRawLengths) {
  const SplitPlanner p(512, 0, 4096);
  uint32_t n = 0;
  DsmRange r[2] = {};
  r[0].slba = 0;
  r[0].nlb = 8;
  r[1].slba = kNsze - 1;
  r[1].nlb = 2;  // past the end
  Io dsm;
  dsm.op = IoOp::kDeallocate;
  dsm.buf = r;
  dsm.nlb = 1;
  dsm.done = Done;
  EXPECT_EQ(Check(dsm, p, &n), 0);
  dsm.nlb = 2;
  EXPECT_EQ(Check(dsm, p, &n), -ERANGE);
  dsm.nlb = 257;
  EXPECT_EQ(Check(dsm, p, &n), -EINVAL);  // more ranges than NR holds

  Io raw;
  raw.op = IoOp::kRaw;
  raw.done = Done;
  EXPECT_EQ(Check(raw, p, &n), 0);  // no data
  raw.raw.data_len = 4096;
  EXPECT_EQ(Check(raw, p, &n), -EINVAL);  // data without a buffer
  raw.buf = g_buf;
  EXPECT_EQ(Check(raw, p, &n), 0);
  raw.raw.data_len = 8192;
  EXPECT_EQ(Check(raw, p, &n), -E2BIG);  // over the paths' transfer limit
  raw.raw.data_len = 6;
  EXPECT_EQ(Check(raw, p, &n), -EINVAL);  // not a multiple of 4
}

}  // namespace
}  // namespace nvme_mpath::internal
