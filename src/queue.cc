// File: queue.cc
//
// The per-thread I/O engine (see queue.h for the data flow and threading model).
#include "queue.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>

#include <nvme_mpath/status.h>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"

#include "command_builder.h"
#include "completion_action.h"
#include "debug_assert.h"
#include "disposition.h"
#include "flush_fanout.h"
#include "io_chain.h"
#include "io_check.h"
#include "kernel_drain.h"
#include "log.h"
#include "poll_wait.h"
#include "tag.h"

namespace nvme_mpath::internal {
namespace {

// The queue's depth as the pool can hold it: 1..Tag::kMaxSlots slots.
QueueConfig WithPoolDepth(QueueConfig cfg) {
  cfg.depth = std::clamp<uint32_t>(cfg.depth, 1, Tag::kMaxSlots);
  return cfg;
}

// The sticky path of a flush command for path `p`'s writes: pinned to `p` (PathSnapshot::Pick),
// so that it goes down that controller whenever it is usable, even disabled by the operator.
int8_t FlushSticky(int p) { return static_cast<int8_t>(p | kStickyPinned); }

// The sticky path of a command retried on path `p`, the path it failed on: a flush command for
// `p`'s own writes stays pinned to it; anything else moves off a disabled `p` when it can.
int8_t RetrySticky(const Cmd* c, int p) {
  if (c->io->op == IoOp::kFlush && FlushTarget(c->frag) == uint32_t(p)) return FlushSticky(p);
  return static_cast<int8_t>(p);
}

}  // namespace

QueueCore::QueueCore(const QueueConfig& cfg, PathTable* table,
                     std::unique_ptr<Transport> transport, const Clock* clock,
                     PathCounters* counters)
    : cfg_(WithPoolDepth(cfg)),
      table_(table),
      transport_(std::move(transport)),
      clock_(clock),
      counters_(counters, cfg_.lba_size),
      pool_(cfg_.depth),
      planner_(cfg_.lba_size + cfg_.extended_metadata_size, cfg_.noiob_lbas,
               cfg_.max_transfer_bytes),
      builder_(cfg_.nsid, cfg_.lba_size + cfg_.extended_metadata_size, cfg_.metadata_size,
               cfg_.cmd_timeout_ms),
      waits_(cfg_.depth),
      ledger_(table->write_ledger().Acquire()),
      now_(clock_->NowNs()),
      deadline_(cfg_.io_timeout_ns, now_),
      paths_(table, SnapshotConfig{cfg_.numa_node, cfg_.failback_delay_ns, cfg_.rr_min_io,
                                   cfg_.marginal_errors, cfg_.marginal_window_ns}) {
  RefreshSnapshot();
}

QueueCore::~QueueCore() {
  Close();
  table_->write_ledger().Release(ledger_);  // its counts stay: those writes still need a flush
}

// ---------------------------------------------------------------------------------------------
// Submission

// The common I/O, an unsplit read or write (IsSimpleIo), inline; any other in SubmitChecked().
// An unsplit command carries the I/O's own range and goes out by Transmit(): the snapshot was
// refreshed at the top, and nothing since could move the epoch but another thread, which a
// second check a few instructions later would race with just the same. The path is picked
// before the slot is taken (a fresh command has no sticky path, and the policy looks at neither
// the slot nor the I/O).
int QueueCore::Submit(Io* io) {
  if (closed_) return -ESHUTDOWN;
  MaybeRefresh();  // before splitting: the transfer limit is part of the snapshot
  const int r = SubmitOne(io);
  CheckAccounting();
  return r;
}

// Submit() of each I/O in turn with the queue's checks made once: the closed test and the
// snapshot refresh (nothing in the loop runs a callback, and only another thread could move the
// epoch, as in Submit()). Stops at the first I/O it cannot take, as io_submit(2) does.
int QueueCore::SubmitBatch(Io* const* ios, uint32_t n) {
  if (n == 0) return 0;  // as Queue::SubmitBatch(): nothing to take, nothing refused
  if (closed_) return -ESHUTDOWN;
  MaybeRefresh();
  uint32_t i = 0;
  int r = 0;
  while (i < n && (r = SubmitOne(ios[i])) == 0) ++i;
  CheckAccounting();
  return i != 0 ? static_cast<int>(i) : r;
}

// Submit()'s work after the queue's own checks: takes `io` or returns the error for it.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline int QueueCore::SubmitOne(Io* io) {
  if (io == nullptr || !IsSimpleIo(*io, cfg_.nsze, planner_)) [[unlikely]]
    return SubmitChecked(io);
  if (pool_.free() == 0) return -EAGAIN;
  BeginIo(io, 1);  // first: the path is not live across its clock read
  const int p = paths_.Pick(-1);
  const Fragment whole{io->slba, io->nlb, 0};
  if (p < 0) [[unlikely]] {
    Park(pool_.Take(io, whole));
  } else {
    Transmit</*kFresh=*/true>(pool_.TakeToSend(io, whole, p), p);
  }
  return 0;
}

