// File: queue_counters.h
//
// What a queue counts: QueueCounters, the few counters of the queue itself, and PathAccounting,
// its counter block per path (PathCounters, stats.h), which the engine publishes in shared
// memory for nvme-mpath-ctl. PathAccounting names each event the queue counts (a command sent,
// completed, failed, retried, failed over, parked) and knows which fields each one moves, so
// that the queue says what happened, not which counter to add to.
//
// Threading model: a queue's blocks have one writer, the queue's thread. The counters every I/O
// moves (ios, bytes, reads, writes, busy_ns, and the in-flight gauge, which the queue's path
// snapshot already keeps for the policy) are kept in plain private totals (bytes as LBAs, turned
// into bytes when published) and published to
// the block once per batch: at the end of each Poll() (and the gauge at the end of Flush()),
// and at Close(), for the paths that had commands in flight since the last publish (Publish()).
// The others (the latency and failover histograms, errors, retries, failovers, requeues) are
// updated in the block as they happen. Every update of the block is a relaxed store (a relaxed
// load and store for an increment, PathCounters::Add): no locked instruction. Readers (the stats
// publisher, nvme-mpath-ctl through shared memory) sum the blocks with relaxed loads; what they
// see is up to one batch late, and a read that misses the latest update is harmless.
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
  // this), or is null for private ones; `lba_size` is the data bytes of one LBA (bytes counts
  // data only). A block may come from a closed queue (a reused slot of the shared segment): its
  // counts stay in it, and this queue's are added to them.
  PathAccounting(PathCounters* blocks, uint32_t lba_size);
  PathAccounting(const PathAccounting&) = delete;
  PathAccounting& operator=(const PathAccounting&) = delete;

  // Path `p`'s block: as of the last Publish().
  const PathCounters& path(int p) const { return *paths_[p].block; }

  // A command in flight on `p` completed after `latency_ns`, however it ended: its latency in
  // the busy time and the histogram. (The in-flight gauge is the snapshot's: Publish().)
  void Completed(int p, uint64_t latency_ns) {
    Path& t = paths_[p];
    t.busy_ns += latency_ns;
    PathCounters::Add(t.block->latency_hist[LatencyBucket(latency_ns)], 1);
  }
  // A command of `op` moving `nlb` LBAs succeeded at `now` on path `p` (it also Completed());
  // `first_fail_ns`, when not 0, is when it first failed on another path. (Per I/O: the LBAs
  // are turned into bytes when published.)
  void Succeeded(int p, IoOp op, uint32_t nlb, int64_t first_fail_ns, int64_t now) {
    Path& t = paths_[p];
    ++t.ios;
    if (op == IoOp::kRead || op == IoOp::kWrite || op == IoOp::kCompare) {
      t.lbas += nlb;
      ++(op == IoOp::kWrite ? t.writes : t.reads);  // a compare reads
    }
    if (first_fail_ns != 0) [[unlikely]]
      PathCounters::Add(t.block->failover_hist[LatencyBucket(static_cast<uint64_t>(now - first_fail_ns))], 1);
  }
  // An error completion on `p`, of class `cls`.
  void Failed(int p, ErrorClass cls) {
    PathCounters& pc = *paths_[p].block;
    PathCounters::Add(pc.errors, 1);
    PathCounters::Add(pc.errors_by_class[static_cast<int>(cls)], 1);
  }
  void Retried(int p) { PathCounters::Add(paths_[p].block->retries, 1); }
  void FailedOver(int p) { PathCounters::Add(paths_[p].block->failovers, 1); }
  // A command found no usable path after `p`: its public name is `requeues` (the kernel's
  // requeue list; stats.h, the ctl's JSON).
  void Parked(int p) { PathCounters::Add(paths_[p].block->requeues, 1); }

  // A command is prepared on path `p`: the path is marked for publishing (marked()). Its counts
  // move only through commands in flight on it, so it stays marked until a Publish() finds none
  // there. (One byte store per I/O: the publishes of a batch then skip the idle paths.)
  void Sent(int p) { marked_[p] = true; }
  bool marked(int p) const { return marked_[p]; }

  // Stores path `p`'s private totals in its block, with `inflight`, the queue's commands in
  // flight on `p` now (PathSnapshot::inflight(): counted there for the policy, so not twice).
  // Once per batch, for each marked path: two loads and stores per counter.
  void Publish(int p, uint32_t inflight) {
    const Path& t = paths_[p];
    PathCounters& pc = *t.block;
    pc.ios.store(t.ios, std::memory_order_relaxed);
    pc.bytes.store(t.bytes_base + t.lbas * lba_size_, std::memory_order_relaxed);
    pc.reads.store(t.reads, std::memory_order_relaxed);
    pc.writes.store(t.writes, std::memory_order_relaxed);
    pc.busy_ns.store(t.busy_ns, std::memory_order_relaxed);
    pc.inflight.store(t.inflight_base + inflight, std::memory_order_relaxed);
    marked_[p] = inflight != 0;
  }
  // Publish() of the gauge alone: what Submit() moves (Flush(); no completion since Poll()).
  void PublishInflight(int p, uint32_t inflight) {
    paths_[p].block->inflight.store(paths_[p].inflight_base + inflight, std::memory_order_relaxed);
  }

 private:
  // Per path: its block, and the block's counts that the queue keeps privately (Publish), from
  // the block's own at start. One cache line, so that a path's entry is one shift from its
  // index (the block is reached through the pointer: no multiply by its size per I/O).
  struct alignas(64) Path {
    PathCounters* block = nullptr;
    uint64_t ios = 0, reads = 0, writes = 0, busy_ns = 0;
    uint64_t bytes_base = 0;     // the block's bytes at start
    uint64_t lbas = 0;           // LBAs this queue moved since (bytes: times lba_size_)
    uint64_t inflight_base = 0;  // the block's gauge at start: commands a closed queue left
  };
  static_assert(sizeof(Path) == 64);

  uint64_t lba_size_;

  std::unique_ptr<PathCounters[]> own_;
  std::array<Path, kMaxPaths> paths_{};
  std::array<bool, kMaxPaths> marked_{};  // Sent(): to publish
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_QUEUE_COUNTERS_H_
