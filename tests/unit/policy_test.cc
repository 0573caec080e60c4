// Path selection (src/policy.h): objects built by value, one field changed per step.
#include "policy.h"

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

PathView P(uint8_t tier, int distance = 0, uint32_t inflight = 0) {
  return PathView{tier, distance, inflight};
}

TEST(PolicyTest, PrefersOptimizedOverNonOptimized) {
  PathView v[] = {P(kTierNonOptimized), P(kTierOptimized)};
  for (IoPolicy pol : {IoPolicy::kNuma, IoPolicy::kRoundRobin, IoPolicy::kQueueDepth,
                       IoPolicy::kActivePassive}) {
    PolicyState st;
    PolicyConfig cfg{pol, 1, 0};
    for (int i = 0; i < 5; ++i) EXPECT_EQ(SelectPath(v, 2, cfg, st), 1) << IoPolicyName(pol);
  }
}

TEST(PolicyTest, NeverUsesUnusable) {
  PathView v[] = {P(kTierUnusable), P(kTierUnusable)};
  PolicyState st;
  for (IoPolicy pol : {IoPolicy::kNuma, IoPolicy::kRoundRobin, IoPolicy::kQueueDepth,
                       IoPolicy::kActivePassive}) {
    EXPECT_EQ(SelectPath(v, 2, PolicyConfig{pol, 1, 0}, st), -1);
  }
  v[1] = P(kTierMarginal);
  EXPECT_EQ(SelectPath(v, 2, PolicyConfig{IoPolicy::kNuma, 1, -1}, st), 1);
}

TEST(PolicyTest, MarginalOnlyWhenNothingBetter) {
  PathView v[] = {P(kTierMarginal), P(kTierNonOptimized)};
  PolicyState st;
  EXPECT_EQ(SelectPath(v, 2, PolicyConfig{IoPolicy::kNuma, 1, -1}, st), 1);
}

constexpr IoPolicy kAllPolicies[] = {IoPolicy::kNuma, IoPolicy::kRoundRobin, IoPolicy::kQueueDepth,
                                     IoPolicy::kActivePassive};

// Whatever its ANA state was, a disabled path is kTierDisabled (TierOf): every policy leaves it
// while any other path is usable, even a marginal one, and uses it when nothing else is.
TEST(PolicyTest, DisabledPathOnlyWhenNothingElseIsUsable) {
  for (IoPolicy pol : kAllPolicies) {
    // The disabled path is the preferred one (active-passive), the local one (numa), the
    // idle one (queue-depth) and the next in turn (round-robin).
    PathView v[] = {P(kTierDisabled, 0, 0), P(kTierNonOptimized, 1, 9), P(kTierUnusable)};
    PolicyConfig cfg{pol, 1, 0};
    PolicyState st;
    for (int i = 0; i < 4; ++i) EXPECT_EQ(SelectPath(v, 3, cfg, st), 1) << IoPolicyName(pol);
    v[1].tier = kTierMarginal;
    st.Clear();
    for (int i = 0; i < 4; ++i) EXPECT_EQ(SelectPath(v, 3, cfg, st), 1) << IoPolicyName(pol);
    v[1].tier = kTierUnusable;  // the last usable path is the disabled one: I/O still goes there
    st.Clear();
    for (int i = 0; i < 4; ++i) EXPECT_EQ(SelectPath(v, 3, cfg, st), 0) << IoPolicyName(pol);
    v[2].tier = kTierDisabled;  // two disabled: they share the load as their policy says
    st.Clear();
    const int first = SelectPath(v, 3, cfg, st);
    EXPECT_TRUE(first == 0 || first == 2) << IoPolicyName(pol);
    v[0].tier = v[2].tier = kTierUnusable;
    st.Clear();
    EXPECT_EQ(SelectPath(v, 3, cfg, st), -1) << IoPolicyName(pol);
  }
  // Round-robin over the enabled paths only: the disabled one in the middle is skipped.
  PathView w[] = {P(kTierOptimized), P(kTierDisabled), P(kTierOptimized)};
  PolicyState st;
  PolicyConfig rr{IoPolicy::kRoundRobin, 1, -1};
  EXPECT_EQ(SelectPath(w, 3, rr, st), 0);
  EXPECT_EQ(SelectPath(w, 3, rr, st), 2);
  EXPECT_EQ(SelectPath(w, 3, rr, st), 0);
}

TEST(PolicyTest, NumaPrefersLocalNode) {
  PathView v[] = {P(kTierOptimized, 1), P(kTierOptimized, 0)};
  PolicyState st;
  EXPECT_EQ(SelectPath(v, 2, PolicyConfig{IoPolicy::kNuma, 1, -1}, st), 1);
  // Unknown nodes: all distances equal, the first optimized path wins and stays cached.
  PathView w[] = {P(kTierOptimized, 0), P(kTierOptimized, 0)};
  PolicyState st2;
  EXPECT_EQ(SelectPath(w, 2, PolicyConfig{IoPolicy::kNuma, 1, -1}, st2), 0);
  EXPECT_EQ(SelectPath(w, 2, PolicyConfig{IoPolicy::kNuma, 1, -1}, st2), 0);
}

TEST(PolicyTest, RoundRobinRotatesAfterMinIo) {
  PathView v[] = {P(kTierOptimized), P(kTierNonOptimized), P(kTierOptimized)};
  PolicyState st;
  PolicyConfig cfg{IoPolicy::kRoundRobin, 1, -1};
  EXPECT_EQ(SelectPath(v, 3, cfg, st), 0);
  EXPECT_EQ(SelectPath(v, 3, cfg, st), 2);
  EXPECT_EQ(SelectPath(v, 3, cfg, st), 0);
  PolicyState st3;
  PolicyConfig cfg3{IoPolicy::kRoundRobin, 3, -1};
  int seq[6];
  for (int& s : seq) s = SelectPath(v, 3, cfg3, st3);
  EXPECT_EQ(seq[0], 0);
  EXPECT_EQ(seq[1], 0);
  EXPECT_EQ(seq[2], 0);
  EXPECT_EQ(seq[3], 2);
  EXPECT_EQ(seq[4], 2);
  EXPECT_EQ(seq[5], 2);
}

TEST(PolicyTest, QueueDepthPicksFewestInflight) {
  PathView v[] = {P(kTierOptimized, 0, 5), P(kTierOptimized, 0, 2), P(kTierNonOptimized, 0, 0)};
  PolicyState st;
  EXPECT_EQ(SelectPath(v, 3, PolicyConfig{IoPolicy::kQueueDepth, 1, -1}, st), 1);
  v[1].inflight = 9;
  EXPECT_EQ(SelectPath(v, 3, PolicyConfig{IoPolicy::kQueueDepth, 1, -1}, st), 0);
}

TEST(PolicyTest, ActivePassiveUsesPreferredWhileInBestTier) {
  PathView v[] = {P(kTierOptimized), P(kTierOptimized)};
  PolicyState st;
  EXPECT_EQ(SelectPath(v, 2, PolicyConfig{IoPolicy::kActivePassive, 1, 1}, st), 1);
  st.Clear();
  v[1].tier = kTierNonOptimized;  // preferred degraded: the optimized one wins
  EXPECT_EQ(SelectPath(v, 2, PolicyConfig{IoPolicy::kActivePassive, 1, 1}, st), 0);
  st.Clear();
  v[0].tier = kTierUnusable;
  EXPECT_EQ(SelectPath(v, 2, PolicyConfig{IoPolicy::kActivePassive, 1, 1}, st), 1);
}

}  // namespace
}  // namespace nvme_mpath::internal
