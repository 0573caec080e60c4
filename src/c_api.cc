// File: c_api.cc
//
// The C API (nvme_mpath/nvme_mpath.h) over the C++ API. Every entry point catches exceptions
// (std::bad_alloc from the control plane) and maps absl::Status to -errno: nothing C++ crosses.
//
// Symbol versions (src/nvme_mpath.map): a function whose behaviour changed with a layout keeps
// its old behaviour under the old version for programs linked against it. Only the _init
// functions so far: API 1's wrote an API 1-sized struct, so nvme_mpath_options_init@NVME_MPATH_1
// still writes that many bytes (a program built against API 1 has no room for more), and
// nvme_mpath_options_init@@NVME_MPATH_2 (what programs link against now) writes the API 2 struct.
// NVME_MPATH_SYMVER is set for the shared library only: the static one (the fio engine, the
// tests) has no versions and defines the plain names.
#include <nvme_mpath/nvme_mpath.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>

#include <nvme_mpath/engine.h>

#include "absl/base/attributes.h"

#include "c_options.h"
#include "io_check.h"
#include "log.h"

namespace {

using nvme_mpath::Engine;
using nvme_mpath::Io;
using nvme_mpath::IoOp;
using nvme_mpath::Queue;

// Returns the errno an absl::ErrnoToStatus() status was made from, or 0. ErrnoToStatus appends
// ": <strerror(errno)>" to the message and picks the code from the errno, so both must agree.
int OriginalErrno(const absl::Status& s) {
  const std::string_view msg(s.message().data(), s.message().size());
  for (int e = 1; e < 134; ++e) {
    if (absl::ErrnoToStatusCode(e) != s.code()) continue;
    char buf[128];
    const char* text = strerror_r(e, buf, sizeof(buf));  // as absl's StrError() words it
    size_t n = strlen(text);
    if (msg.size() >= n + 2 && msg.substr(msg.size() - n) == text &&
        msg.substr(msg.size() - n - 2, 2) == ": ")
      return e;
  }
  return 0;
}

// Maps a status code to -errno when no errno is carried.
int CodeToErrno(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return 0;
    case absl::StatusCode::kInvalidArgument: return -EINVAL;
    case absl::StatusCode::kNotFound: return -ENOENT;
    case absl::StatusCode::kPermissionDenied: return -EACCES;
    case absl::StatusCode::kUnimplemented: return -ENOSYS;
    case absl::StatusCode::kUnavailable: return -EAGAIN;
    case absl::StatusCode::kResourceExhausted: return -ENOMEM;
    case absl::StatusCode::kFailedPrecondition: return -EOPNOTSUPP;
    case absl::StatusCode::kAlreadyExists: return -EEXIST;
    case absl::StatusCode::kOutOfRange: return -ERANGE;
    case absl::StatusCode::kDeadlineExceeded: return -ETIMEDOUT;
    case absl::StatusCode::kCancelled: return -ECANCELED;
    case absl::StatusCode::kAborted: return -ECANCELED;
    case absl::StatusCode::kDataLoss: return -EIO;
    default: return -EIO;
  }
}

}  // namespace

namespace nvme_mpath::internal {
// Returns the -errno for a control-plane status: the original errno when the status came from
// absl::ErrnoToStatus (so "open: Permission denied" stays -EACCES, "No such device" -ENODEV),
// else one per code. Not static: c_api_test.cc declares and tests it.
int CApiErrno(const absl::Status& s) {
  if (s.ok()) return 0;
  if (int e = OriginalErrno(s); e != 0) return -e;
  return CodeToErrno(s.code());
}
}  // namespace nvme_mpath::internal

