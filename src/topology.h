// File: topology.h
//
// The control-plane model subsystem -> controller -> namespace path, read from sysfs through
// libnvme's tree scan, and the checks that decide which /dev/ngXnY belong to one multipath
// namespace. Runs on control-plane threads only; nothing here is on the I/O path.
#ifndef NVME_MPATH_SRC_TOPOLOGY_H_
#define NVME_MPATH_SRC_TOPOLOGY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

#include <nvme_mpath/types.h>

#include "ctrl_state.h"
#include "identify.h"

namespace nvme_mpath::internal {

// One path: a namespace as seen through one controller.
struct PathDesc {
  std::string ng_path;     // /dev/ngXnY
  std::string ctrl_name;   // nvmeX
  std::string ctrl_dev;    // /dev/nvmeX
  PathKey key;             // subsysnqn, transport, address, cntlid
  CtrlState ctrl_state = CtrlState::kUnknown;  // sysfs "state", parsed
  int numa_node = -1;
  uint32_t kato_ms = 0;    // sysfs "kato" (seconds in sysfs) in ms; 0 if unknown
  uint32_t max_hw_bytes = 0;  // /sys/block/nvmeXnY/queue/max_hw_sectors_kb * 1024 (0 unknown)
  uint32_t max_segments = 0;  // /sys/block/nvmeXnY/queue/max_segments (0 unknown)
  uint32_t nsid = 0;
  ControllerIdentity ctrl;
  NamespaceIdentity ns;
  // A multipath head (nvme_core.multipath=Y): its block name nvme<S>n<N>, its subsystem
  // (nvme-subsys<S>) and the kernel's iopolicy for it. Empty for a per-controller path. A head
  // has no controller of its own (ctrl_name is empty): the kernel picks one per command.
  std::string head_block;
  std::string head_subsys;
  std::string head_iopolicy;
  bool is_head() const { return !head_block.empty(); }
  // Returns the strictest transfer limit of this path: MDTS, max_hw_sectors, and
  // max_segments x 4 KiB for page-aligned buffers. 0 = no known limit.
  uint32_t MaxTransferBytes() const;
};

struct NamespaceTopology {
  std::string subsysnqn;
  uint32_t nsid = 0;
  std::string grouping_id;  // NamespaceIdentity::GroupingId()
  std::vector<PathDesc> paths;
};

// Finds every path of the namespace behind `ng_path` (any one of its /dev/ngXnY). Each path is
// identified (Identify Controller + Namespace) and checked: same NQN, NSID, grouping ID and
// format. Paths that fail a check are left out with a warning log; the given one must pass.
absl::StatusOr<NamespaceTopology> DiscoverFromDevice(std::string_view ng_path);
// Same, by subsystem NQN and NSID.
absl::StatusOr<NamespaceTopology> DiscoverByNqn(std::string_view subsysnqn, uint32_t nsid);
// Returns why `d` is not a path of the same namespace as `ref`, naming the first mismatch: subsystem,
// NSID, namespace ID (NGUID/UUID/EUI64), LBA format (data and metadata sizes, extended LBAs,
// protection information type and location, size), Flexible Data Placement support; "" when
// it is one.
std::string PathMismatch(const PathDesc& ref, const PathDesc& d);
// Checks an explicit list: each must be an NVMe generic char device of the same namespace and
// format. The first bad one is an error naming it (kInvalidArgument / kFailedPrecondition).
absl::StatusOr<NamespaceTopology> ValidatePaths(const std::vector<std::string>& ng_paths);
// Every multipath namespace on the host (for nvme-mpath-ctl list); paths are identified.
absl::StatusOr<std::vector<NamespaceTopology>> DiscoverAll();

// Looks for a live controller on the same endpoint as `key` (NQN + address; cntlid may differ
// after a reconnect) that exposes `nsid`, and returns that path, identified. kNotFound when
// there is none (yet).
absl::StatusOr<PathDesc> FindPath(const PathKey& key, uint32_t nsid);

// One controller behind a multipath head, as sysfs shows it: the head nvme<S>n<N> has a hidden
// per-path namespace nvme<S>c<C>n<N> under each of its controllers nvme<C>.
struct HeadMember {
  std::string ctrl_name;   // nvme<C>
  std::string path_ns;     // nvme<S>c<C>n<N>
  PathKey key;             // the controller's endpoint
  CtrlState state = CtrlState::kGone;  // the controller's sysfs "state", parsed (kGone once it vanished)
  std::string ana_state;   // the path's sysfs "ana_state" as the kernel knows it ("" unreadable)
  uint32_t ana_grpid = 0;
  uint32_t kato_ms = 0;
};
// Reads the members of the head `head_block` (nvme<S>n<N>) from sysfs, in controller order.
// Empty when the head has none left (or is gone).
std::vector<HeadMember> ReadHeadMembers(std::string_view head_block);
// Returns true when the head `head_block` is still in sysfs.
bool HeadExists(std::string_view head_block);
// Looks for the head of namespace `nsid` of `subsysnqn`, identified, with at least one member
// whose controller is live. kNotFound / kUnavailable otherwise.
absl::StatusOr<PathDesc> FindHead(std::string_view subsysnqn, uint32_t nsid);

// Reads a controller's sysfs "state" (live, connecting, resetting, deleting, ...); kGone when
// the controller is not in sysfs.
CtrlState ReadCtrlState(std::string_view ctrl_name);

// Every namespace path in sysfs (identity fields not filled in: see Identify). With
// multipath=N one per (controller, namespace); with multipath=Y one per head (ctrl_name "").
std::vector<PathDesc> ScanSysfsPaths();

// Points the direct sysfs reads (state, kato, queue limits) at another root (tests).
void SetSysfsRootForTest(const std::string& root);

// Checks that `path` names an NVMe generic char device (/dev/ngXnY): kInvalidArgument for a
// regular file or another char device, kNotFound when missing, kPermissionDenied on EACCES.
absl::Status CheckGenericCharDevice(std::string_view path);

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_TOPOLOGY_H_
