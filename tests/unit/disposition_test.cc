// The disposition table (src/disposition.h), row by row, with and without retry budget left.
// docs/architecture.md ("Failure handling") names the test of each row.
#include "disposition.h"
#include "queue.h"

#include <cerrno>
#include <climits>

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

constexpr uint32_t kBudget = 5;

std::string Describe(int res) {
  char b[64];
  snprintf(b, sizeof(b), "res=%d (0x%x) %s", res, static_cast<unsigned>(res), StatusName(res));
  return b;
}

// Returns the disposition with budget left (first attempt) and with the budget spent.
Disposition First(int res) { return Decide(res, 0, kBudget).disposition; }
Disposition Spent(int res) { return Decide(res, kBudget, kBudget).disposition; }

TEST(DispositionTest, SuccessAndCodeZeroStatusesAreOk) {
  // A status whose code (0x7ff) is 0 is a success whatever More/CRD/DNR say.
  for (int res : {0, 0x2000, 0x0800, 0x1800, 0x4000, 0x6000, 0x7800}) {
    const Decision d = Decide(res, 0, kBudget);
    EXPECT_TRUE(d.ok) << Describe(res);
    EXPECT_EQ(d.disposition, Disposition::kComplete) << Describe(res);
    EXPECT_TRUE(Decide(res, kBudget, kBudget).ok) << Describe(res);
  }
}

TEST(DispositionTest, NonDnrStatusesRetryUntilBudgetSpent) {
  // Kernel parity (nvme_decide_disposition: RETRY for everything but DNR and path errors), with
  // or without CRD: media, command and generic errors, namespace not ready, vendor specific.
  for (int res : {0x0806, 0x1006, 0x1806, 0x082, 0x006, 0x004, 0x281, 0x280, 0x285, 0x287, 0x080,
                  0x002, 0x001, 0x00b, 0x7ff, 0x2281}) {
    EXPECT_EQ(First(res), Disposition::kRetrySamePath) << Describe(res);
    EXPECT_EQ(Decide(res, kBudget - 1, kBudget).disposition, Disposition::kRetrySamePath)
        << Describe(res);
    EXPECT_EQ(Spent(res), Disposition::kComplete) << Describe(res);
    EXPECT_FALSE(Decide(res, 0, kBudget).ok) << Describe(res);
  }
  EXPECT_EQ(Decide(0x281, 0, 0).disposition, Disposition::kComplete);  // max_retries = 0
}

TEST(DispositionTest, DnrCompletesAtOnce) {
  for (int res : {0x4281, 0x4002, 0x4302, 0x4370, 0x4371, 0x4806, 0x4022, 0x4008, 0x4082,
                  0x6281}) {
    EXPECT_EQ(First(res), Disposition::kComplete) << Describe(res);
    EXPECT_FALSE(Decide(res, 0, kBudget).ok) << Describe(res);
  }
}

TEST(DispositionTest, AnaErrorsFailOverWithAnaRefresh) {
  for (int res : {0x301, 0x302, 0x303, 0x2301, 0x2302, 0x2303, 0x0b02}) {
    EXPECT_EQ(First(res), Disposition::kAnaFailover) << Describe(res);
    EXPECT_EQ(Spent(res), Disposition::kAnaFailover) << Describe(res);  // no budget for failover
    EXPECT_EQ(Decide(res, 0, kBudget).error_class, ErrorClass::kAna) << Describe(res);
  }
}

TEST(DispositionTest, PathErrorsFailOver) {
  for (int res : {0x300, 0x360, 0x370, 0x371, 0x2370, 0x2371, 0x37f, 0x3ff}) {
    EXPECT_EQ(First(res), Disposition::kFailover) << Describe(res);
    EXPECT_EQ(Spent(res), Disposition::kFailover) << Describe(res);
  }
}

TEST(DispositionTest, TransientTransportAndSqDeletionFailOver) {
  for (int res : {0x022, 0x2022, 0x008, 0x2008, 0x0808}) {
    EXPECT_EQ(First(res), Disposition::kFailover) << Describe(res);
    EXPECT_EQ(Spent(res), Disposition::kFailover) << Describe(res);
  }
}

