// What each event a queue counts moves in its path's block.
#include "queue_counters.h"

#include <vector>

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

uint64_t Ld(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

// The per-I/O counters reach the block when published, with the gauge the queue gives; the
// histograms move at once. A path is published while it may move (marked).
TEST(QueueCountersTest, CompletedMovesTheLatencyAndPublishSetsTheGauge) {
  PathAccounting acc(nullptr, 512);
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
  PathAccounting acc(nullptr, 512);
  acc.Completed(0, 1000);
  acc.Succeeded(0, IoOp::kRead, 8, 0, 5000);
  acc.Succeeded(0, IoOp::kWrite, 2, 0, 5000);
  acc.Succeeded(0, IoOp::kFlush, 0, 0, 5000);
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
  acc.Succeeded(0, IoOp::kRead, 1, 1000, 9000);  // failed 8 us ago elsewhere
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
  PathAccounting acc(blocks, 4096);
  acc.Completed(2, 50);
  acc.Succeeded(2, IoOp::kRead, 1, 0, 0);
  acc.Publish(2, 3);
  EXPECT_EQ(Ld(blocks[2].ios), 6u);
  EXPECT_EQ(Ld(blocks[2].bytes), 6u * 4096);
  EXPECT_EQ(Ld(blocks[2].reads), 6u);
  EXPECT_EQ(Ld(blocks[2].busy_ns), 150u);
  EXPECT_EQ(Ld(blocks[2].inflight), 4u);
}

TEST(QueueCountersTest, ErrorsRetriesFailoversAndParks) {
  PathAccounting acc(nullptr, 512);
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

// LatencyBucket(), the table lookup the hot path uses, is the bucket of the definition
// (LatencyBucketOfUs of the whole microseconds) at every bucket bound, next to it, at every power
// of two and between them, up to the largest latency.
TEST(QueueCountersTest, LatencyBucketIsTheDefinitionsBucket) {
  std::vector<uint64_t> ns = {0, 1, 999, 1000, 1999, 2000, ~uint64_t{0}};
  for (int i = 0; i <= kLatencyBuckets + 1; ++i) {
    const uint64_t bound = uint64_t{1000} << i;
    for (uint64_t d : {uint64_t{0}, uint64_t{1}, uint64_t{2}}) ns.insert(ns.end(), {bound - d, bound + d});
  }
  for (int k = 0; k < 64; ++k) {
    const uint64_t p = uint64_t{1} << k;
    ns.insert(ns.end(), {p - 1, p, p + 1, p + p / 3, p + p / 2});
  }
  for (uint64_t x = 1; x != 0 && x < (uint64_t{1} << 62); x = x * 3 + 7) ns.push_back(x);
  for (const uint64_t n : ns) EXPECT_EQ(LatencyBucket(n), LatencyBucketOfUs(n / 1000)) << n << " ns";
  uint64_t wrong = 0;  // and every latency up to 16.8 ms
  for (uint64_t n = 0; n < (uint64_t{1} << 24); ++n) wrong += LatencyBucket(n) != LatencyBucketOfUs(n / 1000);
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(LatencyBucket(1999), 0);
  EXPECT_EQ(LatencyBucket(2000), 1);  // [2, 4) us
  EXPECT_EQ(LatencyBucket(uint64_t{1000} << 23), kLatencyBuckets - 1);
  EXPECT_EQ(LatencyBucket(~uint64_t{0}), kLatencyBuckets - 1);
}

TEST(QueueCountersTest, WritesIntoTheBlocksItIsGiven) {
  PathCounters blocks[kMaxPaths];
  PathAccounting acc(blocks, 4096);
  acc.Parked(3);
  EXPECT_EQ(Ld(blocks[3].requeues), 1u);
  EXPECT_EQ(&acc.path(3), &blocks[3]);
}

}  // namespace
}  // namespace nvme_mpath::internal
