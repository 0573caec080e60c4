// File: sim.cc
//
// Deterministic simulation of the engine under path faults (TigerBeetle's testing/storage.zig
// style): the real QueueCore, policies and disposition table run over a FakeTransport and a
// FakeClock, against a simulated target with N paths whose ANA states flip, whose controllers
// go down, get deleted and come back, whose commands fail at random, and whose cancelled writes
// may still land later ("ghost writes"); the kernel now and then refuses a submission (-EAGAIN,
// -EBUSY, -ENOMEM) or takes only part of it, drawn from a second generator so that the rest of
// a seed's schedule is what it was before. A small control plane plays the engine's poller.
//
//   nvme_mpath_sim [--seeds N] [--first-seed S] [--seed S] [--ios N] [--write-hold-ms MS] [-v]
//
// Each seed draws the target's keep-alive facts (TBKAS, CQT; KATO 2 s): a ghost write lands
// anywhere up to the modelled teardown, (TBKAS ? 3 : 2) x KATO + CQT after the failing
// completion, and the engine holds for its own rule (write_hold.h). --write-hold-ms forces the
// engine's write_hold option instead: a hold shorter than the teardown (say 2000, the old
// 1 x KATO) must make seeds fail with a stale read or final media.
//
// Invariants checked for every seed:
//   1. every I/O completes exactly once, with no error (a path always comes back in time);
//   2. no command is sent down a path that the engine's shared state says is unusable;
//   3. no completion is lost: at the end nothing is in flight, parked or delayed;
//   4. nothing is still parked once a path has been usable for a control-plane period;
//   5. a retried write respects the hold: every read returns the last acknowledged write, and
//      the final media matches, despite ghost writes.
// A failing seed is printed; `--seed S -v` replays it.
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nvme_mpath/status.h>

#include "disposition.h"
#include "path.h"
#include "queue.h"
#include "support/fake_clock.h"
#include "support/fake_transport.h"
#include "tag.h"
#include "write_hold.h"

namespace nvme_mpath::sim {
namespace {

using internal::MayStillExecute;
using internal::PathTable;
using internal::QueueConfig;
using internal::QueueCore;
using internal::WriteHoldFacts;
using internal::WriteHoldNs;
using testing::FakeClock;
using testing::FakeTransport;

constexpr uint32_t kLba = 512;
constexpr uint32_t kNumLbas = 64;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kKatoMs = 2000;
constexpr int64_t kPollPeriodMs = 1000;

struct Options {
  uint64_t seed = 1;
  int ios = 3000;
  bool verbose = false;
  int64_t write_hold_ms = -1;  // -1: the engine's rule
};

enum class Ctrl { kLive, kDown, kGone };

struct SimPath {
  AnaState ana = AnaState::kOptimized;
  Ctrl ctrl = Ctrl::kLive;
  int64_t back_at = 0;   // when a down/gone controller returns
  int fd = 0;            // the live controller's fd (changes on reconnect after deletion)
  uint32_t resets = 0;   // target-side: bumps when the controller is reset or deleted
};

struct Ghost {  // a cancelled write the target may still execute
  int path;
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
  int completions = 0;
  bool active = false;
};

class Sim {
 public:
  explicit Sim(const Options& o) : o_(o), rng_(o.seed), submit_rng_(o.seed ^ 0x5ab317u) {}
  ~Sim() {  // completes what is left while the I/Os still exist
    closing_ = true;
    queue_.reset();
  }

