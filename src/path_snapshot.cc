// File: path_snapshot.cc
//
// A queue's view of the path table, and its marginal-path detection (see path_snapshot.h).
#include "path_snapshot.h"

#include <algorithm>
#include <limits>

#include "log.h"

namespace nvme_mpath::internal {

uint8_t TierOf(const PathState& ps, bool file_installed, int64_t now, int64_t failback_delay_ns,
               int64_t* trusted_at_ns) {
  if (!ps.Usable() || !file_installed) return kTierUnusable;
  if (ps.disabled.load(std::memory_order_relaxed)) return kTierDisabled;
  if (ps.marginal.load(std::memory_order_relaxed)) return kTierMarginal;
  if (ps.ana.load(std::memory_order_relaxed) != AnaState::kOptimized) return kTierNonOptimized;
  const int64_t since = ps.usable_since_ns.load(std::memory_order_relaxed);
  if (failback_delay_ns > 0 && now - since < failback_delay_ns) {
    *trusted_at_ns = since + failback_delay_ns;
    return kTierNonOptimized;  // not trusted yet: as a non-optimized path
  }
  return kTierOptimized;
}

PathOutlook OutlookOf(const PathState& ps, uint8_t tier) {
  if (tier != kTierUnusable) return PathOutlook::kUsable;
  const PathOutlook o = ps.outlook.load(std::memory_order_relaxed);
  // A queue saw the controller go (-ENODEV) after the control plane last looked.
  if (o == PathOutlook::kComingBack &&
      ps.health.load(std::memory_order_relaxed) == PathHealth::kGone)
    return PathOutlook::kMayReturn;
  return o;
}

int64_t NoPathDeadlineNs(PathOutlook best, int64_t parked_ns, int64_t submit_ns,
                         int64_t no_path_timeout_ns, int64_t io_timeout_ns) {
  if (no_path_timeout_ns == 0) return parked_ns;
  const int64_t no_path = parked_ns + no_path_timeout_ns;
  switch (best) {
    case PathOutlook::kComingBack:
      if (io_timeout_ns == 0) return std::numeric_limits<int64_t>::max();
      return std::max(no_path, submit_ns + io_timeout_ns);
    case PathOutlook::kLost:
      return parked_ns;
    case PathOutlook::kUsable:
    case PathOutlook::kMayReturn:
      break;
  }
  return no_path;
}

PathSnapshot::PathSnapshot(PathTable* table, const SnapshotConfig& cfg)
    : table_(table), cfg_(cfg), npaths_(table->count()) {
  NVME_MPATH_ASSERT(npaths_ >= 0 && npaths_ <= kMaxPaths);
  file_fd_.fill(-1);
  policy_cfg_.rr_min_io = cfg.rr_min_io ? cfg.rr_min_io : 1;
}

void PathSnapshot::Refresh(int64_t now, Transport* transport) {
  // The epoch first: a change published after this load moves it again, so it is not missed.
  const uint64_t epoch = table_->epoch();
  NVME_MPATH_ASSERT_MSG(epoch >= seen_epoch_, "the path table's epoch only grows");
  seen_epoch_ = epoch;
  policy_cfg_.policy = table_->policy();
  policy_cfg_.preferred = table_->preferred();
  policy_state_.Clear();
  any_usable_ = false;
  outlook_ = PathOutlook::kLost;
  failback_refresh_ns_ = 0;
  for (int i = 0; i < npaths_; ++i) {
    const PathState& ps = table_->path(i);
    const uint32_t gen = ps.fd_gen.load(std::memory_order_acquire);
    const int fd = ps.fd.load(std::memory_order_acquire);
    if (gen != fd_gen_[i] || fd != file_fd_[i]) {
      absl::Status st = transport->SetFile(i, fd);
      if (!st.ok()) MPLOG_WARN("path {}: cannot install fd {} in the ring: {}", i, fd, st.ToString());
      fd_gen_[i] = gen;
      file_fd_[i] = st.ok() ? fd : -1;
    }
    PathView& v = views_[i];
    int64_t trusted_at = 0;
    v.tier = TierOf(ps, file_fd_[i] >= 0, now, cfg_.failback_delay_ns, &trusted_at);
    if (trusted_at != 0 && (failback_refresh_ns_ == 0 || trusted_at < failback_refresh_ns_))
      failback_refresh_ns_ = trusted_at;
    const int node = ps.numa_node.load(std::memory_order_relaxed);
    v.distance = (cfg_.numa_node < 0 || node < 0 || node == cfg_.numa_node) ? 0 : 1;
    if (v.tier != kTierUnusable) any_usable_ = true;
    if (const PathOutlook o = OutlookOf(ps, v.tier); o < outlook_) outlook_ = o;
  }
  // Not the converse: a path the control plane still calls usable may be unusable to this queue.
  NVME_MPATH_ASSERT(!any_usable_ || outlook_ == PathOutlook::kUsable);
}

void PathSnapshot::OnPathError(int p, Disposition d, uint32_t cmd_seq, uint32_t seq_now,
                               int64_t now) {
  NVME_MPATH_ASSERT(d == Disposition::kFailover || d == Disposition::kAnaFailover ||
                    d == Disposition::kPathGone);
  table_->ReportPathError(p, d == Disposition::kPathGone, d == Disposition::kAnaFailover);
  if (d != Disposition::kAnaFailover && cfg_.marginal_errors != 0)
    CountIncident(p, cmd_seq, seq_now, now);
}

// Marginal detection: marginal_errors incidents on path `p` within marginal_window_ns mark it
// marginal. An incident is one fault of the path, however many commands it fails: a command
// dispatched before the path's last incident was counted was in flight when it happened and
// fails with it (a controller reset cancels everything in flight, each command with its own
// -EINTR or 0x371), so it does not count again. The queue sends nothing more down a path it saw
// fail until the control plane finds it healthy, so the next failure of a command sent after
// that is a new incident. Incidents are per queue, as the count was; an incident older than the
// window is forgotten (this also bounds the wrap of the 32-bit sequence compare).
void PathSnapshot::CountIncident(int p, uint32_t cmd_seq, uint32_t seq_now, int64_t now) {
  if (incident_ns_[p] != 0 && now - incident_ns_[p] <= cfg_.marginal_window_ns &&
      static_cast<int32_t>(cmd_seq - incident_seq_[p]) <= 0) {
    return;  // in flight when the last incident was counted: part of it
  }
  incident_ns_[p] = now;
  incident_seq_[p] = seq_now;  // every attempt dispatched so far
  if (now - incident_window_start_[p] > cfg_.marginal_window_ns) {
    incident_window_start_[p] = now;
    incident_count_[p] = 0;
  }
  if (++incident_count_[p] >= cfg_.marginal_errors && table_->MarkMarginal(p))
    MPLOG_INFO("path {}: marked marginal after {} path error incidents", p, incident_count_[p]);
}

}  // namespace nvme_mpath::internal
