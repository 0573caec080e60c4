// What the queue does with a command that did not simply succeed: NextAction(), row by row.
#include "completion_action.h"

#include <cerrno>

#include <gtest/gtest.h>

#include "disposition.h"

namespace nvme_mpath::internal {
namespace {

constexpr int64_t kNow = 5'000'000'000;
constexpr int64_t kMs = 1'000'000;

CompletionAction Act(int res, const FailedCommand& f, const PathState& ps,
                     Resend resend = Resend::kAllowed, uint32_t retries = 0) {
  return NextAction(Decide(res, retries, 5, resend), res, 77, f, ps);
}

FailedCommand Read() { return FailedCommand{kNow, false, false, false, 1, -1}; }
FailedCommand Write() { return FailedCommand{kNow, false, true, false, 1, -1}; }

TEST(CompletionActionTest, CompleteRowFinishesWithTheErrnoOrEio) {
  PathState ps;
  CompletionAction a = Act(-EINVAL, Read(), ps);
  EXPECT_EQ(a.step, Step::kFinish);
  EXPECT_EQ(a.res, -EINVAL);
  EXPECT_EQ(a.status, 0);
  EXPECT_EQ(a.result, 77u);
  EXPECT_FALSE(a.report_path_error);
  a = Act(0x4281, Read(), ps);  // DNR: complete with the status
  EXPECT_EQ(a.step, Step::kFinish);
  EXPECT_EQ(a.res, -EIO);
  EXPECT_EQ(a.status, 0x4281);
}

TEST(CompletionActionTest, RetryWithoutCrdIsAtOnceAndWithCrdAfterCrdtTimes100ms) {
  PathState ps;
  ps.crdt = std::array<uint16_t, 3>{2, 5, 9};
  EXPECT_EQ(Act(0x281, Read(), ps).step, Step::kRetryNow);
  // CRD (status bits 12:11) = 2: crdt[1] x 100 ms, the kernel's crdt[crd-1] indexing.
  const int crd2 = 0x281 | (2 << 11);
  CompletionAction a = Act(crd2, Read(), ps);
  EXPECT_EQ(a.step, Step::kRetryLater);
  EXPECT_EQ(a.delay_kind, DelayKind::kRetry);
  EXPECT_EQ(a.due_ns, kNow + 500 * kMs);
  EXPECT_FALSE(a.report_path_error);
}

TEST(CompletionActionTest, OurOwnErrnoIsRetriedAfterOneMillisecondDoubling) {
  PathState ps;
  FailedCommand f = Read();
  for (int64_t ms : {1, 2, 4, 8, 16, 16}) {
    const CompletionAction a = Act(-EAGAIN, f, ps);
    EXPECT_EQ(a.step, Step::kRetryLater);
    EXPECT_EQ(a.due_ns, kNow + ms * kMs) << "retry " << int(f.retries);
    ++f.retries;
  }
}

TEST(CompletionActionTest, RetryOutOfTimeFinishesWithItsOwnError) {
  PathState ps;
  FailedCommand f = Read();
  f.expired = true;
  const CompletionAction a = Act(0x281, f, ps);
  EXPECT_EQ(a.step, Step::kFinish);
  EXPECT_EQ(a.res, -EIO);
  EXPECT_EQ(a.status, 0x281);
}

TEST(CompletionActionTest, PathErrorFailsOverAtOnceAndIsReported) {
  PathState ps;
  for (int res : {0x370, -EINTR, 0x302, -ENODEV}) {
    const CompletionAction a = Act(res, Read(), ps);
    EXPECT_EQ(a.step, Step::kFailoverNow) << res;
    EXPECT_TRUE(a.report_path_error) << res;
  }
}

TEST(CompletionActionTest, FailoverOutOfTimeIsTimedOutAndNotReported) {
  PathState ps;
  FailedCommand f = Read();
  f.expired = true;
  const CompletionAction a = Act(-EINTR, f, ps);
  EXPECT_EQ(a.step, Step::kFinish);
  EXPECT_EQ(a.res, -ETIMEDOUT);
  EXPECT_EQ(a.result, 0u);
  EXPECT_FALSE(a.report_path_error);
}

TEST(CompletionActionTest, CommandThatMustNotRunTwiceFinishesButTheErrorIsReported) {
  PathState ps;
  CompletionAction a = Act(-EINTR, Read(), ps, Resend::kIfNotExecuted);
  EXPECT_EQ(a.step, Step::kFinish);
  EXPECT_EQ(a.res, -EINTR);
  EXPECT_TRUE(a.report_path_error);
  // Even out of time: it is not resent, so the deadline does not change its error.
  FailedCommand f = Read();
  f.expired = true;
  a = Act(-EINTR, f, ps, Resend::kIfNotExecuted);
  EXPECT_EQ(a.res, -EINTR);
  EXPECT_TRUE(a.report_path_error);
  // Proved not executed (ANA refusal): failed over.
  EXPECT_EQ(Act(0x302, Read(), ps, Resend::kIfNotExecuted).step, Step::kFailoverNow);
}

TEST(CompletionActionTest, WriteThatMayStillExecuteIsHeldForThePathsRuleOrTheOption) {
  PathState ps;
  ps.write_hold_ns = 6'000 * kMs;
  CompletionAction a = Act(-EINTR, Write(), ps);
  EXPECT_EQ(a.step, Step::kFailoverLater);
  EXPECT_EQ(a.delay_kind, DelayKind::kWriteHold);
  EXPECT_EQ(a.due_ns, kNow + 6'000 * kMs);
  EXPECT_TRUE(a.report_path_error);
  FailedCommand f = Write();
  f.write_hold_ns = 0;  // the option overrides the path's rule, even with 0: still a hold
  a = Act(0x371, f, ps);
  EXPECT_EQ(a.step, Step::kFailoverLater);
  EXPECT_EQ(a.due_ns, kNow);
  // Refused by the target or never sent: resent at once.
  for (int res : {0x370, 0x302, 0x008, -EBADF})
    EXPECT_EQ(Act(res, Write(), ps).step, Step::kFailoverNow) << res;
  // A read is never held.
  EXPECT_EQ(Act(-EINTR, Read(), ps).step, Step::kFailoverNow);
}

TEST(CompletionActionTest, HeadModeResendsToTheHeadAfterItsBackoff) {
  PathState ps;
  FailedCommand f = Read();
  f.head = true;
  f.attempt = 3;
  const CompletionAction a = Act(-EINTR, f, ps);
  EXPECT_EQ(a.step, Step::kFailoverLater);
  EXPECT_EQ(a.delay_kind, DelayKind::kRetry);
  EXPECT_EQ(a.due_ns, kNow + HeadResendDelayNs(3));
  // A write that may still execute waits out its hold first, in head mode too.
  f.modifies_data = true;
  EXPECT_EQ(Act(-EINTR, f, ps).delay_kind, DelayKind::kWriteHold);
}

TEST(CompletionActionTest, StatusAndErrnoOfAResult) {
  EXPECT_EQ(StatusOf(-EINTR), 0);
  EXPECT_EQ(StatusOf(0x371), 0x371);
  EXPECT_EQ(ErrnoOf(-EINTR), -EINTR);
  EXPECT_EQ(ErrnoOf(0x371), -EIO);
}

}  // namespace
}  // namespace nvme_mpath::internal

namespace nvme_mpath::internal {
namespace {

TEST(DecideForTest, RawCommandsAreResentOnlyIfNotExecutedUnlessIdempotent) {
  Io raw;
  raw.op = IoOp::kRaw;
  EXPECT_FALSE(DecideFor(raw, -EINTR, 0, 5, false).resend);  // may have executed
  EXPECT_TRUE(DecideFor(raw, 0x302, 0, 5, false).resend);    // ANA: refused, not executed
  raw.raw.idempotent = true;
  EXPECT_TRUE(DecideFor(raw, -EINTR, 0, 5, false).resend);
  Io read;
  EXPECT_TRUE(DecideFor(read, -EINTR, 0, 5, false).resend);
}

TEST(DecideForTest, HeadModeEinvalIsNoPathOnlyForCommandsTheEngineBuilt) {
  Io read, raw;
  raw.op = IoOp::kRaw;
  EXPECT_EQ(DecideFor(read, -EINVAL, 0, 5, true).disposition, Disposition::kFailover);
  EXPECT_EQ(DecideFor(read, -EINVAL, 0, 5, false).disposition, Disposition::kComplete);
  EXPECT_EQ(DecideFor(raw, -EINVAL, 0, 5, true).disposition, Disposition::kComplete);
}

}  // namespace
}  // namespace nvme_mpath::internal
