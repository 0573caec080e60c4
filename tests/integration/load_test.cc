// File: load_test.cc
//
// nvme-mpath-load: many queues at once. For each namespace given, one Engine; each of --threads
// threads owns one Queue per namespace and keeps --qd verified I/Os in flight on each, on its own
// block range, for --seconds (writes stamp every LBA with (lba, version), reads check the last
// acknowledged version), while the lab injects faults. Prints per-second totals, RSS samples
// and the peak RSS, and exits 0 only with 0 errors, 0 mismatches and RSS growth under --rss-growth-mb
// after the first 10 s.
//
//   nvme-mpath-load --dev /dev/ngAn1 --dev /dev/ngAn2 [--threads 2] [--qd 128] [--seconds 60]
#include <nvme_mpath/engine.h>

#include <sys/resource.h>
#include <time.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace nvme_mpath;

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

long RssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return atol(line.c_str() + 6);
  return 0;
}

std::atomic<uint64_t> g_ios{0}, g_errors{0}, g_mismatches{0};

// One (thread, namespace) pair: a queue and qd slots over blocks [first, first + count).
class Worker {
 public:
  Worker(Engine* e, uint32_t qd, uint64_t first, uint64_t count, uint64_t seed)
      : e_(e), qd_(qd), first_(first), count_(count), rng_(seed) {
    lba_ = e->info().lba_size;
    per_block_ = 4096 / lba_;
    acked_.assign(count, 0);
    busy_.assign(count, 0);
    slots_.resize(qd);
    mem_.resize(size_t(qd) * 4096 + 4096);
    uint8_t* base = reinterpret_cast<uint8_t*>((uintptr_t(mem_.data()) + 4095) & ~uintptr_t(4095));
    for (uint32_t i = 0; i < qd; ++i) slots_[i].buf = base + size_t(i) * 4096;
  }

  bool Open() {
    QueueOptions qo;
    qo.depth = qd_ + 8;
    auto q = e_->CreateQueue(qo);
    if (!q.ok()) {
      fprintf(stderr, "load: %s\n", std::string(q.status().message()).c_str());
      return false;
    }
    q_ = std::move(*q);
    return true;
  }

  void Run(double until) {
    while (Now() < until) {
      for (auto& s : slots_) {
        if (s.active) continue;
        uint64_t b = rng_() % count_;
        if (busy_[b]) continue;
        Start(s, b, (rng_() & 1) != 0);
      }
      q_->Poll(1, 10000);
    }
  }
  void Drain() {
    while (q_->inflight() != 0) q_->Poll(1, 100000);
  }

 private:
  struct Slot {
    Io io;
    uint8_t* buf = nullptr;
    uint64_t block = 0, version = 0;
    bool active = false;
    Worker* w = nullptr;
  };

  void Stamp(uint8_t* buf, uint64_t block, uint64_t version) {
    for (uint32_t l = 0; l < per_block_; ++l) {
      uint64_t lba = (first_ + block) * per_block_ + l;
      for (uint32_t i = 0; i < lba_; i += 16) {
        memcpy(buf + size_t(l) * lba_ + i, &lba, 8);
        memcpy(buf + size_t(l) * lba_ + i + 8, &version, 8);
      }
    }
  }

  void Start(Slot& s, uint64_t block, bool write) {
    s.io = Io{};
    s.w = this;
    s.block = block;
    s.io.slba = (first_ + block) * per_block_;
    s.io.nlb = per_block_;
    s.io.buf = s.buf;
    s.io.ctx = &s;
    s.io.done = &Worker::Done;
    if (write) {
      s.io.op = IoOp::kWrite;
      s.version = ++version_;
      Stamp(s.buf, block, s.version);
    } else {
      s.io.op = IoOp::kRead;
    }
    if (q_->Submit(&s.io) == 0) {
      s.active = true;
      busy_[block] = 1;
    }
  }

  static void Done(Io* io) {
    Slot* s = static_cast<Slot*>(io->ctx);
    Worker* w = s->w;
    s->active = false;
    w->busy_[s->block] = 0;
    g_ios.fetch_add(1, std::memory_order_relaxed);
    if (io->res != 0) {
      if (g_errors.fetch_add(1) < 10)
        fprintf(stderr, "load: I/O error %d (%s)\n", io->res, StatusName(io->status.raw ? io->status.raw : io->res));
      return;
    }
    if (io->op == IoOp::kWrite) {
      w->acked_[s->block] = s->version;
    } else if (w->acked_[s->block] != 0) {
      std::vector<uint8_t> want(4096);
      w->Stamp(want.data(), s->block, w->acked_[s->block]);
      if (memcmp(want.data(), s->buf, 4096) != 0 && g_mismatches.fetch_add(1) < 10)
        fprintf(stderr, "load: MISMATCH at block %" PRIu64 "\n", w->first_ + s->block);
    }
  }

