// The deadline list: earliest first, ties in arming order, removal from anywhere, re-keying,
// checked against a sorted model over a seeded random sequence.
#include "deadline_list.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

struct Item : DeadlineEntry {
  int id = 0;
};

std::vector<int> Drain(DeadlineList& l, int64_t now) {
  std::vector<int> out;
  while (DeadlineEntry* e = l.PopDue(now)) out.push_back(static_cast<Item*>(e)->id);
  return out;
}

TEST(DeadlineListTest, EarliestFirstAndTiesInArmingOrder) {
  Item it[5];
  for (int i = 0; i < 5; ++i) it[i].id = i;
  DeadlineList l(5);
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.next_ns(), std::numeric_limits<int64_t>::max());
  l.Push(&it[0], 30);
  l.Push(&it[1], 10);
  l.Push(&it[2], 20);
  l.Push(&it[3], 10);  // same deadline as 1, armed later
  l.Push(&it[4], 10);
  EXPECT_EQ(l.size(), 5u);
  EXPECT_EQ(l.next_ns(), 10);  // O(1): the head
  EXPECT_EQ(l.PopDue(9), nullptr);
  EXPECT_EQ(Drain(l, 20), (std::vector<int>{1, 3, 4, 2}));
  EXPECT_FALSE(it[1].queued());
  EXPECT_EQ(Drain(l, 100), (std::vector<int>{0}));
  EXPECT_TRUE(l.empty());
}

TEST(DeadlineListTest, RemoveFromAnywhereAndUpdate) {
  Item it[6];
  DeadlineList l(6);
  for (int i = 0; i < 6; ++i) {
    it[i].id = i;
    l.Push(&it[i], 10 * (i + 1));
  }
  l.Remove(&it[0]);  // the head
  l.Remove(&it[3]);  // the middle
  l.Remove(&it[5]);  // the last
  EXPECT_FALSE(it[3].queued());
  l.CheckInvariants();
  l.Update(&it[4], 5);    // earlier: to the head
  l.Update(&it[1], 100);  // later
  l.CheckInvariants();
  EXPECT_EQ(l.next_ns(), 5);
  EXPECT_EQ(Drain(l, 1000), (std::vector<int>{4, 2, 1}));
  l.Push(&it[3], 1);  // a removed entry may be armed again
  EXPECT_EQ(Drain(l, 1), (std::vector<int>{3}));
}

TEST(DeadlineListTest, RekeyReordersEverything) {
  Item it[4];
  DeadlineList l(4);
  for (int i = 0; i < 4; ++i) {
    it[i].id = i;
    l.Push(&it[i], 10 * (i + 1));
  }
  l.Rekey([](const DeadlineEntry& e) { return 100 - static_cast<const Item&>(e).id; });
  l.CheckInvariants();
  EXPECT_EQ(Drain(l, 1000), (std::vector<int>{3, 2, 1, 0}));
}

TEST(DeadlineListTest, MatchesASortedModel) {
  constexpr int kItems = 64;
  std::vector<Item> items(kItems);
  for (int i = 0; i < kItems; ++i) items[i].id = i;
  DeadlineList l(kItems);
  std::mt19937 rng(42);
  struct Armed {
    int64_t due;
    uint64_t seq;
    int id;
  };
  std::vector<Armed> model;
  uint64_t seq = 0;
  for (int step = 0; step < 20000; ++step) {
    const int id = static_cast<int>(rng() % kItems);
    Item& it = items[id];
    if (!it.queued()) {
      const int64_t due = rng() % 50;  // many ties
      l.Push(&it, due);
      model.push_back({due, seq++, id});
    } else if (rng() % 3 == 0) {
      l.Remove(&it);
      std::erase_if(model, [id](const Armed& a) { return a.id == id; });
    } else {
      const int64_t now = rng() % 60;
      DeadlineEntry* e = l.PopDue(now);
      auto first = std::min_element(model.begin(), model.end(), [](const Armed& a, const Armed& b) {
        return a.due < b.due || (a.due == b.due && a.seq < b.seq);
      });
      if (e == nullptr) {
        EXPECT_TRUE(model.empty() || first->due > now) << "step " << step;
      } else {
        ASSERT_NE(first, model.end());
        EXPECT_LE(first->due, now);
        EXPECT_EQ(static_cast<Item*>(e)->id, first->id) << "step " << step;
        model.erase(first);
      }
    }
    ASSERT_EQ(l.size(), model.size());
  }
  l.CheckInvariants();
}

#if NVME_MPATH_ASSERTS_ENABLED

class DeadlineListDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(DeadlineListDeathTest, ArmingTwiceOrRemovingWhatIsNotInAborts) {
  Item a, b;
  DeadlineList l(2);
  l.Push(&a, 1);
  EXPECT_DEATH(l.Push(&a, 2), "armed twice");
  EXPECT_DEATH(l.Remove(&b), "not in this list");
}

TEST_F(DeadlineListDeathTest, MoreEntriesThanTheCapacityAborts) {
  Item a, b;
  DeadlineList l(1);
  l.Push(&a, 1);
  EXPECT_DEATH(l.Push(&b, 1), "more entries than the list was made for");
}

#endif  // NVME_MPATH_ASSERTS_ENABLED

}  // namespace
}  // namespace nvme_mpath::internal
