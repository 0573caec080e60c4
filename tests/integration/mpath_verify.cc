// File: mpath_verify.cc
//
// nvme-mpath-verify: a data-verifying workload through the engine, for the lab's fault tests.
// It keeps --qd I/Os in flight for --seconds over a region of the namespace: writes stamp every
// LBA with (lba, version) and reads check that each LBA holds the last acknowledged version; no
// two I/Os touch the same block at once. At the end it reads the whole region back. It prints a
// progress line per second, per-path counters and failover latency, and a JSON summary.
//
// Exit status: 0 when there was no application error and no mismatch (or, with
// --expect-errors, when errors did occur only as allowed), 1 otherwise, 2 on bad usage.
#include <nvme_mpath/engine.h>

#include <json-c/json.h>

#include <time.h>
#include <unistd.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "mpath_json.h"

namespace {

using namespace nvme_mpath;

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct Args {
  std::vector<std::string> paths;
  std::string nqn;
  uint32_t nsid = 0;
  int qd = 16;
  double seconds = 10;
  double write_seconds = -1;  // writes only in the first S s of the mix (-1: all of it)
  std::string stop_file;      // the mix also ends once this file exists
  uint32_t region_mb = 8;
  uint32_t bs = 4096;
  std::string policy = "numa";
  uint32_t cmd_timeout_ms = 0;
  uint32_t no_path_timeout_ms = 30000;
  int32_t write_hold_ms = -1;
  uint32_t ana_poll_ms = 1000;
  std::string json;
  bool expect_errors = false;
  uint64_t seed = 1;
};

void Usage() {
  printf(
      "usage: nvme-mpath-verify (--dev /dev/ngXnY[,/dev/ngXnY...] | --nqn NQN --nsid N) [options]\n"
      "  --qd N                 I/Os in flight (16)\n"
      "  --seconds S            run time (10)\n"
      "  --stop-file F          end the mix early once F exists (looked at every second): a\n"
      "                         fault script that runs late still has I/O to its last step\n"
      "  --write-seconds S      write only during the first S s, then read only: a late copy of\n"
      "                         a cancelled write is then not hidden by a rewrite (all of it)\n"
      "  --region-mb M          size of the region written and verified (8)\n"
      "  --bs BYTES             I/O size, a multiple of the LBA size (4096)\n"
      "  --policy P             numa|round-robin|queue-depth|active-passive|latency (numa)\n"
      "  --cmd-timeout-ms T     per-command timeout (0: kernel default)\n"
      "  --no-path-timeout-ms T how long I/O waits for a path (30000)\n"
      "  --write-hold-ms T      hold for writes that may still execute (-1: engine rule)\n"
      "  --ana-poll-ms T        ANA poll interval (1000)\n"
      "  --json FILE            write a JSON summary\n"
      "  --expect-errors        errors are expected (all paths down): succeed if every error is\n"
      "                         -ENOLINK and nothing hangs\n");
}

struct Slot {
  Io io;
  uint8_t* buf = nullptr;
  uint64_t block = 0;
  uint64_t version = 0;
  double start = 0;
  bool active = false;
};

struct State {
  uint32_t lbas_per_block = 0;
  uint32_t lba_size = 0;
  std::vector<uint64_t> acked;   // per block
  std::vector<uint8_t> busy;
  uint64_t errors = 0, enolink = 0, mismatches = 0, ios = 0, writes = 0, reads = 0;
  double max_latency = 0;
  int first_errors_printed = 0;
};

State* g;

void Stamp(uint8_t* buf, uint64_t block, uint64_t version) {
  for (uint32_t l = 0; l < g->lbas_per_block; ++l) {
    uint64_t lba = block * g->lbas_per_block + l;
    uint8_t* p = buf + size_t(l) * g->lba_size;
    memcpy(p, &lba, 8);
    memcpy(p + 8, &version, 8);
    for (uint32_t i = 16; i < g->lba_size; i += 8) {
      uint64_t v = lba * 0x9e3779b97f4a7c15ull ^ version ^ i;
      memcpy(p + i, &v, 8);
    }
  }
}

bool Check(const uint8_t* buf, uint64_t block, uint64_t version) {
  std::vector<uint8_t> want(size_t(g->lbas_per_block) * g->lba_size);
  if (version == 0) return true;  // never written in this run: content unknown
  Stamp(want.data(), block, version);
  return memcmp(want.data(), buf, want.size()) == 0;
}

void OnDone(Io* io) {
  Slot* s = static_cast<Slot*>(io->ctx);
  g->busy[s->block] = 0;
  s->active = false;
  double lat = Now() - s->start;
  if (lat > g->max_latency) g->max_latency = lat;
  ++g->ios;
  if (io->res != 0) {
    ++g->errors;
    if (io->res == -ENOLINK) ++g->enolink;
    if (g->first_errors_printed++ < 10)
      fprintf(stderr, "verify: %s block %" PRIu64 " failed: res=%d %s%s%s\n",
              io->op == IoOp::kWrite ? "write" : "read", s->block, io->res, strerror(-io->res),
              io->status.raw ? ", NVMe " : "", io->status.raw ? StatusName(io->status.raw) : "");
    return;
  }
  if (io->op == IoOp::kWrite) {
    ++g->writes;
    g->acked[s->block] = s->version;
  } else {
    ++g->reads;
    if (!Check(s->buf, s->block, g->acked[s->block])) {
      ++g->mismatches;
      uint64_t got = 0;
      memcpy(&got, s->buf + 8, 8);
      fprintf(stderr, "verify: MISMATCH block %" PRIu64 ": expected version %" PRIu64 ", got %" PRIu64 "\n",
              s->block, g->acked[s->block], got);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) { fprintf(stderr, "verify: %s needs a value\n", k.c_str()); exit(2); }
      return argv[++i];
    };
    if (k == "--dev") {
      std::string v = val();
      size_t p = 0;
      while (p <= v.size()) {
        size_t c = v.find(',', p);
        a.paths.push_back(v.substr(p, c == std::string::npos ? std::string::npos : c - p));
        if (c == std::string::npos) break;
        p = c + 1;
      }
    } else if (k == "--nqn") a.nqn = val();
    else if (k == "--nsid") a.nsid = uint32_t(atoi(val().c_str()));
    else if (k == "--qd") a.qd = atoi(val().c_str());
    else if (k == "--seconds") a.seconds = atof(val().c_str());
    else if (k == "--write-seconds") a.write_seconds = atof(val().c_str());
    else if (k == "--stop-file") a.stop_file = val();
    else if (k == "--region-mb") a.region_mb = uint32_t(atoi(val().c_str()));
    else if (k == "--bs") a.bs = uint32_t(atoi(val().c_str()));
    else if (k == "--policy") a.policy = val();
    else if (k == "--cmd-timeout-ms") a.cmd_timeout_ms = uint32_t(atoi(val().c_str()));
    else if (k == "--no-path-timeout-ms") a.no_path_timeout_ms = uint32_t(atoi(val().c_str()));
    else if (k == "--write-hold-ms") a.write_hold_ms = atoi(val().c_str());
    else if (k == "--ana-poll-ms") a.ana_poll_ms = uint32_t(atoi(val().c_str()));
    else if (k == "--json") a.json = val();
    else if (k == "--expect-errors") a.expect_errors = true;
    else if (k == "--seed") a.seed = strtoull(val().c_str(), nullptr, 0);
    else if (k == "-h" || k == "--help") { Usage(); return 0; }
    else { fprintf(stderr, "verify: unknown option %s\n", k.c_str()); Usage(); return 2; }
  }
  auto pol = ParseIoPolicy(a.policy);
  if (!pol || a.qd < 1 || a.qd > 1024 || (a.paths.empty() && (a.nqn.empty() || a.nsid == 0))) {
    Usage();
    return 2;
  }
  EngineOptions o;
  o.paths = a.paths;
  o.explicit_paths_only = a.paths.size() > 1;
  o.subsysnqn = a.nqn;
  o.nsid = a.nsid;
  o.policy = *pol;
  o.cmd_timeout_ms = a.cmd_timeout_ms;
  o.no_path_timeout_ms = a.no_path_timeout_ms;
  o.write_hold_ms = a.write_hold_ms;
  o.ana_poll_interval_ms = a.ana_poll_ms;
  o.name = "nvme-mpath-verify";
  auto engine = Engine::Open(o);
  if (!engine.ok()) {
    fprintf(stderr, "verify: %s\n", std::string(engine.status().message()).c_str());
    return 1;
  }
  Engine& e = **engine;
  const NamespaceInfo& ns = e.info();
  if (a.bs % ns.lba_size != 0) {
    fprintf(stderr, "verify: --bs %u is not a multiple of the LBA size %u\n", a.bs, ns.lba_size);
    return 2;
  }
  State st;
  g = &st;
  st.lba_size = ns.lba_size;
  st.lbas_per_block = a.bs / ns.lba_size;
  uint64_t blocks = uint64_t(a.region_mb) * 1024 * 1024 / a.bs;
  if (blocks * st.lbas_per_block > ns.nsze) blocks = ns.nsze / st.lbas_per_block;
  if (blocks < uint64_t(a.qd) * 2) {
    fprintf(stderr, "verify: region too small for qd %d\n", a.qd);
    return 2;
  }
  st.acked.assign(blocks, 0);
  st.busy.assign(blocks, 0);
  QueueOptions qo;
  qo.depth = uint32_t(a.qd) * 2 + 8;
  auto q = e.CreateQueue(qo);
  if (!q.ok()) {
    fprintf(stderr, "verify: %s\n", std::string(q.status().message()).c_str());
    return 1;
  }
  Queue& queue = **q;
  printf("verify: %s nsid %u, %zu paths, lba %u, %" PRIu64 " blocks of %u B, qd %d, %.0f s, policy %s, stats %s\n",
         ns.subsysnqn.c_str(), ns.nsid, e.Paths().size(), ns.lba_size, blocks, a.bs, a.qd,
         a.seconds, a.policy.c_str(), e.stats_segment().c_str());
  for (const PathInfo& p : e.Paths())
    printf("verify: path %d %s %s %s %s\n", p.index, p.ng_path.c_str(), p.ctrl.c_str(),
           p.key.address.c_str(), AnaStateName(p.ana_state));
  fflush(stdout);

