// File: log.cc
#include "log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace nvme_mpath::internal {
namespace {

int LevelFromEnv() {
  const char* e = std::getenv("NVME_MPATH_LOG");
  if (e == nullptr) return static_cast<int>(LogLevel::kWarn);
  if (!strcmp(e, "error")) return 0;
  if (!strcmp(e, "warn")) return 1;
  if (!strcmp(e, "info")) return 2;
  if (!strcmp(e, "debug")) return 3;
  return static_cast<int>(LogLevel::kWarn);
}

std::atomic<int>& Level() {
  static std::atomic<int> level{LevelFromEnv()};
  return level;
}

}  // namespace

LogLevel CurrentLogLevel() { return static_cast<LogLevel>(Level().load(std::memory_order_relaxed)); }
void SetLogLevel(LogLevel level) { Level().store(static_cast<int>(level)); }

void LogLine(LogLevel level, std::string_view message) {
  static const char* const kNames[] = {"error", "warning", "info", "debug"};
  std::string line = fmt::format("nvme-mpath: {}: {}\n", kNames[static_cast<int>(level)], message);
  fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace nvme_mpath::internal
