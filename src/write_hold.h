// File: write_hold.h
//
// How long a write that may still execute on a failing path (MayStillExecute, disposition.h) is
// held before it is resent on another path: until the target must have torn the failing
// association down, so that the old copy can no longer land after a newer write.
//
// A target detects a lost host through keep-alive. With traffic-based keep-alive (TBKAS: any
// command restarts its timer; nvmet advertises it) it tears the association down up to
// 2 x KATO after the last traffic it saw, without TBKAS up to 1 x KATO after the last Keep
// Alive. The host does not know when that last traffic was; it precedes the failing completion
// the hold is measured from by up to one more KATO. So: 3 x KATO with TBKAS, 2 x KATO without,
// and then the controller may take up to its Command Quiesce Time (CQT, Identify Controller) to
// quiesce what it had in flight. This is the bound discussed for the kernel's own delayed
// failover (linux-nvme, 2025: "m * kato + cqt, where m = TBKAS ? 3 : 2"); neither the kernel
// nor SPDK holds writes today.
//
// Pure functions, computed by the control plane when a path is added and again on every reopen
// (the new association's Identify Controller and KATO), published in PathState::write_hold_ns.
#ifndef NVME_MPATH_SRC_WRITE_HOLD_H_
#define NVME_MPATH_SRC_WRITE_HOLD_H_

#include <cstdint>
#include <string_view>

namespace nvme_mpath::internal {

// The facts of one association the hold depends on.
struct WriteHoldFacts {
  uint32_t kato_ms = 0;  // keep-alive timeout in effect (sysfs "kato"); 0 = off or unknown
  uint16_t cqt_ms = 0;   // Command Quiesce Time (Identify Controller); 0 = not reported
  bool tbkas = false;    // traffic-based keep-alive (Identify Controller CTRATT bit 6)
  bool fabrics = true;   // a fabrics transport (tcp, rdma, fc, loop): keep-alive is the bound
};

// The KATO assumed on a fabrics path that reports KATO 0: the kernel's default
// (NVME_DEFAULT_KATO, 5 s, what `nvme connect` uses without --keep-alive-tmo). A 0 in sysfs is
// most often "not reported"; when keep-alive really is off no finite hold is safe, so the engine
// warns once per path (set write_hold_ms, or connect with a KATO).
inline constexpr uint32_t kFabricsKatoFloorMs = 5000;

// Returns true when `f` is a fabrics path without a KATO, i.e. the floor applies.
constexpr bool UsesKatoFloor(const WriteHoldFacts& f) { return f.fabrics && f.kato_ms == 0; }

// Returns the write hold in ns: (TBKAS ? 3 : 2) x KATO + CQT. On a fabrics path with KATO 0:
// 3 x kFabricsKatoFloorMs + CQT (the larger multiplier, since nothing is known). On PCIe (no
// keep-alive; the controller is reset or disabled before a cancelled command completes): CQT.
int64_t WriteHoldNs(const WriteHoldFacts& f);

// Returns true for a transport name (sysfs "transport") that is not PCIe.
bool IsFabricsTransport(std::string_view transport);

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_WRITE_HOLD_H_
