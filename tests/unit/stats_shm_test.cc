// The stats segment (src/stats_shm.h) as a channel both ways: the engine's side of
// nvme-mpath-ctl's path requests (ApplyAdminRequests, on a private region), a version 3 round
// trip of `disabled` and `admin_want` through a reader in read-write mode, and a version 2
// segment (an older engine's, built by hand) that the reader still reads but cannot ask.
#include "stats_shm.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

uint8_t Want(AdminWant w) { return static_cast<uint8_t>(w); }

// The engine's side over a plain array of states: what apply() was called with.
class AdminRequestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    region_ = StatsRegion::Create(false);  // private memory: no /dev/shm needed
    ASSERT_NE(region_, nullptr);
    h_ = region_->header();
  }
  int Apply(int npaths) {
    return ApplyAdminRequests(
        h_, npaths, [this](int i) { return disabled_[size_t(i)]; },
        [this](int i, bool d) {
          calls_.push_back({i, d});
          disabled_[size_t(i)] = d;
          if (on_apply_) on_apply_(i);
        });
  }
  std::unique_ptr<StatsRegion> region_;
  ShmHeader* h_ = nullptr;
  std::vector<bool> disabled_ = std::vector<bool>(kMaxPaths, false);
  std::vector<std::pair<int, bool>> calls_;
  std::function<void(int)> on_apply_;
};

TEST_F(AdminRequestsTest, AppliesARequestThatChangesThePathAndClearsIt) {
  EXPECT_EQ(Apply(4), 0);  // nothing asked
  h_->admin_want[2].store(Want(AdminWant::kDisable));
  EXPECT_EQ(Apply(4), 1);
  EXPECT_EQ(calls_, (std::vector<std::pair<int, bool>>{{2, true}}));
  EXPECT_EQ(h_->admin_want[2].load(), Want(AdminWant::kNone));
  EXPECT_EQ(Apply(4), 0);
  h_->admin_want[2].store(Want(AdminWant::kEnable));
  h_->admin_want[0].store(Want(AdminWant::kDisable));
  EXPECT_EQ(Apply(4), 2);
  EXPECT_EQ(calls_, (std::vector<std::pair<int, bool>>{{2, true}, {0, true}, {2, false}}));
  EXPECT_FALSE(disabled_[2]);
  EXPECT_TRUE(disabled_[0]);
}

TEST_F(AdminRequestsTest, ARequestForTheCurrentStateIsTakenWithoutApplying) {
  disabled_[1] = true;
  h_->admin_want[1].store(Want(AdminWant::kDisable));
  h_->admin_want[3].store(Want(AdminWant::kEnable));
  EXPECT_EQ(Apply(4), 2) << "taken: the caller republishes, the ctl sees the state";
  EXPECT_TRUE(calls_.empty());
  EXPECT_EQ(h_->admin_want[1].load(), Want(AdminWant::kNone));
  EXPECT_EQ(h_->admin_want[3].load(), Want(AdminWant::kNone));
}

TEST_F(AdminRequestsTest, GarbageIsClearedAndPathsBeyondTheEngineAreLeftAlone) {
  h_->admin_want[0].store(7);
  h_->admin_want[5].store(Want(AdminWant::kDisable));  // the engine has 2 paths
  EXPECT_EQ(Apply(2), 1);
  EXPECT_TRUE(calls_.empty());
  EXPECT_EQ(h_->admin_want[0].load(), Want(AdminWant::kNone));
  EXPECT_EQ(h_->admin_want[5].load(), Want(AdminWant::kDisable));
}

// The ctl writes a new request while the engine applies the previous one: the new one is not
// lost (the compare-exchange fails), and the next pass applies it.
TEST_F(AdminRequestsTest, ARequestStoredWhileTheLastOneIsAppliedIsKept) {
  h_->admin_want[1].store(Want(AdminWant::kDisable));
  on_apply_ = [this](int i) {
    on_apply_ = nullptr;
    h_->admin_want[i].store(Want(AdminWant::kEnable));
  };
  EXPECT_EQ(Apply(2), 1);
  EXPECT_TRUE(disabled_[1]);
  EXPECT_EQ(h_->admin_want[1].load(), Want(AdminWant::kEnable));
  EXPECT_EQ(Apply(2), 1);
  EXPECT_FALSE(disabled_[1]);
  EXPECT_EQ(h_->admin_want[1].load(), Want(AdminWant::kNone));
}

