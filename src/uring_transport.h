// File: uring_transport.h
//
// UringTransport: the real Transport. One io_uring per queue, set up with SQE128|CQE32, sending
// NVMe commands as IORING_OP_URING_CMD / NVME_URING_CMD_IO on registered files (one slot per
// path), optionally on registered (fixed) buffers.
//
// Threading model: owned by one queue and used from that queue's thread only. With
// SINGLE_ISSUER|DEFER_TASKRUN (the default when the kernel has them) the ring must not be
// touched from another thread at all, and completions are only posted when this thread enters
// the kernel: Reap() does so even when it does not wait.
#ifndef NVME_MPATH_SRC_URING_TRANSPORT_H_
#define NVME_MPATH_SRC_URING_TRANSPORT_H_

#include <liburing.h>
#include <sys/uio.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include "transport.h"

namespace nvme_mpath::internal {

struct UringOptions {
  uint32_t entries = 128;       // SQ size (a power of two >= the queue depth)
  bool sqpoll = false;
  uint32_t sqpoll_idle_ms = 1000;
  bool defer_taskrun = true;    // SINGLE_ISSUER|DEFER_TASKRUN, else COOP_TASKRUN, else none
  std::vector<iovec> buffers;   // registered buffers (IORING_URING_CMD_FIXED), optional
};

class UringTransport final : public Transport {
 public:
  static absl::StatusOr<std::unique_ptr<UringTransport>> Create(const UringOptions& o);
  ~UringTransport() override;

  int Prep(int path, const nvme_uring_cmd& cmd, uint64_t tag, int fixed_buf_index) override;
  int Submit() override;
  int Reap(Completion* out, int max, int min, int64_t wait_ns) override;
  absl::Status SetFile(int path, int fd) override;
  int event_fd() const override { return ring_.ring_fd; }

  // What setup chose: "defer_taskrun", "coop_taskrun" or "plain", plus "+sqpoll".
  const std::string& mode() const { return mode_; }

 private:
  UringTransport() = default;
  io_uring ring_{};
  bool ring_ok_ = false;
  bool defer_taskrun_ = false;
  std::array<bool, kMaxPaths> has_file_{};
  uint32_t nbuffers_ = 0;
  std::string mode_;
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_URING_TRANSPORT_H_