// Out of line, so that the common I/O's path keeps its registers: CheckIo() gives the error to
// return or the number of commands; only read/write/compare/write zeroes are split.
ABSL_ATTRIBUTE_NOINLINE int QueueCore::SubmitChecked(Io* io) {
  uint32_t children = 1;
  if (int r = CheckIo(io, cfg_.nsze, cfg_.depth, planner_, &children); r != 0) return r;
  if (io->op == IoOp::kFlush) return SubmitFlush(io);
  if (children > pool_.free()) return -EAGAIN;
  BeginIo(io, children);
  if (children == 1) {
    Send(pool_.Take(io, Fragment{io->slba, io->nlb, 0}));
  } else {
    [[maybe_unused]] const uint32_t sent = planner_.ForEachFragment(
        io->op, io->slba, io->nlb, [this, io](const Fragment& f) { Dispatch(pool_.Take(io, f)); });
    NVME_MPATH_ASSERT(sent == children);
  }
  CheckAccounting();
  return 0;
}

// An I/O is taken: its engine-private state starts, and it is outstanding.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void QueueCore::BeginIo(Io* io, uint32_t children) {
  // One clock read per Submit only when the queue was idle; otherwise the time of the last
  // Poll()/Flush() (the hot path reads the clock once per batch, not per command).
  if (ios_outstanding_ == 0) now_ = clock_->NowNs();
  StartIo(io, children, now_);
  ++ios_outstanding_;
}

// A Flush: its commands fan out over the paths as PlanFlush() says (flush_fanout.h); each one
// for a path's writes goes down that path if it can (sticky_path, pinned).
int QueueCore::SubmitFlush(Io* io) {
  const FlushPlan plan = PlanFlush(table_->write_ledger(), table_->count(), pool_.free());
  if (plan.commands == 0) return -EAGAIN;
  BeginIo(io, plan.commands);
  if (plan.now == 0) Dispatch(pool_.Take(io, FlushFragment(kFlushAnyPath, 0)));
  for (uint32_t todo = plan.now; todo != 0;) {
    const int p = TakeFlushPath(&todo);
    Cmd* c = pool_.Take(io, FlushFragment(uint32_t(p), plan.covers[p]));
    c->sticky_path = FlushSticky(p);
    Dispatch(c);
  }
  io->priv.flush_todo = plan.later;
  CheckAccounting();
  return 0;
}

