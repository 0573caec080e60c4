// File: queue.h
//
// QueueCore: the per-thread I/O engine. It orchestrates; each job is its own unit:
//   CheckIo (io_check.h)               whether an Io can be taken, and how many commands
//   StartIo/EndCommand (io_chain.h)    an I/O completes once, when all its commands have
//   SplitPlanner (split_planner.h)     where an I/O is cut into commands (transfer limit, NOIOB)
//   CommandPool (command_pool.h)       the command slots, their free list and checked states
//   CommandBuilder (command_builder.h) the nvme_uring_cmd of each command
//   PathSnapshot (path_snapshot.h)     its view of the PathTable: tiers, outlook, marginal paths
//   WaitLists (wait_lists.h)           parked and delayed commands, by deadline (deadline_list.h)
//   UnsentCommands (unsent.h)          prepared commands the kernel has not taken yet
//   PathAccounting (queue_counters.h)  the per-path counters
//   WriteLedger (write_ledger.h)       completed writes per path, and which paths a Flush needs
//   PlanFlush() & co (flush_fanout.h)  how a Flush fans out over those paths
//   Decide() (disposition.h)           what a completion means
//   NextAction() (completion_action.h) what to do with a command that did not simply succeed:
//                                      finish, retry on its path, fail over, hold the write
//   IoDeadline (io_deadline.h)         the I/O deadline: which I/Os are out of time, and when next
//   PollWaitNs() (poll_wait.h)         how long Poll() may wait in the kernel
//   DrainKernel() (kernel_drain.h)     Close()'s bounded wait for the commands in the kernel
// and it owns its Transport (one io_uring). The hot path reads top to bottom like the kernel's
// mpath_bdev_submit_bio():
//
//   Submit(io) -> validate -> split to the strictest path limit -> per command: policy picks a
//     usable path -> tag -> uring_cmd SQE
//     \- no usable path but one may come back -> park it (the kernel's requeue list; bounded by
//         the slots, with a no-path deadline)
//   Poll() -> reap -> decode status -> disposition: complete | retry same path after CRD |
//     fail over | set path aside + re-read ANA | reopen -> application callback exactly once
//   snapshot changed (ANA poll, reconnect) or a deadline passed -> dispatch the parked commands
//   the I/O deadline passed (io_timeout, even with the kernel silent) -> -ETIMEDOUT; a command
//     still in the kernel keeps its slot until its completion comes, and is never resent
//   the kernel took none of the prepared commands (-EAGAIN/-EBUSY/short) -> resubmitted by
//     every Flush/Poll (Poll waits 1 ms at most meanwhile); after 1 s they fail
//
// Threading model: a QueueCore is used by one thread at a time (see engine.h). It shares only
// the PathTable (read lock-free, see path.h) and its own PathCounters blocks (single writer).
#ifndef NVME_MPATH_SRC_QUEUE_H_
#define NVME_MPATH_SRC_QUEUE_H_

#include <linux/nvme_ioctl.h>

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include <nvme_mpath/engine.h>
#include <nvme_mpath/io.h>
#include <nvme_mpath/stats.h>

#include "absl/base/attributes.h"

#include "clock.h"
#include "command_builder.h"
#include "command_pool.h"
#include "completion_action.h"
#include "disposition.h"
#include "io_deadline.h"
#include "path.h"
#include "path_snapshot.h"
#include "queue_counters.h"
#include "policy.h"
#include "split_planner.h"
#include "transport.h"
#include "unsent.h"
#include "wait_lists.h"
#include "write_ledger.h"

namespace nvme_mpath::internal {

// Everything a queue needs to know about the namespace and the engine's knobs.
struct QueueConfig {
  uint32_t nsid = 1;
  uint64_t nsze = 0;
  uint32_t lba_size = 512;          // data bytes per LBA (the LBA format's LBADS)
  uint32_t metadata_size = 0;       // separate metadata bytes per LBA (0 if none / extended)
  // Metadata bytes interleaved after each LBA's data in io->buf (an extended-LBA format: the
  // transfer of an LBA is lba_size + extended_metadata_size bytes); 0 if none / separate.
  uint32_t extended_metadata_size = 0;
  uint32_t max_transfer_bytes = 0;  // 0 = no limit (still bounded by the 16-bit NLB field)
  uint32_t noiob_lbas = 0;
  uint32_t depth = 128;
  uint32_t rr_min_io = 1;
  int64_t no_path_timeout_ns = 30'000'000'000;
  int64_t io_timeout_ns = 120'000'000'000;  // 0 = none
  uint32_t cmd_timeout_ms = 0;
  uint32_t max_retries = 5;
  int64_t write_hold_ns = -1;  // -1: the path's own (PathState::write_hold_ns)
  bool write_hold_release_on_reset = false;  // end a hold early once the controller was reset
  int64_t failback_delay_ns = 0;
  uint32_t marginal_errors = 3;
  int64_t marginal_window_ns = 10'000'000'000;
  int numa_node = -1;           // the queue's node
  bool fixed_buffers = false;
  // Path 0 is a multipath head (nvme_core.multipath=Y): the kernel picks the controller of each
  // command. A failover resends to the head itself after a short backoff (HeadResendDelayNs),
  // and -EINVAL from a command the engine built means the kernel had no usable path
  // (nvme_ns_head_chr_uring_cmd), not a bad command.
  bool head = false;
};

class QueueCore final : public Queue {
 public:
  // `counters` has one block per path (engine-owned, may live in shared memory), or null to use
  // private blocks. The table, clock and counters must outlive the queue.
  QueueCore(const QueueConfig& cfg, PathTable* table, std::unique_ptr<Transport> transport,
            const Clock* clock, PathCounters* counters);
  ~QueueCore() override;

