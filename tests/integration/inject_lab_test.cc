// Disposition rows through the real kernel (run by tests/integration/inject_guest.sh in the VM
// lab with LAB_PROXY_PORTS=1): the fault proxy on port 1 rewrites one completion to a chosen NVMe
// status, the kernel hands it to the engine as cqe->res, and the engine must do what its
// disposition table (docs/architecture.md) says: retry on the same path, fail over to port 2, or
// hand the error to the application. Each test checks the proxy acted (its `injected` counter)
// and the engine saw it (the per-path retry / failover / error counters), not only the result.
#include <nvme_mpath/engine.h>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lab_util.h"
#include "support/status_matchers.h"

namespace nvme_mpath {
namespace {

using lab::Lab;
using lab::Ng;

uint64_t ProxyStat(const std::string& key) {
  std::string out;
  EXPECT_EQ(Lab("lab_proxy_stat 1 " + key, &out), 0) << out;
  return std::strtoull(out.c_str(), nullptr, 10);
}

class InjectLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!lab::InLab()) GTEST_SKIP() << "not inside the VM lab (LAB_LIB unset)";
    ASSERT_EQ(Lab("lab_proxy 1 clear && lab_ana 1 optimized && lab_ana 2 non-optimized"), 0)
        << "run with LAB_PROXY_PORTS=1";
    EngineOptions o;
    o.paths = {Ng(1, 1), Ng(2, 1)};
    ASSERT_FALSE(o.paths[0].empty() || o.paths[1].empty());
    o.ana_poll_interval_ms = 200;
    o.cmd_timeout_ms = 1000;  // a swallowed command is aborted by the kernel after 1 s
    auto e = Engine::Open(o);
    ASSERT_OK(e);
    engine_ = std::move(*e);
    auto q = engine_->CreateQueue({});
    ASSERT_OK(q);
    queue_ = std::move(*q);
    buf_ = static_cast<uint8_t*>(std::aligned_alloc(4096, 4096));
    ASSERT_NE(buf_, nullptr);
    std::memset(buf_, 0x5c, 4096);
    lba_ = engine_->info().lba_size;
    ASSERT_EQ(queue_->Write(kSlba, 4096 / lba_, buf_), 0);  // warm both the path and the data
    p1_ = PathOf(o.paths[0]);
  }
  void TearDown() override {
    queue_.reset();
    engine_.reset();
    std::free(buf_);
    if (lab::InLab()) Lab("lab_proxy 1 clear");
  }
  int PathOf(const std::string& ng) {
    auto paths = engine_->Paths();
    for (size_t i = 0; i < paths.size(); ++i)
      if (paths[i].ng_path == ng) return int(i);
    ADD_FAILURE() << ng << " not among the engine's paths";
    return 0;
  }
  PathStatsSnapshot Port1() { return engine_->Stats()[p1_]; }
  // What port 1's counters did across one read whose completion the proxy rewrote to
  // `status`; the read itself must succeed and the proxy must have acted.
  struct Delta {
    uint64_t errors = 0, retries = 0, failovers = 0;
  };
  Delta ReadWithInjected(const char* status) {
    const PathStatsSnapshot before = Port1();
    const uint64_t injected = ProxyStat("injected");
    Inject(status, "0x02");
    NvmeStatus st;
    EXPECT_EQ(queue_->Read(kSlba, 4096 / lba_, buf_, &st), 0) << "status " << st.raw;
    EXPECT_EQ(ProxyStat("injected"), injected + 1) << "the proxy did not inject";
    const PathStatsSnapshot after = Port1();
    return {after.errors - before.errors, after.retries - before.retries,
            after.failovers - before.failovers};
  }
  // Arms one injection of `status` on the next command of `opcode` on port 1.
  void Inject(const char* status, const char* opcode) {
    ASSERT_EQ(Lab(std::string("lab_inject 1 ") + status + " 1 " + opcode), 0);
  }

  static constexpr uint64_t kSlba = 256;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Queue> queue_;
  uint8_t* buf_ = nullptr;
  uint32_t lba_ = 4096;
  int p1_ = 0;
};

