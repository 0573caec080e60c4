// File: log_test.cc
//
// Library log lines (src/log.h) and their C API sink (nvme_mpath_set_log_fn): lines reach the
// callback with their level, the level filters, NULL restores stderr, NVME_MPATH_LOG is the
// default level, lines from several threads arrive whole and one at a time, and the callback
// cannot reset itself from inside.
#include <nvme_mpath/nvme_mpath.h>

#include <cerrno>
#include <cstdlib>
#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "log.h"

namespace nvme_mpath {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using internal::CurrentLogLevel;
using internal::LogLevel;

struct Lines {
  std::vector<std::pair<int, std::string>> got;
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
};

void Collect(void* ctx, int level, const char* message) {
  auto* l = static_cast<Lines*>(ctx);
  if (l->inside.fetch_add(1) != 0) l->overlapped = true;
  l->got.emplace_back(level, message);
  l->inside.fetch_sub(1);
}

// Leaves the process as the test found it: stderr, the environment's level.
class LogTest : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_EQ(nvme_mpath_set_log_fn(nullptr, nullptr, NVME_MPATH_LOG_DEFAULT), 0); }
};

TEST_F(LogTest, CallbackGetsEachLineWithItsLevel) {
  Lines l;
  ASSERT_EQ(nvme_mpath_set_log_fn(Collect, &l, NVME_MPATH_LOG_INFO), 0);
  MPLOG_ERROR("path {} failed", "/dev/ng1n1");
  MPLOG_WARN("ANA change on {}", 2);
  MPLOG_INFO("reopened nvme{}", 3);
  MPLOG_DEBUG("filtered out at info");
  EXPECT_THAT(l.got, ::testing::ElementsAre(Pair(NVME_MPATH_LOG_ERROR, "path /dev/ng1n1 failed"),
                                            Pair(NVME_MPATH_LOG_WARN, "ANA change on 2"),
                                            Pair(NVME_MPATH_LOG_INFO, "reopened nvme3")));
  ASSERT_EQ(nvme_mpath_set_log_fn(Collect, &l, NVME_MPATH_LOG_DEBUG), 0);
  MPLOG_DEBUG("now in");
  ASSERT_EQ(l.got.size(), 4u);
  EXPECT_THAT(l.got[3], Pair(NVME_MPATH_LOG_DEBUG, "now in"));
  ASSERT_EQ(nvme_mpath_set_log_fn(Collect, &l, NVME_MPATH_LOG_ERROR), 0);
  MPLOG_WARN("filtered out at error");
  EXPECT_EQ(l.got.size(), 4u);
}

TEST_F(LogTest, NullRestoresStderr) {
  Lines l;
  ASSERT_EQ(nvme_mpath_set_log_fn(Collect, &l, NVME_MPATH_LOG_WARN), 0);
  ASSERT_EQ(nvme_mpath_set_log_fn(nullptr, nullptr, NVME_MPATH_LOG_WARN), 0);
  ::testing::internal::CaptureStderr();
  MPLOG_WARN("to stderr {}", 1);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "nvme-mpath: warning: to stderr 1\n");
  EXPECT_TRUE(l.got.empty());
}

TEST_F(LogTest, DefaultLevelIsTheEnvironments) {
  ASSERT_EQ(setenv("NVME_MPATH_LOG", "debug", 1), 0);
  ASSERT_EQ(nvme_mpath_set_log_fn(nullptr, nullptr, NVME_MPATH_LOG_DEFAULT), 0);
  EXPECT_EQ(CurrentLogLevel(), LogLevel::kDebug);
  ASSERT_EQ(setenv("NVME_MPATH_LOG", "error", 1), 0);
  Lines l;
  ASSERT_EQ(nvme_mpath_set_log_fn(Collect, &l, NVME_MPATH_LOG_DEFAULT), 0);
  EXPECT_EQ(CurrentLogLevel(), LogLevel::kError);
  ASSERT_EQ(unsetenv("NVME_MPATH_LOG"), 0);
  ASSERT_EQ(nvme_mpath_set_log_fn(Collect, &l, NVME_MPATH_LOG_DEFAULT), 0);
  EXPECT_EQ(CurrentLogLevel(), LogLevel::kWarn);  // unset: warn
}

TEST_F(LogTest, BadLevelChangesNothing) {
  Lines l;
  ASSERT_EQ(nvme_mpath_set_log_fn(Collect, &l, NVME_MPATH_LOG_WARN), 0);
  EXPECT_EQ(nvme_mpath_set_log_fn(nullptr, nullptr, 4), -EINVAL);
  EXPECT_EQ(nvme_mpath_set_log_fn(nullptr, nullptr, -2), -EINVAL);
  MPLOG_WARN("still to the callback");
  EXPECT_EQ(l.got.size(), 1u);
}

// Control thread, refresh workers and queue threads log at once: each line arrives whole, in
// one call, and calls never overlap.
TEST_F(LogTest, LinesFromManyThreadsArriveOneAtATime) {
  Lines l;
  ASSERT_EQ(nvme_mpath_set_log_fn(Collect, &l, NVME_MPATH_LOG_INFO), 0);
  constexpr int kThreads = 4, kLines = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) MPLOG_INFO("thread {} line {}", t, i);
    });
  for (auto& t : threads) t.join();
  ASSERT_EQ(l.got.size(), size_t{kThreads * kLines});
  EXPECT_FALSE(l.overlapped);
  for (const auto& [level, text] : l.got) {
    EXPECT_EQ(level, NVME_MPATH_LOG_INFO);
    EXPECT_THAT(text, ::testing::MatchesRegex("thread [0-3] line [0-9]+"));
  }
}

// Inside the callback: resetting it would wait for itself (-EDEADLK); a line the callback causes
// goes to stderr rather than deadlocking.
struct Reentrant {
  int set_result = 0;
  int calls = 0;
};
void CallsBack(void* ctx, int, const char*) {
  auto* r = static_cast<Reentrant*>(ctx);
  ++r->calls;
  r->set_result = nvme_mpath_set_log_fn(nullptr, nullptr, NVME_MPATH_LOG_WARN);
  MPLOG_WARN("logged from inside the callback");
}

TEST_F(LogTest, CallbackCannotResetItselfAndItsOwnLinesGoToStderr) {
  Reentrant r;
  ASSERT_EQ(nvme_mpath_set_log_fn(CallsBack, &r, NVME_MPATH_LOG_WARN), 0);
  ::testing::internal::CaptureStderr();
  MPLOG_WARN("outer");
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("logged from inside the callback"));
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ(r.set_result, -EDEADLK);
  MPLOG_WARN("still set");
  EXPECT_EQ(r.calls, 2);
}

// A library call that fails logs through the callback: nvme_mpath_queue_create (API 1, no
// error buffer) logs its reason.
TEST_F(LogTest, LibraryLinesReachTheCallback) {
  Lines l;
  ASSERT_EQ(nvme_mpath_set_log_fn(Collect, &l, NVME_MPATH_LOG_WARN), 0);
  nvme_mpath_queue_options o;
  nvme_mpath_queue_options_init(&o);
  o.depth = 0;
  nvme_mpath_queue* q = nullptr;
  EXPECT_EQ(nvme_mpath_queue_create(nullptr, &o, &q), -EINVAL);
  ASSERT_EQ(l.got.size(), 1u);
  EXPECT_EQ(l.got[0].first, NVME_MPATH_LOG_ERROR);
  EXPECT_THAT(l.got[0].second, HasSubstr("nvme_mpath_queue_create: queue depth 0 out of range"));
}

}  // namespace
}  // namespace nvme_mpath