  // Returns an empty string on success, else what went wrong.
  std::string Run() {
    std::uniform_int_distribution<int> np(2, 4);
    npaths_ = np(rng_);
    p_error_ = Uniform(0, 0.01);
    p_fault_ = Uniform(0.0005, 0.003);
    p_ghost_ = Uniform(0, 1);
    qd_ = std::uniform_int_distribution<int>(1, 24)(rng_);
    release_on_reset_ = Chance(0.5);
    // The target's keep-alive facts (nvmet sets TBKAS; CQT as a controller may report it).
    hold_facts_ = WriteHoldFacts{.kato_ms = uint32_t(kKatoMs), .cqt_ms = 0, .tbkas = Chance(0.5),
                                 .fabrics = true};
    if (Chance(0.5)) hold_facts_.cqt_ms = uint16_t(Uniform(0, 1000));
    teardown_ms_ = (hold_facts_.tbkas ? 3 : 2) * kKatoMs + hold_facts_.cqt_ms;
    p_submit_refused_ = std::uniform_real_distribution<double>(0, 0.3)(submit_rng_);

    table_ = std::make_unique<PathTable>(npaths_);
    paths_.resize(npaths_);
    for (int i = 0; i < npaths_; ++i) {
      paths_[i].ana = i == 0 ? AnaState::kOptimized : AnaState::kNonOptimized;
      paths_[i].fd = 100 + i;
      auto& ps = table_->path(i);
      ps.ana = paths_[i].ana;
      ps.fd = paths_[i].fd;
      ps.write_hold_ns = WriteHoldNs(hold_facts_);
      ps.crdt = {1, 2, 3};
    }
    QueueConfig cfg;
    cfg.nsid = 1;
    cfg.nsze = kNumLbas;
    cfg.lba_size = kLba;
    cfg.depth = 64;
    cfg.max_transfer_bytes = 2 * kLba;  // force splits
    cfg.no_path_timeout_ns = 30'000 * kMs;
    cfg.io_timeout_ns = 0;
    cfg.max_retries = 5;
    cfg.write_hold_release_on_reset = release_on_reset_;
    cfg.write_hold_ns = o_.write_hold_ms < 0 ? -1 : o_.write_hold_ms * kMs;
    auto t = std::make_unique<FakeTransport>();
    transport_ = t.get();
    transport_->on_prep = [this](int path) {  // invariant 2, checked when the SQE is built
      if (!table_->path(path).Usable() && error_.empty())
        error_ = Fmt("command sent down unusable path %d: %s", path, State().c_str());
    };
    queue_ = std::make_unique<QueueCore>(cfg, table_.get(), std::move(t), &clock_, nullptr);
    media_.assign(size_t{kNumLbas} * kLba, 0);
    acked_.assign(kNumLbas, 0);
    busy_.assign(kNumLbas, false);
    ios_.resize(qd_);

    int submitted = 0;
    int64_t next_poll = clock_.NowNs() + kPollPeriodMs * kMs;
    int64_t steps = 0;
    while (completed_ < o_.ios) {
      if (++steps > 4'000'000) return "no progress (hang): " + State();
      clock_.Advance(100'000);  // 0.1 ms per step
      const int64_t now = clock_.NowNs();
      if (submitted < o_.ios) MaybeFault(now);
      HealDue(now);
      // Control plane: periodic poll, or woken by a queue's path error.
      bool woke = table_->TakeAttention() | table_->TakeAnaRefresh();
      if (now >= next_poll || woke) {
        ControlPlane(now);
        if (now >= next_poll) next_poll = now + kPollPeriodMs * kMs;
      }
      // Application keeps qd_ I/Os outstanding.
      for (auto& a : ios_) {
        if (!a.active && submitted < o_.ios) {
          const int r = StartIo(a);
          if (r < 0) break;
          submitted += r;
        }
      }
      if (!error_.empty()) return error_;
      MaybeRefuseSubmit();
      queue_->Flush();
      AcceptSubmitted(now);
      CompleteDue(now);
      RunGhosts(now);
      queue_->Poll(0, 0);
      if (!error_.empty()) return error_;
      // Invariant 4: a path usable for a full poll period means nothing should be parked.
      if (queue_->parked() != 0 && AnyUsableSince(now - 2 * kPollPeriodMs * kMs))
        return "I/O still parked although a path is usable: " + State();
    }
    // Drain: heal everything, let held writes go, check nothing remains.
    for (int i = 0; i < 200000 && (queue_->inflight() != 0 || !inflight_.empty()); ++i) {
      clock_.Advance(kMs);
      const int64_t now = clock_.NowNs();
      HealDue(now);
      ControlPlane(now);
      MaybeRefuseSubmit();
      queue_->Flush();
      AcceptSubmitted(now);
      CompleteDue(now);
      RunGhosts(now);
      queue_->Poll(0, 0);
      if (!error_.empty()) return error_;
    }
    if (queue_->inflight() != 0 || queue_->parked() != 0 || queue_->delayed() != 0)
      return "lost I/O at the end: " + State();
    for (auto& a : ios_)
      if (a.active) return "an application I/O never completed";
    // Final media check (after every ghost had its chance).
    clock_.Advance(10 * kKatoMs * kMs);
    RunGhosts(clock_.NowNs());
    for (uint32_t l = 0; l < kNumLbas; ++l) {
      uint64_t v;
      memcpy(&v, &media_[size_t(l) * kLba + 8], 8);
      if (v != acked_[l])
        return Fmt("final media lba %u has version %" PRIu64 ", last acknowledged %" PRIu64, l, v,
                   acked_[l]);
    }
    return "";
  }

  std::string Summary() const {
    return Fmt("paths=%d qd=%d p_err=%.4f p_fault=%.4f p_ghost=%.2f release_on_reset=%d tbkas=%d "
               "cqt=%ums teardown=%" PRId64 "ms faults=%d ghosts=%d/%d failovers=%d "
               "submits_refused=%d",
               npaths_, qd_, p_error_, p_fault_, p_ghost_, int(release_on_reset_),
               int(hold_facts_.tbkas), unsigned(hold_facts_.cqt_ms), teardown_ms_, faults_,
               ghosts_run_, ghosts_made_, failovers_, submits_refused_);
  }

 private:
  template <typename... A>
  static std::string Fmt(const char* f, A... a) {
    char b[512];
    snprintf(b, sizeof(b), f, a...);
    return b;
  }
  double Uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }
  bool Chance(double p) { return Uniform(0, 1) < p; }

