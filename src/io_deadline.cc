// File: io_deadline.cc
//
// IoDeadline::Scan(): the pass over a queue's slots once the earliest I/O deadline has passed.
#include "io_deadline.h"

#include <algorithm>

namespace nvme_mpath::internal {

void IoDeadline::Scan(CommandPool& pool, int64_t now, absl::FunctionRef<void(Cmd*)> expire) {
  NVME_MPATH_ASSERT(timeout_ns_ > 0 && now >= next_ns_);
  int64_t next = now + timeout_ns_;  // an I/O submitted from now on expires after this
  for (Cmd& c : pool) {
    if (c.state == CmdState::kFree || c.state == CmdState::kOrphaned ||
        c.state == CmdState::kTaken)
      continue;
    const int64_t due = c.io->priv.submit_ns + timeout_ns_;
    if (due > now) {
      next = std::min(next, due);
      continue;
    }
    expire(&c);
  }
  next_ns_ = next;
}

}  // namespace nvme_mpath::internal
