// `nvme-mpath-ctl path disable|enable` (tools/nvme-mpath-ctl/path_admin.h) against fake engines:
// a StatsRegion per engine, written in-process, whose control thread is played inside the
// tool's sleep hook (ApplyAdminRequests, then the descriptor published), on a fake clock. No
// threads, no sleeps: each test decides when the engine takes the request and when the path's
// commands complete. The printed line and the JSON document against golden files.
#include "path_admin.h"

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "golden.h"
#include "model.h"
#include "stats_shm.h"

namespace nvme_mpath::ctl {
namespace {

using internal::ShmHeader;
using internal::ShmPath;
using internal::StatsReader;
using internal::StatsRegion;

// One engine: its segment (in /dev/shm, as a real one), one queue's counter blocks, the state
// its PathTable would hold, and the reader the tool opens read-write.
struct FakeEngine {
  FakeEngine(const char* name, int pid, int npaths = 2, const char* mode = "per-path") {
    region = StatsRegion::Create(true);
    if (region == nullptr || region->name().empty()) return;
    ShmHeader* h = region->header();
    h->npaths = uint32_t(npaths);
    h->pid = pid;
    strcpy(h->name, name);
    strcpy(h->mode, mode);
    region->BeginUpdate();
    for (int i = 0; i < npaths; ++i) {
      snprintf(h->paths[i].ng_path, sizeof(h->paths[i].ng_path), "/dev/ng%dn1", i);
      snprintf(h->paths[i].ctrl, sizeof(h->paths[i].ctrl), "nvme%d", i);
      h->paths[i].usable = 1;
    }
    region->EndUpdate();
    int slot = -1;
    counters = region->AcquireQueue(&slot);
    disabled.assign(size_t(npaths), false);
    auto r = StatsReader::Open("/dev/shm/" + region->name(), StatsReader::Access::kReadWrite);
    if (r.ok()) reader = std::move(*r);
  }
  bool ok() const { return reader != nullptr && counters != nullptr; }
  ShmHeader* h() { return region->header(); }
  // The engine's control thread, once: takes the requests, publishes what it did.
  void Step() {
    if (!running) return;
    ApplyAdminRequests(
        h(), int(disabled.size()), [this](int i) { return bool(disabled[size_t(i)]); },
        [this](int i, bool d) {
          if (refuses) return;
          disabled[size_t(i)] = d;
          region->BeginUpdate();
          h()->paths[i].disabled = d;
          region->EndUpdate();
        });
  }
  void SetInflight(int path, uint64_t n) { counters[path].inflight.store(n); }
  void SetUsable(int path, bool u) {
    region->BeginUpdate();
    h()->paths[path].usable = u;
    region->EndUpdate();
  }
  PathTarget Target(int path) {
    return PathTarget{{h()->pid, h()->name}, region->name(), reader.get(), path};
  }

  std::unique_ptr<StatsRegion> region;
  std::unique_ptr<StatsReader> reader;
  PathCounters* counters = nullptr;
  std::vector<bool> disabled;
  bool running = true;   // false: its control thread does not run (a stopped process)
  bool refuses = false;  // takes requests without applying them
};

class CtlPathTest : public ::testing::Test {
 protected:
  // The hooks: a fake clock that each sleep moves on, running every engine's control thread
  // and then the test's own step (commands completing...).
  PathWaitHooks Hooks() {
    PathWaitHooks h;
    h.now_ms = [this] { return now_ms_; };
    h.sleep_ms = [this](int ms) {
      now_ms_ += ms;
      ++sleeps_;
      for (FakeEngine* e : engines_) e->Step();
      if (on_sleep_) on_sleep_(sleeps_);
    };
    h.alive = [this](int pid) { return pid != dead_pid_; };
    return h;
  }
  FakeEngine* Add(std::unique_ptr<FakeEngine> e) {
    if (!e->ok()) return nullptr;
    engines_.push_back(e.get());
    owned_.push_back(std::move(e));
    return engines_.back();
  }
  int64_t now_ms_ = 0;
  int sleeps_ = 0;
  int dead_pid_ = -1;
  std::function<void(int)> on_sleep_;
  std::vector<FakeEngine*> engines_;
  std::vector<std::unique_ptr<FakeEngine>> owned_;
};

#define ADD_ENGINE(var, ...)                                         \
  FakeEngine* var = Add(std::make_unique<FakeEngine>(__VA_ARGS__)); \
  if (var == nullptr) GTEST_SKIP() << "no /dev/shm here"

TEST(CtlPathFindTest, ByNgDeviceWithOrWithoutDevOrByController) {
  std::vector<ShmPath> paths(2);
  strcpy(paths[0].ng_path, "/dev/ng0n1");
  strcpy(paths[0].ctrl, "nvme0");
  strcpy(paths[1].ng_path, "/dev/ng1n1");
  strcpy(paths[1].ctrl, "nvme1");
  EXPECT_EQ(FindPath(paths, "/dev/ng1n1"), 1);
  EXPECT_EQ(FindPath(paths, "ng1n1"), 1);
  EXPECT_EQ(FindPath(paths, "nvme0"), 0);
  EXPECT_EQ(FindPath(paths, "ng2n1"), -1);
  EXPECT_EQ(FindPath(paths, "nvme1n1"), -1) << "the block device is not the engine's path";
  EXPECT_EQ(FindPath(paths, "/dev/nvme0"), -1);
  EXPECT_EQ(FindPath(paths, "n1"), -1);
  EXPECT_EQ(FindPath(paths, ""), -1);
}

// The design case: the path carries I/O when it is disabled; the tool waits until the engine
// shows it disabled, then until its commands in flight are done.
TEST_F(CtlPathTest, DisableWaitsForTheEngineThenForTheDrain) {
  ADD_ENGINE(e, "fio-job", 1234);
  e->SetInflight(0, 3);
  on_sleep_ = [&](int n) {
    if (n == 5) e->SetInflight(0, 1);
    if (n == 8) e->SetInflight(0, 0);
  };
  const std::vector<PathAdminResult> r = RunPathRequests({e->Target(0)}, true, 5000, Hooks());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].ok) << r[0].error;
  EXPECT_TRUE(r[0].drained);
  EXPECT_FALSE(r[0].last_resort);
  EXPECT_FALSE(r[0].already);
  EXPECT_EQ(r[0].inflight, 0u);
  EXPECT_EQ(r[0].ng, "/dev/ng0n1");
  EXPECT_EQ(r[0].ctrl, "nvme0");
  EXPECT_EQ(r[0].engine.name, "fio-job");
  EXPECT_EQ(sleeps_, 8) << "done at the first look after the last command completed";
  EXPECT_TRUE(e->disabled[0]);
  EXPECT_FALSE(e->disabled[1]);
  EXPECT_EQ(e->reader->PendingRequest(0), internal::AdminWant::kNone);
  EXPECT_EQ(PathAdminLine(r[0]), "/dev/ng0n1 (nvme0) on engine fio-job[1234]: disabled, drained (0 in flight)");
}