// A flush command succeeded: what it covers is flushed. Returns true when the command goes on to
// the Flush's next chained path (the same slot, taken again) instead of finishing.
bool QueueCore::FlushDone(Cmd* c) {
  if (FlushCompleted(table_->write_ledger(), c->frag, c->path) && qc_.flush_redirected++ == 0)
    MPLOG_WARN("queue: a flush for the writes completed on path {} went down path {}: path {} "
               "was not usable (docs/durability.md)", FlushTarget(c->frag), int(c->path),
               FlushTarget(c->frag));
  Io* io = c->io;
  int p;
  const Fragment next_frag = NextFlushPath(table_->write_ledger(), &io->priv.flush_todo, &p);
  if (p < 0) return false;
  pool_.Release(c);  // and take it again (the same slot) with a fresh attempt state
  Cmd* next = pool_.Take(io, next_frag);
  next->sticky_path = FlushSticky(p);
  Dispatch(next);
  return true;
}

// A command other than a read succeeded: a data-modifying one counts in the write ledger, a
// flush marks what it covers. Returns true when the command is not finished (FlushDone).
ABSL_ATTRIBUTE_NOINLINE bool QueueCore::NonReadDone(Cmd* c) {
  if (c->io->op == IoOp::kFlush) return FlushDone(c);
  if (ModifiesData(*c->io)) WriteLedger::Count(ledger_, c->path);  // what a Flush must cover
  return false;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void QueueCore::Dispatch(Cmd* c) {
  MaybeRefresh();
  Send(c);
}

// Dispatch() with the snapshot known to be fresh.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void QueueCore::Send(Cmd* c) {
  NVME_MPATH_ASSERT(c->state == CmdState::kTaken && c->io != nullptr);
  const int sticky = c->sticky_path;
  if (sticky >= 0) [[unlikely]] c->sticky_path = -1;  // once: a later resend may go anywhere
  const int p = paths_.Pick(sticky);
  if (p < 0) [[unlikely]] {
    Park(c);
    return;
  }
  Transmit</*kFresh=*/false>(c, p);
}

// Sends taken command `c` down path `p`: tags the new attempt, reserves its submission entry and
// builds the command in place there (Transport::Reserve()). `kFresh`: a command just taken for a
// read or write (IsSimpleIo) by CommandPool::TakeToSend(p), on its first attempt down `p`. The
// command is accounted in flight before Reserve() (MarkSent) and built after it from the slot,
// so that only the queue and the command are live across that call (no stack frame, two
// callee-saved registers); a refused Reserve() undoes that (PrepFailed). Nothing reads those
// counts in between: Reserve() does not call back into the queue.
template <bool kFresh>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void QueueCore::Transmit(Cmd* c, int p) {
  NVME_MPATH_ASSERT(c->state == CmdState::kTaken && c->io != nullptr);
  if constexpr (kFresh) {
    NVME_MPATH_ASSERT(c->attempt == 1 && c->path == p);  // CommandPool::TakeToSend()
  } else {
    ++c->attempt;
    c->path = static_cast<uint8_t>(p);
  }
  // What the pool and the snapshot guarantee, told to the compiler: Pack() then masks nothing.
  ABSL_ASSUME(c->slot < Tag::kMaxSlots && p >= 0 && p < kMaxPaths);
  c->tag = Tag{c->slot, static_cast<uint8_t>(p), kFresh ? uint8_t{1} : c->attempt, ++seq_}.Pack();
  const int buf_index = cfg_.fixed_buffers ? c->io->buf_index : -1;
  MarkSent(c, p);
  const CmdSlot slot = transport_->Reserve(p, c->tag, buf_index);
  if (slot.cmd == nullptr) [[unlikely]] return PrepFailed(c, slot.err);
  if constexpr (kFresh) {
    // The fragment is the whole I/O (c->frag), here with its offset 0 known to the compiler.
    const Io& io = *c->io;
    builder_.BuildReadWrite(io, Fragment{io.slba, io.nlb, 0}, slot.cmd);
  } else {
    builder_.Build(*c->io, c->frag, slot.cmd);
  }
}

