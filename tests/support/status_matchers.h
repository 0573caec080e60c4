// File: support/status_matchers.h
//
// EXPECT_OK / ASSERT_OK (Debian 12's Abseil has no status matchers).
#ifndef NVME_MPATH_TESTS_STATUS_MATCHERS_H_
#define NVME_MPATH_TESTS_STATUS_MATCHERS_H_

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace nvme_mpath::testing {
inline const absl::Status& ToStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& ToStatus(const absl::StatusOr<T>& s) { return s.status(); }
}  // namespace nvme_mpath::testing

#define EXPECT_OK(expr) EXPECT_TRUE(::nvme_mpath::testing::ToStatus(expr).ok()) \
  << ::nvme_mpath::testing::ToStatus(expr)
#define ASSERT_OK(expr) ASSERT_TRUE(::nvme_mpath::testing::ToStatus(expr).ok()) \
  << ::nvme_mpath::testing::ToStatus(expr)

#endif  // NVME_MPATH_TESTS_STATUS_MATCHERS_H_
