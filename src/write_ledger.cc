// File: write_ledger.cc
//
// The per-path count of completed writes and of what flushes cover (see write_ledger.h).
#include "write_ledger.h"

#include <bit>

#include "debug_assert.h"

namespace nvme_mpath::internal {

uint32_t FlushTargets(const uint64_t* completed, const uint64_t* flushed, int npaths) {
  uint32_t mask = 0;
  for (int p = 0; p < npaths; ++p)
    if (completed[p] > flushed[p]) mask |= 1u << p;
  return mask;
}

WriteLedger::Writer WriteLedger::Acquire() {
  uint64_t taken = taken_.load(std::memory_order_relaxed);
  while (taken != ~uint64_t{0}) {
    const int i = std::countr_one(taken);
    if (taken_.compare_exchange_weak(taken, taken | uint64_t{1} << i, std::memory_order_acquire))
      return Writer{&rows_[i], false, i};
  }
  return Writer{&rows_[kRows], true, kRows};
}

void WriteLedger::Release(const Writer& w) {
  if (w.row == nullptr || w.shared) return;
  NVME_MPATH_ASSERT(w.index >= 0 && w.index < kRows);
  // Release: the row's counts, written by this queue, are seen by the next queue that takes it.
  taken_.fetch_and(~(uint64_t{1} << w.index), std::memory_order_release);
}

void WriteLedger::Read(int npaths, uint64_t* completed, uint64_t* flushed) const {
  for (int p = 0; p < npaths; ++p) {
    uint64_t sum = 0;
    for (const Row& r : rows_) sum += r.completed[p].load(std::memory_order_relaxed);
    completed[p] = sum;
    flushed[p] = flushed_[p].load(std::memory_order_relaxed);
  }
}

void WriteLedger::MarkFlushed(int path, uint64_t covers) {
  uint64_t cur = flushed_[path].load(std::memory_order_relaxed);
  while (cur < covers &&
         !flushed_[path].compare_exchange_weak(cur, covers, std::memory_order_relaxed)) {
  }
}

}  // namespace nvme_mpath::internal
