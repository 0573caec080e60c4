// NextPathState(): the control plane's decision for one path, a pure function over plain state.
#include "path_decision.h"

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr uint32_t kAnattS = 10;  // what nvmet reports

PathObservation LiveRead(AnaState s) {
  PathObservation o;
  o.ctrl = CtrlState::kLive;
  o.ana_read = PathObservation::Ana::kRead;
  o.ana = s;
  return o;
}

TEST(PathDecisionTest, OptimizedOnLiveControllerIsUsable) {
  PathStep s = NextPathState(PathControl{}, LiveRead(AnaState::kOptimized), 5 * kSec, kAnattS);
  EXPECT_EQ(s.next.ana, AnaState::kOptimized);
  EXPECT_EQ(s.next.health, PathHealth::kLive);
  EXPECT_EQ(s.next.outlook, PathOutlook::kUsable);
  EXPECT_FALSE(s.close_fd);
  EXPECT_FALSE(s.reset);
}

TEST(PathDecisionTest, AnaChangeOnLiveControllerIsComingBack) {
  PathStep s = NextPathState(PathControl{}, LiveRead(AnaState::kChange), 5 * kSec, kAnattS);
  EXPECT_EQ(s.next.ana, AnaState::kChange);
  EXPECT_EQ(s.next.outlook, PathOutlook::kComingBack);
  EXPECT_EQ(s.next.change_since_ns, 5 * kSec);
  EXPECT_FALSE(s.next.anatt_exceeded);
}

TEST(PathDecisionTest, ChangeLongerThanAnattIsFlaggedOnceAndStillComingBack) {
  PathControl c = NextPathState(PathControl{}, LiveRead(AnaState::kChange), kSec, kAnattS).next;
  PathStep s = NextPathState(c, LiveRead(AnaState::kChange), 11 * kSec, kAnattS);
  EXPECT_FALSE(s.next.anatt_exceeded);  // exactly ANATT: not longer
  s = NextPathState(s.next, LiveRead(AnaState::kChange), 11 * kSec + 1, kAnattS);
  EXPECT_TRUE(s.next.anatt_exceeded);
  EXPECT_TRUE(s.anatt_exceeded_now);
  EXPECT_EQ(s.next.anatt_exceeded_count, 1u);
  EXPECT_EQ(s.next.ana, AnaState::kChange);  // shown as it is, not as inaccessible
  EXPECT_EQ(s.next.outlook, PathOutlook::kComingBack);
  s = NextPathState(s.next, LiveRead(AnaState::kChange), 40 * kSec, kAnattS);
  EXPECT_TRUE(s.next.anatt_exceeded);
  EXPECT_FALSE(s.anatt_exceeded_now);  // said once
  EXPECT_EQ(s.next.anatt_exceeded_count, 1u);
  EXPECT_EQ(s.next.outlook, PathOutlook::kComingBack);
  // Out of change: the flag clears, the count stays.
  s = NextPathState(s.next, LiveRead(AnaState::kOptimized), 41 * kSec, kAnattS);
  EXPECT_FALSE(s.next.anatt_exceeded);
  EXPECT_EQ(s.next.anatt_exceeded_count, 1u);
  EXPECT_EQ(s.next.outlook, PathOutlook::kUsable);
}

TEST(PathDecisionTest, InaccessibleAndPersistentLossKeepTheNoPathRule) {
  for (AnaState a : {AnaState::kInaccessible, AnaState::kPersistentLoss}) {
    PathStep s = NextPathState(PathControl{}, LiveRead(a), kSec, kAnattS);
    EXPECT_EQ(s.next.ana, a);
    EXPECT_EQ(s.next.outlook, PathOutlook::kMayReturn) << AnaStateName(a);
  }
}

TEST(PathDecisionTest, ControllerNotLiveFailsThePathAndMayReturn) {
  PathControl c = NextPathState(PathControl{}, LiveRead(AnaState::kChange), 0, kAnattS).next;
  for (CtrlState st : {CtrlState::kResetting, CtrlState::kConnecting, CtrlState::kNew,
                       CtrlState::kUnknown}) {
    PathObservation o;
    o.ctrl = st;
    PathStep s = NextPathState(c, o, kSec, kAnattS);
    EXPECT_EQ(s.next.health, PathHealth::kFailed) << CtrlStateName(st);
    // In change, but its controller is not live: not "coming back".
    EXPECT_EQ(s.next.outlook, PathOutlook::kMayReturn) << CtrlStateName(st);
    EXPECT_TRUE(s.reset);  // it was live
    EXPECT_FALSE(s.close_fd);
  }
}

TEST(PathDecisionTest, FailedAnaReadFailsThePathAndEnodevMarksItGone) {
  PathControl c = NextPathState(PathControl{}, LiveRead(AnaState::kChange), 0, kAnattS).next;
  PathObservation o;
  o.ana_read = PathObservation::Ana::kFailed;
  PathStep s = NextPathState(c, o, kSec, kAnattS);
  EXPECT_EQ(s.next.health, PathHealth::kFailed);
  EXPECT_EQ(s.next.outlook, PathOutlook::kMayReturn);
  o.ana_read = PathObservation::Ana::kNoDevice;
  s = NextPathState(c, o, kSec, kAnattS);
  EXPECT_EQ(s.next.health, PathHealth::kGone);
}

