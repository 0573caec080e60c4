// File: deadline_list.h
//
// DeadlineList: every command of a queue that waits for a time, in one list ordered by deadline:
// same-path retries (the CRD delay), write holds, resends (Prep() found no SQE: due at once, for
// the next Poll()), and parked commands (their no-path deadline). The next deadline is the head:
// O(1), so Poll() bounds its wait without a scan.
//
// Why a heap and not a FIFO list per kind: no kind's deadlines are monotonic in the order they
// are armed. A retry waits crdt[crd-1] x 100 ms, which differs per status and per path's
// association (or 1 ms for our own -errno); a write hold is per path; a parked command that
// waits for a path coming back is due at its I/O's deadline, which depends on when its I/O was
// submitted, not when it was parked. So this is an intrusive binary min-heap over the commands
// themselves (each carries its DeadlineEntry: deadline, index in the heap), whose array is
// reserved for the queue's depth at construction: arming and disarming never allocate, and
// cost O(log n), only on the slow paths (a command that failed, or found no path). Entries due at
// the same time come out in the order they were armed (a FIFO tie-break), as from a list.
//
// When the outlook of the paths changes, every parked command's deadline changes with it:
// Rekey() recomputes them all and rebuilds the heap, O(n), once per snapshot change.
//
// Threading model: a list belongs to one QueueCore and is used by its thread only.
#ifndef NVME_MPATH_SRC_DEADLINE_LIST_H_
#define NVME_MPATH_SRC_DEADLINE_LIST_H_

#include <cstdint>
#include <limits>
#include <memory>

#include "absl/functional/function_ref.h"

#include "debug_assert.h"

namespace nvme_mpath::internal {

// What an object needs to wait in a DeadlineList (Cmd derives from it).
struct DeadlineEntry {
  static constexpr uint32_t kNotQueued = ~0u;
  int64_t due_ns = 0;                 // the deadline (monotonic ns)
  uint64_t order = 0;                 // when it was armed: ties are FIFO
  uint32_t heap_index = kNotQueued;   // position in the heap, kNotQueued when not in a list
  bool queued() const { return heap_index != kNotQueued; }
};

class DeadlineList {
 public:
  // Room for `capacity` entries at once, allocated here, once.
  explicit DeadlineList(uint32_t capacity);
  DeadlineList(const DeadlineList&) = delete;
  DeadlineList& operator=(const DeadlineList&) = delete;

  bool empty() const { return size_ == 0; }
  uint32_t size() const { return size_; }
  // Returns the earliest deadline, or the largest int64_t when the list is empty.
  int64_t next_ns() const {
    return size_ == 0 ? std::numeric_limits<int64_t>::max() : heap_[0]->due_ns;
  }

  // Arms `e` (not in a list) for `due_ns`.
  void Push(DeadlineEntry* e, int64_t due_ns);
  // Disarms `e` (in this list).
  void Remove(DeadlineEntry* e);
  // Moves `e`'s deadline (in this list) to `due_ns`, keeping its place among equal deadlines.
  void Update(DeadlineEntry* e, int64_t due_ns);
  // Takes out and returns the earliest entry when it is due by `now`, else returns null.
  DeadlineEntry* PopDue(int64_t now);
  // Sets every entry's deadline to `due_of(entry)` and restores the order.
  void Rekey(absl::FunctionRef<int64_t(const DeadlineEntry&)> due_of);

  // The entries in heap order (not sorted), for scans that change no deadline.
  DeadlineEntry* const* begin() const { return heap_.get(); }
  DeadlineEntry* const* end() const { return heap_.get() + size_; }

  // Checks the heap order and every entry's index (builds with assertions; O(n), for tests).
  void CheckInvariants() const;

 private:
  static bool Before(const DeadlineEntry* a, const DeadlineEntry* b) {
    return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->order < b->order);
  }
  void Place(DeadlineEntry* e, uint32_t i) {
    heap_[i] = e;
    e->heap_index = i;
  }
  void SiftUp(uint32_t i);
  void SiftDown(uint32_t i);

  const uint32_t capacity_;
  std::unique_ptr<DeadlineEntry*[]> heap_;
  uint32_t size_ = 0;
  uint64_t next_order_ = 0;
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_DEADLINE_LIST_H_
