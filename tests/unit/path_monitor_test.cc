// PathMonitor over a fake controller access and a fake clock: one worker per path, no lock held
// across a controller's admin commands, every fact re-read on reopen. The only waits are
// bounded condition-variable waits on the workers (no sleeps).
#include "path_monitor.h"

#include <condition_variable>
#include <map>
#include <mutex>

#include <gtest/gtest.h>

#include "support/fake_clock.h"
#include "write_hold.h"

namespace nvme_mpath::internal {
namespace {

using nvme_mpath::testing::FakeClock;

constexpr int64_t kWaitMs = 10'000;  // bound of every wait (a failing test ends, never hangs)

// A latch the test opens; waiters give up after kWaitMs.
class Latch {
 public:
  void Open() {
    {
      std::lock_guard<std::mutex> l(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> l(mu_);
    entered_ = true;
    entered_cv_.notify_all();
    cv_.wait_for(l, std::chrono::milliseconds(kWaitMs), [&] { return open_; });
  }
  bool WaitEntered() {
    std::unique_lock<std::mutex> l(mu_);
    return entered_cv_.wait_for(l, std::chrono::milliseconds(kWaitMs), [&] { return entered_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_, entered_cv_;
  bool open_ = false, entered_ = false;
};

PathDesc Desc(int i) {
  PathDesc d;
  d.ng_path = "/dev/ng" + std::to_string(i) + "n1";
  d.ctrl_name = "nvme" + std::to_string(i);
  d.key = PathKey{"nqn.test", "tcp", "traddr=10.0.0." + std::to_string(i), uint16_t(i + 1)};
  d.nsid = 1;
  d.numa_node = 0;
  d.kato_ms = 2000;
  d.ctrl.cmic = 0x8;  // ANA
  d.ctrl.anatt_s = 10;
  d.ctrl.crdt = {1, 2, 3};
  d.ctrl.max_transfer_bytes = 128 * 1024;
  d.ctrl.ctratt = ControllerIdentity::kCtrattTbkas;
  d.ns.nsid = 1;
  d.ns.nsze = 1 << 20;
  d.ns.lba_size = 512;
  d.ns.nguid[0] = 0x42;
  return d;
}

class FakeCtrlAccess final : public CtrlAccess {
 public:
  CtrlState State(const PathDesc& d) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = state.find(d.ctrl_name);
    return it == state.end() ? CtrlState::kLive : it->second;
  }
  absl::StatusOr<AnaLog> ReadAna(int fd, const PathDesc&) override {
    Latch* block = nullptr;
    AnaState s;
    {
      std::lock_guard<std::mutex> l(mu_);
      block = block_fd == fd ? &latch : nullptr;
      s = ana.count(fd) ? ana[fd] : AnaState::kOptimized;
      ++ana_reads;
    }
    if (block) block->Wait();  // an admin queue that hangs until the test releases it
    AnaLog log;
    AnaGroup g;
    g.grpid = 1;
    g.state = s;
    g.nsids = {1};
    log.groups.push_back(g);
    return log;
  }
  absl::StatusOr<PathDesc> Find(const PathKey& key, uint32_t) override {
    std::lock_guard<std::mutex> l(mu_);
    for (const PathDesc& d : reappeared)
      if (d.key.SameEndpoint(key)) return d;
    return absl::NotFoundError("nothing at " + key.address);
  }
  int Open(const std::string& ng_path) override {
    std::lock_guard<std::mutex> l(mu_);
    opened.push_back(ng_path);
    return next_fd++;
  }
  void Close(int fd) override {
    std::lock_guard<std::mutex> l(mu_);
    closed.push_back(fd);
  }
  int Probe(int, uint32_t, uint32_t, uint32_t) override { return 0; }

  void SetAna(int fd, AnaState s) {
    std::lock_guard<std::mutex> l(mu_);
    ana[fd] = s;
  }
  void SetState(const std::string& ctrl, CtrlState s) {
    std::lock_guard<std::mutex> l(mu_);
    state[ctrl] = s;
  }

  std::mutex mu_;
  std::map<std::string, CtrlState> state;
  std::map<int, AnaState> ana;  // by fd
  std::vector<PathDesc> reappeared;
  std::vector<std::string> opened;
  std::vector<int> closed;
  int block_fd = -1;
  Latch latch;
  int next_fd = 200;
  int ana_reads = 0;
};

class PathMonitorTest : public ::testing::Test {
 protected:
  void Build() {
    table_ = std::make_unique<PathTable>(2);
    for (int i = 0; i < 2; ++i) table_->path(i).fd = 100 + i;
    monitor_ = std::make_unique<PathMonitor>(table_.get(), std::vector<PathDesc>{Desc(0), Desc(1)},
                                             &access_, &clock_, MonitorConfig{});
  }
  void TearDown() override {
    access_.latch.Open();
    if (monitor_) monitor_->Stop();
  }

  FakeClock clock_;
  FakeCtrlAccess access_;
  std::unique_ptr<PathTable> table_;
  std::unique_ptr<PathMonitor> monitor_;
};

TEST_F(PathMonitorTest, PublishesEachPathsFactsWhenAdded) {
  Build();
  const PathState& ps = table_->path(1);
  EXPECT_EQ(ps.numa_node.load(), 0);
  EXPECT_EQ(ps.crdt[0], 1);
  EXPECT_EQ(ps.crdt[2], 3);
  EXPECT_EQ(ps.max_transfer_bytes.load(), 128u * 1024);
  EXPECT_EQ(ps.write_hold_ns.load(),
            WriteHoldNs({.kato_ms = 2000, .cqt_ms = 0, .tbkas = true, .fabrics = true}));
  EXPECT_EQ(table_->MaxTransferBytes(), 128u * 1024);
}

TEST_F(PathMonitorTest, StuckControllerDoesNotDelayAnotherPathsStateChange) {
  Build();
  access_.block_fd = 100;  // path 0's ANA read hangs
  monitor_->Start();
  const uint64_t first = monitor_->RequestRefresh();
  ASSERT_TRUE(access_.latch.WaitEntered());  // path 0's worker is inside its admin command
  ASSERT_TRUE(monitor_->WaitRound(first, 1, kWaitMs));
  EXPECT_EQ(table_->path(1).ana.load(), AnaState::kOptimized);

  // Path 1's controller fails over (ANA change) while path 0's admin queue still hangs: the
  // change is published, and Paths()-style reports can still be read (no lock held).
  access_.SetAna(101, AnaState::kChange);
  const uint64_t epoch = table_->epoch();
  const uint64_t second = monitor_->RequestRefresh();
  ASSERT_TRUE(monitor_->WaitRound(second, 1, kWaitMs));
  EXPECT_EQ(table_->path(1).ana.load(), AnaState::kChange);
  EXPECT_EQ(table_->path(1).outlook.load(), PathOutlook::kComingBack);
  EXPECT_GT(table_->epoch(), epoch);
  EXPECT_EQ(monitor_->Reports()[1].ctl.ana, AnaState::kChange);
  EXPECT_FALSE(monitor_->WaitRound(first, 0, 0));  // path 0: still in its first read
  EXPECT_EQ(table_->path(0).ana.load(), AnaState::kUnknown);
  EXPECT_EQ(monitor_->Pending(second), std::vector<int>{0});

  access_.latch.Open();
  ASSERT_TRUE(monitor_->WaitRound(second, -1, kWaitMs));
  EXPECT_EQ(table_->path(0).ana.load(), AnaState::kOptimized);
}

TEST_F(PathMonitorTest, ChangeLongerThanAnattIsReportedAndKeepsComingBack) {
  Build();
  access_.SetAna(100, AnaState::kChange);
  monitor_->RefreshPath(0);
  clock_.AdvanceMs(10'001);
  monitor_->RefreshPath(0);
  const PathReport r = monitor_->Reports()[0];
  EXPECT_TRUE(r.ctl.anatt_exceeded);
  EXPECT_EQ(r.ctl.anatt_exceeded_count, 1u);
  EXPECT_EQ(table_->path(0).ana.load(), AnaState::kChange);
  EXPECT_EQ(table_->path(0).outlook.load(), PathOutlook::kComingBack);
}

TEST_F(PathMonitorTest, DeletedControllerWithNothingBackBecomesLost) {
  Build();
  monitor_->RefreshPath(0);
  access_.SetState("nvme0", CtrlState::kDeleting);
  monitor_->RefreshPath(0);
  EXPECT_EQ(table_->path(0).fd.load(), -1);
  EXPECT_EQ(access_.closed, std::vector<int>{100});
  EXPECT_EQ(table_->path(0).health.load(), PathHealth::kGone);
  EXPECT_EQ(table_->path(0).outlook.load(), PathOutlook::kMayReturn);
  clock_.Advance(kLostAfterNs);
  monitor_->RefreshPath(0);  // reopen finds nothing at the endpoint
  EXPECT_EQ(table_->path(0).outlook.load(), PathOutlook::kLost);
}

TEST_F(PathMonitorTest, ReopenRereadsEveryFactOfTheNewAssociation) {
  Build();
  monitor_->RefreshPath(0);
  const uint32_t gen = table_->path(0).fd_gen.load();
  table_->ReportPathError(0, /*gone=*/true, /*ana=*/false);  // a queue saw -ENODEV
  PathDesc back = Desc(0);
  back.ctrl_name = "nvme7";
  back.ng_path = "/dev/ng7n1";
  back.key.cntlid = 9;
  back.numa_node = 1;
  back.kato_ms = 5000;
  back.ctrl.crdt = {4, 5, 6};
  back.ctrl.max_transfer_bytes = 32 * 1024;
  back.ctrl.cqt_ms = 100;
  access_.reappeared.push_back(back);
  monitor_->RefreshPath(0);
  const PathState& ps = table_->path(0);
  EXPECT_EQ(access_.closed, std::vector<int>{100});
  EXPECT_EQ(access_.opened, std::vector<std::string>{"/dev/ng7n1"});
  EXPECT_EQ(ps.fd.load(), 200);
  EXPECT_EQ(ps.fd_gen.load(), gen + 2);  // closed, then reopened
  EXPECT_EQ(ps.numa_node.load(), 1);
  EXPECT_EQ(ps.crdt[0], 4);
  EXPECT_EQ(ps.crdt[1], 5);
  EXPECT_EQ(ps.crdt[2], 6);
  EXPECT_EQ(ps.max_transfer_bytes.load(), 32u * 1024);
  EXPECT_EQ(table_->MaxTransferBytes(), 32u * 1024);
  EXPECT_EQ(ps.write_hold_ns.load(),
            WriteHoldNs({.kato_ms = 5000, .cqt_ms = 100, .tbkas = true, .fabrics = true}));
  EXPECT_EQ(ps.health.load(), PathHealth::kLive);  // the ANA read after the reopen confirmed it
  EXPECT_TRUE(ps.Usable());
  const PathReport r = monitor_->Reports()[0];
  EXPECT_EQ(r.desc.ctrl_name, "nvme7");
  EXPECT_EQ(r.desc.kato_ms, 5000u);
}

}  // namespace
}  // namespace nvme_mpath::internal