// Command `c`, tagged for path `p`, is prepared in the transport: in flight.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void QueueCore::MarkSent(Cmd* c, int p) {
  pool_.Move(c, CmdState::kInflight);
  c->fd_gen = paths_.fd_gen(p);
  c->sent_ns = now_;
  paths_.AddInflight(p);  // and so in the block's gauge at the next publish (PublishCounters)
  counters_.Sent(p);
  unsent_.Prepared();
}

// Reserve() refused `c` with `r` after MarkSent(): it is taken back out of flight, then, on a
// full SQ, the queue submits and tries once more; otherwise (or again refused) the command waits
// for the next Poll().
ABSL_ATTRIBUTE_NOINLINE void QueueCore::PrepFailed(Cmd* c, int r) {
  const int p = c->path;
  pool_.Move(c, CmdState::kTaken);
  paths_.RemoveInflight(p);
  unsent_.Unprepared();
  if (r == -EBUSY) {
    ++qc_.sq_full;
    SubmitPrepared();
    const CmdSlot slot =
        transport_->Reserve(p, c->tag, cfg_.fixed_buffers ? c->io->buf_index : -1);
    if (slot.cmd != nullptr) {
      builder_.Build(*c->io, c->frag, slot.cmd);
      return MarkSent(c, p);
    }
  }
  // No SQE (or the file slot was emptied under us): try again from the next Poll().
  Delay(c, DelayKind::kResend, now_);
}

// Publishes the in-flight gauges only: nothing completes outside Poll() and Close(), which
// publish the rest.
int QueueCore::Flush() {
  const int r = SubmitUnsent();
  for (int p = 0; p < paths_.count(); ++p) {
    if (counters_.marked(p)) counters_.PublishInflight(p, paths_.inflight(p));
  }
  return r;
}

// Flush() without the publish: Poll() and Close() publish once, when they return.
int QueueCore::SubmitUnsent() {
  if (unsent_.count() == 0) return 0;
  now_ = clock_->NowNs();
  const int r = SubmitPrepared();
  // A kernel short of resources is not the caller's error: the commands stay queued, the next
  // Flush()/Poll() sends them, and they fail (with its errno) only if it never takes them.
  return r < 0 && r != -EEXIST ? 0 : r;
}

// Stores the per-I/O counters, kept privately (queue_counters.h), in the path blocks the
// readers see, for the paths they may have moved on (marked): once per batch, when Poll()
// returns, and at Close() (Flush() stores the gauges).
void QueueCore::PublishCounters() {
  for (int p = 0; p < paths_.count(); ++p) {
    if (counters_.marked(p)) counters_.Publish(p, paths_.inflight(p));
  }
}

// Sends what Prep() queued. The transport may take fewer than were prepared, or none (-errno):
// the rest stay prepared in order, for the next try (see unsent.h).
int QueueCore::SubmitPrepared() {
  const int r = transport_->Submit();
  if (unsent_.Submitted(r, now_)) [[unlikely]] ++qc_.submit_failures;
  return r;
}

// The kernel has taken none of the prepared commands for kStallNs (unsent.h; or the queue closes,
// `res` -ESHUTDOWN): take them back from the transport (they can then never reach a device)
// and fail them with `res`. Callbacks run
// only once all are taken back, so that an I/O a callback submits is not taken back as well.
void QueueCore::FailUnsent(int res) {
  CmdList doomed;
  DropAllUnsent(transport_.get(), [this, &doomed](uint64_t tag) {
    Cmd* c = MatchCompletion(tag);  // null: already answered (deadline) or stale
    if (c == nullptr) return;
    pool_.Move(c, CmdState::kTaken);  // not in flight any more; FinishCmd frees it
    doomed.PushBack(c);
  });
  const uint32_t n_doomed = doomed.size;
  unsent_.TakenBack(n_doomed, now_);
  if (n_doomed != 0 && res != -ESHUTDOWN)
    MPLOG_WARN("queue: the kernel took none of {} prepared commands for {} ms ({}): failing them",
               n_doomed, UnsentCommands::kStallNs / 1'000'000, strerror(-res));
  qc_.unsent_failed += n_doomed;
  for (Cmd* c = doomed.head; c != nullptr;) {
    Cmd* next = c->next;
    paths_.RemoveInflight(c->path);  // dropped: no latency counted
    FinishCmd(c, res, 0, 0);
    c = next;
  }
}

