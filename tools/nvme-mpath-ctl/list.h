// File: list.h — gathers what `nvme-mpath-ctl list` shows.
//
// Subsystems and their controllers come from sysfs, read the way `nvme list-subsys` reads them
// (/sys/class/nvme-subsystem/nvme-subsysN: subsysnqn, iopolicy and a link per controller;
// /sys/class/nvme/nvmeX: transport, address, state, hostnqn); namespaces and their paths come
// from the library's discovery (internal::DiscoverAll); ANA states from each controller's ANA
// log, through a reader the caller passes. Nothing here opens a device, so that unit tests
// (tests/unit/ctl_list_test.cc) run it over a fake sysfs tree and canned ANA logs.
#ifndef NVME_MPATH_CTL_LIST_H_
#define NVME_MPATH_CTL_LIST_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "ana.h"
#include "model.h"
#include "topology.h"

namespace nvme_mpath::ctl {

// Returns every subsystem under <sysfs_root>/class/nvme-subsystem, in the kernel's numbering
// (nvme-subsys2 before nvme-subsys10), with its controllers in the same order; namespaces are
// left empty. Attributes that cannot be read are "" (sysfs changes while it is walked).
std::vector<SubsystemRow> ReadSysfsSubsystems(const std::string& sysfs_root);

// Reads the ANA log of the controller behind a path (real one: open the ng device, ReadAnaLog).
// A failure's message becomes the path's `error`, so it should name what failed.
using PathAnaReader = std::function<absl::StatusOr<internal::AnaLog>(const internal::PathDesc&)>;

// Returns `subs` with each namespace of `topo` attached to the subsystem that holds its first
// path's controller (else the one with its NQN; else a new row with no name), namespaces in
// NSID order. Each controller's ANA log is read once, and only when it reports ANA.
std::vector<SubsystemRow> BuildList(std::vector<SubsystemRow> subs,
                                    const std::vector<internal::NamespaceTopology>& topo,
                                    const PathAnaReader& read_ana);

// The paths one running engine has disabled (its stats segment's descriptors).
struct EngineDisabledPaths {
  EngineRef engine;
  std::vector<std::string> ng_paths;
};
// Adds each engine of `engines` to disabled_by of every row of `subs` on one of its disabled
// paths (matched by ng device).
void MarkDisabledPaths(std::vector<SubsystemRow>* subs, const std::vector<EngineDisabledPaths>& engines);

// Returns the path row of d: identity from discovery, ANA state from `log` (the log of d's
// controller, or why it could not be read).
PathRow PathRowOf(const internal::PathDesc& d, const absl::StatusOr<internal::AnaLog>* log);
// A multipath head: one row per controller behind it (sysfs: the kernel's state and ANA state).
std::vector<PathRow> HeadRows(const internal::PathDesc& d);

}  // namespace nvme_mpath::ctl

#endif  // NVME_MPATH_CTL_LIST_H_
