// File: sqlite/tests/test_util.h — a formatted region on a temporary file.
#ifndef NVME_MPATH_SQLITE_TESTS_TEST_UTIL_H_
#define NVME_MPATH_SQLITE_TESTS_TEST_UTIL_H_

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "backend.h"
#include "region.h"

namespace nvme_mpath::sqlite {

// A fresh file of `bytes` under the test's temp dir, removed when the test program exits (forked
// children leave with _exit and remove nothing).
inline std::string TempFile(const std::string& tag, uint64_t bytes) {
  static int n = 0;
  static std::vector<std::string>* made = [] {
    auto* v = new std::vector<std::string>;
    atexit([] {
      for (const std::string& f : *made) {
        unlink(f.c_str());
        unlink((f + ".ids").c_str());
      }
    });
    return v;
  }();
  std::string p = ::testing::TempDir() + "nvme_mpath_sqlite_" + std::to_string(getpid()) + "_" + tag + "_" +
                  std::to_string(n++);
  unlink(p.c_str());
  { std::ofstream f(p); }
  EXPECT_EQ(truncate(p.c_str(), off_t(bytes)), 0) << p;
  made->push_back(p);
  return p;
}

inline std::unique_ptr<Backend> FileDev(const std::string& path, uint32_t lba = 4096) {
  auto b = OpenFileBackend(path, lba, /*flush_fdatasync=*/false);
  EXPECT_TRUE(b.ok()) << b.status();
  return std::move(*b);
}

// Formats `path` (whole file, default extents) with `lba`-byte blocks.
inline void FormatFile(const std::string& path, uint32_t lba = 4096, uint64_t lba_offset = 0, uint64_t journal = 0) {
  auto b = FileDev(path, lba);
  FormatParams p;
  p.lba_size = lba;
  p.lba_offset = lba_offset;
  p.region_lbas = b->lbas() - lba_offset;
  p.journal_bytes = journal;
  p.uuid[0] = 0x42;
  p.format_time_s = 1;
  absl::Status s = FormatRegion(*b, p, /*force=*/true);
  ASSERT_TRUE(s.ok()) << s;
}

}  // namespace nvme_mpath::sqlite

#endif  // NVME_MPATH_SQLITE_TESTS_TEST_UTIL_H_
