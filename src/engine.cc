// File: engine.cc
//
// Engine: the control plane of one multipath namespace. It discovers and opens the paths, keeps
// their shared state (PathTable) current from a background thread, and creates queues.
//
// The control thread (one per engine) wakes on: the poll interval, a queue reporting a path
// error (eventfd), and kernel uevents of nvme controllers (NETLINK_KOBJECT_UEVENT: "connected"
// after a reconnect, add/remove). It does no I/O itself: it asks the PathMonitor's per-path
// workers (path_monitor.h) for a refresh round and goes back to waiting, so a controller whose
// admin queue hangs delays neither the other paths nor the wake-ups. The workers are the
// control-plane writers of PathState (queues move `health` away from kLive, see path.h); the
// descriptors (ShmPath) published for nvme-mpath-ctl are written under `publish_mu_`.
#include <nvme_mpath/engine.h>

#include <fcntl.h>
#include <signal.h>
#include <linux/netlink.h>
#include <linux/nvme_ioctl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "ana.h"
#include "identify.h"
#include "iopoll.h"
#include "clock.h"
#include "log.h"
#include "path.h"
#include "path_decision.h"
#include "path_monitor.h"
#include "queue.h"
#include "stats_shm.h"
#include "status_macros.h"
#include "topology.h"
#include "uring_transport.h"

namespace nvme_mpath {

// A queue without a batch path of its own: one Submit() each, as QueueCore's does with its
// checks made once.
int Queue::SubmitBatch(Io* const* ios, uint32_t n) {
  uint32_t i = 0;
  int r = 0;
  while (i < n && (r = Submit(ios[i])) == 0) ++i;
  return i != 0 ? static_cast<int>(i) : r;
}

namespace internal {
namespace {

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
  absl::Status SetPathEnabled(std::string_view path, bool enabled) override;
  absl::Status Refresh() override;
  std::string stats_segment() const override { return stats_ ? stats_->name() : ""; }

  void ReleaseQueueSlot(int slot) { if (slot >= 0) stats_->ReleaseQueue(slot); }

 private:
  absl::StatusOr<NamespaceTopology> Discover() const;
  absl::Status OpenPath(int i, const PathDesc& d);
  absl::Status CheckIopollPaths(bool force) const;
  // Runs a refresh round on every path and waits for it, at most `timeout_ms`. Returns the
  // paths still refreshing when the wait ended (a controller that does not answer).
  std::vector<int> RefreshAndWait(int64_t timeout_ms);
  void Publish();
  // Returns the index of a path given as /dev/ngXnY, ngXnY or its controller's name, or -1.
  int ResolvePath(std::string_view path) const;
  // SetPathEnabled() on path `i`; `who` says who asked, in the log line.
  absl::Status SetPathDisabled(int i, bool disabled, std::string_view who);
  // Applies the path requests nvme-mpath-ctl left in the stats segment (control thread).
  void TakeAdminRequests();
  void Run();
  void Wake();

  EngineOptions opts_;
  NamespaceInfo info_;
  std::unique_ptr<PathTable> table_;
  std::unique_ptr<StatsRegion> stats_;
  std::unique_ptr<CtrlAccess> access_;
  std::unique_ptr<PathMonitor> monitor_;  // the per-path refresh workers
  std::vector<std::string> ng_paths_;     // as opened (immutable after Init; for ResolvePath)
  std::vector<std::string> ctrl_names_;
  mutable std::mutex mu_;          // SetPolicy, SetPathEnabled
  std::mutex publish_mu_;          // the stats descriptors (ShmPath), written by any worker
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
  int SubmitBatch(Io* const* ios, uint32_t n) override { return core_->SubmitBatch(ios, n); }
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
  if (monitor_) monitor_->Stop();  // a worker in an admin command finishes it first
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
  info_.extended_metadata_size = ns.extended_lba ? ns.metadata_size : 0;
  info_.pi_type = ns.pi_type();
  info_.pi_first = (ns.dps & 0x8) != 0;
  info_.fdp = topo.paths[0].ctrl.fdp_supported();  // every path agrees (PathMismatch)
  info_.nguid = ns.has_nguid() ? HexString(ns.nguid) : "";
  if (ns.has_uuid()) {
    std::string h = HexString(ns.uuid);
    info_.uuid = h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" +
                 h.substr(16, 4) + "-" + h.substr(20);
  }
  info_.noiob_lbas = ns.noiob;
  info_.head_mode = topo.paths[0].is_head();
  uint32_t max_xfer = 0;
  for (const PathDesc& p : topo.paths) {
    uint32_t m = p.MaxTransferBytes();
    if (m != 0 && (max_xfer == 0 || m < max_xfer)) max_xfer = m;
  }
  info_.max_transfer_bytes = max_xfer;
  uint32_t atomic_lbas = 0;
  for (const PathDesc& p : topo.paths) {
    uint32_t a = AtomicWriteLbas(p.ctrl, p.ns);
    if (atomic_lbas == 0 || a < atomic_lbas) atomic_lbas = a;
  }
  info_.atomic_write_bytes = uint64_t(atomic_lbas) * ns.lba_size;
  if (ns.extended_lba && ns.metadata_size != 0)
    MPLOG_WARN("namespace uses extended LBAs (metadata interleaved); buffers must hold {} bytes per LBA",
             ns.lba_size + ns.metadata_size);

