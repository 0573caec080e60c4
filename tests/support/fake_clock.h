// File: support/fake_clock.h
//
// A clock that moves only when a test says so.
#ifndef NVME_MPATH_TESTS_FAKE_CLOCK_H_
#define NVME_MPATH_TESTS_FAKE_CLOCK_H_

#include "clock.h"

namespace nvme_mpath::testing {

class FakeClock final : public internal::Clock {
 public:
  int64_t NowNs() const override { return now_; }
  bool AdvancesWhileWaiting() const override { return false; }  // moves only by Advance()
  void Advance(int64_t ns) { now_ += ns; }
  void AdvanceMs(int64_t ms) { now_ += ms * 1'000'000; }

 private:
  int64_t now_ = 1'000'000'000;
};

}  // namespace nvme_mpath::testing

#endif  // NVME_MPATH_TESTS_FAKE_CLOCK_H_
