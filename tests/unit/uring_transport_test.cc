// UringTransport on the host kernel (no NVMe device needed): ring set-up and fallbacks, file
// slots, SQ-full back-pressure, tag round trip of a uring_cmd that the target file refuses.
#include "uring_transport.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/status_matchers.h"

namespace nvme_mpath::internal {
namespace {

TEST(UringTransportTest, CreatesRingWithEachMode) {
  for (bool defer : {true, false}) {
    UringOptions o;
    o.entries = 8;
    o.defer_taskrun = defer;
    auto t = UringTransport::Create(o);
    ASSERT_OK(t);
    EXPECT_GE((*t)->event_fd(), 0);
    printf("mode with defer_taskrun=%d: %s\n", defer, (*t)->mode().c_str());
  }
}

TEST(UringTransportTest, EmptySlotIsBadf) {
  auto t = UringTransport::Create(UringOptions{});
  ASSERT_OK(t);
  nvme_uring_cmd cmd{};
  EXPECT_EQ((*t)->Prep(0, cmd, 1, -1), -EBADF);
  EXPECT_EQ((*t)->Prep(kMaxPaths, cmd, 1, -1), -EBADF);
}

TEST(UringTransportTest, RefusedCommandRoundTripsTagAndNegativeRes) {
  UringOptions o;
  o.entries = 4;
  auto t = UringTransport::Create(o);
  ASSERT_OK(t);
  char path[] = "/tmp/uring_transport_test.XXXXXX";  // a regular file has no uring_cmd
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  ASSERT_OK((*t)->SetFile(3, fd));
  nvme_uring_cmd cmd{};
  cmd.opcode = 0x02;
  ASSERT_EQ((*t)->Prep(3, cmd, 0xabcdef0123456789ull, -1), 0);
  ASSERT_EQ((*t)->Submit(), 1);
  Completion c[4];
  int n = (*t)->Reap(c, 4, 1, 2'000'000'000);
  ASSERT_EQ(n, 1);
  EXPECT_EQ(c[0].tag, 0xabcdef0123456789ull);
  EXPECT_LT(c[0].res, 0) << "a uring_cmd on a regular file must be refused";
  printf("uring_cmd on a regular file: res=%d (%s)\n", c[0].res, strerror(-c[0].res));
  // Clearing the slot makes it unusable again.
  ASSERT_OK((*t)->SetFile(3, -1));
  EXPECT_EQ((*t)->Prep(3, cmd, 1, -1), -EBADF);
  close(fd);
}

TEST(UringTransportTest, FullSubmissionQueueIsBusy) {
  UringOptions o;
  o.entries = 4;
  auto t = UringTransport::Create(o);
  ASSERT_OK(t);
  int fd = open("/dev/null", O_RDWR);
  ASSERT_OK((*t)->SetFile(0, fd));
  nvme_uring_cmd cmd{};
  int ok = 0;
  while ((*t)->Prep(0, cmd, uint64_t(ok), -1) == 0) ++ok;
  EXPECT_EQ(ok, 4);
  EXPECT_EQ((*t)->Prep(0, cmd, 99, -1), -EBUSY);
  EXPECT_EQ((*t)->Submit(), 4);
  Completion c[8];
  int got = 0;
  for (int i = 0; i < 10 && got < 4; ++i) got += (*t)->Reap(c + got, 8 - got, 1, 1'000'000'000);
  EXPECT_EQ(got, 4);
  close(fd);
}

TEST(UringTransportTest, ReapTimesOutWithNothingPending) {
  auto t = UringTransport::Create(UringOptions{});
  ASSERT_OK(t);
  Completion c[1];
  EXPECT_EQ((*t)->Reap(c, 1, 1, 10'000'000), 0);
  EXPECT_EQ((*t)->Reap(c, 1, 0, 0), 0);
}

TEST(UringTransportTest, RegistersFixedBuffers) {
  static char buf[8192] __attribute__((aligned(4096)));
  UringOptions o;
  o.buffers.push_back(iovec{buf, sizeof(buf)});
  auto t = UringTransport::Create(o);
  ASSERT_OK(t);
}

}  // namespace
}  // namespace nvme_mpath::internal
