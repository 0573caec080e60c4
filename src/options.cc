// File: options.cc — checks EngineOptions and QueueOptions before anything is opened.
//
// Why these limits:
//   * every time is at most 24 h: larger values are garbage (a -1 cast to unsigned, seconds
//     given as milliseconds) and would make an I/O wait for days; 24 h times 10^6 also keeps
//     every nanosecond product far from int64 overflow;
//   * max_retries <= 255: the kernel's own nvme_max_retries is a u8, and same-path retries
//     must stay bounded even when io_timeout_ms is 0 (no deadline);
//   * ana_poll_interval_ms is 0 (never) or >= 10: each poll is one admin command per
//     controller over the fabric; a 1 ms poll would load the target more than the I/O does;
//   * an NQN is at most 223 bytes (NVMe base spec, "NVMe Qualified Names"); NSID 0xffffffff is
//     the broadcast NSID, not a namespace;
//   * io_uring registers at most 16384 buffers of at most 1 GiB each (IORING_MAX_REG_BUFFERS,
//     io_buffer_validate());
//   * sqpoll_cpu is -1 or a CPU below get_nprocs_conf(), and only with sqpoll: the kernel
//     answers a bad one with a bare EINVAL that names nothing.
#include <linux/limits.h>
#include <sys/sysinfo.h>

#include <set>
#include <string>

#include <fmt/format.h>

#include "absl/strings/escaping.h"

#include <nvme_mpath/engine.h>