TEST(StatsShmLayoutTest, Version2IsAPrefixAndTheCountersStayPut) {
  EXPECT_EQ(kShmVersion, 3u);
  EXPECT_EQ(offsetof(ShmHeader, admin_want), size_t{kShmHeaderSizeV2});
  EXPECT_EQ(sizeof(ShmPath), 192u);
  EXPECT_EQ(offsetof(ShmPath, disabled), 188u) << "the first byte of version 2's `reserved`";
  EXPECT_EQ(ShmCountersOffset(kShmHeaderSizeV2), ShmCountersOffset(sizeof(ShmHeader)));
  EXPECT_EQ(ShmSize(4, kShmHeaderSizeV2), ShmSize(4));
}

// Version 3 end to end: the engine publishes `disabled`; a reader opened read-write asks for a
// change, sees it pending, the engine takes it; a read-only reader cannot ask.
TEST(StatsShmTest, Version3RoundTripOfDisabledAndRequests) {
  auto region = StatsRegion::Create(true);
  ASSERT_NE(region, nullptr);
  ASSERT_FALSE(region->name().empty()) << "no /dev/shm here";
  ShmHeader* h = region->header();
  h->npaths = 2;
  region->BeginUpdate();
  strcpy(h->paths[0].ng_path, "/dev/ng0n1");
  strcpy(h->paths[1].ng_path, "/dev/ng1n1");
  h->paths[1].disabled = 1;
  region->EndUpdate();
  const std::string file = "/dev/shm/" + region->name();

  auto ro = StatsReader::Open(file);
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ((*ro)->version(), 3u);
  EXPECT_TRUE((*ro)->takes_requests());
  std::vector<ShmPath> paths = (*ro)->Paths();
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0].disabled, 0);
  EXPECT_EQ(paths[1].disabled, 1);
  EXPECT_TRUE(absl::IsFailedPrecondition((*ro)->RequestPathState(0, true)));  // read-only

  auto rw = StatsReader::Open(file, StatsReader::Access::kReadWrite);
  ASSERT_TRUE(rw.ok()) << rw.status();
  EXPECT_TRUE(absl::IsInvalidArgument((*rw)->RequestPathState(2, true)));  // no such path
  ASSERT_TRUE((*rw)->RequestPathState(0, true).ok());
  EXPECT_EQ((*rw)->PendingRequest(0), AdminWant::kDisable);
  EXPECT_EQ((*ro)->PendingRequest(0), AdminWant::kDisable) << "the same memory";
  EXPECT_EQ(h->admin_want[0].load(), Want(AdminWant::kDisable));

  std::vector<bool> state = {false, true};
  EXPECT_EQ(ApplyAdminRequests(h, 2, [&](int i) { return bool(state[size_t(i)]); },
                               [&](int i, bool d) {
                                 state[size_t(i)] = d;
                                 region->BeginUpdate();
                                 h->paths[i].disabled = d;
                                 region->EndUpdate();
                               }),
            1);
  EXPECT_EQ((*rw)->PendingRequest(0), AdminWant::kNone);
  EXPECT_EQ((*rw)->Paths()[0].disabled, 1);

  // A request withdrawn before the engine took it is gone; one it took is not touched.
  ASSERT_TRUE((*rw)->RequestPathState(1, false).ok());
  (*rw)->WithdrawRequest(1, false);
  EXPECT_EQ((*rw)->PendingRequest(1), AdminWant::kNone);
  ASSERT_TRUE((*rw)->RequestPathState(1, false).ok());
  (*rw)->WithdrawRequest(1, true);  // not the request pending: left alone
  EXPECT_EQ((*rw)->PendingRequest(1), AdminWant::kEnable);
}