// ---------------------------------------------------------------------------------------------
// Path snapshot

void QueueCore::RefreshSnapshot() {
  const PathOutlook outlook = paths_.outlook();
  paths_.Refresh(now_, transport_.get());
  if (paths_.outlook() != outlook)  // so did every parked command's no-path deadline
    waits_.RekeyParked([this](const Cmd& c) { return ParkDeadlineNs(&c); });
  // The transfer limit follows the paths' current associations (a reopen may change it).
  planner_.SetMaxTransferBytes(table_->MaxTransferBytes());
}

// ---------------------------------------------------------------------------------------------
// Completion

// Returns the command a completion belongs to, or null when its tag is not the one of an attempt
// in flight (stale: an attempt the engine no longer waits for). The slot's stored tag holds the
// path, attempt and sequence number of the attempt, so one compare checks them all.
inline Cmd* QueueCore::MatchCompletion(uint64_t tag) {
  return pool_.Find(tag, CmdState::kInflight);
}

// Any completion of a command in flight: in-flight counts, busy time, latency.
inline void QueueCore::AccountCompletion(const Cmd* c) {
  paths_.RemoveInflight(c->path);
  counters_.Completed(c->path, static_cast<uint64_t>(now_ - c->sent_ns));
}

// A successful completion of a command in flight: account and finish it. Always inline: Poll()
// calls it for every good completion (the call and its register saves cost 15 instructions
// per I/O).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void QueueCore::CompleteOk(Cmd* c, uint64_t result) {
  // AccountCompletion() and the success counts, with the histogram's relaxed atomic update
  // last: the compiler takes it as a barrier, and would load the command's fields again after it.
  const int p = c->path;
  const int64_t latency_ns = now_ - c->sent_ns;
  paths_.RemoveInflight(p);
  paths_.Succeeded(p, latency_ns, now_);
  // A read is counted with the op known, so that Succeeded()'s tests of the op fold away.
  if (c->io->op == IoOp::kRead) [[likely]] {
    counters_.Succeeded(p, IoOp::kRead, c->frag.nlb, c->first_fail_ns, now_);
    counters_.Completed(p, static_cast<uint64_t>(latency_ns));
  } else {
    counters_.Succeeded(p, c->io->op, c->frag.nlb, c->first_fail_ns, now_);
    counters_.Completed(p, static_cast<uint64_t>(latency_ns));
    if (NonReadDone(c)) return;
  }
  FinishCmd(c, 0, 0, static_cast<uint32_t>(result));
}

