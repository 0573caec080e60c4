// File: split_planner.cc
//
// The transfer limit of one command (see split_planner.h).
#include "split_planner.h"

namespace nvme_mpath::internal {

SplitPlanner::SplitPlanner(uint32_t buf_lba_bytes, uint32_t noiob_lbas,
                           uint32_t max_transfer_bytes)
    : buf_lba_bytes_(buf_lba_bytes), noiob_lbas_(noiob_lbas) {
  NVME_MPATH_ASSERT(buf_lba_bytes != 0);
  max_transfer_bytes_ = max_transfer_bytes;
  SetMaxTransferBytes(max_transfer_bytes);
}

void SplitPlanner::SetMaxTransferBytes(uint32_t bytes) {
  if (bytes == 0) return;
  max_transfer_bytes_ = bytes;
  // MDTS counts interleaved metadata as data (NVMe Base Specification, Identify Controller
  // MDTS: "includes the length of metadata, if metadata is interleaved with the logical block
  // data"). A limit below one LBA still allows one LBA per command.
  uint32_t by_data = bytes / buf_lba_bytes_;
  if (by_data == 0) by_data = 1;
  max_lbas_data_ = by_data < kMaxNlb ? by_data : kMaxNlb;
}

}  // namespace nvme_mpath::internal