TEST_F(CtlPathTest, EnableAndAlreadyInThatState) {
  ADD_ENGINE(e, "job", 42);
  std::vector<PathAdminResult> r = RunPathRequests({e->Target(1)}, false, 5000, Hooks());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].ok && r[0].already) << r[0].error;
  EXPECT_EQ(sleeps_, 0) << "already enabled: seen at the first look";
  r = RunPathRequests({e->Target(1)}, true, 5000, Hooks());
  EXPECT_TRUE(r[0].ok && r[0].drained && !r[0].already) << r[0].error;
  r = RunPathRequests({e->Target(1)}, true, 5000, Hooks());
  EXPECT_TRUE(r[0].ok && r[0].drained && r[0].already) << r[0].error;
  EXPECT_EQ(PathAdminLine(r[0]), "/dev/ng1n1 (nvme1) on engine job[42]: already disabled, drained (0 in flight)");
  r = RunPathRequests({e->Target(1)}, false, 5000, Hooks());
  EXPECT_TRUE(r[0].ok && !r[0].already) << r[0].error;
  EXPECT_FALSE(e->disabled[1]);
  EXPECT_EQ(PathAdminLine(r[0]), "/dev/ng1n1 (nvme1) on engine job[42]: enabled");
}

// No other path is usable: the engine still sends I/O down the disabled path (the last resort),
// so the tool says so instead of waiting for a drain that cannot come.
TEST_F(CtlPathTest, TheLastUsablePathIsDisabledButStaysInUse) {
  ADD_ENGINE(e, "job", 42);
  e->SetUsable(1, false);
  e->SetInflight(0, 5);
  const std::vector<PathAdminResult> r = RunPathRequests({e->Target(0)}, true, 5000, Hooks());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].ok) << r[0].error;
  EXPECT_TRUE(r[0].last_resort);
  EXPECT_FALSE(r[0].drained);
  EXPECT_EQ(r[0].inflight, 5u);
  EXPECT_EQ(sleeps_, 1);
  EXPECT_EQ(PathAdminLine(r[0]),
            "/dev/ng0n1 (nvme0) on engine job[42]: disabled, but still in use as the last resort: "
            "no other path is usable (5 in flight)");
  // Another disabled path does not count as usable either.
  e->SetUsable(1, true);
  ASSERT_TRUE(RunPathRequests({e->Target(1)}, true, 5000, Hooks())[0].last_resort);
}

TEST_F(CtlPathTest, AnEngineThatDoesNotTakeTheRequestTimesOutAndTheRequestIsWithdrawn) {
  ADD_ENGINE(e, "stopped", 43);
  e->running = false;
  const std::vector<PathAdminResult> r = RunPathRequests({e->Target(0)}, true, 100, Hooks());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].ok);
  EXPECT_NE(r[0].error.find("did not take the request within 100 ms"), std::string::npos) << r[0].error;
  EXPECT_EQ(now_ms_, 100);
  EXPECT_EQ(e->reader->PendingRequest(0), internal::AdminWant::kNone) << "withdrawn";
  e->running = true;
  e->Step();
  EXPECT_FALSE(e->disabled[0]) << "so it does not apply after the tool said it failed";
}

