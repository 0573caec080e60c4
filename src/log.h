// File: log.h
//
// Control-plane logging to stderr: "nvme-mpath: <level>: <message>". The level comes from the
// environment variable NVME_MPATH_LOG (error|warn|info|debug; default warn) or SetLogLevel().
// Never used per I/O on the hot path, only on state changes.
#ifndef NVME_MPATH_SRC_LOG_H_
#define NVME_MPATH_SRC_LOG_H_

#include <fmt/format.h>

#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

// Debian 12's Abseil has its own absl::string_view (not std::string_view): teach fmt to print it
// and absl::Status.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(absl::string_view s, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(s.data(), s.size()), ctx);
  }
};
template <>
struct fmt::formatter<absl::Status> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(const absl::Status& s, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(s.ToString(), ctx);
  }
};

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

#define MPLOG_ERROR(...) NVME_MPATH_LOG(kError, __VA_ARGS__)
#define MPLOG_WARN(...) NVME_MPATH_LOG(kWarn, __VA_ARGS__)
#define MPLOG_INFO(...) NVME_MPATH_LOG(kInfo, __VA_ARGS__)
#define MPLOG_DEBUG(...) NVME_MPATH_LOG(kDebug, __VA_ARGS__)

#endif  // NVME_MPATH_SRC_LOG_H_
