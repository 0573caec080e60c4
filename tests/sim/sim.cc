// File: sim.cc
//
// Deterministic simulation of the engine under path faults (TigerBeetle's testing/storage.zig
// style). Both halves of the engine are the real code, on one FakeClock and one thread:
//   * the data plane: QueueCore, the policies and the disposition table, over a FakeTransport;
//   * the control plane: PathMonitor in its inline mode (no worker threads), with
//     NextPathState(), driven by PathMonitor::PollOnce() exactly as the engine's control thread
//     drives it (poll interval, a queue's path error or ANA status), over SimCtrlAccess: the
//     CtrlAccess seam backed by the simulator's model of the target.
// The target is one subsystem with 2..4 ports. Each port has at most one controller at a time,
// which goes through the kernel's controller states (connecting, live, resetting, deleting,
// then gone from sysfs; a new controller, with a new name and char device, may connect at the
// port later, now and then exposing another namespace at our NSID), and an ANA log with two
// groups (the namespace is in one; the other flips too). ANA reads fail now and then, and a
// controller may be deleted in the middle of one (-ENODEV); the namespace may drop out of the
// log for a while; a port may turn flaky (many errors: the queue marks it marginal, the
// monitor's probe reads trust it again). Commands fail at random; cancelled writes may still
// land later ("ghost writes"); the kernel now and then refuses a submission (-EAGAIN, -EBUSY,
// -ENOMEM) or takes only part of it, drawn from a second generator so that the rest of a
// seed's schedule stays what it was. A fault never breaks the last fully good port, except in
// one seed in five: a total outage (every controller deleted, every port inaccessible, or every
// port in ANA change) somewhere in the middle, where the no-path rule decides.
//
//   nvme_mpath_sim [--seeds N] [--first-seed S] [--seed S] [--ios N] [--write-hold-ms MS]
//                  [--inject-bug NAME] [-v]
//
// Each seed draws the target's keep-alive facts (TBKAS, CQT; KATO 2 s): a ghost write lands
// anywhere up to the modelled teardown, (TBKAS ? 3 : 2) x KATO + CQT after the failing
// completion, and the engine holds for its own rule (write_hold.h). --write-hold-ms forces the
// engine's write_hold option instead: a hold shorter than the teardown (say 2000, the old
// 1 x KATO) must make seeds fail with a stale read or final media. Each seed also draws the I/O
// policy (active-passive with a preferred path among them), the I/O deadline (io_timeout:
// always on; the engine's 120 s, or for a quarter of the seeds 6..20 s, short enough to fire),
// the application's think time (the run spans 2..30 s of target time, or I/O back to back) and
// the no-path timeout (30 s; 4..10 s with an outage).
//
// Invariants checked for every seed:
//   1. every I/O completes exactly once, with no error except the documented ones: -ETIMEDOUT
//      or -ENOLINK at or after its I/O deadline; in an outage, -ENOLINK after the no-path
//      timeout, or once every controller is lost (deleted 2 s with nothing back); a write
//      that failed so has an unknown outcome. And the errors do come: no I/O outlives its
//      deadline, parked I/O fails at once when every controller is lost and at the no-path
//      timeout when every port is inaccessible;
//   2. no command is sent down a path that the engine's shared state says is unusable;
//   3. no completion is lost: at the end nothing is in flight, parked or delayed;
//   4. nothing is still parked once a path has been usable for two control-plane periods;
//   5. every read returns the last acknowledged write (or a failed write, until it can no
//      longer land), and the final media matches, despite ghost writes and a write hold;
//   6. control-plane truth, after every refresh round: a path the engine calls usable has a
//      live controller, the port's current one, exposing our namespace, whose ANA log puts the
//      namespace in an optimized or non-optimized group, and the engine's ANA state is the
//      log's; a path usable in truth for 3 rounds in a row through one controller (its ANA
//      reads good) is usable in the engine;
//   7. no command reaches a controller that exposes another namespace, and no fd the control
//      plane did not open; the control plane closes only open fds, and at the end the open fds
//      are exactly the path table's;
//   8. active-passive: a command goes down the preferred path whenever the path table shows it
//      usable in the best tier (a retry on the same path after a CRD status excepted).
// A failing seed is printed with its replay line; `--seed S -v` replays it with the engine's
// log (info) and the simulator's events on stderr.
//
// --inject-bug resetting-is-live makes the control plane believe that a resetting controller
// is live (the fake sysfs says "live" and its admin queue answers): the monitor then marks a
// path usable while its controller resets, and invariant 6 must catch it. It proves that the
// simulator can see a control-plane bug; a run with it is expected to fail.
#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"

#include <nvme_mpath/status.h>

#include "address.h"
#include "ana.h"
#include "ctrl_state.h"
#include "disposition.h"
#include "log.h"
#include "path.h"
#include "path_monitor.h"
#include "policy.h"
#include "queue.h"
#include "support/fake_clock.h"
#include "support/fake_transport.h"
#include "tag.h"
#include "topology.h"
#include "write_hold.h"

namespace nvme_mpath::sim {
namespace {

using internal::AnaGroup;
using internal::AnaLog;
using internal::CtrlAccess;
using internal::CtrlDeleted;
using internal::CtrlState;
using internal::CtrlStateName;
using internal::MayStillExecute;
using internal::MonitorConfig;
using internal::PathDesc;
using internal::PathMonitor;
using internal::PathState;
using internal::PathTable;
using internal::QueueConfig;
using internal::QueueCore;
using internal::WriteHoldFacts;
using testing::FakeClock;
using testing::FakeTransport;

constexpr uint32_t kLba = 512;
constexpr uint32_t kNumLbas = 64;
constexpr uint32_t kNsid = 1;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kKatoMs = 2000;
constexpr int64_t kPollPeriodMs = 1000;
constexpr uint8_t kAnattS = 10;
constexpr const char* kNqn = "nqn.2014-08.org.nvmexpress:sim";
// Internal error with CRD 1: the disposition table retries it on the same path after crdt[0].
constexpr int kRetrySamePathStatus = 0x0806;

enum class Bug { kNone, kResettingIsLive };

// A total outage, at most one per seed: every port at once, so the no-path rule decides.
enum class Outage {
  kNone,
  kAllDeleted,       // every controller deleted, none back for a while: lost after 2 s
  kAllInaccessible,  // every port's ANA inaccessible: the no-path timeout
  kAllChange,        // every port in ANA change on a live controller: coming back
};

struct Options {
  uint64_t seed = 1;
  int ios = 3000;
  bool verbose = false;
  int64_t write_hold_ms = -1;  // -1: the engine's rule
  Bug bug = Bug::kNone;
};

// One controller (one association): from its connect until it is deleted. Never reused: a
// reconnect after a deletion is a new controller, with a new name and char device.
struct SimCtrl {
  int port = 0;
  int num = 0;                 // nvme<num>, /dev/ng<num>n1
  uint16_t cntlid = 0;
  CtrlState state = CtrlState::kConnecting;  // kGone: deleted, no longer in sysfs
  bool other_ns = false;       // exposes another namespace at our NSID (the endpoint was reused)
  bool lose = false;           // connecting: ctrl_loss_tmo runs out, it is deleted
  uint32_t resets = 0;         // target side: bumped when it is reset, disconnected or deleted
  int64_t next_at = 0;         // when `state` moves to `next` (0: it stays)
  CtrlState next = CtrlState::kLive;
};

// One target port: its current controller and the ANA state it reports per group.
struct SimPort {
  int ctrl = -1;               // index into ctrls_, -1: none in sysfs
  AnaState ana[3] = {AnaState::kOptimized, AnaState::kOptimized, AnaState::kOptimized};
  AnaState base = AnaState::kOptimized;  // what a fault heals back to
  int numa_node = 0;
  bool unlisted = false;       // the namespace is in no group of this port's ANA log
  int64_t ana_heal_at = 0;
  bool ana_long = false;       // a long ANA change (8..14 s: ANATT is 10 s) until ana_heal_at
  int64_t unlisted_until = 0;
  int64_t flaky_until = 0;     // many command errors until then (a marginal path)
  int64_t reconnect_at = 0;    // a new controller connects then (no controller now)
};

struct Ghost {  // a cancelled write the target may still execute
  int ctrl;
  uint32_t reset_gen;
  int64_t at;
  uint64_t slba;
  uint32_t nlb;
  std::vector<uint8_t> data;
};

struct InFlight {
  FakeTransport::Sent sent;
  int64_t due;
};

struct AppIo {
  Io io;
  std::vector<uint8_t> buf;
  uint64_t version = 0;
  int64_t submit_ns = 0;
  int64_t ready_ns = 0;  // the application's next I/O in this slot starts then (think time)
  int completions = 0;
  bool active = false;
};

class Sim;

// The CtrlAccess the monitor sees: the simulator's sysfs, admin queue, char devices.
class SimCtrlAccess final : public CtrlAccess {
 public:
  explicit SimCtrlAccess(Sim* sim) : sim_(sim) {}
  CtrlState State(const PathDesc& d) override;
  absl::StatusOr<AnaLog> ReadAna(int fd, const PathDesc& d) override;
  absl::StatusOr<PathDesc> Find(const PathKey& key, uint32_t nsid) override;
  int Open(const std::string& ng_path) override;
  void Close(int fd) override;
  int Probe(int fd, uint32_t nsid, uint32_t lba_size, uint32_t metadata_size) override;

