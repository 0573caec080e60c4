// sqe_lab_test: the transport's SQE ownership on a real /dev/ngXnY (see src/uring_transport.h).
//
// Some kernels (Debian's 6.12) issue a uring_cmd that got -EAGAIN on its first try from io-wq
// later, reading its SQE from the ring again; tests/lab/sqe_reread_probe.c shows it with a raw
// ring. This test does what a queue does under load on such a kernel: it sends more reads than
// the controller's queue has tags (so the kernel punts some to io-wq), then at once prepares
// as many new commands as the transport accepts, and checks that every first read returned its
// own block. A transport that hands out SQEs in ring order would rewrite the SQEs of the punted
// reads, and those would return another block's data with status success.
// sqe_guest.sh checks (kprobe on nvme_uring_cmd_io from iou-wrk threads) that commands really
// were issued from io-wq during the test.
#include <fcntl.h>
#include <linux/nvme_ioctl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include <gtest/gtest.h>

#include "integration/lab_util.h"
#include "support/status_matchers.h"
#include "uring_transport.h"

namespace nvme_mpath::internal {
namespace {

constexpr uint32_t kBlock = 4096;
constexpr uint64_t Mark(uint64_t b) { return 0x5a5a000000000000ull + b; }

class SqeLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!lab::InLab()) GTEST_SKIP() << "runs in the VM lab (tests/integration/sqe_guest.sh)";
    dev_ = lab::Ng(1, 1);
    ASSERT_FALSE(dev_.empty());
    fd_ = open(dev_.c_str(), O_RDWR);
    ASSERT_GE(fd_, 0) << dev_ << ": " << strerror(errno);
    nsid_ = ioctl(fd_, NVME_IOCTL_ID);
    ASSERT_GT(nsid_, 0);
    std::ifstream f("/sys/block/nvme" + dev_.substr(strlen("/dev/ng")) +
                    "/queue/logical_block_size");
    uint32_t lbs = 0;
    f >> lbs;
    ASSERT_TRUE(lbs != 0 && kBlock % lbs == 0) << "LBA size " << lbs;
    nlb_ = kBlock / lbs;
  }
  void TearDown() override {
    if (fd_ >= 0) close(fd_);
  }

  nvme_uring_cmd Cmd(uint8_t opcode, uint64_t block, void* buf) const {
    nvme_uring_cmd c{};
    c.opcode = opcode;
    c.nsid = uint32_t(nsid_);
    c.addr = reinterpret_cast<uintptr_t>(buf);
    c.data_len = kBlock;
    const uint64_t slba = block * nlb_;
    c.cdw10 = uint32_t(slba);
    c.cdw11 = uint32_t(slba >> 32);
    c.cdw12 = nlb_ - 1;
    return c;
  }

  // Reaps until `want` completions arrived (60 s at most); returns them.
  std::vector<Completion> ReapAll(UringTransport* t, int want) {
    std::vector<Completion> all;
    Completion c[64];
    for (int i = 0; i < 600 && int(all.size()) < want; ++i) {
      const int n = t->Reap(c, 64, 1, 100'000'000);
      EXPECT_GE(n, 0);
      if (n < 0) break;
      all.insert(all.end(), c, c + n);
    }
    return all;
  }

  std::string dev_;
  int fd_ = -1;
  int nsid_ = 0;
  uint32_t nlb_ = 1;
};

TEST_F(SqeLabTest, ReadsPuntedToIoWqReturnTheirOwnBlocks) {
  constexpr int kReads = 384;  // nvme-tcp gives each I/O queue 128 tags
  UringOptions o;
  o.entries = 512;
  auto tr = UringTransport::Create(o);
  ASSERT_OK(tr);
  UringTransport* t = tr->get();
  ASSERT_OK(t->SetFile(0, fd_));
  auto* base = reinterpret_cast<char*>(
      std::aligned_alloc(kBlock, size_t(kReads + 1) * kBlock));
  ASSERT_NE(base, nullptr);
  auto buf = [&](int i) { return base + size_t(i) * kBlock; };
  // Blocks 0..kReads, each filled with a word naming it, 32 writes at a time.
  for (int b = 0; b <= kReads; ++b)
    for (uint32_t w = 0; w < kBlock / 8; ++w) reinterpret_cast<uint64_t*>(buf(b))[w] = Mark(b);
  for (int b = 0; b <= kReads;) {
    int k = 0;
    for (; k < 32 && b + k <= kReads; ++k)
      ASSERT_EQ(t->Prep(0, Cmd(0x01, b + k, buf(b + k)), uint64_t(b + k), -1), 0);
    ASSERT_EQ(t->Submit(), k);
    for (const Completion& c : ReapAll(t, k)) ASSERT_EQ(c.res, 0) << "fill write " << c.tag;
    b += k;
  }
  std::memset(base, 0, size_t(kReads + 1) * kBlock);
  alignas(4096) static char decoy[kBlock];
  // The reads, in one submit; then every command the transport takes, right away.
  for (int i = 1; i <= kReads; ++i) ASSERT_EQ(t->Prep(0, Cmd(0x02, i, buf(i)), uint64_t(i), -1), 0);
  ASSERT_EQ(t->Submit(), kReads);
  int more = 0;
  while (t->Prep(0, Cmd(0x02, 0, decoy), 100000 + uint64_t(more), -1) == 0) ++more;
  EXPECT_EQ(more, 512 - kReads) << "one SQE per command the kernel may still read";
  ASSERT_EQ(t->Submit(), more);
  int own = 0, wrong = 0, failed = 0, decoy_efault = 0;
  for (const Completion& c : ReapAll(t, kReads + more)) {
    if (c.tag >= 100000) {
      // A decoy issued from io-wq meets the same 6.12 address truncation as a first read
      // (docs/kernels.md): -EFAULT, the command never reached the device. Nothing else.
      if (c.res == -EFAULT) ++decoy_efault;
      else EXPECT_EQ(c.res, 0) << "decoy read";
      continue;
    }
    const uint64_t got = reinterpret_cast<uint64_t*>(buf(int(c.tag)))[0];
    if (c.res != 0) {
      ++failed;  // e.g. -EFAULT: 6.12 can truncate the address of a command issued from io-wq
    } else if (got == Mark(c.tag)) {
      ++own;
    } else {
      ++wrong;
      ADD_FAILURE() << "read of block " << c.tag << " succeeded with " << std::hex << got
                    << " in its buffer (block 0 is " << Mark(0) << ")";
    }
  }
  printf("sqe_lab_test: %d reads: own=%d wrong=%d failed=%d; %d more commands taken (%d of them "
         "-EFAULT)\n", kReads, own, wrong, failed, more, decoy_efault);
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(own + failed, kReads);
  std::free(base);
}

}  // namespace
}  // namespace nvme_mpath::internal
