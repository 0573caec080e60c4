// File: iopoll.cc — see iopoll.h.
#include "iopoll.h"

#include <fmt/format.h>

namespace nvme_mpath::internal {

std::string IoPollAttribute(std::string_view ng) {
  if (const size_t slash = ng.rfind('/'); slash != std::string_view::npos) ng.remove_prefix(slash + 1);
  if (ng.substr(0, 2) == "ng") ng.remove_prefix(2);
  return fmt::format("/sys/block/nvme{}/queue/io_poll", ng);
}

bool IopollKnownToCrash(std::string_view release) {
  // "6.1", "6.1.0-27-amd64", "6.1.119": the 6.1 series; not "6.10", "6.12".
  return release.substr(0, 3) == "6.1" && (release.size() == 3 || release[3] == '.' || release[3] == '-');
}

bool IopollKnownToCrashOn(std::string_view transport) { return transport == "tcp"; }

absl::Status CheckIopoll(std::string_view release, const std::vector<IopollPath>& paths, bool force) {
  for (const IopollPath& p : paths) {
    if (p.io_poll == "1") continue;
    if (p.io_poll.empty())
      return absl::FailedPreconditionError(fmt::format(
          "iopoll: path {}: cannot read {}, so the engine cannot tell whether its controller has "
          "poll queues; polling needs them on every path", p.ng, p.sysfs));
    return absl::FailedPreconditionError(fmt::format(
        "iopoll: path {}: its controller has no poll queues ({} is {}): connect it with "
        "`nvme connect --nr-poll-queues=N ...` (NVMe/TCP, RDMA), or load nvme with poll_queues=N "
        "(PCIe); or create the queue without iopoll (fio: no hipri)", p.ng, p.sysfs, p.io_poll));
  }
  if (force) return absl::OkStatus();
  if (IopollKnownToCrash(release))
    return absl::FailedPreconditionError(fmt::format(
        "iopoll: kernel {}: polled NVMe passthrough crashes the 6.1 series (seen on Debian's "
        "6.1: a general protection fault in bio_poll() from nvme_ns_chr_uring_cmd_iopoll(), "
        "docs/kernels.md); use 6.12 (bookworm-backports), or set iopoll_force (fio: "
        "hipri_force=1) to poll anyway", release));
  for (const IopollPath& p : paths)
    if (IopollKnownToCrashOn(p.transport))
      return absl::FailedPreconditionError(fmt::format(
          "iopoll: path {}: polled NVMe passthrough over nvme-{} crashes the kernel (seen on "
          "6.12.117 with fio's own io_uring_cmd hipri=1 and no fault: a NULL pointer dereference "
          "in nvme_tcp_poll() from io_do_iopoll(), docs/kernels.md); poll PCIe paths only, or set "
          "iopoll_force (fio: hipri_force=1) to poll anyway", p.ng, p.transport));
  return absl::OkStatus();
}

}  // namespace nvme_mpath::internal
