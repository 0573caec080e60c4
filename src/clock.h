// File: clock.h
//
// Monotonic time source, injectable so that tests drive timers with a fake clock.
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
};

class MonotonicClock final : public Clock {
 public:
  int64_t NowNs() const override {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
  }
  // Returns the process-wide instance.
  static const MonotonicClock* Get() {
    static const MonotonicClock clock;
    return &clock;
  }
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_CLOCK_H_
