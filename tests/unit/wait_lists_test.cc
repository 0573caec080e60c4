// Where commands wait outside the kernel: parked ones come back oldest first, what is due comes
// out in deadline order sorted into resends and expiries, re-keying and ended holds.
#include "wait_lists.h"

#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

class WaitListsTest : public ::testing::Test {
 protected:
  Cmd* Parked(int64_t deadline) {
    Cmd* c = pool_.Take(&io_, Fragment{});
    pool_.Move(c, CmdState::kParked);
    waits_.Park(c, deadline);
    return c;
  }
  Cmd* Delayed(DelayKind kind, int64_t due) {
    Cmd* c = pool_.Take(&io_, Fragment{});
    pool_.Move(c, CmdState::kDelayed);
    c->delay_kind = kind;
    waits_.Delay(c, due);
    return c;
  }
  static std::vector<uint32_t> Slots(const CmdList& l) {
    std::vector<uint32_t> out;
    for (const Cmd* c = l.head; c != nullptr; c = c->next) out.push_back(c->slot);
    return out;
  }

  Io io_;
  CommandPool pool_{8};
  WaitLists waits_{8};
};

TEST_F(WaitListsTest, CountsAndTheNextDeadline) {
  EXPECT_TRUE(waits_.empty());
  EXPECT_EQ(waits_.next_ns(), std::numeric_limits<int64_t>::max());
  Parked(300);
  Delayed(DelayKind::kRetry, 200);
  Delayed(DelayKind::kWriteHold, 100);
  EXPECT_EQ(waits_.parked(), 1u);
  EXPECT_EQ(waits_.delayed(), 2u);
  EXPECT_EQ(waits_.holds(), 1u);
  EXPECT_EQ(waits_.next_ns(), 100);
}

TEST_F(WaitListsTest, ParkedComeBackOldestFirstWhateverTheirDeadlines) {
  Cmd* a = Parked(500);
  Cmd* b = Parked(100);  // a command of an older I/O, due sooner
  Cmd* d = Delayed(DelayKind::kResend, 50);
  const CmdList all = waits_.TakeParked();
  EXPECT_EQ(Slots(all), (std::vector<uint32_t>{a->slot, b->slot}));
  EXPECT_EQ(waits_.parked(), 0u);
  EXPECT_EQ(waits_.delayed(), 1u);
  EXPECT_EQ(waits_.next_ns(), 50);  // the parked ones left the deadline list too
  EXPECT_TRUE(d->queued());
}

TEST_F(WaitListsTest, WhatIsDueComesOutSortedIntoReadyAndExpired) {
  Cmd* p1 = Parked(100);
  Cmd* r1 = Delayed(DelayKind::kRetry, 150);
  Cmd* h1 = Delayed(DelayKind::kWriteHold, 50);
  Parked(400);  // not due
  CmdList ready, expired;
  waits_.TakeDue(200, &ready, &expired);
  EXPECT_EQ(Slots(ready), (std::vector<uint32_t>{h1->slot, r1->slot}));  // deadline order
  EXPECT_EQ(Slots(expired), (std::vector<uint32_t>{p1->slot}));
  EXPECT_EQ(waits_.parked(), 1u);
  EXPECT_EQ(waits_.delayed(), 0u);
  EXPECT_EQ(waits_.holds(), 0u);
  EXPECT_EQ(waits_.next_ns(), 400);
}

TEST_F(WaitListsTest, RemoveTakesACommandOutOfEveryList) {
  Cmd* p = Parked(100);
  Cmd* h = Delayed(DelayKind::kWriteHold, 100);
  waits_.Remove(p);
  waits_.Remove(h);
  EXPECT_TRUE(waits_.empty());
  EXPECT_EQ(waits_.parked(), 0u);
  EXPECT_EQ(waits_.holds(), 0u);
  EXPECT_FALSE(p->queued());
}

TEST_F(WaitListsTest, RekeyMovesOnlyParkedDeadlines) {
  Cmd* p = Parked(1000);
  Delayed(DelayKind::kRetry, 500);
  waits_.RekeyParked([](const Cmd&) { return int64_t{10}; });  // every path lost: due at once
  EXPECT_EQ(waits_.next_ns(), 10);
  CmdList ready, expired;
  waits_.TakeDue(10, &ready, &expired);
  EXPECT_EQ(Slots(expired), (std::vector<uint32_t>{p->slot}));
  EXPECT_TRUE(ready.empty());
  EXPECT_EQ(waits_.next_ns(), 500);
}

TEST_F(WaitListsTest, EndedHoldsBecomeDueNow) {
  Cmd* keep = Delayed(DelayKind::kWriteHold, 6000);
  Cmd* end = Delayed(DelayKind::kWriteHold, 6000);
  Cmd* retry = Delayed(DelayKind::kRetry, 6000);
  end->path = 1;  // its controller was reset
  waits_.EndHolds(100, [](const Cmd& c) { return c.path == 1 || c.delay_kind != DelayKind::kWriteHold; });
  CmdList ready, expired;
  waits_.TakeDue(100, &ready, &expired);
  EXPECT_EQ(Slots(ready), (std::vector<uint32_t>{end->slot}));  // not the retry: holds only
  EXPECT_TRUE(keep->queued());
  EXPECT_TRUE(retry->queued());
  EXPECT_EQ(waits_.holds(), 1u);
}

}  // namespace
}  // namespace nvme_mpath::internal
