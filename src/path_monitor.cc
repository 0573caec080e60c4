// File: path_monitor.cc
//
// The per-path refresh workers (see path_monitor.h for the threading model).
#include "path_monitor.h"

#include <fcntl.h>
#include <linux/nvme_ioctl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "absl/status/status.h"

#include "command_builder.h"
#include "log.h"
#include "write_hold.h"

namespace nvme_mpath::internal {
namespace {

constexpr int kProbeOkNeeded = 3;  // good probes before a marginal path is trusted again
constexpr int64_t kProbeSlowNs = 500'000'000;
constexpr uint32_t kProbeTimeoutMs = 2000;

// Returns true when controller `name` in sysfs still is the controller of `key` (the kernel
// reuses names after a deletion).
bool CtrlIsSameEndpoint(const std::string& name, const PathKey& key) {
  std::ifstream a("/sys/class/nvme/" + name + "/address"),
      n("/sys/class/nvme/" + name + "/subsysnqn");
  std::string address, nqn;
  if (!std::getline(a, address) || !std::getline(n, nqn)) return false;
  PathKey other{nqn, key.transport, address, 0};
  return other.SameEndpoint(key);
}

// The controller a log line names: a head has none of its own.
std::string CtrlLabel(const PathDesc& d) {
  return d.is_head() ? "of head " + d.head_subsys : d.ctrl_name;
}

// A multipath head as one path (path_decision.h ReduceHead), from its members in sysfs.
HeadReduction ReadHead(const PathDesc& d, uint32_t* grpid) {
  std::vector<HeadMemberState> v;
  for (const HeadMember& m : ReadHeadMembers(d.head_block)) {
    v.push_back({m.state, ParseAnaState(m.ana_state)});
    if (grpid != nullptr && *grpid == 0) *grpid = m.ana_grpid;
  }
  return ReduceHead(v);
}

class SystemCtrlAccess final : public CtrlAccess {
 public:
  CtrlState State(const PathDesc& d) override {
    if (d.is_head()) return HeadExists(d.head_block) ? ReadHead(d, nullptr).ctrl : CtrlState::kGone;
    // The state first: the address of a controller being deleted is not read (it can oops
    // 6.12: topology.cc, ReadAddress).
    const CtrlState s = ReadCtrlState(d.ctrl_name);
    if (CtrlDeleted(s)) return s;
    if (!CtrlIsSameEndpoint(d.ctrl_name, d.key)) return CtrlState::kGone;
    return s;
  }
  absl::StatusOr<AnaLog> ReadAna(int fd, const PathDesc& d) override {
    if (d.is_head()) {
      // The kernel's view, not a log read through the head (that would ask whichever controller
      // the kernel picks): one group holding the namespace, in the state the kernel can use.
      uint32_t grpid = 0;
      const HeadReduction h = ReadHead(d, &grpid);
      AnaLog log;
      AnaGroup g;
      g.grpid = grpid != 0 ? grpid : 1;
      g.state = h.ana;
      g.nsids = {d.nsid};
      log.groups.push_back(std::move(g));
      return log;
    }
    return ReadAnaLog(fd, d.ctrl.max_transfer_bytes, d.ctrl.anagrpmax, d.ctrl.nanagrpid);
  }
  absl::StatusOr<PathDesc> Find(const PathKey& key, uint32_t nsid) override {
    // A head's key has no transport endpoint: the kernel's controllers come and go under it.
    if (key.transport.empty() && key.address.empty()) return FindHead(key.subsysnqn, nsid);
    return FindPath(key, nsid);
  }
  int Open(const std::string& ng_path) override {
    int fd = open(ng_path.c_str(), O_RDWR | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
  }
  void Close(int fd) override { close(fd); }
  int Probe(int fd, uint32_t nsid, uint32_t lba_size, uint32_t /*metadata_size: not read*/) override {
    ProbeRead probe(nsid, lba_size, kProbeTimeoutMs);
    int r = ioctl(fd, NVME_IOCTL_IO64_CMD, probe.cmd());
    return r < 0 ? -errno : r;
  }
};

}  // namespace

std::unique_ptr<CtrlAccess> MakeSystemCtrlAccess() { return std::make_unique<SystemCtrlAccess>(); }

PathMonitor::PathMonitor(PathTable* table, std::vector<PathDesc> paths, CtrlAccess* access,
                         const Clock* clock, const MonitorConfig& cfg)
    : table_(table), access_(access), clock_(clock), cfg_(cfg) {
  if (!paths.empty()) want_ns_ = paths[0].ns;
  std::lock_guard<std::mutex> lock(mu_);
  if (cfg_.poll_interval_ns > 0) next_poll_ns_ = clock_->NowNs() + cfg_.poll_interval_ns;
  slots_.resize(paths.size());
  endpoint_present_.assign(paths.size(), false);
  for (size_t i = 0; i < paths.size(); ++i) {
    slots_[i].desc = std::move(paths[i]);
    PublishFacts(int(i), slots_[i].desc);
  }
}

PathMonitor::~PathMonitor() { Stop(); }

void PathMonitor::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    started_ = true;
  }
  for (int i = 0; i < table_->count(); ++i) workers_.emplace_back([this, i] { Worker(i); });
}

