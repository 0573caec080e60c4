// File: path_snapshot.h
//
// PathSnapshot: a queue's private view of the shared PathTable (path.h), taken again whenever
// the table's epoch moves. Per path: its tier for the policy (policy.h), its NUMA distance, this
// queue's commands in flight on it, and the file and association (fd generation) installed in
// the queue's ring. Over all paths: whether any is usable, the best outlook (the no-path rule,
// NoPathDeadlineNs()) and when the next failback delay ends. The policy picks from it.
//
// It also holds the queue's half of marginal-path detection: it counts path error incidents per
// path and, at marginal_errors within marginal_window, marks the path marginal through the
// table (PathTable::MarkMarginal()); the control plane's probes clear it (path_monitor.h).
//
// The decisions about one path are pure functions of its PathState: TierOf() and OutlookOf().
//
// Threading model: a snapshot belongs to one QueueCore and is used by its thread only. It reads
// the table lock-free (see path.h for why a stale read is harmless) and writes it only through
// PathTable::ReportPathError() and PathTable::MarkMarginal().
#ifndef NVME_MPATH_SRC_PATH_SNAPSHOT_H_
#define NVME_MPATH_SRC_PATH_SNAPSHOT_H_

#include <array>
#include <cstdint>

#include "debug_assert.h"
#include "disposition.h"
#include "path.h"
#include "policy.h"
#include "transport.h"

namespace nvme_mpath::internal {

// Returns path `ps`'s tier for a queue at `now`: kTierUnusable when it is not usable or its file
// is not installed in the queue's ring; kTierDisabled when the operator disabled it (whatever
// its ANA state); kTierMarginal when it is marked marginal; kTierOptimized for ANA optimized,
// unless it became usable less than `failback_delay_ns` ago: then kTierNonOptimized (not
// trusted yet), and `*trusted_at_ns` is set to when that ends; otherwise kTierNonOptimized.
uint8_t TierOf(const PathState& ps, bool file_installed, int64_t now, int64_t failback_delay_ns,
               int64_t* trusted_at_ns);

// Returns what a queue may expect of path `ps` in `tier`: kUsable when it is usable, else the
// control plane's outlook for it, except that a path this queue saw go (-ENODEV, health kGone)
// since the control plane last looked is not coming back. The control plane's outlook may still
// be kUsable for a path this queue cannot use (it saw a path error the control plane has not
// looked at yet, or its file is not installed): NoPathDeadlineNs() treats that as kMayReturn.
PathOutlook OutlookOf(const PathState& ps, uint8_t tier);

// The no-path rule: when a command parked at `parked_ns` (its I/O submitted at `submit_ns`)
// fails with -ENOLINK unless a path becomes usable first, given the best outlook over all paths
// (PathOutlook, path.h):
//   * kComingBack (a path in ANA change on a live controller): at the I/O deadline,
//     submit + io_timeout (never earlier than the no-path timeout; never, when io_timeout is 0);
//   * kMayReturn (inaccessible, persistent loss, no live controller): parked + no_path_timeout;
//   * kLost (every controller deleted, nothing at their endpoints): at once.
// A no_path_timeout of 0 fails at once whatever the outlook (the option: "do not park").
int64_t NoPathDeadlineNs(PathOutlook best, int64_t parked_ns, int64_t submit_ns,
                         int64_t no_path_timeout_ns, int64_t io_timeout_ns);

// A command's sticky path (Cmd::sticky_path) as Pick() reads it. The path alone is a same-path
// retry's: kept while its tier is better than kTierDisabled, so a retry moves off a path the
// operator disabled when the policy finds another. With kStickyPinned, it is the path whose
// writes a flush command is for: kept whenever the path is usable at all, disabled or not, since
// only a flush down that controller covers the writes it completed (docs/durability.md).
inline constexpr int kStickyPinned = 0x40;
inline constexpr int kStickyPathMask = 0x3f;
static_assert(kMaxPaths <= kStickyPathMask + 1);

struct SnapshotConfig {
  int numa_node = -1;            // the queue's node (-1: unknown, every path at distance 0)
  int64_t failback_delay_ns = 0;
  uint32_t rr_min_io = 1;
  uint32_t marginal_errors = 3;  // incidents within marginal_window_ns mark marginal; 0 = never
  int64_t marginal_window_ns = 10'000'000'000;
};

class PathSnapshot {
 public:
  PathSnapshot(PathTable* table, const SnapshotConfig& cfg);

