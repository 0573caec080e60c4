// File: nvme_mpath/stats.h
//
// Per-path I/O counters. Each Queue owns one PathCounters block per path and is its only writer;
// readers (Engine::Stats(), nvme-mpath-ctl in another process through shared memory) read the
// blocks with relaxed loads and sum them over queues.
//
// Threading model: single writer per block (the owning queue's thread) using relaxed load+store
// (no locked instruction on the hot path); any number of readers. A reader may see counters of
// one I/O partially updated (ios incremented, bytes not yet): harmless for monitoring, and every
// counter is monotonic except `inflight`. The counters every I/O moves (ios, bytes, reads,
// writes, inflight, busy_ns) are kept privately by the queue and stored in its block once per
// batch, when its Poll() or Flush() returns (and when it closes): what a reader sees of them is
// up to one batch late, and a callback running inside Poll() sees them as of the Poll() before.
// The histograms, errors, retries, failovers and requeues are stored as they happen.
#ifndef NVME_MPATH_STATS_H_
#define NVME_MPATH_STATS_H_

#include <atomic>
#include <cstdint>
#include <string>

namespace nvme_mpath {

// Error classes counted per path (what the path returned, before any retry).
enum class ErrorClass : uint8_t {
  kAna = 0,       // 0x301/0x302/0x303
  kHostPath,      // 0x370 host path error (controller not live)
  kHostAborted,   // 0x371 aborted by host (command timeout)
  kCancelled,     // -EINTR/-ECANCELED, 0x008: cancelled or aborted by a controller reset
  kGone,          // -ENODEV/-ENXIO: controller deleted
  kOtherPath,     // other SCT 3, 0x022 and transport errors (-EIO, -ETIMEDOUT, -EBADF, ...)
  kMedia,         // SCT 2
  kOther,         // anything else (command errors, other errno)
  kCount
};
inline constexpr int kErrorClassCount = static_cast<int>(ErrorClass::kCount);
const char* ErrorClassName(ErrorClass c);  // "ana", "host_path", ...

// Latency histogram: bucket i counts completions with latency in [2^i, 2^(i+1)) microseconds
// (bucket 0 also takes < 1 us; the last bucket takes everything above).
inline constexpr int kLatencyBuckets = 24;

struct PathCounters {
  std::atomic<uint64_t> ios{0};         // commands completed successfully on this path
  std::atomic<uint64_t> bytes{0};       // data bytes of those commands
  std::atomic<uint64_t> reads{0};       // of those, reads and compares
  std::atomic<uint64_t> writes{0};      // of those, writes
  std::atomic<uint64_t> inflight{0};    // gauge: commands in the kernel on this path now
  std::atomic<uint64_t> errors{0};      // error completions from this path (all classes)
  std::atomic<uint64_t> retries{0};     // same-path retries
  std::atomic<uint64_t> failovers{0};   // commands moved away from this path after an error
  std::atomic<uint64_t> requeues{0};    // commands parked while this was their last path
  std::atomic<uint64_t> busy_ns{0};     // sum of command latencies on this path
  std::atomic<uint64_t> errors_by_class[kErrorClassCount] = {};
  std::atomic<uint64_t> latency_hist[kLatencyBuckets] = {};
  // Commands that completed here after failing on another path: time from the first failing
  // completion to this good one (same buckets as latency_hist).
  std::atomic<uint64_t> failover_hist[kLatencyBuckets] = {};

  // Single-writer increment: relaxed load + store, no lock prefix.
  static void Add(std::atomic<uint64_t>& c, uint64_t v) {
    c.store(c.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
  }
};

// A plain copy of the counters of one path, summed over queues.
struct PathStatsSnapshot {
  int path = 0;
  uint64_t ios = 0, bytes = 0, reads = 0, writes = 0, inflight = 0, errors = 0, retries = 0,
           failovers = 0, requeues = 0, busy_ns = 0;
  uint64_t errors_by_class[kErrorClassCount] = {};
  uint64_t latency_hist[kLatencyBuckets] = {};
  uint64_t failover_hist[kLatencyBuckets] = {};
  // From the control plane, not the queues: how often the path's ANA change outlasted ANATT.
  uint64_t anatt_exceeded = 0;

  // Adds a live block into this snapshot.
  void Accumulate(const PathCounters& c);
};

// Returns the upper bound in microseconds of the bucket holding the q-quantile (0..1) of a
// histogram, or 0 when it is empty.
uint64_t HistogramQuantileUs(const uint64_t* hist, double q);

// Returns the histogram bucket of a latency in microseconds, by its definition above: the
// reference LatencyBucket() is checked against (tests/unit/queue_counters_test.cc).
constexpr int LatencyBucketOfUs(uint64_t us) {
  const int b = 63 - __builtin_clzll(us | 1);  // | 1: < 1 us lands in bucket 0
  return b < kLatencyBuckets ? b : kLatencyBuckets - 1;
}

namespace latency_bucket_internal {
// LatencyBucket() without the division by 1000: a latency of n ns, with k its highest set bit
// (n in [2^k, 2^(k+1))), is in bucket base[k], or the next one past last[k] ns. Exact,
// because a bucket's lower bound of 1000 * 2^i ns lies in (2^(i+9), 2^(i+10)): at most one
// bound falls in each [2^k, 2^(k+1)). Built from LatencyBucketOfUs() itself.
struct Table {
  uint8_t base[64];
  uint64_t last[64];  // the last n in [2^k, 2^(k+1)) of bucket base[k]
};
constexpr Table MakeTable() {
  Table t{};
  for (int k = 0; k < 64; ++k) {
    const uint64_t lo = uint64_t{1} << k;
    const uint64_t hi = k == 63 ? ~uint64_t{0} : (lo << 1) - 1;  // the range's last n
    const int b = LatencyBucketOfUs(lo / 1000);
    t.base[k] = static_cast<uint8_t>(b);
    // Up to the next bucket's bound, 1000 * 2^(b+1) ns, when it is inside the range (above).
    t.last[k] = LatencyBucketOfUs(hi / 1000) != b ? (uint64_t{1000} << (b + 1)) - 1 : hi;
  }
  return t;
}
inline constexpr Table kTable = MakeTable();
}  // namespace latency_bucket_internal

// Returns the histogram bucket of a latency in nanoseconds (LatencyBucketOfUs(ns / 1000)):
// per I/O, so with a table lookup in place of the division.
inline int LatencyBucket(uint64_t ns) {
  const unsigned k = 63 ^ __builtin_clzll(ns | 1);  // 63 - clz, as one bsr
  return latency_bucket_internal::kTable.base[k] + (ns > latency_bucket_internal::kTable.last[k]);
}

}  // namespace nvme_mpath

#endif  // NVME_MPATH_STATS_H_