  std::vector<Slot> slots(size_t(a.qd));
  std::vector<uint8_t> mem(size_t(a.qd) * a.bs + 4096);
  uint8_t* base = reinterpret_cast<uint8_t*>((uintptr_t(mem.data()) + 4095) & ~uintptr_t(4095));
  std::mt19937_64 rng(a.seed);
  uint64_t version = 0;
  int active = 0;  // I/Os in flight (the queue's count)
  const double t0 = Now();
  double next_print = t0 + 1;
  uint64_t last_ios = 0;
  auto start = [&](Slot& s, bool verify_pass, uint64_t block) {
    s.block = block;
    st.busy[block] = 1;
    s.io = Io{};
    s.io.slba = block * st.lbas_per_block;
    s.io.nlb = st.lbas_per_block;
    s.io.buf = s.buf;
    s.io.done = OnDone;
    s.io.ctx = &s;
    const bool writes = a.write_seconds < 0 || Now() - t0 < a.write_seconds;
    if (!verify_pass && writes && (rng() & 1)) {
      s.io.op = IoOp::kWrite;
      s.version = ++version;
      Stamp(s.buf, block, s.version);
    } else {
      s.io.op = IoOp::kRead;
      memset(s.buf, 0, a.bs);
    }
    s.start = Now();
    s.active = true;
    int r = queue.Submit(&s.io);
    if (r != 0) {
      fprintf(stderr, "verify: submit failed: %s\n", strerror(-r));
      st.busy[block] = 0;
      s.active = false;
      ++st.errors;
      return false;
    }
    return true;
  };
  for (auto& s : slots) s.buf = base + (&s - slots.data()) * a.bs;

