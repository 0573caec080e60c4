// File: sqlite/tool_args.h
//
// The command line of nvme-mpath-sqlite (the format tool), parsed without touching a device:
// unit-tested in sqlite/tests/tool_args_test.cc; its --help is kToolHelp.
#ifndef NVME_MPATH_SQLITE_TOOL_ARGS_H_
#define NVME_MPATH_SQLITE_TOOL_ARGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace nvme_mpath::sqlite {

// Exit statuses (also in --help).
inline constexpr int kExitOk = 0, kExitError = 1, kExitUsage = 2, kExitNotUsable = 3;

struct ToolArgs {
  enum class Cmd { kHelp, kVersion, kFormat, kInfo } cmd = Cmd::kHelp;
  std::string dev;
  uint64_t lba_offset = 0;
  uint64_t lbas = 0;          // region size; 0 = to the end of the device
  uint64_t db_mib = 0, journal_mib = 0, wal_mib = 0;  // 0 = default
  bool force = false;
  bool json = false;          // -o json
  uint32_t file_lba_size = 4096;
};

// Parses argv[1..]. kInvalidArgument with one line (no "Try ..." suffix) on a usage error.
absl::StatusOr<ToolArgs> ParseToolArgs(const std::vector<std::string>& args);

extern const char kToolHelp[];

}  // namespace nvme_mpath::sqlite

#endif  // NVME_MPATH_SQLITE_TOOL_ARGS_H_
