// Whether a queue may poll (src/iopoll.h): poll queues on every path; the 6.1 series and
// NVMe/TCP paths refused unless forced.
#include "iopoll.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

using ::testing::HasSubstr;

IopollPath P(const std::string& ng, const std::string& io_poll, const std::string& transport = "pcie") {
  return {ng, IoPollAttribute(ng), io_poll, transport};
}

TEST(IopollTest, AttributeIsTheBlockDeviceOfTheSameNamespace) {
  EXPECT_EQ(IoPollAttribute("/dev/ng3n1"), "/sys/block/nvme3n1/queue/io_poll");
  EXPECT_EQ(IoPollAttribute("ng0n12"), "/sys/block/nvme0n12/queue/io_poll");
}

TEST(IopollTest, KnownToCrashIsThe61SeriesOnly) {
  for (const char* r : {"6.1", "6.1.0-27-amd64", "6.1.119", "6.1-rc3"}) EXPECT_TRUE(IopollKnownToCrash(r)) << r;
  for (const char* r : {"6.10.2", "6.12.117+deb12-amd64", "6.18.44", "5.19.0", "6", "", "6.11"})
    EXPECT_FALSE(IopollKnownToCrash(r)) << r;
}

TEST(IopollTest, EveryPathNeedsPollQueues) {
  EXPECT_TRUE(CheckIopoll("6.12.117", {P("/dev/ng0n1", "1"), P("/dev/ng1n1", "1")}, false).ok());
  const absl::Status s = CheckIopoll("6.12.117", {P("/dev/ng0n1", "1"), P("/dev/ng1n1", "0")}, false);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("path /dev/ng1n1: its controller has no poll queues "
                                     "(/sys/block/nvme1n1/queue/io_poll is 0)"));
  EXPECT_THAT(s.message(), HasSubstr("nvme connect --nr-poll-queues=N"));
  // Forcing is for the kernel check only: without poll queues nothing can be polled.
  EXPECT_FALSE(CheckIopoll("6.12.117", {P("/dev/ng1n1", "0")}, true).ok());
  const absl::Status u = CheckIopoll("6.12.117", {P("/dev/ng2n1", "")}, false);
  EXPECT_THAT(u.message(), HasSubstr("path /dev/ng2n1: cannot read /sys/block/nvme2n1/queue/io_poll"));
}

TEST(IopollTest, The61SeriesIsRefusedUnlessForced) {
  const std::vector<IopollPath> ok = {P("/dev/ng0n1", "1")};
  const absl::Status s = CheckIopoll("6.1.0-27-amd64", ok, false);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("kernel 6.1.0-27-amd64: polled NVMe passthrough crashes"));
  EXPECT_THAT(s.message(), HasSubstr("iopoll_force"));
  EXPECT_TRUE(CheckIopoll("6.1.0-27-amd64", ok, true).ok());
  // The paths are checked first: their fix is needed whatever the kernel.
  EXPECT_THAT(CheckIopoll("6.1.0-27-amd64", {P("/dev/ng0n1", "0")}, false).message(),
              HasSubstr("no poll queues"));
}

TEST(IopollTest, TcpPathsAreRefusedOnEveryKernelUnlessForced) {
  EXPECT_TRUE(IopollKnownToCrashOn("tcp"));
  for (const char* t : {"pcie", "rdma", "loop", "fc", ""}) EXPECT_FALSE(IopollKnownToCrashOn(t)) << t;
  const std::vector<IopollPath> mixed = {P("/dev/ng0n1", "1", "pcie"), P("/dev/ng1n1", "1", "tcp")};
  const absl::Status s = CheckIopoll("6.12.117+deb12-amd64", mixed, false);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("path /dev/ng1n1: polled NVMe passthrough over nvme-tcp crashes the kernel"));
  EXPECT_THAT(s.message(), HasSubstr("nvme_tcp_poll"));
  EXPECT_THAT(s.message(), HasSubstr("hipri_force=1"));
  EXPECT_TRUE(CheckIopoll("6.12.117+deb12-amd64", mixed, true).ok());
  // PCIe paths on 6.12 poll; an unreadable transport is not refused (a head whose paths could
  // not be read: nothing known either way).
  EXPECT_TRUE(CheckIopoll("6.12.117+deb12-amd64", {P("/dev/ng0n1", "1"), P("/dev/ng1n1", "1", "")}, false).ok());
  // Poll queues first: their fix is needed whatever else.
  EXPECT_THAT(CheckIopoll("6.12.117", {P("/dev/ng1n1", "0", "tcp")}, true).message(), HasSubstr("no poll queues"));
}

}  // namespace
}  // namespace nvme_mpath::internal