void PathMonitor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  round_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

uint64_t PathMonitor::RequestRefresh() {
  uint64_t r;
  bool workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    r = ++round_;
    workers = started_;
  }
  if (workers) {
    round_cv_.notify_all();
    return r;
  }
  // Inline: what the workers would do, one path after the other, in this thread.
  for (int i = 0; i < table_->count(); ++i) {
    RefreshPath(i);
    std::lock_guard<std::mutex> lock(mu_);
    slots_[i].done_round = r;
  }
  done_cv_.notify_all();
  return r;
}

uint64_t PathMonitor::PollOnce(bool wake) {
  // Both flags are taken on every call (no short-circuit): a request that came while the last
  // round ran starts the next one, and is never left set to start a round much later.
  const bool attention = table_->TakeAttention();
  const bool ana = table_->TakeAnaRefresh();
  bool due = attention || ana || wake;
  const int64_t now = clock_->NowNs();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (next_poll_ns_ != kNever && now >= next_poll_ns_) {
      due = true;
      next_poll_ns_ = now + cfg_.poll_interval_ns;
    }
  }
  return due ? RequestRefresh() : 0;
}

int64_t PathMonitor::next_poll_ns() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_poll_ns_;
}

bool PathMonitor::WaitRound(uint64_t round, int i, int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return done_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    if (i >= 0) return slots_[i].done_round >= round;
    for (const Slot& s : slots_)
      if (s.done_round < round) return false;
    return true;
  });
}

std::vector<int> PathMonitor::Pending(uint64_t round) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int> out;
  for (size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].done_round < round) out.push_back(int(i));
  return out;
}

std::vector<PathReport> PathMonitor::Reports() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PathReport> out;
  out.reserve(slots_.size());
  for (const Slot& s : slots_) out.push_back(PathReport{s.desc, s.ctl, s.ana_grpid});
  return out;
}

void PathMonitor::Worker(int i) {
  for (;;) {
    uint64_t want;
    {
      std::unique_lock<std::mutex> lock(mu_);
      round_cv_.wait(lock, [&] {
        return stop_ || round_ > slots_[i].done_round;
      });
      if (stop_) return;
      want = round_;
    }
    RefreshPath(i);
    {
      std::lock_guard<std::mutex> lock(mu_);
      slots_[i].done_round = want;
    }
    done_cv_.notify_all();
  }
}

void PathMonitor::ClosePathFd(int i) {
  PathState& ps = table_->path(i);
  int fd = ps.fd.exchange(-1, std::memory_order_acq_rel);
  ps.fd_gen.fetch_add(1, std::memory_order_release);
  // Queues hold their own reference in their ring's file table until they see the new gen.
  if (fd >= 0) access_->Close(fd);
}

