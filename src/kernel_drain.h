// File: kernel_drain.h
//
// DrainKernel(): how a closing queue waits for the commands still in the kernel, the wait of the
// kernel's blk_mq_freeze_queue(): no new I/O is taken, and what is in flight must come back
// before the ring can go, since each such command still owns its I/O's buffer in the kernel.
// The wait is bounded (kCloseWaitNs), and stops as soon as waiting cannot help: the ring refuses
// this thread, or a clock that moves only when told to (a test's) did not move while it waited.
//
// Threading model: runs on the queue's thread, inside QueueCore::Close().
#ifndef NVME_MPATH_SRC_KERNEL_DRAIN_H_
#define NVME_MPATH_SRC_KERNEL_DRAIN_H_

#include <cstdint>

#include "absl/functional/function_ref.h"

#include "clock.h"
#include "transport.h"

namespace nvme_mpath::internal {

// How long Close() waits for commands still in the kernel (in flight or orphaned). The kernel
// answers each within its command timeout (cmd_timeout_ms, else nvme_core.io_timeout, 30 s by
// default), a timed-out one after the abort or controller reset that follows: 60 s is twice the
// default. Past it Close() gives up: those I/Os get no callback, and the kernel may still write
// into their buffers until it completes them (the ring is torn down with the queue).
inline constexpr int64_t kCloseWaitNs = 60'000'000'000;

// Reaps `transport` until `drained()` is true, handing every completion to `completed`;
// `before_wait` runs before each wait (to submit what is prepared, to take back what the kernel
// will not take). Waits up to `bound_ns` from now by `clock`, each wait at most 100 ms. Returns
// true when drained, false when it gave up: the bound passed, Reap() failed (this thread may not
// use the ring), or nothing came while `clock` does not advance while waiting (the bound would
// never come).
bool DrainKernel(Transport* transport, const Clock* clock, int64_t bound_ns,
                 absl::FunctionRef<bool()> drained, absl::FunctionRef<void()> before_wait,
                 absl::FunctionRef<void(const Completion&)> completed);

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_KERNEL_DRAIN_H_
