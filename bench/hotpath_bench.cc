// File: hotpath_bench.cc
//
// The engine's per-I/O cost without a kernel: Submit (validate, select, tag, build the command,
// prep) and Poll (reap, match the tag, account, complete, callback) over a transport that
// completes every command at once. The peer, measured in the same run, is the bare minimum a
// single-path uring_cmd user does over the same transport: take an entry, build the command in
// it, reap, callback. Prints ns/I/O for both, their ratio, and heap allocations per I/O in steady state.
//
//   hotpath_bench [--ios N] [--batch B] [--mode engine|engine-batch|peer|both|capi|capi-batch|uring]
// --mode capi drives the same queue through the C API (nvme_mpath_submit/flush/poll);
// engine-batch and capi-batch give each round's I/Os to one SubmitBatch() /
// nvme_mpath_submit_batch() call.
// --mode uring measures the real io_uring transport instead (RunUring): its own cost per command.
// Under callgrind (bench/run-hotpath.sh) it prints instructions per I/O from two run lengths.
#include <linux/nvme_ioctl.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include <nvme_mpath/nvme_mpath.h>

#include "path.h"
#include "queue.h"
#include "support/fake_clock.h"
#include "uring_transport.h"

namespace {

std::atomic<uint64_t> g_allocs{0};

}  // namespace

// The replacement pair counts allocations; its delete frees what its new took from malloc. GCC
// 12 sees the replaced new inlined into make_unique as the library's and warns at this free.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { free(p); }
void operator delete(void* p, size_t) noexcept { free(p); }
#pragma GCC diagnostic pop

namespace nvme_mpath::internal {
nvme_mpath_queue* CApiWrapQueue(std::unique_ptr<Queue> q);  // src/c_api.cc
}  // namespace nvme_mpath::internal

namespace nvme_mpath::bench {
namespace {

using internal::Completion;

// Completes every submitted command successfully, in order. Fixed-size ring: no allocation.
class ImmediateTransport final : public internal::Transport {
 public:
  // The command is built in the ring's entry, as in an SQE (memory the compiler cannot drop).
  internal::CmdSlot Reserve(int, uint64_t tag, int) override {
    if (count_ == kRing) return {nullptr, -EBUSY};
    const uint32_t i = (head_ + count_++) & (kRing - 1);
    ring_[i] = tag;
    return {&cmds_[i], 0};
  }
  // Everything in the ring was prepared since the last Submit() (the bench reaps it all each
  // round): all of it is "taken by the kernel".
  int Submit() override { return count_; }
  int Reap(Completion* out, int max, int, int64_t) override {
    const uint32_t n = count_ < uint32_t(max) ? count_ : uint32_t(max);
    for (uint32_t k = 0; k < n; ++k) out[k] = Completion{ring_[(head_ + k) & (kRing - 1)], 0, 0};
    head_ = (head_ + n) & (kRing - 1);
    count_ -= n;
    return int(n);
  }
  int DropUnsent(uint64_t*, int) override { return 0; }
  absl::Status SetFile(int, int) override { return absl::OkStatus(); }
  int event_fd() const override { return -1; }