  table_ = std::make_unique<PathTable>(static_cast<int>(topo.paths.size()));
  for (const PathDesc& p : topo.paths) {
    ng_paths_.push_back(p.ng_path);
    ctrl_names_.push_back(p.ctrl_name);
  }
  int idx = ResolvePath(opts_.preferred_path);
  if (!opts_.preferred_path.empty() && idx < 0)
    return absl::InvalidArgumentError(fmt::format(
        "preferred path {} is not a path of this namespace", opts_.preferred_path));
  table_->SetPolicy(opts_.policy, idx);

  for (size_t i = 0; i < topo.paths.size(); ++i) RETURN_IF_ERROR(OpenPath(int(i), topo.paths[i]));
  access_ = MakeSystemCtrlAccess();
  MonitorConfig mc;
  mc.nsid = info_.nsid;
  // The probe's 1-LBA read: an extended LBA carries its metadata in the data buffer.
  mc.lba_size = info_.lba_size + info_.extended_metadata_size;
  mc.metadata_size = info_.metadata_size;
  mc.write_hold_ms = opts_.write_hold_ms;
  mc.poll_interval_ns = int64_t{opts_.ana_poll_interval_ms} * 1'000'000;
  // Publishes every path's facts (NUMA node, CRDT, transfer limit, write hold).
  monitor_ = std::make_unique<PathMonitor>(table_.get(), topo.paths, access_.get(), clock_, mc);
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
    h->npaths = uint32_t(topo.paths.size());
    CopyStr(h->mode, sizeof(h->mode), info_.head_mode ? "head" : "per-path");
  }
  monitor_->set_on_change([this] { Publish(); });
  monitor_->Start();
  // The first ANA read of every path, in parallel; a controller that does not answer within
  // the admin timeout keeps its path unusable (ANA unknown) until its worker gets an answer.
  for (int i : RefreshAndWait(int64_t{kAdminTimeoutMs} + 2000))
    MPLOG_WARN("path {} ({}): no answer from controller {} yet; not used until it answers", i,
               ng_paths_[i], ctrl_names_[i]);
  Publish();

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
  const std::vector<PathReport> reports = monitor_->Reports();
  for (size_t i = 0; i < reports.size(); ++i) {
    const PathDesc& d = reports[i].desc;
    MPLOG_INFO("path {}: {} ({} {}) ANA {} {}", i, d.ng_path, d.ctrl_name, d.key.address,
               AnaStateName(table_->path(int(i)).ana.load()),
               table_->path(int(i)).Usable() ? "usable" : "not usable");
  }
  return absl::OkStatus();
}

absl::Status EngineImpl::OpenPath(int i, const PathDesc& d) {
  int fd = open(d.ng_path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    std::string hint;
    if (e == EACCES || e == EPERM)
      hint = " (I/O passthrough needs read-write access to the generic char device: run as root "
             "or grant the user access to it, see docs/operations.md)";
    return absl::ErrnoToStatus(e, fmt::format("open {}{}", d.ng_path, hint));
  }
  PathState& ps = table_->path(i);
  ps.fd.store(fd, std::memory_order_release);
  ps.fd_gen.fetch_add(1, std::memory_order_release);
  return absl::OkStatus();
}

std::vector<int> EngineImpl::RefreshAndWait(int64_t timeout_ms) {
  const uint64_t round = monitor_->RequestRefresh();
  if (monitor_->WaitRound(round, -1, timeout_ms)) return {};
  return monitor_->Pending(round);
}

void EngineImpl::Publish() {
  if (!stats_) return;  // a worker finished before Init made the segment
  const std::vector<PathReport> reports = monitor_->Reports();
  std::lock_guard<std::mutex> lock(publish_mu_);
  ShmHeader* h = stats_->header();
  stats_->BeginUpdate();
  for (size_t i = 0; i < reports.size(); ++i) {
    const PathReport& r = reports[i];
    const PathState& ps = table_->path(int(i));
    ShmPath& p = h->paths[i];
    CopyStr(p.ng_path, sizeof(p.ng_path), r.desc.ng_path);
    CopyStr(p.ctrl, sizeof(p.ctrl), r.desc.is_head() ? r.desc.head_subsys : r.desc.ctrl_name);
    CopyStr(p.address, sizeof(p.address), r.desc.key.address);
    p.ana = static_cast<uint8_t>(ps.ana.load());
    p.health = static_cast<uint8_t>(ps.health.load());
    p.marginal = ps.marginal.load();
    p.usable = ps.Usable();
    p.numa_node = r.desc.numa_node;
    p.ana_grpid = r.ana_grpid;
    p.disabled = ps.disabled.load();
  }
  // In head mode the kernel's iopolicy picks the path, as the fio engine's summary says.
  CopyStr(h->policy, sizeof(h->policy), info_.head_mode ? "kernel" : IoPolicyName(table_->policy()));
  stats_->EndUpdate();
}

void EngineImpl::Wake() {
  if (wake_fd_ < 0) return;
  uint64_t one = 1;
  ssize_t r = write(wake_fd_, &one, sizeof(one));
  (void)r;
}

// The control thread: waits for the next periodic round, a queue's wake-up (eventfd), a uevent
// or at most kAdminPollMs, then lets PollOnce() decide (the same step the simulator runs) and
// takes nvme-mpath-ctl's path requests. The cap is what makes `nvme-mpath-ctl path` answer
// within a fraction of a second whatever ana_poll_interval_ms is (0: never): the ctl cannot
// wake this thread, it can only write to the stats segment.
void EngineImpl::Run() {
  constexpr int64_t kAdminPollMs = 250;
  char buf[4096];
  while (!stop_.load()) {
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {uevent_fd_, POLLIN, 0}};
    const int64_t next_poll = monitor_->next_poll_ns();
    const int timeout_ms =
        next_poll == PathMonitor::kNever
            ? int(kAdminPollMs)
            : int(std::clamp<int64_t>((next_poll - clock_->NowNs()) / 1'000'000, 0, kAdminPollMs));
    int n = poll(fds, uevent_fd_ >= 0 ? 2 : 1, timeout_ms);
    if (stop_.load()) break;
    bool uevent = false;
    if (n > 0 && (fds[0].revents & POLLIN)) {
      uint64_t v;
      while (read(wake_fd_, &v, sizeof(v)) > 0) {
      }
      // PollOnce() takes the queues' attention and ANA-refresh flags.
    }
    if (n > 0 && uevent_fd_ >= 0 && (fds[1].revents & POLLIN)) {
      ssize_t len;
      while ((len = recv(uevent_fd_, buf, sizeof(buf) - 1, 0)) > 0) {
        buf[len] = 0;
        // "action@devpath\0KEY=VAL\0..." : anything about nvme controllers is worth a look.
        std::string_view msg(buf, size_t(len));
        if (msg.find("/nvme") != std::string_view::npos || msg.find("NVME_EVENT") != std::string_view::npos)
          uevent = true;
      }
    }
    monitor_->PollOnce(uevent);  // no waiting: the workers refresh in parallel
    TakeAdminRequests();
  }
}

