// File: uring_transport.cc
#include "uring_transport.h"

#include <linux/nvme_ioctl.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "log.h"

namespace nvme_mpath::internal {
namespace {

#ifndef IORING_URING_CMD_FIXED
#define IORING_URING_CMD_FIXED (1U << 0)
#endif

// liburing 2.3 has no io_uring_prep_uring_cmd: fill the SQE ourselves (liburing's
// __io_uring_prep_uring_cmd in later versions does the same).
inline void PrepUringCmd(io_uring_sqe* sqe, int slot, const nvme_uring_cmd& cmd, uint64_t tag) {
  std::memset(sqe, 0, 2 * sizeof(io_uring_sqe));  // SQE128: the command spills into the 2nd half
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = slot;
  sqe->flags = IOSQE_FIXED_FILE;
  sqe->cmd_op = NVME_URING_CMD_IO;
  sqe->user_data = tag;
  static_assert(sizeof(nvme_uring_cmd) <= 80, "the NVMe command must fit in an SQE128");
  std::memcpy(sqe->cmd, &cmd, sizeof(cmd));
}

absl::Status SetupError(int err, unsigned flags) {
  switch (err) {
    case EPERM:
      return absl::PermissionDeniedError(
          "io_uring_setup: Operation not permitted: io_uring is disabled for this process "
          "(sysctl kernel.io_uring_disabled is 2, or 1 and the user is not in "
          "kernel.io_uring_group), or a seccomp/container policy forbids it");
    case ENOSYS:
      return absl::UnimplementedError("io_uring_setup: this kernel has no io_uring (ENOSYS)");
    case EINVAL:
      return absl::FailedPreconditionError(fmt::format(
          "io_uring_setup(flags {:#x}): Invalid argument: the kernel lacks SQE128/CQE32 rings, "
          "needed for NVMe passthrough (Linux >= 5.19)", flags));
    case ENOMEM:
      return absl::ResourceExhaustedError(
          "io_uring_setup: Cannot allocate memory (RLIMIT_MEMLOCK too low for the ring?)");
    default:
      return absl::ErrnoToStatus(err, "io_uring_setup");
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<UringTransport>> UringTransport::Create(const UringOptions& o) {
  std::unique_ptr<UringTransport> t(new UringTransport());
  const unsigned base = IORING_SETUP_SQE128 | IORING_SETUP_CQE32;
  struct Try {
    unsigned flags;
    const char* name;
  };
  std::vector<Try> tries;
  unsigned extra = 0;
  if (o.sqpoll) extra |= IORING_SETUP_SQPOLL;
  if (o.defer_taskrun && !o.sqpoll)
    tries.push_back({IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "defer_taskrun"});
  if (!o.sqpoll) tries.push_back({IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, "coop_taskrun"});
  tries.push_back({0, "plain"});
  int err = 0;
  unsigned used = 0;
  for (const Try& tr : tries) {
    io_uring_params p{};
    p.flags = base | extra | tr.flags;
    p.cq_entries = o.entries * 2;
    p.flags |= IORING_SETUP_CQSIZE;
    if (o.sqpoll) p.sq_thread_idle = o.sqpoll_idle_ms;
    int r = io_uring_queue_init_params(o.entries, &t->ring_, &p);
    if (r == 0) {
      used = p.flags;
      t->mode_ = std::string(tr.name) + (o.sqpoll ? "+sqpoll" : "");
      t->defer_taskrun_ = tr.flags & IORING_SETUP_DEFER_TASKRUN;
      err = 0;
      break;
    }
    err = -r;
    if (err != EINVAL) break;  // EPERM, ENOMEM...: no flag combination will help
    MPLOG_DEBUG("io_uring setup with {} not available ({}); falling back", tr.name, strerror(err));
  }
  if (err != 0) {
    if (err == EPERM && o.sqpoll)
      return absl::PermissionDeniedError(
          "io_uring_setup with SQPOLL: Operation not permitted (SQPOLL needs CAP_SYS_NICE on "
          "kernels before 5.13, or io_uring is disabled)");
    return SetupError(err, base | extra);
  }
  t->ring_ok_ = true;
  MPLOG_DEBUG("io_uring ready: {} entries, mode {}, flags {:#x}", o.entries, t->mode_, used);
  int r = io_uring_register_files_sparse(&t->ring_, kMaxPaths);
  if (r < 0) {
    std::vector<int> fds(kMaxPaths, -1);
    r = io_uring_register_files(&t->ring_, fds.data(), kMaxPaths);
  }
  if (r < 0) return absl::ErrnoToStatus(-r, "io_uring_register_files");
  if (!o.buffers.empty()) {
    r = io_uring_register_buffers(&t->ring_, o.buffers.data(), unsigned(o.buffers.size()));
    if (r < 0)
      return absl::ErrnoToStatus(-r, fmt::format("io_uring_register_buffers ({} buffers)",
                                                 o.buffers.size()));
    t->nbuffers_ = uint32_t(o.buffers.size());
  }
  return t;
}

UringTransport::~UringTransport() {
  if (ring_ok_) io_uring_queue_exit(&ring_);
}

int UringTransport::Prep(int path, const nvme_uring_cmd& cmd, uint64_t tag, int fixed_buf_index) {
  if (path < 0 || path >= kMaxPaths || !has_file_[path]) return -EBADF;
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) return -EBUSY;
  PrepUringCmd(sqe, path, cmd, tag);
  if (fixed_buf_index >= 0 && uint32_t(fixed_buf_index) < nbuffers_) {
    sqe->uring_cmd_flags = IORING_URING_CMD_FIXED;
    sqe->buf_index = uint16_t(fixed_buf_index);
  }
  return 0;
}

int UringTransport::Submit() {
  for (;;) {
    int r = io_uring_submit(&ring_);
    if (r >= 0) return r;
    if (r == -EINTR) continue;
    if (r == -EAGAIN || r == -EBUSY) return 0;  // the kernel is short of resources: retry later
    return r;
  }
}

int UringTransport::Reap(Completion* out, int max, int min, int64_t wait_ns) {
  int n = 0;
  auto drain = [&]() {
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      if (n == max) break;
      out[n].tag = cqe->user_data;
      out[n].res = cqe->res;
      out[n].result = cqe->big_cqe[0];
      ++n;
      ++seen;
    }
    if (seen) io_uring_cq_advance(&ring_, seen);
  };
  drain();
  if (n == 0 && defer_taskrun_) {
    // With DEFER_TASKRUN completions are posted only when we enter the kernel.
    io_uring_get_events(&ring_);
    drain();
  }
  if (n >= min || wait_ns == 0) return n;
  io_uring_cqe* cqe = nullptr;
  int r;
  if (wait_ns < 0) {
    r = io_uring_wait_cqe(&ring_, &cqe);
  } else {
    __kernel_timespec ts{wait_ns / 1000000000, wait_ns % 1000000000};
    r = io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
  }
  if (r < 0 && r != -ETIME && r != -EINTR) return n ? n : r;
  drain();
  return n;
}

absl::Status UringTransport::SetFile(int path, int fd) {
  if (path < 0 || path >= kMaxPaths) return absl::InvalidArgumentError("file slot out of range");
  int r = io_uring_register_files_update(&ring_, unsigned(path), &fd, 1);
  if (r < 0) return absl::ErrnoToStatus(-r, fmt::format("io_uring_register_files_update slot {}", path));
  has_file_[path] = fd >= 0;
  return absl::OkStatus();
}

}  // namespace nvme_mpath::internal
