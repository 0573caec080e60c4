// File: tag.h
//
// The mpath tag: the io_uring user_data of every command in flight. It names the command slot,
// the path it went down and the attempt, plus a sequence number, so that a completion is always
// matched to the path it used and a stale completion (from an attempt the engine no longer
// waits for) can never be taken for the current one. The role REQ_MPATH plays in the kernel.
//
//   bits  0..19  command slot (up to 1M commands per queue)
//   bits 20..23  path index (kMaxPaths = 16)
//   bits 24..31  attempt number (wraps)
//   bits 32..63  sequence number of the attempt (per queue, wraps after 2^32 attempts)
#ifndef NVME_MPATH_SRC_TAG_H_
#define NVME_MPATH_SRC_TAG_H_

#include <cstdint>

#include "transport.h"

namespace nvme_mpath::internal {

struct Tag {
  uint32_t slot = 0;
  uint8_t path = 0;
  uint8_t attempt = 0;
  uint32_t seq = 0;

  static constexpr uint32_t kMaxSlots = 1u << 20;

  constexpr uint64_t Pack() const {
    return uint64_t{slot & (kMaxSlots - 1)} | uint64_t{path & 0xfu} << 20 |
           uint64_t{attempt} << 24 | uint64_t{seq} << 32;
  }
  static constexpr Tag Unpack(uint64_t v) {
    return Tag{static_cast<uint32_t>(v & (kMaxSlots - 1)), static_cast<uint8_t>((v >> 20) & 0xf),
               static_cast<uint8_t>(v >> 24), static_cast<uint32_t>(v >> 32)};
  }
};
static_assert(kMaxPaths <= 16, "the tag has 4 bits for the path");

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_TAG_H_
