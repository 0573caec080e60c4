// File: policy.cc
//
// The five I/O policies. As SPDK's _bdev_nvme_find_io_path(): return the cached choice at once
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

// The path of `tier` that would complete one more command soonest: the lowest (in flight + 1) x
// latency estimate, the time to drain the path's share of this queue if its commands keep taking
// what they took lately. With nothing in flight that is the fastest path, so at QD 1 every
// command goes down it; under load the commands in flight spread in inverse proportion to the
// estimates (a path twice as fast holds about twice as many), so one path never takes the whole
// queue because its estimate is a little lower (the herding of a lowest-estimate-wins rule, which
// swung the load between two equal paths in the lab). A tie goes to the faster path, then to the
// one with fewer in flight, then round-robin after the last choice: never to the slower path. A
// path without a sample for kLatencyProbeNs is probed first (once per interval); one that never
// had a sample is otherwise taken only when no path has one (then they rotate), so that one slow
// unknown path is not sent a whole queue depth at once.
int Latency(const PathView* paths, int n, uint8_t tier, int after, PolicyState& st) {
  int best = -1;
  uint64_t best_cost = 0;
  uint32_t best_lat = 0;
  for (int k = 1; k <= n; ++k) {
    int i = (after + k) % n;
    if (i < 0) i += n;
    const PathView& v = paths[i];
    if (v.tier != tier) continue;
    if (st.now_ns - v.sampled_ns >= kLatencyProbeNs && st.now_ns - st.probed_ns[i] >= kLatencyProbeNs) {
      st.probed_ns[i] = st.now_ns;
      return i;
    }
    // The estimate (UINT32_MAX while the path has no sample), and the cost of one more command
    // there (64 bits: no overflow).
    const uint32_t lat = v.latency_ns != 0 ? v.latency_ns : UINT32_MAX;
    const uint64_t cost = (uint64_t{v.inflight} + 1) * lat;
    if (best < 0 || cost < best_cost ||
        (cost == best_cost && (lat < best_lat || (lat == best_lat && v.inflight < paths[best].inflight)))) {
      best = i;
      best_cost = cost;
      best_lat = lat;
    }
  }
  return best;
}

}  // namespace

void SampleLatency(PathView& v, int64_t latency_ns, int64_t now) {
  const int64_t lat = latency_ns < 1 ? 1 : latency_ns > int64_t{UINT32_MAX} ? int64_t{UINT32_MAX} : latency_ns;
  if (v.latency_ns == 0 || now - v.sampled_ns >= kLatencyProbeNs) {
    v.latency_ns = static_cast<uint32_t>(lat);
  } else {
    const int64_t cur = v.latency_ns;
    v.latency_ns = static_cast<uint32_t>(cur + (lat - cur) / kLatencyEwmaDiv);
  }
  v.sampled_ns = now;
}

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
    case IoPolicy::kLatency:
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
    case IoPolicy::kLatency:
      pick = Latency(paths, n, tier, cur, st);
      break;
  }
  st.current = pick;
  st.kept = cfg.policy == IoPolicy::kNuma || cfg.policy == IoPolicy::kActivePassive ? pick : -1;
  return pick;
}

}  // namespace nvme_mpath::internal
