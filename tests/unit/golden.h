// File: golden.h — compares printer output with a golden file under tests/unit/testdata/
// (UPDATE_GOLDEN=1 rewrites it; review the diff). As in ctl_print_test.cc, for the newer ctl
// and fio engine tests.
#ifndef NVME_MPATH_TESTS_UNIT_GOLDEN_H_
#define NVME_MPATH_TESTS_UNIT_GOLDEN_H_

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace nvme_mpath::testing {

inline std::string ReadTestdata(const std::string& rel) {
  std::ifstream f(std::string(NVME_MPATH_TESTDATA) + "/" + rel);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// `rel` is relative to tests/unit/testdata ("ctl/list-sysfs.txt").
inline void Golden(const std::string& rel, const std::string& got) {
  const std::string path = std::string(NVME_MPATH_TESTDATA) + "/" + rel;
  if (getenv("UPDATE_GOLDEN")) {
    // Under CI a rewrite would make the comparison pass whatever the printer does.
    const char* ci = getenv("CI");
    ASSERT_FALSE(ci != nullptr && std::string(ci) == "true")
        << "UPDATE_GOLDEN is refused under CI=true: regenerate the golden files by hand";
    std::ofstream(path) << got;
    return;
  }
  std::ifstream f(path);
  ASSERT_TRUE(f) << "missing golden file " << path << " (UPDATE_GOLDEN=1 creates it)";
  std::stringstream want;
  want << f.rdbuf();
  EXPECT_EQ(got, want.str()) << "differs from " << path;
}

}  // namespace nvme_mpath::testing

#endif  // NVME_MPATH_TESTS_UNIT_GOLDEN_H_
