// File: uring_transport.h
//
// UringTransport: the real Transport. One io_uring per queue, set up with SQE128|CQE32, sending
// NVMe commands as IORING_OP_URING_CMD / NVME_URING_CMD_IO on registered files (one slot per
// path), optionally on registered (fixed) buffers.
//
// Threading model: owned by one queue and used by one thread at a time. The default ring is
// SINGLE_ISSUER|DEFER_TASKRUN (when the kernel has them): the kernel then lets exactly one task
// submit, wait and register (any other gets -EEXIST), and posts completions only when that task
// enters the kernel with GETEVENTS: Submit() asks for that in its own system call
// (io_uring_submit_and_get_events), and Reap() enters once when the ring has nothing, by its wait
// or, when it may not wait, by io_uring_get_events. So that the queue's thread, not
// the thread that created it, is that task, the ring is created disabled (R_DISABLED, with its
// file table and buffers registered, which a disabled ring allows from any thread) and enabled
// by the first Submit() or Reap(): IORING_REGISTER_ENABLE_RINGS binds a SINGLE_ISSUER ring to
// the task that enables it, for the ring's life.
//
// Moving a bound ring to another thread: when the kernel holds none of its commands (every one
// sent has been reaped), the first Submit()/Reap()/SetFile() from the new thread replaces the
// ring with a "plain" one (no SINGLE_ISSUER, no DEFER_TASKRUN, no COOP_TASKRUN: the kernel then
// interrupts whichever thread submitted a command to post its completion, so it completes
// whatever thread waits) and keeps that ring for good: a queue that moved once may move again.
// Files are installed again (each fd checked to still be the same file, else left empty for the
// queue to install afresh), buffers registered again, and prepared commands carried over in
// order. event_fd() then changes. When the kernel still holds commands of the bound ring, they
// can only be completed by the bound thread (with DEFER_TASKRUN their completions run as that
// task's work): the new thread gets -EEXIST from Submit() and Reap() (and an error from
// SetFile()), with one warning, until the bound thread reaps them.
//
// SQE ownership: a command keeps its own SQE from Prep() until its completion is reaped, and no
// other command is written there in between. liburing hands out SQEs in ring order, so an SQE
// would be rewritten once `entries` later commands were prepared, whether or not the kernel was
// done with it; and some kernels read a uring_cmd's SQE again after the submit call returned.
// On 6.12 (io_uring/uring_cmd.c, "defer memcpy until we need it"), a command whose first issue
// returns -EAGAIN (no request free, or the queue frozen by a controller reset) is copied to
// async data but still points at the ring's SQE, and io-wq issues it from there later: with the
// SQE already reused, it runs another command's LBA and buffer. The lab saw exactly that (reads
// that succeeded with another block's data; see docs/kernels.md). So the transport keeps its own
// pool of SQE indices: Prep() takes a free one and points the next SQ ring entry at it through
// the SQ array (liburing 2.3 fills that array with the identity once, at setup, and never writes
// it again), the kernel's user_data is that index, and Reap() maps it back to the caller's tag
// and frees the index. A Prep() with no free index returns -EBUSY like a full ring.
//
// Polled I/O (UringOptions::iopoll, IORING_SETUP_IOPOLL): the kernel posts a completion only
// when the ring is polled, and io_uring_enter() ignores its timeout on such a ring (it spins
// until `min_complete` or a reschedule). So Reap() polls without a minimum
// (IORING_ENTER_GETEVENTS, one pass over the ring's commands) in a loop of its own, until
// `min` completions came or `wait_ns` (CLOCK_MONOTONIC) passed: a command that never completes
// (a silent path) cannot hold the queue's timers. The ring fd then signals nothing useful:
// event_fd() is -1.
#ifndef NVME_MPATH_SRC_URING_TRANSPORT_H_
#define NVME_MPATH_SRC_URING_TRANSPORT_H_

#include <liburing.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "transport.h"

