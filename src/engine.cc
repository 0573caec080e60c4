// File: engine.cc
//
// Engine: the control plane of one multipath namespace. It discovers and opens the paths, keeps
// their shared state (PathTable) current from a background thread, and creates queues.
//
// The control thread (one per engine) wakes on: the poll interval (ANA log + controller state
// of every path), a queue reporting a path error (eventfd), and kernel uevents of nvme
// controllers (NETLINK_KOBJECT_UEVENT: "connected" after a reconnect, add/remove). It is the
// only writer of everything in PathState except `health` moving away from kLive, which queues
// do themselves (see path.h), and of the descriptors (ShmPath) published for nvme-mpath-ctl.
#include <nvme_mpath/engine.h>

#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/nvme_ioctl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "ana.h"
#include "clock.h"
#include "log.h"
#include "path.h"
#include "queue.h"
#include "stats_shm.h"
#include "status_macros.h"
#include "topology.h"
#include "uring_transport.h"
#include "write_hold.h"

namespace nvme_mpath {
namespace internal {
namespace {

constexpr int kProbeOkNeeded = 3;       // good probes before a marginal path is trusted again
constexpr int64_t kProbeSlowNs = 500'000'000;

void CopyStr(char* dst, size_t n, const std::string& s) {
  size_t k = std::min(n - 1, s.size());
  memcpy(dst, s.data(), k);
  dst[k] = 0;
}

int CurrentNumaNode() {
  unsigned cpu = 0, node = 0;
  if (getcpu(&cpu, &node) != 0) return -1;
  return static_cast<int>(node);
}

// Returns true when controller `name` in sysfs still is the controller of `key` (the kernel
// reuses names after a deletion).
bool CtrlIsSameEndpoint(const std::string& name, const PathKey& key) {
  std::ifstream a("/sys/class/nvme/" + name + "/address"), n("/sys/class/nvme/" + name + "/subsysnqn");
  std::string address, nqn;
  if (!std::getline(a, address) || !std::getline(n, nqn)) return false;
  PathKey other{nqn, key.transport, address, 0};
  return other.SameEndpoint(key);
}

// Control-plane view of one path (guarded by EngineImpl::mu_).
struct PathSlot {
  PathDesc desc;
  std::string ctrl_state = "live";
  uint32_t ana_grpid = 0;
  AnaState ana_raw = AnaState::kUnknown;  // as last read (before ANATT)
  int64_t change_since_ns = 0;
  bool was_live = true;
  int probe_ok = 0;
  bool kato_floor_warned = false;  // "fabrics path with KATO 0" logged (once per path)
};

class EngineImpl final : public Engine {
 public:
  explicit EngineImpl(const EngineOptions& o) : opts_(o) {}
  ~EngineImpl() override;

  absl::Status Init();

  const NamespaceInfo& info() const override { return info_; }
  const EngineOptions& options() const override { return opts_; }
  absl::StatusOr<std::unique_ptr<Queue>> CreateQueue(const QueueOptions& options) override;
  std::vector<PathInfo> Paths() const override;
  std::vector<PathStatsSnapshot> Stats() const override;
  absl::Status SetPolicy(IoPolicy policy, std::string_view preferred_path) override;
  absl::Status Refresh() override;
  std::string stats_segment() const override { return stats_ ? stats_->name() : ""; }

  void ReleaseQueueSlot(int slot) { if (slot >= 0) stats_->ReleaseQueue(slot); }

 private:
  absl::StatusOr<NamespaceTopology> Discover() const;
  absl::Status OpenPath(int i);
  void RefreshAll(bool full);
  void RefreshPath(int i, int64_t now);
  void TryReopen(int i, int64_t now);
  void ClosePathFd(int i);
  void ProbeMarginal(int i, int64_t now);
  void SetAna(int i, AnaState s, int64_t now);
  void SetWriteHold(int i, const PathDesc& d);
  void Publish();
  int ResolvePreferred(std::string_view preferred) const;
  void Run();
  void Wake();

