// File: queue_counters.cc
//
// A queue's counter blocks (see queue_counters.h).
#include "queue_counters.h"

namespace nvme_mpath::internal {

PathAccounting::PathAccounting(PathCounters* blocks, uint32_t lba_size) : lba_size_(lba_size) {
  if (blocks == nullptr) {
    own_ = std::make_unique<PathCounters[]>(kMaxPaths);
    blocks = own_.get();
  }
  for (int i = 0; i < kMaxPaths; ++i) {
    const PathCounters& pc = blocks[i];
    paths_[i] = Path{&blocks[i],
                     pc.ios.load(std::memory_order_relaxed),
                     pc.reads.load(std::memory_order_relaxed),
                     pc.writes.load(std::memory_order_relaxed),
                     pc.busy_ns.load(std::memory_order_relaxed),
                     pc.bytes.load(std::memory_order_relaxed),
                     0,
                     pc.inflight.load(std::memory_order_relaxed)};
  }
}

}  // namespace nvme_mpath::internal
