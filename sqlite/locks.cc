// File: sqlite/locks.cc
#include "locks.h"

#include <sqlite3.h>

#include <algorithm>
#include <new>

namespace nvme_mpath::sqlite {

bool LockTable::Lock(const void* me, int* held, int want) {
  std::lock_guard<std::mutex> l(mu_);
  if (*held >= want) return true;
  if (want == kLockShared) {
    if (pending_ != nullptr || exclusive_ != nullptr) return false;
    ++shared_;
    *held = kLockShared;
    return true;
  }
  if (*held < kLockShared) return false;  // SQLite always takes SHARED first
  auto other = [me](const void* o) { return o != nullptr && o != me; };
  if (want == kLockReserved) {
    if (other(reserved_) || other(pending_) || other(exclusive_)) return false;
    reserved_ = me;
    *held = kLockReserved;
    return true;
  }
  // PENDING, then EXCLUSIVE once this is the only reader.
  if (other(pending_) || other(exclusive_)) return false;
  pending_ = me;
  *held = std::max(*held, int(kLockPending));
  if (want == kLockPending) return true;
  if (shared_ > 1) return false;
  exclusive_ = me;
  *held = kLockExclusive;
  return true;
}

void LockTable::Unlock(const void* me, int* held, int want) {
  std::lock_guard<std::mutex> l(mu_);
  if (*held <= want) return;
  if (reserved_ == me) reserved_ = nullptr;
  if (pending_ == me) pending_ = nullptr;
  if (exclusive_ == me) exclusive_ = nullptr;
  if (want == kLockNone) --shared_;
  *held = want;
}

bool LockTable::Reserved() {
  std::lock_guard<std::mutex> l(mu_);
  return reserved_ != nullptr || pending_ != nullptr || exclusive_ != nullptr;
}

void* ShmTable::Map(ShmConn* c, int i, int size, bool extend, bool* nomem) {
  std::lock_guard<std::mutex> l(mu_);
  *nomem = false;
  if (std::find(mapped_.begin(), mapped_.end(), c) == mapped_.end()) mapped_.push_back(c);
  if (i < 0 || size <= 0) return nullptr;
  while (size_t(i) >= regions_.size()) {
    if (!extend) return nullptr;
    uint8_t* r = new (std::nothrow) uint8_t[size_t(size)]();
    if (r == nullptr) {
      *nomem = true;
      return nullptr;
    }
    regions_.emplace_back(r);
  }
  return regions_[size_t(i)].get();
}

bool ShmTable::Lock(ShmConn* c, int ofst, int n, int flags) {
  if (ofst < 0 || n < 1 || ofst + n > kShmSlots) return false;
  std::lock_guard<std::mutex> l(mu_);
  if (flags & SQLITE_SHM_UNLOCK) {
    for (int i = ofst; i < ofst + n; ++i) {
      const uint8_t bit = uint8_t(1u << i);
      if (c->exclusive & bit) exclusive_[i] = nullptr;
      if (c->shared & bit) --shared_[i];
      c->exclusive &= uint8_t(~bit);
      c->shared &= uint8_t(~bit);
    }
    return true;
  }
  if (flags & SQLITE_SHM_SHARED) {
    const uint8_t bit = uint8_t(1u << ofst);
    if (exclusive_[ofst] != nullptr && exclusive_[ofst] != c) return false;
    if (!(c->shared & bit) && !(c->exclusive & bit)) {
      ++shared_[ofst];
      c->shared |= bit;
    }
    return true;
  }
  for (int i = ofst; i < ofst + n; ++i) {
    const uint8_t bit = uint8_t(1u << i);
    if (exclusive_[i] != nullptr && exclusive_[i] != c) return false;
    if (shared_[i] - ((c->shared & bit) ? 1 : 0) > 0) return false;
  }
  for (int i = ofst; i < ofst + n; ++i) {
    exclusive_[i] = c;
    c->exclusive |= uint8_t(1u << i);
  }
  return true;
}

void ShmTable::Unmap(ShmConn* c) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = std::find(mapped_.begin(), mapped_.end(), c);
  if (it == mapped_.end()) return;
  mapped_.erase(it);
  for (int i = 0; i < kShmSlots; ++i) {
    const uint8_t bit = uint8_t(1u << i);
    if (c->exclusive & bit) exclusive_[i] = nullptr;
    if (c->shared & bit) --shared_[i];
  }
  c->shared = c->exclusive = 0;
  if (mapped_.empty()) regions_.clear();
}

}  // namespace nvme_mpath::sqlite
