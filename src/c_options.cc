// File: c_options.cc — see c_options.h.
#include "c_options.h"

namespace nvme_mpath::internal {

absl::Status EngineOptionsFromC(const nvme_mpath_options* o, EngineOptions* out) {
  if (o == nullptr) return absl::InvalidArgumentError("options must not be NULL");
  if (o->size < sizeof(nvme_mpath_options))
    return absl::InvalidArgumentError("options.size too small: call nvme_mpath_options_init()");
  if (o->policy < NVME_MPATH_POLICY_NUMA || o->policy > NVME_MPATH_POLICY_ACTIVE_PASSIVE)
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
  if (absl::Status s = ValidateEngineOptions(eo); !s.ok()) return s;
  *out = std::move(eo);
  return absl::OkStatus();
}

absl::Status QueueOptionsFromC(const nvme_mpath_queue_options* o, QueueOptions* out) {
  QueueOptions qo;
  if (o != nullptr) {
    if (o->size < sizeof(nvme_mpath_queue_options))
      return absl::InvalidArgumentError("queue options.size too small: call nvme_mpath_queue_options_init()");
    if (o->nbuffers != 0 && o->buffers == nullptr)
      return absl::InvalidArgumentError("nbuffers is " + std::to_string(o->nbuffers) + " but buffers is NULL");
    qo.depth = o->depth;
    qo.sqpoll = o->sqpoll != 0;
    qo.sqpoll_idle_ms = o->sqpoll_idle_ms;
    qo.fixed_buffers = o->fixed_buffers != 0;
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
