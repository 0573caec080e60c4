// File: c_options.cc — see c_options.h.
#include "c_options.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <string>

namespace nvme_mpath::internal {
namespace {

// Returns the message for a `size` that is no layout's, or "" when it is one. `sizes`: the
// struct's size in API 1, 2, ... (ascending), the last one this library's.
std::string BadSize(const char* what, const char* init, uint32_t size,
                    std::initializer_list<size_t> sizes) {
  if (std::find(sizes.begin(), sizes.end(), size) != sizes.end()) return "";
  const size_t first = *sizes.begin(), last = *(sizes.end() - 1);
  std::string why = size < first ? "too small" : size > last ? "larger than this library's" : "not a layout's";
  std::string known;
  int level = 1;
  for (size_t s : sizes) {
    if (!known.empty()) known += ", ";
    known += std::to_string(s) + " in API " + std::to_string(level++);
  }
  return std::string(what) + ".size " + std::to_string(size) + " is " + why + " (" + known +
         "): call " + init + "()" +
         (size > last ? "; the program was built against a newer nvme_mpath.h than this library" : "");
}

}  // namespace

void InitCOptions(nvme_mpath_options* o, size_t size) {
  const EngineOptions d;
  nvme_mpath_options c;
  memset(&c, 0, sizeof(c));
  c.size = uint32_t(size);
  c.policy = NVME_MPATH_POLICY_NUMA;
  c.rr_min_io = d.rr_min_io;
  c.ana_poll_interval_ms = d.ana_poll_interval_ms;
  c.no_path_timeout_ms = d.no_path_timeout_ms;
  c.cmd_timeout_ms = d.cmd_timeout_ms;
  c.io_timeout_ms = d.io_timeout_ms;
  c.max_retries = d.max_retries;
  c.write_hold_ms = d.write_hold_ms;
  c.failback_delay_ms = d.failback_delay_ms;
  c.publish_stats = d.publish_stats;
  // API 2
  c.write_hold_release_on_reset = d.write_hold_release_on_reset;
  c.marginal_errors = d.marginal_errors;
  c.marginal_window_ms = d.marginal_window_ms;
  memcpy(o, &c, std::min(size, sizeof(c)));
}

void InitCQueueOptions(nvme_mpath_queue_options* o, size_t size) {
  const QueueOptions d;
  nvme_mpath_queue_options c;
  memset(&c, 0, sizeof(c));
  c.size = uint32_t(size);
  c.depth = d.depth;
  c.sqpoll_idle_ms = d.sqpoll_idle_ms;
  // API 2
  c.defer_taskrun = d.defer_taskrun;
  // API 3
  c.sqpoll_cpu = d.sqpoll_cpu;
  c.iopoll = d.iopoll;
  c.iopoll_force = d.iopoll_force;
  memcpy(o, &c, std::min(size, sizeof(c)));
}

absl::Status EngineOptionsFromC(const nvme_mpath_options* caller, EngineOptions* out) {
  if (caller == nullptr) return absl::InvalidArgumentError("options must not be NULL");
  if (std::string m = BadSize("options", "nvme_mpath_options_init", caller->size,
                              {kCOptionsSizeV1, kCOptionsSizeV2});
      !m.empty())
    return absl::InvalidArgumentError(m);
  // The caller's fields over the defaults of those its layout lacks: below, every field is there.
  nvme_mpath_options full;
  InitCOptions(&full, sizeof(full));
  memcpy(&full, caller, caller->size);
  const nvme_mpath_options* o = &full;
  if (o->policy < NVME_MPATH_POLICY_NUMA || o->policy > NVME_MPATH_POLICY_LATENCY)
    return absl::InvalidArgumentError("unknown policy " + std::to_string(o->policy));
  if (o->npaths != 0 && o->paths == nullptr)
    return absl::InvalidArgumentError("npaths is " + std::to_string(o->npaths) + " but paths is NULL");
  // Checked before reading the array: a garbage count must not walk off it.
  if (o->npaths > kMaxEnginePaths)
    return absl::InvalidArgumentError("npaths is " + std::to_string(o->npaths) + "; at most " +
                                      std::to_string(kMaxEnginePaths));
  EngineOptions eo;
  for (uint32_t i = 0; i < o->npaths; ++i) {
    if (o->paths[i] == nullptr) return absl::InvalidArgumentError("paths[" + std::to_string(i) + "] is NULL");
    eo.paths.emplace_back(o->paths[i]);
  }
  if (o->subsysnqn) eo.subsysnqn = o->subsysnqn;
  eo.nsid = o->nsid;
  eo.explicit_paths_only = o->explicit_paths_only != 0;
  eo.policy = static_cast<IoPolicy>(o->policy);
  eo.rr_min_io = o->rr_min_io;
  if (o->preferred_path) eo.preferred_path = o->preferred_path;
  eo.ana_poll_interval_ms = o->ana_poll_interval_ms;
  eo.no_path_timeout_ms = o->no_path_timeout_ms;
  eo.cmd_timeout_ms = o->cmd_timeout_ms;
  eo.io_timeout_ms = o->io_timeout_ms;
  eo.max_retries = o->max_retries;
  eo.write_hold_ms = o->write_hold_ms;
  eo.failback_delay_ms = o->failback_delay_ms;
  eo.publish_stats = o->publish_stats != 0;
  if (o->name) eo.name = o->name;
  eo.write_hold_release_on_reset = o->write_hold_release_on_reset != 0;
  eo.marginal_errors = o->marginal_errors;
  eo.marginal_window_ms = o->marginal_window_ms;
  if (absl::Status s = ValidateEngineOptions(eo); !s.ok()) return s;
  *out = std::move(eo);
  return absl::OkStatus();
}

absl::Status QueueOptionsFromC(const nvme_mpath_queue_options* caller, QueueOptions* out) {
  QueueOptions qo;
  if (caller != nullptr) {
    if (std::string m = BadSize("queue options", "nvme_mpath_queue_options_init", caller->size,
                                {kCQueueOptionsSizeV1, kCQueueOptionsSizeV2, kCQueueOptionsSizeV3});
        !m.empty())
      return absl::InvalidArgumentError(m);
    nvme_mpath_queue_options full;
    InitCQueueOptions(&full, sizeof(full));
    memcpy(&full, caller, caller->size);
    const nvme_mpath_queue_options* o = &full;
    if (o->nbuffers != 0 && o->buffers == nullptr)
      return absl::InvalidArgumentError("nbuffers is " + std::to_string(o->nbuffers) + " but buffers is NULL");
    qo.depth = o->depth;
    qo.sqpoll = o->sqpoll != 0;
    qo.sqpoll_idle_ms = o->sqpoll_idle_ms;
    qo.fixed_buffers = o->fixed_buffers != 0;
    qo.defer_taskrun = o->defer_taskrun != 0;
    qo.sqpoll_cpu = o->sqpoll_cpu;
    qo.iopoll = o->iopoll != 0;
    qo.iopoll_force = o->iopoll_force != 0;
    // Checked before copying: a garbage count must not make us allocate gigabytes.
    if (o->nbuffers > kMaxFixedBuffers)
      return absl::InvalidArgumentError("nbuffers is " + std::to_string(o->nbuffers) + "; at most " +
                                        std::to_string(kMaxFixedBuffers));
    for (uint32_t i = 0; i < o->nbuffers; ++i)
      qo.buffers.emplace_back(o->buffers[i].iov_base, o->buffers[i].iov_len);
  }
  if (absl::Status s = ValidateQueueOptions(qo); !s.ok()) return s;
  *out = std::move(qo);
  return absl::OkStatus();
}

}  // namespace nvme_mpath::internal
