// libFuzzer target: the C API's option structs (struct nvme_mpath_options and
// struct nvme_mpath_queue_options) as nvme_mpath_open() and nvme_mpath_queue_create() take them:
// converted and checked by EngineOptionsFromC / QueueOptionsFromC before anything is opened.
// Every field comes from the input, strings included (with NULs, overlong, missing).
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/uio.h>

#include <string>
#include <vector>

#include <nvme_mpath/engine.h>
#include <nvme_mpath/nvme_mpath.h>
#include <nvme_mpath/types.h>

#include "c_options.h"

namespace {

// A C string field: absent (NULL) or text from the input (cut at its first NUL, as C sees it).
const char* MaybeString(FuzzedDataProvider& in, std::string* keep) {
  if (in.ConsumeBool()) return nullptr;
  *keep = in.ConsumeRandomLengthString(300);
  return keep->c_str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nvme_mpath;
  FuzzedDataProvider in(data, size);
  const EngineOptions d;

  nvme_mpath_options o{};
  // The size: this layout's, API 1's (the fields after it must then keep their defaults), or any.
  const uint32_t size_pick = in.ConsumeIntegralInRange(0, 3);
  o.size = size_pick <= 1 ? sizeof(o) : size_pick == 2 ? internal::kCOptionsSizeV1 : in.ConsumeIntegral<uint32_t>();
  std::string nqn, pref, name;
  std::vector<std::string> path_text(in.ConsumeIntegralInRange<size_t>(0, 20));
  std::vector<const char*> paths;
  for (std::string& p : path_text) {
    p = in.ConsumeRandomLengthString(64);
    paths.push_back(in.ConsumeIntegralInRange(0, 15) == 0 ? nullptr : p.c_str());
  }
  o.paths = paths.empty() && in.ConsumeBool() ? nullptr : paths.data();
  // npaths: usually the array's length, sometimes shorter, sometimes a wild count with no array.
  o.npaths = uint32_t(paths.size());
  if (in.ConsumeIntegralInRange(0, 7) == 0) {
    o.paths = nullptr;
    o.npaths = in.ConsumeIntegral<uint32_t>();
  } else if (!paths.empty() && in.ConsumeBool()) {
    o.npaths = in.ConsumeIntegralInRange<uint32_t>(0, uint32_t(paths.size()));
  }
  o.subsysnqn = MaybeString(in, &nqn);
  o.nsid = in.ConsumeBool() ? in.ConsumeIntegral<uint32_t>() : 1;
  o.explicit_paths_only = in.ConsumeIntegral<int>();
  o.policy = in.ConsumeBool() ? in.ConsumeIntegralInRange(0, 3) : in.ConsumeIntegral<int>();
  o.rr_min_io = in.ConsumeBool() ? d.rr_min_io : in.ConsumeIntegral<uint32_t>();
  o.preferred_path = MaybeString(in, &pref);
  o.ana_poll_interval_ms = in.ConsumeBool() ? d.ana_poll_interval_ms : in.ConsumeIntegral<uint32_t>();
  o.no_path_timeout_ms = in.ConsumeBool() ? d.no_path_timeout_ms : in.ConsumeIntegral<uint32_t>();
  o.cmd_timeout_ms = in.ConsumeBool() ? d.cmd_timeout_ms : in.ConsumeIntegral<uint32_t>();
  o.io_timeout_ms = in.ConsumeBool() ? d.io_timeout_ms : in.ConsumeIntegral<uint32_t>();
  o.max_retries = in.ConsumeBool() ? d.max_retries : in.ConsumeIntegral<uint32_t>();
  o.write_hold_ms = in.ConsumeBool() ? d.write_hold_ms : in.ConsumeIntegral<int32_t>();
  o.failback_delay_ms = in.ConsumeBool() ? d.failback_delay_ms : in.ConsumeIntegral<uint32_t>();
  o.publish_stats = in.ConsumeIntegral<int>();
  o.name = MaybeString(in, &name);
  o.write_hold_release_on_reset = in.ConsumeIntegral<int>();
  o.marginal_errors = in.ConsumeBool() ? d.marginal_errors : in.ConsumeIntegral<uint32_t>();
  o.marginal_window_ms = in.ConsumeBool() ? d.marginal_window_ms : in.ConsumeIntegral<uint32_t>();

  EngineOptions eo;
  if (absl::Status s = internal::EngineOptionsFromC(&o, &eo); s.ok()) {
    if ((o.size != sizeof(o) && o.size != internal::kCOptionsSizeV1) ||
        eo.paths.size() > kMaxEnginePaths)
      __builtin_trap();
    if (o.size == internal::kCOptionsSizeV1 &&  // API 1 callers: the API 2 fields not read
        (eo.marginal_errors != d.marginal_errors || eo.marginal_window_ms != d.marginal_window_ms ||
         eo.write_hold_release_on_reset != d.write_hold_release_on_reset))
      __builtin_trap();
    if (eo.paths.empty() == (eo.subsysnqn.empty() || eo.nsid == 0)) __builtin_trap();  // exactly one
    if (ParseIoPolicy(IoPolicyName(eo.policy)) != eo.policy || eo.rr_min_io == 0) __builtin_trap();
    if (eo.write_hold_ms < -1 || eo.max_retries > 255) __builtin_trap();
    // What the engine derives from them (engine.cc, QueueConfig): nanoseconds must not overflow.
    for (uint32_t ms : {eo.no_path_timeout_ms, eo.io_timeout_ms, eo.failback_delay_ms,
                        eo.ana_poll_interval_ms, eo.cmd_timeout_ms})
      if (int64_t{ms} * 1'000'000 > int64_t{86'400'000} * 1'000'000) __builtin_trap();
    if (!ValidateEngineOptions(eo).ok()) __builtin_trap();
  } else {
    if (s.message().empty() || !absl::IsInvalidArgument(s)) __builtin_trap();
    if (s.message().find('\n') != absl::string_view::npos) __builtin_trap();  // one line
  }

  nvme_mpath_queue_options q{};
  const uint32_t qsize_pick = in.ConsumeIntegralInRange(0, 4);
  q.size = qsize_pick <= 1   ? sizeof(q)
           : qsize_pick == 2 ? internal::kCQueueOptionsSizeV1
           : qsize_pick == 3 ? internal::kCQueueOptionsSizeV2
                             : in.ConsumeIntegral<uint32_t>();
  q.depth = in.ConsumeBool() ? 128 : in.ConsumeIntegral<uint32_t>();
  q.sqpoll = in.ConsumeIntegral<int>();
  q.sqpoll_idle_ms = in.ConsumeIntegral<uint32_t>();
  q.fixed_buffers = in.ConsumeIntegral<int>();
  q.defer_taskrun = in.ConsumeIntegral<int>();
  q.sqpoll_cpu = in.ConsumeBool() ? -1 : in.ConsumeIntegral<int32_t>();
  static char arena[1 << 12];
  std::vector<iovec> bufs(in.ConsumeIntegralInRange<size_t>(0, 8));
  for (iovec& v : bufs) {
    v.iov_base = in.ConsumeBool() ? nullptr : arena + in.ConsumeIntegralInRange<size_t>(0, sizeof(arena) - 1);
    v.iov_len = in.ConsumeIntegral<size_t>();
  }
  q.buffers = bufs.empty() && in.ConsumeBool() ? nullptr : bufs.data();
  q.nbuffers = uint32_t(bufs.size());
  if (q.buffers == nullptr && in.ConsumeBool()) q.nbuffers = in.ConsumeIntegral<uint32_t>();
  QueueOptions qo;
  const bool use_null = in.ConsumeIntegralInRange(0, 9) == 0;
  if (absl::Status s = internal::QueueOptionsFromC(use_null ? nullptr : &q, &qo); s.ok()) {
    if (qo.depth == 0 || qo.depth > 65536) __builtin_trap();
    if (qo.fixed_buffers == qo.buffers.empty()) __builtin_trap();
    if (!use_null && q.size == internal::kCQueueOptionsSizeV1 && !qo.defer_taskrun) __builtin_trap();
    // API 3's field: the default for older layouts; else -1 or, with sqpoll, a CPU number.
    if (!use_null && q.size < internal::kCQueueOptionsSizeV3 && qo.sqpoll_cpu != -1) __builtin_trap();
    if (qo.sqpoll_cpu != -1 && (qo.sqpoll_cpu < 0 || !qo.sqpoll)) __builtin_trap();
    for (const auto& [base, len] : qo.buffers)
      if (base == nullptr || len == 0 || len > (size_t{1} << 30)) __builtin_trap();
  } else if (s.message().empty() || use_null) {
    __builtin_trap();  // the defaults are always valid
  }
  return 0;
}