namespace {

using nvme_mpath::internal::CApiErrno;
using nvme_mpath::internal::IsInFlight;

void SetErr(char* buf, size_t len, const std::string& msg) {
  if (buf == nullptr || len == 0) return;
  size_t n = std::min(len - 1, msg.size());
  memcpy(buf, msg.data(), n);
  buf[n] = 0;
}

void Copy(char* dst, size_t n, const std::string& s) { SetErr(dst, n, s); }

// The C++ Io lives in the opaque area of the C io.
struct Slot {
  Io io;
  nvme_mpath_io* c;
};
static_assert(sizeof(Slot) <= sizeof(nvme_mpath_io::opaque), "grow nvme_mpath_io.opaque");
static_assert(alignof(Slot) <= alignof(uint64_t), "opaque alignment");
static_assert(offsetof(nvme_mpath_io, opaque) % alignof(Slot) == 0, "opaque alignment");
// The trampoline gets the Io* and finds the Slot at the same address.
static_assert(std::is_standard_layout_v<Slot> && offsetof(Slot, io) == 0);
static_assert(std::is_trivially_destructible_v<Slot>, "Slot is overwritten at each submit");

Slot* SlotOf(nvme_mpath_io* io) { return reinterpret_cast<Slot*>(io->opaque); }

void Trampoline(Io* cpp) {
  Slot* s = reinterpret_cast<Slot*>(cpp);
  nvme_mpath_io* c = s->c;
  c->res = cpp->res;
  c->status = cpp->status.raw;
  c->result = cpp->result;
  if (c->cb) c->cb(c);
}

// Builds the C++ Io of `c` in its opaque area. Per I/O, so only what the op reads is copied:
// the raw command's fields only for NVME_MPATH_OP_RAW (the engine reads Io::raw for kRaw only;
// for any other op it stays as constructed, zero).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline int Fill(nvme_mpath_io* c) {
  static_assert(NVME_MPATH_OP_READ == static_cast<int>(IoOp::kRead) &&
                    NVME_MPATH_OP_WRITE == static_cast<int>(IoOp::kWrite) &&
                    NVME_MPATH_OP_FLUSH == static_cast<int>(IoOp::kFlush) &&
                    NVME_MPATH_OP_WRITE_ZEROES == static_cast<int>(IoOp::kWriteZeroes) &&
                    NVME_MPATH_OP_DEALLOCATE == static_cast<int>(IoOp::kDeallocate) &&
                    NVME_MPATH_OP_COMPARE == static_cast<int>(IoOp::kCompare) &&
                    NVME_MPATH_OP_RAW == static_cast<int>(IoOp::kRaw) &&
                    NVME_MPATH_OP_VERIFY == static_cast<int>(IoOp::kVerify) &&
                    NVME_MPATH_OP_WRITE_UNCORRECTABLE == static_cast<int>(IoOp::kWriteUncorrectable),
                "the C op codes are IoOp's");
  if (c->op > NVME_MPATH_OP_WRITE_UNCORRECTABLE) return -EINVAL;  // a bad request: nothing submitted
  // A request in flight (submitted, its cb not run yet) keeps the engine's state of it here:
  // refused before that is overwritten. Its Slot names it; a fresh request's (zeroed by
  // nvme_mpath_io_init) names nothing, and a struct copy's names the original.
  if (const Slot* old = SlotOf(c); IsInFlight(old->io) && old->c == c) [[unlikely]]
    return -EALREADY;
  Slot* s = new (c->opaque) Slot{
      Io{.op = static_cast<IoOp>(c->op),
         .slba = c->slba,
         .nlb = c->nlb,
         .buf = c->buf,
         .md = c->md,
         .buf_index = c->buf_index,
         .cdw12_flags = (c->cdw12 & ~0xffffu) |
                        ((c->flags & NVME_MPATH_IO_FUA) != 0 ? nvme_mpath::kCdw12Fua : 0),
         .cdw13 = c->cdw13,
         .reftag = c->cdw14,
         .apptag = static_cast<uint16_t>(c->cdw15),
         .apptag_mask = static_cast<uint16_t>(c->cdw15 >> 16),
         .raw = {},
         .done = Trampoline,
         .status = {},
         .priv = {}},
      c};
  if (c->op == NVME_MPATH_OP_RAW) [[unlikely]] {
    Io::Raw& raw = s->io.raw;
    raw.opcode = c->raw_opcode;
    raw.idempotent = (c->flags & NVME_MPATH_IO_IDEMPOTENT) != 0;
    raw.cdw2 = c->cdw2;
    raw.cdw3 = c->cdw3;
    raw.cdw10 = c->cdw10;
    raw.cdw11 = c->cdw11;
    raw.cdw12 = c->cdw12;
    raw.cdw13 = c->cdw13;
    raw.cdw14 = c->cdw14;
    raw.cdw15 = c->cdw15;
    raw.data_len = c->raw_data_len;
    raw.metadata_len = c->raw_metadata_len;
  }
  return 0;
}