// Every completion that is not a plain success (the caller's fast path takes those): one
// decision (Decide), one action (NextAction, completion_action.h), applied here.
void QueueCore::HandleCompletion(const Completion& cqe) {
  Cmd* c = MatchCompletion(cqe.tag);
  if (c == nullptr) {
    ++qc_.stale_completions;
    return;
  }
  const int res = cqe.res;
  Io* io = c->io;
  const Decision d = DecideFor(*io, res, c->retries, cfg_.max_retries, cfg_.head);
  if (d.ok) {
    // res 0, or a status whose code is 0 with only More/CRD/DNR set: the application gets 0.
    CompleteOk(c, cqe.result);
    return;
  }
  const int p = c->path;
  AccountCompletion(c);
  pool_.Move(c, CmdState::kTaken);  // out of the kernel: resent, set aside or finished below
  c->last_res = res;
  counters_.Failed(p, d.error_class);
  const FailedCommand f{now_,      deadline_.Expired(*io, now_), ModifiesData(*io),
                        cfg_.head, c->attempt,                   cfg_.write_hold_ns,
                        c->retries};
  const CompletionAction a =
      NextAction(d, res, static_cast<uint32_t>(cqe.result), f, table_->path(p));
  if (a.report_path_error) ReportPathError(c, p, d.disposition);
  switch (a.step) {
    case Step::kFinish:
      return FinishCmd(c, a.res, a.status, a.result);
    case Step::kRetryNow:
    case Step::kRetryLater:
      ++c->retries;
      counters_.Retried(p);
      c->sticky_path = RetrySticky(c, p);
      if (a.step == Step::kRetryNow) return Dispatch(c);
      return Delay(c, a.delay_kind, a.due_ns);
    case Step::kFailoverNow:
    case Step::kFailoverLater:
      if (c->first_fail_ns == 0) c->first_fail_ns = now_;
      counters_.FailedOver(p);
      if (a.step == Step::kFailoverNow) return Dispatch(c);
      // A write hold may end early once the path's controller was reset (RunTimers).
      if (a.delay_kind == DelayKind::kWriteHold)
        c->hold_reset_gen = table_->path(p).reset_gen.load(std::memory_order_relaxed);
      return Delay(c, a.delay_kind, a.due_ns);
  }
}

// Reports a path error of `c` on path `p` (PathSnapshot::OnPathError: set aside, ANA re-read or
// reopen, marginal count), unless it is of an association the path no longer has.
void QueueCore::ReportPathError(const Cmd* c, int p, Disposition d) {
  if (c->fd_gen != table_->path(p).fd_gen.load(std::memory_order_acquire)) [[unlikely]] {
    // Sent down an association the path no longer has (reopened or closed since): the error
    // says nothing about the new fd, so it is neither reported (which could close a good fd)
    // nor counted towards marginal. The command itself is handled as usual.
    ++qc_.old_association_errors;
  } else {
    paths_.OnPathError(p, d, Tag::Unpack(c->tag).seq, seq_, now_);
  }
  MaybeRefresh();
}

void QueueCore::Park(Cmd* c) {
  pool_.Move(c, CmdState::kParked);
  c->parked_ns = now_;  // its deadline follows the paths' outlook: ParkDeadlineNs()
  counters_.Parked(c->path);
  waits_.Park(c, ParkDeadlineNs(c));
}

void QueueCore::Delay(Cmd* c, DelayKind kind, int64_t due_ns) {
  pool_.Move(c, CmdState::kDelayed);
  c->delay_kind = kind;
  waits_.Delay(c, due_ns);
}

// Takes a parked or delayed command out of the lists it waits in, into the queue's hands.
void QueueCore::Unwait(Cmd* c) {
  waits_.Remove(c);
  pool_.Move(c, CmdState::kTaken);
}

void QueueCore::DispatchParked() {
  // Oldest first, as they were parked. A command that finds no path again parks again, at the
  // tail, with a fresh no-path deadline.
  pool_.TakeEach(waits_.TakeParked(), [this](Cmd* c) { Dispatch(c); });
}

int64_t QueueCore::NextTimerNs() const {
  const int64_t failback = paths_.failback_refresh_ns();
  return failback != 0 ? std::min(waits_.next_ns(), failback) : waits_.next_ns();
}

// Acts on every deadline passed by `now`. What is due is taken out first: a command armed again
// while they are handled (a resend whose Prep() fails again, a command parked again with its
// deadline already passed) waits for the next pass, which Poll() then runs without waiting.
void QueueCore::RunTimers(int64_t now) {
  if (paths_.failback_refresh_ns() != 0 && now >= paths_.failback_refresh_ns()) RefreshSnapshot();
  // write_hold_release_on_reset: a hold ends once its path's controller was reset since the
  // failing completion (reset_gen moved; not always with an epoch bump, so looked at here).
  if (cfg_.write_hold_release_on_reset) {
    waits_.EndHolds(now, [this](const Cmd& c) {
      return table_->path(c.path).reset_gen.load(std::memory_order_relaxed) != c.hold_reset_gen;
    });
  }
  CmdList ready, expired;  // delayed ones to send again, parked ones out of time
  waits_.TakeDue(now, &ready, &expired);
  pool_.TakeEach(ready, [this, now](Cmd* c) {
    if (deadline_.Expired(*c->io, now)) return FinishCmd(c, -ETIMEDOUT, StatusOf(c->last_res), 0);
    Dispatch(c);
  });
  pool_.TakeEach(expired, [this](Cmd* c) {
    ++qc_.parked_expired;
    FinishCmd(c, -ENOLINK, StatusOf(c->last_res), 0);
  });
}

