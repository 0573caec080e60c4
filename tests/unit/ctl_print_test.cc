// nvme-mpath-ctl printers against golden files (tests/unit/testdata/ctl/; regenerate with
// UPDATE_GOLDEN=1 and review the diff), and the stats reader against an in-process producer.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "golden.h"

#include "model.h"
#include "stats_shm.h"

namespace nvme_mpath::ctl {
namespace {

// The ctl printers' golden files live in testdata/ctl/.
void Golden(const std::string& name, const std::string& got) {
  nvme_mpath::testing::Golden("ctl/" + name, got);
}

std::vector<SubsystemRow> Topology() {
  PathRow a{"nvme0", "/dev/ng0n1", "tcp", "traddr=127.0.0.1,trsvcid=4420,src_addr=127.0.0.1",
            "live", 1, "optimized", -1, 1, 131072, 10};
  PathRow b{"nvme1", "/dev/ng1n1", "tcp", "traddr=127.0.0.1,trsvcid=4421,src_addr=127.0.0.1",
            "connecting", 1, "inaccessible", 0, 2, 131072, 10};
  // Path maintenance: two running engines disabled nvme1's path (nvme-mpath-ctl path disable).
  b.disabled_by = {{4242, "verify"}, {4343, "db"}};
  NamespaceRow ns1{1, "5f1a1c3e000142228333444455556601", "7a2b3c4d00014e5f9a0b1c2d3e4f5a01", 16384, 4096, {a, b}};
  NamespaceRow ns2{2, "5f1a1c3e000242228333444455556602", "", 16384, 4096, {a}};
  ns2.paths[0].ng = "/dev/ng0n2";
  ns2.paths[0].ana_grpid = 2;
  return {SubsystemRow{"nqn.2024-01.io.nvme-mpath:lab", {ns1, ns2}}};
}

internal::AnaLog Log() {
  internal::AnaLog log;
  log.chgcnt = 7;
  log.groups.push_back({1, 5, AnaState::kOptimized, 1, {1}});
  log.groups.push_back({2, 6, AnaState::kChange, 0xf, {2, 3}});
  log.groups.push_back({3, 1, AnaState::kUnknown, 0x9, {}});
  return log;
}

StatsView Stats() {
  StatsView v;
  v.pid = 4242;
  v.segment = "nvme-mpath.4242.0";
  v.name = "verify";
  v.subsysnqn = "nqn.2024-01.io.nvme-mpath:lab";
  v.policy = "numa";
  v.nsid = 1;
  StatsPath p0{"/dev/ng0n1", "nvme0", "traddr=127.0.0.1,trsvcid=4420", "inaccessible", "live", false, false, {}};
  p0.counters.ios = 1000;
  p0.counters.bytes = 4096000;
  p0.counters.errors = 3;
  p0.counters.failovers = 3;
  p0.counters.errors_by_class[int(ErrorClass::kAna)] = 3;
  p0.counters.latency_hist[7] = 900;
  p0.counters.latency_hist[12] = 100;
  StatsPath p1{"/dev/ng1n1", "nvme1", "traddr=127.0.0.1,trsvcid=4421", "optimized", "live", true, false, {}};
  p1.counters.ios = 5000;
  p1.counters.bytes = 20480000;
  p1.counters.inflight = 16;
  p1.counters.latency_hist[8] = 5000;
  // Disabled by the operator and drained: usable, and used only if nothing else were.
  StatsPath p2{"/dev/ng2n1", "nvme2", "traddr=127.0.0.1,trsvcid=4422", "optimized", "live", true, false, {}};
  p2.disabled = true;
  p2.counters.ios = 700;
  p2.counters.bytes = 2867200;
  p2.counters.latency_hist[8] = 700;
  v.paths = {p0, p1, p2};
  return v;
}

TEST(CtlPrintTest, ListText) { Golden("list.txt", ListText(Topology(), false)); }
TEST(CtlPrintTest, ListTextVerbose) { Golden("list-v.txt", ListText(Topology(), true)); }
TEST(CtlPrintTest, ListJson) { Golden("list.json", ListJson(Topology(), true)); }
TEST(CtlPrintTest, ListEmpty) { EXPECT_NE(ListText({}, false).find("no NVMe namespaces"), std::string::npos); }
TEST(CtlPrintTest, AnaLogText) { Golden("ana-log.txt", AnaLogText("/dev/ng0n1", Log())); }
TEST(CtlPrintTest, AnaLogJson) { Golden("ana-log.json", AnaLogJson("/dev/ng0n1", Log())); }
TEST(CtlPrintTest, Probe) {
  std::vector<ProbeRow> rows = {{"/dev/ng0n1", "nvme0", 0, 812.5}, {"/dev/ng1n1", "nvme1", 0x2302, 95.0},
                                {"/dev/ng2n1", "nvme2", -19, 3.0}};
  Golden("probe.txt", ProbeText("/dev/ng0n1", rows));
  Golden("probe.json", ProbeJson("/dev/ng0n1", rows));
}
TEST(CtlPrintTest, StatsText) { Golden("stats.txt", StatsText(Stats())); }
TEST(CtlPrintTest, StatsJson) { Golden("stats.json", StatsJson({Stats()})); }
// Also parsed by Debian's prometheus_client in unit.ctl_prometheus (prometheus_check.py).
TEST(CtlPrintTest, StatsPrometheus) {
  StatsView a = Stats(), b = Stats();
  b.pid = 4343;
  b.name = "job \"two\"\\\n";  // label values escaped: \" \\ \n
  b.paths.resize(1);
  Golden("stats.prom", StatsPrometheus({a, b}));
}
// An engine on the kernel's multipath head: one path (the head), the kernel's iopolicy.
TEST(CtlPrintTest, StatsTextHeadMode) {
  StatsView v = Stats();
  v.mode = "head";
  v.policy = "kernel";
  v.paths.resize(1);
  v.paths[0].ctrl = "nvme-subsys0";
  Golden("stats-head.txt", StatsText(v));
}

// A disabled path that could not carry I/O anyway says both.
TEST(CtlPrintTest, StatsTextDisabledAndNotUsable) {
  StatsView v = Stats();
  v.paths[0].disabled = true;
  v.paths[0].health = "failed";
  const std::string t = StatsText(v);
  EXPECT_NE(t.find("inaccessible    dis,failed"), std::string::npos) << t;
  v.paths[0].health = "live";
  EXPECT_NE(StatsText(v).find("inaccessible    dis,no "), std::string::npos) << StatsText(v);
}

// The time of the sample (watch -o json over time: a timeline), only when it was read.
TEST(CtlPrintTest, StatsJsonSampledAtOnlyWhenSet) {
  StatsView v = Stats();
  EXPECT_EQ(StatsJson({v}).find("sampled_at_ms"), std::string::npos);
  v.sampled_at_ms = 1796192000123;
  EXPECT_NE(StatsJson({v}).find("\"sampled_at_ms\":1796192000123"), std::string::npos) << StatsJson({v});
}

TEST(CtlPrintTest, JsonEscapesStrings) {
  StatsView v = Stats();
  v.name = "job \"x\"\n";
  std::string j = StatsJson({v});
  EXPECT_NE(j.find("job \\\"x\\\"\\n"), std::string::npos) << j;
}

// The stats reader against a fake producer: a StatsRegion written in-process, read back
// through the same code path nvme-mpath-ctl uses.
TEST(CtlStatsReaderTest, ReadsWhatAProducerPublishes) {
  auto region = internal::StatsRegion::Create(true);
  ASSERT_NE(region, nullptr);
  ASSERT_FALSE(region->name().empty()) << "no /dev/shm here";
  internal::ShmHeader* h = region->header();
  h->npaths = 2;
  strcpy(h->name, "producer");
  strcpy(h->mode, "head");
  region->BeginUpdate();
  strcpy(h->paths[0].ng_path, "/dev/ng0n1");
  strcpy(h->paths[1].ng_path, "/dev/ng1n1");
  h->paths[1].ana = uint8_t(AnaState::kOptimized);
  region->EndUpdate();
  int q1, q2;
  PathCounters* c1 = region->AcquireQueue(&q1);
  PathCounters* c2 = region->AcquireQueue(&q2);
  ASSERT_TRUE(c1 && c2);
  PathCounters::Add(c1[0].ios, 10);
  PathCounters::Add(c2[0].ios, 5);
  PathCounters::Add(c2[1].failovers, 2);
  region->ReleaseQueue(q2);  // a closed queue's counters still count

  auto segs = internal::ListStatsSegments();
  bool found = false;
  for (auto& s : segs) found |= s.name == region->name() && s.alive && s.pid == getpid();
  EXPECT_TRUE(found);
  auto reader = internal::StatsReader::Open("/dev/shm/" + region->name());
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto paths = (*reader)->Paths();
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_STREQ(paths[1].ng_path, "/dev/ng1n1");
  EXPECT_STREQ((*reader)->header().mode, "head");
  EXPECT_EQ(paths[1].ana, uint8_t(AnaState::kOptimized));
  auto sums = (*reader)->Sum();
  EXPECT_EQ(sums[0].ios, 15u);
  EXPECT_EQ(sums[1].failovers, 2u);
  struct stat st;
  ASSERT_EQ(stat(("/dev/shm/" + region->name()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(CtlStatsReaderTest, RejectsGarbage) {
  char path[] = "/tmp/ctl-garbage.XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string junk(100000, 'x');
  ASSERT_EQ(write(fd, junk.data(), junk.size()), ssize_t(junk.size()));
  close(fd);
  auto r = internal::StatsReader::Open(path);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("bad magic"), std::string::npos);
  unlink(path);
  EXPECT_FALSE(internal::StatsReader::Open("/nonexistent/seg").ok());
}

// A segment of an engine built with another layout (version 1 had no `mode`) is refused with
// the versions named, never misread (stats_shm_test.cc: version 2 is still read).
TEST(CtlStatsReaderTest, RefusesAnotherLayoutVersion) {
  char path[] = "/tmp/ctl-v1.XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::vector<char> seg(internal::ShmSize(1), 0);
  internal::ShmHeader h0;
  memset(static_cast<void*>(&h0), 0, sizeof(h0));
  memcpy(h0.magic, internal::kShmMagic, sizeof(h0.magic));
  h0.version = 1;
  h0.header_size = sizeof(internal::ShmHeader) - sizeof(h0.mode);
  h0.max_queues = 1;
  memcpy(seg.data(), static_cast<const void*>(&h0), sizeof(h0));
  ASSERT_EQ(write(fd, seg.data(), seg.size()), ssize_t(seg.size()));
  close(fd);
  auto r = internal::StatsReader::Open(path);
  unlink(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("stats segment version 1"), std::string::npos)
      << r.status();
  EXPECT_NE(std::string(r.status().message()).find("this tool reads versions 2 and 3"), std::string::npos)
      << r.status();
}

}  // namespace
}  // namespace nvme_mpath::ctl
