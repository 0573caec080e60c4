// File: policy.h
//
// Path selection: a pure function over a queue's private snapshot of the paths, so that it is
// unit-testable field by field (SPDK's test_find_io_path style) and costs a few instructions on
// the hot path when the cached choice is still valid.
#ifndef NVME_MPATH_SRC_POLICY_H_
#define NVME_MPATH_SRC_POLICY_H_

#include <array>
#include <cstdint>

#include <nvme_mpath/types.h>

#include "transport.h"  // kMaxPaths

namespace nvme_mpath::internal {

// Preference tiers: lower is better. Under every policy only the best non-empty tier is used.
inline constexpr uint8_t kTierOptimized = 0;
// ANA non-optimized, or optimized but usable again for less than failback_delay (TierOf()).
inline constexpr uint8_t kTierNonOptimized = 1;
// Marked marginal (PathState::marginal), whatever its ANA state: used only when no path of a
// better tier is usable.
inline constexpr uint8_t kTierMarginal = 2;
// Disabled by the operator (PathState::disabled), whatever its ANA state or marginal mark: no new
// I/O while a path of any better tier is usable, but the last resort when none is, so that
// draining the last good path for maintenance never fails I/O (docs/operations.md, "Path
// maintenance").
inline constexpr uint8_t kTierDisabled = 3;
inline constexpr uint8_t kTierUnusable = 255;

struct PathView {
  uint8_t tier = kTierUnusable;
  int distance = 0;       // NUMA distance from the queue's node (equal when unknown)
  uint32_t inflight = 0;  // this queue's commands in flight on the path
  // The latency policy's estimate (SampleLatency()): this queue's EWMA of the completion latency
  // of its commands on the path (PathSnapshot::Succeeded; 0: no sample yet), and when its last
  // sample came (0: never).
  uint32_t latency_ns = 0;
  int64_t sampled_ns = 0;
};

// The latency policy's constants. A path of the best tier without a sample for kLatencyProbeNs
// gets the next I/O (once per interval): a slow path that healed is seen within that time. A
// sample that comes after more than kLatencyProbeNs replaces the estimate instead of moving it
// by 1/kLatencyEwmaDiv: an old figure says nothing about the path now.
inline constexpr int64_t kLatencyProbeNs = 1'000'000'000;
inline constexpr int kLatencyEwmaDiv = 8;

// Folds one completion latency `latency_ns`, seen at `now`, into path view `v`'s estimate.
void SampleLatency(PathView& v, int64_t latency_ns, int64_t now);

// Per-queue selector state (the current-path cache).
struct PolicyState {
  int current = -1;       // cached choice; -1 = none
  // `current` when it stands until the snapshot changes (numa, active-passive), else -1: the
  // fast path's one test (SelectPath).
  int kept = -1;
  uint32_t rr_count = 0;  // I/Os sent to `current` (round-robin)
  // Latency policy: the time of the latest sample (its clock: no clock read when picking), and
  // when each path was last sent a probe.
  int64_t now_ns = 0;
  std::array<int64_t, kMaxPaths> probed_ns{};
  void Clear() { current = kept = -1; rr_count = 0; }
};

struct PolicyConfig {
  IoPolicy policy = IoPolicy::kNuma;
  uint32_t rr_min_io = 1;
  int preferred = -1;  // active-passive
};

// Returns the best tier present in `paths`, or kTierUnusable.
uint8_t BestTier(const PathView* paths, int n);

// Selects a path for the next command, or -1 when none is usable. Updates `st`.
int SelectPathSlow(const PathView* paths, int n, const PolicyConfig& cfg, PolicyState& st);
inline int SelectPath(const PathView* paths, int n, const PolicyConfig& cfg, PolicyState& st) {
  // Fast path: numa and active-passive keep the cached choice until the snapshot changes.
  if (st.kept >= 0) [[likely]] return st.kept;
  return SelectPathSlow(paths, n, cfg, st);
}

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_POLICY_H_
