// File: args.cc — nvme-mpath-ctl's argument parser: pure (no I/O, no globals), so that it can be
// unit-tested and fuzzed (tests/fuzz/ctl_args_fuzz.cc builds this file alone with absl_strings).
//
// Syntax decisions, all usual getopt_long behaviour unless said otherwise:
//  - Options and operands may be interleaved; the first operand is the command.
//  - "--" ends the options: every later argument is an operand, even one that starts with '-'
//    (no operand legitimately does today, but scripts write `probe -- "$dev"` defensively).
//  - A long option that takes a value takes it as the next argument (even if that starts with
//    '-', as getopt does: `--name -x` is the name "-x") or after '=' (`--pid=42`). "-o=json"
//    is also accepted, as it always was.
//  - Repeated options: the last one wins (so a wrapper's default can be overridden by the user).
//    "-o normal" resets an earlier "-o json" (it used to leave JSON on).
//  - An empty argument is an error, wherever it is: it is nearly always an unset shell variable
//    ("$DEV"), and as the command or a device it would only produce a confusing later error.
//    Empty option values are rejected by each option's own check (--name "" would otherwise
//    silently select every engine).
//  - Numbers are strict: digits only (optional sign), no blanks or trailing junk, no silent
//    overflow; --interval must be finite (NaN passed the old range check and reached usleep).
//  - Messages name the option as typed and quote the offending value, escaped (one line,
//    whatever argv holds) and cut to a sane length.
#include "args.h"

#include <climits>
#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace nvme_mpath::ctl {
namespace {

constexpr uint32_t kMaxNsid = 0xFFFFFFFE;  // 0xFFFFFFFF: broadcast

absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// The cut is on the escaped text: a byte can take four characters ("\xff").
std::string Quote(std::string_view v) {
  constexpr size_t kMax = 64;
  std::string q = "'";
  size_t i = 0;
  for (; i < v.size(); ++i) {
    const std::string e = absl::CHexEscape(Absl(v.substr(i, 1)));
    if (q.size() - 1 + e.size() > kMax) break;
    q += e;
  }
  q += "'";
  if (i < v.size()) q += "...";
  return q;
}

// SimpleAtoi/SimpleAtod alone would also accept blanks around the number.
bool Blank(std::string_view v) {
  return v.empty() || absl::ascii_isspace(static_cast<unsigned char>(v.front())) ||
         absl::ascii_isspace(static_cast<unsigned char>(v.back()));
}

bool ParseInt(std::string_view v, int64_t lo, int64_t hi, int* out) {
  int64_t n;  // wider than int, so that range errors are caught here and not by overflow
  if (Blank(v) || !absl::SimpleAtoi(Absl(v), &n) || n < lo || n > hi) return false;
  *out = static_cast<int>(n);
  return true;
}

// Plain decimal only: SimpleAtod (strtod in this Abseil) also takes hex ("0x10"), "nan", "inf",
// and gives inf for 1e400; isfinite then refuses what the character set lets through.
bool ParseSeconds(std::string_view v, double* out) {
  for (char c : v)
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-')
      return false;
  double d;
  if (Blank(v) || !absl::SimpleAtod(Absl(v), &d) || !std::isfinite(d) || d < kMinIntervalS || d > kMaxIntervalS)
    return false;
  *out = d;
  return true;
}

uint32_t OptionBit(std::string_view o) {
  if (o == "-o" || o == "--output-format") return kOptOutput;
  if (o == "-v" || o == "--verbose") return kOptVerbose;
  if (o == "--gc") return kOptGc;
  if (o == "--pid") return kOptPid;
  if (o == "--name") return kOptName;
  if (o == "--interval") return kOptInterval;
  if (o == "--count") return kOptCount;
  if (o == "--timeout-ms") return kOptTimeout;
  return 0;
}

bool IsFlag(std::string_view o) {
  return o == "-h" || o == "--help" || o == "-v" || o == "--verbose" || o == "--gc";
}

bool TakesValue(std::string_view o) {
  return o == "-o" || o == "--output-format" || o == "--pid" || o == "--name" || o == "--interval" ||
         o == "--count" || o == "--timeout-ms";
}

// Sets option o (one that TakesValue) from v.
bool SetOption(std::string_view o, std::string_view v, Args* a, std::string* err) {
  const std::string opt(o), bad = Quote(v);
  if (o == "-o" || o == "--output-format") {
    if (v != "json" && v != "normal" && v != "prometheus") {
      *err = absl::StrCat(opt, " takes normal, json or prometheus (stats only), not ", bad);
      return false;
    }
    a->json = v == "json";
    a->prometheus = v == "prometheus";
  } else if (o == "--pid") {
    if (!ParseInt(v, 1, INT_MAX, &a->pid)) {
      *err = absl::StrCat(opt, " needs a process id (an integer in 1..", INT_MAX, "), not ", bad);
      return false;
    }
  } else if (o == "--name") {
    if (v.empty()) {
      *err = opt + " needs a non-empty job or program name";
      return false;
    }
    a->name = std::string(v);
  } else if (o == "--interval") {
    if (!ParseSeconds(v, &a->interval)) {
      *err = absl::StrCat(opt, " must be a number of seconds in [", kMinIntervalS, ", ", kMaxIntervalS, "], not ", bad);
      return false;
    }
  } else if (o == "--count") {
    if (!ParseInt(v, 1, INT_MAX, &a->count)) {
      *err = absl::StrCat(opt, " must be an integer in 1..", INT_MAX, ", not ", bad);
      return false;
    }
  } else if (o == "--timeout-ms") {
    if (!ParseInt(v, 1, kMaxTimeoutMs, &a->timeout_ms)) {
      *err = absl::StrCat(opt, " must be an integer in 1..", kMaxTimeoutMs, " (milliseconds), not ", bad);
      return false;
    }
  }
  return true;
}

}  // namespace

