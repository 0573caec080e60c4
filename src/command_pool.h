// File: command_pool.h
//
// Cmd, one NVMe command of an I/O (an unsplit I/O has one, a split one a command per fragment),
// and CommandPool, a queue's fixed set of them: one slot per unit of its depth, allocated once,
// and the free list. Every change of a command's state goes through the pool, which checks it
// against the transitions below (NVME_MPATH_ASSERT, debug_assert.h) and, in builds with
// assertions, counts the commands in each state so that the queue can check its accounting.
//
//   kFree ──Take──► kTaken ◄──────────► kInflight ──Orphan (I/O deadline)──► kOrphaned
//                   │  ▲ ▲                   │                                    │
//                   │  │ └──► kParked        └──Release (completed) ──► kFree ◄───┘ Release
//                   │  └────► kDelayed                                  ▲    (late completion)
//                   └──Release (finished)───────────────────────────────┘
//
// kTaken is a command the queue holds in its hands within one call: just taken for a new I/O,
// just completed, or just due, on its way to being sent, set aside or finished. Nothing is taken
// when Submit(), Flush() or Poll() returns. So, at every return:
//     free + in flight + parked + delayed + orphaned == depth        (CheckAccounting)
//
// Threading model: a pool belongs to one QueueCore and is used by its thread only.
#ifndef NVME_MPATH_SRC_COMMAND_POOL_H_
#define NVME_MPATH_SRC_COMMAND_POOL_H_

#include <array>
#include <cstdint>
#include <memory>

#include <nvme_mpath/io.h>

#include "absl/base/attributes.h"

#include "deadline_list.h"
#include "debug_assert.h"
#include "split_planner.h"
#include "tag.h"

namespace nvme_mpath::internal {

enum class CmdState : uint8_t {
  kFree,      // on the free list
  kTaken,     // held by the queue within one call (see above)
  kInflight,  // prepared in the transport: sent, or waiting for the kernel to take it
  kParked,    // waiting for a usable path (until its no-path deadline)
  kDelayed,   // waiting out a retry delay, a write hold, or for its resend (DelayKind)
  kOrphaned,  // still in the kernel after its I/O was answered at the I/O deadline: the slot
              // (and its tag) stays taken until the kernel's completion comes, and is dropped
};
inline constexpr int kCmdStates = 6;
const char* CmdStateName(CmdState s);

// Returns true when a command may go from `from` to `to` (the diagram above).
constexpr bool IsAllowedMove(CmdState from, CmdState to) {
  switch (from) {
    case CmdState::kFree:
      return to == CmdState::kTaken;
    case CmdState::kTaken:
      return to == CmdState::kInflight || to == CmdState::kParked || to == CmdState::kDelayed ||
             to == CmdState::kFree;
    case CmdState::kInflight:
      return to == CmdState::kTaken || to == CmdState::kOrphaned || to == CmdState::kFree;
    case CmdState::kParked:
    case CmdState::kDelayed:
      return to == CmdState::kTaken;
    case CmdState::kOrphaned:
      return to == CmdState::kFree;
  }
  return false;
}

// Why a command waits in kDelayed.
enum class DelayKind : uint8_t {
  kRetry,      // same-path retry after the status's CRD delay (or 1 ms for our own -errno)
  kWriteHold,  // a write that may still execute on the failing path (the write hold rule)
  kResend,     // Prep() found no submission slot: sent again from the next Poll()
};

// A command waits for a time in the queue's DeadlineList through its DeadlineEntry (parked: its
// no-path deadline; delayed: when to act). Two cache lines exactly (alignas): a slot's address
// is then one shift from its index when a completion is matched (120 bytes cost 2 instructions
// per I/O more), and no slot shares a line with another.
struct alignas(64) Cmd : DeadlineEntry {
  Io* io = nullptr;          // null when free or orphaned
  uint64_t tag = 0;          // Tag::Pack() of the attempt in flight (checked on completion)
  Fragment frag;             // the LBAs it carries (SplitPlanner)
  uint32_t slot = 0;         // index in the pool (fixed)
  uint8_t path = 0;
  uint8_t attempt = 0;
  uint8_t retries = 0;
  int8_t sticky_path = -1;   // retry-same-path target, or a flush's (PathSnapshot::Pick)
  CmdState state = CmdState::kFree;
  DelayKind delay_kind = DelayKind::kRetry;
  uint32_t hold_reset_gen = 0;
  uint32_t fd_gen = 0;       // the path's fd generation (association) the attempt went down
  int32_t last_res = 0;
  int64_t first_fail_ns = 0;  // first failing completion (failover latency)
  int64_t sent_ns = 0;
  int64_t parked_ns = 0;      // parked: since when (its deadline: ParkDeadlineNs())
  Cmd* next = nullptr;        // free list, or the list the command waits in
  Cmd* prev = nullptr;
};

// An intrusive FIFO of commands (through Cmd::next/prev); a command is in at most one.
struct CmdList {
  Cmd* head = nullptr;
  Cmd* tail = nullptr;
  uint32_t size = 0;
  void PushBack(Cmd* c) {
    c->next = nullptr;
    c->prev = tail;
    if (tail) tail->next = c; else head = c;
    tail = c;
    ++size;
  }
  void Remove(Cmd* c) {
    NVME_MPATH_ASSERT(size != 0);
    if (c->prev) c->prev->next = c->next; else head = c->next;
    if (c->next) c->next->prev = c->prev; else tail = c->prev;
    c->next = c->prev = nullptr;
    --size;
  }
  // Returns the whole list and leaves this one empty.
  CmdList TakeAll() {
    CmdList all = *this;
    *this = CmdList{};
    return all;
  }
  bool empty() const { return head == nullptr; }
};

class CommandPool {
 public:
  // `depth` slots, 1..Tag::kMaxSlots.
  explicit CommandPool(uint32_t depth);
  CommandPool(const CommandPool&) = delete;
  CommandPool& operator=(const CommandPool&) = delete;