TEST(DispositionTest, ErrnoRows) {
  for (int res : {-EINTR, -ECANCELED, -EIO, -ETIMEDOUT, -ECONNRESET, -ENOLINK, -ESHUTDOWN, -EBADF}) {
    EXPECT_EQ(First(res), Disposition::kFailover) << Describe(res);
    EXPECT_EQ(Spent(res), Disposition::kFailover) << Describe(res);
  }
  for (int res : {-ENODEV, -ENXIO}) EXPECT_EQ(First(res), Disposition::kPathGone) << Describe(res);
  // Our own resource shortage: retried on the same path, within the budget.
  for (int res : {-EAGAIN, -EBUSY, -ENOMEM, -EFAULT}) {
    EXPECT_EQ(First(res), Disposition::kRetrySamePath) << Describe(res);
    EXPECT_EQ(Spent(res), Disposition::kComplete) << Describe(res);
  }
  // Caller errors, and values no kernel returns, complete as they are.
  for (int res : {-EINVAL, -EOPNOTSUPP, -EACCES, -EPERM, -ERANGE, INT32_MIN}) {
    EXPECT_EQ(First(res), Disposition::kComplete) << Describe(res);
    EXPECT_FALSE(Decide(res, 0, kBudget).ok) << Describe(res);
  }
  EXPECT_EQ(First(INT32_MAX), Disposition::kComplete);  // 0xffff: DNR set
  EXPECT_EQ(First(INT32_MIN), Disposition::kComplete);  // found by status_fuzz: must not negate
}

TEST(DispositionTest, ErrorClassMatchesTheDisposition) {
  const struct {
    int res;
    ErrorClass want;
  } rows[] = {
      {-EINTR, ErrorClass::kCancelled},    {-ECANCELED, ErrorClass::kCancelled},
      {0x008, ErrorClass::kCancelled},     {-EBADF, ErrorClass::kOtherPath},
      {-EIO, ErrorClass::kOtherPath},      {-ETIMEDOUT, ErrorClass::kOtherPath},
      {-ECONNRESET, ErrorClass::kOtherPath}, {-ENOLINK, ErrorClass::kOtherPath},
      {-ESHUTDOWN, ErrorClass::kOtherPath}, {0x022, ErrorClass::kOtherPath},
      {0x300, ErrorClass::kOtherPath},     {0x360, ErrorClass::kOtherPath},
      {0x370, ErrorClass::kHostPath},      {0x2371, ErrorClass::kHostAborted},
      {0x2302, ErrorClass::kAna},          {0x4302, ErrorClass::kAna},
      {-ENODEV, ErrorClass::kGone},        {-ENXIO, ErrorClass::kGone},
      {0x281, ErrorClass::kMedia},         {0x4281, ErrorClass::kMedia},
      {0x002, ErrorClass::kOther},         {-EINVAL, ErrorClass::kOther},
      {-EAGAIN, ErrorClass::kOther},
  };
  for (const auto& r : rows) EXPECT_EQ(Decide(r.res, 0, kBudget).error_class, r.want) << Describe(r.res);
}

TEST(DispositionTest, MayStillExecute) {
  EXPECT_TRUE(MayStillExecute(-EINTR));
  EXPECT_TRUE(MayStillExecute(-ECANCELED));
  EXPECT_TRUE(MayStillExecute(-ETIMEDOUT));
  EXPECT_TRUE(MayStillExecute(-EIO));
  EXPECT_TRUE(MayStillExecute(0x371));
  EXPECT_TRUE(MayStillExecute(0x2371));
  EXPECT_FALSE(MayStillExecute(0x370));   // never sent: controller not live
  EXPECT_FALSE(MayStillExecute(0x2302));  // refused by the target
  EXPECT_FALSE(MayStillExecute(0x008));   // aborted by the controller itself: final
  EXPECT_FALSE(MayStillExecute(-EBADF));  // raised at submission: never reached the target
  EXPECT_FALSE(MayStillExecute(-ENODEV));
  EXPECT_FALSE(MayStillExecute(INT32_MIN));
}

TEST(DispositionTest, MayHaveExecuted) {
  // Proven not executed: raised before sending, refused by the target, gone at submission, our
  // own resource shortage.
  for (int res : {0x370, 0x2370, 0x301, 0x302, 0x303, 0x2302, 0x4302, -EBADF, -ENODEV, -ENXIO,
                  -EAGAIN, -EBUSY, -ENOMEM})
    EXPECT_FALSE(MayHaveExecuted(res)) << Describe(res);
  // Everything else may have run, in whole or in part.
  for (int res : {-EINTR, -ECANCELED, -EIO, -ETIMEDOUT, -ECONNRESET, -ENOLINK, -ESHUTDOWN,
                  -EFAULT, -EINVAL, INT32_MIN, 0x371, 0x2371, 0x008, 0x022, 0x300, 0x360, 0x281,
                  0x006, 0x0806, 0x082, 0x002, 0x4281, 0x7ff})
    EXPECT_TRUE(MayHaveExecuted(res)) << Describe(res);
  // A command that may still execute may have executed.
  for (int res = -200; res <= 0x7fff; ++res) {
    if (MayStillExecute(res)) {
      EXPECT_TRUE(MayHaveExecuted(res)) << Describe(res);
    }
  }
}

