// File: ctrl_state.h
//
// CtrlState: an NVMe controller's state as the kernel shows it in sysfs ("state",
// drivers/nvme/host/core.c nvme_sysfs_show_state), as an enum. The string is parsed once where
// sysfs is read (topology.cc); every decision (path_decision.cc, FindPath()) compares the enum.
#ifndef NVME_MPATH_SRC_CTRL_STATE_H_
#define NVME_MPATH_SRC_CTRL_STATE_H_

#include <cstdint>
#include <string_view>

namespace nvme_mpath::internal {

enum class CtrlState : uint8_t {
  kNew,
  kLive,
  kResetting,
  kConnecting,
  kDeleting,      // "deleting" and "deleting (no IO)"
  kDead,
  kGone,          // not in sysfs, or its name now belongs to another endpoint
  kUnknown,       // a state this code does not know (treated as "not live, may return")
};

// Parses a sysfs state; "" and "gone" are kGone.
CtrlState ParseCtrlState(std::string_view sysfs);
// Returns the sysfs spelling ("live", "connecting", ..., "gone", "unknown").
const char* CtrlStateName(CtrlState s);
// Returns true when the kernel has given the controller up (deleting, dead, gone).
constexpr bool CtrlDeleted(CtrlState s) {
  return s == CtrlState::kDeleting || s == CtrlState::kDead || s == CtrlState::kGone;
}

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_CTRL_STATE_H_
