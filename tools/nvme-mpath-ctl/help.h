// File: help.h — nvme-mpath-ctl's --help texts, exit statuses and usage-error format, in the
// library so that a unit test (tests/unit/ctl_help_test.cc) checks them against the man page
// (docs/nvme-mpath-ctl.1) and docs/nvme-mpath-ctl.md.
#ifndef NVME_MPATH_CTL_HELP_H_
#define NVME_MPATH_CTL_HELP_H_

#include <string>
#include <string_view>

namespace nvme_mpath::ctl {

// Exit statuses. Usage errors are 2, as for most Unix tools (grep, ls, diff, getopt users).
enum Exit {
  kOk = 0,
  kNoDevice = 1,     // no such device, or not an NVMe generic char device
  kUsage = 2,        // a bad command line: one line on stderr, then "Try ..."
  kPermission = 3,   // permission denied
  kNoNamespace = 4,  // no such namespace
  kNoEngine = 5,     // no engine running (or none matching --pid/--name)
  kError = 6,        // I/O or other error
};

// The commands, in the order --help lists them.
inline constexpr const char* kCommands[] = {"list", "ana-log", "probe", "stats", "watch", "path", "help"};

// Returns the help of `cmd` ("" or an unknown command: the main help). stats and watch share one.
const char* HelpText(std::string_view cmd);

// Returns what a usage error prints on stderr: "nvme-mpath-ctl: <msg>\n" and
// "Try 'nvme-mpath-ctl --help'.\n" (msg is one line; it may point at a command's own help).
std::string UsageError(std::string_view msg);

}  // namespace nvme_mpath::ctl

#endif  // NVME_MPATH_CTL_HELP_H_