// Publishes the facts of path `i`'s association `d`: NUMA node, CRDT, transfer limit and the
// write hold (its KATO and Identify Controller's TBKAS and CQT, see write_hold.h). Called when
// the path is added and on every reopen, before the epoch bump that makes queues look again.
void PathMonitor::PublishFacts(int i, const PathDesc& d) {
  PathState& ps = table_->path(i);
  ps.numa_node.store(d.numa_node, std::memory_order_relaxed);
  ps.crdt = d.ctrl.crdt;
  ps.max_transfer_bytes.store(d.MaxTransferBytes(), std::memory_order_relaxed);

  const WriteHoldFacts f{d.kato_ms, d.ctrl.cqt_ms, d.ctrl.tbkas(),
                         IsFabricsTransport(d.key.transport)};
  const int64_t hold_ns = WriteHoldNs(f);
  Slot& s = slots_[i];
  if (UsesKatoFloor(f) && !s.kato_floor_warned && cfg_.write_hold_ms < 0) {
    s.kato_floor_warned = true;
    MPLOG_WARN("path {} ({}): fabrics controller {} reports KATO 0 (keep-alive off or not shown in "
               "sysfs): holding writes that may still execute for {} ms (3 x the kernel's default "
               "KATO {} s + CQT {} ms); set write_hold_ms, or connect with --keep-alive-tmo",
               i, d.ng_path, CtrlLabel(d), hold_ns / 1'000'000, kFabricsKatoFloorMs / 1000, f.cqt_ms);
  }
  const int64_t old = ps.write_hold_ns.exchange(hold_ns, std::memory_order_relaxed);
  if (old != hold_ns)
    MPLOG_DEBUG("path {}: write hold {} ms (KATO {} ms, TBKAS {}, CQT {} ms, {})", i,
                hold_ns / 1'000'000, f.kato_ms, f.tbkas ? "yes" : "no", f.cqt_ms,
                f.fabrics ? "fabrics" : "pcie");
  MPLOG_DEBUG("path {}: NUMA node {}, CRDT {}/{}/{} x 100 ms, transfer limit {} bytes", i,
              d.numa_node, d.ctrl.crdt[0], d.ctrl.crdt[1], d.ctrl.crdt[2], d.MaxTransferBytes());
}

void PathMonitor::TryReopen(int i) {
  PathKey key;
  {
    std::lock_guard<std::mutex> lock(mu_);
    key = slots_[i].desc.key;
  }
  // Blocking: a sysfs scan and Identify (admin commands, kAdminTimeoutMs each), then open.
  absl::StatusOr<PathDesc> found = access_->Find(key, cfg_.nsid);
  if (!found.ok()) {
    MPLOG_DEBUG("path {}: controller for {} not back yet: {}", i, key.address,
                found.status().ToString());
    std::lock_guard<std::mutex> lock(mu_);
    endpoint_present_[i] = !absl::IsNotFound(found.status());
    return;
  }
  if (found->ns.GroupingId() != want_ns_.GroupingId() || !found->ns.SameFormat(want_ns_)) {
    MPLOG_WARN("path {}: {} reappeared with another namespace or LBA format ({}, {} bytes); not "
               "used", i, found->ng_path, found->ns.GroupingId(), found->ns.lba_size);
    std::lock_guard<std::mutex> lock(mu_);
    endpoint_present_[i] = true;
    return;
  }
  {
    // Never two paths through one controller: a path is a controller (an endpoint lookup that
    // answers with another path's live controller is wrong, whatever made it so).
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t j = 0; j < slots_.size(); ++j) {
      if (int(j) == i || slots_[j].ctl.ctrl != CtrlState::kLive) continue;
      if (slots_[j].desc.ctrl_name == found->ctrl_name) {
        MPLOG_WARN("path {}: the lookup for {} found {}, which is path {}'s controller; not used",
                   i, key.address, found->ctrl_name, j);
        endpoint_present_[i] = false;
        return;
      }
    }
  }
  const int fd = access_->Open(found->ng_path);
  std::lock_guard<std::mutex> lock(mu_);
  if (fd < 0) {
    MPLOG_WARN("path {}: cannot reopen {}: {}", i, found->ng_path, strerror(-fd));
    endpoint_present_[i] = true;
    return;
  }
  PathState& ps = table_->path(i);
  const int old = ps.fd.exchange(fd, std::memory_order_acq_rel);
  if (old >= 0) access_->Close(old);
  ps.fd_gen.fetch_add(1, std::memory_order_release);
  ps.reset_gen.fetch_add(1, std::memory_order_relaxed);
  MPLOG_INFO("path {}: reopened as {} ({}, cntlid {})", i, found->ng_path, CtrlLabel(*found),
             found->key.cntlid);
  Slot& s = slots_[i];
  s.desc = *found;
  s.ctl.ctrl = CtrlState::kLive;
  s.ctl.was_live = true;
  s.ctl.gone_since_ns = 0;
  endpoint_present_[i] = true;
  PublishFacts(i, *found);  // a new association: every fact read again
  ps.health.store(PathHealth::kFailed, std::memory_order_relaxed);  // the ANA read confirms
  table_->BumpEpoch();
}

