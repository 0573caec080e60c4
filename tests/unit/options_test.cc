// ValidateEngineOptions / ValidateQueueOptions and the C API's conversion (c_options.h): every
// rejection has one message naming the field (docs/bad-inputs.md, "Options").
#include <sys/sysinfo.h>
#include <sys/uio.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nvme_mpath/engine.h>
#include <nvme_mpath/nvme_mpath.h>

#include "c_options.h"

namespace nvme_mpath {
namespace {

using ::testing::HasSubstr;

EngineOptions OnePath() {
  EngineOptions o;
  o.paths = {"/dev/ng0n1"};
  return o;
}

std::string Err(const absl::Status& s) {
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  return std::string(s.message());
}

TEST(OptionsTest, DefaultsWithANamespaceAreValid) {
  EXPECT_TRUE(ValidateEngineOptions(OnePath()).ok());
  EngineOptions byNqn;
  byNqn.subsysnqn = "nqn.2026-11.io.nvme-mpath:lab";
  byNqn.nsid = 1;
  EXPECT_TRUE(ValidateEngineOptions(byNqn).ok());
  EXPECT_TRUE(ValidateQueueOptions(QueueOptions{}).ok());
}

TEST(OptionsTest, NamespaceSelection) {
  EXPECT_THAT(Err(ValidateEngineOptions(EngineOptions{})), HasSubstr("no namespace given"));
  EngineOptions o = OnePath();
  o.nsid = 1;
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("not both"));
  o = OnePath();
  o.subsysnqn = "nqn.x";
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("not both"));
  o = EngineOptions{};
  o.explicit_paths_only = true;
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("explicit_paths_only"));
  o = EngineOptions{};
  o.subsysnqn = "nqn.x";
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("no namespace given"));  // nsid 0
  o.nsid = 0xffffffff;
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("broadcast"));
  o.nsid = 1;
  o.subsysnqn = std::string(224, 'n');
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("at most 223 bytes"));
  o.subsysnqn = std::string(223, 'n');
  EXPECT_TRUE(ValidateEngineOptions(o).ok());
}

TEST(OptionsTest, Paths) {
  EngineOptions o = OnePath();
  o.paths.push_back("/dev/ng0n1");
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("/dev/ng0n1 given twice"));
  o.paths = {"/dev/ng0n1\n", "/dev/ng0n1\n"};  // found by capi_opts_fuzz: messages stay one line
  EXPECT_EQ(Err(ValidateEngineOptions(o)), "path /dev/ng0n1\\n given twice");
  o.paths = {""};
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("path: empty"));
  o.paths = {std::string("/dev/ng0n1\0x", 12)};
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("NUL"));
  o.paths = {std::string(5000, 'a')};
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("PATH_MAX"));
  o.paths.clear();
  for (uint32_t i = 0; i <= kMaxEnginePaths; ++i) o.paths.push_back("/dev/ng" + std::to_string(i) + "n1");
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("17 paths given; at most 16"));
  o.paths.pop_back();
  EXPECT_TRUE(ValidateEngineOptions(o).ok());
}

TEST(OptionsTest, PolicyAndNumbers) {
  EngineOptions o = OnePath();
  o.policy = static_cast<IoPolicy>(7);
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("unknown I/O policy 7"));
  o = OnePath();
  o.rr_min_io = 0;
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("rr_min_io"));
  o = OnePath();
  o.preferred_path = std::string(1, '\0');
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("preferred_path"));
  o = OnePath();
  o.ana_poll_interval_ms = 5;
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("0 (never) or at least 10"));
  o.ana_poll_interval_ms = 0;
  EXPECT_TRUE(ValidateEngineOptions(o).ok());
  o = OnePath();
  o.io_timeout_ms = 86'400'001;
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("io_timeout_ms = 86400001 ms: at most 86400000"));
  o.io_timeout_ms = 86'400'000;
  EXPECT_TRUE(ValidateEngineOptions(o).ok());
  o = OnePath();
  o.no_path_timeout_ms = 0xffffffff;  // a -1 that went through an unsigned
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("no_path_timeout_ms"));
  o = OnePath();
  o.write_hold_ms = -2;
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("write_hold_ms = -2"));
  o.write_hold_ms = 100'000'000;
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("write_hold_ms = 100000000 ms"));
  o.write_hold_ms = -1;
  EXPECT_TRUE(ValidateEngineOptions(o).ok());
  o.max_retries = 256;
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("max_retries = 256: at most 255"));
  o = OnePath();
  o.marginal_window_ms = 0;
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("marginal_window_ms"));
  o.marginal_errors = 0;  // marking off: no window needed
  EXPECT_TRUE(ValidateEngineOptions(o).ok());
  o.name = std::string("a\0b", 3);
  EXPECT_THAT(Err(ValidateEngineOptions(o)), HasSubstr("name"));
  o.name = std::string(500, 'x');  // cut for display, accepted
  EXPECT_TRUE(ValidateEngineOptions(o).ok());
}

