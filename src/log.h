// File: log.h
//
// Control-plane logging: to stderr as "nvme-mpath: <level>: <message>", or to the embedder's sink
// (nvme_mpath_set_log_fn). The level comes from the environment variable NVME_MPATH_LOG
// (error|warn|info|debug; default warn), SetLogLevel() or nvme_mpath_set_log_fn(). Never used per
// I/O on the hot path, only on state changes.
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
// Returns the level NVME_MPATH_LOG names (kWarn when it is unset or unknown).
LogLevel LogLevelFromEnv();
// Writes one line (no newline in `message`) to the sink, or to stderr when none is set.
void LogLine(LogLevel level, std::string_view message);

// The embedder's sink: fn(ctx, level, message), message NUL-terminated, without prefix or newline.
using LogSinkFn = void (*)(void* ctx, int level, const char* message);
// Routes every line to fn (nullptr: stderr again). Returns once no thread is inside the previous
// sink; false (and nothing changed) when called from inside the sink, which would wait for itself.
bool SetLogSink(LogSinkFn fn, void* ctx);

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