namespace nvme_mpath {
namespace {

constexpr uint32_t kMaxMs = 24u * 3600 * 1000;
constexpr uint32_t kMaxRetries = 255;
constexpr uint32_t kMinAnaPollMs = 10;
constexpr size_t kMaxNqnBytes = 223;
constexpr uint32_t kBroadcastNsid = 0xffffffff;
constexpr uint32_t kMaxDepth = 65536;
constexpr size_t kMaxRegBufferBytes = size_t{1} << 30;

absl::Status Bad(std::string msg) { return absl::InvalidArgumentError(std::move(msg)); }

absl::Status CheckMs(const char* field, uint32_t ms) {
  if (ms > kMaxMs) return Bad(fmt::format("{} = {} ms: at most {} (24 h)", field, ms, kMaxMs));
  return absl::OkStatus();
}

// A string that must name something: not empty, no NUL inside (it goes to open() and sysfs
// comparisons as a C string), shorter than PATH_MAX.
absl::Status CheckName(const char* field, const std::string& s) {
  if (s.empty()) return Bad(fmt::format("{}: empty", field));
  if (s.find('\0') != std::string::npos) return Bad(fmt::format("{}: contains a NUL byte", field));
  if (s.size() >= PATH_MAX)
    return Bad(fmt::format("{}: {} bytes, longer than PATH_MAX", field, s.size()));
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateEngineOptions(const EngineOptions& o) {
  // Which namespace: paths, or NQN + NSID; never both, never neither.
  if (!o.paths.empty() && (!o.subsysnqn.empty() || o.nsid != 0))
    return Bad("give either paths or a subsystem NQN + NSID, not both");
  if (o.paths.empty()) {
    if (o.explicit_paths_only) return Bad("explicit_paths_only is set but no path is given");
    if (o.subsysnqn.empty() || o.nsid == 0)
      return Bad("no namespace given: set paths (/dev/ngXnY) or a subsystem NQN and an NSID");
    if (o.subsysnqn.size() > kMaxNqnBytes || o.subsysnqn.find('\0') != std::string::npos)
      return Bad(fmt::format("subsysnqn: {} bytes; an NQN is at most {} bytes of text",
                             o.subsysnqn.size(), kMaxNqnBytes));
    if (o.nsid == kBroadcastNsid) return Bad("nsid 0xffffffff is the broadcast NSID, not a namespace");
  }
  if (o.paths.size() > size_t(kMaxEnginePaths))
    return Bad(fmt::format("{} paths given; at most {}", o.paths.size(), kMaxEnginePaths));
  std::set<std::string> seen;
  for (const std::string& p : o.paths) {
    if (absl::Status s = CheckName("path", p); !s.ok()) return s;
    if (!seen.insert(p).second) return Bad(fmt::format("path {} given twice", absl::CHexEscape(p)));  // one line, always
  }

  switch (o.policy) {
    case IoPolicy::kNuma:
    case IoPolicy::kRoundRobin:
    case IoPolicy::kQueueDepth:
    case IoPolicy::kActivePassive:
    case IoPolicy::kLatency:
      break;
    default:
      return Bad(fmt::format("unknown I/O policy {}", int(o.policy)));
  }
  if (o.rr_min_io == 0) return Bad("rr_min_io must be at least 1");
  if (!o.preferred_path.empty()) {
    if (absl::Status s = CheckName("preferred_path", o.preferred_path); !s.ok()) return s;
  }

  if (o.ana_poll_interval_ms != 0 && o.ana_poll_interval_ms < kMinAnaPollMs)
    return Bad(fmt::format("ana_poll_interval_ms = {}: 0 (never) or at least {}",
                           o.ana_poll_interval_ms, kMinAnaPollMs));
  for (auto [field, ms] : {std::pair{"ana_poll_interval_ms", o.ana_poll_interval_ms},
                           {"no_path_timeout_ms", o.no_path_timeout_ms},
                           {"cmd_timeout_ms", o.cmd_timeout_ms},
                           {"io_timeout_ms", o.io_timeout_ms},
                           {"failback_delay_ms", o.failback_delay_ms},
                           {"marginal_window_ms", o.marginal_window_ms}}) {
    if (absl::Status s = CheckMs(field, ms); !s.ok()) return s;
  }
  if (o.write_hold_ms < -1)
    return Bad(fmt::format("write_hold_ms = {}: -1 (the controller's rule: (TBKAS ? 3 : 2) x KATO + CQT) or a time in ms", o.write_hold_ms));
  if (o.write_hold_ms > 0)
    if (absl::Status s = CheckMs("write_hold_ms", uint32_t(o.write_hold_ms)); !s.ok()) return s;
  if (o.max_retries > kMaxRetries)
    return Bad(fmt::format("max_retries = {}: at most {}", o.max_retries, kMaxRetries));
  if (o.marginal_errors != 0 && o.marginal_window_ms == 0)
    return Bad("marginal_window_ms must be set when marginal_errors is (0 turns marking off)");
  // A display name (shared-memory header, nvme-mpath-ctl): longer names are cut to fit, which
  // loses nothing but text, so any length is accepted. A NUL would cut it silently: refuse it.
  if (o.name.find('\0') != std::string::npos) return Bad("name: contains a NUL byte");
  return absl::OkStatus();
}

absl::Status ValidateQueueOptions(const QueueOptions& o) {
  if (o.depth == 0 || o.depth > kMaxDepth)
    return Bad(fmt::format("queue depth {} out of range 1..{}", o.depth, kMaxDepth));
  if (absl::Status s = CheckMs("sqpoll_idle_ms", o.sqpoll_idle_ms); !s.ok()) return s;
  if (o.sqpoll_cpu != -1) {
    // The kernel's own limit is nr_cpu_ids (<= the configured count), and it refuses an offline
    // CPU too; this catches the typo and the garbage value with a message naming the field.
    const int ncpu = get_nprocs_conf();
    if (o.sqpoll_cpu < 0 || o.sqpoll_cpu >= ncpu)
      return Bad(fmt::format("sqpoll_cpu = {}: -1 (not pinned) or a CPU 0..{}", o.sqpoll_cpu,
                             ncpu - 1));
    // Without sqpoll there is no SQ thread to pin: the caller meant sqpoll, or nothing.
    if (!o.sqpoll)
      return Bad(fmt::format("sqpoll_cpu = {} without sqpoll: it pins the SQPOLL thread",
                             o.sqpoll_cpu));
  }
  if (o.fixed_buffers) {
    if (o.buffers.empty()) return Bad("fixed_buffers set but no buffers given");
    if (o.buffers.size() > kMaxFixedBuffers)
      return Bad(fmt::format("{} fixed buffers; io_uring registers at most {}", o.buffers.size(),
                             kMaxFixedBuffers));
    for (size_t i = 0; i < o.buffers.size(); ++i) {
      const auto& [base, len] = o.buffers[i];
      if (base == nullptr || len == 0 || len > kMaxRegBufferBytes)
        return Bad(fmt::format("fixed buffer {}: base {} length {}: needs a base and 1 B..1 GiB",
                               i, base, len));
    }
  } else if (!o.buffers.empty()) {
    // Buffers without fixed_buffers would be silently ignored; the caller surely meant them.
    return Bad("buffers given but fixed_buffers is not set");
  }
  if (o.iopoll_force && !o.iopoll) return Bad("iopoll_force set but iopoll is not");
  return absl::OkStatus();
}

}  // namespace nvme_mpath
