// File: queue_counters.cc
//
// A queue's counter blocks (see queue_counters.h).
#include "queue_counters.h"

namespace nvme_mpath::internal {

PathAccounting::PathAccounting(PathCounters* blocks) {
  if (blocks == nullptr) {
    own_ = std::make_unique<PathCounters[]>(kMaxPaths);
    blocks = own_.get();
  }
  for (int i = 0; i < kMaxPaths; ++i) blocks_[i] = &blocks[i];
}

}  // namespace nvme_mpath::internal
