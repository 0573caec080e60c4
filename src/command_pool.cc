// File: command_pool.cc
//
// The command slots of a queue (see command_pool.h).
#include "command_pool.h"

namespace nvme_mpath::internal {

const char* CmdStateName(CmdState s) {
  switch (s) {
    case CmdState::kFree: return "free";
    case CmdState::kTaken: return "taken";
    case CmdState::kInflight: return "in flight";
    case CmdState::kParked: return "parked";
    case CmdState::kDelayed: return "delayed";
    case CmdState::kOrphaned: return "orphaned";
  }
  return "?";
}

CommandPool::CommandPool(uint32_t depth) : depth_(depth), cmds_(new Cmd[depth]) {
  NVME_MPATH_ASSERT(depth >= 1 && depth <= Tag::kMaxSlots);
  for (uint32_t i = depth; i-- > 0;) {  // slot 0 first
    cmds_[i].slot = i;
    cmds_[i].next = free_;
    free_ = &cmds_[i];
  }
  free_count_ = depth;
  count_[static_cast<int>(CmdState::kFree)] = kAssertsEnabled ? depth : 0;
}

// O(1): it runs at the end of every Submit() and Poll() in builds with assertions.
void CommandPool::CheckAccounting(uint32_t parked, uint32_t delayed) const {
  if constexpr (!kAssertsEnabled) return;
  uint32_t total = 0;
  for (uint32_t n : count_) total += n;
  NVME_MPATH_ASSERT_MSG(total == depth_, "every slot is in exactly one state");
  NVME_MPATH_ASSERT(count(CmdState::kFree) == free_count_);
  NVME_MPATH_ASSERT(count(CmdState::kParked) == parked);
  NVME_MPATH_ASSERT(count(CmdState::kDelayed) == delayed);
  NVME_MPATH_ASSERT_MSG(count(CmdState::kTaken) == 0, "a command was left in the queue's hands");
  NVME_MPATH_ASSERT(free_count_ + count(CmdState::kInflight) + parked + delayed +
                        count(CmdState::kOrphaned) ==
                    depth_);
}

}  // namespace nvme_mpath::internal