void EngineImpl::TakeAdminRequests() {
  const int taken = ApplyAdminRequests(
      stats_->header(), table_->count(),
      [this](int i) { return table_->path(i).disabled.load(); },
      [this](int i, bool disable) {
        const absl::Status st = SetPathDisabled(i, disable, " (nvme-mpath-ctl)");
        if (!st.ok())
          MPLOG_WARN("nvme-mpath-ctl asked to {} path {} ({}): {}", disable ? "disable" : "enable",
                     i, ng_paths_[size_t(i)], st.message());
      });
  if (taken != 0) Publish();  // the ctl waits for the published state, applied or not
}

int EngineImpl::ResolvePath(std::string_view path) const {
  if (path.empty()) return -1;
  for (size_t i = 0; i < ng_paths_.size(); ++i) {
    if (ng_paths_[i] == path || ctrl_names_[i] == path ||
        ng_paths_[i] == fmt::format("/dev/{}", path))
      return int(i);
  }
  return -1;
}

absl::Status EngineImpl::SetPolicy(IoPolicy policy, std::string_view preferred) {
  std::lock_guard<std::mutex> lock(mu_);
  int idx = ResolvePath(preferred);
  if (!preferred.empty() && idx < 0)
    return absl::InvalidArgumentError(fmt::format("{} is not a path of this namespace", preferred));
  table_->SetPolicy(policy, idx);
  Publish();
  MPLOG_INFO("I/O policy now {}", IoPolicyName(policy));
  return absl::OkStatus();
}