 private:
  // A power of two, indexed by masks as io_uring's rings are.
  static constexpr uint32_t kRing = 4096;
  uint64_t ring_[kRing];
  nvme_uring_cmd cmds_[kRing];
  uint32_t head_ = 0, count_ = 0;
};

double NowSec() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

uint64_t g_done = 0;
void OnDone(Io*) { ++g_done; }

struct Result {
  double ns_per_io;
  double allocs_per_io;
};

// Runs `round(r)` (one round of `batch` I/Os) `warmup` times, then `start()`, then ios / batch
// timed rounds; `done()` is the number of I/Os completed since `start()`, checked against the
// number run.
template <class Round, class Start, class Done>
Result Measure(const char* what, uint64_t ios, int batch, int warmup, Round&& round, Start&& start,
               Done&& done) {
  for (int r = 0; r < warmup; ++r) round(r);
  start();
  const uint64_t a0 = g_allocs.load();
  const double t0 = NowSec();
  const uint64_t rounds = ios / batch;
  for (uint64_t r = 0; r < rounds; ++r) round(r);
  const double t1 = NowSec();
  const uint64_t a1 = g_allocs.load();
  if (done() != rounds * batch) {
    fprintf(stderr, "%s completed %llu of %llu\n", what, (unsigned long long)done(),
            (unsigned long long)(rounds * batch));
    exit(1);
  }
  return {(t1 - t0) * 1e9 / double(rounds * batch), double(a1 - a0) / double(rounds * batch)};
}

// The engine's queue over the instant transport: two paths (0 optimized, 1 non-optimized), a
// 1 GiB-LBA namespace of 4 KiB LBAs, depth 256, 128 KiB transfers.
struct BenchQueue {
  internal::PathTable table{2};
  internal::MonotonicClock clock;
  std::unique_ptr<internal::QueueCore> Make() {
    table.path(0).ana = AnaState::kOptimized;
    table.path(0).fd = 3;
    table.path(1).ana = AnaState::kNonOptimized;
    table.path(1).fd = 4;
    internal::QueueConfig cfg;
    cfg.nsze = 1 << 30;
    cfg.lba_size = 4096;
    cfg.depth = 256;
    cfg.max_transfer_bytes = 128 * 1024;
    return std::make_unique<internal::QueueCore>(cfg, &table, std::make_unique<ImmediateTransport>(),
                                                 &clock, nullptr);
  }
};

// kBatch: each round's I/Os go to one SubmitBatch() call instead of one Submit() each.
template <bool kBatch>
Result RunEngine(uint64_t ios, int batch) {
  BenchQueue b;
  std::unique_ptr<internal::QueueCore> q = b.Make();
  std::vector<Io> io(batch);
  std::vector<Io*> ptrs(batch);
  alignas(4096) static uint8_t buf[4096];
  for (int i = 0; i < batch; ++i) {
    io[i].op = IoOp::kRead;
    io[i].nlb = 1;
    io[i].buf = buf;
    io[i].done = OnDone;
    ptrs[i] = &io[i];
  }
  auto round = [&](uint64_t r) {
    for (int i = 0; i < batch; ++i) {
      io[i].slba = (r * 7919 + i) & ((1 << 20) - 1);
      if constexpr (!kBatch) q->Submit(&io[i]);
    }
    if constexpr (kBatch) q->SubmitBatch(ptrs.data(), uint32_t(batch));
    q->Flush();
    q->Poll(0, 0);
  };
  return Measure(kBatch ? "engine-batch" : "engine", ios, batch, 1000, round,
                 [] { g_done = 0; }, [] { return g_done; });
}

// The engine's queue as a C program (and the fio engine) drives it: nvme_mpath_io through
// nvme_mpath_submit/flush/poll, the same instant transport and paths as RunEngine().
uint64_t g_c_done = 0;
void OnCDone(nvme_mpath_io*) { ++g_c_done; }

// kBatch: each round's requests go to one nvme_mpath_submit_batch() call.
template <bool kBatch>
Result RunCApi(uint64_t ios, int batch) {
  BenchQueue b;
  nvme_mpath_queue* q = internal::CApiWrapQueue(b.Make());
  std::vector<nvme_mpath_io> io(batch);
  std::vector<nvme_mpath_io*> ptrs(batch);
  alignas(4096) static uint8_t buf[4096];
  for (int i = 0; i < batch; ++i) {
    nvme_mpath_io_init(&io[i]);
    io[i].op = NVME_MPATH_OP_READ;
    io[i].nlb = 1;
    io[i].buf = buf;
    io[i].cb = OnCDone;
    ptrs[i] = &io[i];
  }
  auto round = [&](uint64_t r) {
    for (int i = 0; i < batch; ++i) {
      io[i].slba = (r * 7919 + i) & ((1 << 20) - 1);
      if constexpr (!kBatch) nvme_mpath_submit(q, &io[i]);
    }
    if constexpr (kBatch) nvme_mpath_submit_batch(q, ptrs.data(), unsigned(batch));
    nvme_mpath_flush(q);
    nvme_mpath_poll(q, 0, 0);
  };
  const Result res = Measure(kBatch ? "capi-batch" : "capi", ios, batch, 1000, round,
                             [] { g_c_done = 0; }, [] { return g_c_done; });
  nvme_mpath_queue_destroy(q);
  return res;
}

Result RunPeer(uint64_t ios, int batch) {
  ImmediateTransport t;
  std::vector<Io> io(batch);
  alignas(4096) static uint8_t buf[4096];
  Completion c[64];
  g_done = 0;
  auto round = [&](uint64_t r) {
    for (int i = 0; i < batch; ++i) {
      const uint64_t slba = (r * 7919 + i) & ((1 << 20) - 1);
      // Built in place, as a liburing user fills the SQE io_uring_get_sqe() returned.
      nvme_uring_cmd* cmd = t.Reserve(0, reinterpret_cast<uintptr_t>(&io[i]), -1).cmd;
      memset(cmd, 0, sizeof(*cmd));
      cmd->opcode = 0x02;
      cmd->nsid = 1;
      cmd->addr = reinterpret_cast<uintptr_t>(buf);
      cmd->data_len = 4096;
      cmd->cdw10 = uint32_t(slba);
      cmd->cdw11 = uint32_t(slba >> 32);
    }
    t.Submit();
    int n;
    while ((n = t.Reap(c, 64, 0, 0)) > 0) {
      for (int k = 0; k < n; ++k) {
        Io* x = reinterpret_cast<Io*>(uintptr_t(c[k].tag));
        x->res = c[k].res;
        OnDone(x);
      }
    }
  };
  return Measure("peer", ios, batch, 1000, round, [] { g_done = 0; }, [] { return g_done; });
}

// The real transport's user-space cost per command: an io_uring (SQE128/CQE32) with a regular
// file in slot 0, which refuses every uring_cmd, so each command goes through the kernel and
// completes with an error at once. Per round: `batch` commands reserved and built in place (as
// the peer builds them), one Submit(), Reap() until all are back. No device needed; the time
// includes the system calls, callgrind counts only the user-space instructions.
Result RunUring(uint64_t ios, int batch) {
  internal::UringOptions o;
  o.entries = 64;
  auto t = internal::UringTransport::Create(o);
  if (!t.ok()) {
    fprintf(stderr, "uring: %s\n", t.status().ToString().c_str());
    exit(1);
  }
  char path[] = "/tmp/hotpath_bench.XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0 || !(*t)->SetFile(0, fd).ok()) {
    fprintf(stderr, "uring: cannot install a file\n");
    exit(1);
  }
  unlink(path);
  if (batch > 64) batch = 64;
  alignas(4096) static uint8_t buf[4096];
  Completion c[64];
  auto round = [&](uint64_t r) {
    for (int i = 0; i < batch; ++i) {
      const uint64_t slba = (r * 7919 + i) & ((1 << 20) - 1);
      nvme_uring_cmd* cmd = (*t)->Reserve(0, uint64_t(i), -1).cmd;
      if (cmd == nullptr) exit(2);
      memset(cmd, 0, sizeof(*cmd));
      cmd->opcode = 0x02;
      cmd->nsid = 1;
      cmd->addr = reinterpret_cast<uintptr_t>(buf);
      cmd->data_len = 4096;
      cmd->cdw10 = uint32_t(slba);
      cmd->cdw11 = uint32_t(slba >> 32);
    }
    (*t)->Submit();
    for (int got = 0; got < batch;) {
      const int n = (*t)->Reap(c, 64, batch - got, 1'000'000'000);
      if (n < 0) exit(3);
      got += n;
    }
  };
  uint64_t done = 0;  // commands reaped: the round returns only when all of its came back
  const Result res = Measure(
      "uring", ios, batch, 100, [&](uint64_t r) { round(r), done += batch; }, [&] { done = 0; },
      [&] { return done; });
  close(fd);
  return res;
}

}  // namespace
}  // namespace nvme_mpath::bench

