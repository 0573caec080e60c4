// The in-process locks (sqlite/locks.h): SQLite's file lock levels and the WAL's shm slots.
#include "locks.h"

#include <sqlite3.h>

#include <gtest/gtest.h>

namespace nvme_mpath::sqlite {
namespace {

TEST(LockTableTest, ReadersShareAWriterWaitsForThemAndBlocksNewOnes) {
  LockTable t;
  int a = kLockNone, b = kLockNone, c = kLockNone;
  ASSERT_TRUE(t.Lock(&a, &a, kLockShared));
  ASSERT_TRUE(t.Lock(&b, &b, kLockShared));
  EXPECT_FALSE(t.Reserved());
  ASSERT_TRUE(t.Lock(&a, &a, kLockReserved));
  EXPECT_TRUE(t.Reserved());
  EXPECT_FALSE(t.Lock(&b, &b, kLockReserved)) << "one RESERVED at a time";
  EXPECT_FALSE(t.Lock(&a, &a, kLockExclusive)) << "b still reads";
  EXPECT_EQ(a, kLockPending);
  EXPECT_FALSE(t.Lock(&c, &c, kLockShared)) << "PENDING keeps new readers out";
  t.Unlock(&b, &b, kLockNone);
  ASSERT_TRUE(t.Lock(&a, &a, kLockExclusive));
  EXPECT_EQ(a, kLockExclusive);
  EXPECT_FALSE(t.Lock(&c, &c, kLockShared));
  t.Unlock(&a, &a, kLockShared);
  EXPECT_FALSE(t.Reserved());
  ASSERT_TRUE(t.Lock(&c, &c, kLockShared));
  t.Unlock(&a, &a, kLockNone);
  t.Unlock(&c, &c, kLockNone);
  // Hot-journal recovery: SHARED straight to EXCLUSIVE.
  ASSERT_TRUE(t.Lock(&a, &a, kLockShared));
  ASSERT_TRUE(t.Lock(&a, &a, kLockExclusive));
  t.Unlock(&a, &a, kLockNone);
  EXPECT_FALSE(t.Reserved());
  EXPECT_FALSE(t.Lock(&a, &a, kLockReserved)) << "SHARED comes first";
}

TEST(ShmTableTest, MapsZeroedRegionsAndLocksSlots) {
  ShmTable t;
  ShmConn a, b;
  bool nomem = true;
  EXPECT_EQ(t.Map(&a, 0, 32768, false, &nomem), nullptr);
  EXPECT_FALSE(nomem);
  auto* p = static_cast<uint8_t*>(t.Map(&a, 1, 32768, true, &nomem));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p[100], 0);
  p[100] = 7;
  EXPECT_EQ(static_cast<uint8_t*>(t.Map(&b, 1, 32768, false, &nomem))[100], 7) << "shared between connections";
  const int kLock = SQLITE_SHM_LOCK, kUnlock = SQLITE_SHM_UNLOCK;
  EXPECT_TRUE(t.Lock(&a, 3, 1, kLock | SQLITE_SHM_SHARED));
  EXPECT_TRUE(t.Lock(&b, 3, 1, kLock | SQLITE_SHM_SHARED));
  EXPECT_FALSE(t.Lock(&a, 3, 1, kLock | SQLITE_SHM_EXCLUSIVE));
  EXPECT_TRUE(t.Lock(&b, 3, 1, kUnlock | SQLITE_SHM_SHARED));
  EXPECT_TRUE(t.Lock(&a, 3, 1, kLock | SQLITE_SHM_EXCLUSIVE)) << "its own SHARED does not count";
  EXPECT_FALSE(t.Lock(&b, 3, 1, kLock | SQLITE_SHM_SHARED));
  EXPECT_FALSE(t.Lock(&b, 0, 8, kLock | SQLITE_SHM_EXCLUSIVE));
  EXPECT_TRUE(t.Lock(&b, 4, 4, kLock | SQLITE_SHM_EXCLUSIVE));
  EXPECT_FALSE(t.Lock(&b, 7, 2, kLock | SQLITE_SHM_EXCLUSIVE)) << "beyond the 8 slots";
  t.Unmap(&a);  // drops a's slots
  EXPECT_TRUE(t.Lock(&b, 3, 1, kLock | SQLITE_SHM_SHARED));
  t.Unmap(&b);  // the last one: the memory goes
  auto* q = static_cast<uint8_t*>(t.Map(&a, 1, 32768, true, &nomem));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q[100], 0);
}

}  // namespace
}  // namespace nvme_mpath::sqlite
