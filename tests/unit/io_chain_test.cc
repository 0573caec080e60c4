// An I/O and its commands: it completes once, when the last command has, with the first error.
#include "io_chain.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

TEST(IoChainTest, StartClearsTheResultAndThePrivateState) {
  Io io;
  io.res = -EIO;
  io.status = NvmeStatus{0x281};
  io.result = 7;
  io.priv.children_left = 5;
  StartIo(&io, 2, 42);
  EXPECT_EQ(io.res, 0);
  EXPECT_EQ(io.status.raw, 0);
  EXPECT_EQ(io.result, 0u);
  EXPECT_EQ(io.priv.submit_ns, 42);
  EXPECT_EQ(io.priv.children_left, 2);
}

TEST(IoChainTest, OneCommandCompletesTheIo) {
  Io io;
  StartIo(&io, 1, 0);
  EXPECT_TRUE(EndCommand(&io, 0, 0, 9));
  EXPECT_EQ(io.res, 0);
  EXPECT_EQ(io.result, 9u);
}

TEST(IoChainTest, CompletesAfterTheLastCommandWithTheFirstError) {
  Io io;
  StartIo(&io, 3, 0);
  EXPECT_FALSE(EndCommand(&io, 0, 0, 0));
  EXPECT_FALSE(EndCommand(&io, -EIO, 0x281, 0));
  EXPECT_TRUE(EndCommand(&io, -ETIMEDOUT, 0x371, 0));
  EXPECT_EQ(io.res, -EIO);             // the first error
  EXPECT_EQ(io.status.raw, 0x281);     // with its status, not the later one's
}

TEST(IoChainTest, TheLastNonZeroResultIsKept) {
  Io io;
  StartIo(&io, 3, 0);
  EndCommand(&io, 0, 0, 5);
  EndCommand(&io, 0, 0, 6);
  EXPECT_TRUE(EndCommand(&io, 0, 0, 0));
  EXPECT_EQ(io.result, 6u);
}

}  // namespace
}  // namespace nvme_mpath::internal
