// ANA log parsing (src/ana.h): every state, several groups, NSID lists, truncation and
// inconsistent counts, the chunked read with torn-read retry, and ANATT. The lab's own logs
// (captured from nvmet with `nvme get-log --log-id=12 --raw-binary`) are checked in under
// testdata/ and parsed too.
#include "ana.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "support/status_matchers.h"

namespace nvme_mpath::internal {
namespace {

// Builds a log: header + one descriptor per group.
struct G {
  uint32_t grpid;
  uint64_t chgcnt;
  uint8_t state;
  std::vector<uint32_t> nsids;
};
std::vector<uint8_t> Build(uint64_t chgcnt, const std::vector<G>& groups) {
  std::vector<uint8_t> b(16, 0);
  memcpy(b.data(), &chgcnt, 8);
  uint16_t n = uint16_t(groups.size());
  memcpy(b.data() + 8, &n, 2);
  for (const G& g : groups) {
    size_t off = b.size();
    b.resize(off + 32 + 4 * g.nsids.size(), 0);
    uint32_t nn = uint32_t(g.nsids.size());
    memcpy(&b[off], &g.grpid, 4);
    memcpy(&b[off + 4], &nn, 4);
    memcpy(&b[off + 8], &g.chgcnt, 8);
    b[off + 16] = g.state;
    for (size_t i = 0; i < g.nsids.size(); ++i) memcpy(&b[off + 32 + 4 * i], &g.nsids[i], 4);
  }
  return b;
}

// A reader that serves `img` (zero-padded past its end), as a controller's log would.
AnaLogReader Serve(const std::vector<uint8_t>& img, int* reads = nullptr) {
  return [&img, reads](uint64_t off, uint32_t len, void* out) {
    if (reads) ++*reads;
    memset(out, 0, len);
    if (off < img.size()) memcpy(out, img.data() + off, std::min<uint64_t>(len, img.size() - off));
    return 0;
  };
}

TEST(AnaTest, ParsesEveryState) {
  auto b = Build(9, {{1, 1, 0x1, {1}}, {2, 2, 0x2, {2}}, {3, 3, 0x3, {3}}, {4, 4, 0x4, {4}},
                     {5, 5, 0xf, {5}}, {6, 6, 0x7, {6}}});
  auto log = ParseAnaLog(b);
  ASSERT_OK(log);
  EXPECT_EQ(log->chgcnt, 9u);
  ASSERT_EQ(log->groups.size(), 6u);
  EXPECT_EQ(log->StateOf(1), AnaState::kOptimized);
  EXPECT_EQ(log->StateOf(2), AnaState::kNonOptimized);
  EXPECT_EQ(log->StateOf(3), AnaState::kInaccessible);
  EXPECT_EQ(log->StateOf(4), AnaState::kPersistentLoss);
  EXPECT_EQ(log->StateOf(5), AnaState::kChange);
  EXPECT_EQ(log->StateOf(6), AnaState::kUnknown);  // reserved value
  EXPECT_EQ(log->groups[5].raw_state, 0x7);
  EXPECT_FALSE(log->StateOf(7).has_value());
  EXPECT_EQ(log->GroupOf(4)->grpid, 4u);
}

TEST(AnaTest, ManyNsidsPerGroupAndEmptyGroups) {
  auto b = Build(1, {{1, 1, 1, {1, 2, 3, 100}}, {2, 1, 2, {}}, {3, 1, 3, {7}}});
  auto log = ParseAnaLog(b);
  ASSERT_OK(log);
  EXPECT_EQ(log->groups[0].nsids, (std::vector<uint32_t>{1, 2, 3, 100}));
  EXPECT_TRUE(log->groups[1].nsids.empty());
  EXPECT_EQ(log->StateOf(100), AnaState::kOptimized);
  EXPECT_EQ(log->StateOf(7), AnaState::kInaccessible);
  EXPECT_EQ(b.size(), AnaLogSize(3, 5));
}

TEST(AnaTest, RejectsTruncatedAndInconsistentLogs) {
  auto good = Build(1, {{1, 1, 1, {1, 2}}, {2, 1, 2, {3}}});
  for (size_t n = 0; n < good.size(); ++n) {
    auto log = ParseAnaLog(absl::MakeConstSpan(good.data(), n));
    EXPECT_FALSE(log.ok()) << "accepted a log cut at " << n << " bytes";
  }
  // Group count larger than what the buffer holds.
  auto more = good;
  more[8] = 5;
  EXPECT_FALSE(ParseAnaLog(more).ok());
  // NSID count that would overflow.
  auto huge = good;
  uint32_t big = 0xffffffffu;
  memcpy(&huge[16 + 4], &big, 4);
  auto log = ParseAnaLog(huge);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(std::string(log.status().message()).find("truncated"), std::string::npos);
}

TEST(AnaTest, ChunkedReadAssemblesTheLog) {
  std::vector<uint32_t> many;
  for (uint32_t i = 1; i <= 300; ++i) many.push_back(i);
  auto img = Build(4, {{1, 4, 1, many}, {2, 4, 2, {301, 302}}});
  int reads = 0;
  uint32_t max_len = 0;
  AnaLogReader serve = Serve(img, &reads);
  auto log = ReadAnaLogWith(
      [&](uint64_t off, uint32_t len, void* out) {
        max_len = std::max(max_len, len);
        return serve(off, len, out);
      },
      512, 1 << 20, "test");
  EXPECT_LE(max_len, 512u);
  ASSERT_OK(log);
  EXPECT_GT(reads, 2);
  EXPECT_EQ(log->StateOf(300), AnaState::kOptimized);
  EXPECT_EQ(log->StateOf(302), AnaState::kNonOptimized);
}

TEST(AnaTest, TornReadIsRetried) {
  std::vector<uint32_t> many(200);
  for (uint32_t i = 0; i < 200; ++i) many[i] = i + 1;
  auto v1 = Build(1, {{1, 1, 1, many}});
  auto v2 = Build(2, {{1, 2, 3, many}});  // changed between chunks
  int header_reads = 0;
  AnaLogReader reader = [&](uint64_t off, uint32_t len, void* out) {
    if (off == 0) ++header_reads;
    // The change lands after the first pass.
    return Serve(header_reads >= 2 ? v2 : v1)(off, len, out);
  };
  auto log = ReadAnaLogWith(reader, 256, 1 << 20, "test");
  ASSERT_OK(log);
  EXPECT_EQ(log->chgcnt, 2u);
  EXPECT_EQ(log->StateOf(1), AnaState::kInaccessible);
}

TEST(AnaTest, ReadErrorsNameTheDevice) {
  AnaLogReader fails = [](uint64_t, uint32_t, void*) { return -EIO; };
  auto log = ReadAnaLogWith(fails, 4096, 1 << 20, "/dev/ng9n1");
  ASSERT_FALSE(log.ok());
  EXPECT_NE(std::string(log.status().message()).find("/dev/ng9n1"), std::string::npos);
  AnaLogReader nvme = [](uint64_t, uint32_t, void*) { return 0x370; };
  EXPECT_FALSE(ReadAnaLogWith(nvme, 4096, 1 << 20, "x").ok());
}

// The monitor decides "controller gone" on the status code: -ENODEV and -ENXIO only.
TEST(AnaTest, OnlyEnodevAndEnxioSayTheControllerIsGone) {
  for (int err : {ENODEV, ENXIO}) {
    AnaLogReader gone = [err](uint64_t, uint32_t, void*) { return -err; };
    auto log = ReadAnaLogWith(gone, 4096, 1 << 20, "x");
    ASSERT_FALSE(log.ok());
    EXPECT_TRUE(IsControllerGone(log.status())) << log.status();
  }
  // ErrnoToStatus() calls these kNotFound too; for an ANA read they are ordinary failures.
  for (int r : {-ENOENT, -ESRCH, -EIO, -ETIMEDOUT, -EINTR, 0x370, 0x4002}) {
    AnaLogReader fails = [r](uint64_t, uint32_t, void*) { return r; };
    auto log = ReadAnaLogWith(fails, 4096, 1 << 20, "x");
    ASSERT_FALSE(log.ok());
    EXPECT_FALSE(IsControllerGone(log.status())) << r << ": " << log.status();
  }
  std::vector<uint32_t> many(2000, 1);
  const auto img = Build(1, {{1, 1, 1, many}});
  auto oversized = ReadAnaLogWith(Serve(img), 4096, 4096, "x");
  EXPECT_FALSE(oversized.ok());
  EXPECT_FALSE(IsControllerGone(oversized.status()));
}

TEST(AnaTest, LogLargerThanTheLimitIsRefused) {
  std::vector<uint32_t> many(2000, 1);
  auto img = Build(1, {{1, 1, 1, many}});
  EXPECT_FALSE(ReadAnaLogWith(Serve(img), 4096, 4096, "x").ok());
}

TEST(AnaTest, AnattTurnsAStuckChangeIntoInaccessible) {
  int64_t since = 0;
  const int64_t s = 1'000'000'000;
  EXPECT_EQ(EffectiveAnaState(AnaState::kChange, 100 * s, 10, &since), AnaState::kChange);
  EXPECT_EQ(since, 100 * s);
  EXPECT_EQ(EffectiveAnaState(AnaState::kChange, 110 * s, 10, &since), AnaState::kChange);
  EXPECT_EQ(EffectiveAnaState(AnaState::kChange, 111 * s, 10, &since), AnaState::kInaccessible);
  EXPECT_EQ(EffectiveAnaState(AnaState::kOptimized, 112 * s, 10, &since), AnaState::kOptimized);
  EXPECT_EQ(since, 0);
  EXPECT_EQ(EffectiveAnaState(AnaState::kChange, 113 * s, 0, &since), AnaState::kChange);
  EXPECT_EQ(EffectiveAnaState(AnaState::kChange, 999 * s, 0, &since), AnaState::kChange);  // no ANATT
  EXPECT_EQ(EffectiveAnaState(AnaState::kPersistentLoss, 1000 * s, 10, &since), AnaState::kPersistentLoss);
}

std::vector<uint8_t> ReadFile(const std::string& name) {
  std::ifstream f(std::string(NVME_MPATH_TESTDATA) + "/" + name, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

TEST(AnaTest, ParsesLogsCapturedFromTheLab) {
  // Port 1 (optimized) and port 2 (non-optimized) of the lab target: groups 1 and 2, nsid 1
  // in group 1 and nsid 2 in group 2; then port 2 inaccessible and in change.
  struct Case {
    const char* file;
    AnaState ns1, ns2;
  } cases[] = {{"ana_lab_port1_optimized.bin", AnaState::kOptimized, AnaState::kOptimized},
               {"ana_lab_port2_nonoptimized.bin", AnaState::kNonOptimized, AnaState::kNonOptimized},
               {"ana_lab_port2_inaccessible.bin", AnaState::kInaccessible, AnaState::kInaccessible},
               {"ana_lab_port2_change.bin", AnaState::kChange, AnaState::kChange}};
  for (const Case& c : cases) {
    auto bytes = ReadFile(c.file);
    ASSERT_FALSE(bytes.empty()) << c.file;
    auto log = ParseAnaLog(bytes);
    ASSERT_OK(log) << c.file;
    EXPECT_EQ(log->StateOf(1), c.ns1) << c.file;
    EXPECT_EQ(log->StateOf(2), c.ns2) << c.file;
    EXPECT_EQ(log->GroupOf(1)->grpid, 1u) << c.file;
    EXPECT_EQ(log->GroupOf(2)->grpid, 2u) << c.file;
  }
}

}  // namespace
}  // namespace nvme_mpath::internal