 private:
  Sim* sim_;
};

class Sim {
 public:
  explicit Sim(const Options& o)
      : o_(o), rng_(o.seed), submit_rng_(o.seed ^ 0x5ab317u), access_(this) {}
  ~Sim() {  // completes what is left while the I/Os still exist
    closing_ = true;
    queue_.reset();
    monitor_.reset();
  }

  // Returns an empty string on success, else what went wrong.
  std::string Run() {
    std::uniform_int_distribution<int> np(2, 4);
    npaths_ = np(rng_);
    p_error_ = Uniform(0, 0.01);
    p_fault_ = Uniform(1, 20) / 10000;  // 1..20 faults per second of target time
    p_ghost_ = Uniform(0, 1);
    p_ana_fail_ = Uniform(0, 0.05);
    qd_ = std::uniform_int_distribution<int>(1, 24)(rng_);
    release_on_reset_ = Chance(0.5);
    // The target's keep-alive facts (nvmet sets TBKAS; CQT as a controller may report it).
    hold_facts_ = WriteHoldFacts{.kato_ms = uint32_t(kKatoMs), .cqt_ms = 0, .tbkas = Chance(0.5),
                                 .fabrics = true};
    if (Chance(0.5)) hold_facts_.cqt_ms = uint16_t(Uniform(0, 1000));
    teardown_ms_ = (hold_facts_.tbkas ? 3 : 2) * kKatoMs + hold_facts_.cqt_ms;
    ns_grpid_ = Chance(0.5) ? 1 : 2;
    io_timeout_ms_ = Chance(0.25) ? int64_t(Uniform(6000, 20000)) : 120'000;
    // The application thinks between I/Os so that a run spans 2..30 s of target time (time
    // for reconnects, ANATT, lost controllers, probes), or runs them back to back.
    if (Chance(0.75))
      think_ns_ = int64_t(Uniform(2, 30) * 1e9 * qd_ / std::max(o_.ios, 1));
    // One seed in five has a total outage somewhere in the middle, with a no-path timeout
    // short enough to pass within it.
    if (Chance(0.2)) {
      outage_ = Outage(std::uniform_int_distribution<int>(1, 3)(rng_));
      outage_after_ = int(Uniform(0.2, 0.8) * o_.ios);
      no_path_timeout_ms_ = int64_t(Uniform(4000, 10000));
    }
    static constexpr IoPolicy kPolicies[] = {IoPolicy::kNuma, IoPolicy::kRoundRobin,
                                             IoPolicy::kQueueDepth, IoPolicy::kActivePassive,
                                             IoPolicy::kLatency};
    policy_ = kPolicies[std::uniform_int_distribution<int>(0, 4)(rng_)];
    preferred_ = policy_ == IoPolicy::kActivePassive
                     ? std::uniform_int_distribution<int>(-1, npaths_ - 1)(rng_)
                     : -1;
    p_submit_refused_ = std::uniform_real_distribution<double>(0, 0.3)(submit_rng_);

    // The target: one live controller per port.
    ports_.resize(npaths_);
    for (int i = 0; i < npaths_; ++i) {
      SimPort& p = ports_[i];
      p.base = i == 0 ? AnaState::kOptimized : AnaState::kNonOptimized;
      p.ana[1] = p.ana[2] = p.base;
      p.numa_node = int(std::uniform_int_distribution<int>(0, 1)(rng_));
      p.ctrl = NewCtrl(i, CtrlState::kLive);
    }

    // What Engine::Open does: the policy, every path's fd, the monitor (which publishes the
    // facts of every association), a first refresh round; then queues.
    table_ = std::make_unique<PathTable>(npaths_);
    table_->SetPolicy(policy_, preferred_);
    std::vector<PathDesc> descs;
    for (int i = 0; i < npaths_; ++i) {
      descs.push_back(DescOf(ports_[i].ctrl));
      PathState& ps = table_->path(i);
      ps.fd = access_.Open(descs.back().ng_path);
      ps.fd_gen.fetch_add(1);
    }
    MonitorConfig mc;
    mc.nsid = kNsid;
    mc.lba_size = kLba;
    mc.write_hold_ms = int32_t(o_.write_hold_ms);
    mc.poll_interval_ns = kPollPeriodMs * kMs;
    monitor_ = std::make_unique<PathMonitor>(table_.get(), std::move(descs), &access_, &clock_, mc);
    monitor_->RequestRefresh();  // inline: every path refreshed before it returns
    if (std::string e = CheckControlPlane(); !e.empty()) return e;

    QueueConfig cfg;
    cfg.nsid = kNsid;
    cfg.nsze = kNumLbas;
    cfg.lba_size = kLba;
    cfg.depth = 64;
    cfg.max_transfer_bytes = 2 * kLba;  // force splits (the paths report the same limit)
    cfg.no_path_timeout_ns = no_path_timeout_ms_ * kMs;
    cfg.io_timeout_ns = io_timeout_ms_ * kMs;
    cfg.max_retries = 5;
    cfg.write_hold_release_on_reset = release_on_reset_;
    cfg.write_hold_ns = o_.write_hold_ms < 0 ? -1 : o_.write_hold_ms * kMs;
    cfg.numa_node = 0;
    auto t = std::make_unique<FakeTransport>();
    transport_ = t.get();
    transport_->on_prep = [this](int path, uint64_t tag) { CheckDispatch(path, tag); };
    queue_ = std::make_unique<QueueCore>(cfg, table_.get(), std::move(t), &clock_, nullptr);
    media_.assign(size_t{kNumLbas} * kLba, 0);
    acked_.assign(kNumLbas, 0);
    maybe_.assign(kNumLbas, {});
    busy_.assign(kNumLbas, false);
    ios_.resize(qd_);

    int submitted = 0;
    int64_t steps = 0;
    while (completed_ < o_.ios) {
      if (++steps > 4'000'000) return "no progress (hang): " + State();
      // 0.1 ms per step while the target has commands; 1 ms while it is idle (the queue's own
      // timers are 1 ms and longer: they fire at most one step late).
      const int64_t dt = inflight_.empty() && transport_->prepared() == 0 ? kMs : kMs / 10;
      clock_.Advance(dt);
      const int64_t now = clock_.NowNs();
      if (outage_ != Outage::kNone && outage_start_ == 0 && submitted >= outage_after_)
        StartOutage(now);
      if (submitted < o_.ios && !InOutage(now)) MaybeFault(now, double(dt) / (kMs / 10));
      AdvanceTarget(now);
      if (!error_.empty()) return error_;
      // The control plane: the engine's control-thread step (poll interval, or woken by a
      // queue's path error / ANA status), refreshing every path inline.
      if (monitor_->PollOnce(false) != 0) {
        ++rounds_;
        if (std::string e = CheckControlPlane(); !e.empty()) return e;
      }
      if (!error_.empty()) return error_;
      // Application keeps qd_ I/Os outstanding.
      for (auto& a : ios_) {
        if (!a.active && submitted < o_.ios && now >= a.ready_ns) {
          const int r = StartIo(a);
          if (r < 0) break;
          submitted += r;
        }
      }
      if (!error_.empty()) return error_;
      DataPlaneStep(now);
      if (!error_.empty()) return error_;
      // Invariant 4: a path usable for a full poll period means nothing should be parked.
      if (queue_->parked() != 0 && AnyUsableSince(now - 2 * kPollPeriodMs * kMs))
        return "I/O still parked although a path is usable: " + State();
      if (std::string e = CheckTimeBounds(now); !e.empty()) return e;
    }
    // Drain: no more faults; the target heals on its schedule, held writes go, nothing remains.
    for (int i = 0; i < 200000 && (queue_->inflight() != 0 || !inflight_.empty()); ++i) {
      clock_.Advance(kMs);
      const int64_t now = clock_.NowNs();
      AdvanceTarget(now);
      if (monitor_->PollOnce(false) != 0) {
        ++rounds_;
        if (std::string e = CheckControlPlane(); !e.empty()) return e;
      }
      DataPlaneStep(now);
      if (!error_.empty()) return error_;
      if (std::string e = CheckTimeBounds(now); !e.empty()) return e;
    }
    if (queue_->inflight() != 0 || queue_->parked() != 0 || queue_->delayed() != 0)
      return "lost I/O at the end: " + State();
    for (auto& a : ios_)
      if (a.active) return "an application I/O never completed";
    // Invariant 7: every fd the control plane opened is closed or still in the table.
    std::set<int> in_table;
    for (int i = 0; i < npaths_; ++i)
      if (const int fd = table_->path(i).fd.load(); fd >= 0) in_table.insert(fd);
    if (in_table != open_fds_)
      return Fmt("%zu fds open, %zu in the path table: the control plane leaked an fd",
                 open_fds_.size(), in_table.size());
    // Final media check (after every ghost had its chance).
    clock_.Advance(10 * kKatoMs * kMs);
    RunGhosts(clock_.NowNs());
    for (uint32_t l = 0; l < kNumLbas; ++l) {
      const uint64_t v = MediaVersion(l);
      if (v != acked_[l] && maybe_[l].count(v) == 0)
        return Fmt("final media lba %u has version %" PRIu64 ", last acknowledged %" PRIu64, l, v,
                   acked_[l]);
    }
    return "";
  }

