// File: policy.cc
//
// The four I/O policies. As SPDK's _bdev_nvme_find_io_path(): return the cached choice at once
// while it is valid; otherwise scan the paths once, circularly after the last choice.
#include "policy.h"

namespace nvme_mpath::internal {

uint8_t BestTier(const PathView* paths, int n) {
  uint8_t best = kTierUnusable;
  for (int i = 0; i < n; ++i) {
    if (paths[i].tier < best) best = paths[i].tier;
  }
  return best;
}

namespace {

int Numa(const PathView* paths, int n, uint8_t tier) {
  int best = -1;
  for (int i = 0; i < n; ++i) {
    if (paths[i].tier != tier) continue;
    if (best < 0 || paths[i].distance < paths[best].distance) best = i;
  }
  return best;
}

int NextInTier(const PathView* paths, int n, uint8_t tier, int after) {
  for (int k = 1; k <= n; ++k) {
    int i = (after + k) % n;
    if (i < 0) i += n;
    if (paths[i].tier == tier) return i;
  }
  return -1;
}

int QueueDepth(const PathView* paths, int n, uint8_t tier, int after) {
  int best = -1;
  for (int k = 1; k <= n; ++k) {  // start after the last choice: ties spread round-robin
    int i = (after + k) % n;
    if (i < 0) i += n;
    if (paths[i].tier != tier) continue;
    if (best < 0 || paths[i].inflight < paths[best].inflight) best = i;
  }
  return best;
}

}  // namespace

int SelectPathSlow(const PathView* paths, int n, const PolicyConfig& cfg, PolicyState& st) {
  const int cur = st.current;
  switch (cfg.policy) {
    case IoPolicy::kNuma:
    case IoPolicy::kActivePassive:
      // The cache is cleared whenever the snapshot changes, so a cached path is still the best.
      if (cur >= 0) return cur;
      break;
    case IoPolicy::kRoundRobin:
      if (cur >= 0 && ++st.rr_count < cfg.rr_min_io) return cur;
      break;
    case IoPolicy::kQueueDepth:
      break;
  }
  const uint8_t tier = BestTier(paths, n);
  if (tier == kTierUnusable) {
    st.Clear();
    return -1;
  }
  int pick = -1;
  switch (cfg.policy) {
    case IoPolicy::kNuma:
      pick = Numa(paths, n, tier);
      break;
    case IoPolicy::kActivePassive:
      pick = (cfg.preferred >= 0 && cfg.preferred < n && paths[cfg.preferred].tier == tier)
                 ? cfg.preferred
                 : NextInTier(paths, n, tier, -1);
      break;
    case IoPolicy::kRoundRobin:
      pick = NextInTier(paths, n, tier, cur);
      st.rr_count = 0;
      break;
    case IoPolicy::kQueueDepth:
      pick = QueueDepth(paths, n, tier, cur);
      break;
  }
  st.current = pick;
  return pick;
}

}  // namespace nvme_mpath::internal
