// File: deadline_list.cc
//
// The binary min-heap of deadlines (see deadline_list.h).
#include "deadline_list.h"

namespace nvme_mpath::internal {

DeadlineList::DeadlineList(uint32_t capacity)
    : capacity_(capacity), heap_(new DeadlineEntry*[capacity == 0 ? 1 : capacity]) {}

void DeadlineList::Push(DeadlineEntry* e, int64_t due_ns) {
  NVME_MPATH_ASSERT_MSG(!e->queued(), "armed twice");
  NVME_MPATH_ASSERT_MSG(size_ < capacity_, "more entries than the list was made for");
  e->due_ns = due_ns;
  e->order = next_order_++;
  Place(e, size_++);
  SiftUp(e->heap_index);
}

void DeadlineList::Remove(DeadlineEntry* e) {
  const uint32_t i = e->heap_index;
  NVME_MPATH_ASSERT_MSG(i < size_ && heap_[i] == e, "not in this list");
  e->heap_index = DeadlineEntry::kNotQueued;
  DeadlineEntry* last = heap_[--size_];
  if (i == size_) return;  // it was the last
  Place(last, i);
  // The moved entry may belong above or below its new place.
  if (i > 0 && Before(last, heap_[(i - 1) / 2])) SiftUp(i); else SiftDown(i);
}

void DeadlineList::Update(DeadlineEntry* e, int64_t due_ns) {
  NVME_MPATH_ASSERT_MSG(e->queued() && heap_[e->heap_index] == e, "not in this list");
  const bool earlier = due_ns < e->due_ns;
  e->due_ns = due_ns;
  if (earlier) SiftUp(e->heap_index); else SiftDown(e->heap_index);
}

DeadlineEntry* DeadlineList::PopDue(int64_t now) {
  if (size_ == 0 || heap_[0]->due_ns > now) return nullptr;
  DeadlineEntry* e = heap_[0];
  Remove(e);
  return e;
}

void DeadlineList::Rekey(absl::FunctionRef<int64_t(const DeadlineEntry&)> due_of) {
  for (uint32_t i = 0; i < size_; ++i) heap_[i]->due_ns = due_of(*heap_[i]);
  for (uint32_t i = size_ / 2; i-- > 0;) SiftDown(i);  // Floyd's heap construction
}

void DeadlineList::SiftUp(uint32_t i) {
  DeadlineEntry* e = heap_[i];
  while (i > 0) {
    const uint32_t parent = (i - 1) / 2;
    if (!Before(e, heap_[parent])) break;
    Place(heap_[parent], i);
    i = parent;
  }
  Place(e, i);
}

void DeadlineList::SiftDown(uint32_t i) {
  DeadlineEntry* e = heap_[i];
  for (;;) {
    uint32_t child = 2 * i + 1;
    if (child >= size_) break;
    if (child + 1 < size_ && Before(heap_[child + 1], heap_[child])) ++child;
    if (!Before(heap_[child], e)) break;
    Place(heap_[child], i);
    i = child;
  }
  Place(e, i);
}

void DeadlineList::CheckInvariants() const {
  for (uint32_t i = 0; i < size_; ++i) {
    NVME_MPATH_ASSERT(heap_[i]->heap_index == i);
    if (i > 0) NVME_MPATH_ASSERT_MSG(!Before(heap_[i], heap_[(i - 1) / 2]), "heap order");
  }
}

}  // namespace nvme_mpath::internal
