// File: wait_lists.cc
//
// The parked FIFO and the deadline list kept together (see wait_lists.h).
#include "wait_lists.h"

namespace nvme_mpath::internal {

void WaitLists::Park(Cmd* c, int64_t deadline_ns) {
  NVME_MPATH_ASSERT(c->state == CmdState::kParked);
  parked_.PushBack(c);
  deadlines_.Push(c, deadline_ns);
}

void WaitLists::Delay(Cmd* c, int64_t due_ns) {
  NVME_MPATH_ASSERT(c->state == CmdState::kDelayed);
  if (c->delay_kind == DelayKind::kWriteHold) ++holds_;
  deadlines_.Push(c, due_ns);
}

void WaitLists::Remove(Cmd* c) {
  NVME_MPATH_ASSERT(c->state == CmdState::kParked || c->state == CmdState::kDelayed);
  if (c->state == CmdState::kParked) {
    parked_.Remove(c);
  } else if (c->delay_kind == DelayKind::kWriteHold) {
    NVME_MPATH_ASSERT(holds_ != 0);
    --holds_;
  }
  if (c->queued()) deadlines_.Remove(c);  // not when TakeDue() popped it already
}

CmdList WaitLists::TakeParked() {
  CmdList all = parked_.TakeAll();
  for (Cmd* c = all.head; c != nullptr; c = c->next) deadlines_.Remove(c);
  return all;
}

void WaitLists::TakeDue(int64_t now, CmdList* ready, CmdList* expired) {
  while (DeadlineEntry* e = deadlines_.PopDue(now)) {
    Cmd* c = static_cast<Cmd*>(e);
    CmdList* to = c->state == CmdState::kParked ? expired : ready;
    Remove(c);
    to->PushBack(c);
  }
}

void WaitLists::RekeyParked(absl::FunctionRef<int64_t(const Cmd&)> deadline_of) {
  if (parked_.empty()) return;
  deadlines_.Rekey([deadline_of](const DeadlineEntry& e) {
    const Cmd& c = static_cast<const Cmd&>(e);
    return c.state == CmdState::kParked ? deadline_of(c) : c.due_ns;
  });
}

void WaitLists::EndHolds(int64_t now, absl::FunctionRef<bool(const Cmd&)> ended) {
  if (holds_ == 0) return;
  CmdList released;  // a delayed command is in no other list: its links are free
  for (DeadlineEntry* e : deadlines_) {
    Cmd* c = static_cast<Cmd*>(e);
    if (c->state == CmdState::kDelayed && c->delay_kind == DelayKind::kWriteHold &&
        c->due_ns > now && ended(*c))
      released.PushBack(c);
  }
  for (Cmd* c = released.head; c != nullptr; c = c->next) deadlines_.Update(c, now);
}

}  // namespace nvme_mpath::internal
