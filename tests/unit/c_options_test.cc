// File: c_options_test.cc
//
// The C API's option structs (src/c_options.h), pure: every field of struct nvme_mpath_options
// and struct nvme_mpath_queue_options reaches its EngineOptions / QueueOptions field, the
// defaults _init writes are the C++ defaults, and the layout sizes of older callers keep working
// (the fields they lack take their defaults; the bytes past their size are never read).
#include <sys/uio.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nvme_mpath/engine.h>
#include <nvme_mpath/nvme_mpath.h>

#include "c_options.h"

namespace nvme_mpath {
namespace {

using ::testing::HasSubstr;
using internal::kCOptionsSizeV1;
using internal::kCOptionsSizeV2;
using internal::kCQueueOptionsSizeV1;
using internal::kCQueueOptionsSizeV2;
using internal::kCQueueOptionsSizeV3;

std::string Err(const absl::Status& s) {
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  return std::string(s.message());
}

TEST(COptionsTest, InitWritesTheCppDefaults) {
  const EngineOptions d;
  nvme_mpath_options o;
  nvme_mpath_options_init(&o);
  EXPECT_EQ(o.size, kCOptionsSizeV2);
  EXPECT_EQ(o.rr_min_io, d.rr_min_io);
  EXPECT_EQ(o.io_timeout_ms, d.io_timeout_ms);
  EXPECT_EQ(o.write_hold_release_on_reset, int(d.write_hold_release_on_reset));
  EXPECT_EQ(o.marginal_errors, d.marginal_errors);
  EXPECT_EQ(o.marginal_window_ms, d.marginal_window_ms);
  EXPECT_EQ(o.reserved0, 0u);
  const QueueOptions qd;
  nvme_mpath_queue_options q;
  nvme_mpath_queue_options_init(&q);
  EXPECT_EQ(q.size, kCQueueOptionsSizeV3);
  EXPECT_EQ(q.depth, qd.depth);
  EXPECT_EQ(q.sqpoll_idle_ms, qd.sqpoll_idle_ms);
  EXPECT_EQ(q.defer_taskrun, int(qd.defer_taskrun));
  EXPECT_EQ(q.reserved1, 0u);
  EXPECT_EQ(q.sqpoll_cpu, qd.sqpoll_cpu);
  EXPECT_EQ(q.sqpoll_cpu, -1);
  EXPECT_EQ(q.iopoll, 0);
  EXPECT_EQ(q.iopoll_force, 0);
  EXPECT_EQ(q.reserved2, 0u);
}

// Every field set to a value that is not its default, converted: each arrives where it belongs.
TEST(COptionsTest, EveryEngineFieldRoundTrips) {
  const char* paths[] = {"/dev/ng0n1", "/dev/ng1n1"};
  nvme_mpath_options o;
  nvme_mpath_options_init(&o);
  o.paths = paths;
  o.npaths = 2;
  o.explicit_paths_only = 1;
  o.policy = NVME_MPATH_POLICY_ACTIVE_PASSIVE;
  o.rr_min_io = 7;
  o.preferred_path = "nvme1";
  o.ana_poll_interval_ms = 2500;
  o.no_path_timeout_ms = 4000;
  o.cmd_timeout_ms = 900;
  o.io_timeout_ms = 60000;
  o.max_retries = 9;
  o.write_hold_ms = 1234;
  o.failback_delay_ms = 300;
  o.publish_stats = 0;
  o.name = "db";
  o.write_hold_release_on_reset = 1;
  o.marginal_errors = 5;
  o.marginal_window_ms = 7000;
  EngineOptions eo;
  ASSERT_TRUE(internal::EngineOptionsFromC(&o, &eo).ok());
  EXPECT_EQ(eo.paths, (std::vector<std::string>{"/dev/ng0n1", "/dev/ng1n1"}));
  EXPECT_TRUE(eo.explicit_paths_only);
  EXPECT_EQ(eo.policy, IoPolicy::kActivePassive);
  EXPECT_EQ(eo.rr_min_io, 7u);
  EXPECT_EQ(eo.preferred_path, "nvme1");
  EXPECT_EQ(eo.ana_poll_interval_ms, 2500u);
  EXPECT_EQ(eo.no_path_timeout_ms, 4000u);
  EXPECT_EQ(eo.cmd_timeout_ms, 900u);
  EXPECT_EQ(eo.io_timeout_ms, 60000u);
  EXPECT_EQ(eo.max_retries, 9u);
  EXPECT_EQ(eo.write_hold_ms, 1234);
  EXPECT_EQ(eo.failback_delay_ms, 300u);
  EXPECT_FALSE(eo.publish_stats);
  EXPECT_EQ(eo.name, "db");
  EXPECT_TRUE(eo.write_hold_release_on_reset);
  EXPECT_EQ(eo.marginal_errors, 5u);
  EXPECT_EQ(eo.marginal_window_ms, 7000u);
  // The NQN + NSID form.
  nvme_mpath_options_init(&o);
  o.subsysnqn = "nqn.2014-08.org.nvmexpress:lab";
  o.nsid = 3;
  o.marginal_errors = 0;  // marking off
  ASSERT_TRUE(internal::EngineOptionsFromC(&o, &eo).ok());
  EXPECT_EQ(eo.subsysnqn, "nqn.2014-08.org.nvmexpress:lab");
  EXPECT_EQ(eo.nsid, 3u);
  EXPECT_EQ(eo.marginal_errors, 0u);
}

TEST(COptionsTest, NewEngineFieldsAreValidated) {
  const char* paths[] = {"/dev/ng0n1"};
  nvme_mpath_options o;
  nvme_mpath_options_init(&o);
  o.paths = paths;
  o.npaths = 1;
  o.marginal_window_ms = 0;
  EngineOptions eo;
  EXPECT_THAT(Err(internal::EngineOptionsFromC(&o, &eo)), HasSubstr("marginal_window_ms"));
  o.marginal_window_ms = 0xffffffff;
  EXPECT_THAT(Err(internal::EngineOptionsFromC(&o, &eo)), HasSubstr("marginal_window_ms"));
}

TEST(COptionsTest, EveryQueueFieldRoundTrips) {
  char a[4096], b[8192];
  iovec v[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
  nvme_mpath_queue_options o;
  nvme_mpath_queue_options_init(&o);
  o.depth = 64;
  o.sqpoll = 1;
  o.sqpoll_idle_ms = 50;
  o.fixed_buffers = 1;
  o.buffers = v;
  o.nbuffers = 2;
  o.defer_taskrun = 0;
  o.sqpoll_cpu = 0;
  o.iopoll = 1;
  o.iopoll_force = 1;
  QueueOptions qo;
  ASSERT_TRUE(internal::QueueOptionsFromC(&o, &qo).ok());
  EXPECT_EQ(qo.sqpoll_cpu, 0);
  EXPECT_TRUE(qo.iopoll);
  EXPECT_TRUE(qo.iopoll_force);
  EXPECT_EQ(qo.depth, 64u);
  EXPECT_TRUE(qo.sqpoll);
  EXPECT_EQ(qo.sqpoll_idle_ms, 50u);
  EXPECT_TRUE(qo.fixed_buffers);
  ASSERT_EQ(qo.buffers.size(), 2u);
  EXPECT_EQ(qo.buffers[1].first, b);
  EXPECT_EQ(qo.buffers[1].second, sizeof(b));
  EXPECT_FALSE(qo.defer_taskrun);
}

// A caller built against API 1: its struct ends at the API 1 size, what follows is not its own
// (here 0xa5 bytes that would be taken for "on" and a huge count if they were read).
TEST(COptionsTest, Api1SizedEngineOptionsGetTheNewFieldsDefaults) {
  alignas(nvme_mpath_options) unsigned char mem[sizeof(nvme_mpath_options)];
  memset(mem, 0xa5, sizeof(mem));
  auto* o = reinterpret_cast<nvme_mpath_options*>(mem);
  internal::InitCOptions(o, kCOptionsSizeV1);  // what nvme_mpath_options_init@NVME_MPATH_1 does
  EXPECT_EQ(o->size, kCOptionsSizeV1);
  for (size_t i = kCOptionsSizeV1; i < sizeof(mem); ++i) ASSERT_EQ(mem[i], 0xa5) << "byte " << i;
  const char* paths[] = {"/dev/ng0n1"};
  o->paths = paths;
  o->npaths = 1;
  o->max_retries = 2;
  EngineOptions eo;
  ASSERT_TRUE(internal::EngineOptionsFromC(o, &eo).ok());
  const EngineOptions d;
  EXPECT_EQ(eo.max_retries, 2u);  // an API 1 field is read
  EXPECT_EQ(eo.write_hold_release_on_reset, d.write_hold_release_on_reset);
  EXPECT_EQ(eo.marginal_errors, d.marginal_errors);
  EXPECT_EQ(eo.marginal_window_ms, d.marginal_window_ms);
}

TEST(COptionsTest, Api1SizedQueueOptionsGetTheNewFieldsDefaults) {
  alignas(nvme_mpath_queue_options) unsigned char mem[sizeof(nvme_mpath_queue_options)];
  memset(mem, 0xa5, sizeof(mem));
  auto* o = reinterpret_cast<nvme_mpath_queue_options*>(mem);
  internal::InitCQueueOptions(o, kCQueueOptionsSizeV1);
  EXPECT_EQ(o->size, kCQueueOptionsSizeV1);
  for (size_t i = kCQueueOptionsSizeV1; i < sizeof(mem); ++i) ASSERT_EQ(mem[i], 0xa5) << "byte " << i;
  o->depth = 16;
  o->reserved0 = 0xa5a5a5a5;  // API 1's padding: whatever is in it is not read
  QueueOptions qo;
  ASSERT_TRUE(internal::QueueOptionsFromC(o, &qo).ok());
  EXPECT_EQ(qo.depth, 16u);
  EXPECT_TRUE(qo.defer_taskrun);  // the default, not the 0xa5 bytes past the struct
}

// A caller built against API 2: its queue options end at 48 bytes; sqpoll_cpu is not read.
TEST(COptionsTest, Api2SizedQueueOptionsGetTheNewFieldsDefaults) {
  alignas(nvme_mpath_queue_options) unsigned char mem[sizeof(nvme_mpath_queue_options)];
  memset(mem, 0xa5, sizeof(mem));
  auto* o = reinterpret_cast<nvme_mpath_queue_options*>(mem);
  internal::InitCQueueOptions(o, kCQueueOptionsSizeV2);  // nvme_mpath_queue_options_init@NVME_MPATH_2
  EXPECT_EQ(o->size, kCQueueOptionsSizeV2);
  for (size_t i = kCQueueOptionsSizeV2; i < sizeof(mem); ++i) ASSERT_EQ(mem[i], 0xa5) << "byte " << i;
  o->defer_taskrun = 0;  // an API 2 field is read
  o->sqpoll = 1;
  o->reserved1 = 0xa5a5a5a5;  // API 2's padding: not read
  QueueOptions qo;
  ASSERT_TRUE(internal::QueueOptionsFromC(o, &qo).ok());  // 0xa5a5a5a5 as a CPU would be refused
  EXPECT_FALSE(qo.defer_taskrun);
  EXPECT_EQ(qo.sqpoll_cpu, -1);
  EXPECT_FALSE(qo.iopoll);  // 0xa5a5a5a5 would have asked for polling
}

TEST(COptionsTest, OnlyTheLayoutSizesAreAccepted) {
  const char* paths[] = {"/dev/ng0n1"};
  nvme_mpath_options o;
  nvme_mpath_options_init(&o);
  o.paths = paths;
  o.npaths = 1;
  EngineOptions eo;
  for (uint32_t size : {0u, 4u, uint32_t(kCOptionsSizeV1 - 8), uint32_t(kCOptionsSizeV1 + 4)}) {
    o.size = size;
    EXPECT_THAT(Err(internal::EngineOptionsFromC(&o, &eo)), HasSubstr("call nvme_mpath_options_init()"))
        << size;
  }
  o.size = kCOptionsSizeV2 + 8;  // a newer header's struct: refused, not read past our size
  EXPECT_THAT(Err(internal::EngineOptionsFromC(&o, &eo)), HasSubstr("newer nvme_mpath.h"));
  o.size = 0xffffffff;
  EXPECT_THAT(Err(internal::EngineOptionsFromC(&o, &eo)), HasSubstr("larger than this library's"));
  o.size = kCOptionsSizeV1;
  EXPECT_TRUE(internal::EngineOptionsFromC(&o, &eo).ok());
  nvme_mpath_queue_options q;
  nvme_mpath_queue_options_init(&q);
  QueueOptions qo;
  q.size = kCQueueOptionsSizeV1 + 4;
  EXPECT_THAT(Err(internal::QueueOptionsFromC(&q, &qo)), HasSubstr("nvme_mpath_queue_options_init()"));
  q.size = kCQueueOptionsSizeV2 + 4;
  EXPECT_EQ(Err(internal::QueueOptionsFromC(&q, &qo)),
            "queue options.size 52 is not a layout's (40 in API 1, 48 in API 2, 64 in API 3): "
            "call nvme_mpath_queue_options_init()");
  q.size = kCQueueOptionsSizeV3 + 8;
  EXPECT_THAT(Err(internal::QueueOptionsFromC(&q, &qo)), HasSubstr("newer nvme_mpath.h"));
  for (size_t size : {kCQueueOptionsSizeV1, kCQueueOptionsSizeV2, kCQueueOptionsSizeV3}) {
    q.size = uint32_t(size);
    EXPECT_TRUE(internal::QueueOptionsFromC(&q, &qo).ok()) << size;
  }
  o.size = 8;
  EXPECT_EQ(Err(internal::EngineOptionsFromC(&o, &eo)),
            "options.size 8 is too small (96 in API 1, 112 in API 2): call nvme_mpath_options_init()");
}

}  // namespace
}  // namespace nvme_mpath
