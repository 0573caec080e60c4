// libFuzzer target: the fio engine's option handling (fio-engine/options.c), as fio hands the
// options over: struct mpath_options with any strings and numbers, then mpath_opts_build() for
// the job (probe_only 0) and for sizing the file (probe_only 1).
//
// Input: byte 0 = flags (bit i set: string i is NULL, for paths, iopolicy, preferred_path,
// stats_json, file_name, job name; bit 6: the numbers follow, else fio's defaults), then with
// bit 6 eleven little-endian 32-bit numbers (zero-padded when short), then the strings separated
// by NUL bytes, in that order (missing ones are ""). A seed is readable: "\0/dev/ng0n1:/dev/ng1n1
// \0round-robin\0\0\0/dev/ng0n1\0job".
//
// Checked: on success 1..16 paths, each non-empty, without ':' or blanks, inside the buffer (or
// the file name, when paths= is not used), no two alike, joined with ':' they give paths= back;
// the policy in range; `out` and the option strings otherwise as expected. On failure -EINVAL,
// a non-empty printable one-line message, `out` untouched. Accept/reject agrees with a simple
// model written here with std::string.
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <nvme_mpath/nvme_mpath.h>

#include "../../fio-engine/options.h"

namespace {

// A heap copy of exactly strlen + 1 bytes, so ASan sees a read past the NUL.
char* Dup(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

// The defaults nvme_mpath_options_init() gives (options.c must not call it: the fuzzer does not
// link the C API). Only what the builder reads or keeps matters here.
nvme_mpath_options InitOut() {
  nvme_mpath_options o;
  std::memset(&o, 0, sizeof(o));
  o.size = sizeof(o);
  o.policy = NVME_MPATH_POLICY_NUMA;
  o.rr_min_io = 1;
  o.ana_poll_interval_ms = 1000;
  o.no_path_timeout_ms = 30000;
  o.io_timeout_ms = 120000;
  o.max_retries = 5;
  o.write_hold_ms = -1;
  o.publish_stats = 1;
  o.nsid = 0x5eed;  // a marker: the builder never sets it
  return o;
}

bool Given(const char* s) { return s != nullptr && s[0] != '\0'; }

bool Blank(const std::string& s) {
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7f) return true;
  return false;
}

// The rules of options.h, written the obvious way: does the builder accept?
bool ModelAccepts(const mpath_options& o, const char* file, int probe) {
  if (mpath_opts_policy(o.iopolicy) < 0) return false;
  if (Given(o.preferred_path)) {
    if (mpath_opts_policy(o.iopolicy) != NVME_MPATH_POLICY_ACTIVE_PASSIVE) return false;
    if (Blank(o.preferred_path)) return false;
  }
  if (o.rr_min_io == 0 || o.write_hold < -1) return false;
  bool have_paths = false;
  if (Given(o.paths)) {
    const std::string all = o.paths;
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
      size_t colon = all.find(':', start);
      parts.push_back(all.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    if (parts.size() > MPATH_OPTS_MAX_PATHS || all.size() >= MPATH_OPTS_PATHS_BYTES) return false;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (parts[i].empty() || Blank(parts[i])) return false;
      for (size_t j = 0; j < i; ++j)
        if (parts[i] == parts[j]) return false;
    }
    have_paths = true;
  }
  if (!have_paths && !Given(file)) return false;
  return true;
}

// `text`: what each string held before the call (paths, iopolicy, preferred_path, stats_json,
// file name, job name).
void Check(const mpath_options& o, const char* file, const char* job, int probe,
           const std::vector<std::string>& text) {
  mpath_opts_buf* buf = new mpath_opts_buf;
  std::memset(buf, 0xa5, sizeof(*buf));
  const nvme_mpath_options before = InitOut();
  nvme_mpath_options out = before;
  char err[512];
  std::memset(err, 'x', sizeof(err));
  const int rc = mpath_opts_build(&o, file, job, probe, buf, &out, err, sizeof(err));

  // fio's strings are never written to.
  const char* const strs[] = {o.paths, o.iopolicy, o.preferred_path, o.stats_json, file, job};
  for (size_t i = 0; i < 6; ++i)
    if (strs[i] != nullptr && text[i] != strs[i]) __builtin_trap();
  if ((rc == 0) != ModelAccepts(o, file, probe)) __builtin_trap();

  if (rc != 0) {
    if (rc != -EINVAL) __builtin_trap();
    const size_t n = strnlen(err, sizeof(err));
    if (n == 0 || n == sizeof(err)) __builtin_trap();
    for (size_t i = 0; i < n; ++i)
      if (err[i] < 0x20 || err[i] > 0x7e) __builtin_trap();  // one printable line
    if (std::memcmp(&out, &before, sizeof(out)) != 0) __builtin_trap();
    // A small message buffer cuts the message and nothing else.
    const size_t small = 1 + size_t(text[0].size() % 16);
    char* tiny = static_cast<char*>(std::malloc(small));
    if (mpath_opts_build(&o, file, job, probe, buf, &out, tiny, small) != rc) __builtin_trap();
    if (std::strncmp(tiny, err, small - 1) != 0 || tiny[strnlen(tiny, small - 1)] != '\0') __builtin_trap();
    std::free(tiny);
    if (mpath_opts_build(&o, file, job, probe, buf, &out, nullptr, 0) != rc) __builtin_trap();
    delete buf;
    return;
  }

  if (err[0] != '\0') __builtin_trap();
  if (out.paths != buf->list) __builtin_trap();
  if (out.npaths < 1 || out.npaths > MPATH_OPTS_MAX_PATHS) __builtin_trap();
  if (out.policy < NVME_MPATH_POLICY_NUMA || out.policy > NVME_MPATH_POLICY_LATENCY) __builtin_trap();
  if (out.nsid != before.nsid || out.subsysnqn != nullptr || out.size != before.size) __builtin_trap();
  const bool from_list = Given(o.paths);  // the probe opens only the first of them
  if (!from_list) {
    if (out.npaths != 1 || out.paths[0] != file) __builtin_trap();
  } else {
    std::string joined;
    for (uint32_t i = 0; i < out.npaths; ++i) {
      const char* p = out.paths[i];
      if (p < buf->text || p >= buf->text + sizeof(buf->text)) __builtin_trap();
      const size_t n = strnlen(p, size_t(buf->text + sizeof(buf->text) - p));
      if (n == 0 || p + n == buf->text + sizeof(buf->text)) __builtin_trap();  // empty, or no NUL
      const std::string s(p, n);
      if (s.find(':') != std::string::npos || Blank(s)) __builtin_trap();
      for (uint32_t j = 0; j < i; ++j)
        if (s == out.paths[j]) __builtin_trap();
      joined += (i ? ":" : "") + s;
    }
    const std::string all = o.paths;
    if (joined != (probe ? all.substr(0, all.find(':')) : all)) __builtin_trap();
    if (probe && out.npaths != 1) __builtin_trap();
  }
  if (probe || Given(o.paths)) {
    if (out.explicit_paths_only != 1) __builtin_trap();
  } else if (out.explicit_paths_only != before.explicit_paths_only) {
    __builtin_trap();
  }
  if (probe) {
    if (out.publish_stats != 0 || out.ana_poll_interval_ms != 0) __builtin_trap();
    if (out.policy != before.policy || out.preferred_path != nullptr || out.name != nullptr) __builtin_trap();
    if (out.rr_min_io != before.rr_min_io || out.write_hold_ms != before.write_hold_ms) __builtin_trap();
  } else {
    if (out.policy != mpath_opts_policy(o.iopolicy) || out.name != job) __builtin_trap();
    if (out.publish_stats != before.publish_stats) __builtin_trap();
    if (out.rr_min_io < 1 || out.write_hold_ms < -1) __builtin_trap();
    if (out.rr_min_io != o.rr_min_io || out.write_hold_ms != o.write_hold ||
        out.no_path_timeout_ms != o.no_path_timeout || out.cmd_timeout_ms != o.cmd_timeout ||
        out.io_timeout_ms != o.io_timeout || out.max_retries != o.max_retries ||
        out.failback_delay_ms != o.failback_delay || out.ana_poll_interval_ms != o.ana_poll)
      __builtin_trap();
    if (Given(o.preferred_path)) {
      if (out.preferred_path != o.preferred_path || out.policy != NVME_MPATH_POLICY_ACTIVE_PASSIVE) __builtin_trap();
    } else if (out.preferred_path != nullptr) {
      __builtin_trap();
    }
  }
  delete buf;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  size_t pos = 1;
  uint32_t num[11] = {1, 30000, 0, 120000, 5, uint32_t(-1), 0, 1000, 0, 0, 1000};  // fio's .def
  if (flags & 0x40) {
    for (uint32_t& v : num) {
      v = 0;
      for (int b = 0; b < 4; ++b, ++pos)
        if (pos < size) v |= uint32_t(data[pos]) << (8 * b);
    }
  }
  std::vector<std::string> text(6);
  for (size_t i = 0; i < 6 && pos < size; ++i) {
    const uint8_t* end = static_cast<const uint8_t*>(std::memchr(data + pos, 0, size - pos));
    const size_t n = end ? size_t(end - (data + pos)) : size - pos;
    text[i].assign(reinterpret_cast<const char*>(data + pos), n);
    pos += n + 1;
  }
  char* s[6];
  for (size_t i = 0; i < 6; ++i) s[i] = (flags >> i) & 1 ? nullptr : Dup(text[i]);
  // With bit 7 the job name is the iopolicy string (fio may hand the same pointer twice).
  const char* job = (flags & 0x80) ? s[1] : s[5];
  std::vector<std::string> expect = text;
  if (flags & 0x80) expect[5] = text[1];

  mpath_options o;
  std::memset(&o, 0, sizeof(o));
  o.paths = s[0];
  o.iopolicy = s[1];
  o.preferred_path = s[2];
  o.stats_json = s[3];
  o.rr_min_io = num[0];
  o.no_path_timeout = num[1];
  o.cmd_timeout = num[2];
  o.io_timeout = num[3];
  o.max_retries = num[4];
  o.write_hold = int(num[5]);
  o.failback_delay = num[6];
  o.ana_poll = num[7];
  o.fixedbufs = num[8];
  o.sqpoll = num[9];
  o.sqpoll_idle = num[10];

  const int pol = mpath_opts_policy(o.iopolicy);
  if (pol < -1 || pol > NVME_MPATH_POLICY_LATENCY) __builtin_trap();
  if (o.iopolicy == nullptr && pol != NVME_MPATH_POLICY_NUMA) __builtin_trap();

  Check(o, s[4], job, 0, expect);
  Check(o, s[4], job, 1, expect);
  for (char* p : s) std::free(p);
  return 0;
}
