// File: sqlite/tool_args.cc
#include "tool_args.h"

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

namespace nvme_mpath::sqlite {

const char kToolHelp[] = R"(Usage: nvme-mpath-sqlite format DEV [--db-mib N] [--journal-mib N] [--wal-mib N]
                                    [--lba-offset LBA] [--lbas N] [--force] [--file-lba-size N]
       nvme-mpath-sqlite info DEV [--lba-offset LBA] [-o normal|json] [--file-lba-size N]
       nvme-mpath-sqlite --help | --version

Lays out and inspects the region of an NVMe namespace that the nvme_mpath SQLite VFS stores one
database in (docs/sqlite-vfs.md). DEV is any one path of the namespace (/dev/ngXnY; the engine
finds the others), or a regular file (for tests and development).

Commands:
  format DEV   Writes a new layout: a superblock, two copies of the file table, and one extent
               each for the rollback journal, the WAL and the main database. Everything stored
               in the region before is lost. Refuses a region that already holds a layout,
               unless --force, and a region another process has open.
  info DEV     Prints the layout: superblock, the table copy in use, each file's extent and
               size, and the atomic write size the device reports. A region that is not
               formatted, corrupt, or of another layout version gives the same one-line message
               the VFS logs when it refuses to open it, and exit status 3.

Options:
  --lba-offset LBA   The region's first LBA on the namespace (default 0). The VFS opens it with
                     the URI parameter lba_offset (file:/dev/ng0n1?lba_offset=LBA).
  --lbas N           The region's size in LBAs (default: to the end of the namespace).
  --journal-mib N    The rollback journal's extent in MiB (default: an eighth of the region,
                     64 KiB to 1024 MiB).
  --wal-mib N        The WAL's extent in MiB (default: as the journal).
  --db-mib N         The database's extent in MiB (default: the rest of the region).
  --force            Format over an existing layout.
  --file-lba-size N  The block size of a regular file, 512..65536 (default 4096; a namespace
                     has its own LBA size).
  -o, --output FMT   normal (default) or json (info).
  -h, --help         This text.
  --version          The version.

Exit status:
  0  success
  1  error: the device cannot be opened or read, the layout does not fit, the region is in use
     or already formatted (without --force)
  2  usage error
  3  info: the region is not formatted, corrupt, or of another layout version
)";

namespace {

absl::StatusOr<uint64_t> Number(const std::string& opt, const std::string& v, uint64_t max) {
  if (v.empty() || v[0] == '-' || v[0] == '+')
    return absl::InvalidArgumentError(fmt::format("{} wants a number, not '{}'", opt, v));
  errno = 0;
  char* end = nullptr;
  unsigned long long n = strtoull(v.c_str(), &end, 0);
  if (errno != 0 || *end != '\0')
    return absl::InvalidArgumentError(fmt::format("{} wants a number, not '{}'", opt, v));
  if (n > max) return absl::InvalidArgumentError(fmt::format("{} {} is more than {}", opt, n, max));
  return uint64_t(n);
}

}  // namespace

absl::StatusOr<ToolArgs> ParseToolArgs(const std::vector<std::string>& args) {
  ToolArgs a;
  if (args.empty()) return absl::InvalidArgumentError("no command (format, info)");
  size_t i = 0;
  const std::string& cmd = args[i++];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    a.cmd = ToolArgs::Cmd::kHelp;
    return a;
  }
  if (cmd == "--version") {
    a.cmd = ToolArgs::Cmd::kVersion;
    return a;
  }
  if (cmd == "format") a.cmd = ToolArgs::Cmd::kFormat;
  else if (cmd == "info") a.cmd = ToolArgs::Cmd::kInfo;
  else return absl::InvalidArgumentError(fmt::format("unknown command '{}' (format, info)", cmd));
  const bool format = a.cmd == ToolArgs::Cmd::kFormat;
  constexpr uint64_t kMaxMib = uint64_t(1) << 30;  // 1 PiB
  for (; i < args.size(); ++i) {
    std::string opt = args[i], val;
    bool has_val = false;
    if (opt.rfind("--", 0) == 0 && opt.find('=') != std::string::npos) {
      val = opt.substr(opt.find('=') + 1);
      opt = opt.substr(0, opt.find('='));
      has_val = true;
    }
    auto value = [&]() -> absl::StatusOr<std::string> {
      if (has_val) return val;
      if (i + 1 >= args.size()) return absl::InvalidArgumentError(fmt::format("{} needs a value", opt));
      return args[++i];
    };
    auto number = [&](uint64_t max, uint64_t* out) -> absl::Status {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      absl::StatusOr<uint64_t> n = Number(opt, *v, max);
      if (!n.ok()) return n.status();
      *out = *n;
      return absl::OkStatus();
    };
    absl::Status s;
    if (opt == "-h" || opt == "--help") {
      a.cmd = ToolArgs::Cmd::kHelp;
      return a;
    } else if (opt == "--lba-offset") {
      s = number(UINT64_MAX / 2, &a.lba_offset);
    } else if (opt == "--file-lba-size") {
      uint64_t n = 0;
      s = number(65536, &n);
      if (s.ok() && (n < 512 || (n & (n - 1))))
        s = absl::InvalidArgumentError(fmt::format("--file-lba-size {} is not a power of two in 512..65536", n));
      a.file_lba_size = uint32_t(n);
    } else if (format && opt == "--lbas") {
      s = number(UINT64_MAX / 2, &a.lbas);
      if (s.ok() && a.lbas == 0) s = absl::InvalidArgumentError("--lbas 0: a region needs LBAs");
    } else if (format && (opt == "--db-mib" || opt == "--journal-mib" || opt == "--wal-mib")) {
      uint64_t* out = opt == "--db-mib" ? &a.db_mib : opt == "--journal-mib" ? &a.journal_mib : &a.wal_mib;
      s = number(kMaxMib, out);
      if (s.ok() && *out == 0) s = absl::InvalidArgumentError(fmt::format("{} 0: give at least 1 (MiB)", opt));
    } else if (format && opt == "--force" && !has_val) {
      a.force = true;
    } else if (!format && (opt == "-o" || opt == "--output")) {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      if (*v == "json") a.json = true;
      else if (*v == "normal") a.json = false;
      else s = absl::InvalidArgumentError(fmt::format("{} wants normal or json, not '{}'", opt, *v));
    } else if (opt.size() > 1 && opt[0] == '-') {
      s = absl::InvalidArgumentError(fmt::format("{} takes no option '{}'", cmd, args[i]));
    } else if (a.dev.empty()) {
      a.dev = opt;
    } else {
      s = absl::InvalidArgumentError(fmt::format("{} takes one device, not also '{}'", cmd, opt));
    }
    if (!s.ok()) return s;
  }
  if (a.dev.empty()) return absl::InvalidArgumentError(fmt::format("{} needs a device (DEV)", cmd));
  return a;
}

}  // namespace nvme_mpath::sqlite
