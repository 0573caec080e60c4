// PathMonitor over a fake controller access and a fake clock: one worker per path, no lock held
// across a controller's admin commands, every fact re-read on reopen; and inline (no workers),
// one transition per test: ANA read failures, a namespace in no ANA group, a reset, a reopen
// that finds another namespace, the marginal probe, PollOnce()'s schedule. The only waits are
// bounded condition-variable waits on the workers (no sleeps).
#include "path_monitor.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>

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
    bool in_no_group;
    {
      std::lock_guard<std::mutex> l(mu_);
      block = block_fd == fd ? &latch : nullptr;
      s = ana.count(fd) ? ana[fd] : AnaState::kOptimized;
      ++ana_reads;
      if (auto it = ana_error.find(fd); it != ana_error.end()) return it->second;
      in_no_group = unlisted.count(fd) != 0;
    }
    if (block) block->Wait();  // an admin queue that hangs until the test releases it
    AnaLog log;
    AnaGroup g;
    g.grpid = 1;
    g.state = s;
    g.nsids = {1};
    AnaGroup other;  // another namespace's group, in another state
    other.grpid = 2;
    other.state = AnaState::kOptimized;
    other.nsids = {2};
    if (in_no_group) g.nsids = {};
    log.groups.push_back(g);
    log.groups.push_back(other);
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
  int Probe(int, uint32_t, uint32_t, uint32_t) override {
    std::lock_guard<std::mutex> l(mu_);
    ++probes;
    if (clock != nullptr) clock->Advance(probe_latency_ns);
    if (probe_results.empty()) return 0;
    const int r = probe_results.front();
    probe_results.pop_front();
    return r;
  }

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
  std::map<int, absl::Status> ana_error;  // by fd: the ANA read fails so
  std::set<int> unlisted;                  // by fd: the log lists nsid 1 in no group
  std::deque<int> probe_results;           // then 0
  int64_t probe_latency_ns = 0;            // the probe takes this long (fake clock)
  FakeClock* clock = nullptr;
  int probes = 0;
};

