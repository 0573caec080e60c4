// applog: the append-only log writer of examples/applog-c, through the C++ API
// (nvme_mpath/engine.h; link the static library: nvme_mpath::nvme_mpath_static or
// `pkg-config nvme-mpath-cpp`). Appends records asynchronously at queue depth 16, flushes,
// reads them back and checks them.
//
//   applog-cpp /dev/ngXnY [RECORDS]
#include <nvme_mpath/engine.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {
constexpr size_t kRecord = 4096;

void Fill(uint8_t* rec, uint64_t seq) {
  for (size_t i = 0; i < kRecord; i += 8) {
    uint64_t v = seq * 0x9e3779b97f4a7c15ull + i;
    std::memcpy(rec + i, &v, 8);
  }
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s /dev/ngXnY [RECORDS]\n", argv[0]);
    return 2;
  }
  const uint64_t records = argc == 3 ? std::strtoull(argv[2], nullptr, 0) : 1000;
  nvme_mpath::EngineOptions o;
  o.paths = {argv[1]};
  o.cmd_timeout_ms = 1000;
  o.name = "applog-cpp";
  auto engine = nvme_mpath::Engine::Open(o);
  if (!engine.ok()) {
    std::fprintf(stderr, "applog: %s\n", std::string(engine.status().message()).c_str());
    return 1;
  }
  auto& e = **engine;
  const uint32_t nlb = kRecord / e.info().lba_size;
  auto queue = e.CreateQueue({});
  if (!queue.ok()) {
    std::fprintf(stderr, "applog: %s\n", std::string(queue.status().message()).c_str());
    return 1;
  }
  auto& q = **queue;
  std::vector<uint8_t> log(records * kRecord + 4096);
  uint8_t* base = reinterpret_cast<uint8_t*>((uintptr_t(log.data()) + 4095) & ~uintptr_t(4095));
  std::vector<nvme_mpath::Io> ios(records);
  int failed = 0, done = 0;
  for (uint64_t i = 0; i < records; ++i) {
    Fill(base + i * kRecord, i);
    auto& io = ios[i];
    io.op = nvme_mpath::IoOp::kWrite;
    io.slba = i * nlb;
    io.nlb = nlb;
    io.buf = base + i * kRecord;
    io.ctx = &failed;
    io.done = [](nvme_mpath::Io* x) {
      if (x->res != 0) {
        std::fprintf(stderr, "applog: write at %llu: %s (%s)\n", (unsigned long long)x->slba,
                     std::strerror(-x->res), nvme_mpath::StatusName(x->status.raw));
        ++*static_cast<int*>(x->ctx);
      }
    };
    int r;
    while ((r = q.Submit(&io)) == -EAGAIN || q.inflight() >= 16) {
      done += q.Poll(1, -1);
      if (r == 0) break;
    }
    if (r != 0) {
      std::fprintf(stderr, "applog: submit: %s\n", std::strerror(-r));
      return 1;
    }
  }
  while (q.inflight() != 0) q.Poll(1, -1);
  if (failed == 0 && q.FlushCache() != 0) failed = 1;
  std::vector<uint8_t> back(kRecord + 4096);
  uint8_t* r = reinterpret_cast<uint8_t*>((uintptr_t(back.data()) + 4095) & ~uintptr_t(4095));
  for (uint64_t i = 0; i < records && failed == 0; ++i) {
    if (q.Read(i * nlb, nlb, r) != 0 || std::memcmp(r, base + i * kRecord, kRecord) != 0) {
      std::fprintf(stderr, "applog: record %llu bad\n", (unsigned long long)i);
      failed = 1;
    }
  }
  for (const auto& s : e.Stats())
    std::printf("applog: path %d ios=%llu errors=%llu failovers=%llu\n", s.path,
                (unsigned long long)s.ios, (unsigned long long)s.errors,
                (unsigned long long)s.failovers);
  std::printf("applog: %llu records %s\n", (unsigned long long)records,
              failed ? "FAILED" : "written, flushed and verified");
  return failed ? 1 : 0;
}
