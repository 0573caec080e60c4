// How long Poll() may wait in the kernel: the caller's timeout and every reason to wake early.
#include "poll_wait.h"

#include <gtest/gtest.h>

#include "unsent.h"

namespace nvme_mpath::internal {
namespace {

constexpr int64_t kNow = 1'000'000'000;
constexpr int64_t kMs = 1'000'000;

TEST(PollWaitTest, WithoutATimeoutWaitsForACompletion) {
  EXPECT_EQ(PollWaitNs(kNow, PollWakeups{}), -1);
}

TEST(PollWaitTest, TheCallersTimeoutBoundsTheWait) {
  EXPECT_EQ(PollWaitNs(kNow, PollWakeups{kNow + 5 * kMs}), 5 * kMs);
}

TEST(PollWaitTest, ATimerWakesItSlicedSoThatPathChangesAreNoticed) {
  PollWakeups w;
  w.timers = true;
  w.next_timer_ns = kNow + 3 * kMs;
  EXPECT_EQ(PollWaitNs(kNow, w), 3 * kMs);
  w.next_timer_ns = kNow + 500 * kMs;
  EXPECT_EQ(PollWaitNs(kNow, w), kParkedPollSliceNs);
  w.next_timer_ns = kNoTimeNs;  // waiting with no deadline still wakes each slice
  EXPECT_EQ(PollWaitNs(kNow, w), kParkedPollSliceNs);
  w.next_timer_ns = kNow - 1;  // already due: do not wait
  EXPECT_EQ(PollWaitNs(kNow, w), 0);
  w.timers = false;  // no timers: its time is not read
  EXPECT_EQ(PollWaitNs(kNow, w), -1);
}

TEST(PollWaitTest, TheIoDeadlineWakesItEvenWhenTheRingIsSilent) {
  PollWakeups w;
  w.deadline_ns = kNow + 50 * kMs;
  w.io_deadline_ns = kNow + 20 * kMs;
  EXPECT_EQ(PollWaitNs(kNow, w), 20 * kMs);
}

TEST(PollWaitTest, UnsentCommandsAreResubmittedSoon) {
  PollWakeups w;
  w.unsent = true;
  EXPECT_EQ(PollWaitNs(kNow, w), UnsentCommands::kRetryNs);
  w.deadline_ns = kNow;  // the caller's timeout is over: no wait at all
  EXPECT_EQ(PollWaitNs(kNow, w), 0);
}

}  // namespace
}  // namespace nvme_mpath::internal