  int Submit(Io* io) override;
  int SubmitBatch(Io* const* ios, uint32_t n) override;
  int Flush() override;
  int Poll(uint32_t min_complete, int64_t timeout_us) override;
  uint32_t inflight() const override { return ios_outstanding_; }
  // The queue's path snapshot, for tests (the latency policy's estimates).
  const PathSnapshot& paths_for_test() const { return paths_; }
  int event_fd() const override { return transport_->event_fd(); }

  // Fails every parked, delayed or unsent command with -ESHUTDOWN, waits for in-flight and
  // orphaned ones (at most kCloseWaitNs, 60 s, see kernel_drain.h), and rejects further
  // submits.
  // Called by the destructor.
  void Close();

  const QueueCounters& queue_counters() const { return qc_; }
  // Path `path`'s counter block, as published when Poll() or Flush() last returned (see
  // queue_counters.h: the per-I/O counters are published once per batch).
  const PathCounters& counters(int path) const { return counters_.path(path); }
  Transport* transport() { return transport_.get(); }
  // Commands (not I/Os) parked waiting for a path / delayed (retry, write hold or resend).
  uint32_t parked() const { return waits_.parked(); }
  uint32_t delayed() const { return waits_.delayed(); }

 private:
  void RefreshSnapshot();
  void MaybeRefresh() {
    if (paths_.stale()) RefreshSnapshot();
  }
  void BeginIo(Io* io, uint32_t children);
  int SubmitOne(Io* io);
  int SubmitChecked(Io* io);
  int SubmitFlush(Io* io);
  bool FlushDone(Cmd* c);
  bool NonReadDone(Cmd* c);
  void Dispatch(Cmd* c);
  void Send(Cmd* c);
  template <bool kFresh>
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Transmit(Cmd* c, int p);
  void MarkSent(Cmd* c, int p);
  void PrepFailed(Cmd* c, int r);
  int SubmitPrepared();
  int SubmitUnsent();
  void PublishCounters();
  int PollDone(int err);
  Cmd* MatchCompletion(uint64_t tag);
  void HandleCompletion(const Completion& cqe);
  void ReportPathError(const Cmd* c, int path, Disposition d);
  void AccountCompletion(const Cmd* c);
  void CompleteOk(Cmd* c, uint64_t result);
  void Park(Cmd* c);
  void Delay(Cmd* c, DelayKind kind, int64_t due_ns);
  void Unwait(Cmd* c);
  void RunTimers(int64_t now);
  void DispatchParked();
  int64_t ParkDeadlineNs(const Cmd* c) const {
    return NoPathDeadlineNs(paths_.outlook(), c->parked_ns, c->io->priv.submit_ns, cfg_.no_path_timeout_ns,
                            cfg_.io_timeout_ns);
  }
  void FinishCmd(Cmd* c, int res, uint16_t status, uint32_t result);
  void FinishChild(Io* io, int res, uint16_t status, uint32_t result);
  void ExpireIos(int64_t now);
  bool ReleaseOrphan(uint64_t tag);
  void FailUnsent(int res);
  int64_t NextTimerNs() const;
  // Checks the pool's accounting (debug builds) when no callback is running: a callback that
  // submits runs while its caller may hold commands in hand (kTaken).
  void CheckAccounting() const {
    if constexpr (kAssertsEnabled) {
      if (callbacks_running_ == 0) pool_.CheckAccounting(waits_.parked(), waits_.delayed());
    }
  }

  QueueConfig cfg_;
  PathTable* table_;
  std::unique_ptr<Transport> transport_;
  const Clock* clock_;
  PathAccounting counters_;
  QueueCounters qc_;

  CommandPool pool_;
  SplitPlanner planner_;
  CommandBuilder builder_;
  WaitLists waits_;  // parked and delayed commands
  uint32_t ios_outstanding_ = 0;
  WriteLedger::Writer ledger_;  // this queue's row of the namespace's write ledger
  UnsentCommands unsent_;  // prepared in the transport, not yet taken by the kernel
  uint32_t seq_ = 0;
  uint32_t completed_ = 0;  // I/Os completed since Poll() started
  int64_t now_ = 0;         // clock read once per batch (Poll, Flush, idle Submit)
  IoDeadline deadline_;     // when Poll() next scans the slots for I/Os out of time (ExpireIos)
  bool closed_ = false;
  uint32_t callbacks_running_ = 0;  // application callbacks under way (debug builds only)

  // The queue's view of the path table (refreshed when its epoch moves), its marginal detection.
  PathSnapshot paths_;
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_QUEUE_H_