// The I/O deadline passed for some I/O (io_deadline.h says what happens to its commands).
void QueueCore::ExpireIos(int64_t now) {
  deadline_.Scan(pool_, now, [this](Cmd* c) {
    const uint16_t status = StatusOf(c->last_res);
    if (c->state == CmdState::kInflight) {
      ++qc_.timed_out;
      return FinishChild(pool_.Orphan(c), -ETIMEDOUT, status, 0);
    }
    Unwait(c);  // parked or delayed
    FinishCmd(c, -ETIMEDOUT, status, 0);
  });
}

// A completion for a command answered at its deadline: frees its slot. Returns false when the
// tag is not such a command's.
bool QueueCore::ReleaseOrphan(uint64_t tag) {
  Cmd* c = pool_.Find(tag, CmdState::kOrphaned);
  if (c == nullptr) return false;
  AccountCompletion(c);
  ++qc_.late_completions;
  pool_.Release(c);
  return true;
}

inline void QueueCore::FinishCmd(Cmd* c, int res, uint16_t status, uint32_t result) {
  Io* io = c->io;
  pool_.Release(c);
  FinishChild(io, res, status, result);
}

// One command of `io` is done (its slot already freed or orphaned): once all are, the I/O
// completes (io_chain.h) and its callback runs.
inline void QueueCore::FinishChild(Io* io, int res, uint16_t status, uint32_t result) {
  if (!EndCommand(io, res, status, result)) return;
  NVME_MPATH_ASSERT(ios_outstanding_ != 0);
  --ios_outstanding_;
  ++completed_;
  if constexpr (kAssertsEnabled) ++callbacks_running_;
  io->done(io);  // may submit (or poll) again
  if constexpr (kAssertsEnabled) --callbacks_running_;
}

// ---------------------------------------------------------------------------------------------
// Poll

// Completions Poll() takes from the transport per Reap().
constexpr int kReapBatch = 256;

