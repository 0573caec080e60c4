// NVME_MPATH_ASSERT itself: in a build with assertions (Debug, sanitizers) a failed one aborts
// and says where and what; in one without (Release, RelWithDebInfo) it evaluates nothing.
#include "debug_assert.h"

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

#if NVME_MPATH_ASSERTS_ENABLED

class DebugAssertDeathTest : public ::testing::Test {
 protected:
  // The sanitizer builds run threads of their own: fork-and-exec the test binary for each death.
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(DebugAssertDeathTest, FailedAssertionAbortsNamingTheConditionAndTheLine) {
  const int slots = 4;
  EXPECT_DEATH(NVME_MPATH_ASSERT(slots == 5),
               "debug_assert_test.cc:[0-9]+: assertion failed: slots == 5");
}

TEST_F(DebugAssertDeathTest, FailedAssertionPrintsItsMessage) {
  const bool in_flight = true;
  EXPECT_DEATH(NVME_MPATH_ASSERT_MSG(!in_flight, "closed with a command in flight"),
               "assertion failed: !in_flight \\(closed with a command in flight\\)");
}

TEST(DebugAssertTest, HoldingConditionIsEvaluatedOnceAndPasses) {
  static_assert(kAssertsEnabled);
  int evaluated = 0;
  NVME_MPATH_ASSERT(++evaluated == 1);
  NVME_MPATH_ASSERT_MSG(++evaluated == 2, "second");
  EXPECT_EQ(evaluated, 2);
}

#else

TEST(DebugAssertTest, DisabledAssertionEvaluatesNothing) {
  static_assert(!kAssertsEnabled);
  int evaluated = 0;
  NVME_MPATH_ASSERT(++evaluated == 5);  // false, and never run
  NVME_MPATH_ASSERT_MSG(++evaluated == 5, "never printed");
  EXPECT_EQ(evaluated, 0);
}

TEST(DebugAssertDeathTest, OnlyInBuildsWithAssertions) {
  GTEST_SKIP() << "assertions are off in this build type (Debug and sanitizer builds have them)";
}

#endif

}  // namespace
}  // namespace nvme_mpath::internal
