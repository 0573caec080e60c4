// File: log.cc
#include "log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace nvme_mpath::internal {
namespace {

std::atomic<int>& Level() {
  static std::atomic<int> level{static_cast<int>(LogLevelFromEnv())};
  return level;
}

// The embedder's sink. Threading: lines come from any library thread (the control thread, the
// refresh workers, queue threads, callers of Open); `mu` is held while a line is written, so
// the sink is called for one line at a time and SetLogSink() returns only when no thread is
// still inside the old one (its ctx may then be freed). Leaked on purpose: a line logged during
// static destruction (an engine closed from an atexit handler) still finds it.
struct Sink {
  std::mutex mu;
  LogSinkFn fn = nullptr;  // guarded by mu
  void* ctx = nullptr;     // guarded by mu
};
Sink& TheSink() {
  static Sink* sink = new Sink;
  return *sink;
}

// Set while this thread runs the sink: a line the sink itself causes (it called into the
// library) goes to stderr instead of waiting for `mu`, which this thread holds.
thread_local bool in_sink = false;

void WriteStderr(LogLevel level, std::string_view message) {
  static const char* const kNames[] = {"error", "warning", "info", "debug"};
  std::string line = fmt::format("nvme-mpath: {}: {}\n", kNames[static_cast<int>(level)], message);
  fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

LogLevel LogLevelFromEnv() {
  const char* e = std::getenv("NVME_MPATH_LOG");
  if (e == nullptr) return LogLevel::kWarn;
  if (!strcmp(e, "error")) return LogLevel::kError;
  if (!strcmp(e, "warn")) return LogLevel::kWarn;
  if (!strcmp(e, "info")) return LogLevel::kInfo;
  if (!strcmp(e, "debug")) return LogLevel::kDebug;
  return LogLevel::kWarn;
}

LogLevel CurrentLogLevel() { return static_cast<LogLevel>(Level().load(std::memory_order_relaxed)); }
void SetLogLevel(LogLevel level) { Level().store(static_cast<int>(level)); }

bool SetLogSink(LogSinkFn fn, void* ctx) {
  if (in_sink) return false;  // would wait for the line this thread is writing
  Sink& s = TheSink();
  std::lock_guard<std::mutex> lock(s.mu);
  s.fn = fn;
  s.ctx = ctx;
  return true;
}

void LogLine(LogLevel level, std::string_view message) {
  if (!in_sink) {
    Sink& s = TheSink();
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.fn != nullptr) {
      const std::string text(message);  // NUL-terminated for C
      in_sink = true;
      try {
        s.fn(s.ctx, static_cast<int>(level), text.c_str());
      } catch (...) {
        // The embedder's code: an exception must not unwind into the engine's threads.
      }
      in_sink = false;
      return;
    }
  }
  WriteStderr(level, message);
}

}  // namespace nvme_mpath::internal
