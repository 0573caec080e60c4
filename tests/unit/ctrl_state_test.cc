// CtrlState: the sysfs controller state parsed once into an enum.
#include "ctrl_state.h"

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

TEST(CtrlStateTest, ParsesSysfsControllerStates) {
  EXPECT_EQ(ParseCtrlState("live"), CtrlState::kLive);
  EXPECT_EQ(ParseCtrlState("new"), CtrlState::kNew);
  EXPECT_EQ(ParseCtrlState("resetting"), CtrlState::kResetting);
  EXPECT_EQ(ParseCtrlState("connecting"), CtrlState::kConnecting);
  EXPECT_EQ(ParseCtrlState("deleting"), CtrlState::kDeleting);
  EXPECT_EQ(ParseCtrlState("deleting (no IO)"), CtrlState::kDeleting);
  EXPECT_EQ(ParseCtrlState("dead"), CtrlState::kDead);
  EXPECT_EQ(ParseCtrlState(""), CtrlState::kGone);
  EXPECT_EQ(ParseCtrlState("gone"), CtrlState::kGone);
  EXPECT_EQ(ParseCtrlState("frozen"), CtrlState::kUnknown);
  EXPECT_STREQ(CtrlStateName(CtrlState::kConnecting), "connecting");
  EXPECT_TRUE(CtrlDeleted(CtrlState::kDeleting));
  EXPECT_FALSE(CtrlDeleted(CtrlState::kConnecting));
}

}  // namespace
}  // namespace nvme_mpath::internal
