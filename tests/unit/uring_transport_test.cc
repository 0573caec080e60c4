// UringTransport on the host kernel (no NVMe device needed): ring set-up and fallbacks, file
// slots, SQ-full back-pressure, tag round trip of a uring_cmd that the target file refuses, and
// which threads may use a ring (created on one, used on another, moved, refused). Threads are
// started and joined, never raced: each step runs on one thread, the test waits for it. Every
// wait is bounded, so a regression fails instead of hanging.
#include "uring_transport.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include <chrono>

#include <gtest/gtest.h>

#include "path.h"
#include "queue.h"
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

// SQE ownership (uring_transport.h): a command's SQE is never given to another command before
// its completion is reaped, even when the SQ ring itself has room again. Some kernels (6.12)
// read a uring_cmd's SQE again from io-wq after the submit call returned.
TEST(UringTransportTest, KeepsEachCommandsSqeUntilItsCompletionIsReaped) {
  UringOptions o;
  o.entries = 4;
  auto t = UringTransport::Create(o);
  ASSERT_OK(t);
  int fd = open("/dev/null", O_RDWR);
  ASSERT_OK((*t)->SetFile(0, fd));
  nvme_uring_cmd cmd{};
  for (uint64_t tag = 100; tag < 104; ++tag) ASSERT_EQ((*t)->Prep(0, cmd, tag, -1), 0);
  ASSERT_EQ((*t)->Submit(), 4);  // the SQ ring is empty again: the kernel took all four
  EXPECT_EQ((*t)->free_sqes(), 0u);
  EXPECT_EQ((*t)->Prep(0, cmd, 99, -1), -EBUSY)
      << "a fifth command would reuse the SQE of one whose completion is not reaped";
  Completion c[8];
  int got = 0;
  for (int i = 0; i < 10 && got < 1; ++i) got += (*t)->Reap(c, 1, 1, 1'000'000'000);
  ASSERT_EQ(got, 1);
  EXPECT_EQ(c[0].tag, 100u);
  EXPECT_EQ((*t)->free_sqes(), 1u);
  EXPECT_EQ((*t)->Prep(0, cmd, 104, -1), 0) << "the reaped command's SQE is free again";
  EXPECT_EQ((*t)->Prep(0, cmd, 105, -1), -EBUSY);
  ASSERT_EQ((*t)->Submit(), 1);
  for (int i = 0; i < 10 && got < 5; ++i) got += (*t)->Reap(c + got, 8 - got, 1, 1'000'000'000);
  ASSERT_EQ(got, 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(c[i].tag, 100u + uint64_t(i)) << i;
  EXPECT_EQ((*t)->free_sqes(), 4u);
  close(fd);
}

// Many more commands than SQEs, reaped in uneven batches: every tag comes back exactly once.
TEST(UringTransportTest, TagsRoundTripThroughReusedSqes) {
  UringOptions o;
  o.entries = 8;
  auto t = UringTransport::Create(o);
  ASSERT_OK(t);
  int fd = open("/dev/null", O_RDWR);
  ASSERT_OK((*t)->SetFile(0, fd));
  nvme_uring_cmd cmd{};
  std::vector<int> seen(1000, 0);
  uint64_t next = 0;
  int reaped = 0;
  Completion c[8];
  for (int round = 0; reaped < 1000 && round < 10000; ++round) {
    for (int k = 0; k < 1 + round % 5 && next < 1000; ++k) {
      if ((*t)->Prep(0, cmd, next, -1) != 0) break;
      ++next;
    }
    ASSERT_GE((*t)->Submit(), 0);
    const int n = (*t)->Reap(c, 1 + round % 3, 0, 0);
    ASSERT_GE(n, 0);
    for (int i = 0; i < n; ++i) {
      ASSERT_LT(c[i].tag, 1000u);
      ++seen[c[i].tag];
    }
    reaped += n;
  }
  ASSERT_EQ(reaped, 1000);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(seen[i], 1) << "tag " << i;
  close(fd);
}

TEST(UringTransportTest, ReapTimesOutWithNothingPending) {
  auto t = UringTransport::Create(UringOptions{});
  ASSERT_OK(t);
  Completion c[1];
  EXPECT_EQ((*t)->Reap(c, 1, 1, 10'000'000), 0);
  EXPECT_EQ((*t)->Reap(c, 1, 0, 0), 0);
}

// A polled ring (IORING_SETUP_IOPOLL): a refused command still round-trips (the kernel posts it
// at issue), a wait with nothing in the kernel sleeps out its time instead of spinning or
// blocking, and the ring has no fd to wait on.
TEST(UringTransportTest, PolledRingReapsAndTimesOut) {
  UringOptions o;
  o.entries = 4;
  o.iopoll = true;
  auto t = UringTransport::Create(o);
  ASSERT_OK(t);
  EXPECT_NE((*t)->mode().find("+iopoll"), std::string::npos) << (*t)->mode();
  EXPECT_EQ((*t)->event_fd(), -1);
  Completion c[4];
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ((*t)->Reap(c, 4, 1, 20'000'000), 0);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(19));
  EXPECT_EQ((*t)->Reap(c, 4, 0, 0), 0);
  char path[] = "/tmp/uring_transport_test.XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  ASSERT_OK((*t)->SetFile(1, fd));
  nvme_uring_cmd cmd{};
  cmd.opcode = 0x02;
  ASSERT_EQ((*t)->Prep(1, cmd, 0x1234, -1), 0);
  ASSERT_EQ((*t)->Submit(), 1);
  const int n = (*t)->Reap(c, 4, 1, 2'000'000'000);
  ASSERT_EQ(n, 1);
  EXPECT_EQ(c[0].tag, 0x1234u);
  EXPECT_LT(c[0].res, 0);
  EXPECT_EQ((*t)->in_kernel(), 0u);
  close(fd);
}

TEST(UringTransportTest, RegistersFixedBuffers) {
  static char buf[8192] __attribute__((aligned(4096)));
  UringOptions o;
  o.buffers.push_back(iovec{buf, sizeof(buf)});
  auto t = UringTransport::Create(o);
  ASSERT_OK(t);
}

// The kernel's SQPOLL threads of this process ("iou-sqp-<pid>"), by thread id.
std::vector<pid_t> SqpollThreads() {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char comm[64] = {}, name[300];
    snprintf(name, sizeof(name), "/proc/self/task/%s/comm", e->d_name);
    FILE* f = fopen(name, "r");
    if (f == nullptr) continue;
    if (fgets(comm, sizeof(comm), f) != nullptr && strncmp(comm, "iou-sqp-", 8) == 0)
      out.push_back(pid_t(atoi(e->d_name)));
    fclose(f);
  }
  closedir(d);
  return out;
}

// sqpoll_cpu pins the ring's SQ thread (IORING_SETUP_SQ_AFF): its affinity becomes that one CPU.
TEST(UringTransportTest, PinsTheSqpollThreadToItsCpu) {
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof(mine), &mine), 0);
  int cpu = -1;  // the highest CPU this process may use: online and in its cpuset
  for (int i = 0; i < CPU_SETSIZE; ++i)
    if (CPU_ISSET(i, &mine)) cpu = i;
  ASSERT_GE(cpu, 0);
  // Another ring's SQ thread (an earlier test's) may still be exiting, or not yet visible:
  // start with none, so that the one found below is this ring's.
  for (int i = 0; i < 200 && !SqpollThreads().empty(); ++i) usleep(10'000);
  ASSERT_TRUE(SqpollThreads().empty()) << "an SQPOLL thread of an earlier ring is still there";
  UringOptions o;
  o.entries = 8;
  o.sqpoll = true;
  o.sqpoll_cpu = cpu;
  auto t = UringTransport::Create(o);
  if (!t.ok() && absl::IsPermissionDenied(t.status())) GTEST_SKIP() << t.status();
  ASSERT_OK(t);
  EXPECT_EQ((*t)->mode(), "plain+sqpoll");
  // The thread shows up, and applies the affinity itself, once it runs: wait (bounded).
  pid_t sq = 0;
  cpu_set_t got;
  CPU_ZERO(&got);
  for (int i = 0; i < 200; ++i) {
    const std::vector<pid_t> now = SqpollThreads();
    if (now.size() == 1) {
      sq = now[0];
      if (sched_getaffinity(sq, sizeof(got), &got) == 0 && CPU_COUNT(&got) == 1) break;
    }
    usleep(10'000);
  }
  ASSERT_NE(sq, 0) << "no iou-sqp thread";
  EXPECT_EQ(CPU_COUNT(&got), 1);
  EXPECT_TRUE(CPU_ISSET(cpu, &got)) << "pinned to CPU " << cpu;
  printf("iou-sqp thread %d pinned to CPU %d\n", int(sq), cpu);
}

// A CPU the kernel will not pin to: named, not the bare EINVAL io_uring_setup answers (which
// also means "no SQE128 rings"). ValidateQueueOptions stops numbers this large before.
TEST(UringTransportTest, NamesTheCpuTheKernelRefused) {
  UringOptions o;
  o.entries = 8;
  o.sqpoll = true;
  o.sqpoll_cpu = 100000;
  auto t = UringTransport::Create(o);
  if (absl::IsPermissionDenied(t.status())) GTEST_SKIP() << t.status();
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(t.status())) << t.status();
  EXPECT_EQ(t.status().message(),
            "sqpoll_cpu = 100000: the kernel refused to pin the SQPOLL thread to CPU 100000 "
            "(offline, or outside this process's cpuset)");
}

// A regular file: the kernel refuses a uring_cmd on it with a negative res, at once.
class TempFile {
 public:
  TempFile() {
    char path[] = "/tmp/uring_transport_test.XXXXXX";
    fd_ = mkstemp(path);
    unlink(path);
  }
  ~TempFile() { close(fd_); }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Sends one command on slot 0 and reaps its completion (waiting at most 2 s). Returns the
// first error, or the completion's res (negative: refused by the regular file).
int RoundTrip(UringTransport* t, uint64_t tag) {
  nvme_uring_cmd cmd{};
  cmd.opcode = 0x02;
  if (int r = t->Prep(0, cmd, tag, -1); r != 0) return 1000 + r;
  if (int r = t->Submit(); r != 1) return 2000 + r;
  Completion c[2];
  int n = t->Reap(c, 2, 1, 2'000'000'000);
  if (n != 1) return 3000 + n;
  if (c[0].tag != tag) return 4000;
  return c[0].res;
}

std::unique_ptr<UringTransport> DeferRing(int fd) {
  UringOptions o;
  o.entries = 8;
  auto t = UringTransport::Create(o);
  if (!t.ok()) return nullptr;
  if (!(*t)->SetFile(0, fd).ok()) return nullptr;
  return std::move(*t);
}

TEST(UringTransportTest, CreatedOnOneThreadUsedFromAnother) {
  TempFile f;
  auto t = DeferRing(f.fd());  // created, and its file installed, on this thread
  ASSERT_NE(t, nullptr);
  if (t->mode() != "defer_taskrun") GTEST_SKIP() << "kernel without DEFER_TASKRUN: " << t->mode();
  int res = 0;
  std::thread([&] { res = RoundTrip(t.get(), 42); }).join();
  EXPECT_LT(res, 0);
  EXPECT_GT(res, -1000) << "Prep/Submit/Reap failed on the thread that uses the queue: " << res;
  EXPECT_EQ(t->mode(), "defer_taskrun") << "the first user keeps the fast ring";
  EXPECT_EQ(t->in_kernel(), 0u);
}

TEST(UringTransportTest, MovesBetweenThreadsWhenTheKernelHoldsNothing) {
  TempFile f;
  auto t = DeferRing(f.fd());
  ASSERT_NE(t, nullptr);
  if (t->mode() != "defer_taskrun") GTEST_SKIP() << "kernel without DEFER_TASKRUN: " << t->mode();
  int res[3] = {0, 0, 0};
  std::thread([&] { res[0] = RoundTrip(t.get(), 1); }).join();  // binds the ring to thread 1
  EXPECT_EQ(t->mode(), "defer_taskrun");
  const int old_fd = t->event_fd();
  // Prepared on thread 1's ring, not yet sent: carried over by the move.
  nvme_uring_cmd cmd{};
  std::thread([&] { res[1] = t->Prep(0, cmd, 2, -1); }).join();
  ASSERT_EQ(res[1], 0);
  std::thread([&] {
    res[1] = t->Submit();
    Completion c[2];
    const int n = t->Reap(c, 2, 1, 2'000'000'000);
    res[2] = n == 1 && c[0].tag == 2 ? c[0].res : 3000 + n;
  }).join();
  EXPECT_EQ(res[1], 1) << "the command prepared before the move was sent after it";
  EXPECT_LT(res[2], 0);
  EXPECT_GT(res[2], -1000);
  EXPECT_EQ(t->mode(), "plain (moved between threads)");
  EXPECT_NE(t->event_fd(), old_fd);
  EXPECT_GE(t->event_fd(), 0);
  // Moved once, usable from any thread from now on, this one included.
  std::thread([&] { res[0] = RoundTrip(t.get(), 3); }).join();
  EXPECT_LT(res[0], 0);
  EXPECT_GT(res[0], -1000);
  res[0] = RoundTrip(t.get(), 4);
  EXPECT_LT(res[0], 0);
  EXPECT_GT(res[0], -1000);
}

TEST(UringTransportTest, RefusesAnotherThreadWhileTheKernelHoldsItsCommands) {
  TempFile f;
  auto t = DeferRing(f.fd());
  ASSERT_NE(t, nullptr);
  if (t->mode() != "defer_taskrun") GTEST_SKIP() << "kernel without DEFER_TASKRUN: " << t->mode();
  nvme_uring_cmd cmd{};
  ASSERT_EQ(t->Prep(0, cmd, 7, -1), 0);
  ASSERT_EQ(t->Submit(), 1);  // bound to this thread; the completion is not reaped yet
  ASSERT_EQ(t->in_kernel(), 1u);
  int submit = 0, reap = 0;
  absl::Status set_file;
  std::thread([&] {
    submit = t->Submit();
    Completion c[2];
    reap = t->Reap(c, 2, 1, 2'000'000'000);  // must not wait: refused at once
    set_file = t->SetFile(1, f.fd());
  }).join();
  EXPECT_EQ(submit, -EEXIST);
  EXPECT_EQ(reap, -EEXIST);
  EXPECT_FALSE(set_file.ok());
  EXPECT_EQ(t->mode(), "defer_taskrun");
  // The bound thread still owns it and reaps; then the ring may move.
  Completion c[2];
  ASSERT_EQ(t->Reap(c, 2, 1, 2'000'000'000), 1);
  EXPECT_EQ(c[0].tag, 7u);
  int res = 0;
  std::thread([&] { res = RoundTrip(t.get(), 8); }).join();
  EXPECT_LT(res, 0);
  EXPECT_GT(res, -1000);
}

TEST(UringTransportTest, SubmitFailureKeepsCommandsAndDropUnsentNeutralisesThem) {
  TempFile f;
  auto t = DeferRing(f.fd());
  ASSERT_NE(t, nullptr);
  nvme_uring_cmd cmd{};
  ASSERT_EQ(t->Prep(0, cmd, 11, -1), 0);
  ASSERT_EQ(t->Prep(0, cmd, 12, -1), 0);
  uint64_t tags[4];
  ASSERT_EQ(t->DropUnsent(tags, 1), 1);
  EXPECT_EQ(tags[0], 11u);
  ASSERT_EQ(t->DropUnsent(tags, 4), 1);
  EXPECT_EQ(tags[0], 12u);
  EXPECT_EQ(t->DropUnsent(tags, 4), 0) << "already dropped";
  ASSERT_EQ(t->Submit(), 2);
  Completion c[4];
  int got = 0;
  for (int i = 0; i < 4 && got < 2; ++i) got += t->Reap(c + got, 4 - got, 1, 1'000'000'000);
  ASSERT_EQ(got, 2);
  EXPECT_EQ(c[0].tag, 11u);
  EXPECT_EQ(c[0].res, 0) << "a dropped command completes as a NOP, never reaching the file";
  EXPECT_EQ(c[1].tag, 12u);
  EXPECT_EQ(c[1].res, 0);
}

// The queue over a real ring: a misused queue reports -EEXIST from Poll (and the synchronous
// helpers) instead of polling forever.
class QueueOverUringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    table_ = std::make_unique<PathTable>(1);
    table_->path(0).ana = AnaState::kOptimized;
    table_->path(0).fd = file_.fd();
    QueueConfig cfg;
    cfg.nsze = 1 << 20;
    cfg.lba_size = 512;
    cfg.depth = 8;
    UringOptions o;
    o.entries = 8;
    auto t = UringTransport::Create(o);
    ASSERT_OK(t);
    transport_ = t->get();
    queue_ = std::make_unique<QueueCore>(cfg, table_.get(), std::move(*t),
                                         MonotonicClock::Get(), nullptr);
  }
  void TearDown() override {
    queue_.reset();  // on the test's thread, which the ring is bound to or not
  }

  TempFile file_;
  std::unique_ptr<PathTable> table_;
  UringTransport* transport_ = nullptr;
  std::unique_ptr<QueueCore> queue_;
  alignas(4096) char buf_[4096] = {};
};

TEST_F(QueueOverUringTest, CreatedHereUsedThereThenMovedBack) {
  int r1 = 0, r2 = 0;
  std::thread([&] { r1 = queue_->Read(0, 1, buf_); }).join();
  EXPECT_LT(r1, 0) << "the regular file refuses the command: the I/O fails, it does not hang";
  EXPECT_NE(r1, -EEXIST);
  std::thread([&] { r2 = queue_->Read(0, 1, buf_); }).join();  // moved: idle, so it works
  EXPECT_EQ(r2, r1);
  EXPECT_EQ(queue_->Read(0, 1, buf_), r1);  // and back to the creating thread
  EXPECT_EQ(queue_->inflight(), 0u);
}

TEST_F(QueueOverUringTest, OtherThreadGetsEexistWhileCommandsAreInTheKernel) {
  if (transport_->mode() != "defer_taskrun") GTEST_SKIP() << transport_->mode();
  Io io;
  io.op = IoOp::kRead;
  io.nlb = 1;
  io.buf = buf_;
  io.done = [](Io*) {};
  ASSERT_EQ(queue_->Submit(&io), 0);
  ASSERT_EQ(queue_->Flush(), 1);  // bound to this thread, completion not reaped
  int poll = 0, read = 0, flush = 0;
  std::thread([&] {
    poll = queue_->Poll(1, 2'000'000);  // bounded: a regression returns 0 after 2 s
    read = queue_->Read(0, 1, buf_);
    flush = queue_->Flush();
  }).join();
  EXPECT_EQ(poll, -EEXIST);
  EXPECT_EQ(read, -EEXIST) << "refused before the I/O was accepted";
  EXPECT_EQ(flush, 0) << "nothing prepared: Flush does not enter the ring";
  EXPECT_EQ(queue_->inflight(), 1u);
  EXPECT_EQ(queue_->Poll(1, 2'000'000), 1);  // the bound thread completes it
  EXPECT_EQ(queue_->inflight(), 0u);
}

}  // namespace
}  // namespace nvme_mpath::internal