TEST(PathDecisionTest, DeletedControllerClosesTheFdAndIsLostAfterTheBound) {
  PathControl c = NextPathState(PathControl{}, LiveRead(AnaState::kOptimized), 0, kAnattS).next;
  PathObservation o;
  o.ctrl = CtrlState::kDeleting;
  PathStep s = NextPathState(c, o, 10 * kSec, kAnattS);
  EXPECT_TRUE(s.close_fd);
  EXPECT_TRUE(s.reset);
  EXPECT_EQ(s.next.health, PathHealth::kGone);
  EXPECT_EQ(s.next.gone_since_ns, 10 * kSec);
  EXPECT_EQ(s.next.outlook, PathOutlook::kMayReturn);  // not yet: a reconnect may follow
  // Closed now; the reopen attempt found nothing at the endpoint.
  PathObservation closed;
  closed.fd_open = false;
  closed.health = PathHealth::kGone;
  s = NextPathState(s.next, closed, 10 * kSec + kLostAfterNs - 1, kAnattS);
  EXPECT_FALSE(s.close_fd);
  EXPECT_EQ(s.next.outlook, PathOutlook::kMayReturn);
  s = NextPathState(s.next, closed, 10 * kSec + kLostAfterNs, kAnattS);
  EXPECT_EQ(s.next.outlook, PathOutlook::kLost);
  EXPECT_TRUE(s.lost_now);
  s = NextPathState(s.next, closed, 20 * kSec, kAnattS);
  EXPECT_EQ(s.next.outlook, PathOutlook::kLost);
  EXPECT_FALSE(s.lost_now);  // said once
}

TEST(PathDecisionTest, DeletedControllerWithAReconnectUnderWayMayReturn) {
  PathObservation closed;
  closed.fd_open = false;
  closed.health = PathHealth::kGone;
  closed.endpoint_present = true;  // FindPath: a controller at the endpoint, "connecting"
  PathControl c;
  c.gone_since_ns = kSec;
  PathStep s = NextPathState(c, closed, 60 * kSec, kAnattS);
  EXPECT_EQ(s.next.outlook, PathOutlook::kMayReturn);
  EXPECT_EQ(s.next.gone_since_ns, kSec);
}

TEST(PathDecisionTest, ControllerWithoutAnaIsOptimizedWhenLive) {
  PathObservation o;
  o.ana_supported = false;
  PathStep s = NextPathState(PathControl{}, o, kSec, 0);
  EXPECT_EQ(s.next.ana, AnaState::kOptimized);
  EXPECT_EQ(s.next.outlook, PathOutlook::kUsable);
}

TEST(PathDecisionTest, LiveAgainAfterResetBumpsResetAndClearsGone) {
  PathControl c;
  c.was_live = false;
  c.ctrl = CtrlState::kConnecting;
  c.health = PathHealth::kFailed;
  PathObservation o = LiveRead(AnaState::kOptimized);
  o.health = PathHealth::kFailed;
  PathStep s = NextPathState(c, o, kSec, kAnattS);
  EXPECT_TRUE(s.reset);
  EXPECT_TRUE(s.next.was_live);
  EXPECT_EQ(s.next.health, PathHealth::kLive);
  EXPECT_EQ(s.next.outlook, PathOutlook::kUsable);
}

// A multipath head as one path: what the kernel's path selection can use.
TEST(ReduceHeadTest, TheBestMemberTheKernelCanUseDecides) {
  using C = CtrlState;
  using A = AnaState;
  auto R = [](std::vector<HeadMemberState> v) { return ReduceHead(v); };
  auto Is = [](HeadReduction r, C c, A a) { return r.ctrl == c && r.ana == a; };
  EXPECT_TRUE(Is(R({{C::kLive, A::kNonOptimized}, {C::kLive, A::kOptimized}}), C::kLive, A::kOptimized));
  EXPECT_TRUE(Is(R({{C::kLive, A::kInaccessible}, {C::kLive, A::kNonOptimized}}), C::kLive, A::kNonOptimized));
  // An optimized path on a controller that is not live is not used by the kernel.
  EXPECT_TRUE(Is(R({{C::kResetting, A::kOptimized}, {C::kLive, A::kInaccessible}}), C::kLive, A::kInaccessible));
  EXPECT_TRUE(Is(R({{C::kLive, A::kInaccessible}, {C::kLive, A::kChange}}), C::kLive, A::kChange));
  EXPECT_TRUE(Is(R({{C::kLive, A::kPersistentLoss}, {C::kLive, A::kPersistentLoss}}), C::kLive, A::kPersistentLoss));
  EXPECT_TRUE(Is(R({{C::kLive, A::kPersistentLoss}, {C::kLive, std::nullopt}}), C::kLive, A::kInaccessible));
  EXPECT_TRUE(Is(R({{C::kConnecting, A::kOptimized}, {C::kDeleting, A::kOptimized}}), C::kConnecting, A::kUnknown));
  EXPECT_TRUE(Is(R({{C::kDeleting, A::kOptimized}, {C::kGone, std::nullopt}}), C::kGone, A::kUnknown));
  EXPECT_TRUE(Is(R({}), C::kGone, A::kUnknown));
}

}  // namespace
}  // namespace nvme_mpath::internal