  std::string Summary() const {
    static const char* const kPolicyNames[] = {"numa", "round-robin", "queue-depth",
                                               "active-passive", "latency"};
    static const char* const kOutageNames[] = {"none", "all-deleted", "all-inaccessible",
                                               "all-change"};
    return Fmt("t=%.1fs paths=%d qd=%d think=%.1fms policy=%s preferred=%d io_timeout=%" PRId64 "ms p_err=%.4f "
               "p_fault=%.4f p_ghost=%.2f p_ana_fail=%.3f release_on_reset=%d tbkas=%d cqt=%ums "
               "teardown=%" PRId64 "ms no_path_timeout=%" PRId64 "ms outage=%s faults=%d rounds=%d "
               "reopens=%d probes=%d ghosts=%d/%d failovers=%d deadline_errors=%d "
               "no_path_errors=%d submits_refused=%d",
               double(clock_.NowNs()) / 1e9, npaths_, qd_, double(think_ns_) / 1e6, kPolicyNames[int(policy_) % 5], preferred_, io_timeout_ms_, p_error_,
               p_fault_, p_ghost_, p_ana_fail_, int(release_on_reset_), int(hold_facts_.tbkas),
               unsigned(hold_facts_.cqt_ms), teardown_ms_, no_path_timeout_ms_,
               kOutageNames[int(outage_)], faults_, rounds_, opens_ - npaths_, probes_,
               ghosts_run_, ghosts_made_, failovers_, deadline_errors_, no_path_errors_,
               submits_refused_);
  }

 private:
  friend class SimCtrlAccess;

  template <typename... A>
  static std::string Fmt(const char* f, A... a) {
    char b[1024];
    snprintf(b, sizeof(b), f, a...);
    return b;
  }
  double Uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }
  bool Chance(double p) { return Uniform(0, 1) < p; }
  int64_t UniformMs(double lo, double hi) { return int64_t(Uniform(lo, hi)) * kMs; }

  // Prints a simulator event on stderr (with -v), where the engine's own log goes too.
  __attribute__((format(printf, 2, 3))) void Event(const char* f, ...) {
    if (!o_.verbose) return;
    char b[512];
    va_list ap;
    va_start(ap, f);
    vsnprintf(b, sizeof(b), f, ap);
    va_end(ap);
    fprintf(stderr, "sim t=%.4fs: %s\n", double(clock_.NowNs()) / 1e9, b);
  }

  // ---- the target ------------------------------------------------------------------------

  static std::string Address(int port) {
    return "traddr=10.0.0." + std::to_string(port + 1) + ",trsvcid=4420";
  }
  int PortOfAddress(const std::string& a) const {
    for (int i = 0; i < npaths_; ++i)
      if (internal::SameTransportAddress(a, Address(i))) return i;
    return -1;
  }

  int NewCtrl(int port, CtrlState state) {
    SimCtrl c;
    c.port = port;
    c.num = int(ctrls_.size());
    c.cntlid = uint16_t(ctrls_.size() + 1);
    c.state = state;
    ctrls_.push_back(c);
    by_name_["nvme" + std::to_string(c.num)] = c.num;
    return c.num;
  }

  // What Identify and sysfs say about controller `ci` (FindPath()).
  PathDesc DescOf(int ci) const {
    const SimCtrl& c = ctrls_[ci];
    PathDesc d;
    d.ng_path = "/dev/ng" + std::to_string(c.num) + "n1";
    d.ctrl_name = "nvme" + std::to_string(c.num);
    d.ctrl_dev = "/dev/" + d.ctrl_name;
    d.key = PathKey{kNqn, "tcp", Address(c.port), c.cntlid};
    d.ctrl_state = c.state;
    d.numa_node = ports_[c.port].numa_node;
    d.kato_ms = uint32_t(kKatoMs);
    d.nsid = kNsid;
    d.ctrl.cntlid = c.cntlid;
    d.ctrl.cmic = 0x8;  // ANA reporting
    d.ctrl.anatt_s = kAnattS;
    d.ctrl.anagrpmax = 2;
    d.ctrl.nanagrpid = 2;
    d.ctrl.crdt = {1, 2, 3};
    d.ctrl.max_transfer_bytes = 2 * kLba;
    d.ctrl.ctratt = hold_facts_.tbkas ? internal::ControllerIdentity::kCtrattTbkas : 0;
    d.ctrl.cqt_ms = hold_facts_.cqt_ms;
    d.ns.nsid = kNsid;
    d.ns.nsze = kNumLbas;
    d.ns.lba_size = kLba;
    d.ns.anagrpid = uint32_t(ns_grpid_);
    d.ns.nguid[0] = c.other_ns ? 0x43 : 0x42;
    return d;
  }

  int CtrlOfFd(int fd) const {
    auto it = fd_ctrl_.find(fd);
    return it == fd_ctrl_.end() ? -1 : it->second;
  }

  // Returns true when I/O to our namespace works through port `i` now.
  bool PortUsable(int i) const {
    const SimPort& p = ports_[i];
    if (p.ctrl < 0) return false;
    const SimCtrl& c = ctrls_[p.ctrl];
    return c.state == CtrlState::kLive && !c.other_ns && !p.unlisted && AnaUsable(p.ana[ns_grpid_]);
  }
  // Usable, with nothing scheduled to break it and no flakiness: a fault never breaks the last.
  bool PortGood(int i, int64_t now) const {
    return PortUsable(i) && ctrls_[ports_[i].ctrl].next_at == 0 && ports_[i].flaky_until <= now;
  }
  int GoodPorts(int64_t now) const {
    int good = 0;
    for (int k = 0; k < npaths_; ++k) good += PortGood(k, now) ? 1 : 0;
    return good;
  }

