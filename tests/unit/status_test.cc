// Status decoding and names (nvme_mpath/status.h). The disposition table: disposition_test.cc.
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
  EXPECT_STREQ(StatusName(0x008), "ABORT_SQ_DELETION");
  EXPECT_STREQ(StatusName(0x022), "TRANSIENT_TRANSPORT");
  EXPECT_STREQ(StatusName(-EBADF), "-EBADF");
  EXPECT_STREQ(StatusName(INT32_MIN), "-ERRNO");  // found by status_fuzz
}

}  // namespace
}  // namespace nvme_mpath