// Transient statuses without DNR: the kernel's block path retries these on the same path
// (nvme_decide_disposition: RETRY); the engine does too, and the application sees success.
TEST_F(InjectLabTest, TransientStatusIsRetriedOnTheSamePath) {
  for (const char* st : {"0x006", "0x007", "0x1882"}) {
    SCOPED_TRACE(st);
    const Delta d = ReadWithInjected(st);
    EXPECT_EQ(d.errors, 1u) << "the engine did not see the error on port 1";
    EXPECT_EQ(d.retries, 1u);
    EXPECT_EQ(d.failovers, 0u);
  }
}

// Aborted by SQ deletion (a dual-port PCIe reset) and transient transport errors: another path
// may be fine, so the engine fails over.
TEST_F(InjectLabTest, SqDeletionAndTransientTransportFailOver) {
  for (const char* st : {"0x008", "0x022", "0x370"}) {
    SCOPED_TRACE(st);
    const Delta d = ReadWithInjected(st);
    EXPECT_EQ(d.errors, 1u);
    EXPECT_EQ(d.failovers, 1u) << "the read did not fail over";
  }
}

// DNR: the target says retrying is pointless. The application gets the status, once.
TEST_F(InjectLabTest, DnrStatusReachesTheApplication) {
  for (const char* op : {"read", "write"}) {
    SCOPED_TRACE(op);
    const auto before = Port1();
    const bool write = std::string(op) == "write";
    Inject(write ? "0x4280" : "0x4281", write ? "0x01" : "0x02");
    NvmeStatus status;
    const int r = write ? queue_->Write(kSlba, 4096 / lba_, buf_, &status)
                        : queue_->Read(kSlba, 4096 / lba_, buf_, &status);
    EXPECT_NE(r, 0);
    EXPECT_EQ(status.code(), write ? 0x280 : 0x281) << "status " << status.raw;
    EXPECT_TRUE(status.dnr());
    const auto after = Port1();
    EXPECT_EQ(after.errors, before.errors + 1);
    EXPECT_EQ(after.retries, before.retries) << "a DNR status was retried";
    EXPECT_EQ(after.failovers, before.failovers) << "a DNR status failed over";
  }
}

// A status whose code is 0 with only the More bit set is success.
TEST_F(InjectLabTest, MoreBitAloneIsSuccess) {
  const auto before = Port1();
  Inject("0x2000", "0x02");
  NvmeStatus status;
  EXPECT_EQ(queue_->Read(kSlba, 4096 / lba_, buf_, &status), 0) << "status " << status.raw;
  EXPECT_EQ(Port1().errors, before.errors);
}

// The target never answers: the kernel aborts the command after cmd_timeout (1 s) and resets
// the controller; the engine fails the read over and the application sees success.
TEST_F(InjectLabTest, SwallowedReadFailsOverAfterTheKernelAbortsIt) {
  const auto before = Port1();
  const uint64_t dropped = ProxyStat("dropped");
  ASSERT_EQ(Lab("lab_proxy 1 rule drop count=1 opcode=0x02"), 0);
  NvmeStatus status;
  EXPECT_EQ(queue_->Read(kSlba, 4096 / lba_, buf_, &status), 0) << "status " << status.raw;
  EXPECT_EQ(ProxyStat("dropped"), dropped + 1);
  EXPECT_GE(Port1().errors, before.errors + 1);
  EXPECT_GE(Port1().failovers, before.failovers + 1);
  EXPECT_EQ(Lab("lab_wait_state 1 live 30"), 0);
}