int main(int argc, char** argv) {
  uint64_t ios = 10'000'000;
  int batch = 32;
  std::string mode = "both";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--ios") ios = strtoull(argv[i + 1], nullptr, 0);
    else if (a == "--batch") batch = atoi(argv[i + 1]);
    else if (a == "--mode") mode = argv[i + 1];
  }
  using namespace nvme_mpath::bench;
  if (mode == "engine" || mode == "both") {
    Result e = RunEngine<false>(ios, batch);
    printf("hotpath engine: %.1f ns/io, %.3f heap allocations/io (%llu I/Os, batch %d)\n",
           e.ns_per_io, e.allocs_per_io, (unsigned long long)ios, batch);
    if (mode == "both") {
      Result p = RunPeer(ios, batch);
      printf("hotpath peer (bare uring_cmd prep/reap): %.1f ns/io, %.3f heap allocations/io\n",
             p.ns_per_io, p.allocs_per_io);
      printf("hotpath ratio engine/peer: %.2fx time\n", e.ns_per_io / p.ns_per_io);
    }
  } else if (mode == "engine-batch") {
    Result e = RunEngine<true>(ios, batch);
    printf("hotpath engine-batch: %.1f ns/io, %.3f heap allocations/io (%llu I/Os, batch %d)\n",
           e.ns_per_io, e.allocs_per_io, (unsigned long long)ios, batch);
  } else if (mode == "capi") {
    Result c = RunCApi<false>(ios, batch);
    printf("hotpath capi: %.1f ns/io, %.3f heap allocations/io (%llu I/Os, batch %d)\n",
           c.ns_per_io, c.allocs_per_io, (unsigned long long)ios, batch);
  } else if (mode == "capi-batch") {
    Result c = RunCApi<true>(ios, batch);
    printf("hotpath capi-batch: %.1f ns/io, %.3f heap allocations/io (%llu I/Os, batch %d)\n",
           c.ns_per_io, c.allocs_per_io, (unsigned long long)ios, batch);
  } else if (mode == "uring") {
    Result u = RunUring(ios, batch);
    printf("hotpath uring: %.1f ns/command, %.3f heap allocations/command (%llu commands, batch %d)\n",
           u.ns_per_io, u.allocs_per_io, (unsigned long long)ios, batch);
  } else if (mode == "peer") {
    Result p = RunPeer(ios, batch);
    printf("hotpath peer: %.1f ns/io, %.3f heap allocations/io (%llu I/Os, batch %d)\n",
           p.ns_per_io, p.allocs_per_io, (unsigned long long)ios, batch);
  }
  return 0;
}