  // Moves controller `ci` to `s`, with what the target does then: a reset, a lost connection
  // or a deletion cancels its commands (a cancelled write may still land) and ends the
  // association (ghosts die then, in release-on-reset mode); a deleted controller leaves sysfs
  // and the port waits for a reconnect.
  void SetCtrl(int ci, CtrlState s, int64_t now) {
    SimCtrl& c = ctrls_[ci];
    const CtrlState old = c.state;
    c.state = s;
    c.next_at = 0;
    Event("port %d: nvme%d %s -> %s", c.port, c.num, CtrlStateName(old), CtrlStateName(s));
    if (old == CtrlState::kLive && s != CtrlState::kLive) {
      // Cancelled first: in release-on-reset mode the target drops them at this reset.
      CancelInflight(ci, now);
      ++c.resets;
    }
    switch (s) {
      case CtrlState::kResetting:
        Schedule(ci, CtrlState::kConnecting, now + UniformMs(50, 500));
        break;
      case CtrlState::kConnecting:
        if (c.lose) Schedule(ci, CtrlState::kDeleting, now + UniformMs(1000, 3000));
        else Schedule(ci, CtrlState::kLive, now + UniformMs(100, 2000));
        break;
      case CtrlState::kDeleting:
        if (old != CtrlState::kLive) ++c.resets;
        Schedule(ci, CtrlState::kGone, now + UniformMs(0, 300));
        break;
      case CtrlState::kGone:
        ports_[c.port].ctrl = -1;
        ports_[c.port].reconnect_at = now + UniformMs(500, 4000);
        if (outage_ == Outage::kAllDeleted && InOutage(now)) ports_[c.port].reconnect_at = outage_end_;
        break;
      case CtrlState::kLive:
        c.lose = false;
        if (c.other_ns) Schedule(ci, CtrlState::kDeleting, now + UniformMs(1000, 3000));
        break;
      default:
        break;
    }
  }
  void Schedule(int ci, CtrlState next, int64_t at) {
    ctrls_[ci].next = next;
    ctrls_[ci].next_at = at;
  }

  bool InOutage(int64_t now) const { return outage_start_ != 0 && now < outage_end_; }

  // Every port at once (faults stop meanwhile; the target heals at the end).
  void StartOutage(int64_t now) {
    int64_t d = 0;
    switch (outage_) {
      case Outage::kAllDeleted: d = UniformMs(500, 6000); break;
      case Outage::kAllInaccessible: d = UniformMs(1000, 2.5 * double(no_path_timeout_ms_)); break;
      case Outage::kAllChange: d = UniformMs(1000, 15000); break;
      case Outage::kNone: return;
    }
    outage_start_ = now;
    outage_end_ = now + d;
    static const char* const kNames[] = {"", "every controller deleted", "every port inaccessible",
                                         "every port in ANA change"};
    Event("outage for %.3fs: %s", double(d) / 1e9, kNames[int(outage_)]);
    for (int i = 0; i < npaths_; ++i) {
      SimPort& p = ports_[i];
      if (outage_ == Outage::kAllDeleted) {
        if (p.ctrl >= 0 && !CtrlDeleted(ctrls_[p.ctrl].state)) SetCtrl(p.ctrl, CtrlState::kDeleting, now);
        if (p.ctrl < 0) p.reconnect_at = outage_end_;  // all back at the end, none before
      } else {
        SetAna(i, outage_ == Outage::kAllInaccessible ? AnaState::kInaccessible : AnaState::kChange);
        p.ana_heal_at = outage_end_;
        p.ana_long = true;
      }
    }
  }

  // Returns true when the outage explains a -ENOLINK before the I/O deadline: the I/O was
  // outstanding during the outage or before a port was good again (plus 3 s: the engine sees
  // it at a round, a reconnected controller after two; the I/O itself may complete later, when
  // its last command has), and it failed after the no-path timeout or, with every controller
  // deleted, once they could be lost (kLostAfterNs).
  bool OutageExplains(int64_t now, int64_t submit_ns) const {
    const int64_t age = now - submit_ns;
    if (outage_start_ == 0 || now < outage_start_) return false;
    if (outage_over_at_ != 0 && submit_ns > outage_over_at_ + 3 * kPollPeriodMs * kMs) return false;
    return age >= no_path_timeout_ms_ * kMs - kMs ||
           (outage_ == Outage::kAllDeleted && now >= outage_start_ + internal::kLostAfterNs);
  }

  // Invariant 1 (the errors do come): no I/O outlives its deadline; with every controller
  // lost, parked I/O fails at once; with every port inaccessible, at the no-path timeout.
  std::string CheckTimeBounds(int64_t now) {
    for (const AppIo& a : ios_) {
      if (!a.active) continue;
      const int64_t age = now - a.submit_ns;
      if (age > io_timeout_ms_ * kMs + 2 * kMs)
        return Fmt("an I/O is outstanding %.3fs after its submission, past its deadline (%" PRId64
                   " ms): %s", double(age) / 1e9, io_timeout_ms_, State().c_str());
      // An I/O submitted once the engine has seen the outage (a round, 1 s) parks at once; one
      // from before parks when it does (or when a write hold from before ends), and every
      // parked one fails at the no-path timeout (slack: CRD retries, the 1 s round).
      const int64_t fail_by = a.submit_ns >= outage_start_ + 1500 * kMs
                                  ? a.submit_ns + (no_path_timeout_ms_ + 1500) * kMs
                                  : outage_start_ + (teardown_ms_ + no_path_timeout_ms_ + 3000) * kMs;
      if (outage_ == Outage::kAllInaccessible && InOutage(now) && now > fail_by)
        return Fmt("an I/O is outstanding %.3fs after its submission, every port inaccessible "
                   "for %.3fs, no-path timeout %" PRId64 " ms: %s", double(age) / 1e9,
                   double(now - outage_start_) / 1e9, no_path_timeout_ms_, State().c_str());
    }
    // Every controller deleted and gone (at most 300 ms), seen by a round (1 s), lost 2 s
    // later, seen by the next round: parked I/O must not stay parked across steps.
    const bool lost = outage_ == Outage::kAllDeleted && InOutage(now) &&
                      now >= outage_start_ + internal::kLostAfterNs + 2300 * kMs;
    parked_while_lost_ = lost && queue_->parked() != 0 ? parked_while_lost_ + 1 : 0;
    if (parked_while_lost_ >= 3)
      return "I/O stays parked although every controller is lost: " + State();
    return "";
  }

  // A fault with probability p_fault_ per 0.1 ms (`steps` of them now).
  void MaybeFault(int64_t now, double steps) {
    if (!Chance(p_fault_ * steps)) return;
    const int i = std::uniform_int_distribution<int>(0, npaths_ - 1)(rng_);
    // Keep at least one path healthy or healing: never break the last fully good one, and
    // after an outage none until one is good again.
    const int good = GoodPorts(now);
    if (good == 0 || (good <= 1 && PortGood(i, now))) return;
    ++faults_;
    SimPort& p = ports_[i];
    const int ci = p.ctrl;
    const bool live = ci >= 0 && ctrls_[ci].state == CtrlState::kLive && ctrls_[ci].next_at == 0;
    const bool ana_free = p.ana_heal_at == 0 || !p.ana_long;  // a long change runs its course
    switch (std::uniform_int_distribution<int>(0, 9)(rng_)) {
      case 0: if (ana_free) SetAna(i, AnaState::kInaccessible); break;
      case 1: if (ana_free) SetAna(i, AnaState::kChange); break;
      case 2: if (ana_free) SetAna(i, AnaState::kNonOptimized); break;
      case 3: if (ana_free) SetAna(i, AnaState::kOptimized); break;
      case 4: {  // the other group: no effect on our namespace
        static constexpr AnaState kAny[] = {AnaState::kOptimized, AnaState::kNonOptimized,
                                            AnaState::kInaccessible, AnaState::kChange};
        p.ana[3 - ns_grpid_] = kAny[std::uniform_int_distribution<int>(0, 3)(rng_)];
        break;
      }
      case 5:  // controller reset
        if (live) SetCtrl(ci, CtrlState::kResetting, now);
        break;
      case 6:  // connection lost: reconnecting; now and then ctrl_loss_tmo deletes it
        if (live) {
          ctrls_[ci].lose = Chance(0.2);
          SetCtrl(ci, CtrlState::kConnecting, now);
        }
        break;
      case 7:  // deleted (nvme disconnect, ctrl_loss_tmo); a new controller connects later
        if (ci >= 0 && !CtrlDeleted(ctrls_[ci].state)) SetCtrl(ci, CtrlState::kDeleting, now);
        break;
      case 8:  // the namespace drops out of this port's ANA log for a while
        p.unlisted = true;
        p.unlisted_until = now + UniformMs(200, 3000);
        Event("port %d: namespace in no ANA group", i);
        break;
      case 9:  // flaky: many command errors (the queue marks the path marginal)
        p.flaky_until = now + UniformMs(1000, 6000);
        Event("port %d: flaky", i);
        break;
    }
  }