absl::Status EngineImpl::SetPathEnabled(std::string_view path, bool enabled) {
  if (info_.head_mode)
    return absl::FailedPreconditionError(fmt::format(
        "head mode: {} is the kernel's multipath head, and the kernel picks the controller of "
        "each command, so the engine has no path of its own to disable (path maintenance needs "
        "per-path mode, nvme_core.multipath=N)", ng_paths_.empty() ? "" : ng_paths_[0]));
  if (path.empty()) return absl::InvalidArgumentError("no path given");
  const int idx = ResolvePath(path);
  if (idx < 0)
    return absl::InvalidArgumentError(fmt::format("{} is not a path of this namespace", path));
  return SetPathDisabled(idx, !enabled, "");
}

absl::Status EngineImpl::SetPathDisabled(int i, bool disabled, std::string_view who) {
  if (info_.head_mode)
    return absl::FailedPreconditionError(
        "head mode: the kernel's multipath head picks the controller of each command");
  std::lock_guard<std::mutex> lock(mu_);
  if (!table_->SetDisabled(i, disabled)) return absl::OkStatus();  // already so
  Publish();
  const size_t k = size_t(i);
  if (!disabled) {
    MPLOG_INFO("path {} ({} {}) enabled by the operator{}", i, ng_paths_[k], ctrl_names_[k], who);
    return absl::OkStatus();
  }
  bool other = false;  // another path that can take the I/O
  for (int j = 0; j < table_->count(); ++j)
    other |= j != i && table_->path(j).Usable() && !table_->path(j).disabled.load();
  MPLOG_INFO("path {} ({} {}) disabled by the operator{}: no new I/O while another path is "
             "usable{}", i, ng_paths_[k], ctrl_names_[k], who,
             other ? "" : "; none is now, so I/O still goes down it (the last resort)");
  return absl::OkStatus();
}

absl::Status EngineImpl::Refresh() {
  const std::vector<int> pending = RefreshAndWait(int64_t{kAdminTimeoutMs} + 2000);
  if (pending.empty()) return absl::OkStatus();
  return absl::UnavailableError(fmt::format(
      "path {} ({}) still refreshing: its controller has not answered within {} ms",
      pending[0], ng_paths_[pending[0]], kAdminTimeoutMs));
}