TEST(OptionsTest, Queue) {
  QueueOptions q;
  q.depth = 0;
  EXPECT_THAT(Err(ValidateQueueOptions(q)), HasSubstr("queue depth 0 out of range 1..65536"));
  q.depth = 65537;
  EXPECT_THAT(Err(ValidateQueueOptions(q)), HasSubstr("out of range"));
  q = QueueOptions{};
  q.sqpoll_idle_ms = 86'400'001;
  EXPECT_THAT(Err(ValidateQueueOptions(q)), HasSubstr("sqpoll_idle_ms"));
  q = QueueOptions{};
  q.iopoll_force = true;  // forcing what is not asked for: surely a mistake
  EXPECT_THAT(Err(ValidateQueueOptions(q)), HasSubstr("iopoll_force set but iopoll is not"));
  q.iopoll = true;
  EXPECT_TRUE(ValidateQueueOptions(q).ok());
  q = QueueOptions{};
  q.fixed_buffers = true;
  EXPECT_THAT(Err(ValidateQueueOptions(q)), HasSubstr("no buffers given"));
  char buf[4096];
  q.buffers = {{buf, sizeof(buf)}, {nullptr, 4096}};
  EXPECT_THAT(Err(ValidateQueueOptions(q)), HasSubstr("fixed buffer 1"));
  q.buffers = {{buf, 0}};
  EXPECT_THAT(Err(ValidateQueueOptions(q)), HasSubstr("fixed buffer 0"));
  q.buffers = {{buf, (size_t{1} << 30) + 1}};
  EXPECT_THAT(Err(ValidateQueueOptions(q)), HasSubstr("1 B..1 GiB"));
  q.buffers = {{buf, sizeof(buf)}};
  EXPECT_TRUE(ValidateQueueOptions(q).ok());
  q.fixed_buffers = false;
  EXPECT_THAT(Err(ValidateQueueOptions(q)), HasSubstr("fixed_buffers is not set"));
}

// sqpoll_cpu: -1, or with sqpoll a CPU below the configured count (the kernel's bare EINVAL
// names nothing, so the library checks what it can first).
TEST(OptionsTest, SqpollCpu) {
  const int ncpu = get_nprocs_conf();
  QueueOptions q;
  EXPECT_EQ(q.sqpoll_cpu, -1);
  q.sqpoll_cpu = 0;
  EXPECT_EQ(Err(ValidateQueueOptions(q)), "sqpoll_cpu = 0 without sqpoll: it pins the SQPOLL thread");
  q.sqpoll = true;
  EXPECT_TRUE(ValidateQueueOptions(q).ok());
  q.sqpoll_cpu = ncpu - 1;
  EXPECT_TRUE(ValidateQueueOptions(q).ok());
  q.sqpoll_cpu = ncpu;
  EXPECT_EQ(Err(ValidateQueueOptions(q)),
            "sqpoll_cpu = " + std::to_string(ncpu) + ": -1 (not pinned) or a CPU 0.." +
                std::to_string(ncpu - 1));
  q.sqpoll_cpu = -2;
  EXPECT_THAT(Err(ValidateQueueOptions(q)), HasSubstr("sqpoll_cpu = -2: -1 (not pinned)"));
  q.sqpoll_cpu = -1;
  EXPECT_TRUE(ValidateQueueOptions(q).ok());
  q.sqpoll = false;
  EXPECT_TRUE(ValidateQueueOptions(q).ok());
}

