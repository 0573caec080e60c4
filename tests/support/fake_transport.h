// File: support/fake_transport.h
//
// A Transport that records what was submitted and completes only what the test tells it to:
// the test picks one in-flight command, sets its completion and polls the queue (SPDK's
// ut_get_outstanding_nvme_request + poll_thread_times). A command the test never completes stays
// in flight forever (a silent path). Submit() can be told to fail or to take only some commands,
// as the kernel does under memory pressure.
#ifndef NVME_MPATH_TESTS_FAKE_TRANSPORT_H_
#define NVME_MPATH_TESTS_FAKE_TRANSPORT_H_

#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <initializer_list>
#include <vector>

#include "tag.h"
#include "transport.h"

namespace nvme_mpath::testing {

class FakeTransport final : public internal::Transport {
 public:
  struct Sent {
    int path;
    nvme_uring_cmd cmd;
    uint64_t tag;
    int buf_index;
    int fd;  // the file installed in the slot when it was sent
    bool dropped = false;  // taken back by DropUnsent(): completes with res 0, reaches no device
  };

  explicit FakeTransport(int sq_entries = 1024) : sq_entries_(sq_entries) { files_.fill(-1); }

  // The command is built in place in the record (Transport::Reserve()); it is poisoned first, so
  // that a byte the caller fails to write shows in the test that looks at it.
  internal::CmdSlot Reserve(int path, uint64_t tag, int buf_index) override {
    if (files_[path] < 0) return {nullptr, -EBADF};
    if (on_prep) on_prep(path, tag);
    if (static_cast<int>(prepared_.size()) >= sq_entries_) return {nullptr, -EBUSY};
    prepared_.push_back(Sent{path, {}, tag, buf_index, files_[path]});
    std::memset(&prepared_.back().cmd, 0xa5, sizeof(nvme_uring_cmd));
    return {&prepared_.back().cmd, 0};
  }
  int Submit() override {
    submits_++;
    int n = static_cast<int>(prepared_.size());
    if (!submit_results_.empty()) {
      const int r = submit_results_.front();
      submit_results_.pop_front();
      if (r < 0) return r;
      if (r < n) n = r;
    } else if (submit_error_ != 0) {
      return submit_error_;
    }
    for (int i = 0; i < n; ++i) {
      const Sent& s = prepared_[i];
      if (s.dropped) {
        done_.push_back(internal::Completion{s.tag, 0, 0});  // the kernel completes a NOP
      } else {
        inflight_.push_back(s);
      }
    }
    prepared_.erase(prepared_.begin(), prepared_.begin() + n);
    return n;
  }
  int Reap(internal::Completion* out, int max, int min, int64_t wait_ns) override {
    if (min > 0 && wait_ns != 0 && done_.empty()) {
      waits_.push_back(wait_ns);
      if (on_wait) on_wait(wait_ns);  // the test lets time pass, or completes something
    }
    int n = 0;
    while (n < max && !done_.empty()) {
      out[n++] = done_.front();
      done_.pop_front();
    }
    return n;
  }
  int DropUnsent(uint64_t* tags, int max) override {
    int n = 0;
    for (Sent& s : prepared_) {
      if (n == max) break;
      if (s.dropped) continue;
      s.dropped = true;
      tags[n++] = s.tag;
    }
    dropped_ += n;
    return n;
  }
  absl::Status SetFile(int path, int fd) override {
    files_[path] = fd;
    return absl::OkStatus();
  }
  int event_fd() const override { return -1; }

  // ---- test controls ----
  std::function<void(int path, uint64_t tag)> on_prep;  // called for every prepared command
  // Called when Reap() would wait (min > 0, wait_ns != 0, nothing to reap) with its wait_ns
  // (< 0: forever); every such wait is also recorded in waits().
  std::function<void(int64_t wait_ns)> on_wait;
  const std::vector<int64_t>& waits() const { return waits_; }
  // Commands sent to the kernel and not yet completed, oldest first.
  std::deque<Sent>& inflight() { return inflight_; }
  size_t prepared() const { return prepared_.size(); }
  // Commands prepared and not yet taken by Submit() (a dropped one completes as a NOP).
  const std::vector<Sent>& prepared_cmds() const { return prepared_; }
  // The next Submit() calls return these, one each: -errno (nothing taken) or how many commands
  // at most the kernel takes (a short submit). Then submit_error (0: all taken).
  void QueueSubmitResults(std::initializer_list<int> results) {
    submit_results_.insert(submit_results_.end(), results);
  }
  void set_submit_error(int err) { submit_error_ = err; }
  int dropped() const { return dropped_; }
  // Completes the in-flight command at `index` with `res`.
  Sent Complete(size_t index, int res, uint64_t result = 0) {
    Sent s = inflight_.at(index);
    inflight_.erase(inflight_.begin() + index);
    done_.push_back(internal::Completion{s.tag, res, result});
    return s;
  }
  // Completes every in-flight command with `res`; returns how many.
  int CompleteAll(int res) {
    int n = 0;
    while (!inflight_.empty()) {
      Complete(0, res);
      ++n;
    }
    return n;
  }
  // Queues a completion with an arbitrary tag (stale-completion tests).
  void InjectCompletion(uint64_t tag, int res) { done_.push_back({tag, res, 0}); }
  int file(int path) const { return files_[path]; }
  int submits() const { return submits_; }
  void set_sq_entries(int n) { sq_entries_ = n; }

 private:
  int sq_entries_;
  std::array<int, internal::kMaxPaths> files_;
  std::vector<Sent> prepared_;
  std::deque<Sent> inflight_;
  std::deque<internal::Completion> done_;
  std::deque<int> submit_results_;
  std::vector<int64_t> waits_;
  int submit_error_ = 0;
  int submits_ = 0;
  int dropped_ = 0;
};

}  // namespace nvme_mpath::testing

#endif  // NVME_MPATH_TESTS_FAKE_TRANSPORT_H_
