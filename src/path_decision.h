// File: path_decision.h
//
// The control plane's decision for one path, as a pure function: NextPathState(previous
// state, what a refresh observed, now) -> next state (and the effects to apply). The refresh
// worker (path_monitor.h) gathers the observation (sysfs, ANA log), calls it, and applies the
// result to the shared PathState once. Nothing here does I/O or reads a clock.
#ifndef NVME_MPATH_SRC_PATH_DECISION_H_
#define NVME_MPATH_SRC_PATH_DECISION_H_

#include <cstdint>
#include <optional>
#include <vector>

#include <nvme_mpath/types.h>

#include "ctrl_state.h"
#include "path.h"

namespace nvme_mpath::internal {

// A multipath head (nvme_core.multipath=Y) is one path whose controller the kernel picks per
// command (nvme_find_path: a live controller whose path is optimized, else non-optimized). Its
// members are the head's controllers with the kernel's ANA state of each (sysfs ana_state).
struct HeadMemberState {
  CtrlState ctrl = CtrlState::kGone;
  std::optional<AnaState> ana;  // nullopt: unreadable
};
// The head as one path's controller state and ANA state:
//   * some live member is optimized / non-optimized: live, optimized / non-optimized (usable);
//   * else a live member is in ANA change: live, change (coming back);
//   * else a live member (inaccessible, persistent loss, unreadable): live, inaccessible or
//     persistent loss (not usable; persistent loss only when every live member says so);
//   * else a member is new / resetting / connecting (or unknown): that state (may return);
//   * else (no member, or all deleting / dead / gone): gone.
struct HeadReduction {
  CtrlState ctrl = CtrlState::kGone;
  AnaState ana = AnaState::kUnknown;
};
HeadReduction ReduceHead(const std::vector<HeadMemberState>& members);

// How long a controller must have been deleted (or absent), with no other controller at its
// endpoint coming up, before its path is kLost. Long enough for a reconnect that creates the
// new controller right after the old one went (nvme connect, udev autoconnect: the new one
// shows up as "new"/"connecting" at once), short next to no_path_timeout.
inline constexpr int64_t kLostAfterNs = 2'000'000'000;

// What one refresh of a path saw (gathered by the refresh worker, without locks).
struct PathObservation {
  enum class Ana : uint8_t {
    kNotRead,   // controller without ANA, or not live: nothing read
    kRead,      // `ana` holds the namespace's group state
    kFailed,    // the read failed (timeout, error status)
    kNoDevice,  // the read failed with ENODEV/ENXIO: the controller went away
  };
  bool fd_open = true;     // the path has an open fd (false: closed and not reopened)
  // For a closed path: a controller at its endpoint exists but is not usable yet (FindPath()
  // found it connecting, or could not identify it).
  bool endpoint_present = false;
  CtrlState ctrl = CtrlState::kLive;  // meaningful when fd_open
  PathHealth health = PathHealth::kLive;  // as published now (queues may have moved it)
  Ana ana_read = Ana::kNotRead;
  AnaState ana = AnaState::kUnknown;  // kRead: the group's state (kInaccessible: in no group)
  bool ana_supported = true;          // the controller reports ANA (CMIC bit 3)
};

// The control plane's state of one path: the decision's input and output.
struct PathControl {
  CtrlState ctrl = CtrlState::kLive;
  AnaState ana_raw = AnaState::kUnknown;  // as last read
  AnaState ana = AnaState::kUnknown;      // published
  PathHealth health = PathHealth::kLive;  // published
  PathOutlook outlook = PathOutlook::kMayReturn;  // published
  int64_t change_since_ns = 0;  // when the path entered ANA change (0: not in change)
  int64_t gone_since_ns = 0;    // when the controller was first seen deleted (0: not)
  bool anatt_exceeded = false;  // in ANA change for longer than ANATT now
  uint64_t anatt_exceeded_count = 0;  // how often a change outlasted ANATT
  bool was_live = true;
};

// The next state and the effects the caller applies.
struct PathStep {
  PathControl next;
  bool close_fd = false;        // the controller is deleted: close the path's fd
  bool reset = false;           // the controller was reset/reconnected/deleted: bump reset_gen
  bool anatt_exceeded_now = false;  // the change just outlasted ANATT (log once)
  bool lost_now = false;        // the path just became kLost (log once)
};

// Decides the next state of a path. `anatt_s` is Identify Controller's ANATT (0: no limit).
// Rules (docs/architecture.md, "Requeue"):
//   * a deleted controller (deleting, dead, gone) marks the path gone and closes its fd; it is
//     kLost once it has been deleted for kLostAfterNs with nothing at its endpoint, else
//     kMayReturn;
//   * a controller that is not live (new, resetting, connecting) fails the path: kMayReturn;
//   * on a live controller the ANA read decides: a good read makes the path live with the
//     group's state; ANA change is kComingBack, also past ANATT (which is only flagged:
//     `anatt_exceeded`, as the kernel only resets the controller then); a failed read fails
//     the path (kMayReturn), one with ENODEV marks it gone.
PathStep NextPathState(const PathControl& prev, const PathObservation& obs, int64_t now_ns,
                       uint32_t anatt_s);

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_PATH_DECISION_H_
