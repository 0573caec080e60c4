// File: path_monitor.h
//
// PathMonitor: the control plane's refresh of every path of one namespace. A refresh of a path
// reads its controller's state and ANA log, reopens a deleted controller and probes a marginal
// path, then applies NextPathState() (path_decision.h) to the shared PathState. CtrlAccess is
// every effect on the outside world (sysfs, admin commands, open/close), the seam that tests
// and the simulator fake. PollOnce() is one step of the control loop (is a round due: poll
// interval, a queue's path error, a uevent), the same for the engine's control thread and for
// the simulator.
//
// Two modes, the same refresh code:
//   * with workers (Start(), the engine): one worker thread per path (per controller: a
//     namespace has one path per controller) runs each round; RequestRefresh()/PollOnce()
//     return at once;
//   * inline (Start() not called: the simulator, unit tests): RequestRefresh()/PollOnce() run
//     the round in the calling thread, path 0 first, before they return. Nothing else runs, so
//     a simulation over a fake clock and a fake CtrlAccess replays exactly from its seed.
//
// Threading model
//   * Workers: path i's worker is the only control-plane writer of path i's PathState (queues
//     still move `health` away from kLive, see path.h). A worker blocks only in CtrlAccess calls
//     (sysfs reads; admin commands, bounded by kAdminTimeoutMs; a probe read, 2 s) and never
//     holds `mu_` while it does: a controller whose admin queue hangs delays its own path and
//     nothing else. Rounds coalesce: a worker that was busy runs one refresh for every request
//     that came meanwhile.
//   * `mu_` guards the per-path control state (slots_), the round counters and the poll
//     schedule; it is held only for in-memory work (copies, NextPathState(), atomic stores,
//     close(2) of a char device).
//   * RequestRefresh(), WaitRound(), Reports() may be called from any thread; PollOnce() from
//     one thread (the control loop's). `on_change` runs on the thread that refreshed (a worker,
//     or the caller inline), without `mu_`, after a refresh was applied (the engine
//     republishes its stats descriptors there, under its own lock).
#ifndef NVME_MPATH_SRC_PATH_MONITOR_H_
#define NVME_MPATH_SRC_PATH_MONITOR_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"

#include "ana.h"
#include "clock.h"
#include "path.h"
#include "path_decision.h"
#include "topology.h"

namespace nvme_mpath::internal {

// Every effect the monitor has on the outside world. Called from worker threads, one call at a
// time per path (an implementation may block; it is never called with a lock held).
class CtrlAccess {
 public:
  virtual ~CtrlAccess() = default;
  // Returns the state of `d`'s controller: kGone when its name is not in sysfs or now belongs
  // to another endpoint (the kernel reuses names).
  virtual CtrlState State(const PathDesc& d) = 0;
  // Reads the ANA log through `fd` (admin commands, each with kAdminTimeoutMs). Fails as
  // ReadAnaLog() does (ana.h): kNotFound means the controller is gone, and nothing else.
  virtual absl::StatusOr<AnaLog> ReadAna(int fd, const PathDesc& d) = 0;
  // Looks for a live controller at `key`'s endpoint exposing `nsid`, identified (FindPath()).
  virtual absl::StatusOr<PathDesc> Find(const PathKey& key, uint32_t nsid) = 0;
  // Opens an ng char device read-write; returns the fd or -errno.
  virtual int Open(const std::string& ng_path) = 0;
  virtual void Close(int fd) = 0;
  // A one-LBA read through the ioctl path (marginal probe); returns 0, -errno or a status.
  virtual int Probe(int fd, uint32_t nsid, uint32_t lba_size, uint32_t metadata_size) = 0;
};

// The real thing: sysfs, libnvme, ioctl.
std::unique_ptr<CtrlAccess> MakeSystemCtrlAccess();

struct MonitorConfig {
  uint32_t nsid = 1;
  uint32_t lba_size = 512;      // data bytes per LBA (with its metadata if extended-LBA format)
  uint32_t metadata_size = 0;   // separate metadata bytes per LBA
  int32_t write_hold_ms = -1;  // the engine option (only to know whether the rule is in use)
  // A refresh round at least this often (EngineOptions::ana_poll_interval_ms); 0: only when
  // woken (PollOnce()).
  int64_t poll_interval_ns = 1'000'000'000;
};

// One path as the control plane sees it (for Paths() and the stats descriptors).
struct PathReport {
  PathDesc desc;
  PathControl ctl;
  uint32_t ana_grpid = 0;
};

class PathMonitor {
 public:
  // `paths[i]` is path i of `table`, whose fd (if any) is already open. Publishes each path's
  // facts (NUMA node, CRDT, transfer limit, write hold). Starts no thread.
  PathMonitor(PathTable* table, std::vector<PathDesc> paths, CtrlAccess* access,
              const Clock* clock, const MonitorConfig& cfg);
  ~PathMonitor();
  PathMonitor(const PathMonitor&) = delete;
  PathMonitor& operator=(const PathMonitor&) = delete;

