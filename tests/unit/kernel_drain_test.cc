// Close()'s bounded wait for the commands in the kernel: drained, the bound, a refused ring, a
// clock that does not move while waiting.
#include "kernel_drain.h"

#include <cerrno>

#include <gtest/gtest.h>

#include "support/fake_clock.h"
#include "support/fake_transport.h"

namespace nvme_mpath::internal {
namespace {

using testing::FakeClock;
using testing::FakeTransport;

// A clock moved by the test that says it advances while waiting (as the real one does).
class WaitingClock final : public Clock {
 public:
  int64_t NowNs() const override { return now_; }
  bool AdvancesWhileWaiting() const override { return true; }
  int64_t now_ = 0;
};

class KernelDrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(t_.SetFile(0, 3).ok());
    for (uint64_t tag = 1; tag <= 3; ++tag) ASSERT_EQ(t_.Prep(0, nvme_uring_cmd{}, tag, -1), 0);
    ASSERT_EQ(t_.Submit(), 3);
  }
  FakeTransport t_;
  int completed_ = 0;
  int before_wait_ = 0;
};

TEST_F(KernelDrainTest, ReapsUntilDrained) {
  FakeClock clock;
  t_.CompleteAll(0);
  EXPECT_TRUE(DrainKernel(
      &t_, &clock, kCloseWaitNs, [&] { return completed_ == 3; }, [&] { ++before_wait_; },
      [&](const Completion&) { ++completed_; }));
  EXPECT_EQ(completed_, 3);
  EXPECT_EQ(before_wait_, 1);
}

TEST_F(KernelDrainTest, NothingLeftIsDrainedAtOnce) {
  FakeClock clock;
  EXPECT_TRUE(DrainKernel(
      &t_, &clock, kCloseWaitNs, [] { return true; }, [&] { ++before_wait_; },
      [&](const Completion&) { ++completed_; }));
  EXPECT_EQ(before_wait_, 0);
}

TEST_F(KernelDrainTest, GivesUpAtTheBound) {
  WaitingClock clock;
  t_.on_wait = [&](int64_t wait_ns) {
    EXPECT_EQ(wait_ns, 100'000'000);  // one wait is at most 100 ms
    clock.now_ += wait_ns;
  };
  EXPECT_FALSE(DrainKernel(
      &t_, &clock, 1'000'000'000, [] { return false; }, [&] { ++before_wait_; },
      [&](const Completion&) { ++completed_; }));
  EXPECT_EQ(before_wait_, 10);
  EXPECT_EQ(clock.now_, 1'000'000'000);
}

TEST_F(KernelDrainTest, AClockThatStandsStillWhileWaitingGivesUpWhenNothingCame) {
  FakeClock clock;
  t_.Complete(0, 0);
  EXPECT_FALSE(DrainKernel(
      &t_, &clock, kCloseWaitNs, [&] { return completed_ == 3; }, [] {},
      [&](const Completion&) { ++completed_; }));
  EXPECT_EQ(completed_, 1);  // what came was handed over first
}

TEST_F(KernelDrainTest, ARingThisThreadMayNotUseGivesUp) {
  class RefusingTransport final : public Transport {
   public:
    CmdSlot Reserve(int, uint64_t, int) override { return {&cmd_, 0}; }
    int Submit() override { return 0; }
    int Reap(Completion*, int, int, int64_t) override { return -EEXIST; }
    int DropUnsent(uint64_t*, int) override { return 0; }
    absl::Status SetFile(int, int) override { return absl::OkStatus(); }
    int event_fd() const override { return -1; }

   private:
    nvme_uring_cmd cmd_{};
  } refusing;
  WaitingClock clock;
  EXPECT_FALSE(DrainKernel(
      &refusing, &clock, kCloseWaitNs, [] { return false; }, [] {},
      [&](const Completion&) { ++completed_; }));
  EXPECT_EQ(completed_, 0);
}

}  // namespace
}  // namespace nvme_mpath::internal