bool ParseArgs(int argc, const char* const* argv, Args* a, std::string* err) {
  *a = Args{};
  err->clear();
  bool operands_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view s = argv[i];
    if (s.empty()) {
      *err = absl::StrCat("argument ", i, " is empty");
      return false;
    }
    if (!operands_only && s == "--") {
      operands_only = true;
    } else if (operands_only || s[0] != '-') {
      if (a->cmd.empty()) a->cmd = std::string(s);
      else a->pos.emplace_back(s);
    } else if (IsFlag(s)) {
      a->given |= OptionBit(s);
      if (s == "-h" || s == "--help") a->help = true;
      else if (s == "-v" || s == "--verbose") a->verbose = true;
      else a->gc = true;
    } else {
      std::string_view o = s, v;
      bool inline_value = false;
      if (size_t eq = s.find('='); eq != std::string_view::npos && (s.substr(0, 2) == "--" || s.substr(0, eq) == "-o")) {
        o = s.substr(0, eq);
        v = s.substr(eq + 1);
        inline_value = true;
      }
      if (!TakesValue(o)) {
        *err = IsFlag(o) ? absl::StrCat(std::string(o), " takes no value") : "unknown option " + Quote(s);
        return false;
      }
      if (!inline_value) {
        if (i + 1 >= argc) {
          *err = absl::StrCat(std::string(o), " needs a value");
          return false;
        }
        v = argv[++i];
      }
      if (!SetOption(o, v, a, err)) return false;
      a->given |= OptionBit(o);
    }
  }
  return true;
}

std::string CheckOptionsFor(const Args& a) {
  uint32_t allowed;
  if (a.cmd == "list") allowed = kOptOutput | kOptVerbose;
  else if (a.cmd == "ana-log") allowed = kOptOutput;
  else if (a.cmd == "probe") allowed = kOptOutput | kOptTimeout;
  else if (a.cmd == "stats") allowed = kOptOutput | kOptPid | kOptName | kOptGc;
  else if (a.cmd == "watch") allowed = kOptOutput | kOptPid | kOptName | kOptGc | kOptInterval | kOptCount;
  else if (a.cmd == "path") allowed = kOptOutput | kOptPid | kOptName | kOptTimeout;
  else return "";
  static constexpr std::pair<uint32_t, const char*> kNames[] = {
      {kOptOutput, "-o"},       {kOptVerbose, "-v"},      {kOptGc, "--gc"},
      {kOptPid, "--pid"},       {kOptName, "--name"},     {kOptInterval, "--interval"},
      {kOptCount, "--count"},   {kOptTimeout, "--timeout-ms"}};
  for (const auto& [bit, name] : kNames)
    if ((a.given & bit) != 0 && (allowed & bit) == 0)
      return absl::StrCat(a.cmd, " does not take ", name, " (see ", a.cmd, " --help)");
  if (a.prometheus && a.cmd != "stats")
    return absl::StrCat("-o prometheus is for stats only, not ", a.cmd, " (see ", a.cmd, " --help)");
  return "";
}

std::string ParsePathCommand(const Args& a, PathCommand* out) {
  constexpr const char* kSee = " (see path --help)";
  if (a.pos.empty()) return absl::StrCat("path needs disable or enable, then a device", kSee);
  const std::string& verb = a.pos[0];
  if (verb != "disable" && verb != "enable")
    return absl::StrCat("path takes disable or enable, not ", Quote(verb), kSee);
  if (a.pos.size() < 2) return absl::StrCat("path ", verb, " needs a device (/dev/ngXnY, ngXnY or nvmeX)", kSee);
  if (a.pos.size() > 2) return absl::StrCat("path ", verb, " takes one device, not ", Quote(a.pos[2]), " too", kSee);
  out->disable = verb == "disable";
  out->dev = a.pos[1];
  return "";
}

// Decimal or 0x hex, digits only: strtoul(..., 0), used before, took "-1" (as 4294967295), "1abc"
// and blanks, and read "010" as octal 8 (here it is decimal 10, as a person reading it means).
std::optional<uint32_t> ParseNsid(std::string_view s) {
  uint64_t base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return std::nullopt;
  uint64_t n = 0;
  for (char c : s) {
    uint64_t d;
    if (c >= '0' && c <= '9') d = uint64_t(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') d = uint64_t(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F') d = uint64_t(c - 'A' + 10);
    else return std::nullopt;
    n = n * base + d;
    if (n > kMaxNsid) return std::nullopt;  // also keeps n far from overflowing
  }
  if (n == 0) return std::nullopt;
  return uint32_t(n);
}

}  // namespace nvme_mpath::ctl
