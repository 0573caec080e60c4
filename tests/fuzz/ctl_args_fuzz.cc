// libFuzzer target: nvme-mpath-ctl's command line (tools/nvme-mpath-ctl/args.cc). The input is
// argv[1..] separated by NUL bytes (corpus files are such command lines); argv[0] is the tool's.
// Checks what main.cc relies on: accepted values are in range (the interval reaches usleep, the
// timeout a uint32_t), a rejection always says why, on one line; and that the parse is a function
// of the meaning alone: the canonical command line of the result parses to the same result.
// Each argument is also fed to ParseNsid (probe's NSID), whose result must print back to itself.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "../../tools/nvme-mpath-ctl/args.h"

namespace {

using nvme_mpath::ctl::Args;

bool Same(const Args& x, const Args& y) {
  return x.cmd == y.cmd && x.pos == y.pos && x.json == y.json && x.verbose == y.verbose && x.gc == y.gc &&
         x.help == y.help && x.pid == y.pid && x.name == y.name && x.interval == y.interval &&
         x.count == y.count && x.timeout_ms == y.timeout_ms;
}

// The command line that means *a, every option spelled out (operands after "--").
std::vector<std::string> Canonical(const Args& a) {
  char interval[64];
  snprintf(interval, sizeof(interval), "%.17g", a.interval);  // round-trips a double exactly
  std::vector<std::string> v{"nvme-mpath-ctl", "-o", a.json ? "json" : "normal", "--interval", interval,
                             "--timeout-ms=" + std::to_string(a.timeout_ms)};
  if (a.verbose) v.push_back("-v");
  if (a.gc) v.push_back("--gc");
  if (a.help) v.push_back("--help");
  if (a.pid != 0) v.insert(v.end(), {"--pid", std::to_string(a.pid)});
  if (!a.name.empty()) v.insert(v.end(), {"--name", a.name});
  if (a.count != 0) v.push_back("--count=" + std::to_string(a.count));
  if (!a.cmd.empty()) {
    v.push_back("--");
    v.push_back(a.cmd);
    v.insert(v.end(), a.pos.begin(), a.pos.end());
  }
  return v;
}

bool Parse(const std::vector<std::string>& args, Args* a, std::string* err) {
  std::vector<const char*> argv;
  for (const std::string& s : args) argv.push_back(s.c_str());
  argv.push_back(nullptr);
  return nvme_mpath::ctl::ParseArgs(int(args.size()), argv.data(), a, err);
}

// What ParseNsid accepted, without leading zeros, lower case ("0x00A" -> "a").
std::string Digits(std::string_view s, bool* hex) {
  *hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  if (*hex) s.remove_prefix(2);
  while (s.size() > 1 && s[0] == '0') s.remove_prefix(1);
  std::string d(s);
  for (char& c : d)
    if (c >= 'A' && c <= 'F') c = char(c - 'A' + 'a');
  return d;
}

void CheckNsid(std::string_view s) {
  const std::optional<uint32_t> n = nvme_mpath::ctl::ParseNsid(s);
  if (!n) return;
  if (*n == 0 || *n == 0xFFFFFFFF) __builtin_trap();
  char hex[16];
  snprintf(hex, sizeof(hex), "%x", *n);
  bool is_hex;
  if (Digits(s, &is_hex) != (is_hex ? std::string(hex) : std::to_string(*n))) __builtin_trap();
  if (nvme_mpath::ctl::ParseNsid(std::to_string(*n)) != n) __builtin_trap();
  if (nvme_mpath::ctl::ParseNsid(std::string("0x") + hex) != n) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args{"nvme-mpath-ctl"};
  if (size > 0) {
    for (size_t at = 0;;) {
      const size_t nul = in.find('\0', at);
      args.emplace_back(in.substr(at, nul == std::string_view::npos ? std::string_view::npos : nul - at));
      if (nul == std::string_view::npos) break;
      at = nul + 1;
    }
  }

  Args a;
  std::string err;
  if (Parse(args, &a, &err)) {
    if (!err.empty()) __builtin_trap();
    if (!std::isfinite(a.interval) || a.interval < nvme_mpath::ctl::kMinIntervalS || a.interval > nvme_mpath::ctl::kMaxIntervalS)
      __builtin_trap();
    if (a.count < 0 || a.pid < 0 || a.timeout_ms <= 0 || a.timeout_ms > nvme_mpath::ctl::kMaxTimeoutMs)
      __builtin_trap();
    if (a.cmd.empty() && !a.pos.empty()) __builtin_trap();
    for (const std::string& p : a.pos)
      if (p.empty()) __builtin_trap();
    if (args.size() - 1 < a.pos.size() + !a.cmd.empty()) __builtin_trap();
    Args b;
    std::string err2;
    if (!Parse(Canonical(a), &b, &err2) || !Same(a, b)) __builtin_trap();
    // An option the command does not take: one line naming the command, never for -h/-o alone.
    const std::string unsuited = nvme_mpath::ctl::CheckOptionsFor(a);
    if (!unsuited.empty() && (unsuited.rfind(a.cmd + " does not take ", 0) != 0 ||
                              unsuited.find('\n') != std::string::npos))
      __builtin_trap();
    if ((a.given & ~uint32_t{nvme_mpath::ctl::kOptOutput}) == 0 && !unsuited.empty()) __builtin_trap();
  } else {
    if (err.empty() || err.find('\n') != std::string::npos || err.size() > 200) __builtin_trap();  // quoted text is cut
  }

  for (size_t i = 1; i < args.size(); ++i) CheckNsid(args[i]);
  CheckNsid(in);  // the whole input, NULs and all
  return 0;
}
