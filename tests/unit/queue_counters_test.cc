// What each event a queue counts moves in its path's block.
#include "queue_counters.h"

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

uint64_t Ld(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

// The per-I/O counters reach the block when published, with the gauge the queue gives; the
// histograms move at once. A path is published while it may move (marked).
TEST(QueueCountersTest, CompletedMovesTheLatencyAndPublishSetsTheGauge) {
  PathAccounting acc(nullptr);
  EXPECT_FALSE(acc.marked(1));
  acc.Sent(1);
  acc.Sent(1);
  EXPECT_TRUE(acc.marked(1)) << "to publish";
  acc.PublishInflight(1, 2);
  EXPECT_EQ(Ld(acc.path(1).inflight), 2u);
  acc.Publish(1, 2);
  EXPECT_TRUE(acc.marked(1)) << "commands in flight: its counts still move";
  acc.Completed(1, 3000);  // 3 us
  const PathCounters& pc = acc.path(1);
  EXPECT_EQ(Ld(pc.latency_hist[LatencyBucket(3000)]), 1u);
  EXPECT_EQ(Ld(pc.busy_ns), 0u) << "not published yet";
  acc.Publish(1, 1);
  EXPECT_EQ(Ld(pc.inflight), 1u);
  EXPECT_EQ(Ld(pc.busy_ns), 3000u);
  acc.Publish(1, 0);
  EXPECT_FALSE(acc.marked(1)) << "none in flight: nothing moves until the next Sent()";
  EXPECT_EQ(Ld(pc.inflight), 0u);
  EXPECT_EQ(Ld(pc.busy_ns), 3000u);  // published again: the same totals
  EXPECT_EQ(Ld(acc.path(0).inflight), 0u);
}

TEST(QueueCountersTest, SuccessCountsBytesOfDataTransfersOnly) {
  PathAccounting acc(nullptr);
  acc.Completed(0, 1000);
  acc.Succeeded(0, IoOp::kRead, 8, 512, 0, 5000);
  acc.Succeeded(0, IoOp::kWrite, 2, 512, 0, 5000);
  acc.Succeeded(0, IoOp::kFlush, 0, 512, 0, 5000);
  const PathCounters& pc = acc.path(0);
  EXPECT_EQ(Ld(pc.ios), 0u) << "not published yet";
  acc.Publish(0, 0);
  EXPECT_EQ(Ld(pc.ios), 3u);
  EXPECT_EQ(Ld(pc.bytes), 10u * 512);
  EXPECT_EQ(Ld(pc.reads), 1u);
  EXPECT_EQ(Ld(pc.writes), 1u);
  uint64_t failovers = 0;
  for (const auto& b : pc.failover_hist) failovers += Ld(b);
  EXPECT_EQ(failovers, 0u);
  acc.Succeeded(0, IoOp::kRead, 1, 512, 1000, 9000);  // failed 8 us ago elsewhere
  EXPECT_EQ(Ld(pc.failover_hist[LatencyBucket(8000)]), 1u);
}

// A block of a closed queue (a reused slot of the shared segment) keeps its counts: the new
// queue's are added to them, the gauge included.
TEST(QueueCountersTest, ReusedBlocksKeepTheirCounts) {
  PathCounters blocks[kMaxPaths];
  blocks[2].ios.store(5);
  blocks[2].bytes.store(5 * 4096);
  blocks[2].reads.store(5);
  blocks[2].busy_ns.store(100);
  blocks[2].inflight.store(1);  // left by a queue whose close gave up waiting
  PathAccounting acc(blocks);
  acc.Completed(2, 50);
  acc.Succeeded(2, IoOp::kRead, 1, 4096, 0, 0);
  acc.Publish(2, 3);
  EXPECT_EQ(Ld(blocks[2].ios), 6u);
  EXPECT_EQ(Ld(blocks[2].bytes), 6u * 4096);
  EXPECT_EQ(Ld(blocks[2].reads), 6u);
  EXPECT_EQ(Ld(blocks[2].busy_ns), 150u);
  EXPECT_EQ(Ld(blocks[2].inflight), 4u);
}

TEST(QueueCountersTest, ErrorsRetriesFailoversAndParks) {
  PathAccounting acc(nullptr);
  acc.Failed(2, ErrorClass::kAna);
  acc.Failed(2, ErrorClass::kCancelled);
  acc.Retried(2);
  acc.FailedOver(2);
  acc.Parked(2);
  const PathCounters& pc = acc.path(2);
  EXPECT_EQ(Ld(pc.errors), 2u);
  EXPECT_EQ(Ld(pc.errors_by_class[static_cast<int>(ErrorClass::kAna)]), 1u);
  EXPECT_EQ(Ld(pc.errors_by_class[static_cast<int>(ErrorClass::kCancelled)]), 1u);
  EXPECT_EQ(Ld(pc.retries), 1u);
  EXPECT_EQ(Ld(pc.failovers), 1u);
  EXPECT_EQ(Ld(pc.requeues), 1u);  // a park, by its public name
}

TEST(QueueCountersTest, WritesIntoTheBlocksItIsGiven) {
  PathCounters blocks[kMaxPaths];
  PathAccounting acc(blocks);
  acc.Parked(3);
  EXPECT_EQ(Ld(blocks[3].requeues), 1u);
  EXPECT_EQ(&acc.path(3), &blocks[3]);
}

}  // namespace
}  // namespace nvme_mpath::internal