void PathMonitor::ProbeMarginal(int i, int fd) {
  // A one-LBA read through the ioctl path: it must succeed quickly kProbeOkNeeded times in a row.
  const int64_t t0 = clock_->NowNs();
  const int r = access_->Probe(fd, cfg_.nsid, cfg_.lba_size, cfg_.metadata_size);
  const int64_t lat = clock_->NowNs() - t0;
  std::lock_guard<std::mutex> lock(mu_);
  Slot& s = slots_[i];
  PathState& ps = table_->path(i);
  if (r == 0 && lat < kProbeSlowNs) {
    if (++s.probe_ok >= kProbeOkNeeded) {
      ps.marginal.store(false, std::memory_order_relaxed);
      s.probe_ok = 0;
      table_->BumpEpoch();
      MPLOG_INFO("path {} ({}): probed healthy {} times, no longer marginal", i, s.desc.ng_path,
                 kProbeOkNeeded);
    }
  } else {
    s.probe_ok = 0;
    MPLOG_DEBUG("path {}: marginal probe res={} latency={}us", i, r, lat / 1000);
  }
}

void PathMonitor::RefreshPath(int i) {
  PathState& ps = table_->path(i);
  // Only this path's worker opens and closes its fd, so it can be read here without the lock.
  if (ps.health.load() == PathHealth::kGone || ps.fd.load() < 0) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ps.fd.load() >= 0) {
        MPLOG_WARN("path {} ({}): controller {} gone; closing it, will reopen when it returns", i,
                   slots_[i].desc.ng_path, CtrlLabel(slots_[i].desc));
        ClosePathFd(i);
        ps.reset_gen.fetch_add(1, std::memory_order_relaxed);
        table_->BumpEpoch();
      }
    }
    TryReopen(i);
  }

  PathDesc desc;
  PathObservation obs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    desc = slots_[i].desc;
    obs.endpoint_present = endpoint_present_[i];
  }
  const int fd = ps.fd.load();
  obs.fd_open = fd >= 0;
  obs.ana_supported = desc.ctrl.ana_supported();
  uint32_t grpid = 0;
  if (obs.fd_open) {
    // Controller state (sysfs), then the controller's ANA log through this path (an admin
    // command, which also proves the admin path works). No lock is held: either may block.
    obs.ctrl = access_->State(desc);
    if (obs.ctrl == CtrlState::kLive && obs.ana_supported) {
      absl::StatusOr<AnaLog> log = access_->ReadAna(fd, desc);
      if (!log.ok()) {
        MPLOG_DEBUG("path {}: ANA log read failed: {}", i, log.status().ToString());
        obs.ana_read = IsControllerGone(log.status()) ? PathObservation::Ana::kNoDevice
                                                      : PathObservation::Ana::kFailed;
      } else if (const AnaGroup* g = log->GroupOf(cfg_.nsid); g == nullptr) {
        MPLOG_WARN("path {}: nsid {} is in no ANA group of {}'s log; treating it as inaccessible",
                   i, cfg_.nsid, CtrlLabel(desc));
        obs.ana_read = PathObservation::Ana::kRead;
        obs.ana = AnaState::kInaccessible;
      } else {
        obs.ana_read = PathObservation::Ana::kRead;
        obs.ana = g->state;
        grpid = g->grpid;
      }
    } else if (obs.ctrl == CtrlState::kLive) {
      obs.ana_read = PathObservation::Ana::kRead;  // no ANA: optimized
    }
  }
  bool probe = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    obs.health = ps.health.load();
    const int64_t now = clock_->NowNs();
    const PathStep step = NextPathState(slots_[i].ctl, obs, now, desc.ctrl.anatt_s);
    if (grpid != 0) slots_[i].ana_grpid = grpid;
    ApplyStep(i, step, now);
    probe = step.next.health == PathHealth::kLive && ps.marginal.load() && ps.fd.load() >= 0;
  }
  if (probe) ProbeMarginal(i, fd);
  if (on_change_) on_change_();
}