template <typename F>
int Guard(F&& f) noexcept {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  } catch (...) {
    return -EIO;
  }
}

}  // namespace

struct nvme_mpath_engine {
  std::unique_ptr<Engine> engine;
  std::string segment;
};
struct nvme_mpath_queue {
  std::unique_ptr<Queue> queue;
};

namespace nvme_mpath::internal {
// Returns a C handle that owns `e` (nvme_mpath_close frees it), as nvme_mpath_open makes one.
// Not static: c_api_test.cc declares it, to run the C entry points over a fake Engine.
nvme_mpath_engine* CApiWrapEngine(std::unique_ptr<Engine> e) {
  auto* h = new nvme_mpath_engine{std::move(e), ""};
  h->segment = h->engine->stats_segment();
  return h;
}
// Returns a C handle that owns `q` (nvme_mpath_queue_destroy frees it), as
// nvme_mpath_queue_create makes one. For bench/hotpath_bench.cc: the C entry points' per-I/O
// cost over its instant transport.
nvme_mpath_queue* CApiWrapQueue(std::unique_ptr<Queue> q) {
  return new nvme_mpath_queue{std::move(q)};
}
}  // namespace nvme_mpath::internal

extern "C" {

#ifndef NVME_MPATH_SYMVER
NVME_MPATH_API void nvme_mpath_options_init(struct nvme_mpath_options* o) {
  if (o == nullptr) return;
  nvme_mpath::internal::InitCOptions(o, sizeof(*o));
}
NVME_MPATH_API void nvme_mpath_queue_options_init(struct nvme_mpath_queue_options* o) {
  if (o == nullptr) return;
  nvme_mpath::internal::InitCQueueOptions(o, sizeof(*o));
}
#else
// The shared library: each _init under two versions, from two functions whose own names the
// version script keeps local. @@ marks the default, which programs linked now get; @ the one
// programs linked against API 1 keep, which writes only the API 1 struct they have room for.
__attribute__((symver("nvme_mpath_options_init@@NVME_MPATH_2")))
NVME_MPATH_API void nvme_mpath_options_init_v2(struct nvme_mpath_options* o) {
  if (o == nullptr) return;
  nvme_mpath::internal::InitCOptions(o, sizeof(*o));
}
__attribute__((symver("nvme_mpath_options_init@NVME_MPATH_1")))
NVME_MPATH_API void nvme_mpath_options_init_v1(struct nvme_mpath_options* o) {
  if (o == nullptr) return;
  nvme_mpath::internal::InitCOptions(o, nvme_mpath::internal::kCOptionsSizeV1);
}
// The queue options grew again in API 3 (sqpoll_cpu): three versions.
__attribute__((symver("nvme_mpath_queue_options_init@@NVME_MPATH_3")))
NVME_MPATH_API void nvme_mpath_queue_options_init_v3(struct nvme_mpath_queue_options* o) {
  if (o == nullptr) return;
  nvme_mpath::internal::InitCQueueOptions(o, sizeof(*o));
}
__attribute__((symver("nvme_mpath_queue_options_init@NVME_MPATH_2")))
NVME_MPATH_API void nvme_mpath_queue_options_init_v2(struct nvme_mpath_queue_options* o) {
  if (o == nullptr) return;
  nvme_mpath::internal::InitCQueueOptions(o, nvme_mpath::internal::kCQueueOptionsSizeV2);
}
__attribute__((symver("nvme_mpath_queue_options_init@NVME_MPATH_1")))
NVME_MPATH_API void nvme_mpath_queue_options_init_v1(struct nvme_mpath_queue_options* o) {
  if (o == nullptr) return;
  nvme_mpath::internal::InitCQueueOptions(o, nvme_mpath::internal::kCQueueOptionsSizeV1);
}
#endif

NVME_MPATH_API int nvme_mpath_open(const struct nvme_mpath_options* o, nvme_mpath_engine** out,
                                   char* errbuf, size_t errlen) {
  int r = Guard([&]() -> int {
    SetErr(errbuf, errlen, "");
    if (o == nullptr || out == nullptr) {
      SetErr(errbuf, errlen, "nvme_mpath_open: options and out must not be NULL");
      return -EINVAL;
    }
    nvme_mpath::EngineOptions eo;
    if (absl::Status st = nvme_mpath::internal::EngineOptionsFromC(o, &eo); !st.ok()) {
      SetErr(errbuf, errlen, "nvme_mpath_open: " + std::string(st.message()));
      return -EINVAL;
    }
    auto e = Engine::Open(eo);
    if (!e.ok()) {
      SetErr(errbuf, errlen, std::string(e.status().message()));
      return CApiErrno(e.status());
    }
    *out = nvme_mpath::internal::CApiWrapEngine(std::move(*e));
    return 0;
  });
  // An exception (out of memory) left no message: say what it was.
  if (r < 0 && errbuf != nullptr && errlen > 0 && errbuf[0] == 0)
    SetErr(errbuf, errlen, std::string("nvme_mpath_open: ") + strerrordesc_np(-r));
  return r;
}

NVME_MPATH_API void nvme_mpath_close(nvme_mpath_engine* e) {
  Guard([&] {
    delete e;
    return 0;
  });
}

NVME_MPATH_API int nvme_mpath_ns_info(const nvme_mpath_engine* e, struct nvme_mpath_ns_info* out) {
  if (e == nullptr || out == nullptr) return -EINVAL;
  return Guard([&] {
    const auto& i = e->engine->info();
    memset(out, 0, sizeof(*out));
    out->nsze = i.nsze;
    out->lba_size = i.lba_size;
    out->metadata_size = i.metadata_size;
    out->nsid = i.nsid;
    out->max_transfer_bytes = i.max_transfer_bytes;
    out->npaths = uint32_t(e->engine->Paths().size());
    Copy(out->subsysnqn, sizeof(out->subsysnqn), i.subsysnqn);
    Copy(out->nguid, sizeof(out->nguid), i.nguid);
    Copy(out->uuid, sizeof(out->uuid), i.uuid);
    return 0;
  });
}

NVME_MPATH_API int nvme_mpath_ns_format(const nvme_mpath_engine* e, struct nvme_mpath_ns_format* out) {
  if (e == nullptr || out == nullptr) return -EINVAL;
  return Guard([&] {
    const auto& i = e->engine->info();
    memset(out, 0, sizeof(*out));
    out->lba_data_size = i.lba_size;
    out->extended = i.extended_metadata_size > 0 ? 1 : 0;
    out->metadata_size = out->extended ? i.extended_metadata_size : i.metadata_size;
    out->pi_type = i.pi_type;
    out->pi_first = i.pi_first ? 1 : 0;
    out->fdp = i.fdp ? 1 : 0;
    return 0;
  });
}

NVME_MPATH_API int64_t nvme_mpath_atomic_write_bytes(const nvme_mpath_engine* e) {
  if (e == nullptr) return -EINVAL;
  return int64_t(e->engine->info().atomic_write_bytes);
}

NVME_MPATH_API int nvme_mpath_head_mode(const nvme_mpath_engine* e) {
  if (e == nullptr) return -EINVAL;
  return e->engine->info().head_mode ? 1 : 0;
}

NVME_MPATH_API int nvme_mpath_path_stats(const nvme_mpath_engine* e,
                                         struct nvme_mpath_path_stats* out, uint32_t max) {
  if (e == nullptr || (out == nullptr && max != 0)) return -EINVAL;
  return Guard([&] {
    auto paths = e->engine->Paths();
    auto stats = e->engine->Stats();
    uint32_t n = 0;
    for (size_t i = 0; i < paths.size() && n < max; ++i, ++n) {
      auto& o = out[n];
      memset(&o, 0, sizeof(o));
      Copy(o.ng_path, sizeof(o.ng_path), paths[i].ng_path);
      Copy(o.ctrl, sizeof(o.ctrl), paths[i].ctrl);
      Copy(o.address, sizeof(o.address), paths[i].key.address);
      Copy(o.ana_state, sizeof(o.ana_state), nvme_mpath::AnaStateName(paths[i].ana_state));
      Copy(o.health, sizeof(o.health), nvme_mpath::PathHealthName(paths[i].health));
      o.usable = paths[i].usable;
      o.disabled = paths[i].disabled;
      if (i < stats.size()) {
        const auto& s = stats[i];
        o.ios = s.ios;
        o.bytes = s.bytes;
        o.reads = s.reads;
        o.writes = s.writes;
        o.inflight = s.inflight;
        o.errors = s.errors;
        o.retries = s.retries;
        o.failovers = s.failovers;
        o.requeues = s.requeues;
        o.busy_ns = s.busy_ns;
      }
    }
    return int(paths.size());
  });
}

NVME_MPATH_API int nvme_mpath_set_policy(nvme_mpath_engine* e, int policy, const char* preferred) {
  if (e == nullptr || policy < 0 || policy > NVME_MPATH_POLICY_LATENCY) return -EINVAL;
  return Guard([&] {
    return CApiErrno(e->engine->SetPolicy(static_cast<nvme_mpath::IoPolicy>(policy),
                                              preferred ? preferred : ""));
  });
}

NVME_MPATH_API int nvme_mpath_set_path_enabled(nvme_mpath_engine* e, const char* path,
                                                      int enabled) {
  if (e == nullptr || path == nullptr) return -EINVAL;
  return Guard([&] { return CApiErrno(e->engine->SetPathEnabled(path, enabled != 0)); });
}

NVME_MPATH_API const char* nvme_mpath_stats_segment(const nvme_mpath_engine* e) {
  return e ? e->segment.c_str() : "";
}

NVME_MPATH_API int nvme_mpath_queue_create_err(nvme_mpath_engine* e,
                                               const struct nvme_mpath_queue_options* o,
                                               nvme_mpath_queue** out, char* errbuf,
                                               size_t errlen) {
  int r = Guard([&]() -> int {
    SetErr(errbuf, errlen, "");
    if (out == nullptr) {
      SetErr(errbuf, errlen, "nvme_mpath_queue_create: out must not be NULL");
      return -EINVAL;
    }
    // The options first: pure, so a bad one is named even before an engine exists.
    nvme_mpath::QueueOptions qo;
    if (absl::Status st = nvme_mpath::internal::QueueOptionsFromC(o, &qo); !st.ok()) {
      SetErr(errbuf, errlen, "nvme_mpath_queue_create: " + std::string(st.message()));
      return -EINVAL;
    }
    if (e == nullptr) {
      SetErr(errbuf, errlen, "nvme_mpath_queue_create: engine must not be NULL");
      return -EINVAL;
    }
    auto q = e->engine->CreateQueue(qo);
    if (!q.ok()) {
      SetErr(errbuf, errlen, "nvme_mpath_queue_create: " + std::string(q.status().message()));
      return CApiErrno(q.status());
    }
    *out = new nvme_mpath_queue{std::move(*q)};
    return 0;
  });
  if (r < 0 && errbuf != nullptr && errlen > 0 && errbuf[0] == 0)
    SetErr(errbuf, errlen, std::string("nvme_mpath_queue_create: ") + strerrordesc_np(-r));
  return r;
}

NVME_MPATH_API int nvme_mpath_queue_create(nvme_mpath_engine* e,
                                           const struct nvme_mpath_queue_options* o,
                                           nvme_mpath_queue** out) {
  // API 1 had no error buffer and logged the reason: it still does.
  char err[512];
  int r = nvme_mpath_queue_create_err(e, o, out, err, sizeof(err));
  if (r < 0) {
    Guard([&] {
      MPLOG_ERROR("{}", err);
      return 0;
    });
  }
  return r;
}

NVME_MPATH_API void nvme_mpath_queue_destroy(nvme_mpath_queue* q) {
  Guard([&] {
    delete q;
    return 0;
  });
}

NVME_MPATH_API void nvme_mpath_io_init(struct nvme_mpath_io* io) {
  if (io == nullptr) return;
  memset(io, 0, sizeof(*io));
  io->buf_index = -1;
}

NVME_MPATH_API int nvme_mpath_submit(nvme_mpath_queue* q, struct nvme_mpath_io* io) {
  if (q == nullptr || io == nullptr) return -EINVAL;
  if (int r = Fill(io); r != 0) return r;
  // Submit does not allocate; the guard costs nothing unless something throws.
  return Guard([&] { return q->queue->Submit(&SlotOf(io)->io); });
}

// The I/Os go to the queue's SubmitBatch() in chunks of kSubmitChunk (the C++ Io of each lives
// in its own opaque area; only the pointers are gathered, on the stack).
NVME_MPATH_API int nvme_mpath_submit_batch(nvme_mpath_queue* q, struct nvme_mpath_io* const* ios,
                                           unsigned int n) {
  if (q == nullptr || (ios == nullptr && n != 0)) return -EINVAL;
  return Guard([&] {
    constexpr unsigned kSubmitChunk = 64;
    Io* chunk[kSubmitChunk];
    unsigned taken = 0;
    while (taken < n) {
      const unsigned want = std::min(n - taken, kSubmitChunk);
      unsigned filled = 0;
      int refused = 0;  // the error of the first request Fill() refused, or 0
      for (; filled < want; ++filled) {
        nvme_mpath_io* c = ios[taken + filled];
        if (c == nullptr) refused = -EINVAL;
        else refused = Fill(c);
        if (refused != 0) break;
        chunk[filled] = &SlotOf(c)->io;
      }
      const int r = filled != 0 ? q->queue->SubmitBatch(chunk, filled) : refused;
      if (r < 0) return taken != 0 ? static_cast<int>(taken) : r;
      taken += static_cast<unsigned>(r);
      if (static_cast<unsigned>(r) < want) break;  // the queue or Fill() stopped short
    }
    return static_cast<int>(taken);
  });
}

NVME_MPATH_API int nvme_mpath_flush(nvme_mpath_queue* q) {
  if (q == nullptr) return -EINVAL;
  return Guard([&] { return q->queue->Flush(); });
}

NVME_MPATH_API int nvme_mpath_poll(nvme_mpath_queue* q, uint32_t min_complete, int64_t timeout_us) {
  if (q == nullptr) return -EINVAL;
  // Callbacks are the caller's code: an exception thrown there must not unwind through C.
  return Guard([&] { return q->queue->Poll(min_complete, timeout_us); });
}

NVME_MPATH_API int nvme_mpath_queue_fd(const nvme_mpath_queue* q) {
  return q ? q->queue->event_fd() : -EINVAL;
}

NVME_MPATH_API uint32_t nvme_mpath_queue_inflight(const nvme_mpath_queue* q) {
  return q ? q->queue->inflight() : 0;
}

NVME_MPATH_API int nvme_mpath_execute(nvme_mpath_queue* q, struct nvme_mpath_io* io) {
  if (q == nullptr || io == nullptr) return -EINVAL;
  if (int r = Fill(io); r != 0) return r;
  return Guard([&] {
    Slot* s = SlotOf(io);
    nvme_mpath_cb user = io->cb;
    io->cb = nullptr;  // the trampoline only copies the result
    int r = q->queue->Execute(&s->io);
    io->res = s->io.res;
    io->status = s->io.status.raw;
    io->result = s->io.result;
    io->cb = user;
    return r;
  });
}

static int Sync(nvme_mpath_queue* q, uint8_t op, uint64_t slba, uint32_t nlb, void* buf,
                uint16_t* status) {
  nvme_mpath_io io;
  nvme_mpath_io_init(&io);
  io.op = op;
  io.slba = slba;
  io.nlb = nlb;
  io.buf = buf;
  int r = nvme_mpath_execute(q, &io);
  if (status) *status = io.status;
  return r;
}

NVME_MPATH_API int nvme_mpath_read(nvme_mpath_queue* q, uint64_t slba, uint32_t nlb, void* buf,
                                   uint16_t* status) {
  return Sync(q, NVME_MPATH_OP_READ, slba, nlb, buf, status);
}
NVME_MPATH_API int nvme_mpath_write(nvme_mpath_queue* q, uint64_t slba, uint32_t nlb,
                                    const void* buf, uint16_t* status) {
  return Sync(q, NVME_MPATH_OP_WRITE, slba, nlb, const_cast<void*>(buf), status);
}
NVME_MPATH_API int nvme_mpath_flush_cache(nvme_mpath_queue* q, uint16_t* status) {
  return Sync(q, NVME_MPATH_OP_FLUSH, 0, 0, nullptr, status);
}
NVME_MPATH_API int nvme_mpath_write_zeroes(nvme_mpath_queue* q, uint64_t slba, uint32_t nlb,
                                           uint16_t* status) {
  return Sync(q, NVME_MPATH_OP_WRITE_ZEROES, slba, nlb, nullptr, status);
}
NVME_MPATH_API int nvme_mpath_trim(nvme_mpath_queue* q, uint64_t slba, uint32_t nlb,
                                   uint16_t* status) {
  alignas(16) nvme_mpath_dsm_range r{0, nlb, slba};
  return Sync(q, NVME_MPATH_OP_DEALLOCATE, 0, 1, &r, status);
}

NVME_MPATH_API const char* nvme_mpath_status_name(int res) { return nvme_mpath::StatusName(res); }

NVME_MPATH_API const char* nvme_mpath_version(void) { return NVME_MPATH_VERSION_STRING; }

NVME_MPATH_API int nvme_mpath_version_check(int major, int minor) {
  return major == NVME_MPATH_VERSION_MAJOR && minor >= 0 && minor <= NVME_MPATH_VERSION_MINOR;
}

NVME_MPATH_API int nvme_mpath_set_log_fn(nvme_mpath_log_fn fn, void* ctx, int level) {
  using nvme_mpath::internal::LogLevel;
  if (level < NVME_MPATH_LOG_DEFAULT || level > NVME_MPATH_LOG_DEBUG) return -EINVAL;
  static_assert(int(LogLevel::kError) == NVME_MPATH_LOG_ERROR &&
                int(LogLevel::kWarn) == NVME_MPATH_LOG_WARN &&
                int(LogLevel::kInfo) == NVME_MPATH_LOG_INFO &&
                int(LogLevel::kDebug) == NVME_MPATH_LOG_DEBUG);
  if (!nvme_mpath::internal::SetLogSink(fn, ctx)) return -EDEADLK;
  nvme_mpath::internal::SetLogLevel(level == NVME_MPATH_LOG_DEFAULT
                                        ? nvme_mpath::internal::LogLevelFromEnv()
                                        : static_cast<LogLevel>(level));
  return 0;
}

}  // extern "C"
