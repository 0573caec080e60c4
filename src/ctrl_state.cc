// File: ctrl_state.cc
#include "ctrl_state.h"

namespace nvme_mpath::internal {

CtrlState ParseCtrlState(std::string_view s) {
  if (s == "live") return CtrlState::kLive;
  if (s == "new") return CtrlState::kNew;
  if (s == "resetting") return CtrlState::kResetting;
  if (s == "connecting") return CtrlState::kConnecting;
  if (s.rfind("deleting", 0) == 0) return CtrlState::kDeleting;  // also "deleting (no IO)"
  if (s == "dead") return CtrlState::kDead;
  if (s.empty() || s == "gone") return CtrlState::kGone;
  return CtrlState::kUnknown;
}

const char* CtrlStateName(CtrlState s) {
  switch (s) {
    case CtrlState::kNew: return "new";
    case CtrlState::kLive: return "live";
    case CtrlState::kResetting: return "resetting";
    case CtrlState::kConnecting: return "connecting";
    case CtrlState::kDeleting: return "deleting";
    case CtrlState::kDead: return "dead";
    case CtrlState::kGone: return "gone";
    case CtrlState::kUnknown: return "unknown";
  }
  return "?";
}

}  // namespace nvme_mpath::internal