std::vector<PathInfo> EngineImpl::Paths() const {
  const std::vector<PathReport> reports = monitor_->Reports();
  std::vector<PathInfo> out;
  for (size_t i = 0; i < reports.size(); ++i) {
    const PathReport& s = reports[i];
    const PathState& ps = table_->path(int(i));
    PathInfo p;
    p.index = int(i);
    p.ng_path = s.desc.ng_path;
    p.ctrl = s.desc.is_head() ? s.desc.head_subsys : s.desc.ctrl_name;  // a head has no controller of its own
    p.key = s.desc.key;
    p.numa_node = s.desc.numa_node;
    p.ctrl_state = CtrlStateName(s.ctl.ctrl);
    p.ana_state = ps.ana.load();
    p.ana_grpid = s.ana_grpid;
    p.anatt_exceeded = s.ctl.anatt_exceeded;
    p.anatt_exceeded_count = s.ctl.anatt_exceeded_count;
    p.may_come_back = s.ctl.outlook == PathOutlook::kComingBack;
    p.health = ps.health.load();
    p.marginal = ps.marginal.load();
    p.usable = ps.Usable();
    p.disabled = ps.disabled.load();
    p.max_transfer_bytes = s.desc.MaxTransferBytes();
    p.anatt_s = s.desc.ctrl.anatt_s;
    p.kato_ms = s.desc.kato_ms;
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<PathStatsSnapshot> EngineImpl::Stats() const {
  std::vector<PathStatsSnapshot> out = stats_->Sum(table_->count());
  const std::vector<PathReport> reports = monitor_->Reports();
  for (size_t i = 0; i < out.size() && i < reports.size(); ++i)
    out[i].anatt_exceeded = reports[i].ctl.anatt_exceeded_count;
  return out;
}

// The facts CheckIopoll() (iopoll.h) decides on: the kernel release, each path's io_poll and
// transport.
namespace {
// The transport a path's polled commands travel over, as discovery read it: its controller's,
// or for a head (multipath=Y, no controller of its own) its members'. Of several, one known to
// crash under polling wins, so that the check sees it.
std::string PollTransport(const PathDesc& d) {
  if (!d.is_head()) return d.key.transport;
  std::string t;
  for (const HeadMember& m : ReadHeadMembers(d.head_block))
    if (t.empty() || IopollKnownToCrashOn(m.key.transport)) t = m.key.transport;
  return t;
}
}  // namespace

absl::Status EngineImpl::CheckIopollPaths(bool force) const {
  utsname u{};
  uname(&u);
  const std::vector<PathReport> reports = monitor_->Reports();
  std::vector<IopollPath> paths;
  for (size_t i = 0; i < ng_paths_.size(); ++i) {
    const std::string& ng = ng_paths_[i];
    IopollPath p{ng, IoPollAttribute(ng), "", i < reports.size() ? PollTransport(reports[i].desc) : ""};
    if (FILE* f = fopen(p.sysfs.c_str(), "re")) {
      char line[16] = {};
      if (fgets(line, sizeof(line), f) != nullptr) p.io_poll = std::string(line, strcspn(line, "\n"));
      fclose(f);
    }
    paths.push_back(std::move(p));
  }
  absl::Status s = CheckIopoll(u.release, paths, force);
  if (s.ok() && force) {
    if (IopollKnownToCrash(u.release))
      MPLOG_WARN("iopoll forced on kernel {}, where polled passthrough is known to crash", u.release);
    for (const IopollPath& p : paths)
      if (IopollKnownToCrashOn(p.transport))
        MPLOG_WARN("iopoll forced on path {} (nvme-{}), where polled passthrough is known to crash", p.ng, p.transport);
  }
  return s;
}

absl::StatusOr<std::unique_ptr<Queue>> EngineImpl::CreateQueue(const QueueOptions& qo) {
  RETURN_IF_ERROR(ValidateQueueOptions(qo));
  UringOptions uo;
  uint32_t entries = 1;
  while (entries < qo.depth) entries <<= 1;
  uo.entries = entries;
  uo.sqpoll = qo.sqpoll;
  uo.sqpoll_idle_ms = qo.sqpoll_idle_ms;
  uo.sqpoll_cpu = qo.sqpoll_cpu;
  uo.defer_taskrun = qo.defer_taskrun;
  if (qo.iopoll) {
    RETURN_IF_ERROR(CheckIopollPaths(qo.iopoll_force));
    uo.iopoll = true;
  }
  if (qo.fixed_buffers) {
    for (const auto& [p, n] : qo.buffers) uo.buffers.push_back(iovec{p, n});
  }
  ASSIGN_OR_RETURN(std::unique_ptr<UringTransport> transport, UringTransport::Create(uo));

  QueueConfig cfg;
  cfg.nsid = info_.nsid;
  cfg.nsze = info_.nsze;
  cfg.lba_size = info_.lba_size;
  cfg.metadata_size = info_.metadata_size;
  cfg.extended_metadata_size = info_.extended_metadata_size;
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
  cfg.head = info_.head_mode;

  int slot = -1;
  PathCounters* counters = stats_->AcquireQueue(&slot);
  if (counters == nullptr)
    MPLOG_WARN("more than {} queues: the new queue's counters are not published", kShmMaxQueues);
  auto core = std::make_unique<QueueCore>(cfg, table_.get(), std::move(transport), clock_, counters);
  return std::unique_ptr<Queue>(new EngineQueue(this, slot, std::move(core)));
}

}  // namespace
}  // namespace internal

namespace {

// NVMe/TCP may send a command from the submitting thread's own io_uring_enter (nvme-tcp sends
// inline when it can), and on 6.12 that send has no MSG_NOSIGNAL: a path whose socket breaks
// at that moment raises SIGPIPE in the application, whose default action kills it (seen in the
// lab: the storm's workload died with exit 141 the instant port 1 went down). A process that
// kept the default disposition gets SIGPIPE ignored, once, with one log line; one that chose a
// handler or SIG_IGN is left alone. Checked at every Open (one syscall, control plane).
void IgnoreDefaultSigpipe() {
  struct sigaction sa {};
  if (sigaction(SIGPIPE, nullptr, &sa) != 0 || sa.sa_handler != SIG_DFL) return;
  sa = {};
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGPIPE, &sa, nullptr) == 0)
    MPLOG_INFO("SIGPIPE was at its default (terminate); now ignored: NVMe/TCP can raise it in a "
               "thread that submits I/O when a path's connection breaks");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  RETURN_IF_ERROR(ValidateEngineOptions(options));
  IgnoreDefaultSigpipe();
  auto e = std::make_unique<internal::EngineImpl>(options);
  RETURN_IF_ERROR(e->Init());
  return std::unique_ptr<Engine>(std::move(e));
}

}  // namespace nvme_mpath
