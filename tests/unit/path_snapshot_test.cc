// A queue's view of the path table: tiers and outlook from one PathState each (pure), the
// snapshot of the whole table (files installed in the ring, the best outlook, failback), and
// marginal detection reported through the table. Objects by value, one field changed per step.
#include "path_snapshot.h"

#include <gtest/gtest.h>

#include "support/fake_transport.h"

namespace nvme_mpath::internal {
namespace {

using nvme_mpath::testing::FakeTransport;

constexpr int64_t kSec = 1'000'000'000;

void MakeUsable(PathState& ps, AnaState ana) {
  ps.ana = ana;
  ps.health = PathHealth::kLive;
  ps.fd = 10;
}

TEST(PathSnapshotTest, TierFollowsUsabilityMarginalAndAna) {
  PathState ps;
  int64_t trusted_at = 0;
  EXPECT_EQ(TierOf(ps, true, 0, 0, &trusted_at), kTierUnusable);  // no fd, ANA unknown
  MakeUsable(ps, AnaState::kOptimized);
  EXPECT_EQ(TierOf(ps, true, 0, 0, &trusted_at), kTierOptimized);
  EXPECT_EQ(TierOf(ps, false, 0, 0, &trusted_at), kTierUnusable);  // not in the ring
  ps.ana = AnaState::kNonOptimized;
  EXPECT_EQ(TierOf(ps, true, 0, 0, &trusted_at), kTierNonOptimized);
  ps.marginal = true;
  EXPECT_EQ(TierOf(ps, true, 0, 0, &trusted_at), kTierMarginal);
  ps.ana = AnaState::kOptimized;
  EXPECT_EQ(TierOf(ps, true, 0, 0, &trusted_at), kTierMarginal);  // marginal wins over ANA
  ps.marginal = false;
  ps.health = PathHealth::kFailed;
  EXPECT_EQ(TierOf(ps, true, 0, 0, &trusted_at), kTierUnusable);
  ps.health = PathHealth::kLive;
  ps.ana = AnaState::kChange;
  EXPECT_EQ(TierOf(ps, true, 0, 0, &trusted_at), kTierUnusable);
  EXPECT_EQ(trusted_at, 0);
}

TEST(PathSnapshotTest, DisabledUsablePathIsTheLastTierWhateverItsAnaState) {
  PathState ps;
  int64_t trusted_at = 0;
  ps.disabled = true;
  EXPECT_EQ(TierOf(ps, true, 0, 0, &trusted_at), kTierUnusable);  // not usable: stays so
  MakeUsable(ps, AnaState::kOptimized);
  EXPECT_EQ(TierOf(ps, true, 0, 0, &trusted_at), kTierDisabled);
  EXPECT_EQ(TierOf(ps, false, 0, 0, &trusted_at), kTierUnusable);  // not in the ring
  ps.ana = AnaState::kNonOptimized;
  EXPECT_EQ(TierOf(ps, true, 0, 0, &trusted_at), kTierDisabled);
  ps.marginal = true;
  EXPECT_EQ(TierOf(ps, true, 0, 0, &trusted_at), kTierDisabled);  // below marginal
  ps.marginal = false;
  ps.ana = AnaState::kOptimized;
  ps.usable_since_ns = 10 * kSec;  // within a failback delay: no refresh asked for it
  EXPECT_EQ(TierOf(ps, true, 11 * kSec, 5 * kSec, &trusted_at), kTierDisabled);
  EXPECT_EQ(trusted_at, 0);
  ps.health = PathHealth::kFailed;
  EXPECT_EQ(TierOf(ps, true, 0, 0, &trusted_at), kTierUnusable);
  ps.health = PathHealth::kLive;
  ps.disabled = false;
  EXPECT_EQ(TierOf(ps, true, 0, 0, &trusted_at), kTierOptimized);
  EXPECT_LT(kTierMarginal, kTierDisabled);
  EXPECT_LT(kTierDisabled, kTierUnusable);
  EXPECT_EQ(OutlookOf(ps, kTierDisabled), PathOutlook::kUsable);  // a disabled path is usable
}

TEST(PathTableTest, SetDisabledBumpsTheEpochOnlyWhenItChangesSomething) {
  PathTable table(2);
  const uint64_t e0 = table.epoch();
  EXPECT_FALSE(table.SetDisabled(1, false));  // already enabled
  EXPECT_EQ(table.epoch(), e0);
  EXPECT_TRUE(table.SetDisabled(1, true));
  EXPECT_TRUE(table.path(1).disabled.load());
  EXPECT_FALSE(table.path(0).disabled.load());
  const uint64_t e1 = table.epoch();
  EXPECT_GT(e1, e0);
  EXPECT_FALSE(table.SetDisabled(1, true));
  EXPECT_EQ(table.epoch(), e1);
  EXPECT_TRUE(table.SetDisabled(1, false));
  EXPECT_GT(table.epoch(), e1);
  EXPECT_FALSE(table.path(1).disabled.load());
  EXPECT_FALSE(table.TakeAttention());  // nothing for the control plane to look at
}

TEST(PathSnapshotTest, OptimizedPathIsNotTrustedWithinTheFailbackDelay) {
  PathState ps;
  MakeUsable(ps, AnaState::kOptimized);
  ps.usable_since_ns = 10 * kSec;
  int64_t trusted_at = 0;
  EXPECT_EQ(TierOf(ps, true, 11 * kSec, 5 * kSec, &trusted_at), kTierNonOptimized);
  EXPECT_EQ(trusted_at, 15 * kSec);
  trusted_at = 0;
  EXPECT_EQ(TierOf(ps, true, 15 * kSec, 5 * kSec, &trusted_at), kTierOptimized);
  EXPECT_EQ(trusted_at, 0);
}

TEST(PathSnapshotTest, OutlookOfAPathTheQueueSawGoIsNotComingBack) {
  PathState ps;
  EXPECT_EQ(OutlookOf(ps, kTierOptimized), PathOutlook::kUsable);
  ps.outlook = PathOutlook::kComingBack;
  EXPECT_EQ(OutlookOf(ps, kTierUnusable), PathOutlook::kComingBack);
  ps.health = PathHealth::kGone;  // -ENODEV seen by a queue since the control plane looked
  EXPECT_EQ(OutlookOf(ps, kTierUnusable), PathOutlook::kMayReturn);
  ps.outlook = PathOutlook::kLost;
  EXPECT_EQ(OutlookOf(ps, kTierUnusable), PathOutlook::kLost);
}

class SnapshotTest : public ::testing::Test {
 protected:
  SnapshotTest() : table_(2), snap_(&table_, Config()) {
    MakeUsable(table_.path(0), AnaState::kOptimized);
    table_.path(0).fd = 100;
    MakeUsable(table_.path(1), AnaState::kNonOptimized);
    table_.path(1).fd = 101;
    table_.BumpEpoch();
  }
  static SnapshotConfig Config() {
    SnapshotConfig cfg;
    cfg.marginal_errors = 3;
    cfg.marginal_window_ns = 10 * kSec;
    return cfg;
  }
  PathTable table_;
  FakeTransport transport_;
  PathSnapshot snap_;
};

TEST_F(SnapshotTest, RefreshInstallsFilesAndPicksTheBestTier) {
  EXPECT_TRUE(snap_.stale());
  snap_.Refresh(0, &transport_);
  EXPECT_FALSE(snap_.stale());
  EXPECT_EQ(transport_.file(0), 100);
  EXPECT_EQ(transport_.file(1), 101);
  EXPECT_TRUE(snap_.any_usable());
  EXPECT_EQ(snap_.outlook(), PathOutlook::kUsable);
  EXPECT_EQ(snap_.Pick(-1), 0);
  EXPECT_EQ(snap_.Pick(1), 1);  // a retry stays on its own path while it is usable

  table_.path(1).fd = 102;  // reopened: a new association
  table_.path(1).fd_gen.fetch_add(1);
  table_.ReportPathError(0, false, false);  // and path 0 failed (bumps the epoch)
  EXPECT_TRUE(snap_.stale());
  snap_.Refresh(0, &transport_);
  EXPECT_EQ(transport_.file(1), 102);
  EXPECT_EQ(snap_.fd_gen(1), 1u);
  EXPECT_EQ(snap_.Pick(0), 1);  // the sticky path is unusable now
}

TEST_F(SnapshotTest, DisablingThePathInUseMovesNewIoAndRetriesToAnother) {
  snap_.Refresh(0, &transport_);
  EXPECT_EQ(snap_.Pick(-1), 0);
  ASSERT_TRUE(table_.SetDisabled(0, true));
  EXPECT_TRUE(snap_.stale()) << "the epoch moved: the queue re-picks on its next submit";
  snap_.Refresh(0, &transport_);
  EXPECT_TRUE(snap_.any_usable());
  EXPECT_EQ(snap_.Pick(-1), 1);  // the non-optimized path, not the disabled optimized one
  EXPECT_EQ(snap_.Pick(0), 1);   // a retry leaves its disabled path
  EXPECT_EQ(snap_.Pick(1), 1);
  // A flush for path 0's writes (pinned) still goes down path 0.
  EXPECT_EQ(snap_.Pick(0 | kStickyPinned), 0);
  EXPECT_EQ(snap_.Pick(1 | kStickyPinned), 1);
  ASSERT_TRUE(table_.SetDisabled(0, false));
  snap_.Refresh(0, &transport_);
  EXPECT_EQ(snap_.Pick(-1), 0);
  EXPECT_EQ(snap_.Pick(0), 0);
}

TEST_F(SnapshotTest, ADisabledPathIsTheLastResortWhenNothingElseIsUsable) {
  table_.SetDisabled(0, true);
  table_.ReportPathError(1, false, false);  // the other path fails
  snap_.Refresh(0, &transport_);
  EXPECT_TRUE(snap_.any_usable());
  EXPECT_EQ(snap_.outlook(), PathOutlook::kUsable);
  EXPECT_EQ(snap_.Pick(-1), 0);
  EXPECT_EQ(snap_.Pick(0), 0);  // a retry on it finds nothing better: it stays
  EXPECT_EQ(snap_.Pick(1), 0);  // one on the failed path moves to it
  // Both disabled: both are the last tier, and the policy picks among them as usual.
  table_.path(1).health = PathHealth::kLive;
  table_.SetDisabled(1, true);
  snap_.Refresh(0, &transport_);
  EXPECT_EQ(snap_.Pick(-1), 0);
  // A pinned flush for a path that is not usable at all goes wherever the policy says.
  table_.SetDisabled(1, false);
  table_.ReportPathError(0, false, false);
  snap_.Refresh(0, &transport_);
  EXPECT_EQ(snap_.Pick(0 | kStickyPinned), 1);
}

TEST_F(SnapshotTest, NoUsablePathGivesTheBestOutlook) {
  table_.path(0).ana = AnaState::kInaccessible;
  table_.path(0).outlook = PathOutlook::kMayReturn;
  table_.path(1).ana = AnaState::kChange;
  table_.path(1).outlook = PathOutlook::kComingBack;
  table_.BumpEpoch();
  snap_.Refresh(0, &transport_);
  EXPECT_FALSE(snap_.any_usable());
  EXPECT_EQ(snap_.outlook(), PathOutlook::kComingBack);
  EXPECT_EQ(snap_.Pick(-1), -1);
  table_.path(1).outlook = PathOutlook::kLost;
  table_.path(0).outlook = PathOutlook::kLost;
  table_.BumpEpoch();
  snap_.Refresh(0, &transport_);
  EXPECT_EQ(snap_.outlook(), PathOutlook::kLost);
}

TEST_F(SnapshotTest, PathTheControlPlaneStillCallsUsableIsNotUsedAfterAQueueSawItFail) {
  table_.path(0).outlook = PathOutlook::kUsable;  // as the control plane last published
  table_.path(1).outlook = PathOutlook::kUsable;
  table_.ReportPathError(0, false, false);
  table_.ReportPathError(1, false, false);
  snap_.Refresh(0, &transport_);
  EXPECT_FALSE(snap_.any_usable());
  EXPECT_EQ(snap_.Pick(-1), -1);
  EXPECT_EQ(snap_.outlook(), PathOutlook::kUsable);  // stale, and harmless:
  EXPECT_EQ(NoPathDeadlineNs(snap_.outlook(), 5, 0, 30, 120),
            NoPathDeadlineNs(PathOutlook::kMayReturn, 5, 0, 30, 120));
}

TEST_F(SnapshotTest, FailbackDelayAsksForARefreshWhenItEnds) {
  SnapshotConfig cfg = Config();
  cfg.failback_delay_ns = 5 * kSec;
  PathSnapshot snap(&table_, cfg);
  table_.path(0).usable_since_ns = 2 * kSec;
  snap.Refresh(3 * kSec, &transport_);
  EXPECT_EQ(snap.failback_refresh_ns(), 7 * kSec);
  EXPECT_EQ(snap.Pick(-1), 0);  // both non-optimized now: the first in the tier
  snap.Refresh(7 * kSec, &transport_);
  EXPECT_EQ(snap.failback_refresh_ns(), 0);
}

TEST_F(SnapshotTest, NumaDistanceOrdersPathsOfOneTier) {
  SnapshotConfig cfg = Config();
  cfg.numa_node = 1;
  PathSnapshot snap(&table_, cfg);
  table_.path(1).ana = AnaState::kOptimized;
  table_.path(0).numa_node = 0;
  table_.path(1).numa_node = 1;
  snap.Refresh(0, &transport_);
  EXPECT_EQ(snap.Pick(-1), 1);  // numa policy: the local one
}

TEST_F(SnapshotTest, SeparateIncidentsMarkMarginalThroughTheTableOnce) {
  snap_.Refresh(0, &transport_);
  const uint64_t e0 = table_.epoch();
  // Three incidents, each of a command sent after the previous one was counted.
  snap_.OnPathError(0, Disposition::kFailover, 1, 1, 1 * kSec);
  snap_.OnPathError(0, Disposition::kFailover, 2, 2, 2 * kSec);
  EXPECT_FALSE(table_.path(0).marginal.load());
  snap_.OnPathError(0, Disposition::kFailover, 3, 3, 3 * kSec);
  EXPECT_TRUE(table_.path(0).marginal.load());
  EXPECT_GT(table_.epoch(), e0);
  EXPECT_EQ(table_.path(0).health.load(), PathHealth::kFailed);  // reported, too
  EXPECT_FALSE(table_.MarkMarginal(0));  // already: nothing more to publish
}

TEST_F(SnapshotTest, CommandsInFlightAtAnIncidentAreOneIncident) {
  snap_.Refresh(0, &transport_);
  // A reset fails commands 1..10, all dispatched before the first failure was counted.
  for (uint32_t seq = 1; seq <= 10; ++seq) snap_.OnPathError(0, Disposition::kFailover, seq, 10, kSec);
  // A second fault of a command sent afterwards.
  snap_.OnPathError(0, Disposition::kFailover, 11, 11, 2 * kSec);
  EXPECT_FALSE(table_.path(0).marginal.load());
}

TEST_F(SnapshotTest, AnaErrorsAndOldIncidentsDoNotCount) {
  snap_.Refresh(0, &transport_);
  for (uint32_t seq = 1; seq <= 5; ++seq)
    snap_.OnPathError(1, Disposition::kAnaFailover, seq, seq, seq * kSec);
  EXPECT_FALSE(table_.path(1).marginal.load());
  EXPECT_TRUE(table_.TakeAnaRefresh());  // but ANA is to be re-read
  // Incidents further apart than the window start the count again.
  snap_.OnPathError(0, Disposition::kFailover, 10, 10, 1 * kSec);
  snap_.OnPathError(0, Disposition::kFailover, 11, 11, 12 * kSec);
  snap_.OnPathError(0, Disposition::kFailover, 12, 12, 23 * kSec);
  EXPECT_FALSE(table_.path(0).marginal.load());
}

TEST_F(SnapshotTest, GonePathIsReportedAsGone) {
  snap_.Refresh(0, &transport_);
  snap_.OnPathError(1, Disposition::kPathGone, 1, 1, kSec);
  EXPECT_EQ(table_.path(1).health.load(), PathHealth::kGone);
  EXPECT_TRUE(table_.TakeAttention());
}

}  // namespace
}  // namespace nvme_mpath::internal
