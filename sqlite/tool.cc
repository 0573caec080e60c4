// File: sqlite/tool.cc
//
// nvme-mpath-sqlite: formats and inspects the region of the nvme_mpath SQLite VFS (tool_args.h
// has the command line and its --help).
#include <json-c/json.h>
#include <sqlite3.h>
#include <sys/random.h>

#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "mpath_json.h"
#include "nvme_mpath/nvme_mpath.h"
#include "region.h"
#include "tool_args.h"
#include "vfs_internal.h"

namespace nvme_mpath::sqlite {
namespace {

std::string Bytes(uint64_t b) {
  if (b >= (uint64_t(1) << 30) && b % (uint64_t(1) << 30) == 0) return fmt::format("{} GiB", b >> 30);
  if (b >= (uint64_t(1) << 20) && b % (uint64_t(1) << 20) == 0) return fmt::format("{} MiB", b >> 20);
  if (b >= 1024 && b % 1024 == 0) return fmt::format("{} KiB", b >> 10);
  return fmt::format("{} B", b);
}

// The SQLITE_IOCAP_* flags the VFS reports for this device, by name.
std::string Flags(uint64_t atomic, uint32_t lba) {
  static const struct {
    int flag;
    const char* name;
  } kNames[] = {{SQLITE_IOCAP_ATOMIC512, "ATOMIC512"}, {SQLITE_IOCAP_ATOMIC1K, "ATOMIC1K"},
                {SQLITE_IOCAP_ATOMIC2K, "ATOMIC2K"},   {SQLITE_IOCAP_ATOMIC4K, "ATOMIC4K"},
                {SQLITE_IOCAP_ATOMIC8K, "ATOMIC8K"},   {SQLITE_IOCAP_ATOMIC16K, "ATOMIC16K"},
                {SQLITE_IOCAP_ATOMIC32K, "ATOMIC32K"}, {SQLITE_IOCAP_ATOMIC64K, "ATOMIC64K"},
                {SQLITE_IOCAP_POWERSAFE_OVERWRITE, "POWERSAFE_OVERWRITE"}};
  const int f = DeviceCharacteristics(atomic, lba);
  std::string s;
  for (const auto& n : kNames)
    if (f & n.flag) s += std::string(s.empty() ? "" : " ") + n.name;
  return s.empty() ? "none" : s;
}

int Format(const ToolArgs& a, Backend& b) {
  FormatParams p;
  p.lba_size = b.lba_size();
  p.lba_offset = a.lba_offset;
  if (a.lba_offset >= b.lbas()) {
    fmt::print(stderr, "nvme-mpath-sqlite: --lba-offset {} is beyond {}'s {} LBAs\n", a.lba_offset, a.dev, b.lbas());
    return kExitError;
  }
  p.region_lbas = a.lbas ? a.lbas : b.lbas() - a.lba_offset;
  p.db_bytes = a.db_mib << 20;
  p.journal_bytes = a.journal_mib << 20;
  p.wal_bytes = a.wal_mib << 20;
  if (getrandom(p.uuid.data(), p.uuid.size(), 0) != ssize_t(p.uuid.size())) {
    fmt::print(stderr, "nvme-mpath-sqlite: getrandom failed\n");
    return kExitError;
  }
  p.uuid[6] = uint8_t((p.uuid[6] & 0x0f) | 0x40);  // RFC 4122 version 4
  p.uuid[8] = uint8_t((p.uuid[8] & 0x3f) | 0x80);
  p.format_time_s = uint64_t(time(nullptr));
  if (absl::Status s = FormatRegion(b, p, a.force); !s.ok()) {
    fmt::print(stderr, "nvme-mpath-sqlite: {}\n", std::string(s.message()));
    return kExitError;
  }
  absl::StatusOr<Layout> l = PlanLayout(p);
  fmt::print("formatted {} (LBA offset {}, {} LBAs of {} B): uuid {}\n", a.dev, a.lba_offset, p.region_lbas,
             p.lba_size, UuidString(p.uuid));
  for (const FileEntry& f : l->table.files)
    fmt::print("  {:<8} {}\n", FileKindName(f.kind), Bytes(f.extent_lbas * p.lba_size));
  return kExitOk;
}

int Info(const ToolArgs& a, Backend& b) {
  absl::StatusOr<RegionInfo> info = ReadRegion(b, a.lba_offset);
  if (!info.ok()) {
    fmt::print(stderr, "{}\n", std::string(info.status().message()));
    return absl::IsNotFound(info.status()) || absl::IsDataLoss(info.status()) ||
                   absl::IsFailedPrecondition(info.status())
               ? kExitNotUsable
               : kExitError;
  }
  const Superblock& sb = info->sb;
  const uint64_t atomic = b.atomic_write_bytes();
  if (a.json) {
    json_object* o = json_object_new_object();
    json_object_object_add(o, "schema_version", json_object_new_int(1));
    json_object_object_add(o, "device", mpath_json_string(a.dev.c_str()));
    json_object_object_add(o, "layout_version", json_object_new_int(int(sb.version)));
    json_object_object_add(o, "uuid", mpath_json_string(UuidString(sb.uuid).c_str()));
    json_object_object_add(o, "lba_size", json_object_new_int64(sb.lba_size));
    json_object_object_add(o, "lba_offset", json_object_new_int64(int64_t(sb.lba_offset)));
    json_object_object_add(o, "region_lbas", json_object_new_int64(int64_t(sb.region_lbas)));
    json_object_object_add(o, "formatted_unix", json_object_new_int64(int64_t(sb.format_time_s)));
    json_object_object_add(o, "table_copy", json_object_new_int(info->table_copy));
    json_object_object_add(o, "table_seq", json_object_new_int64(int64_t(info->table.seq)));
    json_object* copies = json_object_new_array();
    for (const absl::Status& s : info->copy_status)
      json_object_array_add(copies, mpath_json_string(s.ok() ? "ok" : std::string(s.message()).c_str()));
    json_object_object_add(o, "table_copies", copies);
    json_object_object_add(o, "atomic_write_bytes", json_object_new_int64(int64_t(atomic)));
    json_object* files = json_object_new_array();
    for (const FileEntry& f : info->table.files) {
      json_object* j = json_object_new_object();
      json_object_object_add(j, "name", mpath_json_string(FileKindName(f.kind)));
      json_object_object_add(j, "exists", json_object_new_boolean(f.exists));
      json_object_object_add(j, "start_lba", json_object_new_int64(int64_t(sb.lba_offset + f.start_lba)));
      json_object_object_add(j, "extent_bytes", json_object_new_int64(int64_t(f.extent_lbas * sb.lba_size)));
      json_object_object_add(j, "size_bytes", json_object_new_int64(int64_t(f.size_bytes)));
      json_object_array_add(files, j);
    }
    json_object_object_add(o, "files", files);
    fmt::print("{}\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return kExitOk;
  }
  char when[64] = "";
  time_t t = time_t(sb.format_time_s);
  struct tm tm;
  strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
  fmt::print("device       {}\n", a.dev);
  fmt::print("region       LBAs {}..{} ({} x {} B = {})\n", sb.lba_offset, sb.lba_offset + sb.region_lbas - 1,
             sb.region_lbas, sb.lba_size, Bytes(sb.region_lbas * sb.lba_size));
  fmt::print("layout       version {}, uuid {}, formatted {}\n", sb.version, UuidString(sb.uuid), when);
  for (int i = 0; i < 2; ++i)
    fmt::print("table copy {} {}{}\n", i,
               info->copy_status[i].ok() ? "ok" : std::string(info->copy_status[i].message()),
               i == info->table_copy ? fmt::format(" (in use, seq {})", info->table.seq) : "");
  fmt::print("atomic write {} ({})\n", atomic ? Bytes(atomic) : "no guarantee", Flags(atomic, sb.lba_size));
  fmt::print("{:<8} {:>12} {:>12} {:>14} {}\n", "file", "start LBA", "extent", "size", "");
  for (const FileEntry& f : info->table.files)
    fmt::print("{:<8} {:>12} {:>12} {:>14} {}\n", FileKindName(f.kind), sb.lba_offset + f.start_lba,
               Bytes(f.extent_lbas * sb.lba_size), f.size_bytes, f.exists ? "" : "(none)");
  return kExitOk;
}

int Main(int argc, char** argv) {
  absl::StatusOr<ToolArgs> a = ParseToolArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!a.ok()) {
    fmt::print(stderr, "nvme-mpath-sqlite: {}\nTry 'nvme-mpath-sqlite --help'.\n", std::string(a.status().message()));
    return kExitUsage;
  }
  if (a->cmd == ToolArgs::Cmd::kHelp) {
    fputs(kToolHelp, stdout);
    return kExitOk;
  }
  if (a->cmd == ToolArgs::Cmd::kVersion) {
    fmt::print("nvme-mpath-sqlite {} (layout version {}, nvme-mpath {})\n", NVME_MPATH_VERSION_STRING,
               kLayoutVersion, nvme_mpath_version());
    return kExitOk;
  }
  nvme_mpath_options eo;
  nvme_mpath_options_init(&eo);
  eo.name = "nvme-mpath-sqlite";
  eo.publish_stats = 0;
  NvmeBackendOptions bo;
  bo.engine = &eo;
  absl::StatusOr<std::unique_ptr<Backend>> b = OpenBackend(a->dev, bo, a->file_lba_size);
  if (!b.ok()) {
    fmt::print(stderr, "nvme-mpath-sqlite: {}\n", std::string(b.status().message()));
    return kExitError;
  }
  if (a->cmd == ToolArgs::Cmd::kFormat) {
    if (absl::Status s = (*b)->LockExclusive(a->lba_offset); !s.ok()) {
      fmt::print(stderr, "nvme-mpath-sqlite: {}\n", std::string(s.message()));
      return kExitError;
    }
    return Format(*a, **b);
  }
  return Info(*a, **b);
}

}  // namespace
}  // namespace nvme_mpath::sqlite

int main(int argc, char** argv) { return nvme_mpath::sqlite::Main(argc, argv); }
