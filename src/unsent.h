// File: unsent.h
//
// UnsentCommands: the commands a queue has prepared in its transport that the kernel has not
// taken yet, and whether it has stopped taking them. io_uring_enter may take fewer SQEs than
// were queued, or none (-EAGAIN: no memory for requests; -EBUSY: CQ overflow backlog); the rest
// stay prepared and every Flush()/Poll() submits them again, Poll() waiting at most kRetryNs
// meanwhile (reaping is what clears a CQ backlog). When the kernel has taken none of them for
// kStallNs, the queue takes them back and fails them with the errno it gave (error()).
//
// Why 1 s: -EAGAIN means io_uring could not allocate a request and -EBUSY that its CQ overflow
// backlog could not be flushed; both clear within milliseconds once memory is reclaimed or
// completions reaped (done between tries). A full second with no command taken, about 1000
// tries, means the host is out of memory: the application hears of it then, as it would hear of
// a path failure with the recommended cmd_timeout_ms of about 1 s, instead of hanging.
//
// Threading model: belongs to one QueueCore and is used by its thread only.
#ifndef NVME_MPATH_SRC_UNSENT_H_
#define NVME_MPATH_SRC_UNSENT_H_

#include <cerrno>
#include <cstdint>

#include "absl/functional/function_ref.h"

#include "transport.h"

namespace nvme_mpath::internal {

class UnsentCommands {
 public:
  static constexpr int64_t kRetryNs = 1'000'000;
  static constexpr int64_t kStallNs = 1'000'000'000;

  // Commands prepared and not yet taken by the kernel.
  uint32_t count() const { return count_; }

  // One more command prepared.
  void Prepared() { ++count_; }
  // The transport refused the command just counted by Prepared(): one fewer.
  void Unprepared() { --count_; }
  // The transport's Submit() returned `r` at `now`: how many commands the kernel took, or
  // -errno with none taken. -EEXIST (this thread may not use the ring) is not a stall: the
  // commands wait for their thread. Returns true when the kernel refused commands it was
  // offered (a submit failure).
  bool Submitted(int r, int64_t now) {  // inline: once per batch, on the hot path
    if (r > 0) [[likely]] {
      count_ -= static_cast<uint32_t>(r) < count_ ? static_cast<uint32_t>(r) : count_;
      since_ns_ = count_ != 0 ? now : 0;  // progress: any stall starts afresh
      return false;
    }
    return Refused(r, now);
  }
  // `n` of them were taken back from the transport at `now` (to be failed).
  void TakenBack(uint32_t n, int64_t now);
  // Returns true when the kernel has taken none of them for kStallNs by `now`.
  bool Stalled(int64_t now) const {
    return count_ != 0 && since_ns_ != 0 && now - since_ns_ >= kStallNs;
  }
  // The errno to fail stalled commands with: what the kernel last said.
  int error() const { return last_err_ != 0 ? last_err_ : -EAGAIN; }

 private:
  bool Refused(int r, int64_t now);

  uint32_t count_ = 0;
  int64_t since_ns_ = 0;  // since when the kernel has taken none of them (0: no stall)
  int32_t last_err_ = 0;  // what the last refused Submit() returned
};

// Takes every prepared command the kernel has not taken back from `transport` (Transport::
// DropUnsent: it can then never reach a device), calling `dropped` with each one's tag.
void DropAllUnsent(Transport* transport, absl::FunctionRef<void(uint64_t tag)> dropped);

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_UNSENT_H_
