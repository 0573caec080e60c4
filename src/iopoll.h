// File: iopoll.h
//
// Whether a queue may poll for completions (QueueOptions::iopoll, IORING_SETUP_IOPOLL; fio's
// hipri): a pure decision over what the engine read at queue creation (the kernel release,
// each path's sysfs queue/io_poll). Engine::CreateQueue gathers the facts and refuses the queue
// with this decision's message.
//   * Every path's controller needs poll queues: without them a polled command has no polled
//     hardware queue to complete on (nvme-tcp and nvme-rdma: `nvme connect --nr-poll-queues=N`;
//     PCIe: the nvme module's poll_queues=N). The kernel says so in
//     /sys/block/nvmeXnY/queue/io_poll ("1"); an unreadable attribute is refused as well: the
//     engine cannot tell.
//   * Where polled passthrough is known to crash the kernel, it is refused unless forced:
//       - Debian's 6.1 series, any transport (the lab, kernel 6.1.0: a general protection fault
//         in bio_poll() from nvme_ns_chr_uring_cmd_iopoll() on the second polled fio
//         io_uring_cmd run);
//       - NVMe/TCP paths on any kernel (the lab, 6.12.117: a NULL pointer dereference in
//         nvme_tcp_poll() from io_do_iopoll() on the third polled run of fio's own io_uring_cmd
//         engine, no fault injected; no kernel is known to be fixed).
//     PCIe paths on 6.12 passed the lab (polled runs and resets, hot-unplug: lab.iopoll.6.12).
//     docs/kernels.md has the measurements.
#ifndef NVME_MPATH_SRC_IOPOLL_H_
#define NVME_MPATH_SRC_IOPOLL_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace nvme_mpath::internal {

struct IopollPath {
  std::string ng;        // /dev/ngXnY
  std::string sysfs;     // the attribute read: /sys/block/nvmeXnY/queue/io_poll
  std::string io_poll;   // its first line: "1", "0", or "" when it could not be read
  std::string transport; // its controller's (for a head, a member's) sysfs `transport` as
                         // discovery read it: "tcp", "pcie", "rdma", ...; "" when unknown
};

// Returns the sysfs attribute that says whether ng device `ng` (/dev/ngXnY or ngXnY) polls:
// /sys/block/nvmeXnY/queue/io_poll (the block device of the same namespace and controller, or
// of the same head).
std::string IoPollAttribute(std::string_view ng);

// Returns true when polled passthrough is known to crash kernel `release` (uname -r) whatever
// the transport.
bool IopollKnownToCrash(std::string_view release);
// Returns true when polled passthrough over `transport` is known to crash on every kernel.
bool IopollKnownToCrashOn(std::string_view transport);

// OK when a polled queue may be created, else FailedPrecondition naming the first reason and
// its fix. `force` skips the known-crash checks only (a path without poll queues cannot poll at all).
absl::Status CheckIopoll(std::string_view release, const std::vector<IopollPath>& paths, bool force);

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_IOPOLL_H_