namespace nvme_mpath::internal {

struct UringOptions {
  uint32_t entries = 128;       // SQ size (a power of two >= the queue depth)
  bool sqpoll = false;
  uint32_t sqpoll_idle_ms = 1000;
  int sqpoll_cpu = -1;          // with sqpoll: IORING_SETUP_SQ_AFF on this CPU; -1: not pinned
  bool defer_taskrun = true;    // SINGLE_ISSUER|DEFER_TASKRUN, else COOP_TASKRUN, else none
  bool iopoll = false;          // IORING_SETUP_IOPOLL: completions are polled (see above)
  std::vector<iovec> buffers;   // registered buffers (IORING_URING_CMD_FIXED), optional
};

class UringTransport final : public Transport {
 public:
  static absl::StatusOr<std::unique_ptr<UringTransport>> Create(const UringOptions& o);
  ~UringTransport() override;

  CmdSlot Reserve(int path, uint64_t tag, int fixed_buf_index) override;
  int Submit() override;
  int Reap(Completion* out, int max, int min, int64_t wait_ns) override;
  int DropUnsent(uint64_t* tags, int max) override;
  absl::Status SetFile(int path, int fd) override;
  int event_fd() const override { return iopoll_ ? -1 : ring_.ring_fd; }

  // What setup chose: "defer_taskrun", "coop_taskrun" or "plain", plus "+sqpoll"; "plain
  // (moved between threads)" once a defer_taskrun ring was replaced for another thread.
  const std::string& mode() const { return mode_; }
  // Commands the kernel took and whose completion has not been reaped yet.
  uint32_t in_kernel() const { return in_kernel_; }
  // SQEs not owned by a command (prepared, or in the kernel, and not reaped yet).
  uint32_t free_sqes() const { return nfree_; }

 private:
  struct FileId {  // what was installed in a slot, to check an fd before installing it again
    int fd = -1;
    dev_t dev = 0;
    ino_t ino = 0;
  };

  UringTransport() = default;
  // Returns 0 when the calling thread may enter the ring (enabling an unbound ring for it when
  // `bind`), else -errno. The common case, the bound thread, is one compare.
  int CheckThread(bool bind) {
    if (!single_issuer_ || (bound_ && owner_ == ThisThreadId())) return 0;
    return CheckThreadSlow(bind);
  }
  // Returns an id unique to the calling thread for the life of the process. Not pthread_self()
  // or gettid(): a thread started after another one ended often gets its pthread_t, and the
  // kernel task it is bound to is the old one.
  static uint64_t ThisThreadId();
  int CheckThreadSlow(bool bind);
  int MoveToThisThread();
  // Reap()'s wait on a polled ring: polls until `min` completions in all or `wait_ns` passed.
  int Drain(Completion* out, int max, int n);
  int ReapPolled(Completion* out, int max, int min, int64_t wait_ns, int n);
  absl::Status RegisterResources(io_uring* ring);

  io_uring ring_{};
  bool ring_ok_ = false;
  bool defer_taskrun_ = false;
  bool single_issuer_ = false;  // the ring is SINGLE_ISSUER (created disabled, see above)
  bool bound_ = false;          // enabled, and bound to owner_
  bool refused_logged_ = false;
  bool sqpoll_ = false;
  bool iopoll_ = false;
  uint64_t owner_ = 0;  // ThisThreadId() of the bound thread
  uint32_t entries_ = 0;
  uint32_t in_kernel_ = 0;
  // SQE ownership (see above): free SQE indices (a stack, nfree_ of them) and the caller's tag
  // of the command in each SQE. Sized to the ring's SQ entries at Create().
  std::vector<uint32_t> free_sqes_;
  uint32_t nfree_ = 0;
  std::vector<uint64_t> sqe_tag_;
  uint64_t bad_user_data_ = 0;  // completions naming no SQE of ours (never expected)
  std::array<bool, kMaxPaths> has_file_{};
  std::array<FileId, kMaxPaths> files_{};
  std::vector<iovec> buffers_;
  std::string mode_;
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_URING_TRANSPORT_H_