TEST(DispositionTest, CommandThatMustNotRunTwiceIsResentOnlyIfNotExecuted) {
  constexpr Resend kOnce = Resend::kIfNotExecuted;
  // Failover rows that may have executed: the path action stays, the resend goes.
  for (int res : {-EINTR, -EIO, -ETIMEDOUT, -ENOLINK, 0x371, 0x008, 0x022, 0x360}) {
    const Decision d = Decide(res, 0, kBudget, kOnce);
    EXPECT_EQ(d.disposition, First(res)) << Describe(res);
    EXPECT_FALSE(d.resend) << Describe(res);
    EXPECT_EQ(d.error_class, Decide(res, 0, kBudget).error_class) << Describe(res);
  }
  // Same-path retry rows that may have executed complete.
  for (int res : {0x281, 0x006, 0x0806, 0x082, -EFAULT})
    EXPECT_EQ(Decide(res, 0, kBudget, kOnce).disposition, Disposition::kComplete) << Describe(res);
  // Proven not executed: the table as for any command.
  for (int res : {0x370, 0x302, 0x2303, -EBADF, -ENODEV, -EAGAIN, -ENOMEM}) {
    const Decision d = Decide(res, 0, kBudget, kOnce);
    EXPECT_EQ(d.disposition, First(res)) << Describe(res);
    EXPECT_TRUE(d.resend) << Describe(res);
  }
  // Success, DNR and caller errors are unchanged; every command may be resent by default.
  for (int res : {0, 0x2000, 0x4281, 0x4371, -EINVAL}) {
    EXPECT_EQ(Decide(res, 0, kBudget, kOnce).disposition, Disposition::kComplete) << Describe(res);
    EXPECT_EQ(Decide(res, 0, kBudget, kOnce).ok, Decide(res, 0, kBudget).ok) << Describe(res);
  }
  for (int res : {-EINTR, 0x371, 0x281, 0x302}) EXPECT_TRUE(Decide(res, 0, kBudget).resend);
}

TEST(DispositionTest, Names) {
  EXPECT_STREQ(DispositionName(Disposition::kComplete), "complete");
  EXPECT_STREQ(DispositionName(Disposition::kRetrySamePath), "retry");
  EXPECT_STREQ(DispositionName(Disposition::kFailover), "failover");
  EXPECT_STREQ(DispositionName(Disposition::kAnaFailover), "ana-failover");
  EXPECT_STREQ(DispositionName(Disposition::kPathGone), "reopen");
}

// Head mode: -EINVAL from a command the engine built is the kernel's "no usable path" at
// submission, a failover that never executed; from anything else it stays a caller error.
TEST(DispositionTest, HeadModeEinvalIsNoUsablePath) {
  const Decision head = Decide(-EINVAL, 0, 5, Resend::kAllowed, /*einval_is_no_path=*/true);
  EXPECT_EQ(head.disposition, Disposition::kFailover);
  EXPECT_FALSE(head.ok);
  EXPECT_TRUE(head.resend);
  EXPECT_EQ(head.error_class, ErrorClass::kHostPath);
  EXPECT_FALSE(MayStillExecute(-EINVAL)) << "refused at submission: no write hold";
  EXPECT_EQ(Decide(-EINVAL, 0, 5).disposition, Disposition::kComplete);
  EXPECT_EQ(Decide(-EINVAL, 0, 5, Resend::kIfNotExecuted, false).disposition, Disposition::kComplete);
  // Every other row is the same in head mode.
  for (int res : {0, -EINTR, -ENODEV, -EAGAIN, 0x302, 0x370, 0x4281, 0x281})
    EXPECT_EQ(Decide(res, 0, 5, Resend::kAllowed, true).disposition,
              Decide(res, 0, 5, Resend::kAllowed, false).disposition) << res;
}

TEST(HeadResendDelayTest, DoublesFromOneMillisecondToAQuarterSecond) {
  EXPECT_EQ(HeadResendDelayNs(0), 1'000'000);
  EXPECT_EQ(HeadResendDelayNs(1), 2'000'000);
  EXPECT_EQ(HeadResendDelayNs(8), 256'000'000);
  EXPECT_EQ(HeadResendDelayNs(200), 256'000'000);
}

}  // namespace
}  // namespace nvme_mpath::internal
