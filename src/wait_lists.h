// File: wait_lists.h
//
// WaitLists: where a queue's commands wait outside the kernel. A parked command (no usable path)
// is in the parked FIFO, so that it is dispatched again oldest first when a path comes back, and
// in the DeadlineList (deadline_list.h) with its no-path deadline; a delayed one (a retry, a
// write hold, a resend) only in the DeadlineList. This class keeps the two consistent, counts
// the write holds, and hands back what is due in deadline order. It does not change a command's
// state: the queue does that through the CommandPool, before it parks or delays a command and
// after it takes one out.
//
// Threading model: the lists belong to one QueueCore and are used by its thread only.
#ifndef NVME_MPATH_SRC_WAIT_LISTS_H_
#define NVME_MPATH_SRC_WAIT_LISTS_H_

#include <cstdint>

#include "absl/functional/function_ref.h"

#include "command_pool.h"
#include "deadline_list.h"

namespace nvme_mpath::internal {

class WaitLists {
 public:
  // Room for `depth` commands (allocated here, once).
  explicit WaitLists(uint32_t depth) : deadlines_(depth) {}

  bool empty() const { return deadlines_.empty(); }
  uint32_t parked() const { return parked_.size; }
  uint32_t delayed() const { return deadlines_.size() - parked_.size; }
  uint32_t holds() const { return holds_; }
  // The earliest deadline of all, O(1); the largest int64_t when nothing waits.
  int64_t next_ns() const { return deadlines_.next_ns(); }

  // Adds a parked command (state kParked) that fails at `deadline_ns` unless a path comes back.
  void Park(Cmd* c, int64_t deadline_ns);
  // Adds a delayed command (state kDelayed, delay_kind set), due at `due_ns`.
  void Delay(Cmd* c, int64_t due_ns);
  // Takes `c` (parked or delayed) out of every list it is in.
  void Remove(Cmd* c);
  // Takes every parked command out, oldest first (linked through Cmd::next).
  CmdList TakeParked();
  // Takes every command due by `now` out, in deadline order: the delayed ones into `ready`, the
  // parked ones into `expired`.
  void TakeDue(int64_t now, CmdList* ready, CmdList* expired);
  // Sets every parked command's deadline to `deadline_of(command)` (the paths' outlook changed).
  void RekeyParked(absl::FunctionRef<int64_t(const Cmd&)> deadline_of);
  // Makes every write hold for which `ended(command)` is true due at `now`.
  void EndHolds(int64_t now, absl::FunctionRef<bool(const Cmd&)> ended);

 private:
  CmdList parked_;
  DeadlineList deadlines_;
  uint32_t holds_ = 0;  // delayed commands in a write hold
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_WAIT_LISTS_H_
