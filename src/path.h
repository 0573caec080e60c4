// File: path.h
//
// Shared state of every path of one multipath namespace (IoPath in SPDK terms: namespace x
// controller), and the table that publishes it to all queues.
//
// Threading model (PathState / PathTable): who writes what, from which thread
//   * The thread in Engine::Open, before any refresh worker or queue exists: every path's fd and
//     fd_gen (the first open) and the facts of its first association (PathMonitor's constructor).
//   * The path's refresh worker (PathMonitor, path_monitor.h: one thread per path, so one
//     control-plane writer per PathState; without workers, in the simulator and unit tests, the
//     thread that runs the round inline): ana, health (any value), outlook, usable_since_ns,
//     fd and fd_gen (close, reopen), reset_gen, the facts of each new association, and
//     `marginal` back to false once its probes trust the path again.
//   * Queues, each from its own I/O thread, any number at once, when a command on the path
//     fails: `health`, only away from kLive (ReportPathError(), a compare-and-swap, so a queue
//     never undoes what a worker decided later), and `marginal` to true (MarkMarginal(), called
//     by the queue's marginal detection in PathSnapshot; a compare-and-swap, once per path).
//   * Any thread: the policy and preferred path (SetPolicy(), Engine::SetPolicy), and `disabled`,
//     the operator's administrative state (SetDisabled(), Engine::SetPathEnabled, which the
//     engine's control thread also calls for a request of nvme-mpath-ctl). Nothing else writes
//     `disabled`: the refresh worker never touches it, so it survives a reopen, a reset and
//     every ANA change, until the operator enables the path again or the engine closes.
//   Every writer then calls BumpEpoch() (an atomic add: several may bump at once).
//   * Read lock-free by every queue. A queue re-reads the whole table into its private snapshot
//     only when `epoch` changed, one relaxed load per submit. A stale read is harmless: the worst
//     case is one command sent down a path that just became unusable; it completes with a path
//     error and fails over, exactly as if the change had happened a moment later.
//   * The write ledger (write_ledger.h: completed writes and flush coverage per path) has its
//     own threading rules: each queue writes its own row; any queue reads all rows at a Flush.
//   * The facts of an association (numa_node, crdt, write_hold_ns, max_transfer_bytes) are
//     atomics: they are written when the path is added and again on every reopen, while queues
//     run. Each one is read whole (crdt's three values are one 64-bit word), so a queue sees
//     either the old or the new association's value, never a torn one.
#ifndef NVME_MPATH_SRC_PATH_H_
#define NVME_MPATH_SRC_PATH_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>

#include <nvme_mpath/types.h>

#include "transport.h"
#include "write_ledger.h"

namespace nvme_mpath::internal {

// What a path that is not usable now may still do, as the control plane judged it
// (NextPathState(), path_decision.h). Queues take the best over all paths to decide how long
// parked I/O waits (NoPathDeadlineNs(), path_snapshot.h). Ordered best first.
enum class PathOutlook : uint8_t {
  kUsable = 0,      // usable now
  kComingBack = 1,  // ANA change on a live controller: parked I/O waits up to the I/O deadline
  kMayReturn = 2,   // inaccessible, persistent loss, controller not live, path failed: parked I/O
                    // waits up to no_path_timeout
  kLost = 3,        // controller deleted and no controller at its endpoint: parked I/O fails
};
const char* PathOutlookName(PathOutlook o);  // "usable", "coming-back", "may-return", "lost"

// The three Command Retry Delay Times of Identify Controller (100 ms units), published as one
// 64-bit word so that a reopen replaces all three at once while queues read them.
class AtomicCrdt {
 public:
  AtomicCrdt& operator=(const std::array<uint16_t, 3>& v) {
    word_.store(uint64_t{v[0]} | uint64_t{v[1]} << 16 | uint64_t{v[2]} << 32,
                std::memory_order_relaxed);
    return *this;
  }
  // Returns crdt[i] (0..2): the kernel's crdt[crd-1] for a CRD field value crd.
  uint16_t operator[](int i) const {
    return static_cast<uint16_t>(word_.load(std::memory_order_relaxed) >> (16 * i));
  }

 private:
  std::atomic<uint64_t> word_{0};
};

struct PathState {
  // ---- facts of the current association: written by the control plane when the path is
  //      added and on every reopen (before the epoch bump), read by queues. A queue that reads
  //      the old association's value for a completion of the old association is exact; one
  //      that reads a value of the other association is off by the difference between two
  //      connects to the same endpoint, which normally share their parameters. ----
  std::atomic<int> numa_node{-1};
  AtomicCrdt crdt;  // command retry delay times (100 ms units)
  // The path's transfer limit (PathDesc::MaxTransferBytes(): MDTS, max_hw_sectors,
  // max_segments); 0 = unknown. Queues split at the strictest of all paths (MaxTransferBytes()).
  std::atomic<uint32_t> max_transfer_bytes{0};
  // How long a write that may still execute is held after a failing completion on this path:
  // WriteHoldNs() of the association (write_hold.h), (TBKAS ? 3 : 2) x KATO + CQT.
  std::atomic<int64_t> write_hold_ns{0};