TEST_F(CtlPathTest, APathThatDoesNotDrainInTimeFails) {
  ADD_ENGINE(e, "stuck", 44);
  e->SetInflight(0, 3);
  const std::vector<PathAdminResult> r = RunPathRequests({e->Target(0)}, true, 50, Hooks());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].ok);
  EXPECT_TRUE(e->disabled[0]) << "disabled all the same";
  EXPECT_EQ(r[0].inflight, 3u);
  EXPECT_NE(r[0].error.find("disabled, but not drained: 3 command(s) still in flight after 50 ms"),
            std::string::npos) << r[0].error;
}

TEST_F(CtlPathTest, HeadModeIsRefusedWithoutAsking) {
  ADD_ENGINE(e, "head", 45, 1, "head");
  const std::vector<PathAdminResult> r = RunPathRequests({e->Target(0)}, true, 5000, Hooks());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].ok);
  EXPECT_NE(r[0].error.find("head mode"), std::string::npos) << r[0].error;
  EXPECT_EQ(e->reader->PendingRequest(0), internal::AdminWant::kNone);
  EXPECT_EQ(sleeps_, 0);
}

TEST_F(CtlPathTest, AnEngineThatExitsOrRefusesIsReportedAtOnce) {
  ADD_ENGINE(gone, "gone", 46);
  gone->running = false;
  dead_pid_ = gone->h()->pid;
  std::vector<PathAdminResult> r = RunPathRequests({gone->Target(0)}, true, 5000, Hooks());
  EXPECT_FALSE(r[0].ok);
  EXPECT_EQ(r[0].error, "the engine's process exited");
  EXPECT_EQ(sleeps_, 0);
  dead_pid_ = -1;
  gone->reader->WithdrawRequest(0, true);
  ADD_ENGINE(e, "refuses", 47);
  e->refuses = true;  // takes the request, changes nothing (its log would say why)
  r = RunPathRequests({e->Target(1)}, true, 5000, Hooks());
  EXPECT_FALSE(r[0].ok);
  EXPECT_NE(r[0].error.find("the engine took the request but the path is enabled now"), std::string::npos)
      << r[0].error;
  EXPECT_LT(now_ms_, 100) << "not a timeout";
}

// Several engines have the path: every one is asked at once and waited for in parallel; one
// that fails does not keep the others from their answers.
TEST_F(CtlPathTest, EveryEngineWithThePathIsAskedAndWaitedForTogether) {
  ADD_ENGINE(a, "a", 51);
  ADD_ENGINE(b, "b", 52, 3);
  ADD_ENGINE(c, "c", 53);
  a->SetInflight(1, 2);
  c->running = false;
  on_sleep_ = [&](int n) {
    if (n == 3) a->SetInflight(1, 0);
  };
  const std::vector<PathAdminResult> r =
      RunPathRequests({a->Target(1), b->Target(1), c->Target(1)}, true, 200, Hooks());
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(r[0].ok && r[0].drained) << r[0].error;
  EXPECT_TRUE(r[1].ok && r[1].drained) << r[1].error;
  EXPECT_FALSE(r[2].ok);
  EXPECT_EQ(r[2].engine.name, "c");
  EXPECT_TRUE(a->disabled[1] && b->disabled[1]);
  EXPECT_FALSE(b->disabled[0] || b->disabled[2]);
  EXPECT_EQ(now_ms_, 200);
}

// The printed forms of every outcome, against golden files.
TEST(CtlPathPrintTest, LinesAndJson) {
  auto res = [](const char* name, int pid, bool disable) {
    PathAdminResult r;
    r.engine = {pid, name};
    r.segment = "nvme-mpath." + std::to_string(pid) + ".0";
    r.ng = "/dev/ng0n1";
    r.ctrl = "nvme0";
    r.disable = disable;
    return r;
  };
  std::vector<PathAdminResult> rs;
  rs.push_back(res("fio-job", 1234, true));
  rs.back().ok = rs.back().drained = true;
  rs.push_back(res("db", 77, true));
  rs.back().ok = rs.back().last_resort = true;
  rs.back().inflight = 12;
  rs.push_back(res("old", 88, true));
  rs.back().error = "the engine is too old to take path requests (its stats segment is version 2; "
                    "they need version 3, nvme-mpath 0.3 or later)";
  rs.push_back(res("fio-job", 1234, false));
  rs.back().ok = rs.back().already = true;
  std::string text;
  for (const PathAdminResult& r : rs) text += PathAdminLine(r) + "\n";
  nvme_mpath::testing::Golden("ctl/path.txt", text);
  nvme_mpath::testing::Golden("ctl/path.json", PathAdminJson(rs));
}

}  // namespace
}  // namespace nvme_mpath::ctl
