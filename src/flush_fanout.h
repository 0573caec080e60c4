// File: flush_fanout.h
//
// The fan-out of a Flush over the paths (the rule: write_ledger.h, docs/durability.md). A Flush
// takes one flush command per path with writes no flush covers, all at once while the queue has
// free slots; the rest are chained, each sent as one of those completes (the same slot, taken
// again); with no such path, one command down any usable path. These are the pure decisions of
// that fan-out; the queue takes the slots and sends the commands.
//
//   PlanFlush()       at submission: which paths get a command now, which are chained
//   NextFlushPath()   when a flush command succeeded: the next chained path, if any
//   FlushCompleted()  when a flush command succeeded: marks what it covers in the ledger
//
// Threading model: pure functions over the ledger, whose own rules apply (write_ledger.h).
#ifndef NVME_MPATH_SRC_FLUSH_FANOUT_H_
#define NVME_MPATH_SRC_FLUSH_FANOUT_H_

#include <array>
#include <cstdint>

#include "split_planner.h"
#include "transport.h"
#include "write_ledger.h"

namespace nvme_mpath::internal {

// A Flush as submitted.
struct FlushPlan {
  // Commands to take now: 1 when no path needs a flush (then `now` is 0: any path), else one
  // per path of `now`; 0 when the queue has no free slot (the Flush gets -EAGAIN).
  uint32_t commands = 0;
  uint32_t now = 0;    // paths (bit p) whose flush command is sent at once
  uint32_t later = 0;  // paths chained after those (IoPrivate::flush_todo)
  std::array<uint64_t, kMaxPaths> covers{};  // per path of `now`: completed(p) at submission
};

// Returns the plan of a Flush submitted now on a queue with `free_slots` free slots, over the
// first `npaths` paths of `ledger`: the paths with uncovered writes (FlushTargets), the lowest
// numbered ones first while slots last.
FlushPlan PlanFlush(const WriteLedger& ledger, int npaths, uint32_t free_slots);

// Removes the lowest path from `*todo` (not 0) and returns it.
int TakeFlushPath(uint32_t* todo);

// Returns the flush fragment for the chained path taken from `*todo` (completed(p) now: the
// writes completed since the Flush was submitted are covered too), or sets `*path` -1 when
// nothing is chained.
Fragment NextFlushPath(const WriteLedger& ledger, uint32_t* todo, int* path);

// A flush command with fragment `f` succeeded on path `path`: marks what it covers as flushed
// (a Flush with no target marks nothing). Returns true when it was for another path's writes
// (that path was not usable, or failed the flush: the flush went down another controller of
// the subsystem, which is where the data now lives, docs/durability.md).
bool FlushCompleted(WriteLedger& ledger, const Fragment& f, int path);

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_FLUSH_FANOUT_H_