  void SetAna(int i, AnaState s) {
    SimPort& p = ports_[i];
    const int64_t now = clock_.NowNs();
    p.ana[ns_grpid_] = s;
    Event("port %d: ANA group %d %s", i, ns_grpid_, AnaStateName(s));
    // Heal later, so every path keeps coming back; now and then a change outlasts ANATT (and
    // no other ANA fault cuts it short).
    p.ana_long = s == AnaState::kChange && Chance(0.3);
    p.ana_heal_at = 0;
    if (!AnaUsable(s)) p.ana_heal_at = now + (p.ana_long ? UniformMs(8000, 14000) : UniformMs(200, 5000));
  }

  // The target's own schedule: controller state machines, reconnects, ANA and other heals.
  void AdvanceTarget(int64_t now) {
    for (size_t ci = 0; ci < ctrls_.size(); ++ci) {
      if (ctrls_[ci].next_at != 0 && now >= ctrls_[ci].next_at)
        SetCtrl(int(ci), ctrls_[ci].next, now);
    }
    for (int i = 0; i < npaths_; ++i) {
      SimPort& p = ports_[i];
      if (p.ctrl < 0 && p.reconnect_at != 0 && now >= p.reconnect_at) {
        p.reconnect_at = 0;
        p.ctrl = NewCtrl(i, CtrlState::kConnecting);
        ctrls_[p.ctrl].other_ns = Chance(0.1);
        Event("port %d: nvme%d connecting%s", i, ctrls_[p.ctrl].num,
              ctrls_[p.ctrl].other_ns ? " (another namespace at our NSID)" : "");
        Schedule(p.ctrl, CtrlState::kLive, now + UniformMs(100, 1000));
      }
      if (p.ana_heal_at != 0 && now >= p.ana_heal_at) {
        p.ana_heal_at = 0;
        p.ana_long = false;
        if (!AnaUsable(p.ana[ns_grpid_])) SetAna(i, p.base);
      }
      if (p.unlisted && now >= p.unlisted_until) p.unlisted = false;
      if (outage_start_ != 0 && outage_over_at_ == 0 && now >= outage_end_ && PortGood(i, now))
        outage_over_at_ = now;  // recovered: a port is good again
      // Invariant 6 counts the rounds a port stays usable through one controller: any step
      // where it is not (between two rounds, too) starts the count again.
      if (!PortUsable(i) || p.ctrl != streak_ctrl_[i]) {
        truth_rounds_[i] = 0;
        streak_ctrl_[i] = p.ctrl;
      }
    }
  }

  // ---- the control plane's view of the target (SimCtrlAccess) ----------------------------

  CtrlState SimState(const PathDesc& d) {
    auto it = by_name_.find(d.ctrl_name);
    if (it == by_name_.end()) return CtrlState::kGone;
    const SimCtrl& c = ctrls_[it->second];
    if (PortOfAddress(d.key.address) != c.port) return CtrlState::kGone;  // name reused
    if (o_.bug == Bug::kResettingIsLive && c.state == CtrlState::kResetting) return CtrlState::kLive;
    return c.state;
  }

  absl::StatusOr<AnaLog> SimReadAna(int fd) {
    const int ci = CtrlOfFd(fd);
    if (ci < 0) {
      error_ = Fmt("ANA log read through fd %d, which the control plane never opened", fd);
      return absl::InternalError(error_);
    }
    SimCtrl& c = ctrls_[ci];
    const std::string what = Fmt("fd %d: Get Log Page ANA at offset 0", fd);
    if (CtrlDeleted(c.state))
      return absl::NotFoundError(what + ": controller gone: No such device");
    const bool answers = c.state == CtrlState::kLive ||
                         (o_.bug == Bug::kResettingIsLive && c.state == CtrlState::kResetting);
    if (!answers) return absl::UnavailableError(what + " failed with NVMe status 0x370");
    const int64_t now = clock_.NowNs();
    if (Chance(p_ana_fail_)) {
      ana_failed_[c.port] = true;
      return absl::DeadlineExceededError(what + ": Connection timed out");
    }
    // The controller is deleted while its admin command is outstanding (never the last good,
    // never in an outage: that stays what it was drawn to be).
    if (Chance(0.002) && !(GoodPorts(now) <= 1 && PortGood(c.port, now)) && !InOutage(now)) {
      ana_failed_[c.port] = true;
      SetCtrl(ci, CtrlState::kDeleting, now);
      return absl::NotFoundError(what + ": controller gone: No such device");
    }
    const SimPort& p = ports_[c.port];
    AnaLog log;
    log.chgcnt = ++ana_chgcnt_;
    for (uint32_t g = 1; g <= 2; ++g) {
      AnaGroup grp;
      grp.grpid = g;
      grp.state = p.ana[g];
      // Our namespace is in group ns_grpid_ (unless it dropped out); the other has NSID 2.
      if (g == uint32_t(ns_grpid_)) {
        if (!p.unlisted) grp.nsids.push_back(kNsid);
      } else {
        grp.nsids.push_back(2);
      }
      log.groups.push_back(grp);
    }
    return log;
  }

  absl::StatusOr<PathDesc> SimFind(const PathKey& key, uint32_t nsid) {
    const int port = PortOfAddress(key.address);
    if (port < 0 || key.subsysnqn != kNqn || nsid != kNsid || ports_[port].ctrl < 0)
      return absl::NotFoundError("no controller at " + key.address);
    const SimCtrl& c = ctrls_[ports_[port].ctrl];
    if (c.state != CtrlState::kLive)
      return absl::UnavailableError(Fmt("nvme%d (%s) is %s", c.num, key.address.c_str(),
                                        CtrlStateName(c.state)));
    return DescOf(ports_[port].ctrl);
  }

  int SimOpen(const std::string& ng_path) {
    int num = -1;
    if (sscanf(ng_path.c_str(), "/dev/ng%dn1", &num) != 1 || num < 0 || num >= int(ctrls_.size()))
      return -ENOENT;
    if (CtrlDeleted(ctrls_[num].state)) return -ENOENT;  // its char device is gone
    const int fd = next_fd_++;
    fd_ctrl_[fd] = num;  // never erased: the queue's ring may still hold a closed file
    open_fds_.insert(fd);
    ++opens_;
    return fd;
  }

  void SimClose(int fd) {
    if (open_fds_.erase(fd) == 0 && error_.empty())
      error_ = Fmt("the control plane closed fd %d, which was not open", fd);
  }

  int SimProbe(int fd) {
    ++probes_;
    const int ci = CtrlOfFd(fd);
    if (ci < 0) {
      error_ = Fmt("probe read through fd %d, which the control plane never opened", fd);
      return -EBADF;
    }
    const SimCtrl& c = ctrls_[ci];
    if (c.other_ns && error_.empty())
      error_ = Fmt("probe read reached nvme%d, which exposes another namespace", c.num);
    if (CtrlDeleted(c.state)) return -ENODEV;
    if (c.state != CtrlState::kLive) return 0x370;
    const SimPort& p = ports_[c.port];
    if (!AnaUsable(p.ana[ns_grpid_])) return 0x302;
    if ((p.flaky_until > clock_.NowNs() && Chance(0.3)) || Chance(p_error_)) return -EINTR;
    return 0;
  }

  // ---- invariants ------------------------------------------------------------------------

