// File: sqlite/tests/crash_backend.h
//
// Test backends. CrashBackend: a device with a volatile write cache over another backend.
// Writes stay in the cache (reads see them) until Flush() writes them through; PowerFail()
// then lands a random subset of the unflushed LBA writes, in issue order (so an LBA ends up with
// its old content or any one of the values written to it), tears multi-LBA writes at LBA
// granularity, and kills the device: every later call fails with -EIO. `fail_after_ops` does that
// by itself at the N-th write or flush, so a power failure falls anywhere inside a commit,
// deterministically from the seed. KillBackend: raise(SIGKILL) at the N-th write or flush (the
// fork tests' random point).
#ifndef NVME_MPATH_SQLITE_TESTS_CRASH_BACKEND_H_
#define NVME_MPATH_SQLITE_TESTS_CRASH_BACKEND_H_

#include <signal.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "backend.h"

namespace nvme_mpath::sqlite {

class ForwardingBackend : public Backend {
 public:
  explicit ForwardingBackend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}
  uint32_t lba_size() const override { return inner_->lba_size(); }
  uint64_t lbas() const override { return inner_->lbas(); }
  uint64_t atomic_write_bytes() const override { return inner_->atomic_write_bytes(); }
  int Read(uint64_t lba, uint32_t nlb, void* buf) override { return inner_->Read(lba, nlb, buf); }
  int Write(absl::Span<const WriteSeg> segs) override { return inner_->Write(segs); }
  int Flush() override { return inner_->Flush(); }
  absl::Status LockExclusive(uint64_t o) override { return inner_->LockExclusive(o); }
  const std::string& name() const override { return inner_->name(); }

 protected:
  std::unique_ptr<Backend> inner_;
};

class KillBackend final : public ForwardingBackend {
 public:
  KillBackend(std::unique_ptr<Backend> inner, uint64_t kill_at_op)
      : ForwardingBackend(std::move(inner)), kill_at_(kill_at_op) {}
  int Write(absl::Span<const WriteSeg> segs) override {
    Tick();
    return inner_->Write(segs);
  }
  int Flush() override {
    Tick();
    return inner_->Flush();
  }

 private:
  void Tick() {
    if (++ops_ == kill_at_) raise(SIGKILL);
  }
  uint64_t ops_ = 0;
  const uint64_t kill_at_;
};

class CrashBackend final : public ForwardingBackend {
 public:
  CrashBackend(std::unique_ptr<Backend> inner, uint64_t seed, uint64_t fail_after_ops = 0)
      : ForwardingBackend(std::move(inner)), rng_(seed), fail_after_(fail_after_ops) {}

  int Read(uint64_t lba, uint32_t nlb, void* buf) override {
    if (dead_) return -EIO;
    if (int r = inner_->Read(lba, nlb, buf); r != 0) return r;
    const uint32_t L = lba_size();
    for (uint32_t i = 0; i < nlb; ++i) {
      auto it = latest_.find(lba + i);
      if (it != latest_.end()) memcpy(static_cast<uint8_t*>(buf) + size_t(i) * L, pending_[it->second].data.data(), L);
    }
    return 0;
  }
  int Write(absl::Span<const WriteSeg> segs) override {
    if (dead_ || Tick()) return -EIO;
    const uint32_t L = lba_size();
    for (const WriteSeg& s : segs)
      for (uint32_t i = 0; i < s.nlb; ++i) {
        const auto* p = static_cast<const uint8_t*>(s.buf) + size_t(i) * L;
        pending_.push_back({s.lba + i, std::vector<uint8_t>(p, p + L)});
        latest_[s.lba + i] = pending_.size() - 1;
      }
    ++writes_;
    return 0;
  }
  int Flush() override {
    if (dead_ || Tick()) return -EIO;
    for (const Pending& p : pending_) {
      const WriteSeg s = {p.lba, 1, p.data.data()};
      if (int r = inner_->Write({&s, 1}); r != 0) return r;
    }
    pending_.clear();
    latest_.clear();
    ++flushes_;
    return inner_->Flush();
  }
  // Lands a random subset of the unflushed LBA writes and kills the device.
  void PowerFail() {
    if (dead_) return;
    dead_ = true;
    std::bernoulli_distribution coin(0.5);
    for (const Pending& p : pending_)
      if (coin(rng_)) {
        const WriteSeg s = {p.lba, 1, p.data.data()};
        inner_->Write({&s, 1});
        ++landed_;
      } else {
        ++lost_;
      }
    pending_.clear();
    latest_.clear();
  }
  bool dead() const { return dead_; }
  uint64_t lost() const { return lost_; }
  uint64_t ops() const { return ops_; }

 private:
  struct Pending {
    uint64_t lba;
    std::vector<uint8_t> data;
  };
  bool Tick() {
    if (fail_after_ != 0 && ++ops_ >= fail_after_) {
      PowerFail();
      return true;
    }
    return false;
  }
  std::mt19937_64 rng_;
  const uint64_t fail_after_;
  uint64_t ops_ = 0, writes_ = 0, flushes_ = 0, landed_ = 0, lost_ = 0;
  bool dead_ = false;
  std::vector<Pending> pending_;
  std::map<uint64_t, size_t> latest_;
};

}  // namespace nvme_mpath::sqlite

#endif  // NVME_MPATH_SQLITE_TESTS_CRASH_BACKEND_H_
