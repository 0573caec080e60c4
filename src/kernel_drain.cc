// File: kernel_drain.cc
//
// DrainKernel(): a closing queue's bounded wait for its commands in the kernel.
#include "kernel_drain.h"

namespace nvme_mpath::internal {

bool DrainKernel(Transport* transport, const Clock* clock, int64_t bound_ns,
                 absl::FunctionRef<bool()> drained, absl::FunctionRef<void()> before_wait,
                 absl::FunctionRef<void(const Completion&)> completed) {
  const int64_t give_up = clock->NowNs() + bound_ns;
  while (!drained()) {
    if (clock->NowNs() >= give_up) return false;
    before_wait();
    Completion batch[64];
    const int n = transport->Reap(batch, 64, 1, 100'000'000);
    if (n < 0) return false;
    for (int i = 0; i < n; ++i) completed(batch[i]);
    if (n == 0 && !clock->AdvancesWhileWaiting()) return false;
  }
  return true;
}

}  // namespace nvme_mpath::internal
