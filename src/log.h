// File: log.h
//
// Control-plane logging to stderr: "nvme-mpath: <level>: <message>". The level comes from the
// environment variable NVME_MPATH_LOG (error|warn|info|debug; default warn) or SetLogLevel().
// Never used per I/O on the hot path, only on state changes.
#ifndef NVME_MPATH_SRC_LOG_H_
#define NVME_MPATH_SRC_LOG_H_

#include <fmt/format.h>

#include <string_view>

namespace nvme_mpath::internal {

enum class LogLevel : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

LogLevel CurrentLogLevel();
void SetLogLevel(LogLevel level);
void LogLine(LogLevel level, std::string_view message);

}  // namespace nvme_mpath::internal

#define NVME_MPATH_LOG(level, ...)                                                       \
  do {                                                                                   \
    if (::nvme_mpath::internal::LogLevel::level <= ::nvme_mpath::internal::CurrentLogLevel()) \
      ::nvme_mpath::internal::LogLine(::nvme_mpath::internal::LogLevel::level,           \
                                      fmt::format(__VA_ARGS__));                         \
  } while (0)

#define LOG_ERROR(...) NVME_MPATH_LOG(kError, __VA_ARGS__)
#define LOG_WARN(...) NVME_MPATH_LOG(kWarn, __VA_ARGS__)
#define LOG_INFO(...) NVME_MPATH_LOG(kInfo, __VA_ARGS__)
#define LOG_DEBUG(...) NVME_MPATH_LOG(kDebug, __VA_ARGS__)

#endif  // NVME_MPATH_SRC_LOG_H_
