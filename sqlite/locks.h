// File: sqlite/locks.h
//
// The in-process locks of a region: SQLite's file lock levels (LockTable, for xLock/xUnlock/
// xCheckReservedLock) and the WAL's shared memory with its eight lock slots (ShmTable, for
// xShmMap/xShmLock/xShmUnmap), both in heap memory. One process owns a region (the cross-process
// lock of Backend::LockExclusive), so the connections of that process are all there is to lock
// against; SQLite's rules are kept exactly as its unix VFS keeps them between processes.
//
// Threading: every method takes the table's own mutex; an owner (`me`) is any pointer that
// identifies one connection's file handle.
#ifndef NVME_MPATH_SQLITE_LOCKS_H_
#define NVME_MPATH_SQLITE_LOCKS_H_

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace nvme_mpath::sqlite {

// Lock levels, as SQLite numbers them (SQLITE_LOCK_NONE .. SQLITE_LOCK_EXCLUSIVE).
enum LockLevel : int { kLockNone = 0, kLockShared = 1, kLockReserved = 2, kLockPending = 3, kLockExclusive = 4 };

class LockTable {
 public:
  // Raises *held to `want` (SHARED, RESERVED or EXCLUSIVE; EXCLUSIVE passes through PENDING,
  // which is kept when the answer is busy so that no new reader gets in). Returns false when busy.
  bool Lock(const void* me, int* held, int want);
  // Lowers *held to `want` (SHARED or NONE).
  void Unlock(const void* me, int* held, int want);
  // Returns true when any connection holds RESERVED or more.
  bool Reserved();

 private:
  std::mutex mu_;
  int shared_ = 0;  // connections holding SHARED or more
  const void* reserved_ = nullptr;
  const void* pending_ = nullptr;
  const void* exclusive_ = nullptr;
};

inline constexpr int kShmSlots = 8;  // SQLITE_SHM_NLOCK

// One connection's view of the shared memory: the slots it holds.
struct ShmConn {
  uint8_t shared = 0, exclusive = 0;  // bit i: slot i
};

class ShmTable {
 public:
  // Returns region `i` of `size` bytes (zeroed when made), or nullptr when it does not exist
  // and !extend (or on no memory: *nomem). All regions have the same size (SQLite: 32 KiB).
  void* Map(ShmConn* c, int i, int size, bool extend, bool* nomem);
  // flags: SQLITE_SHM_LOCK or SQLITE_SHM_UNLOCK, with SQLITE_SHM_SHARED or SQLITE_SHM_EXCLUSIVE.
  // Returns false when busy.
  bool Lock(ShmConn* c, int ofst, int n, int flags);
  // Drops c's locks and its mapping; the memory goes with the last connection (the next one
  // rebuilds the WAL index from the WAL, as after a restart).
  void Unmap(ShmConn* c);

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<uint8_t[]>> regions_;
  std::array<int, kShmSlots> shared_ = {};
  std::array<const ShmConn*, kShmSlots> exclusive_ = {};
  std::vector<const ShmConn*> mapped_;
};

}  // namespace nvme_mpath::sqlite

#endif  // NVME_MPATH_SQLITE_LOCKS_H_