  std::string State() const {
    std::string s = Fmt("t=%.3fs inflight=%u parked=%u delayed=%u;", clock_.NowNs() / 1e9,
                        queue_->inflight(), queue_->parked(), queue_->delayed());
    for (int i = 0; i < npaths_; ++i) {
      const auto& ps = table_->path(i);
      s += Fmt(" p%d[truth %s %s | engine %s %s fd=%d]", i, AnaStateName(paths_[i].ana),
               paths_[i].ctrl == Ctrl::kLive ? "live" : paths_[i].ctrl == Ctrl::kDown ? "down" : "gone",
               AnaStateName(ps.ana.load()), PathHealthName(ps.health.load()), ps.fd.load());
    }
    return s;
  }

  bool PathReturning(int i, int64_t now) const {
    (void)now;
    return paths_[i].ctrl == Ctrl::kLive && AnaUsable(paths_[i].ana);
  }

  bool AnyUsableSince(int64_t t) const {
    for (int i = 0; i < npaths_; ++i) {
      if (table_->path(i).Usable() && table_->path(i).usable_since_ns.load() <= t) return true;
    }
    return false;
  }

  void MaybeFault(int64_t now) {
    if (!Chance(p_fault_)) return;
    int i = std::uniform_int_distribution<int>(0, npaths_ - 1)(rng_);
    // Keep at least one path healthy or healing: never break the last fully good one.
    int good = 0;
    for (int k = 0; k < npaths_; ++k) good += PathReturning(k, now) ? 1 : 0;
    if (good <= 1 && PathReturning(i, now)) return;
    ++faults_;
    switch (std::uniform_int_distribution<int>(0, 5)(rng_)) {
      case 0: paths_[i].ana = AnaState::kInaccessible; break;
      case 1: paths_[i].ana = AnaState::kChange; break;
      case 2: paths_[i].ana = AnaState::kNonOptimized; break;
      case 3: paths_[i].ana = AnaState::kOptimized; break;
      case 4:  // controller reset / port down for a while
        if (paths_[i].ctrl == Ctrl::kLive) {
          paths_[i].ctrl = Ctrl::kDown;
          paths_[i].back_at = now + int64_t(Uniform(300, 3000)) * kMs;
          CancelInflight(i, now);
          ++paths_[i].resets;
        }
        break;
      case 5:  // controller deleted, reconnected later as a new one
        if (paths_[i].ctrl != Ctrl::kGone) {
          paths_[i].ctrl = Ctrl::kGone;
          paths_[i].back_at = now + int64_t(Uniform(500, 4000)) * kMs;
          CancelInflight(i, now);
          ++paths_[i].resets;
        }
        break;
    }
    if (!AnaUsable(paths_[i].ana) || paths_[i].ctrl != Ctrl::kLive) {
      // Heal ANA later too, so every path keeps coming back.
      ana_heal_at_[i] = now + int64_t(Uniform(200, 5000)) * kMs;
    }
  }