  EngineOptions opts_;
  NamespaceInfo info_;
  std::unique_ptr<PathTable> table_;
  std::unique_ptr<StatsRegion> stats_;
  mutable std::mutex mu_;
  std::vector<PathSlot> slots_;  // guarded by mu_
  std::thread thread_;
  std::atomic<bool> stop_{false};
  int wake_fd_ = -1;
  int uevent_fd_ = -1;
  const Clock* clock_ = MonotonicClock::Get();
};

// A Queue that returns its stats slot when destroyed.
class EngineQueue final : public Queue {
 public:
  EngineQueue(EngineImpl* engine, int slot, std::unique_ptr<QueueCore> core)
      : engine_(engine), slot_(slot), core_(std::move(core)) {}
  ~EngineQueue() override {
    core_.reset();
    engine_->ReleaseQueueSlot(slot_);
  }
  int Submit(Io* io) override { return core_->Submit(io); }
  int Flush() override { return core_->Flush(); }
  int Poll(uint32_t min_complete, int64_t timeout_us) override {
    return core_->Poll(min_complete, timeout_us);
  }
  uint32_t inflight() const override { return core_->inflight(); }
  int event_fd() const override { return core_->event_fd(); }

 private:
  EngineImpl* engine_;
  int slot_;
  std::unique_ptr<QueueCore> core_;
};

EngineImpl::~EngineImpl() {
  stop_.store(true);
  Wake();
  if (thread_.joinable()) thread_.join();
  for (int i = 0; table_ && i < table_->count(); ++i) {
    int fd = table_->path(i).fd.exchange(-1);
    if (fd >= 0) close(fd);
  }
  if (wake_fd_ >= 0) close(wake_fd_);
  if (uevent_fd_ >= 0) close(uevent_fd_);
}

absl::StatusOr<NamespaceTopology> EngineImpl::Discover() const {
  if (!opts_.paths.empty()) {
    if (opts_.paths.size() > 1 || opts_.explicit_paths_only) return ValidatePaths(opts_.paths);
    return DiscoverFromDevice(opts_.paths[0]);
  }
  return DiscoverByNqn(opts_.subsysnqn, opts_.nsid);
}

absl::Status EngineImpl::Init() {
  ASSIGN_OR_RETURN(NamespaceTopology topo, Discover());
  if (topo.paths.empty()) return absl::NotFoundError("no usable path to the namespace");
  if (topo.paths.size() > size_t(kMaxPaths)) {
    MPLOG_WARN("namespace {} nsid {} has {} paths; using the first {}", topo.subsysnqn, topo.nsid,
             topo.paths.size(), kMaxPaths);
    topo.paths.resize(kMaxPaths);
  }
  const NamespaceIdentity& ns = topo.paths[0].ns;
  info_.subsysnqn = topo.subsysnqn;
  info_.nsid = topo.nsid;
  info_.nsze = ns.nsze;
  info_.lba_size = ns.lba_size;
  info_.metadata_size = ns.extended_lba ? 0 : ns.metadata_size;
  info_.nguid = ns.has_nguid() ? HexString(ns.nguid) : "";
  if (ns.has_uuid()) {
    std::string h = HexString(ns.uuid);
    info_.uuid = h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" +
                 h.substr(16, 4) + "-" + h.substr(20);
  }
  info_.noiob_lbas = ns.noiob;
  uint32_t max_xfer = 0;
  for (const PathDesc& p : topo.paths) {
    uint32_t m = p.MaxTransferBytes();
    if (m != 0 && (max_xfer == 0 || m < max_xfer)) max_xfer = m;
  }
  info_.max_transfer_bytes = max_xfer;
  if (ns.extended_lba && ns.metadata_size != 0)
    MPLOG_WARN("namespace uses extended LBAs (metadata interleaved); buffers must hold {} bytes per LBA",
             ns.lba_size + ns.metadata_size);

  table_ = std::make_unique<PathTable>(static_cast<int>(topo.paths.size()));
  slots_.resize(topo.paths.size());
  for (size_t i = 0; i < topo.paths.size(); ++i) {
    slots_[i].desc = topo.paths[i];
    PathState& ps = table_->path(int(i));
    ps.numa_node = topo.paths[i].numa_node;
    ps.crdt = topo.paths[i].ctrl.crdt;
    SetWriteHold(int(i), topo.paths[i]);
  }
  int idx = ResolvePreferred(opts_.preferred_path);
  if (!opts_.preferred_path.empty() && idx < 0)
    return absl::InvalidArgumentError(fmt::format(
        "preferred path {} is not a path of this namespace", opts_.preferred_path));
  table_->SetPolicy(opts_.policy, idx);

  for (size_t i = 0; i < slots_.size(); ++i) RETURN_IF_ERROR(OpenPath(int(i)));
  stats_ = StatsRegion::Create(opts_.publish_stats);
  if (!stats_) return absl::ResourceExhaustedError("cannot map memory for the stats counters");
  {
    ShmHeader* h = stats_->header();
    std::string name = opts_.name;
    if (name.empty()) {
      std::ifstream comm("/proc/self/comm");
      std::getline(comm, name);
    }
    CopyStr(h->name, sizeof(h->name), name);
    CopyStr(h->subsysnqn, sizeof(h->subsysnqn), info_.subsysnqn);
    h->nsid = info_.nsid;
    h->lba_size = info_.lba_size;
    h->nsze = info_.nsze;
    h->npaths = uint32_t(slots_.size());
  }
  RefreshAll(true);

  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return absl::ErrnoToStatus(errno, "eventfd");
  table_->set_wake([this] { Wake(); });
  uevent_fd_ = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
  if (uevent_fd_ >= 0) {
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = 1;
    if (bind(uevent_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
      MPLOG_DEBUG("no kernel uevents ({}); reconnects are found by polling", strerror(errno));
      close(uevent_fd_);
      uevent_fd_ = -1;
    }
  }
  thread_ = std::thread([this] { Run(); });
  for (size_t i = 0; i < slots_.size(); ++i) {
    const PathSlot& s = slots_[i];
    MPLOG_INFO("path {}: {} ({} {}) ANA {} {}", i, s.desc.ng_path, s.desc.ctrl_name,
             s.desc.key.address, AnaStateName(table_->path(int(i)).ana.load()),
             table_->path(int(i)).Usable() ? "usable" : "not usable");
  }
  return absl::OkStatus();
}

absl::Status EngineImpl::OpenPath(int i) {
  PathSlot& s = slots_[i];
  int fd = open(s.desc.ng_path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    std::string hint;
    if (e == EACCES || e == EPERM)
      hint = " (I/O passthrough needs read-write access to the generic char device: run as root "
             "or grant the user access to it, see docs/operations.md)";
    return absl::ErrnoToStatus(e, fmt::format("open {}{}", s.desc.ng_path, hint));
  }
  PathState& ps = table_->path(i);
  ps.fd.store(fd, std::memory_order_release);
  ps.fd_gen.fetch_add(1, std::memory_order_release);
  return absl::OkStatus();
}

void EngineImpl::ClosePathFd(int i) {
  PathState& ps = table_->path(i);
  int fd = ps.fd.exchange(-1, std::memory_order_acq_rel);
  ps.fd_gen.fetch_add(1, std::memory_order_release);
  // Queues hold their own reference in their ring's file table until they see the new gen.
  if (fd >= 0) close(fd);
}

void EngineImpl::SetAna(int i, AnaState s, int64_t now) {
  PathState& ps = table_->path(i);
  AnaState old = ps.ana.load(std::memory_order_relaxed);
  if (old == s) return;
  bool was_usable = ps.Usable();
  ps.ana.store(s, std::memory_order_relaxed);
  if (!was_usable && ps.Usable()) ps.usable_since_ns.store(now, std::memory_order_relaxed);
  MPLOG_INFO("path {} ({}): ANA {} -> {}", i, slots_[i].desc.ng_path, AnaStateName(old), AnaStateName(s));
  table_->BumpEpoch();
}

// Publishes the write hold of path `i`'s association `d` (its KATO and Identify Controller's
// TBKAS and CQT, see write_hold.h). Called when the path is added and on every reopen, before
// the epoch bump that makes queues look again.
void EngineImpl::SetWriteHold(int i, const PathDesc& d) {
  const WriteHoldFacts f{d.kato_ms, d.ctrl.cqt_ms, d.ctrl.tbkas(), IsFabricsTransport(d.key.transport)};
  const int64_t hold_ns = WriteHoldNs(f);
  PathSlot& s = slots_[i];
  if (UsesKatoFloor(f) && !s.kato_floor_warned && opts_.write_hold_ms < 0) {
    s.kato_floor_warned = true;
    MPLOG_WARN("path {} ({}): fabrics controller {} reports KATO 0 (keep-alive off or not shown in "
               "sysfs): holding writes that may still execute for {} ms (3 x the kernel's default "
               "KATO {} s + CQT {} ms); set write_hold_ms, or connect with --keep-alive-tmo",
               i, d.ng_path, d.ctrl_name, hold_ns / 1'000'000, kFabricsKatoFloorMs / 1000, f.cqt_ms);
  }
  PathState& ps = table_->path(i);
  const int64_t old = ps.write_hold_ns.exchange(hold_ns, std::memory_order_relaxed);
  if (old != hold_ns)
    MPLOG_DEBUG("path {}: write hold {} ms (KATO {} ms, TBKAS {}, CQT {} ms, {})", i,
                hold_ns / 1'000'000, f.kato_ms, f.tbkas ? "yes" : "no", f.cqt_ms,
                f.fabrics ? "fabrics" : "pcie");
}

void EngineImpl::TryReopen(int i, int64_t now) {
  PathSlot& s = slots_[i];
  absl::StatusOr<PathDesc> found = FindPath(s.desc.key, info_.nsid);
  if (!found.ok()) {
    MPLOG_DEBUG("path {}: controller for {} not back yet: {}", i, s.desc.key.address,
              found.status().ToString());
    return;
  }
  const NamespaceIdentity& want = slots_[0].desc.ns;
  if (found->ns.GroupingId() != want.GroupingId() || !found->ns.SameFormat(want)) {
    MPLOG_WARN("path {}: {} reappeared with another namespace ({}); not used", i, found->ng_path,
             found->ns.GroupingId());
    return;
  }
  int fd = open(found->ng_path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    MPLOG_WARN("path {}: cannot reopen {}: {}", i, found->ng_path, strerror(errno));
    return;
  }
  PathState& ps = table_->path(i);
  int old = ps.fd.exchange(fd, std::memory_order_acq_rel);
  if (old >= 0) close(old);
  ps.fd_gen.fetch_add(1, std::memory_order_release);
  ps.reset_gen.fetch_add(1, std::memory_order_relaxed);
  MPLOG_INFO("path {}: reopened as {} ({}, cntlid {})", i, found->ng_path, found->ctrl_name,
           found->key.cntlid);
  s.desc = *found;
  s.ctrl_state = found->ctrl_state;
  s.was_live = true;
  SetWriteHold(i, *found);  // a new association: its own KATO, TBKAS and CQT
  ps.health.store(PathHealth::kFailed, std::memory_order_relaxed);  // ANA read below confirms
  (void)now;
  table_->BumpEpoch();
}

void EngineImpl::ProbeMarginal(int i, int64_t now) {
  // A one-LBA read through the ioctl path: it must succeed quickly kProbeOkNeeded times in a row.
  PathState& ps = table_->path(i);
  int fd = ps.fd.load();
  if (fd < 0) return;
  std::vector<uint8_t> buf(info_.lba_size + info_.metadata_size);
  nvme_passthru_cmd64 cmd{};
  cmd.opcode = 0x02;
  cmd.nsid = info_.nsid;
  cmd.addr = reinterpret_cast<uintptr_t>(buf.data());
  cmd.data_len = info_.lba_size;
  cmd.timeout_ms = 2000;
  int64_t t0 = clock_->NowNs();
  int r = ioctl(fd, NVME_IOCTL_IO64_CMD, &cmd);
  int64_t lat = clock_->NowNs() - t0;
  PathSlot& s = slots_[i];
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
    MPLOG_DEBUG("path {}: marginal probe res={} latency={}us", i, r < 0 ? -errno : r, lat / 1000);
  }
  (void)now;
}

void EngineImpl::RefreshPath(int i, int64_t now) {
  PathSlot& s = slots_[i];
  PathState& ps = table_->path(i);

  if (ps.health.load() == PathHealth::kGone || ps.fd.load() < 0) {
    if (ps.fd.load() >= 0) {
      MPLOG_WARN("path {} ({}): controller {} gone; closing it, will reopen when it returns", i,
               s.desc.ng_path, s.desc.ctrl_name);
      ClosePathFd(i);
      ps.reset_gen.fetch_add(1, std::memory_order_relaxed);
      table_->BumpEpoch();
    }
    TryReopen(i, now);
    if (ps.fd.load() < 0) return;
  }

  // Controller state, checking that the name still is our controller.
  std::string state = CtrlIsSameEndpoint(s.desc.ctrl_name, s.desc.key)
                          ? ReadCtrlState(s.desc.ctrl_name) : std::string("gone");
  if (state != s.ctrl_state) {
    MPLOG_INFO("path {} ({}): controller {} {} -> {}", i, s.desc.ng_path, s.desc.ctrl_name,
             s.ctrl_state, state);
    s.ctrl_state = state;
  }
  if (state == "gone" || state.rfind("deleting", 0) == 0 || state == "dead") {
    PathHealth h = ps.health.exchange(PathHealth::kGone);
    if (h != PathHealth::kGone) table_->BumpEpoch();
    ClosePathFd(i);
    ps.reset_gen.fetch_add(1, std::memory_order_relaxed);
    s.was_live = false;
    return;
  }
  if (state != "live") {
    if (s.was_live) ps.reset_gen.fetch_add(1, std::memory_order_relaxed);
    s.was_live = false;
    PathHealth expected = PathHealth::kLive;
    if (ps.health.compare_exchange_strong(expected, PathHealth::kFailed)) table_->BumpEpoch();
    return;
  }
  if (!s.was_live) ps.reset_gen.fetch_add(1, std::memory_order_relaxed);
  s.was_live = true;

  // ANA: the controller's log through this path (also proves the admin path works).
  AnaState st = AnaState::kOptimized;
  if (s.desc.ctrl.ana_supported()) {
    absl::StatusOr<AnaLog> log = ReadAnaLog(ps.fd.load(), s.desc.ctrl.max_transfer_bytes,
                                            s.desc.ctrl.anagrpmax, s.desc.ctrl.nanagrpid);
    if (!log.ok()) {
      MPLOG_DEBUG("path {}: ANA log read failed: {}", i, log.status().ToString());
      if (absl::IsNotFound(log.status()) || log.status().message().find("No such device") != std::string::npos) {
        ps.health.store(PathHealth::kGone);
      } else {
        PathHealth expected = PathHealth::kLive;
        ps.health.compare_exchange_strong(expected, PathHealth::kFailed);
      }
      table_->BumpEpoch();
      return;
    }
    const AnaGroup* g = log->GroupOf(info_.nsid);
    if (g == nullptr) {
      MPLOG_WARN("path {}: nsid {} is in no ANA group of {}'s log; treating it as inaccessible", i,
               info_.nsid, s.desc.ctrl_name);
      st = AnaState::kInaccessible;
    } else {
      st = g->state;
      s.ana_grpid = g->grpid;
    }
  }
  s.ana_raw = st;
  st = EffectiveAnaState(st, now, s.desc.ctrl.anatt_s, &s.change_since_ns);
  if (st == AnaState::kInaccessible && s.ana_raw == AnaState::kChange &&
      ps.ana.load() != AnaState::kInaccessible)
    MPLOG_WARN("path {}: in ANA change for longer than ANATT ({} s): treated as inaccessible", i,
               s.desc.ctrl.anatt_s);
  SetAna(i, st, now);

  PathHealth h = ps.health.load();
  if (h != PathHealth::kLive) {
    bool was_usable = ps.Usable();
    ps.health.store(PathHealth::kLive);
    if (!was_usable && ps.Usable()) ps.usable_since_ns.store(now, std::memory_order_relaxed);
    MPLOG_INFO("path {} ({}): healthy again", i, s.desc.ng_path);
    table_->BumpEpoch();
  }
  if (ps.marginal.load()) ProbeMarginal(i, now);
}

void EngineImpl::RefreshAll(bool) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_->NowNs();
  for (int i = 0; i < table_->count(); ++i) RefreshPath(i, now);
  Publish();
}

void EngineImpl::Publish() {
  ShmHeader* h = stats_->header();
  stats_->BeginUpdate();
  for (size_t i = 0; i < slots_.size(); ++i) {
    const PathSlot& s = slots_[i];
    const PathState& ps = table_->path(int(i));
    ShmPath& p = h->paths[i];
    CopyStr(p.ng_path, sizeof(p.ng_path), s.desc.ng_path);
    CopyStr(p.ctrl, sizeof(p.ctrl), s.desc.ctrl_name);
    CopyStr(p.address, sizeof(p.address), s.desc.key.address);
    p.ana = static_cast<uint8_t>(ps.ana.load());
    p.health = static_cast<uint8_t>(ps.health.load());
    p.marginal = ps.marginal.load();
    p.usable = ps.Usable();
    p.numa_node = s.desc.numa_node;
    p.ana_grpid = s.ana_grpid;
  }
  CopyStr(h->policy, sizeof(h->policy), IoPolicyName(table_->policy()));
  stats_->EndUpdate();
}

void EngineImpl::Wake() {
  if (wake_fd_ < 0) return;
  uint64_t one = 1;
  ssize_t r = write(wake_fd_, &one, sizeof(one));
  (void)r;
}

void EngineImpl::Run() {
  const int64_t interval_ns = int64_t{opts_.ana_poll_interval_ms} * 1'000'000;
  int64_t next_poll = clock_->NowNs() + interval_ns;
  char buf[4096];
  while (!stop_.load()) {
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {uevent_fd_, POLLIN, 0}};
    int64_t now = clock_->NowNs();
    int timeout_ms = interval_ns == 0 ? 1000 : int(std::max<int64_t>(0, (next_poll - now) / 1'000'000));
    int n = poll(fds, uevent_fd_ >= 0 ? 2 : 1, timeout_ms);
    if (stop_.load()) break;
    bool refresh = false;
    if (n > 0 && (fds[0].revents & POLLIN)) {
      uint64_t v;
      while (read(wake_fd_, &v, sizeof(v)) > 0) {
      }
      refresh = table_->TakeAttention() | table_->TakeAnaRefresh();
    }
    if (n > 0 && uevent_fd_ >= 0 && (fds[1].revents & POLLIN)) {
      ssize_t len;
      while ((len = recv(uevent_fd_, buf, sizeof(buf) - 1, 0)) > 0) {
        buf[len] = 0;
        // "action@devpath\0KEY=VAL\0..." : anything about nvme controllers is worth a look.
        std::string_view msg(buf, size_t(len));
        if (msg.find("/nvme") != std::string_view::npos || msg.find("NVME_EVENT") != std::string_view::npos)
          refresh = true;
      }
    }
    now = clock_->NowNs();
    if (interval_ns != 0 && now >= next_poll) {
      refresh = true;
      next_poll = now + interval_ns;
    }
    if (refresh) RefreshAll(false);
  }
}

int EngineImpl::ResolvePreferred(std::string_view preferred) const {
  if (preferred.empty()) return -1;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const PathDesc& d = slots_[i].desc;
    if (d.ng_path == preferred || d.ctrl_name == preferred ||
        d.ng_path == fmt::format("/dev/{}", preferred))
      return int(i);
  }
  return -1;
}

