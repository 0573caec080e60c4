// What each event a queue counts moves in its path's block.
#include "queue_counters.h"

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

uint64_t Ld(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

TEST(QueueCountersTest, SentThenCompletedMovesTheGaugeAndTheLatency) {
  PathAccounting acc(nullptr);
  acc.Sent(1);
  acc.Sent(1);
  EXPECT_EQ(Ld(acc.path(1).inflight), 2u);
  PathCounters& pc = acc.Completed(1, 3000);  // 3 us
  EXPECT_EQ(&pc, &acc.path(1));
  EXPECT_EQ(Ld(pc.inflight), 1u);
  EXPECT_EQ(Ld(pc.busy_ns), 3000u);
  EXPECT_EQ(Ld(pc.latency_hist[LatencyBucket(3000)]), 1u);
  acc.Dropped(1);
  EXPECT_EQ(Ld(pc.inflight), 0u);
  EXPECT_EQ(Ld(pc.busy_ns), 3000u);  // dropped: no latency
  EXPECT_EQ(Ld(acc.path(0).inflight), 0u);
}

TEST(QueueCountersTest, SuccessCountsBytesOfDataTransfersOnly) {
  PathAccounting acc(nullptr);
  PathCounters& pc = acc.Completed((acc.Sent(0), 0), 1000);
  PathAccounting::Succeeded(pc, IoOp::kRead, 8, 512, 0, 5000);
  PathAccounting::Succeeded(pc, IoOp::kWrite, 2, 512, 0, 5000);
  PathAccounting::Succeeded(pc, IoOp::kFlush, 0, 512, 0, 5000);
  EXPECT_EQ(Ld(pc.ios), 3u);
  EXPECT_EQ(Ld(pc.bytes), 10u * 512);
  EXPECT_EQ(Ld(pc.reads), 1u);
  EXPECT_EQ(Ld(pc.writes), 1u);
  uint64_t failovers = 0;
  for (const auto& b : pc.failover_hist) failovers += Ld(b);
  EXPECT_EQ(failovers, 0u);
  PathAccounting::Succeeded(pc, IoOp::kRead, 1, 512, 1000, 9000);  // failed 8 us ago elsewhere
  EXPECT_EQ(Ld(pc.failover_hist[LatencyBucket(8000)]), 1u);
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