// An engine of the previous release (version 2) next to this tool: its segment, laid out by
// hand, is still read (counters where version 2 put them), its paths show as enabled whatever
// its reserved word holds, and it cannot be asked anything.
TEST(StatsShmTest, AVersion2SegmentIsStillRead) {
  char path[] = "/tmp/stats-v2.XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::vector<char> seg(ShmSize(1, kShmHeaderSizeV2), 0);
  auto* h = reinterpret_cast<ShmHeader*>(seg.data());  // only its version 2 prefix is written
  memcpy(h->magic, kShmMagic, sizeof(h->magic));
  h->version = 2;
  h->header_size = kShmHeaderSizeV2;
  h->max_queues = 1;
  h->max_paths = kMaxPaths;
  h->npaths = 2;
  h->pid = 4242;
  strcpy(h->name, "old-engine");
  strcpy(h->mode, "per-path");
  strcpy(h->paths[0].ng_path, "/dev/ng0n1");
  strcpy(h->paths[1].ng_path, "/dev/ng1n1");
  h->paths[1].usable = 1;
  h->paths[1].disabled = 0xff;  // version 2's `reserved`: never trusted as `disabled`
  uint32_t one = 1;
  memcpy(seg.data() + offsetof(ShmHeader, queue_used), &one, sizeof(one));
  uint64_t ios = 77;
  memcpy(seg.data() + ShmCountersOffset(kShmHeaderSizeV2) + sizeof(PathCounters) * 1 +
             offsetof(PathCounters, ios),
         &ios, sizeof(ios));
  ASSERT_EQ(write(fd, seg.data(), seg.size()), ssize_t(seg.size()));
  close(fd);

  auto r = StatsReader::Open(path, StatsReader::Access::kReadWrite);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->version(), 2u);
  EXPECT_FALSE((*r)->takes_requests());
  EXPECT_STREQ((*r)->header().name, "old-engine");
  const std::vector<ShmPath> paths = (*r)->Paths();
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_STREQ(paths[1].ng_path, "/dev/ng1n1");
  EXPECT_EQ(paths[1].usable, 1);
  EXPECT_EQ(paths[1].disabled, 0);
  const std::vector<PathStatsSnapshot> sums = (*r)->Sum();
  ASSERT_EQ(sums.size(), 2u);
  EXPECT_EQ(sums[1].ios, 77u);
  EXPECT_EQ(sums[0].ios, 0u);
  const absl::Status st = (*r)->RequestPathState(1, true);
  EXPECT_TRUE(absl::IsFailedPrecondition(st)) << st;
  EXPECT_NE(std::string(st.message()).find("too old"), std::string::npos) << st;
  EXPECT_EQ((*r)->PendingRequest(1), AdminWant::kNone);
  unlink(path);
}

// Version 1, or a version 3 header of the wrong size, is refused, naming the versions read.
TEST(StatsShmTest, OtherLayoutsAreRefusedNamingTheVersionsRead) {
  for (auto [version, header_size] : {std::pair<uint32_t, uint32_t>{1, kShmHeaderSizeV2 - 16},
                                      {3, kShmHeaderSizeV2}, {2, sizeof(ShmHeader)}, {4, sizeof(ShmHeader)}}) {
    char path[] = "/tmp/stats-vx.XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    std::vector<char> seg(ShmSize(1), 0);
    auto* h = reinterpret_cast<ShmHeader*>(seg.data());
    memcpy(h->magic, kShmMagic, sizeof(h->magic));
    h->version = version;
    h->header_size = header_size;
    h->max_queues = 1;
    h->max_paths = kMaxPaths;
    ASSERT_EQ(write(fd, seg.data(), seg.size()), ssize_t(seg.size()));
    close(fd);
    auto r = StatsReader::Open(path);
    unlink(path);
    ASSERT_FALSE(r.ok()) << version << "/" << header_size;
    EXPECT_NE(std::string(r.status().message()).find("this tool reads versions 2 and 3"), std::string::npos)
        << r.status();
  }
}

}  // namespace
}  // namespace nvme_mpath::internal
