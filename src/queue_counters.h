// File: queue_counters.h
//
// What a queue counts: QueueCounters, the few counters of the queue itself, and PathAccounting,
// its counter block per path (PathCounters, stats.h), which the engine publishes in shared
// memory for nvme-mpath-ctl. PathAccounting names each event the queue counts (a command sent,
// completed, failed, retried, failed over, parked) and knows which fields each one moves, so
// that the queue says what happened, not which counter to add to.
//
// Threading model: a queue's blocks have one writer, the queue's thread: every update is a
// relaxed load and store (PathCounters::Add), no locked instruction. Readers (the stats
// publisher, nvme-mpath-ctl through shared memory) sum them with relaxed loads; a read that
// misses the latest update is harmless.
#ifndef NVME_MPATH_SRC_QUEUE_COUNTERS_H_
#define NVME_MPATH_SRC_QUEUE_COUNTERS_H_

#include <array>
#include <cstdint>
#include <memory>

#include <nvme_mpath/io.h>
#include <nvme_mpath/stats.h>

#include "debug_assert.h"
#include "transport.h"

namespace nvme_mpath::internal {

// Counters of one queue that are not per path.
struct QueueCounters {
  uint64_t stale_completions = 0;  // completions whose tag matched no waiting attempt
  // Path errors of commands that went down an association the path no longer has (its fd was
  // reopened since): handled, but not reported against the new association.
  uint64_t old_association_errors = 0;
  uint64_t parked_expired = 0;     // I/Os failed after the no-path timeout
  uint64_t sq_full = 0;
  uint64_t submit_failures = 0;    // transport Submit() calls that left commands unsent
  uint64_t unsent_failed = 0;      // commands failed because the kernel would not take them
  uint64_t timed_out = 0;          // commands failed at the I/O deadline while in the kernel
  uint64_t late_completions = 0;   // completions of those, dropped when they came
  // Flush commands for one path's writes that completed on another path (the first was not
  // usable or failed the flush): docs/durability.md.
  uint64_t flush_redirected = 0;
};

class PathAccounting {
 public:
  // `blocks` holds kMaxPaths blocks (engine-owned, may live in shared memory and must outlive
  // this), or is null for private ones.
  explicit PathAccounting(PathCounters* blocks);
  PathAccounting(const PathAccounting&) = delete;
  PathAccounting& operator=(const PathAccounting&) = delete;

  const PathCounters& path(int p) const { return *blocks_[p]; }

  // A command was prepared on path `p`: one more in flight there.
  void Sent(int p) { PathCounters::Add(blocks_[p]->inflight, 1); }
  // A command in flight on `p` completed after `latency_ns`, however it ended: one fewer in
  // flight, its latency in the busy time and the histogram. Returns the path's block.
  PathCounters& Completed(int p, uint64_t latency_ns) {
    PathCounters& pc = *blocks_[p];
    Dec(pc.inflight);
    PathCounters::Add(pc.busy_ns, latency_ns);
    PathCounters::Add(pc.latency_hist[LatencyBucket(latency_ns)], 1);
    return pc;
  }
  // A command in flight on `p` left it without completing (taken back unsent, or abandoned at
  // close): one fewer in flight.
  void Dropped(int p) { Dec(blocks_[p]->inflight); }
  // A command of `op` moving `nlb` LBAs of `lba_size` bytes succeeded at `now` on the path of
  // block `pc` (from Completed()); `first_fail_ns`, when not 0, is when it first failed on
  // another path. (The products are formed only where they are counted: this is per I/O.)
  static void Succeeded(PathCounters& pc, IoOp op, uint32_t nlb, uint32_t lba_size,
                        int64_t first_fail_ns, int64_t now) {
    PathCounters::Add(pc.ios, 1);
    if (op == IoOp::kRead || op == IoOp::kWrite || op == IoOp::kCompare) {
      PathCounters::Add(pc.bytes, uint64_t{nlb} * lba_size);
      PathCounters::Add(op == IoOp::kWrite ? pc.writes : pc.reads, 1);  // a compare reads
    }
    if (first_fail_ns != 0) [[unlikely]]
      PathCounters::Add(pc.failover_hist[LatencyBucket(static_cast<uint64_t>(now - first_fail_ns))], 1);
  }
  // An error completion on `p`, of class `cls`.
  void Failed(int p, ErrorClass cls) {
    PathCounters& pc = *blocks_[p];
    PathCounters::Add(pc.errors, 1);
    PathCounters::Add(pc.errors_by_class[static_cast<int>(cls)], 1);
  }
  void Retried(int p) { PathCounters::Add(blocks_[p]->retries, 1); }
  void FailedOver(int p) { PathCounters::Add(blocks_[p]->failovers, 1); }
  // A command found no usable path after `p`: its public name is `requeues` (the kernel's
  // requeue list; stats.h, the ctl's JSON).
  void Parked(int p) { PathCounters::Add(blocks_[p]->requeues, 1); }

 private:
  static void Dec(std::atomic<uint64_t>& c) {
    NVME_MPATH_ASSERT(c.load(std::memory_order_relaxed) != 0);
    c.store(c.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  }

  std::unique_ptr<PathCounters[]> own_;
  std::array<PathCounters*, kMaxPaths> blocks_;  // one pointer per path: no multiply per I/O
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_QUEUE_COUNTERS_H_