TEST(OptionsTest, FromCChecksTheStructThenTheValues) {
  EngineOptions eo;
  EXPECT_THAT(Err(internal::EngineOptionsFromC(nullptr, &eo)), HasSubstr("NULL"));
  nvme_mpath_options o;
  nvme_mpath_options_init(&o);
  EXPECT_THAT(Err(internal::EngineOptionsFromC(&o, &eo)), HasSubstr("no namespace given"));
  o.npaths = 2;
  EXPECT_THAT(Err(internal::EngineOptionsFromC(&o, &eo)), HasSubstr("npaths is 2 but paths is NULL"));
  const char* paths[] = {"/dev/ng0n1", nullptr};
  o.paths = paths;
  EXPECT_THAT(Err(internal::EngineOptionsFromC(&o, &eo)), HasSubstr("paths[1] is NULL"));
  o.npaths = 1'000'000;  // never read past the limit
  EXPECT_THAT(Err(internal::EngineOptionsFromC(&o, &eo)), HasSubstr("at most 16"));
  o.npaths = 1;
  o.policy = NVME_MPATH_POLICY_LATENCY + 1;
  EXPECT_THAT(Err(internal::EngineOptionsFromC(&o, &eo)), HasSubstr("unknown policy 5"));
  o.policy = -1;
  EXPECT_THAT(Err(internal::EngineOptionsFromC(&o, &eo)), HasSubstr("unknown policy -1"));
  o.policy = NVME_MPATH_POLICY_ACTIVE_PASSIVE;
  o.rr_min_io = 0;
  EXPECT_THAT(Err(internal::EngineOptionsFromC(&o, &eo)), HasSubstr("rr_min_io"));
  o.rr_min_io = 3;
  o.preferred_path = "nvme1";
  o.name = "db";
  o.size = 8;
  EXPECT_THAT(Err(internal::EngineOptionsFromC(&o, &eo)), HasSubstr("nvme_mpath_options_init"));
  o.size = sizeof(o);
  ASSERT_TRUE(internal::EngineOptionsFromC(&o, &eo).ok());
  EXPECT_EQ(eo.paths, std::vector<std::string>{"/dev/ng0n1"});
  EXPECT_EQ(eo.policy, IoPolicy::kActivePassive);
  EXPECT_EQ(eo.rr_min_io, 3u);
  EXPECT_EQ(eo.preferred_path, "nvme1");
  EXPECT_EQ(eo.name, "db");
  EXPECT_EQ(eo.write_hold_ms, -1);
}

TEST(OptionsTest, QueueFromC) {
  QueueOptions qo;
  ASSERT_TRUE(internal::QueueOptionsFromC(nullptr, &qo).ok());  // NULL: defaults
  EXPECT_EQ(qo.depth, 128u);
  nvme_mpath_queue_options o;
  nvme_mpath_queue_options_init(&o);
  o.nbuffers = 3;
  EXPECT_THAT(Err(internal::QueueOptionsFromC(&o, &qo)), HasSubstr("nbuffers is 3 but buffers is NULL"));
  char a[512];
  iovec v{a, sizeof(a)};
  o.buffers = &v;
  o.nbuffers = 4'000'000'000u;
  EXPECT_THAT(Err(internal::QueueOptionsFromC(&o, &qo)), HasSubstr("at most 16384"));
  o.nbuffers = 1;
  EXPECT_THAT(Err(internal::QueueOptionsFromC(&o, &qo)), HasSubstr("fixed_buffers is not set"));
  o.fixed_buffers = 1;
  o.depth = 32;
  ASSERT_TRUE(internal::QueueOptionsFromC(&o, &qo).ok());
  EXPECT_EQ(qo.depth, 32u);
  ASSERT_EQ(qo.buffers.size(), 1u);
  EXPECT_EQ(qo.buffers[0].first, a);
  o.size = 4;
  EXPECT_THAT(Err(internal::QueueOptionsFromC(&o, &qo)), HasSubstr("nvme_mpath_queue_options_init"));
}

}  // namespace
}  // namespace nvme_mpath
