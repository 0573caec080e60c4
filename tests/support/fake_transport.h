// File: support/fake_transport.h
//
// A Transport that records what was submitted and completes only what the test tells it to:
// the test picks one in-flight command, sets its completion and polls the queue (SPDK's
// ut_get_outstanding_nvme_request + poll_thread_times).
#ifndef NVME_MPATH_TESTS_FAKE_TRANSPORT_H_
#define NVME_MPATH_TESTS_FAKE_TRANSPORT_H_

#include <array>
#include <cerrno>
#include <deque>
#include <functional>
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
  };

  explicit FakeTransport(int sq_entries = 1024) : sq_entries_(sq_entries) { files_.fill(-1); }

  int Prep(int path, const nvme_uring_cmd& cmd, uint64_t tag, int buf_index) override {
    if (files_[path] < 0) return -EBADF;
    if (on_prep) on_prep(path);
    if (static_cast<int>(prepared_.size()) >= sq_entries_) return -EBUSY;
    prepared_.push_back(Sent{path, cmd, tag, buf_index, files_[path]});
    return 0;
  }
  int Submit() override {
    int n = static_cast<int>(prepared_.size());
    for (auto& s : prepared_) inflight_.push_back(s);
    prepared_.clear();
    submits_++;
    return n;
  }
  int Reap(internal::Completion* out, int max, int, int64_t) override {
    int n = 0;
    while (n < max && !done_.empty()) {
      out[n++] = done_.front();
      done_.pop_front();
    }
    return n;
  }
  absl::Status SetFile(int path, int fd) override {
    files_[path] = fd;
    return absl::OkStatus();
  }
  int event_fd() const override { return -1; }

  // ---- test controls ----
  std::function<void(int path)> on_prep;  // called for every prepared command
  // Commands sent to the kernel and not yet completed, oldest first.
  std::deque<Sent>& inflight() { return inflight_; }
  size_t prepared() const { return prepared_.size(); }
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
  int submits_ = 0;
};

}  // namespace nvme_mpath::testing

#endif  // NVME_MPATH_TESTS_FAKE_TRANSPORT_H_
