// File: args.h — nvme-mpath-ctl's command line, parsed by pure functions (no I/O, no globals) so
// that unit tests (tests/unit/ctl_args_test.cc) and a fuzz target (tests/fuzz/ctl_args_fuzz.cc)
// can drive them. The parser only records: --gc, watch etc. act later, in main.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nvme_mpath::ctl {

// Limits of the numeric options (ParseArgs rejects values outside them).
inline constexpr int kMaxTimeoutMs = 3'600'000;  // an hour: far above any sane command timeout
inline constexpr double kMaxIntervalS = 3600;
// watch redraws at most ten times a second: a smaller interval would only burn a CPU.
inline constexpr double kMinIntervalS = 0.1;

// Options, as bits of Args::given (which ones the command line set).
enum ArgOption : uint32_t {
  kOptOutput = 1u << 0,    // -o / --output-format
  kOptVerbose = 1u << 1,   // -v / --verbose
  kOptGc = 1u << 2,        // --gc
  kOptPid = 1u << 3,       // --pid
  kOptName = 1u << 4,      // --name
  kOptInterval = 1u << 5,  // --interval
  kOptCount = 1u << 6,     // --count
  kOptTimeout = 1u << 7,   // --timeout-ms
};

struct Args {
  std::string cmd;               // first operand ("" if none)
  std::vector<std::string> pos;  // the operands after it; never empty strings
  bool json = false, verbose = false, gc = false, help = false;
  bool prometheus = false;       // -o prometheus (stats only)
  int pid = 0;                   // 0: any engine, else > 0
  std::string name;              // "": any engine
  double interval = 1;           // finite, in [kMinIntervalS, kMaxIntervalS]
  int count = 0;                 // 0: until interrupted, else > 0
  int timeout_ms = 5000;         // in [1, kMaxTimeoutMs]
  uint32_t given = 0;            // ArgOption bits of the options on the command line
};

// Parses argv[1..argc) into *a (reset to the defaults first). On false, *err is one line saying
// which argument was wrong (user text in it is escaped), and *a is unspecified.
bool ParseArgs(int argc, const char* const* argv, Args* a, std::string* err);

// Returns "" when every option given suits a.cmd, else one line naming the first that does not
// (`list --count 3` would otherwise be silently ignored). -h and -o suit every command; a
// command this does not know is left to the caller.
std::string CheckOptionsFor(const Args& a);

// `path disable|enable DEV`, from the operands of a parsed command line whose cmd is "path".
struct PathCommand {
  bool disable = false;
  std::string dev;  // /dev/ngXnY, ngXnY or a controller name (nvmeX)
};
// Returns "" and fills *out, or one line saying what is wrong with the operands (a missing or
// unknown verb, no DEV, one operand too many).
std::string ParsePathCommand(const Args& a, PathCommand* out);

// The NSID operand of probe: decimal or 0x hex, digits only, in 1..0xFFFFFFFE (0 is invalid and
// 0xFFFFFFFF is the broadcast NSID, neither names one namespace).
std::optional<uint32_t> ParseNsid(std::string_view s);

}  // namespace nvme_mpath::ctl
