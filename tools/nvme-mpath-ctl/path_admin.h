// File: path_admin.h — `nvme-mpath-ctl path disable|enable DEV`: asks running engines, through
// their stats segments (stats_shm.h: admin_want), to drain a path or take it back, and waits
// until each shows it. main.cc finds the engines and prints; everything between is here, with
// the clock, the sleep and the liveness check passed in, so that a unit test
// (tests/unit/ctl_path_test.cc) plays the engine's side (ApplyAdminRequests) inside the sleep,
// deterministically.
//
// For each engine that has DEV as a path: refused in head mode (the kernel picks the
// controller) and for an engine too old to take requests (a version 2 segment); otherwise the
// request is written, then the engine's published descriptor is watched until it shows the
// state asked for. For disable, the tool then waits until the path's in-flight count (summed
// over the engine's queues) is 0, unless no other path of the engine is usable: the disabled
// path then stays in use as the last resort, and waiting for it to drain would only time out.
// One deadline covers the whole command (--timeout-ms); a request the engine has not taken by
// then is withdrawn, so that it does not apply later, after the tool said it failed.
//
// Drained means: after the engine published the new state, no command was in flight on the
// path at one look. A queue that read the path table an instant before the change may still
// send one more command down it; it was counted in flight before the tool could look (the
// engine publishes after it changes the table, and the tool looks after it sees that), except
// for one racing by a few instructions.
#ifndef NVME_MPATH_CTL_PATH_ADMIN_H_
#define NVME_MPATH_CTL_PATH_ADMIN_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "model.h"
#include "stats_shm.h"

namespace nvme_mpath::ctl {

// Returns the index of the path of `paths` that `dev` names (its ng device, with or without
// /dev/, or its controller's name), or -1: the engine's own rule (Engine::SetPathEnabled).
int FindPath(const std::vector<internal::ShmPath>& paths, std::string_view dev);

// One engine to ask: its segment, opened read-write (StatsReader::Access::kReadWrite).
struct PathTarget {
  EngineRef engine;
  std::string segment;
  internal::StatsReader* reader = nullptr;
  int path = -1;  // FindPath()
};

struct PathWaitHooks {
  std::function<int64_t()> now_ms;      // a monotonic clock
  std::function<void(int ms)> sleep_ms;  // between looks
  std::function<bool(int pid)> alive;    // the engine's process still runs
};

// How often the tool looks while it waits.
inline constexpr int kPathPollMs = 10;

// Asks every target to disable (or enable) its path and waits for each, at most `timeout_ms`
// in all. Returns one result per target, in order.
std::vector<PathAdminResult> RunPathRequests(const std::vector<PathTarget>& targets, bool disable,
                                             int timeout_ms, const PathWaitHooks& hooks);

}  // namespace nvme_mpath::ctl

#endif  // NVME_MPATH_CTL_PATH_ADMIN_H_
