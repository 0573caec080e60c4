// File: split_planner.h
//
// SplitPlanner: where an I/O is cut into commands. A read, write or compare is cut at the
// strictest transfer limit of all paths (PathTable::MaxTransferBytes(): MDTS, max_hw_sectors,
// max_segments; interleaved metadata counts as data) and at NOIOB boundaries; a write zeroes,
// which moves no data, at NOIOB boundaries and at the 16-bit NLB field. Nothing else is split.
//
// Validation counts the commands of an I/O (CountCommands, to reject one larger than the queue
// and to reserve its slots) and submission walks them (ForEachFragment): both run the same loop,
// so they cannot disagree about how many commands an I/O takes.
//
// Threading model: a planner belongs to one QueueCore and is used by its thread only.
#ifndef NVME_MPATH_SRC_SPLIT_PLANNER_H_
#define NVME_MPATH_SRC_SPLIT_PLANNER_H_

#include <cstdint>

#include <nvme_mpath/io.h>

#include "debug_assert.h"

namespace nvme_mpath::internal {

// NLB is a 16-bit 0's based field: one command carries at most 65536 LBAs.
inline constexpr uint32_t kMaxNlb = 65536;

// One command's part of an I/O: `nlb` LBAs at `slba`, `offset_lbas` LBAs into the I/O's buffers.
struct Fragment {
  uint64_t slba = 0;
  uint32_t nlb = 0;
  uint32_t offset_lbas = 0;
};

class SplitPlanner {
 public:
  // `buf_lba_bytes`: bytes of one LBA in Io::buf (data, plus its metadata on an extended-LBA
  // format); `noiob_lbas`: the optimal I/O boundary, 0 = none; `max_transfer_bytes`: 0 = none.
  SplitPlanner(uint32_t buf_lba_bytes, uint32_t noiob_lbas, uint32_t max_transfer_bytes);

  // Follows the paths' transfer limit, which a reopen may change; 0 (none known) keeps it.
  void SetMaxTransferBytes(uint32_t bytes);
  uint32_t max_transfer_bytes() const { return max_transfer_bytes_; }

  // Returns the most LBAs one command of a read, write, compare or write zeroes may carry.
  // Write Zeroes and Write Uncorrectable move no data: only their NLB field limits them. Verify
  // moves none either, but controllers bound it by a Verify Size Limit (VSL, NVM Command Set
  // Identify Controller; QEMU's default equals its MDTS and refuses more with Invalid Field, as
  // lab.pcie saw): the engine does not read VSL, so it splits a Verify at the transfer limit,
  // as a read of the same LBAs, which no controller we know bounds more tightly.
  uint32_t MaxLbas(IoOp op) const { return Unbounded(op) ? kMaxNlb : max_lbas_data_; }
  static bool Unbounded(IoOp op) {
    return op == IoOp::kWriteZeroes || op == IoOp::kWriteUncorrectable;
  }

  // Returns true when the `nlb` (>= 1; 0 wraps to false) LBAs at `slba` of a read, write or
  // compare fit in one command: the hot path's check, inline.
  bool FitsOneCommand(uint64_t slba, uint32_t nlb) const {
    return nlb - 1 < max_lbas_data_ && (noiob_lbas_ == 0 || slba % noiob_lbas_ + nlb <= noiob_lbas_);
  }

  // Calls `fn(const Fragment&)` for each command of the `nlb` (>= 1) LBAs at `slba` of an I/O of
  // `op` (read, write, compare or write zeroes), in LBA order. Returns how many there are.
  template <typename Fn>
  uint32_t ForEachFragment(IoOp op, uint64_t slba, uint32_t nlb, Fn&& fn) const {
    NVME_MPATH_ASSERT(nlb != 0);
    NVME_MPATH_ASSERT(op == IoOp::kRead || op == IoOp::kWrite || op == IoOp::kCompare ||
                      op == IoOp::kVerify || Unbounded(op));
    const uint32_t max = MaxLbas(op);
    Fragment f{slba, 0, 0};
    uint32_t n = 0;
    for (uint32_t left = nlb; left != 0; left -= f.nlb) {
      f.nlb = left < max ? left : max;
      if (noiob_lbas_ != 0) {
        const uint64_t to_boundary = noiob_lbas_ - f.slba % noiob_lbas_;
        if (f.nlb > to_boundary) f.nlb = static_cast<uint32_t>(to_boundary);
      }
      NVME_MPATH_ASSERT(f.nlb >= 1 && f.nlb <= max);
      fn(static_cast<const Fragment&>(f));
      ++n;
      f.slba += f.nlb;
      f.offset_lbas += f.nlb;
    }
    return n;
  }

  // Returns how many commands ForEachFragment() would make.
  uint32_t CountCommands(IoOp op, uint64_t slba, uint32_t nlb) const {
    return ForEachFragment(op, slba, nlb, [](const Fragment&) {});
  }

 private:
  const uint32_t buf_lba_bytes_;
  const uint32_t noiob_lbas_;
  uint32_t max_transfer_bytes_ = 0;
  uint32_t max_lbas_data_ = kMaxNlb;  // per read/write/compare command, from the transfer limit
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_SPLIT_PLANNER_H_