  // Invariant 6, right after a refresh round (nothing has moved since it read the target).
  std::string CheckControlPlane() {
    for (int i = 0; i < npaths_; ++i) {
      const PathState& ps = table_->path(i);
      const SimPort& p = ports_[i];
      if (ps.Usable()) {
        const int ci = CtrlOfFd(ps.fd.load());
        if (ci < 0) return Fmt("path %d usable with fd %d, never opened: %s", i, ps.fd.load(),
                               State().c_str());
        const SimCtrl& c = ctrls_[ci];
        if (c.state != CtrlState::kLive)
          return Fmt("control plane: path %d usable while its controller nvme%d is %s: %s", i,
                     c.num, CtrlStateName(c.state), State().c_str());
        if (p.ctrl != ci)
          return Fmt("control plane: path %d usable through nvme%d, no longer the port's "
                     "controller: %s", i, c.num, State().c_str());
        if (c.other_ns)
          return Fmt("control plane: path %d usable through nvme%d, another namespace: %s", i,
                     c.num, State().c_str());
        if (p.unlisted || !AnaUsable(p.ana[ns_grpid_]))
          return Fmt("control plane: path %d usable while its ANA log says %s: %s", i,
                     p.unlisted ? "no group" : AnaStateName(p.ana[ns_grpid_]), State().c_str());
        if (ps.ana.load() != p.ana[ns_grpid_])
          return Fmt("control plane: path %d ANA %s, its log says %s: %s", i,
                     AnaStateName(ps.ana.load()), AnaStateName(p.ana[ns_grpid_]), State().c_str());
      }
      truth_rounds_[i] = PortUsable(i) && !ana_failed_[i] ? truth_rounds_[i] + 1 : 0;
      ana_failed_[i] = false;
      if (truth_rounds_[i] >= 3 && !ps.Usable())
        return Fmt("control plane: path %d usable in truth for %d rounds, not in the engine: %s",
                   i, truth_rounds_[i], State().c_str());
    }
    return "";
  }

  // Invariants 2 and 8, when the queue builds a command for `path`.
  void CheckDispatch(int path, uint64_t tag) {
    if (!error_.empty()) return;
    if (!table_->path(path).Usable()) {
      error_ = Fmt("command sent down unusable path %d: %s", path, State().c_str());
      return;
    }
    // A retry on the same path (after a status the disposition table retries there) does not
    // ask the policy.
    const uint32_t slot = internal::Tag::Unpack(tag).slot;
    const bool same_path_retry = retry_same_path_.erase(slot) != 0;
    if (policy_ != IoPolicy::kActivePassive || preferred_ < 0 || path == preferred_ ||
        same_path_retry)
      return;
    // The tiers as the queue computes them (RefreshSnapshot, no failback delay).
    auto tier = [this](int i) {
      const PathState& ps = table_->path(i);
      if (!ps.Usable()) return internal::kTierUnusable;
      if (ps.marginal.load()) return internal::kTierMarginal;
      return ps.ana.load() == AnaState::kOptimized ? internal::kTierOptimized
                                                   : internal::kTierNonOptimized;
    };
    uint8_t best = internal::kTierUnusable;
    for (int i = 0; i < npaths_; ++i) best = std::min(best, tier(i));
    if (tier(preferred_) == best)
      error_ = Fmt("active-passive: command sent down path %d while the preferred path %d is "
                   "usable in the best tier: %s", path, preferred_, State().c_str());
  }

  std::string State() const {
    std::string s = Fmt("t=%.4fs inflight=%u parked=%u delayed=%u;", double(clock_.NowNs()) / 1e9,
                        queue_ ? queue_->inflight() : 0, queue_ ? queue_->parked() : 0,
                        queue_ ? queue_->delayed() : 0);
    for (int i = 0; i < npaths_; ++i) {
      const PathState& ps = table_->path(i);
      const SimPort& p = ports_[i];
      std::string truth = "no controller";
      if (p.ctrl >= 0) {
        const SimCtrl& c = ctrls_[p.ctrl];
        truth = Fmt("nvme%d %s%s", c.num, CtrlStateName(c.state), c.other_ns ? " other-ns" : "");
      }
      const int fd = ps.fd.load();
      const int fd_ctrl = CtrlOfFd(fd);
      s += Fmt(" p%d[truth %s %s%s%s | engine %s %s%s fd=%d(nvme%d) %s]", i, truth.c_str(),
               p.unlisted ? "unlisted" : AnaStateName(p.ana[ns_grpid_]),
               p.flaky_until > clock_.NowNs() ? " flaky" : "", PortUsable(i) ? " usable" : "",
               AnaStateName(ps.ana.load()), PathHealthName(ps.health.load()),
               ps.marginal.load() ? " marginal" : "", fd, fd_ctrl,
               internal::PathOutlookName(ps.outlook.load()));
    }
    return s;
  }

  bool AnyUsableSince(int64_t t) const {
    for (int i = 0; i < npaths_; ++i) {
      if (table_->path(i).Usable() && table_->path(i).usable_since_ns.load() <= t) return true;
    }
    return false;
  }

  // ---- the data plane --------------------------------------------------------------------

  void DataPlaneStep(int64_t now) {
    MaybeRefuseSubmit();
    queue_->Flush();
    AcceptSubmitted(now);
    CompleteDue(now);
    RunGhosts(now);
    queue_->Poll(0, 0);
  }

  // The next Submit() (the queue's flush, or one inside Poll) is refused or short.
  void MaybeRefuseSubmit() {
    if (std::uniform_real_distribution<double>(0, 1)(submit_rng_) >= p_submit_refused_) return;
    static constexpr int kResults[] = {-EAGAIN, -EBUSY, -ENOMEM, 0, 1};
    transport_->QueueSubmitResults({kResults[std::uniform_int_distribution<int>(0, 4)(submit_rng_)]});
    ++submits_refused_;
  }

  // Returns 1 when submitted, 0 when skipped (overlap), -1 when the queue is full or failed.
  int StartIo(AppIo& a) {
    std::uniform_int_distribution<uint32_t> lba_d(0, kNumLbas - 1), len_d(1, 5);
    uint64_t slba = lba_d(rng_);
    uint32_t nlb = std::min<uint32_t>(len_d(rng_), kNumLbas - uint32_t(slba));
    for (uint32_t l = 0; l < nlb; ++l)
      if (busy_[slba + l]) return 0;  // overlaps an I/O in flight: try later
    a.io = Io{};
    a.io.slba = slba;
    a.io.nlb = nlb;
    a.buf.assign(size_t{nlb} * kLba, 0);
    a.io.buf = a.buf.data();
    a.io.done = &Sim::OnDone;
    a.io.ctx = this;
    if (Chance(0.5)) {
      a.io.op = IoOp::kWrite;
      a.version = ++version_;
      for (uint32_t l = 0; l < nlb; ++l) {
        uint64_t lba = slba + l;
        memcpy(&a.buf[size_t(l) * kLba], &lba, 8);
        memcpy(&a.buf[size_t(l) * kLba + 8], &a.version, 8);
      }
    } else {
      a.io.op = IoOp::kRead;
    }
    a.submit_ns = clock_.NowNs();
    int r = queue_->Submit(&a.io);
    if (r == -EAGAIN) return -1;
    if (r != 0) {
      error_ = Fmt("submit failed: %d", r);
      return -1;
    }
    for (uint32_t l = 0; l < nlb; ++l) busy_[slba + l] = true;
    a.active = true;
    a.completions = 0;
    return 1;
  }

  static void OnDone(Io* io) { static_cast<Sim*>(io->ctx)->Done(io); }