  // Phase 1: random mix for --seconds. Phase 2: read the whole region back.
  uint64_t verify_next = 0;
  bool verify_pass = false;
  for (;;) {
    const double now = Now();
    if (!verify_pass && now - t0 >= a.seconds) verify_pass = true;
    // Refill idle slots.
    active = int(queue.inflight());
    for (auto& s : slots) {
      if (active >= a.qd) break;
      if (s.active) continue;
      uint64_t block;
      if (verify_pass) {
        if (verify_next >= blocks) break;
        block = verify_next++;
        if (st.busy[block]) { --verify_next; break; }
      } else {
        block = rng() % blocks;
        if (st.busy[block]) continue;
      }
      if (start(s, verify_pass, block)) ++active;
    }
    if (verify_pass && verify_next >= blocks && queue.inflight() == 0) break;
    queue.Poll(1, 100000);
    if (now >= next_print) {
      auto ps = e.Stats();
      std::string per;
      for (auto& p : ps) per += " p" + std::to_string(p.path) + "=" + std::to_string(p.ios);
      printf("verify: t=%4.0fs %s iops=%" PRIu64 " errors=%" PRIu64 " mismatches=%" PRIu64 " |%s\n",
             now - t0, verify_pass ? "readback" : "mixed", st.ios - last_ios, st.errors,
             st.mismatches, per.c_str());
      fflush(stdout);
      last_ios = st.ios;
      next_print = now + 1;
      if (!verify_pass && !a.stop_file.empty() && access(a.stop_file.c_str(), F_OK) == 0) {
        printf("verify: %s exists: the mix ends at t=%.0fs\n", a.stop_file.c_str(), now - t0);
        verify_pass = true;
      }
    }
    if (now - t0 > a.seconds + 600) {
      fprintf(stderr, "verify: HANG: still %u I/O in flight 600 s after the end\n", queue.inflight());
      return 1;
    }
  }
  const double elapsed = Now() - t0;
  auto stats = e.Stats();
  auto paths = e.Paths();
  uint64_t fo_hist[kLatencyBuckets] = {};
  printf("verify: done in %.1f s: %" PRIu64 " I/Os (%" PRIu64 " writes, %" PRIu64 " reads), %" PRIu64
         " errors, %" PRIu64 " mismatches, max latency %.3f s\n",
         elapsed, st.ios, st.writes, st.reads, st.errors, st.mismatches, st.max_latency);
  for (size_t i = 0; i < stats.size(); ++i) {
    const auto& s = stats[i];
    for (int b = 0; b < kLatencyBuckets; ++b) fo_hist[b] += s.failover_hist[b];
    printf("verify: path %zu %-12s ana=%-14s ios=%-9" PRIu64 " MiB=%-7" PRIu64 " errors=%-5" PRIu64
           " retries=%-4" PRIu64 " failovers=%-5" PRIu64 " requeues=%-5" PRIu64 " busy=%.2fs",
           i, paths[i].ng_path.c_str(), AnaStateName(paths[i].ana_state), s.ios, s.bytes >> 20,
           s.errors, s.retries, s.failovers, s.requeues, s.busy_ns / 1e9);
    for (int c = 0; c < kErrorClassCount; ++c)
      if (s.errors_by_class[c]) printf(" %s=%" PRIu64, ErrorClassName(ErrorClass(c)), s.errors_by_class[c]);
    printf("\n");
  }
  const uint64_t p50 = HistogramQuantileUs(fo_hist, 0.5), p99 = HistogramQuantileUs(fo_hist, 0.99);
  uint64_t nfo = 0;
  for (uint64_t v : fo_hist) nfo += v;
  printf("verify: failover latency (failing completion -> good completion elsewhere): %" PRIu64
         " samples, p50 <= %" PRIu64 " us, p99 <= %" PRIu64 " us\n", nfo, p50, p99);
  if (!a.json.empty()) {
    // Through json-c and the shared UTF-8 repair (tools/json), like every nvme-mpath document:
    // a path name is written as valid JSON whatever bytes it holds.
    json_object* root = json_object_new_object();
    auto add = [](json_object* o, const char* k, json_object* v) { json_object_object_add(o, k, v); };
    // As the ostream used to print them (%g), and null for what JSON cannot hold (inf, nan).
    auto number = [](double v) {
      char b[32];
      snprintf(b, sizeof(b), "%g", v);
      return std::isfinite(v) ? json_object_new_double_s(v, b) : nullptr;
    };
    add(root, "schema_version", json_object_new_int(1));
    add(root, "seconds", number(elapsed));
    add(root, "ios", json_object_new_uint64(st.ios));
    add(root, "writes", json_object_new_uint64(st.writes));
    add(root, "reads", json_object_new_uint64(st.reads));
    add(root, "errors", json_object_new_uint64(st.errors));
    add(root, "enolink", json_object_new_uint64(st.enolink));
    add(root, "mismatches", json_object_new_uint64(st.mismatches));
    add(root, "max_latency_s", number(st.max_latency));
    add(root, "failover_samples", json_object_new_uint64(nfo));
    add(root, "failover_p50_us", json_object_new_uint64(p50));
    add(root, "failover_p99_us", json_object_new_uint64(p99));
    json_object* jpaths = json_object_new_array();
    for (size_t i = 0; i < stats.size(); ++i) {
      const auto& s = stats[i];
      json_object* p = json_object_new_object();
      add(p, "ng", mpath_json_string_len(paths[i].ng_path.data(), paths[i].ng_path.size()));
      add(p, "ios", json_object_new_uint64(s.ios));
      add(p, "errors", json_object_new_uint64(s.errors));
      add(p, "failovers", json_object_new_uint64(s.failovers));
      add(p, "requeues", json_object_new_uint64(s.requeues));
      add(p, "retries", json_object_new_uint64(s.retries));
      json_object_array_add(jpaths, p);
    }
    add(root, "paths", jpaths);
    std::ofstream j(a.json);
    j << json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) << "\n";
    json_object_put(root);
    if (!j) fprintf(stderr, "verify: cannot write %s\n", a.json.c_str());
  }
  fflush(stdout);
  if (st.mismatches != 0) return 1;
  if (a.expect_errors) return st.errors != 0 && st.errors == st.enolink ? 0 : 1;
  return st.errors == 0 ? 0 : 1;
}
