// File: flush_fanout.cc
//
// The pure decisions of a Flush's fan-out over the paths (see flush_fanout.h).
#include "flush_fanout.h"

#include <algorithm>
#include <bit>

#include "debug_assert.h"

namespace nvme_mpath::internal {

FlushPlan PlanFlush(const WriteLedger& ledger, int npaths, uint32_t free_slots) {
  uint64_t completed[kMaxPaths], flushed[kMaxPaths];
  ledger.Read(npaths, completed, flushed);
  uint32_t todo = FlushTargets(completed, flushed, npaths);
  FlushPlan plan;
  plan.commands = std::min<uint32_t>(std::max(std::popcount(todo), 1), free_slots);
  if (plan.commands == 0 || todo == 0) return plan;
  for (uint32_t i = 0; i < plan.commands; ++i) {
    const int p = TakeFlushPath(&todo);
    plan.now |= 1u << p;
    plan.covers[p] = completed[p];
  }
  plan.later = todo;
  return plan;
}

int TakeFlushPath(uint32_t* todo) {
  NVME_MPATH_ASSERT(*todo != 0);
  const int p = std::countr_zero(*todo);
  *todo &= *todo - 1;
  return p;
}

Fragment NextFlushPath(const WriteLedger& ledger, uint32_t* todo, int* path) {
  if (*todo == 0) {
    *path = -1;
    return Fragment{};
  }
  const int p = TakeFlushPath(todo);
  uint64_t completed[kMaxPaths], flushed[kMaxPaths];
  ledger.Read(p + 1, completed, flushed);
  *path = p;
  return FlushFragment(uint32_t(p), completed[p]);
}

bool FlushCompleted(WriteLedger& ledger, const Fragment& f, int path) {
  const uint32_t target = FlushTarget(f);
  if (target == kFlushAnyPath) return false;
  ledger.MarkFlushed(int(target), FlushCovers(f));
  return uint32_t(path) != target;
}

}  // namespace nvme_mpath::internal
