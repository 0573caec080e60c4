// File: clock.h
//
// Monotonic time source, injectable so that tests drive timers with a fake clock. Code that uses a
// clock asks it what it needs to know (AdvancesWhileWaiting), never which clock it is.
#ifndef NVME_MPATH_SRC_CLOCK_H_
#define NVME_MPATH_SRC_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace nvme_mpath::internal {

class Clock {
 public:
  virtual ~Clock() = default;
  // Returns monotonic nanoseconds.
  virtual int64_t NowNs() const = 0;
  // Returns true when time passes while a thread waits (in a Reap() with a timeout, say), so
  // that a loop which waits until NowNs() reaches a bound gets there. False for a clock that
  // moves only when told to: such a loop must stop when a wait brought nothing, since no wait
  // brings it nearer its bound.
  virtual bool AdvancesWhileWaiting() const = 0;
};

class MonotonicClock final : public Clock {
 public:
  int64_t NowNs() const override {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
  }
  bool AdvancesWhileWaiting() const override { return true; }
  // Returns the process-wide instance.
  static const MonotonicClock* Get() {
    static const MonotonicClock clock;
    return &clock;
  }
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_CLOCK_H_
