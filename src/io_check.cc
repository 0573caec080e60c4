// File: io_check.cc
//
// The full check of an application's Io (see io_check.h).
#include "io_check.h"

#include <cerrno>

#include "command_builder.h"

namespace nvme_mpath::internal {

int CheckIo(const Io* io, uint64_t nsze, uint32_t depth, const SplitPlanner& planner,
            uint32_t* commands) {
  if (io == nullptr || io->done == nullptr) return -EINVAL;
  if (IsInFlight(*io)) return -EALREADY;  // before anything of it is touched
  *commands = 1;
  switch (io->op) {
    case IoOp::kRead:
    case IoOp::kWrite:
    case IoOp::kCompare:
      if (io->buf == nullptr || (reinterpret_cast<uintptr_t>(io->buf) & 3) != 0) return -EINVAL;
      if (io->md != nullptr && (reinterpret_cast<uintptr_t>(io->md) & 3) != 0) return -EINVAL;
      [[fallthrough]];
    case IoOp::kWriteZeroes:
    case IoOp::kVerify:
    case IoOp::kWriteUncorrectable:  // no data buffer
      if (io->nlb == 0) return -EINVAL;
      if (io->slba >= nsze || io->nlb > nsze - io->slba) return -ERANGE;
      *commands = planner.CountCommands(io->op, io->slba, io->nlb);
      break;
    case IoOp::kFlush:
      break;
    case IoOp::kDeallocate: {
      if (io->buf == nullptr || (reinterpret_cast<uintptr_t>(io->buf) & 3) != 0) return -EINVAL;
      if (io->nlb == 0 || io->nlb > kMaxDsmRanges) return -EINVAL;
      const auto* r = static_cast<const DsmRange*>(io->buf);
      for (uint32_t i = 0; i < io->nlb; ++i) {
        if (r[i].slba >= nsze || r[i].nlb > nsze - r[i].slba) return -ERANGE;
      }
      break;
    }
    case IoOp::kRaw:
      if ((io->raw.data_len & 3) != 0 || (io->raw.metadata_len & 3) != 0) return -EINVAL;
      if (io->raw.data_len != 0 &&
          (io->buf == nullptr || (reinterpret_cast<uintptr_t>(io->buf) & 3) != 0))
        return -EINVAL;
      if (planner.max_transfer_bytes() != 0 && io->raw.data_len > planner.max_transfer_bytes())
        return -E2BIG;
      break;
    default:
      return -EOPNOTSUPP;
  }
  if (*commands > depth) return -E2BIG;
  return 0;
}

}  // namespace nvme_mpath::internal