  void Done(Io* io) {
    if (closing_) return;
    AppIo* a = nullptr;
    for (auto& x : ios_)
      if (&x.io == io) a = &x;
    if (a == nullptr || !a->active || ++a->completions != 1) {
      error_ = "an I/O completed twice";  // invariant 1
      return;
    }
    a->active = false;
    ++completed_;
    if (think_ns_ > 0) a->ready_ns = clock_.NowNs() + int64_t(Uniform(0, 2 * double(think_ns_)));
    for (uint32_t l = 0; l < io->nlb; ++l) busy_[io->slba + l] = false;
    if (io->res != 0) {
      // Invariant 1: the documented errors of the I/O deadline (the queue reads its clock once
      // per batch, so it may count from up to one step before the application did).
      const int64_t now = clock_.NowNs();
      const int64_t age = now - a->submit_ns;
      const bool deadline = (io->res == -ETIMEDOUT || io->res == -ENOLINK) &&
                            age >= io_timeout_ms_ * kMs - kMs;
      const bool no_path = io->res == -ENOLINK && OutageExplains(now, a->submit_ns);
      if (!deadline && !no_path) {
        error_ = Fmt("application error %d (%s) on %s lba %" PRIu64 " after %.3fs: %s", io->res,
                     StatusName(io->status.raw ? io->status.raw : io->res),
                     io->op == IoOp::kWrite ? "write" : "read", io->slba, double(age) / 1e9,
                     State().c_str());
        return;
      }
      ++(deadline ? deadline_errors_ : no_path_errors_);
      Event("%s lba %" PRIu64 " failed with %d (%s)", io->op == IoOp::kWrite ? "write" : "read",
            io->slba, io->res, deadline ? "its deadline" : "no path");
      // Unknown outcome: the write may have landed, or still land (a command still in the
      // kernel, a ghost). Its buffer too may still be used by the kernel: keep it alive.
      if (io->op == IoOp::kWrite)
        for (uint32_t l = 0; l < io->nlb; ++l) maybe_[io->slba + l].insert(a->version);
      retired_.push_back(std::move(a->buf));
      a->buf = {};
      return;
    }
    if (io->op == IoOp::kWrite) {
      for (uint32_t l = 0; l < io->nlb; ++l) acked_[io->slba + l] = a->version;
    } else {
      for (uint32_t l = 0; l < io->nlb; ++l) {
        uint64_t v;
        memcpy(&v, &a->buf[size_t(l) * kLba + 8], 8);
        const uint64_t lba = io->slba + l;
        if (v != acked_[lba] && maybe_[lba].count(v) == 0) {
          error_ = Fmt("read lba %" PRIu64 " returned version %" PRIu64
                       ", last acknowledged write %" PRIu64,
                       lba, v, acked_[lba]);
          return;
        }
      }
    }
  }

  // Commands the queue handed to the transport: check invariant 7 and schedule completions.
  void AcceptSubmitted(int64_t now) {
    auto& q = transport_->inflight();
    while (!q.empty()) {
      FakeTransport::Sent s = q.front();
      q.pop_front();
      const int ci = CtrlOfFd(s.fd);
      if (ci < 0 && error_.empty())
        error_ = Fmt("command sent through fd %d, which the control plane never opened", s.fd);
      if (ci >= 0 && ctrls_[ci].other_ns && error_.empty())
        error_ = Fmt("command on path %d reached nvme%d, which exposes another namespace: %s",
                     s.path, ctrls_[ci].num, State().c_str());
      int64_t lat = int64_t(Uniform(50, 400)) * 1000;
      if (Chance(0.02)) lat = UniformMs(2, 20);
      inflight_.push_back(InFlight{s, now + lat});
    }
  }

  static uint64_t Slba(const FakeTransport::Sent& s) {
    return uint64_t(s.cmd.cdw11) << 32 | s.cmd.cdw10;
  }
  static uint64_t VersionIn(const uint8_t* block) {
    uint64_t v;
    memcpy(&v, block + 8, 8);
    return v;
  }
  uint64_t MediaVersion(uint32_t l) const { return VersionIn(&media_[size_t(l) * kLba]); }

  // Returns true when version `v` of LBA `l` may still reach the media: a command in flight
  // or not yet submitted, or a ghost, carries it.
  bool MayStillLand(uint64_t v, uint64_t l) const {
    auto carries = [&](const FakeTransport::Sent& s) {
      if (s.cmd.opcode != 0x01 || s.dropped) return false;
      const uint64_t slba = Slba(s);
      if (l < slba || l > slba + s.cmd.cdw12) return false;
      return VersionIn(reinterpret_cast<const uint8_t*>(uintptr_t(s.cmd.addr)) +
                       (l - slba) * kLba) == v;
    };
    for (const InFlight& f : inflight_)
      if (carries(f.sent)) return true;
    for (const FakeTransport::Sent& s : transport_->prepared_cmds())
      if (carries(s)) return true;
    for (const Ghost& g : ghosts_)
      if (l >= g.slba && l < g.slba + g.nlb && VersionIn(&g.data[(l - g.slba) * kLba]) == v)
        return true;
    return false;
  }

  // A write reaches the media: versions of failed writes that can no longer land are now
  // overwritten for good (a read must not return them any more).
  void WriteMedia(uint64_t slba, uint32_t nlb, const uint8_t* data) {
    memcpy(&media_[slba * kLba], data, size_t(nlb) * kLba);
    for (uint32_t k = 0; k < nlb; ++k) {
      const uint64_t l = slba + k;
      const uint64_t landed = VersionIn(data + size_t(k) * kLba);
      for (auto it = maybe_[l].begin(); it != maybe_[l].end();) {
        if (*it != landed && !MayStillLand(*it, l)) it = maybe_[l].erase(it);
        else ++it;
      }
    }
  }

  void Execute(const FakeTransport::Sent& s) {
    const uint64_t slba = Slba(s);
    const uint32_t nlb = s.cmd.cdw12 + 1;
    auto* buf = reinterpret_cast<uint8_t*>(uintptr_t(s.cmd.addr));
    if (s.cmd.opcode == 0x01) WriteMedia(slba, nlb, buf);
    if (s.cmd.opcode == 0x02) memcpy(buf, &media_[slba * kLba], size_t(nlb) * kLba);
  }

  void Finish(const FakeTransport::Sent& s, int res) {
    transport_->InjectCompletion(s.tag, res);
    if (res != 0) ++failovers_;
  }

  // In-flight commands of a controller that is reset or goes away: cancelled (-EINTR); a write
  // may still land.
  void CancelInflight(int ci, int64_t now) {
    for (size_t k = 0; k < inflight_.size();) {
      if (CtrlOfFd(inflight_[k].sent.fd) == ci) {
        MaybeGhost(inflight_[k].sent, now);
        Finish(inflight_[k].sent, -EINTR);
        inflight_.erase(inflight_.begin() + long(k));
      } else {
        ++k;
      }
    }
  }

  void MaybeGhost(const FakeTransport::Sent& s, int64_t now) {
    if (s.cmd.opcode != 0x01 || !Chance(p_ghost_)) return;
    const uint64_t slba = Slba(s);
    const uint32_t nlb = s.cmd.cdw12 + 1;
    const int ci = CtrlOfFd(s.fd);
    // The target may execute it any time until it has torn the association down.
    Ghost g{ci, ctrls_[ci].resets, now + int64_t(Uniform(0, double(teardown_ms_)) * kMs), slba,
            nlb, {}};
    g.data.assign(reinterpret_cast<uint8_t*>(uintptr_t(s.cmd.addr)),
                  reinterpret_cast<uint8_t*>(uintptr_t(s.cmd.addr)) + size_t(nlb) * kLba);
    ghosts_.push_back(std::move(g));
    ++ghosts_made_;
  }

  // A ghost lands unless its controller was reset or deleted first (the target dropped it).
  void RunGhosts(int64_t now) {
    for (size_t k = 0; k < ghosts_.size();) {
      Ghost& g = ghosts_[k];
      if (release_on_reset_ && ctrls_[g.ctrl].resets != g.reset_gen) {
        ghosts_.erase(ghosts_.begin() + long(k));
      } else if (now >= g.at) {
        Ghost landed = std::move(g);
        ghosts_.erase(ghosts_.begin() + long(k));
        WriteMedia(landed.slba, landed.nlb, landed.data.data());
        ++ghosts_run_;
      } else {
        ++k;
      }
    }
  }