  // The next Submit() (the queue's flush, or one inside Poll) is refused or short.
  void MaybeRefuseSubmit() {
    if (std::uniform_real_distribution<double>(0, 1)(submit_rng_) >= p_submit_refused_) return;
    static constexpr int kResults[] = {-EAGAIN, -EBUSY, -ENOMEM, 0, 1};
    transport_->QueueSubmitResults({kResults[std::uniform_int_distribution<int>(0, 4)(submit_rng_)]});
    ++submits_refused_;
  }

  void HealDue(int64_t now) {
    for (int i = 0; i < npaths_; ++i) {
      SimPath& p = paths_[i];
      if (p.ctrl != Ctrl::kLive && now >= p.back_at) {
        if (p.ctrl == Ctrl::kGone) p.fd += 1000;  // a new controller: a new char device
        p.ctrl = Ctrl::kLive;
      }
      auto it = ana_heal_at_.find(i);
      if (it != ana_heal_at_.end() && now >= it->second) {
        if (!AnaUsable(p.ana)) p.ana = i == 0 ? AnaState::kOptimized : AnaState::kNonOptimized;
        ana_heal_at_.erase(it);
      }
    }
  }

  // The engine's control thread, reduced to what it decides.
  void ControlPlane(int64_t now) {
    for (int i = 0; i < npaths_; ++i) {
      SimPath& p = paths_[i];
      auto& ps = table_->path(i);
      bool changed = false;
      const bool was_usable = ps.Usable();
      if (ps.reset_gen.load() != p.resets) {  // the control plane saw a reset or deletion
        ps.reset_gen = p.resets;
        changed = true;
      }
      if (p.ctrl == Ctrl::kGone) {
        if (ps.fd.load() >= 0) {
          ps.fd = -1;
          ps.fd_gen.fetch_add(1);
          ps.health = PathHealth::kGone;
          changed = true;
        }
      } else if (p.ctrl == Ctrl::kDown) {
        if (ps.health.load() == PathHealth::kLive) {
          ps.health = PathHealth::kFailed;
          changed = true;
        }
      } else {
        if (ps.fd.load() != p.fd) {
          ps.fd = p.fd;
          ps.fd_gen.fetch_add(1);
          changed = true;
        }
        if (ps.health.load() != PathHealth::kLive) {
          ps.health = PathHealth::kLive;
          changed = true;
        }
        if (ps.ana.load() != p.ana) {
          ps.ana = p.ana;
          changed = true;
        }
        ps.marginal = false;  // the engine probes; the sim trusts at once
      }
      if (!was_usable && ps.Usable()) ps.usable_since_ns = now;
      if (changed) table_->BumpEpoch();
    }
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
    for (uint32_t l = 0; l < io->nlb; ++l) busy_[io->slba + l] = false;
    if (io->res != 0) {
      error_ = Fmt("application error %d (%s) on %s lba %" PRIu64 ": %s", io->res,
                   StatusName(io->status.raw ? io->status.raw : io->res),
                   io->op == IoOp::kWrite ? "write" : "read", io->slba, State().c_str());
      return;
    }
    if (io->op == IoOp::kWrite) {
      for (uint32_t l = 0; l < io->nlb; ++l) acked_[io->slba + l] = a->version;
    } else {
      for (uint32_t l = 0; l < io->nlb; ++l) {
        uint64_t v;
        memcpy(&v, &a->buf[size_t(l) * kLba + 8], 8);
        if (v != acked_[io->slba + l]) {
          error_ = Fmt("read lba %" PRIu64 " returned version %" PRIu64 ", last acknowledged write %" PRIu64,
                       io->slba + l, v, acked_[io->slba + l]);
          return;
        }
      }
    }
  }

