// The I/O deadline: which commands are out of time, the next deadline, the slots a scan skips.
#include "io_deadline.h"

#include <vector>

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

constexpr int64_t kS = 1'000'000'000;

TEST(IoDeadlineTest, NoTimeoutNeverExpires) {
  IoDeadline d(0, 5 * kS);
  Io io;
  io.priv.submit_ns = 0;
  EXPECT_FALSE(d.Expired(io, 1'000 * kS));
  EXPECT_EQ(d.next_ns(), IoDeadline::kNone);
  EXPECT_FALSE(d.Due(1'000 * kS));
}

TEST(IoDeadlineTest, ExpiresAtSubmitPlusTimeoutAndNotBefore) {
  IoDeadline d(10 * kS, 5 * kS);
  EXPECT_EQ(d.next_ns(), 15 * kS);  // no I/O submitted from 5 s on expires before 15 s
  EXPECT_FALSE(d.Due(15 * kS - 1));
  EXPECT_TRUE(d.Due(15 * kS));
  Io io;
  io.priv.submit_ns = 6 * kS;
  EXPECT_FALSE(d.Expired(io, 16 * kS - 1));
  EXPECT_TRUE(d.Expired(io, 16 * kS));
}

TEST(IoDeadlineTest, ScanExpiresWaitingAndInFlightCommandsOnlyAndFindsTheNextDeadline) {
  CommandPool pool(6);
  Io old_io, young_io;
  old_io.priv.submit_ns = 1 * kS;
  young_io.priv.submit_ns = 8 * kS;
  Cmd* inflight = pool.Take(&old_io, {0, 1, 0});
  pool.Move(inflight, CmdState::kInflight);
  Cmd* parked = pool.Take(&old_io, {1, 1, 1});
  pool.Move(parked, CmdState::kParked);
  Cmd* delayed = pool.Take(&old_io, {2, 1, 2});
  pool.Move(delayed, CmdState::kDelayed);
  Cmd* taken = pool.Take(&old_io, {3, 1, 3});  // in a caller's hands: it checks the deadline
  Cmd* orphan = pool.Take(&old_io, {4, 1, 4});
  pool.Move(orphan, CmdState::kInflight);
  pool.Orphan(orphan);
  Cmd* young = pool.Take(&young_io, {0, 1, 0});
  pool.Move(young, CmdState::kInflight);

  IoDeadline d(10 * kS, 0);
  ASSERT_TRUE(d.Due(12 * kS));
  std::vector<Cmd*> expired;
  d.Scan(pool, 12 * kS, [&](Cmd* c) { expired.push_back(c); });
  EXPECT_EQ(expired, (std::vector<Cmd*>{inflight, parked, delayed}));  // slot order
  EXPECT_NE(taken, nullptr);
  EXPECT_EQ(d.next_ns(), 18 * kS);  // the young I/O's
  EXPECT_FALSE(d.Due(18 * kS - 1));
}

TEST(IoDeadlineTest, ScanWithNothingWaitingLooksOneTimeoutAhead) {
  CommandPool pool(2);
  IoDeadline d(10 * kS, 0);
  d.Scan(pool, 10 * kS, [](Cmd*) { ADD_FAILURE() << "nothing to expire"; });
  EXPECT_EQ(d.next_ns(), 20 * kS);
}

}  // namespace
}  // namespace nvme_mpath::internal