  Engine* e_;
  uint32_t qd_;
  uint64_t first_, count_;
  std::mt19937_64 rng_;
  uint32_t lba_ = 4096, per_block_ = 1;
  std::vector<uint64_t> acked_;
  std::vector<uint8_t> busy_;
  std::vector<Slot> slots_;
  std::vector<uint8_t> mem_;
  std::unique_ptr<Queue> q_;
  uint64_t version_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> devs;
  int threads = 2;
  uint32_t qd = 128;
  double seconds = 60;
  long rss_growth_mb = 64;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) { fprintf(stderr, "load: %s needs a value\n", a.c_str()); exit(2); }
      return argv[++i];
    };
    if (a == "--dev") devs.push_back(val());
    else if (a == "--threads") threads = atoi(val().c_str());
    else if (a == "--qd") qd = uint32_t(atoi(val().c_str()));
    else if (a == "--seconds") seconds = atof(val().c_str());
    else if (a == "--rss-growth-mb") rss_growth_mb = atol(val().c_str());
    else {
      fprintf(stderr, "usage: nvme-mpath-load --dev DEV [--dev DEV...] [--threads N] [--qd N] [--seconds S] [--rss-growth-mb M]\n");
      return 2;
    }
  }
  if (devs.empty() || threads < 1 || qd < 1) return 2;
  std::vector<std::unique_ptr<Engine>> engines;
  for (const auto& d : devs) {
    EngineOptions o;
    o.paths = {d};
    o.cmd_timeout_ms = 1000;
    o.name = "nvme-mpath-load";
    auto e = Engine::Open(o);
    if (!e.ok()) {
      fprintf(stderr, "load: %s: %s\n", d.c_str(), std::string(e.status().message()).c_str());
      return 1;
    }
    engines.push_back(std::move(*e));
  }
  // Each thread gets a disjoint range of each namespace (16 MiB of 4 KiB blocks).
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < threads; ++t)
    for (size_t n = 0; n < engines.size(); ++n) {
      workers.push_back(std::make_unique<Worker>(engines[n].get(), qd, uint64_t(t) * 4096, 4096,
                                                 uint64_t(t) * 131 + n));
    }
  const double t0 = Now(), until = t0 + seconds;
  std::vector<std::thread> th;
  std::atomic<int> failed{0};
  for (int t = 0; t < threads; ++t) {
    th.emplace_back([&, t] {
      std::vector<Worker*> mine;
      for (size_t n = 0; n < engines.size(); ++n) {
        Worker* w = workers[size_t(t) * engines.size() + n].get();
        if (!w->Open()) failed++;
        mine.push_back(w);
      }
      if (failed) return;
      // One thread drives its queues in turn (each Run slice is short).
      while (Now() < until) {
        for (Worker* w : mine) w->Run(std::min(until, Now() + 0.02));
      }
      for (Worker* w : mine) w->Drain();
    });
  }
  printf("load: %zu namespaces x %d threads x QD %u for %.0f s\n", engines.size(), threads, qd, seconds);
  long rss10 = 0;
  uint64_t last = 0;
  for (double next = t0 + 1; Now() < until; next += 1) {
    while (Now() < next) usleep(20000);
    const uint64_t ios = g_ios.load();
    const long rss = RssKb();
    if (rss10 == 0 && Now() - t0 >= 10) rss10 = rss;
    printf("load: t=%3.0fs iops=%" PRIu64 " errors=%" PRIu64 " mismatches=%" PRIu64 " rss=%ld KiB\n",
           Now() - t0, ios - last, g_errors.load(), g_mismatches.load(), rss);
    fflush(stdout);
    last = ios;
  }
  for (auto& t : th) t.join();
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  const long rss_end = RssKb();
  printf("load: done: %" PRIu64 " I/Os, %" PRIu64 " errors, %" PRIu64 " mismatches, peak RSS %ld KiB, RSS at 10 s %ld KiB, at the end %ld KiB\n",
         g_ios.load(), g_errors.load(), g_mismatches.load(), ru.ru_maxrss, rss10, rss_end);
  for (size_t n = 0; n < engines.size(); ++n) {
    auto st = engines[n]->Stats();
    for (size_t p = 0; p < st.size(); ++p)
      printf("load: ns %zu path %zu ios=%" PRIu64 " errors=%" PRIu64 " failovers=%" PRIu64 "\n", n, p,
             st[p].ios, st[p].errors, st[p].failovers);
  }
  workers.clear();
  const bool bounded = rss10 == 0 || rss_end - rss10 < rss_growth_mb * 1024;
  if (!bounded) printf("load: RSS grew by %ld KiB after 10 s\n", rss_end - rss10);
  // A run that completed nothing proves nothing (a path that never opened, a hung queue).
  if (g_ios == 0) printf("load: FAIL: no I/O completed\n");
  return failed == 0 && g_ios > 0 && g_errors == 0 && g_mismatches == 0 && bounded ? 0 : 1;
}
