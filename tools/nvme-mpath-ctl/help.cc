// File: help.cc — nvme-mpath-ctl's --help texts (kept in step with docs/nvme-mpath-ctl.1 and
// docs/nvme-mpath-ctl.md by tests/unit/ctl_help_test.cc).
#include "help.h"

#include <string>

namespace nvme_mpath::ctl {
namespace {

const char kMainHelp[] = R"(Usage: nvme-mpath-ctl COMMAND [OPTIONS]

Shows what nvme-mpath sees: NVMe subsystems, their controllers, namespaces and paths, ANA logs,
the health of each path, and the live per-path counters of running engines (fio with
mpath_nvme, or any program that embeds libnvme_mpath).

Commands:
  list                 subsystems (as nvme list-subsys shows them) -> namespaces -> paths
  ana-log DEV          decode the ANA log of the controller behind DEV (/dev/ngXnY)
  probe DEV|NQN NSID   a 1-LBA read on each path of a namespace, decoded by the engine's rules
  stats                per-path counters of running engines
  watch                stats, refreshed in place
  path disable|enable DEV  drain a path of running engines for maintenance, or take it back
  help [COMMAND]       this text, or a command's

Common options:
  -o, --output-format normal|json   output format (JSON carries "schema_version": 1);
                                    stats also takes prometheus
  -h, --help                        help of the command

Exit status: 0 ok, 1 no such device or not an NVMe generic char device, 2 usage error,
3 permission denied, 4 no such namespace, 5 no engine running, 6 I/O or other error.
See nvme-mpath-ctl(1).
)";

const char kListHelp[] = R"(Usage: nvme-mpath-ctl list [-v] [-o normal|json]

Shows every NVMe subsystem as nvme list-subsys does: its name (nvme-subsysN), NQN, host NQN,
the kernel's iopolicy, and each controller's transport, address and state. Under it, every
namespace reachable through generic char devices (NSID, size), with one line per path:
controller, ng device, controller state, ANA group and state (from the controller's ANA log),
NUMA node, and what failed if the path's state could not be read. Paths are grouped by
subsystem, NSID and namespace identifier (NGUID, else UUID, else EUI64).
  -v, --verbose   also NGUID/UUID, cntlid, MDTS and ANATT
Needs read access to /dev/ng* and CAP_SYS_ADMIN for Identify and the ANA log.
)";

const char kAnaHelp[] = R"(Usage: nvme-mpath-ctl ana-log DEV [-o normal|json]

Reads the ANA log page (LID 0x0C, RAE=0) of the controller behind DEV, a /dev/ngXnY, and
prints its change count and every ANA group: state, change count and NSIDs.
)";

const char kProbeHelp[] = R"(Usage: nvme-mpath-ctl probe DEV [-o normal|json] [--timeout-ms MS]
       nvme-mpath-ctl probe NQN NSID [-o normal|json] [--timeout-ms MS]

Sends one harmless read (1 LBA at LBA 0) down every path of the namespace and prints each
path's result and latency. Errors are decoded by name (ANA_INACCESSIBLE, HOST_PATH_ERROR,
-ENODEV...) with what the engine would do with them (complete, retry, failover, ana-failover,
reopen). --timeout-ms bounds each read (default 5000).
)";

const char kStatsHelp[] = R"(Usage: nvme-mpath-ctl stats [--pid PID] [--name NAME] [--gc] [-o normal|json|prometheus]
       nvme-mpath-ctl watch [--pid PID] [--name NAME] [--gc] [--interval SEC] [--count N] [-o normal|json]

Shows the per-path counters that running engines publish in shared memory
(/dev/shm/nvme-mpath.<pid>.<n>, mode 0600: run as the engine's user or root): the engine's
mode (per-path, or head: the kernel's multipath head, where the kernel's iopolicy picks the
controller and the policy shows "kernel"), then per path I/Os, MiB, in flight, errors (by
class), same-path retries, failovers, requeues, latency p50/p99 (from a log2 histogram; the
JSON has the whole histogram). Engines are selected by --pid or by --name
(the job or program name); by default all running ones. watch redraws every --interval
seconds (default 1) and shows I/O rates; --count stops after N refreshes.
  --gc   remove segments left by processes that no longer run
  -o prometheus   stats only: the counters and latency histograms in the Prometheus text
         format (families nvme_mpath_path_*, labels engine, pid, path), one shot, for
         node_exporter's textfile collector: stats -o prometheus > f.tmp && mv f.tmp f.prom
)";

const char kPathHelp[] = R"(Usage: nvme-mpath-ctl path disable|enable DEV [--pid PID] [--name NAME] [--timeout-ms MS] [-o normal|json]

Path maintenance. disable tells every running engine that has DEV as a path (a /dev/ngXnY,
ngXnY, or a controller name nvmeX) to send no new I/O down it while another path is usable:
commands in flight on it complete, nothing fails, and a flush still reaches it while it holds
writes no flush covers. enable takes it back. Engines are selected by --pid or --name, by
default every running one that has DEV. The tool asks each engine through its stats segment
(which it opens read-write: run as the engine's user or root), waits until the engine shows
the new state and, for disable, until no command is in flight on the path any more, at most
--timeout-ms in all (default 5000), then prints one line per engine:
  /dev/ng0n1 (nvme0) on engine fio-job[1234]: disabled, drained (0 in flight)
When no other path of an engine is usable, the disabled path stays in use as the last resort
(a warning says so, and the command does not wait for it to drain). The state lasts until
enable or until the engine closes; stats and list show it. Head mode (the kernel's multipath
head) is refused: the kernel picks the controller there. Exit status 6 when an engine did not
take the request or the path did not drain in time.
)";

}  // namespace

const char* HelpText(std::string_view cmd) {
  if (cmd == "list") return kListHelp;
  if (cmd == "ana-log") return kAnaHelp;
  if (cmd == "probe") return kProbeHelp;
  if (cmd == "stats" || cmd == "watch") return kStatsHelp;
  if (cmd == "path") return kPathHelp;
  return kMainHelp;
}

std::string UsageError(std::string_view msg) {
  return "nvme-mpath-ctl: " + std::string(msg) + "\nTry 'nvme-mpath-ctl --help'.\n";
}

}  // namespace nvme_mpath::ctl