void PathMonitor::ApplyStep(int i, const PathStep& step, int64_t now) {
  Slot& s = slots_[i];
  PathState& ps = table_->path(i);
  const PathControl& n = step.next;
  bool changed = false;
  if (n.ctrl != s.ctl.ctrl)
    MPLOG_INFO("path {} ({}): controller {} {} -> {}", i, s.desc.ng_path, CtrlLabel(s.desc),
               CtrlStateName(s.ctl.ctrl), CtrlStateName(n.ctrl));
  if (step.close_fd) {
    ClosePathFd(i);
    changed = true;
  }
  if (step.reset) ps.reset_gen.fetch_add(1, std::memory_order_relaxed);
  const bool was_usable = ps.Usable();
  const PathHealth h = ps.health.load();
  if (h != n.health) {
    ps.health.store(n.health);
    if (n.health == PathHealth::kLive) MPLOG_INFO("path {} ({}): healthy again", i, s.desc.ng_path);
    changed = true;
  }
  const AnaState a = ps.ana.load(std::memory_order_relaxed);
  if (a != n.ana) {
    ps.ana.store(n.ana, std::memory_order_relaxed);
    MPLOG_INFO("path {} ({}): ANA {} -> {}", i, s.desc.ng_path, AnaStateName(a),
               AnaStateName(n.ana));
    changed = true;
  }
  if (ps.outlook.load(std::memory_order_relaxed) != n.outlook) {
    ps.outlook.store(n.outlook, std::memory_order_relaxed);
    MPLOG_DEBUG("path {}: outlook {}", i, PathOutlookName(n.outlook));
    changed = true;
  }
  if (!was_usable && ps.Usable()) ps.usable_since_ns.store(now, std::memory_order_relaxed);
  if (step.anatt_exceeded_now)
    MPLOG_WARN("path {} ({}): in ANA change for longer than ANATT ({} s); the controller is live, "
               "so parked I/O keeps waiting for it (up to io_timeout)", i, s.desc.ng_path,
               s.desc.ctrl.anatt_s);
  if (step.lost_now)
    MPLOG_WARN("path {} ({}): controller {} deleted and nothing at {} for {} s: it is not "
               "coming back", i, s.desc.ng_path, CtrlLabel(s.desc), s.desc.key.address,
               kLostAfterNs / 1'000'000'000);
  s.ctl = n;
  if (changed) table_->BumpEpoch();
}

}  // namespace nvme_mpath::internal