  // Starts one worker per path. Stop() (also run by the destructor) joins them; a worker in an
  // admin command finishes it first (at most kAdminTimeoutMs). Without Start() the monitor
  // runs inline (see the file comment).
  void Start();
  void Stop();
  // Starts a refresh round of every path and returns its number: with workers at once, inline
  // once every path is refreshed.
  uint64_t RequestRefresh();
  // One step of the control loop: starts a round (RequestRefresh()) when the poll interval has
  // passed since the last periodic one, when a queue asked for one (PathTable::TakeAttention()
  // or TakeAnaRefresh(): a path error, an ANA status; both are taken every call), or when
  // `wake` (a kernel uevent about a controller). Returns the round started, or 0.
  uint64_t PollOnce(bool wake);
  // Returns when the next periodic round is due (monitor clock), or kNever (no periodic poll).
  int64_t next_poll_ns() const;
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  // Waits until path `i` (or, with i = -1, every path) has finished round `round`, at most
  // `timeout_ms` (real time). Returns true when it has.
  bool WaitRound(uint64_t round, int i, int64_t timeout_ms);
  // Refreshes path `i` in the calling thread (what a worker does for one round).
  void RefreshPath(int i);
  // Returns the paths whose refresh of `round` has not finished (for a warning).
  std::vector<int> Pending(uint64_t round) const;

  std::vector<PathReport> Reports() const;
  void set_on_change(std::function<void()> f) { on_change_ = std::move(f); }

 private:
  struct Slot {
    PathDesc desc;
    PathControl ctl;
    uint32_t ana_grpid = 0;
    int probe_ok = 0;
    bool kato_floor_warned = false;  // "fabrics path with KATO 0" logged (once per path)
    uint64_t done_round = 0;
  };

  void Worker(int i);
  void TryReopen(int i);  // takes mu_ only around in-memory work
  void ProbeMarginal(int i, int fd);
  void ApplyStep(int i, const PathStep& step, int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishFacts(int i, const PathDesc& d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ClosePathFd(int i) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  PathTable* const table_;
  CtrlAccess* const access_;
  const Clock* const clock_;
  const MonitorConfig cfg_;
  NamespaceIdentity want_ns_;  // path 0's namespace at open: a reopened path must match it

  mutable std::mutex mu_;
  std::condition_variable round_cv_;  // round_ moved or stop_
  std::condition_variable done_cv_;   // a slot's done_round moved
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mu_);
  // Per path: the last reopen attempt found a controller at the endpoint (not live yet, or
  // not usable); false when nothing is there.
  std::vector<bool> endpoint_present_ ABSL_GUARDED_BY(mu_);
  uint64_t round_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_poll_ns_ ABSL_GUARDED_BY(mu_) = kNever;
  bool started_ ABSL_GUARDED_BY(mu_) = false;  // workers run the rounds (else: inline)
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
  std::function<void()> on_change_;
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_PATH_MONITOR_H_
