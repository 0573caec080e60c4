// Disposition table, row by row (nvme_mpath/status.h).
#include <nvme_mpath/status.h>

#include <cerrno>

#include <gtest/gtest.h>

namespace nvme_mpath {
namespace {

TEST(StatusTest, DecodesFields) {
  NvmeStatus st{0x2302};  // nvmet: ANA inaccessible with More set
  EXPECT_EQ(st.sct(), 3);
  EXPECT_EQ(st.sc(), 0x02);
  EXPECT_TRUE(st.more());
  EXPECT_FALSE(st.dnr());
  EXPECT_EQ(st.crd(), 0);
  EXPECT_EQ(st.code(), kScAnaInaccessible);
  EXPECT_TRUE(st.is_ana_error());
  NvmeStatus crd{0x1006 | 0x4000};
  EXPECT_EQ(crd.crd(), 2);
  EXPECT_TRUE(crd.dnr());
}

struct Row {
  int res;
  Disposition want;
};

TEST(StatusTest, DispositionTable) {
  const Row rows[] = {
      {0, Disposition::kComplete},
      // CRD set: retry on the same path after the delay.
      {0x0806, Disposition::kRetrySamePath},
      {0x1006, Disposition::kRetrySamePath},
      {0x1806, Disposition::kRetrySamePath},
      {0x082, Disposition::kRetrySamePath},  // namespace not ready
      // SCT 3 path errors and errno from reset/timeout: fail over.
      {0x370, Disposition::kFailover},
      {0x371, Disposition::kFailover},
      {0x2370, Disposition::kFailover},
      {0x300, Disposition::kFailover},
      {0x360, Disposition::kFailover},
      {0x022, Disposition::kFailover},
      {-EINTR, Disposition::kFailover},
      {-EIO, Disposition::kFailover},
      {-ETIMEDOUT, Disposition::kFailover},
      // ANA: set aside, re-read, fail over. More bit masked.
      {0x301, Disposition::kAnaFailover},
      {0x302, Disposition::kAnaFailover},
      {0x303, Disposition::kAnaFailover},
      {0x2301, Disposition::kAnaFailover},
      {0x2302, Disposition::kAnaFailover},
      {0x2303, Disposition::kAnaFailover},
      // Controller gone: reopen.
      {-ENODEV, Disposition::kPathGone},
      {-ENXIO, Disposition::kPathGone},
      // Media or command errors, and DNR: the application sees them.
      {0x281, Disposition::kComplete},
      {0x280, Disposition::kComplete},
      {0x285, Disposition::kComplete},
      {0x080, Disposition::kComplete},
      {0x002, Disposition::kComplete},
      {0x4302, Disposition::kComplete},
      {0x4370, Disposition::kComplete},
      {0x4806, Disposition::kComplete},
      {-EINVAL, Disposition::kComplete},
      {INT32_MIN, Disposition::kComplete},  // found by status_fuzz: must not negate
      {INT32_MAX, Disposition::kComplete},
      {-EOPNOTSUPP, Disposition::kComplete},
      // Our own resource shortage: retry.
      {-EAGAIN, Disposition::kRetrySamePath},
      {-ENOMEM, Disposition::kRetrySamePath},
      {-EFAULT, Disposition::kRetrySamePath},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(Classify(r.res), r.want) << "res=" << r.res << " (0x" << std::hex << r.res << ") "
                                       << StatusName(r.res);
  }
}

TEST(StatusTest, MayStillExecute) {
  EXPECT_TRUE(MayStillExecute(-EINTR));
  EXPECT_TRUE(MayStillExecute(-ETIMEDOUT));
  EXPECT_TRUE(MayStillExecute(0x371));
  EXPECT_TRUE(MayStillExecute(0x2371));
  EXPECT_FALSE(MayStillExecute(0x370));   // never sent: controller not live
  EXPECT_FALSE(MayStillExecute(0x2302));  // refused by the target
  EXPECT_FALSE(MayStillExecute(-ENODEV));
}

TEST(StatusTest, Names) {
  EXPECT_STREQ(StatusName(0), "SUCCESS");
  EXPECT_STREQ(StatusName(0x2302), "ANA_INACCESSIBLE");
  EXPECT_STREQ(StatusName(0x2301), "ANA_PERSISTENT_LOSS");
  EXPECT_STREQ(StatusName(0x2303), "ANA_TRANSITION");
  EXPECT_STREQ(StatusName(0x370), "HOST_PATH_ERROR");
  EXPECT_STREQ(StatusName(0x371), "HOST_ABORTED_CMD");
  EXPECT_STREQ(StatusName(-ENODEV), "-ENODEV");
  EXPECT_STREQ(StatusName(-EINTR), "-EINTR");
  EXPECT_STREQ(StatusName(0x7ff), "NVME_STATUS");
  EXPECT_STREQ(DispositionName(Disposition::kPathGone), "reopen");
  EXPECT_STREQ(StatusName(INT32_MIN), "-ERRNO");  // found by status_fuzz
}

}  // namespace
}  // namespace nvme_mpath
