// File: nvme_mpath/types.h
//
// Small value types shared by the public API: ANA states, I/O policies, path identity.
#ifndef NVME_MPATH_TYPES_H_
#define NVME_MPATH_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nvme_mpath {

// Asymmetric Namespace Access state (NVMe Base Specification, ANA log page group descriptor).
enum class AnaState : uint8_t {
  kUnknown = 0,  // not read yet (never used for I/O)
  kOptimized = 0x1,
  kNonOptimized = 0x2,
  kInaccessible = 0x3,
  kPersistentLoss = 0x4,
  kChange = 0xf,
};

// Returns "optimized", "non-optimized", "inaccessible", "persistent-loss", "change", "unknown".
const char* AnaStateName(AnaState s);
// Parses the names above (as nvmet's configfs writes them). Returns nullopt for anything else.
std::optional<AnaState> ParseAnaState(std::string_view s);
// Returns true for the states that may carry I/O: optimized and non-optimized.
constexpr bool AnaUsable(AnaState s) {
  return s == AnaState::kOptimized || s == AnaState::kNonOptimized;
}

// Path selection policy (the kernel's nvme iopolicy, plus active-passive).
enum class IoPolicy : uint8_t {
  kNuma,           // same NUMA node first; all equal when numa_node is -1
  kRoundRobin,     // rotate, after rr_min_io I/Os on a path
  kQueueDepth,     // fewest I/Os in flight
  kActivePassive,  // the preferred path while it is usable, else the next
  kLatency,        // the lowest latency EWMA; ties to fewer in flight (see policy.cc)
};
// "numa", "round-robin", "queue-depth", "active-passive", "latency"
const char* IoPolicyName(IoPolicy p);
std::optional<IoPolicy> ParseIoPolicy(std::string_view s);

// Health of a path as the engine sees it (independent of ANA).
enum class PathHealth : uint8_t {
  kLive = 0,    // controller live, fd open
  kFailed = 1,  // a path error was seen; unused until the control plane sees the controller live
  kGone = 2,    // controller deleted (-ENODEV): fd closed, waiting for it to come back
};
const char* PathHealthName(PathHealth h);  // "live", "failed", "gone"

// Identity of a path that survives controller renames: the kernel reuses nvmeX names after a
// deletion, so paths are keyed by subsystem NQN + transport address (+ cntlid while connected).
struct PathKey {
  std::string subsysnqn;
  std::string transport;  // "tcp", "rdma", "fc", "pcie", "loop"
  std::string address;    // sysfs "address", e.g. "traddr=127.0.0.1,trsvcid=4420,src_addr=..."
  uint16_t cntlid = 0;
  // Returns true when both name the same transport endpoint (cntlid ignored: it changes on reconnect).
  bool SameEndpoint(const PathKey& o) const;
};

}  // namespace nvme_mpath

#endif  // NVME_MPATH_TYPES_H_
