// File: integration/lab_util.h
//
// Helpers for test programs that run inside the VM lab: call the guest's fault library
// (tests/lab/lab.sh, path in $LAB_LIB) and find the /dev/ngXnY of a port and namespace.
#ifndef NVME_MPATH_TESTS_LAB_UTIL_H_
#define NVME_MPATH_TESTS_LAB_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <string>

namespace nvme_mpath::lab {

// Runs `lab_<cmd>` from the lab library; returns its exit status and its stdout (trimmed).
inline int Lab(const std::string& cmd, std::string* out = nullptr) {
  const char* lib = std::getenv("LAB_LIB");
  if (lib == nullptr) return 127;
  std::string sh = "bash -c 'source \"" + std::string(lib) + "\" >/dev/null 2>&1; " + cmd + "'";
  FILE* f = popen(sh.c_str(), "r");
  if (f == nullptr) return 127;
  std::string s;
  char buf[256];
  while (fgets(buf, sizeof(buf), f)) s += buf;
  int rc = pclose(f);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (out) *out = s;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

// Returns /dev/ngXnY of namespace `nsid` on lab port `port`, or "".
inline std::string Ng(int port, int nsid) {
  std::string out;
  if (Lab("lab_ng " + std::to_string(port) + " " + std::to_string(nsid), &out) != 0) return "";
  return out;
}

inline bool InLab() { return std::getenv("LAB_LIB") != nullptr; }

}  // namespace nvme_mpath::lab

#endif  // NVME_MPATH_TESTS_LAB_UTIL_H_
