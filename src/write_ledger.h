// File: write_ledger.h
//
// Which paths a Flush must reach. The NVMe base specification scopes a Flush to one controller:
// it "applies to all commands completed by the controller prior to the submission of the Flush".
// A flush sent down one path says nothing of the writes another controller completed, so the
// engine counts, per path, the data-modifying commands that completed there, and remembers, per
// path, how many of them a completed flush covers. A Flush then goes to every path with writes
// no flush covers yet (FlushTargets), as one command per path, and completes when all did.
// docs/durability.md states the rules and why.
//
//   completed(p)  data-modifying commands (write, write zeroes, deallocate, a raw command whose
//                 opcode transfers data to the device or none) that completed successfully on
//                 path p, on any queue, ever.
//   flushed(p)    the largest completed(p) a successful flush for path p was submitted after.
//   a Flush submitted now targets { p : completed(p) > flushed(p) }; none: one command down any
//   usable path (a flush is still a flush: it goes to the device and can fail).
//
// Threading model: one ledger per namespace, inside its PathTable (shared by every queue).
// Each queue owns one row of `completed` counters and is its only writer (relaxed load + store,
// no locked instruction per write); a queue beyond the kRows-th shares the overflow row, which
// it updates with an atomic add. A row keeps its counts when its queue closes (its writes still
// need a flush) and goes on counting for the next queue that takes it. Any queue reads all rows
// when a Flush is submitted (relaxed loads: a write whose completion the application saw before
// it submitted the Flush happened before that submission, so its count is seen) and raises
// `flushed` with a compare-and-swap when a flush command completes.
#ifndef NVME_MPATH_SRC_WRITE_LEDGER_H_
#define NVME_MPATH_SRC_WRITE_LEDGER_H_

#include <array>
#include <atomic>
#include <cstdint>

#include <nvme_mpath/io.h>

#include "split_planner.h"
#include "transport.h"

namespace nvme_mpath::internal {

static_assert(kMaxPaths <= 32, "FlushTargets() returns a 32-bit path mask");

// Returns the paths (bit p) with data-modifying commands completed that no flush covers:
// completed[p] > flushed[p], for p < npaths. Pure.
uint32_t FlushTargets(const uint64_t* completed, const uint64_t* flushed, int npaths);

// A flush command carries, instead of LBAs (a Flush has none), the path whose writes it is for
// and how many of them it covers (completed(target) when the Flush was submitted).
// kAnyPath: the Flush had no target (nothing to cover); any usable path will do.
inline constexpr uint32_t kFlushAnyPath = 0xffffffffu;
inline Fragment FlushFragment(uint32_t target, uint64_t covers) {
  return Fragment{covers, 0, target};
}
inline uint32_t FlushTarget(const Fragment& f) { return f.offset_lbas; }
inline uint64_t FlushCovers(const Fragment& f) { return f.slba; }

class WriteLedger {
 public:
  static constexpr int kRows = 64;  // one per queue; more queues share the overflow row

  struct alignas(64) Row {
    std::array<std::atomic<uint64_t>, kMaxPaths> completed{};
  };
  // A queue's handle on its row.
  struct Writer {
    Row* row = nullptr;
    bool shared = false;  // the overflow row: atomic adds
    int index = -1;       // the row's index, for Release()
  };

  WriteLedger() = default;
  WriteLedger(const WriteLedger&) = delete;
  WriteLedger& operator=(const WriteLedger&) = delete;

  // Takes a free row, or the shared overflow row when all kRows are taken.
  Writer Acquire();
  void Release(const Writer& w);

  // A data-modifying command completed on `path` (the queue that owns `w`, its thread).
  static void Count(const Writer& w, int path) {
    std::atomic<uint64_t>& c = w.row->completed[path];
    if (w.shared) [[unlikely]]
      c.fetch_add(1, std::memory_order_relaxed);
    else
      c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  // completed(p) and flushed(p) of the first `npaths` paths (any thread).
  void Read(int npaths, uint64_t* completed, uint64_t* flushed) const;
  // A flush for `path`, submitted when completed(path) was `covers`, succeeded (any thread).
  void MarkFlushed(int path, uint64_t covers);

 private:
  std::array<Row, kRows + 1> rows_{};  // rows_[kRows]: the overflow row
  std::atomic<uint64_t> taken_{0};     // bit i: rows_[i] belongs to a queue
  std::array<std::atomic<uint64_t>, kMaxPaths> flushed_{};
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_WRITE_LEDGER_H_