  uint32_t depth() const { return depth_; }
  uint32_t free() const { return free_count_; }

  // Takes a free slot (the caller checked free() != 0) for fragment `f` of `io`, with a fresh
  // attempt state: kFree -> kTaken.
  Cmd* Take(Io* io, const Fragment& f) { return TakeWith(io, f, 0, 0); }
  // Take() of a command whose first attempt goes down `path` at once (its attempt already 1:
  // the queue's Transmit() of a fresh command then stores neither).
  Cmd* TakeToSend(Io* io, const Fragment& f, int path) { return TakeWith(io, f, path, 1); }

  // Returns `c` to the free list: a command finished (kTaken, or kInflight when its completion
  // finishes it at once) or an orphan whose late completion came (kOrphaned).
  void Release(Cmd* c) {
    NVME_MPATH_ASSERT_MSG(IsAllowedMove(c->state, CmdState::kFree), CmdStateName(c->state));
    NVME_MPATH_ASSERT((c->io == nullptr) == (c->state == CmdState::kOrphaned));
    Count(c->state, CmdState::kFree);
    c->state = CmdState::kFree;
    c->io = nullptr;
    c->next = free_;
    free_ = c;
    ++free_count_;
  }

  // Moves `c` to `to` (not kFree: Release()), checking the transition.
  void Move(Cmd* c, CmdState to) {
    NVME_MPATH_ASSERT_MSG(IsAllowedMove(c->state, to) && to != CmdState::kFree,
                          CmdStateName(c->state));
    Count(c->state, to);
    c->state = to;
  }

  // Moves every command of `l` (a list taken out of the queue's wait lists) to kTaken and calls
  // `f` on it, in list order. `f` may link it into another list: its successor is read first.
  template <class F>
  void TakeEach(const CmdList& l, F&& f) {
    for (Cmd* c = l.head; c != nullptr;) {
      Cmd* next = c->next;
      Move(c, CmdState::kTaken);
      f(c);
      c = next;
    }
  }

  // Marks a command in flight whose I/O was answered at the deadline: kInflight -> kOrphaned.
  // Returns the I/O, which the command no longer refers to.
  Io* Orphan(Cmd* c) {
    Move(c, CmdState::kOrphaned);
    Io* io = c->io;
    c->io = nullptr;
    return io;
  }

  // Returns the command in `state` whose current attempt has `tag`, or null (a stale tag, or
  // one of another state). The stored tag holds slot, path, attempt and sequence number, so one
  // compare checks them all.
  Cmd* Find(uint64_t tag, CmdState state) {
    const uint32_t slot = Tag::Unpack(tag).slot;
    if (slot >= depth_) return nullptr;
    Cmd* c = &cmds_[slot];
    if (c->state != state || c->tag != tag) return nullptr;
    return c;
  }

  // Every slot, in slot order (for scans: the I/O deadline).
  Cmd* begin() { return cmds_.get(); }
  Cmd* end() { return cmds_.get() + depth_; }

  // Checks the accounting in builds with assertions: every slot is in exactly one state, the free
  // list holds the free ones, `parked` and `delayed` commands wait in the queue's lists, and none
  // is held in the queue's hands (kTaken). A no-op otherwise.
  void CheckAccounting(uint32_t parked, uint32_t delayed) const;

  // Commands in state `s`; counted only in builds with assertions (0 otherwise).
  uint32_t count(CmdState s) const { return count_[static_cast<int>(s)]; }

 private:
  ABSL_ATTRIBUTE_ALWAYS_INLINE Cmd* TakeWith(Io* io, const Fragment& f, int path,
                                             uint8_t attempt) {
    NVME_MPATH_ASSERT_MSG(free_ != nullptr && free_count_ != 0, "Take() from an empty pool");
    Cmd* c = free_;
    NVME_MPATH_ASSERT(c->state == CmdState::kFree && c->io == nullptr);
    free_ = c->next;
    --free_count_;
    Count(CmdState::kFree, CmdState::kTaken);
    c->state = CmdState::kTaken;
    c->io = io;
    c->path = static_cast<uint8_t>(path);
    c->attempt = attempt;
    c->retries = 0;
    c->sticky_path = -1;
    c->last_res = 0;
    c->first_fail_ns = 0;
    // Field by field: as one copy GCC builds the second word in a register first.
    c->frag.slba = f.slba;
    c->frag.nlb = f.nlb;
    c->frag.offset_lbas = f.offset_lbas;
    return c;
  }
  void Count(CmdState from, CmdState to) {
    if constexpr (kAssertsEnabled) {
      --count_[static_cast<int>(from)];
      ++count_[static_cast<int>(to)];
    }
  }

  const uint32_t depth_;
  std::unique_ptr<Cmd[]> cmds_;
  Cmd* free_ = nullptr;
  uint32_t free_count_ = 0;
  // Per state, kept in builds with assertions only (see Count()); always present, so that the
  // layout does not depend on the build type.
  std::array<uint32_t, kCmdStates> count_{};
};
static_assert(sizeof(Cmd) == 128, "see Cmd: keep it two cache lines");

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_COMMAND_POOL_H_