absl::Status EngineImpl::SetPolicy(IoPolicy policy, std::string_view preferred) {
  std::lock_guard<std::mutex> lock(mu_);
  int idx = ResolvePreferred(preferred);
  if (!preferred.empty() && idx < 0)
    return absl::InvalidArgumentError(fmt::format("{} is not a path of this namespace", preferred));
  table_->SetPolicy(policy, idx);
  Publish();
  MPLOG_INFO("I/O policy now {}", IoPolicyName(policy));
  return absl::OkStatus();
}

absl::Status EngineImpl::Refresh() {
  RefreshAll(true);
  return absl::OkStatus();
}

std::vector<PathInfo> EngineImpl::Paths() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PathInfo> out;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const PathSlot& s = slots_[i];
    const PathState& ps = table_->path(int(i));
    PathInfo p;
    p.index = int(i);
    p.ng_path = s.desc.ng_path;
    p.ctrl = s.desc.ctrl_name;
    p.key = s.desc.key;
    p.numa_node = s.desc.numa_node;
    p.ctrl_state = s.ctrl_state;
    p.ana_state = ps.ana.load();
    p.ana_grpid = s.ana_grpid;
    p.health = ps.health.load();
    p.marginal = ps.marginal.load();
    p.usable = ps.Usable();
    p.max_transfer_bytes = s.desc.MaxTransferBytes();
    p.anatt_s = s.desc.ctrl.anatt_s;
    p.kato_ms = s.desc.kato_ms;
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<PathStatsSnapshot> EngineImpl::Stats() const { return stats_->Sum(table_->count()); }

