// File: unsent.cc
//
// The bookkeeping of commands the kernel would not take (see unsent.h): off the hot path.
#include "unsent.h"

namespace nvme_mpath::internal {

// Submit() took nothing (r <= 0).
bool UnsentCommands::Refused(int r, int64_t now) {
  if (count_ == 0 || r == -EEXIST) return false;
  if (since_ns_ == 0) since_ns_ = now;
  last_err_ = r < 0 ? r : -EAGAIN;
  return true;
}

void UnsentCommands::TakenBack(uint32_t n, int64_t now) {
  count_ -= n < count_ ? n : count_;
  since_ns_ = count_ != 0 ? now : 0;  // the transport could not take all back
}

void DropAllUnsent(Transport* transport, absl::FunctionRef<void(uint64_t tag)> dropped) {
  uint64_t tags[64];
  for (;;) {
    const int n = transport->DropUnsent(tags, 64);
    for (int i = 0; i < n; ++i) dropped(tags[i]);
    if (n < 64) break;
  }
}

}  // namespace nvme_mpath::internal
