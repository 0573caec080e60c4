// File: io_deadline.h
//
// IoDeadline: the I/O deadline, QueueConfig::io_timeout_ns after an I/O was submitted, for every
// command of the I/O wherever it is, even when the kernel never answers. The queue's Poll() waits
// no longer than next_ns() and, once it has passed, calls Scan(): one pass over the command
// slots finds the expired commands and the next deadline. With steady I/O the pass runs about
// once per io_timeout (the oldest I/O is young), so the deadline costs nothing per I/O.
//
// What the queue does with an expired command (the callback of Scan()):
//   parked or delayed (retry, write hold, resend): not in the kernel; it fails with -ETIMEDOUT.
//   in flight: the kernel has it (or is about to take it) and cannot be made to drop it. The
//     I/O completes now with -ETIMEDOUT and the command is never resent, so a write that may
//     still execute is not written twice (the write hold rule: nothing resends it). Its slot
//     stays taken, its tag reserved (CommandPool::Orphan), until the kernel's completion comes,
//     which is then dropped and counted (late_completions). Until then the kernel may still use
//     the I/O's buffer.
//
// Threading model: belongs to one QueueCore and is used by its thread only.
#ifndef NVME_MPATH_SRC_IO_DEADLINE_H_
#define NVME_MPATH_SRC_IO_DEADLINE_H_

#include <cstdint>
#include <limits>

#include <nvme_mpath/io.h>

#include "absl/functional/function_ref.h"

#include "command_pool.h"

namespace nvme_mpath::internal {

class IoDeadline {
 public:
  static constexpr int64_t kNone = std::numeric_limits<int64_t>::max();  // no deadline

  // `timeout_ns` 0: no deadline. Every I/O is submitted from `now` on, so none has a deadline
  // before now + timeout_ns.
  IoDeadline(int64_t timeout_ns, int64_t now)
      : timeout_ns_(timeout_ns), next_ns_(timeout_ns > 0 ? now + timeout_ns : kNone) {}

  // Returns true when `io` is out of time at `now`.
  bool Expired(const Io& io, int64_t now) const {
    return timeout_ns_ != 0 && now - io.priv.submit_ns >= timeout_ns_;
  }
  // No I/O's deadline comes before this; kNone when there is no deadline.
  int64_t next_ns() const { return next_ns_; }
  // Returns true when the earliest deadline may have passed by `now`: time for Scan().
  bool Due(int64_t now) const { return now >= next_ns_; }

  // Calls `expire` for every command of `pool` in flight, parked or delayed whose I/O is out of
  // time at `now`, in slot order, and sets next_ns() to the earliest deadline of the others (or
  // of an I/O submitted from `now` on). Free and orphaned slots are skipped, and so are taken
  // ones: held by a caller further up (a callback that polls from inside a timer pass), which
  // checks the deadline itself. `expire` may complete I/Os, whose callbacks may submit: a
  // command taken then is not expired (its I/O is new).
  void Scan(CommandPool& pool, int64_t now, absl::FunctionRef<void(Cmd*)> expire);

 private:
  const int64_t timeout_ns_;
  int64_t next_ns_;
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_IO_DEADLINE_H_