class PathMonitorTest : public ::testing::Test {
 protected:
  void Build(MonitorConfig cfg = {}) {
    table_ = std::make_unique<PathTable>(2);
    for (int i = 0; i < 2; ++i) table_->path(i).fd = 100 + i;
    access_.clock = &clock_;
    monitor_ = std::make_unique<PathMonitor>(table_.get(), std::vector<PathDesc>{Desc(0), Desc(1)},
                                             &access_, &clock_, cfg);
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


// ---- inline mode: one transition per test ------------------------------------------------

TEST_F(PathMonitorTest, InlineRoundRefreshesEveryPathBeforeItReturns) {
  Build();
  const uint64_t r = monitor_->RequestRefresh();  // no Start(): runs here
  EXPECT_TRUE(monitor_->WaitRound(r, -1, 0));
  EXPECT_TRUE(monitor_->Pending(r).empty());
  EXPECT_EQ(access_.ana_reads, 2);
  EXPECT_TRUE(table_->path(0).Usable());
  EXPECT_TRUE(table_->path(1).Usable());
}

TEST_F(PathMonitorTest, PollOnceRefreshesOnTheIntervalAndWhenAQueueAsks) {
  MonitorConfig cfg;
  cfg.poll_interval_ns = 1'000'000'000;
  Build(cfg);
  EXPECT_EQ(monitor_->next_poll_ns(), clock_.NowNs() + cfg.poll_interval_ns);
  EXPECT_EQ(monitor_->PollOnce(false), 0u);  // nothing due
  EXPECT_EQ(access_.ana_reads, 0);
  clock_.AdvanceMs(999);
  EXPECT_EQ(monitor_->PollOnce(false), 0u);
  clock_.AdvanceMs(1);
  EXPECT_EQ(monitor_->PollOnce(false), 1u);  // the interval
  EXPECT_EQ(access_.ana_reads, 2);
  EXPECT_EQ(monitor_->next_poll_ns(), clock_.NowNs() + cfg.poll_interval_ns);
  // A queue's path error wakes it at once, and the flag is taken: the next call does nothing.
  table_->ReportPathError(1, /*gone=*/false, /*ana=*/false);
  EXPECT_EQ(monitor_->PollOnce(false), 2u);
  EXPECT_TRUE(table_->path(1).Usable());  // the round found it healthy again
  EXPECT_EQ(monitor_->PollOnce(false), 0u);
  // An ANA status seen by a queue.
  table_->ReportPathError(0, false, /*ana=*/true);
  EXPECT_EQ(monitor_->PollOnce(false), 3u);
  EXPECT_EQ(monitor_->PollOnce(true), 4u);  // a uevent
  EXPECT_EQ(monitor_->PollOnce(false), 0u);
}

TEST_F(PathMonitorTest, NoPeriodicRoundWithoutAPollInterval) {
  MonitorConfig cfg;
  cfg.poll_interval_ns = 0;
  Build(cfg);
  EXPECT_EQ(monitor_->next_poll_ns(), PathMonitor::kNever);
  clock_.AdvanceMs(3'600'000);
  EXPECT_EQ(monitor_->PollOnce(false), 0u);
  EXPECT_EQ(access_.ana_reads, 0);
  EXPECT_EQ(monitor_->PollOnce(true), 1u);
}

TEST_F(PathMonitorTest, FailedAnaReadFailsThePathUntilAReadSucceeds) {
  Build();
  monitor_->RefreshPath(0);
  ASSERT_TRUE(table_->path(0).Usable());
  const uint64_t epoch = table_->epoch();
  // An admin command that timed out: the message names ENODEV's text, the code does not. Only
  // the code decides (ana.h): the controller is not gone, its fd stays open.
  access_.ana_error[100] = absl::DeadlineExceededError("fd 100: Get Log Page ANA: No such device");
  monitor_->RefreshPath(0);
  const PathState& ps = table_->path(0);
  EXPECT_EQ(ps.health.load(), PathHealth::kFailed);
  EXPECT_FALSE(ps.Usable());
  EXPECT_EQ(ps.outlook.load(), PathOutlook::kMayReturn);
  EXPECT_EQ(ps.fd.load(), 100);
  EXPECT_TRUE(access_.closed.empty());
  EXPECT_EQ(ps.ana.load(), AnaState::kOptimized);  // the last state read stays shown
  EXPECT_GT(table_->epoch(), epoch);
  access_.ana_error.erase(100);
  monitor_->RefreshPath(0);
  EXPECT_EQ(ps.health.load(), PathHealth::kLive);
  EXPECT_TRUE(ps.Usable());
}

TEST_F(PathMonitorTest, AnaReadThatFindsTheControllerGoneClosesAndReopens) {
  Build();
  monitor_->RefreshPath(0);
  // The controller was deleted between the state read and the Get Log Page (ENODEV).
  access_.ana_error[100] = absl::NotFoundError("fd 100: Get Log Page ANA: controller gone");
  monitor_->RefreshPath(0);
  const PathState& ps = table_->path(0);
  EXPECT_EQ(ps.health.load(), PathHealth::kGone);
  EXPECT_FALSE(ps.Usable());
  PathDesc back = Desc(0);
  back.ctrl_name = "nvme7";
  back.ng_path = "/dev/ng7n1";
  access_.reappeared.push_back(back);
  const uint32_t reset_gen = ps.reset_gen.load();
  monitor_->RefreshPath(0);  // closes the dead fd, finds the new controller, reads its ANA log
  EXPECT_EQ(access_.closed, std::vector<int>{100});
  EXPECT_EQ(ps.fd.load(), 200);
  EXPECT_GT(ps.reset_gen.load(), reset_gen);
  EXPECT_TRUE(ps.Usable());
  EXPECT_EQ(monitor_->Reports()[0].desc.ctrl_name, "nvme7");
}

TEST_F(PathMonitorTest, NamespaceInNoAnaGroupIsInaccessibleUntilListedAgain) {
  Build();
  monitor_->RefreshPath(0);
  ASSERT_EQ(monitor_->Reports()[0].ana_grpid, 1u);
  access_.unlisted.insert(100);
  monitor_->RefreshPath(0);
  const PathState& ps = table_->path(0);
  EXPECT_EQ(ps.ana.load(), AnaState::kInaccessible);
  EXPECT_EQ(ps.health.load(), PathHealth::kLive);  // the controller answered
  EXPECT_FALSE(ps.Usable());
  EXPECT_EQ(ps.outlook.load(), PathOutlook::kMayReturn);
  EXPECT_EQ(monitor_->Reports()[0].ana_grpid, 1u);  // the group last seen stays reported
  access_.unlisted.clear();
  monitor_->RefreshPath(0);
  EXPECT_EQ(ps.ana.load(), AnaState::kOptimized);
  EXPECT_TRUE(ps.Usable());
}

TEST_F(PathMonitorTest, ResettingControllerFailsThePathWithoutAnAnaRead) {
  Build();
  monitor_->RefreshPath(0);
  const PathState& ps = table_->path(0);
  const uint32_t reset_gen = ps.reset_gen.load();
  const int reads = access_.ana_reads;
  access_.SetState("nvme0", CtrlState::kResetting);
  monitor_->RefreshPath(0);
  EXPECT_EQ(access_.ana_reads, reads);  // a resetting controller's admin queue is not asked
  EXPECT_EQ(ps.health.load(), PathHealth::kFailed);
  EXPECT_FALSE(ps.Usable());
  EXPECT_EQ(ps.fd.load(), 100);  // not deleted: same char device when it is live again
  EXPECT_EQ(ps.reset_gen.load(), reset_gen + 1);  // held writes may be released (option)
  EXPECT_EQ(monitor_->Reports()[0].ctl.ctrl, CtrlState::kResetting);
  monitor_->RefreshPath(0);  // still resetting: no second reset
  EXPECT_EQ(ps.reset_gen.load(), reset_gen + 1);
  access_.SetState("nvme0", CtrlState::kLive);
  monitor_->RefreshPath(0);
  EXPECT_EQ(access_.ana_reads, reads + 1);
  EXPECT_TRUE(ps.Usable());
  EXPECT_EQ(ps.reset_gen.load(), reset_gen + 2);  // live again after a reset
}

TEST_F(PathMonitorTest, ChangeLongerThanAnattIsCountedOncePerChange) {
  Build();
  access_.SetAna(100, AnaState::kChange);
  monitor_->RefreshPath(0);
  clock_.AdvanceMs(10'001);
  monitor_->RefreshPath(0);
  clock_.AdvanceMs(5'000);
  monitor_->RefreshPath(0);  // still in the same change: not counted again
  EXPECT_EQ(monitor_->Reports()[0].ctl.anatt_exceeded_count, 1u);
  access_.SetAna(100, AnaState::kOptimized);
  monitor_->RefreshPath(0);
  EXPECT_FALSE(monitor_->Reports()[0].ctl.anatt_exceeded);
  EXPECT_TRUE(table_->path(0).Usable());
  access_.SetAna(100, AnaState::kChange);  // a second change, as long
  monitor_->RefreshPath(0);
  clock_.AdvanceMs(10'001);
  monitor_->RefreshPath(0);
  EXPECT_TRUE(monitor_->Reports()[0].ctl.anatt_exceeded);
  EXPECT_EQ(monitor_->Reports()[0].ctl.anatt_exceeded_count, 2u);
  EXPECT_EQ(table_->path(0).outlook.load(), PathOutlook::kComingBack);
}

TEST_F(PathMonitorTest, ReopenThatFindsAnotherNamespaceIsNotUsedAndNotLost) {
  Build();
  monitor_->RefreshPath(0);
  access_.SetState("nvme0", CtrlState::kDeleting);
  monitor_->RefreshPath(0);  // closed
  PathDesc other = Desc(0);  // the endpoint came back exposing another namespace at nsid 1
  other.ctrl_name = "nvme7";
  other.ng_path = "/dev/ng7n1";
  other.ns.nguid[0] = 0x43;
  access_.reappeared.push_back(other);
  clock_.Advance(kLostAfterNs);
  monitor_->RefreshPath(0);
  const PathState& ps = table_->path(0);
  EXPECT_TRUE(access_.opened.empty());  // never opened: no I/O can reach the other namespace
  EXPECT_EQ(ps.fd.load(), -1);
  EXPECT_FALSE(ps.Usable());
  // Something is at the endpoint: the path may return (not lost, parked I/O keeps waiting).
  EXPECT_EQ(ps.outlook.load(), PathOutlook::kMayReturn);
  // Same namespace, another LBA format: not used either.
  access_.reappeared[0] = Desc(0);
  access_.reappeared[0].ctrl_name = "nvme8";
  access_.reappeared[0].ng_path = "/dev/ng8n1";
  access_.reappeared[0].ns.lba_size = 4096;
  monitor_->RefreshPath(0);
  EXPECT_TRUE(access_.opened.empty());
  // The right namespace comes back: reopened.
  access_.reappeared[0].ns.lba_size = 512;
  monitor_->RefreshPath(0);
  EXPECT_EQ(access_.opened, std::vector<std::string>{"/dev/ng8n1"});
  EXPECT_TRUE(ps.Usable());
}

// A reopen that finds another path's live controller leaves the path closed: two paths through
// one controller would make failover between them meaningless.
TEST_F(PathMonitorTest, ReopenNeverUsesAnotherPathsController) {
  Build();
  monitor_->RefreshPath(0);
  monitor_->RefreshPath(1);
  access_.SetState("nvme0", CtrlState::kDeleting);
  monitor_->RefreshPath(0);  // closed
  PathDesc wrong = Desc(1);  // path 1's controller, answering for path 0's endpoint
  wrong.key = Desc(0).key;
  access_.reappeared.push_back(wrong);
  clock_.Advance(kLostAfterNs);
  monitor_->RefreshPath(0);
  EXPECT_TRUE(access_.opened.empty());
  EXPECT_EQ(table_->path(0).fd.load(), -1);
  EXPECT_FALSE(table_->path(0).Usable());
  EXPECT_TRUE(table_->path(1).Usable());
  access_.reappeared[0] = Desc(0);  // its own controller, back under a new name
  access_.reappeared[0].ctrl_name = "nvme5";
  access_.reappeared[0].ng_path = "/dev/ng5n1";
  monitor_->RefreshPath(0);
  EXPECT_EQ(access_.opened, std::vector<std::string>{"/dev/ng5n1"});
}

TEST_F(PathMonitorTest, MarginalPathIsTrustedAfterThreeQuickGoodProbes) {
  Build();
  monitor_->RefreshPath(0);
  PathState& ps = table_->path(0);
  ps.marginal = true;  // a queue saw repeated incidents
  const uint64_t epoch = table_->epoch();
  monitor_->RefreshPath(0);
  monitor_->RefreshPath(0);
  EXPECT_TRUE(ps.marginal.load());
  access_.probe_results = {-EINTR};  // a failed probe starts the count again
  monitor_->RefreshPath(0);
  EXPECT_TRUE(ps.marginal.load());
  access_.probe_latency_ns = 500'000'000;  // a slow probe does not count either
  monitor_->RefreshPath(0);
  EXPECT_TRUE(ps.marginal.load());
  access_.probe_latency_ns = 1'000'000;
  monitor_->RefreshPath(0);
  monitor_->RefreshPath(0);
  EXPECT_TRUE(ps.marginal.load());
  EXPECT_EQ(access_.probes, 6);
  monitor_->RefreshPath(0);  // the third good one in a row
  EXPECT_FALSE(ps.marginal.load());
  EXPECT_GT(table_->epoch(), epoch);
  monitor_->RefreshPath(0);
  EXPECT_EQ(access_.probes, 7);  // trusted: no more probes
}

TEST_F(PathMonitorTest, MarginalPathThatIsNotHealthyIsNotProbed) {
  Build();
  monitor_->RefreshPath(0);
  table_->path(0).marginal = true;
  access_.SetState("nvme0", CtrlState::kConnecting);
  monitor_->RefreshPath(0);
  EXPECT_EQ(access_.probes, 0);
  EXPECT_TRUE(table_->path(0).marginal.load());
}

TEST_F(PathMonitorTest, PreferredPathStaysPreferredAcrossItsReopen) {
  Build();
  table_->SetPolicy(IoPolicy::kActivePassive, 0);
  monitor_->RefreshPath(0);
  monitor_->RefreshPath(1);
  access_.SetState("nvme0", CtrlState::kDeleting);
  monitor_->RefreshPath(0);
  EXPECT_FALSE(table_->path(0).Usable());
  EXPECT_EQ(table_->preferred(), 0);  // the index, not the controller: kept while it is away
  PathDesc back = Desc(0);
  back.ctrl_name = "nvme7";
  back.ng_path = "/dev/ng7n1";
  access_.reappeared.push_back(back);
  monitor_->RefreshPath(0);
  EXPECT_TRUE(table_->path(0).Usable());
  EXPECT_EQ(table_->policy(), IoPolicy::kActivePassive);
  EXPECT_EQ(table_->preferred(), 0);  // queues send to it again on their next snapshot
}
}  // namespace
}  // namespace nvme_mpath::internal