int QueueCore::Poll(uint32_t min_complete, int64_t timeout_us) {
  completed_ = 0;
  int64_t now = now_ = clock_->NowNs();
  const int64_t deadline = timeout_us < 0 ? kNoTimeNs : now + timeout_us * 1000;
  // Left uninitialised: Reap() fills what it returns, and zeroing 64 entries per Poll() cost
  // 6 instructions per I/O at batch 32. As large as the CQ of the ring of a queue of the
  // default depth (128 entries, CQ twice that), so that one Reap() takes every completion the
  // kernel has posted: after a full batch the loop reaps again, and on a DEFER_TASKRUN ring a
  // reap that finds nothing posted enters the kernel to look, a system call fio's own loop does
  // not make (bench/syscall_bench.sh).
  union Batch {
    Batch() {}
    Completion c[kReapBatch];
  } reaped;
  Completion* const batch = reaped.c;
  for (;;) {
    MaybeRefresh();
    if (waits_.parked() != 0 && paths_.any_usable()) DispatchParked();
    if (!waits_.empty() || paths_.failback_refresh_ns() != 0) RunTimers(now);
    if (deadline_.Due(now)) [[unlikely]] ExpireIos(now);
    if (SubmitUnsent() == -EEXIST) return PollDone(-EEXIST);
    if (unsent_.Stalled(now_)) [[unlikely]] FailUnsent(unsent_.error());

    const bool want = completed_ < min_complete && now < deadline;
    int64_t wait_ns = 0;
    if (want) {
      const bool timers = !waits_.empty() || paths_.failback_refresh_ns() != 0;
      wait_ns = PollWaitNs(now, PollWakeups{deadline, timers, timers ? NextTimerNs() : kNoTimeNs,
                                            deadline_.next_ns(), unsent_.count() != 0});
    }
    int n = transport_->Reap(batch, kReapBatch, want ? 1 : 0, wait_ns);
    if (n < 0) [[unlikely]] {
      // This thread cannot use the ring (see uring_transport.h): say so rather than spin.
      if (n == -EEXIST) return PollDone(-EEXIST);
      n = 0;
    }
    now = now_ = clock_->NowNs();
    for (int i = 0; i < n; ++i) {
      const Completion& cqe = batch[i];
      Cmd* c;
      if (cqe.res == 0 && (c = MatchCompletion(cqe.tag)) != nullptr) [[likely]]
        CompleteOk(c, cqe.result);
      else if (!ReleaseOrphan(cqe.tag))
        HandleCompletion(cqe);
    }
    if (n == kReapBatch) continue;  // maybe more to reap
    if (completed_ >= min_complete) {
      // Drain what the completions above made due (resends, parked commands) before returning.
      MaybeRefresh();
      if (waits_.parked() != 0 && paths_.any_usable()) DispatchParked();
      SubmitUnsent();
      break;
    }
    if (now >= deadline || timeout_us == 0) break;
  }
  CheckAccounting();
  return PollDone(0);
}

// Poll()'s return: the counters published, the I/Os completed, or `err` when there were none.
int QueueCore::PollDone(int err) {
  PublishCounters();
  return completed_ != 0 || err == 0 ? static_cast<int>(completed_) : err;
}

void QueueCore::Close() {
  if (closed_) return;
  closed_ = true;
  // Parked and delayed commands never reached the kernel (or were already answered by it):
  // the parked ones in the order they were parked, then the delayed ones by deadline.
  const CmdList parked = waits_.TakeParked();  // oldest first
  CmdList delayed, none;
  waits_.TakeDue(std::numeric_limits<int64_t>::max(), &delayed, &none);
  for (const CmdList& l : {parked, delayed})
    pool_.TakeEach(l, [this](Cmd* c) { FinishCmd(c, -ESHUTDOWN, 0, 0); });
  // In-flight commands still own their buffers in the kernel: wait for them (bounded), and for
  // the ones answered at their deadline (orphaned) too. Commands the kernel will not take are
  // taken back and fail at once: closing does not wait out a submit stall.
  const bool gave_up = !DrainKernel(
      transport_.get(), clock_, kCloseWaitNs, [this] { return pool_.free() == pool_.depth(); },
      [this] {
        SubmitUnsent();
        if (unsent_.count() != 0) FailUnsent(-ESHUTDOWN);
      },
      [this](const Completion& cqe) {
        if (ReleaseOrphan(cqe.tag)) return;
        if (Cmd* c = MatchCompletion(cqe.tag)) {
          paths_.RemoveInflight(c->path);  // dropped: no latency counted
          FinishCmd(c, cqe.res == 0 ? 0 : -ESHUTDOWN, 0, 0);
        }
      });
  // Nothing waits in the queue any more; what may be left is only in the kernel, and only when
  // the wait gave up. Otherwise every slot is free and every I/O was answered.
  NVME_MPATH_ASSERT(waits_.empty() && waits_.holds() == 0 && unsent_.count() == 0);
  NVME_MPATH_ASSERT_MSG(gave_up || (pool_.free() == pool_.depth() && ios_outstanding_ == 0),
                        "closed with a command left");
  PublishCounters();  // the last counts, before the engine frees the blocks' slot
  CheckAccounting();
}

}  // namespace nvme_mpath::internal