  // ---- shared, atomics ----
  std::atomic<AnaState> ana{AnaState::kUnknown};
  std::atomic<PathHealth> health{PathHealth::kLive};
  // Used only when no better path is (kTierMarginal): set by a queue (MarkMarginal), cleared
  // by the path's refresh worker after kProbeOkNeeded good probe reads (path_monitor.cc).
  std::atomic<bool> marginal{false};
  std::atomic<int> fd{-1};               // open ng char device, -1 when closed
  std::atomic<uint32_t> fd_gen{0};       // bumped on every reopen
  std::atomic<uint32_t> reset_gen{0};    // bumped when the controller was seen reset/reconnected
  std::atomic<int64_t> usable_since_ns{0};  // when it last became usable (failback delay)
  // Whether the path may come back when it is not usable (control plane only). The default is
  // the no_path_timeout rule, until the control plane has looked.
  std::atomic<PathOutlook> outlook{PathOutlook::kMayReturn};
  // Disabled by the operator (PathTable::SetDisabled): no new I/O while another path is usable
  // (kTierDisabled, policy.h), used as the last resort when none is. Not part of Usable(): a
  // disabled path is still monitored, probed and reopened like any other, and still gets the
  // flushes its completed writes need (flush_fanout.h).
  std::atomic<bool> disabled{false};

  // Returns true when I/O may be sent down this path now.
  bool Usable() const {
    return health.load(std::memory_order_relaxed) == PathHealth::kLive &&
           AnaUsable(ana.load(std::memory_order_relaxed)) &&
           fd.load(std::memory_order_relaxed) >= 0;
  }
};

class PathTable {
 public:
  explicit PathTable(int count) : count_(count) {}
  PathTable(const PathTable&) = delete;
  PathTable& operator=(const PathTable&) = delete;

  int count() const { return count_; }
  // Returns the strictest known transfer limit over all paths (0: none known).
  uint32_t MaxTransferBytes() const {
    uint32_t m = 0;
    for (int i = 0; i < count_; ++i) {
      const uint32_t v = paths_[i].max_transfer_bytes.load(std::memory_order_relaxed);
      if (v != 0 && (m == 0 || v < m)) m = v;
    }
    return m;
  }
  PathState& path(int i) { return paths_[i]; }
  const PathState& path(int i) const { return paths_[i]; }

  uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }
  void BumpEpoch() { epoch_.fetch_add(1, std::memory_order_release); }

  // Run-time policy (Engine::SetPolicy); part of the epoch.
  IoPolicy policy() const { return policy_.load(std::memory_order_relaxed); }
  int preferred() const { return preferred_.load(std::memory_order_relaxed); }
  void SetPolicy(IoPolicy p, int preferred) {
    policy_.store(p, std::memory_order_relaxed);
    preferred_.store(preferred, std::memory_order_relaxed);
    BumpEpoch();
  }

  // Disables path `i` (no new I/O while another path is usable) or enables it again, from any
  // thread. Returns true when this changed it (then the epoch moved: every queue re-picks on
  // its next submit; commands in flight on the path are not touched and complete as usual).
  bool SetDisabled(int i, bool disabled) {
    if (paths_[i].disabled.exchange(disabled, std::memory_order_relaxed) == disabled) return false;
    BumpEpoch();
    return true;
  }

  // Called by a queue when a command on path `i` failed with a path error: the path is unused
  // until the control plane sees it healthy again. `gone`: the controller was deleted.
  // `ana`: the target refused with an ANA status, so the ANA log must be re-read now.
  void ReportPathError(int i, bool gone, bool ana) {
    const PathHealth want = gone ? PathHealth::kGone : PathHealth::kFailed;
    PathHealth cur = paths_[i].health.load(std::memory_order_relaxed);
    bool changed = false;
    while (cur < want) {
      if (paths_[i].health.compare_exchange_weak(cur, want)) {
        changed = true;
        break;
      }
    }
    const bool ana_new = ana && !ana_refresh_.exchange(true, std::memory_order_acq_rel);
    if (changed) BumpEpoch();
    // Wake the control thread once per change, not once per failing command.
    if (changed || ana_new) {
      attention_.store(true, std::memory_order_release);
      if (wake_) wake_();
    }
  }

  // Called by a queue whose marginal detection (PathSnapshot) counted marginal_errors incidents
  // on path `i` within the window: the path is used only when nothing better is, until the
  // control plane's probes trust it again. Returns true when this call marked it (once however
  // many queues count).
  bool MarkMarginal(int i) {
    bool was = false;
    if (!paths_[i].marginal.compare_exchange_strong(was, true, std::memory_order_relaxed))
      return false;
    BumpEpoch();
    return true;
  }

  // For the control thread: returns and clears the "something needs a look" flags.
  bool TakeAttention() { return attention_.exchange(false, std::memory_order_acq_rel); }
  bool TakeAnaRefresh() { return ana_refresh_.exchange(false, std::memory_order_acq_rel); }

  // What the namespace's writes and flushes covered, per path (write_ledger.h).
  WriteLedger& write_ledger() { return write_ledger_; }

  // Installs the control thread's wake-up (called before any queue exists).
  void set_wake(std::function<void()> wake) { wake_ = std::move(wake); }

 private:
  const int count_;
  std::array<PathState, kMaxPaths> paths_;
  std::atomic<uint64_t> epoch_{1};
  std::atomic<IoPolicy> policy_{IoPolicy::kNuma};
  std::atomic<int> preferred_{-1};
  std::atomic<bool> attention_{false};
  std::atomic<bool> ana_refresh_{false};
  std::function<void()> wake_;
  WriteLedger write_ledger_;
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_PATH_H_