  // Commands the queue handed to the transport: check invariant 2 and schedule completions.
  void AcceptSubmitted(int64_t now) {
    auto& q = transport_->inflight();
    while (!q.empty()) {
      FakeTransport::Sent s = q.front();
      q.pop_front();
      int64_t lat = int64_t(Uniform(50, 400)) * 1000;
      if (Chance(0.02)) lat = int64_t(Uniform(2, 20)) * kMs;
      inflight_.push_back(InFlight{s, now + lat});
    }
  }

  void Execute(const FakeTransport::Sent& s) {
    const uint64_t slba = uint64_t(s.cmd.cdw11) << 32 | s.cmd.cdw10;
    const uint32_t nlb = s.cmd.cdw12 + 1;
    auto* buf = reinterpret_cast<uint8_t*>(uintptr_t(s.cmd.addr));
    if (s.cmd.opcode == 0x01) memcpy(&media_[slba * kLba], buf, size_t(nlb) * kLba);
    if (s.cmd.opcode == 0x02) memcpy(buf, &media_[slba * kLba], size_t(nlb) * kLba);
  }

  void Finish(const FakeTransport::Sent& s, int res) {
    transport_->InjectCompletion(s.tag, res);
    if (res != 0) ++failovers_;
  }

  // In-flight commands on a path that goes down: cancelled (-EINTR); a write may still land.
  void CancelInflight(int i, int64_t now) {
    for (size_t k = 0; k < inflight_.size();) {
      if (inflight_[k].sent.path == i) {
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
    const uint64_t slba = uint64_t(s.cmd.cdw11) << 32 | s.cmd.cdw10;
    const uint32_t nlb = s.cmd.cdw12 + 1;
    // The target may execute it any time until it has torn the association down.
    Ghost g{s.path, paths_[s.path].resets, now + int64_t(Uniform(0, double(teardown_ms_)) * kMs),
            slba, nlb, {}};
    g.data.assign(reinterpret_cast<uint8_t*>(uintptr_t(s.cmd.addr)),
                  reinterpret_cast<uint8_t*>(uintptr_t(s.cmd.addr)) + size_t(nlb) * kLba);
    ghosts_.push_back(std::move(g));
    ++ghosts_made_;
  }

  // A ghost lands unless its controller was reset or deleted first (the target dropped it).
  void RunGhosts(int64_t now) {
    for (size_t k = 0; k < ghosts_.size();) {
      Ghost& g = ghosts_[k];
      if (release_on_reset_ && paths_[g.path].resets != g.reset_gen) {
        ghosts_.erase(ghosts_.begin() + long(k));
      } else if (now >= g.at) {
        memcpy(&media_[g.slba * kLba], g.data.data(), g.data.size());
        ++ghosts_run_;
        ghosts_.erase(ghosts_.begin() + long(k));
      } else {
        ++k;
      }
    }
  }

  void CompleteDue(int64_t now) {
    for (size_t k = 0; k < inflight_.size();) {
      InFlight& f = inflight_[k];
      const SimPath& p = paths_[f.sent.path];
      int res = 0;
      bool now_res = false;
      if (f.sent.fd != p.fd) { res = -ENODEV; now_res = true; }            // deleted controller
      else if (p.ctrl == Ctrl::kGone) { res = -ENODEV; now_res = true; }
      else if (p.ctrl == Ctrl::kDown) { res = 0x370; now_res = true; }     // host path error
      if (!now_res && now < f.due) { ++k; continue; }
      if (res == 0) {
        if (p.ana == AnaState::kInaccessible) res = 0x2302;
        else if (p.ana == AnaState::kChange) res = 0x2303;
        else if (p.ana == AnaState::kPersistentLoss) res = 0x2301;
        else if (Chance(p_error_)) {
          static const int kErr[] = {0x370, -EINTR, 0x2371, 0x0806};
          res = kErr[std::uniform_int_distribution<int>(0, 3)(rng_)];
          if (MayStillExecute(res)) MaybeGhost(f.sent, now);
        } else {
          Execute(f.sent);
        }
      }
      Finish(f.sent, res);
      inflight_.erase(inflight_.begin() + long(k));
    }
  }

  Options o_;
  std::mt19937_64 rng_;
  std::mt19937_64 submit_rng_;  // submission refusals only (see the file comment)
  double p_submit_refused_ = 0;
  int submits_refused_ = 0;
  FakeClock clock_;
  int npaths_ = 2, qd_ = 8;
  double p_error_ = 0, p_fault_ = 0, p_ghost_ = 0;
  bool release_on_reset_ = false;  // engine mode; ghosts die at a target reset then
  WriteHoldFacts hold_facts_;      // the target's keep-alive facts (same on every path)
  int64_t teardown_ms_ = 0;        // (TBKAS ? 3 : 2) x KATO + CQT
  std::unique_ptr<PathTable> table_;
  FakeTransport* transport_ = nullptr;
  std::unique_ptr<QueueCore> queue_;
  std::vector<SimPath> paths_;
  std::map<int, int64_t> ana_heal_at_;
  std::vector<uint8_t> media_;
  std::vector<uint64_t> acked_;
  std::vector<bool> busy_;
  std::vector<AppIo> ios_;
  std::vector<InFlight> inflight_;
  std::vector<Ghost> ghosts_;
  uint64_t version_ = 0;
  int completed_ = 0, faults_ = 0, ghosts_made_ = 0, ghosts_run_ = 0, failovers_ = 0;
  std::string error_;
  bool closing_ = false;
};

}  // namespace
}  // namespace nvme_mpath::sim

int main(int argc, char** argv) {
  uint64_t first = 1, count = 200;
  int ios = 3000;
  int64_t write_hold_ms = -1;
  bool verbose = false, single = false;
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
    else if (a == "-v") verbose = true;
    else if (a == "-h" || a == "--help") {
      printf("usage: nvme_mpath_sim [--seeds N] [--first-seed S] [--seed S] [--ios N] "
             "[--write-hold-ms MS] [-v]\n");
      return 0;
    } else { fprintf(stderr, "unknown argument %s\n", a.c_str()); return 2; }
  }
  int failed = 0;
  for (uint64_t s = first; s < first + count; ++s) {
    nvme_mpath::sim::Options o{s, ios, verbose, write_hold_ms};
    nvme_mpath::sim::Sim sim(o);
    std::string err = sim.Run();
    if (!err.empty()) {
      ++failed;
      const std::string hold =
          write_hold_ms < 0 ? "" : " --write-hold-ms " + std::to_string(write_hold_ms);
      printf("FAIL seed=%" PRIu64 " (%s): %s\n  replay: nvme_mpath_sim --seed %" PRIu64
             " --ios %d%s -v\n",
             s, sim.Summary().c_str(), err.c_str(), s, ios, hold.c_str());
      if (failed >= 10) break;
    } else if (verbose || single) {
      printf("ok seed=%" PRIu64 " (%s)\n", s, sim.Summary().c_str());
    }
  }
  printf("%" PRIu64 " seeds: %" PRIu64 " passed, %d failed\n", count, count - uint64_t(failed), failed);
  return failed == 0 ? 0 : 1;
}