  void CompleteDue(int64_t now) {
    for (size_t k = 0; k < inflight_.size();) {
      InFlight& f = inflight_[k];
      const int ci = CtrlOfFd(f.sent.fd);
      if (ci < 0) {  // reported in AcceptSubmitted
        inflight_.erase(inflight_.begin() + long(k));
        continue;
      }
      const SimCtrl& c = ctrls_[ci];
      const SimPort& p = ports_[c.port];
      int res = 0;
      bool now_res = false;
      if (CtrlDeleted(c.state)) { res = -ENODEV; now_res = true; }                   // deleted
      else if (c.state != CtrlState::kLive) { res = 0x370; now_res = true; }         // not live
      if (!now_res && now < f.due) { ++k; continue; }
      if (res == 0) {
        const AnaState a = p.ana[ns_grpid_];
        const double p_err = p_error_ + (p.flaky_until > now ? 0.3 : 0);
        if (a == AnaState::kInaccessible) res = 0x2302;
        else if (a == AnaState::kChange) res = 0x2303;
        else if (a == AnaState::kPersistentLoss) res = 0x2301;
        else if (Chance(p_err)) {
          static const int kErr[] = {0x370, -EINTR, 0x2371, kRetrySamePathStatus};
          res = kErr[std::uniform_int_distribution<int>(0, 3)(rng_)];
          if (MayStillExecute(res)) MaybeGhost(f.sent, now);
          if (res == kRetrySamePathStatus) retry_same_path_.insert(internal::Tag::Unpack(f.sent.tag).slot);
        } else {
          Execute(f.sent);
        }
      }
      const FakeTransport::Sent sent = f.sent;
      inflight_.erase(inflight_.begin() + long(k));
      Finish(sent, res);
    }
  }

  Options o_;
  std::mt19937_64 rng_;
  std::mt19937_64 submit_rng_;  // submission refusals only (see the file comment)
  double p_submit_refused_ = 0;
  int submits_refused_ = 0;
  FakeClock clock_;
  int npaths_ = 2, qd_ = 8;
  double p_error_ = 0, p_fault_ = 0, p_ghost_ = 0, p_ana_fail_ = 0;
  bool release_on_reset_ = false;  // engine mode; ghosts die at a target reset then
  WriteHoldFacts hold_facts_;      // the target's keep-alive facts (same on every path)
  int64_t teardown_ms_ = 0;        // (TBKAS ? 3 : 2) x KATO + CQT
  int64_t io_timeout_ms_ = 120'000;
  int64_t think_ns_ = 0;           // mean think time of the application per slot
  int64_t no_path_timeout_ms_ = 30'000;
  Outage outage_ = Outage::kNone;
  int outage_after_ = 0;           // starts once this many I/Os were submitted
  int64_t outage_start_ = 0, outage_end_ = 0;
  int64_t outage_over_at_ = 0;     // when a port was good again after the outage
  int parked_while_lost_ = 0;      // steps in a row with I/O parked, every controller lost
  int ns_grpid_ = 1;               // our namespace's ANA group
  IoPolicy policy_ = IoPolicy::kNuma;
  int preferred_ = -1;

  // The target.
  std::vector<SimCtrl> ctrls_;
  std::map<std::string, int> by_name_;  // nvme<N> -> ctrls_ index
  std::vector<SimPort> ports_;
  std::map<int, int> fd_ctrl_;          // every fd ever opened -> its controller
  std::set<int> open_fds_;
  int next_fd_ = 100;
  uint64_t ana_chgcnt_ = 0;

  // The engine.
  SimCtrlAccess access_;
  std::unique_ptr<PathTable> table_;
  std::unique_ptr<PathMonitor> monitor_;
  FakeTransport* transport_ = nullptr;
  std::unique_ptr<QueueCore> queue_;
  // Per path: consecutive refresh rounds it was usable in truth (through one controller, with
  // good ANA reads); whether an ANA read of it failed since the last check.
  std::set<uint32_t> retry_same_path_;  // slots whose next attempt stays on its path
  int truth_rounds_[internal::kMaxPaths] = {};
  int streak_ctrl_[internal::kMaxPaths] = {};  // the controller truth_rounds_ counts for
  bool ana_failed_[internal::kMaxPaths] = {};

  // The application and the media.
  std::vector<uint8_t> media_;
  std::vector<uint64_t> acked_;
  std::vector<std::set<uint64_t>> maybe_;  // versions of failed writes that may be on the media
  std::vector<bool> busy_;
  std::vector<AppIo> ios_;
  std::vector<std::vector<uint8_t>> retired_;  // buffers of timed-out I/Os (kernel may use them)
  std::vector<InFlight> inflight_;
  std::vector<Ghost> ghosts_;
  uint64_t version_ = 0;
  int completed_ = 0, faults_ = 0, ghosts_made_ = 0, ghosts_run_ = 0, failovers_ = 0;
  int rounds_ = 0, opens_ = 0, probes_ = 0, deadline_errors_ = 0, no_path_errors_ = 0;
  std::string error_;
  bool closing_ = false;
};

CtrlState SimCtrlAccess::State(const PathDesc& d) { return sim_->SimState(d); }
absl::StatusOr<AnaLog> SimCtrlAccess::ReadAna(int fd, const PathDesc&) { return sim_->SimReadAna(fd); }
absl::StatusOr<PathDesc> SimCtrlAccess::Find(const PathKey& key, uint32_t nsid) {
  return sim_->SimFind(key, nsid);
}
int SimCtrlAccess::Open(const std::string& ng_path) { return sim_->SimOpen(ng_path); }
void SimCtrlAccess::Close(int fd) { sim_->SimClose(fd); }
int SimCtrlAccess::Probe(int fd, uint32_t, uint32_t, uint32_t) { return sim_->SimProbe(fd); }

}  // namespace
}  // namespace nvme_mpath::sim

int main(int argc, char** argv) {
  using nvme_mpath::sim::Bug;
  uint64_t first = 1, count = 200;
  int ios = 3000;
  int64_t write_hold_ms = -1;
  bool verbose = false, single = false;
  Bug bug = Bug::kNone;
  std::string bug_name;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) { fprintf(stderr, "%s needs a value\n", a.c_str()); exit(2); }
      return argv[++i];
    };
    if (a == "--seeds") count = strtoull(next(), nullptr, 0);
    else if (a == "--first-seed") first = strtoull(next(), nullptr, 0);
    else if (a == "--seed") { first = strtoull(next(), nullptr, 0); count = 1; single = true; }
    else if (a == "--ios") ios = atoi(next());
    else if (a == "--write-hold-ms") write_hold_ms = strtoll(next(), nullptr, 0);
    else if (a == "--inject-bug") {
      bug_name = next();
      if (bug_name == "resetting-is-live") bug = Bug::kResettingIsLive;
      else { fprintf(stderr, "unknown bug %s (known: resetting-is-live)\n", bug_name.c_str()); return 2; }
    }
    else if (a == "-v") verbose = true;
    else if (a == "-h" || a == "--help") {
      printf("usage: nvme_mpath_sim [--seeds N] [--first-seed S] [--seed S] [--ios N] "
             "[--write-hold-ms MS] [--inject-bug resetting-is-live] [-v]\n"
             "  runs the real queue and control plane (PathMonitor) against a simulated target\n"
             "  per seed; prints each failing seed with its replay line. -v: the engine's log\n"
             "  (info) and the simulator's events on stderr.\n");
      return 0;
    } else { fprintf(stderr, "unknown argument %s\n", a.c_str()); return 2; }
  }
  nvme_mpath::internal::SetLogLevel(verbose ? nvme_mpath::internal::LogLevel::kInfo
                                            : nvme_mpath::internal::LogLevel::kError);
  int failed = 0;
  uint64_t ran = 0;
  for (uint64_t s = first; s < first + count; ++s) {
    ++ran;
    nvme_mpath::sim::Options o{s, ios, verbose, write_hold_ms, bug};
    nvme_mpath::sim::Sim sim(o);
    std::string err = sim.Run();
    if (!err.empty()) {
      ++failed;
      std::string extra =
          write_hold_ms < 0 ? "" : " --write-hold-ms " + std::to_string(write_hold_ms);
      if (!bug_name.empty()) extra += " --inject-bug " + bug_name;
      printf("FAIL seed=%" PRIu64 " (%s): %s\n  replay: nvme_mpath_sim --seed %" PRIu64
             " --ios %d%s -v\n",
             s, sim.Summary().c_str(), err.c_str(), s, ios, extra.c_str());
      fflush(stdout);
      if (failed >= 10) break;
    } else if (verbose || single) {
      printf("ok seed=%" PRIu64 " (%s)\n", s, sim.Summary().c_str());
    }
  }
  printf("%" PRIu64 " seeds: %" PRIu64 " passed, %d failed%s\n", ran, ran - uint64_t(failed), failed,
         ran < count ? " (stopped after 10 failures)" : "");
  return failed == 0 ? 0 : 1;
}
