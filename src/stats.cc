// File: stats.cc
//
// The per-path counters' helpers of stats.h: error class names, summing counter blocks into a
// snapshot, and histogram quantiles.
#include <nvme_mpath/stats.h>

namespace nvme_mpath {

const char* ErrorClassName(ErrorClass c) {
  switch (c) {
    case ErrorClass::kAna: return "ana";
    case ErrorClass::kHostPath: return "host_path";
    case ErrorClass::kHostAborted: return "host_aborted";
    case ErrorClass::kCancelled: return "cancelled";
    case ErrorClass::kGone: return "gone";
    case ErrorClass::kOtherPath: return "other_path";
    case ErrorClass::kMedia: return "media";
    case ErrorClass::kOther: return "other";
    case ErrorClass::kCount: break;
  }
  return "?";
}

void PathStatsSnapshot::Accumulate(const PathCounters& c) {
  auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  ios += ld(c.ios);
  bytes += ld(c.bytes);
  reads += ld(c.reads);
  writes += ld(c.writes);
  inflight += ld(c.inflight);
  errors += ld(c.errors);
  retries += ld(c.retries);
  failovers += ld(c.failovers);
  requeues += ld(c.requeues);
  busy_ns += ld(c.busy_ns);
  for (int i = 0; i < kErrorClassCount; ++i) errors_by_class[i] += ld(c.errors_by_class[i]);
  for (int i = 0; i < kLatencyBuckets; ++i) latency_hist[i] += ld(c.latency_hist[i]);
  for (int i = 0; i < kLatencyBuckets; ++i) failover_hist[i] += ld(c.failover_hist[i]);
}

uint64_t HistogramQuantileUs(const uint64_t* hist, double q) {
  uint64_t total = 0;
  for (int i = 0; i < kLatencyBuckets; ++i) total += hist[i];
  if (total == 0) return 0;
  const double want = q * double(total);
  uint64_t seen = 0;
  for (int i = 0; i < kLatencyBuckets; ++i) {
    seen += hist[i];
    if (double(seen) >= want && hist[i] != 0) return uint64_t{2} << i;
  }
  return uint64_t{2} << (kLatencyBuckets - 1);
}

}  // namespace nvme_mpath