// Flush across paths (docs/durability.md): a Flush goes down every path that completed writes
// since that path's last flush, even when the policy sends I/O elsewhere. The proxy on port 1
// sees the flush command (opcode 0x00) and rewrites its completion.
class FlushLabTest : public InjectLabTest {
 protected:
  void SetUp() override {
    InjectLabTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    p2_ = 1 - p1_;
    // Both optimized, so that active-passive sends I/O to whichever the test prefers.
    ASSERT_EQ(Lab("lab_ana 2 optimized"), 0);
    for (int i = 0; i < 200 && engine_->Paths()[p2_].ana_state != AnaState::kOptimized; ++i)
      usleep(50'000);
    ASSERT_EQ(engine_->Paths()[p2_].ana_state, AnaState::kOptimized) << "the engine did not see port 2 optimized";
    // Nothing uncovered from here on: SetUp's write was on port 1.
    ASSERT_EQ(queue_->FlushCache(), 0);
  }
  void Prefer(int path) {
    ASSERT_OK(engine_->SetPolicy(IoPolicy::kActivePassive, engine_->Paths()[path].ng_path));
  }
  int p2_ = 1;
};

TEST_F(FlushLabTest, FlushReachesThePathThatWroteNotOnlyThePolicysPath) {
  Prefer(p1_);
  ASSERT_EQ(queue_->Write(kSlba, 4096 / lba_, buf_), 0);  // completed by port 1's controller
  Prefer(p2_);
  ASSERT_EQ(queue_->Write(kSlba + 8, 4096 / lba_, buf_), 0);  // by port 2's
  const auto before1 = Port1(), before2 = engine_->Stats()[p2_];
  const uint64_t injected = ProxyStat("injected");
  Inject("0x006", "0x00");  // port 1's flush: a transient error, retried on port 1
  NvmeStatus st;
  EXPECT_EQ(queue_->FlushCache(&st), 0) << "status " << st.raw;
  EXPECT_EQ(ProxyStat("injected"), injected + 1) << "no flush reached port 1";
  EXPECT_EQ(Port1().retries, before1.retries + 1) << "the engine did not see port 1's flush fail";
  EXPECT_EQ(Port1().ios, before1.ios + 1);  // port 1's flush, after its retry
  EXPECT_EQ(engine_->Stats()[p2_].ios, before2.ios + 1);  // port 2's flush
}

TEST_F(FlushLabTest, FlushSkipsAPathWithoutNewWrites) {
  Prefer(p2_);
  ASSERT_EQ(queue_->Write(kSlba, 4096 / lba_, buf_), 0);
  const uint64_t injected = ProxyStat("injected");
  Inject("0x4002", "0x00");  // would fail the flush if one reached port 1
  EXPECT_EQ(queue_->FlushCache(), 0);
  EXPECT_EQ(ProxyStat("injected"), injected) << "port 1 had nothing to flush but got a flush";
  ASSERT_EQ(Lab("lab_proxy 1 clear"), 0);
}

// Port 1's flush meets a path error: it fails over to port 2, where the data now lives, and the
// Flush succeeds; port 1 counts the failover.
TEST_F(FlushLabTest, PathErrorOnAFlushFailsOver) {
  Prefer(p1_);
  ASSERT_EQ(queue_->Write(kSlba, 4096 / lba_, buf_), 0);
  const auto before1 = Port1();
  const uint64_t injected = ProxyStat("injected");
  Inject("0x370", "0x00");
  NvmeStatus st;
  EXPECT_EQ(queue_->FlushCache(&st), 0) << "status " << st.raw;
  EXPECT_EQ(ProxyStat("injected"), injected + 1);
  EXPECT_EQ(Port1().failovers, before1.failovers + 1);
}

// FUA on a real kernel: the write with CDW12 bit 30 completes and reads back.
TEST_F(FlushLabTest, FuaWriteAndRead) {
  std::memset(buf_, 0xa7, 4096);
  Io w;
  w.op = IoOp::kWrite;
  w.slba = kSlba + 16;
  w.nlb = 4096 / lba_;
  w.buf = buf_;
  w.cdw12_flags = kCdw12Fua;
  w.done = [](Io*) {};
  EXPECT_EQ(queue_->Execute(&w), 0);
  uint8_t* rb = static_cast<uint8_t*>(std::aligned_alloc(4096, 4096));
  Io r = w;
  r.op = IoOp::kRead;
  r.buf = rb;
  EXPECT_EQ(queue_->Execute(&r), 0);
  EXPECT_EQ(std::memcmp(rb, buf_, 4096), 0);
  std::free(rb);
}

}  // namespace
}  // namespace nvme_mpath