  // Returns true when the table changed since the last Refresh(): one relaxed-acquire load.
  bool stale() const { return table_->epoch() != seen_epoch_; }

  // Copies the table at `now`, and installs in `transport` every path's fd that changed (a
  // reopen, a close) since the last refresh.
  void Refresh(int64_t now, Transport* transport);

  // Selects the path for a command: `sticky` (-1 none; see kStickyPinned) while its tier allows,
  // else the policy's choice. Returns -1 when no path is usable.
  int Pick(int sticky) {
    if (sticky >= 0) [[unlikely]] {
      const int p = sticky & kStickyPathMask;
      if (views_[p].tier < ((sticky & kStickyPinned) != 0 ? kTierUnusable : kTierDisabled)) return p;
    }
    return SelectPath(views_.data(), npaths_, policy_cfg_, policy_state_);
  }

  // This queue's commands in flight on path `p` (the queue-depth and latency policies read them).
  void AddInflight(int p) { ++views_[p].inflight; }
  // A command sent down path `p` completed successfully after `latency_ns`, at `now`: under the
  // latency policy, a sample of the path's latency (one compare otherwise).
  void Succeeded(int p, int64_t latency_ns, int64_t now) {
    if (policy_cfg_.policy == IoPolicy::kLatency) [[unlikely]] {
      SampleLatency(views_[p], latency_ns, now);
      policy_state_.now_ns = now;
    }
  }
  // The latency policy's estimate of path `p` (0: no sample yet), for tests and logs.
  uint32_t latency_ns(int p) const { return views_[p].latency_ns; }
  void RemoveInflight(int p) {
    NVME_MPATH_ASSERT(views_[p].inflight != 0);
    --views_[p].inflight;
  }
  uint32_t inflight(int p) const { return views_[p].inflight; }
  // The table's paths (0..count()-1).
  int count() const { return npaths_; }

  // The fd generation (association) of path `p` as installed in the ring.
  uint32_t fd_gen(int p) const { return fd_gen_[p]; }
  bool any_usable() const { return any_usable_; }
  // The best outlook over all paths (kUsable when one is usable).
  PathOutlook outlook() const { return outlook_; }
  // When an optimized path's failback delay ends (refresh then), 0 = none pending.
  int64_t failback_refresh_ns() const { return failback_refresh_ns_; }

  // A path error of a command sent down path `p`'s current association, dispatched as attempt
  // number `cmd_seq` when the queue has dispatched `seq_now` attempts, at `now`: tells the control
  // plane (PathTable::ReportPathError: set aside; an ANA re-read or a reopen), and counts an
  // incident towards marginal unless it is an ANA status, which is the target's (often planned)
  // refusal, not a fault of the path.
  void OnPathError(int p, Disposition d, uint32_t cmd_seq, uint32_t seq_now, int64_t now);

 private:
  void CountIncident(int p, uint32_t cmd_seq, uint32_t seq_now, int64_t now);

  PathTable* const table_;
  const SnapshotConfig cfg_;
  const int npaths_;
  uint64_t seen_epoch_ = 0;
  std::array<PathView, kMaxPaths> views_{};
  std::array<uint32_t, kMaxPaths> fd_gen_{};
  std::array<int, kMaxPaths> file_fd_{};  // the fd installed in the ring's slot, -1 none
  PolicyConfig policy_cfg_;
  PolicyState policy_state_;
  bool any_usable_ = false;
  PathOutlook outlook_ = PathOutlook::kMayReturn;
  int64_t failback_refresh_ns_ = 0;

  // Marginal detection, per path (see CountIncident).
  std::array<uint32_t, kMaxPaths> incident_count_{};  // in the current window
  std::array<int64_t, kMaxPaths> incident_window_start_{};
  std::array<int64_t, kMaxPaths> incident_ns_{};      // the last incident, 0 = none
  std::array<uint32_t, kMaxPaths> incident_seq_{};    // attempts dispatched when it was counted
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_PATH_SNAPSHOT_H_