absl::StatusOr<std::unique_ptr<Queue>> EngineImpl::CreateQueue(const QueueOptions& qo) {
  RETURN_IF_ERROR(ValidateQueueOptions(qo));
  UringOptions uo;
  uint32_t entries = 1;
  while (entries < qo.depth) entries <<= 1;
  uo.entries = entries;
  uo.sqpoll = qo.sqpoll;
  uo.sqpoll_idle_ms = qo.sqpoll_idle_ms;
  uo.defer_taskrun = qo.defer_taskrun;
  if (qo.fixed_buffers) {
    for (const auto& [p, n] : qo.buffers) uo.buffers.push_back(iovec{p, n});
  }
  ASSIGN_OR_RETURN(std::unique_ptr<UringTransport> transport, UringTransport::Create(uo));

  QueueConfig cfg;
  cfg.nsid = info_.nsid;
  cfg.nsze = info_.nsze;
  cfg.lba_size = info_.lba_size;
  cfg.metadata_size = info_.metadata_size;
  cfg.max_transfer_bytes = info_.max_transfer_bytes;
  cfg.noiob_lbas = info_.noiob_lbas;
  cfg.depth = qo.depth;
  cfg.rr_min_io = opts_.rr_min_io;
  cfg.no_path_timeout_ns = int64_t{opts_.no_path_timeout_ms} * 1'000'000;
  cfg.io_timeout_ns = int64_t{opts_.io_timeout_ms} * 1'000'000;
  cfg.cmd_timeout_ms = opts_.cmd_timeout_ms;
  cfg.max_retries = opts_.max_retries;
  cfg.write_hold_ns = opts_.write_hold_ms < 0 ? -1 : int64_t{opts_.write_hold_ms} * 1'000'000;
  cfg.write_hold_release_on_reset = opts_.write_hold_release_on_reset;
  cfg.failback_delay_ns = int64_t{opts_.failback_delay_ms} * 1'000'000;
  cfg.marginal_errors = opts_.marginal_errors;
  cfg.marginal_window_ns = int64_t{opts_.marginal_window_ms} * 1'000'000;
  cfg.numa_node = CurrentNumaNode();
  cfg.fixed_buffers = qo.fixed_buffers;

  int slot = -1;
  PathCounters* counters = stats_->AcquireQueue(&slot);
  if (counters == nullptr)
    MPLOG_WARN("more than {} queues: the new queue's counters are not published", kShmMaxQueues);
  auto core = std::make_unique<QueueCore>(cfg, table_.get(), std::move(transport), clock_, counters);
  return std::unique_ptr<Queue>(new EngineQueue(this, slot, std::move(core)));
}

}  // namespace
}  // namespace internal

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  RETURN_IF_ERROR(ValidateEngineOptions(options));
  auto e = std::make_unique<internal::EngineImpl>(options);
  RETURN_IF_ERROR(e->Init());
  return std::unique_ptr<Engine>(std::move(e));
}

}  // namespace nvme_mpath
