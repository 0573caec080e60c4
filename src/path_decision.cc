// File: path_decision.cc
#include "path_decision.h"

#include "ana.h"

namespace nvme_mpath::internal {

const char* PathOutlookName(PathOutlook o) {
  switch (o) {
    case PathOutlook::kUsable: return "usable";
    case PathOutlook::kComingBack: return "coming-back";
    case PathOutlook::kMayReturn: return "may-return";
    case PathOutlook::kLost: return "lost";
  }
  return "?";
}

PathStep NextPathState(const PathControl& prev, const PathObservation& obs, int64_t now_ns,
                       uint32_t anatt_s) {
  PathStep out;
  PathControl& n = out.next;
  n = prev;
  n.health = obs.health;
  n.ctrl = obs.fd_open ? obs.ctrl : CtrlState::kGone;
  bool may_come_back = false;  // kComingBack
  if (CtrlDeleted(n.ctrl)) {
    // Deleted: the fd is useless (-ENODEV); the path waits for the endpoint to come back.
    if (obs.fd_open) {
      out.close_fd = true;
      out.reset = true;
    }
    n.health = PathHealth::kGone;
    n.was_live = false;
    if (n.gone_since_ns == 0) n.gone_since_ns = now_ns;
    n.change_since_ns = 0;
    n.anatt_exceeded = false;
  } else if (n.ctrl != CtrlState::kLive) {
    // Resetting / connecting: the kernel fails I/O with 0x370 until it is live again.
    if (prev.was_live) out.reset = true;
    n.was_live = false;
    n.gone_since_ns = 0;
    if (n.health == PathHealth::kLive) n.health = PathHealth::kFailed;
  } else {
    n.gone_since_ns = 0;
    if (!prev.was_live) out.reset = true;
    n.was_live = true;
    switch (obs.ana_supported ? obs.ana_read : PathObservation::Ana::kRead) {
      case PathObservation::Ana::kNotRead:
        break;  // nothing new
      case PathObservation::Ana::kFailed:
        if (n.health == PathHealth::kLive) n.health = PathHealth::kFailed;
        break;
      case PathObservation::Ana::kNoDevice:
        n.health = PathHealth::kGone;
        break;
      case PathObservation::Ana::kRead: {
        const AnaState raw = obs.ana_supported ? obs.ana : AnaState::kOptimized;
        n.ana_raw = raw;
        n.ana = raw;
        n.health = PathHealth::kLive;
        // ANATT is flagged, not acted on: the kernel resets the controller when it expires
        // (nvme_anatt_timeout) and keeps I/O queued while the controller is live.
        const AnaState eff = EffectiveAnaState(raw, now_ns, anatt_s, &n.change_since_ns);
        n.anatt_exceeded = raw == AnaState::kChange && eff == AnaState::kInaccessible;
        if (n.anatt_exceeded && !prev.anatt_exceeded) {
          out.anatt_exceeded_now = true;
          ++n.anatt_exceeded_count;
        }
        may_come_back = raw == AnaState::kChange;
        break;
      }
    }
  }
  // The outlook, from what was just decided.
  if (n.health == PathHealth::kLive && obs.fd_open && AnaUsable(n.ana)) {
    n.outlook = PathOutlook::kUsable;
  } else if (may_come_back) {
    n.outlook = PathOutlook::kComingBack;
  } else if (CtrlDeleted(n.ctrl) && !obs.endpoint_present &&
             now_ns - n.gone_since_ns >= kLostAfterNs) {
    n.outlook = PathOutlook::kLost;
  } else {
    n.outlook = PathOutlook::kMayReturn;
  }
  out.lost_now = n.outlook == PathOutlook::kLost && prev.outlook != PathOutlook::kLost;
  return out;
}

HeadReduction ReduceHead(const std::vector<HeadMemberState>& members) {
  bool optimized = false, non_optimized = false, change = false, live = false;
  bool all_lost = true;  // every live member in persistent loss
  const HeadMemberState* pending = nullptr;  // a member that may come back
  for (const HeadMemberState& m : members) {
    if (m.ctrl == CtrlState::kLive) {
      live = true;
      const AnaState a = m.ana.value_or(AnaState::kUnknown);
      optimized |= a == AnaState::kOptimized;
      non_optimized |= a == AnaState::kNonOptimized;
      change |= a == AnaState::kChange;
      all_lost &= a == AnaState::kPersistentLoss;
    } else if (!CtrlDeleted(m.ctrl) && pending == nullptr) {
      pending = &m;
    }
  }
  if (optimized) return {CtrlState::kLive, AnaState::kOptimized};
  if (non_optimized) return {CtrlState::kLive, AnaState::kNonOptimized};
  if (change) return {CtrlState::kLive, AnaState::kChange};
  if (live) return {CtrlState::kLive, all_lost ? AnaState::kPersistentLoss : AnaState::kInaccessible};
  if (pending != nullptr) return {pending->ctrl, AnaState::kUnknown};
  return {CtrlState::kGone, AnaState::kUnknown};
}

}  // namespace nvme_mpath::internal
