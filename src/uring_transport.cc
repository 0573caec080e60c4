// File: uring_transport.cc
#include "uring_transport.h"

#include <linux/nvme_ioctl.h>
#include <sys/stat.h>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "log.h"
#include "status_macros.h"

namespace nvme_mpath::internal {
namespace {

#ifndef IORING_REGISTER_ENABLE_RINGS
#define IORING_REGISTER_ENABLE_RINGS 12
#endif
#ifndef IORING_URING_CMD_FIXED
#define IORING_URING_CMD_FIXED (1U << 0)
#endif

// Prepares SQE128 `sqe` as an NVMe uring_cmd on fixed file `slot` with user_data `tag`, but for
// the NVMe command itself, and returns where that goes: the caller writes all of it
// (Transport::Reserve()); the 8 bytes of the SQE after the command are cleared here. liburing
// 2.3 has no io_uring_prep_uring_cmd (its __io_uring_prep_uring_cmd in later versions fills the
// same fields).
inline nvme_uring_cmd* PrepUringCmd(io_uring_sqe* sqe, int slot, uint64_t tag) {
  static_assert(sizeof(nvme_uring_cmd) <= 80, "the NVMe command must fit in an SQE128");
  static_assert(offsetof(io_uring_sqe, cmd) + 80 == 2 * sizeof(io_uring_sqe),
                "SQE128: the command area runs to the end of the second half");
  std::memset(sqe, 0, offsetof(io_uring_sqe, cmd));  // the header; the command is the caller's
  std::memset(reinterpret_cast<uint8_t*>(sqe->cmd) + sizeof(nvme_uring_cmd), 0,
              80 - sizeof(nvme_uring_cmd));
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = slot;
  sqe->flags = IOSQE_FIXED_FILE;
  sqe->cmd_op = NVME_URING_CMD_IO;
  sqe->user_data = tag;
  return reinterpret_cast<nvme_uring_cmd*>(sqe->cmd);
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

// The setup flags every ring has: NVMe passthrough needs 128-byte SQEs and 32-byte CQEs; the CQ
// is twice the SQ so that a full SQ of completions never overflows it.
constexpr unsigned kBaseFlags = IORING_SETUP_SQE128 | IORING_SETUP_CQE32 | IORING_SETUP_CQSIZE;

// Liburing 2.3 declares io_uring_enable_rings() but its shared library does not export it (the
// symbol is missing from its version map, fixed in 2.4): issue the register call ourselves.
int EnableRing(io_uring* ring) {
  return io_uring_register(static_cast<unsigned>(ring->ring_fd), IORING_REGISTER_ENABLE_RINGS,
                           nullptr, 0);
}

}  // namespace

uint64_t UringTransport::ThisThreadId() {
  static std::atomic<uint64_t> next{1};
  thread_local const uint64_t id = next.fetch_add(1, std::memory_order_relaxed);
  return id;
}

absl::StatusOr<std::unique_ptr<UringTransport>> UringTransport::Create(const UringOptions& o) {
  std::unique_ptr<UringTransport> t(new UringTransport());
  struct Try {
    unsigned flags;
    const char* name;
  };
  std::vector<Try> tries;
  unsigned extra = 0;
  if (o.sqpoll) extra |= IORING_SETUP_SQPOLL;
  if (o.iopoll) extra |= IORING_SETUP_IOPOLL;
  const bool pinned = o.sqpoll && o.sqpoll_cpu >= 0;
  if (pinned) extra |= IORING_SETUP_SQ_AFF;
  // R_DISABLED: bound to the thread that first submits or reaps, not to this one (see header).
  if (o.defer_taskrun && !o.sqpoll)
    tries.push_back({IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                         IORING_SETUP_R_DISABLED,
                     "defer_taskrun"});
  if (!o.sqpoll) tries.push_back({IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, "coop_taskrun"});
  tries.push_back({0, "plain"});
  int err = 0;
  unsigned used = 0;
  for (const Try& tr : tries) {
    io_uring_params p{};
    p.flags = kBaseFlags | extra | tr.flags;
    p.cq_entries = o.entries * 2;
    if (o.sqpoll) p.sq_thread_idle = o.sqpoll_idle_ms;
    if (pinned) p.sq_thread_cpu = static_cast<uint32_t>(o.sqpoll_cpu);
    int r = io_uring_queue_init_params(o.entries, &t->ring_, &p);
    if (r == 0) {
      used = p.flags;
      t->mode_ = std::string(tr.name) + (o.sqpoll ? "+sqpoll" : "") + (o.iopoll ? "+iopoll" : "");
      t->defer_taskrun_ = tr.flags & IORING_SETUP_DEFER_TASKRUN;
      t->single_issuer_ = tr.flags & IORING_SETUP_SINGLE_ISSUER;
      err = 0;
      break;
    }
    err = -r;
    if (err != EINVAL) break;  // EPERM, ENOMEM...: no flag combination will help
    MPLOG_DEBUG("io_uring setup with {} not available ({}); falling back", tr.name, strerror(err));
  }
  if (err != 0) {
    if (err == EINVAL && pinned) {
      // The kernel answers EINVAL both for a CPU it will not pin to (offline, outside the
      // cpuset) and for a ring it cannot make at all: the same ring unpinned tells which.
      io_uring probe{};
      io_uring_params p{};
      p.flags = (kBaseFlags | extra) & ~unsigned{IORING_SETUP_SQ_AFF};
      p.cq_entries = o.entries * 2;
      p.sq_thread_idle = o.sqpoll_idle_ms;
      if (io_uring_queue_init_params(o.entries, &probe, &p) == 0) {
        io_uring_queue_exit(&probe);
        return absl::InvalidArgumentError(fmt::format(
            "sqpoll_cpu = {}: the kernel refused to pin the SQPOLL thread to CPU {} (offline, or "
            "outside this process's cpuset)", o.sqpoll_cpu, o.sqpoll_cpu));
      }
    }
    if (err == EPERM && o.sqpoll)
      return absl::PermissionDeniedError(
          "io_uring_setup with SQPOLL: Operation not permitted (SQPOLL needs CAP_SYS_NICE on "
          "kernels before 5.13, or io_uring is disabled)");
    return SetupError(err, kBaseFlags | extra);
  }
  t->ring_ok_ = true;
  if (!(t->ring_.features & IORING_FEAT_EXT_ARG)) {
    // Without EXT_ARG liburing's timed wait queues a timeout SQE of its own, in ring order,
    // which could land on an SQE a command still owns. Every kernel with SQE128 (5.19) has it.
    return absl::FailedPreconditionError(
        "io_uring: the kernel lacks IORING_FEAT_EXT_ARG (needed since SQE128 rings exist: 5.19)");
  }
  const uint32_t nsqe = t->ring_.sq.ring_entries;
  t->free_sqes_.resize(nsqe);
  for (uint32_t i = 0; i < nsqe; ++i) t->free_sqes_[i] = nsqe - 1 - i;  // index 0 first
  t->nfree_ = nsqe;
  t->sqe_tag_.assign(nsqe, 0);
  t->sqpoll_ = o.sqpoll;
  t->iopoll_ = o.iopoll;
  t->entries_ = o.entries;
  t->buffers_ = o.buffers;
  MPLOG_DEBUG("io_uring ready: {} entries, mode {}, flags {:#x}", o.entries, t->mode_, used);
  RETURN_IF_ERROR(t->RegisterResources(&t->ring_));
  return t;
}

// The file table (one empty slot per path) and the buffers. Allowed on a disabled ring from any
// thread: the kernel refuses register calls only from a task other than a bound ring's.
absl::Status UringTransport::RegisterResources(io_uring* ring) {
  int r = io_uring_register_files_sparse(ring, kMaxPaths);
  if (r < 0) {
    std::vector<int> fds(kMaxPaths, -1);
    r = io_uring_register_files(ring, fds.data(), kMaxPaths);
  }
  if (r < 0) return absl::ErrnoToStatus(-r, "io_uring_register_files");
  if (!buffers_.empty()) {
    r = io_uring_register_buffers(ring, buffers_.data(), unsigned(buffers_.size()));
    if (r < 0)
      return absl::ErrnoToStatus(-r, fmt::format("io_uring_register_buffers ({} buffers)",
                                                 buffers_.size()));
  }
  return absl::OkStatus();
}

UringTransport::~UringTransport() {
  if (ring_ok_) io_uring_queue_exit(&ring_);
}

CmdSlot UringTransport::Reserve(int path, uint64_t tag, int fixed_buf_index) {
  // Only writes the SQ ring's memory, never enters the kernel: no thread check needed here.
  if (path < 0 || path >= kMaxPaths || !has_file_[path]) return {nullptr, -EBADF};
  if (nfree_ == 0) return {nullptr, -EBUSY};  // every SQE belongs to a command not reaped yet
  // Reserve the next SQ ring entry (the SQE liburing returns is not used: see SQE ownership).
  if (io_uring_get_sqe(&ring_) == nullptr) return {nullptr, -EBUSY};
  const uint32_t idx = free_sqes_[--nfree_];
  ring_.sq.array[(ring_.sq.sqe_tail - 1) & ring_.sq.ring_mask] = idx;
  io_uring_sqe* sqe = &ring_.sq.sqes[idx << 1];  // SQE128
  nvme_uring_cmd* cmd = PrepUringCmd(sqe, path, idx);
  sqe_tag_[idx] = tag;
  if (fixed_buf_index >= 0 && uint32_t(fixed_buf_index) < buffers_.size()) {
    sqe->uring_cmd_flags = IORING_URING_CMD_FIXED;
    sqe->buf_index = uint16_t(fixed_buf_index);
  }
  return {cmd, 0};
}

int UringTransport::CheckThreadSlow(bool bind) {
  if (!bound_) {
    // A disabled ring takes registrations from any thread; only submitting and waiting bind it.
    if (!bind) return 0;
    const int r = EnableRing(&ring_);
    if (r < 0) {
      MPLOG_ERROR("io_uring: cannot enable the queue's ring for this thread: {}", strerror(-r));
      return r;
    }
    bound_ = true;
    owner_ = ThisThreadId();
    MPLOG_DEBUG("io_uring: ring enabled, bound to the thread that first used the queue");
    return 0;
  }
  // Bound to another thread.
  if (in_kernel_ == 0) {
    const int r = MoveToThisThread();
    if (r == 0) return 0;
    if (!refused_logged_) {
      refused_logged_ = true;
      MPLOG_WARN("io_uring: queue used from a new thread; cannot set up a ring for it ({}), so "
                 "it refuses this thread with -EEXIST", strerror(-r));
    }
    return -EEXIST;
  }
  if (!refused_logged_) {
    refused_logged_ = true;
    MPLOG_WARN("io_uring: queue used from another thread than its ring's (SINGLE_ISSUER|"
               "DEFER_TASKRUN) while the kernel holds {} of its commands, which only that "
               "thread can complete: refused with -EEXIST until that thread reaps them (move a "
               "queue only when its inflight() is 0)",
               in_kernel_);
  }
  return -EEXIST;
}

// Replaces the bound ring by a plain one that any thread may use (see the header). Called only
// when the kernel holds none of the old ring's commands.
int UringTransport::MoveToThisThread() {
  io_uring fresh{};
  io_uring_params p{};
  p.flags = kBaseFlags | (iopoll_ ? IORING_SETUP_IOPOLL : 0);
  p.cq_entries = entries_ * 2;
  int r = io_uring_queue_init_params(entries_, &fresh, &p);
  if (r < 0) return r;
  if (absl::Status st = RegisterResources(&fresh); !st.ok()) {
    MPLOG_WARN("io_uring: moving the queue to a new thread: {}", st);
    io_uring_queue_exit(&fresh);
    return -EIO;
  }
  // Install the files again, each only if its fd still names the file that was installed: the
  // control plane may have closed it since (the old ring held its own reference), and the
  // number may now name another file. A slot left empty is installed again by the queue when it
  // sees the path's new fd (the close came with a new fd generation).
  for (int i = 0; i < kMaxPaths; ++i) {
    if (!has_file_[i]) continue;
    struct stat st {};
    const FileId& f = files_[i];
    int fd = f.fd;
    if (fstat(fd, &st) != 0 || st.st_dev != f.dev || st.st_ino != f.ino) {
      MPLOG_INFO("io_uring: slot {}: fd {} no longer names the installed file; left empty", i, fd);
      has_file_[i] = false;
      continue;
    }
    r = io_uring_register_files_update(&fresh, unsigned(i), &fd, 1);
    if (r < 0) {
      MPLOG_WARN("io_uring: slot {}: cannot install fd {} again: {}", i, fd, strerror(-r));
      has_file_[i] = false;
    }
  }
  // Carry over the commands prepared and not taken by the kernel, in order. Without SQPOLL the
  // kernel reads SQEs only inside our own io_uring_enter calls, so they cannot change under us.
  // Each keeps its SQE index (and so its tag): the fresh ring's SQ array points at the same one.
  const unsigned head = io_uring_smp_load_acquire(ring_.sq.khead);
  for (unsigned i = head; i != ring_.sq.sqe_tail; ++i) {
    const uint32_t idx = ring_.sq.array[i & ring_.sq.ring_mask];
    io_uring_get_sqe(&fresh);  // same size: always one free
    fresh.sq.array[(fresh.sq.sqe_tail - 1) & fresh.sq.ring_mask] = idx;
    std::memcpy(&fresh.sq.sqes[idx << 1], &ring_.sq.sqes[idx << 1], 2 * sizeof(io_uring_sqe));
  }
  io_uring_queue_exit(&ring_);
  ring_ = fresh;
  single_issuer_ = false;
  defer_taskrun_ = false;
  bound_ = false;
  mode_ = iopoll_ ? "plain+iopoll (moved between threads)" : "plain (moved between threads)";
  MPLOG_INFO("io_uring: queue moved to another thread: its ring is now plain (no "
             "SINGLE_ISSUER/DEFER_TASKRUN), usable from any thread");
  return 0;
}

int UringTransport::Submit() {
  if (int r = CheckThread(true); r != 0) return r;
  for (;;) {
    // With DEFER_TASKRUN the same system call also posts the completions that are ready
    // (GETEVENTS, waiting for none), so that the Reap() after it finds them in the ring without
    // entering the kernel again, as it would on a plain ring (whose completions task work posts
    // as the task returns from any system call): 1.06 io_uring_enter per I/O at QD 32 without
    // this, 1.004 with it (bench/syscall_bench.sh).
    const int r = defer_taskrun_ ? io_uring_submit_and_get_events(&ring_) : io_uring_submit(&ring_);
    if (r == -EINTR) continue;
    // -EAGAIN/-EBUSY (no memory for requests, CQ overflow backlog) and the rest: the SQEs stay
    // in the ring and go with the next io_uring_submit(); the queue decides when to give up.
    if (r > 0) in_kernel_ += static_cast<uint32_t>(r);
    return r;
  }
}

// Moves the ring's completions into out[n..max); returns the new count.
int UringTransport::Drain(Completion* out, int max, int n) {
  io_uring_cqe* cqe;
  unsigned head, seen = 0;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    if (n == max) break;
    ++seen;
    const uint64_t idx = cqe->user_data;
    if (idx >= sqe_tag_.size()) [[unlikely]] {
      if (bad_user_data_++ == 0)
        MPLOG_ERROR("io_uring: completion with user_data {:#x} names no SQE of this queue "
                    "(ignored)", idx);
      continue;
    }
    out[n].tag = sqe_tag_[idx];
    out[n].res = cqe->res;
    out[n].result = cqe->big_cqe[0];
    free_sqes_[nfree_++] = uint32_t(idx);
    ++n;
  }
  if (seen) {
    io_uring_cq_advance(&ring_, seen);
    in_kernel_ -= seen < in_kernel_ ? seen : in_kernel_;
  }
  return n;
}

int UringTransport::Reap(Completion* out, int max, int min, int64_t wait_ns) {
  if (int r = CheckThread(true); r != 0) return r;
  int n = Drain(out, max, 0);
  if (iopoll_) return ReapPolled(out, max, min, wait_ns, n);
  if (n == 0 && defer_taskrun_ && (min == 0 || wait_ns == 0)) {
    // With DEFER_TASKRUN completions are posted only when we enter the kernel. When we may
    // wait, the wait's own io_uring_enter posts them first and returns at once if that is
    // enough: one system call, not two (bench/syscall_bench.sh counts them).
    io_uring_get_events(&ring_);
    n = Drain(out, max, n);
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
  return Drain(out, max, n);
}

namespace {
int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
}  // namespace

// A polled ring: one pass over the ring's commands per io_uring_enter (no minimum: the kernel
// would spin past our timeout), repeated until `min` completions or `wait_ns` passed (< 0: no
// limit, = 0: one pass). With nothing in the kernel no pass can bring anything: it sleeps
// instead of spinning (the whole wait, at most 1 ms when unbounded: the caller's loop decides).
int UringTransport::ReapPolled(Completion* out, int max, int min, int64_t wait_ns, int n) {
  if (min > 0 && n >= min) return n;  // what the caller asked for is there already
  const int64_t end = wait_ns > 0 ? MonotonicNs() + wait_ns : 0;
  for (;;) {
    if (in_kernel_ == 0) {
      if (n < min && wait_ns != 0) {
        const int64_t ns = wait_ns > 0 ? std::max<int64_t>(0, end - MonotonicNs()) : 1'000'000;
        const timespec ts{ns / 1'000'000'000, ns % 1'000'000'000};
        nanosleep(&ts, nullptr);
      }
      return n;
    }
    const int r = io_uring_get_events(&ring_);
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) return n ? n : r;
    n = Drain(out, max, n);
    if (n >= max || n >= min || wait_ns == 0) return n;
    if (wait_ns > 0 && MonotonicNs() >= end) return n;
  }
}

int UringTransport::DropUnsent(uint64_t* tags, int max) {
  if (sqpoll_) return 0;  // the SQ thread may be reading them right now
  // The SQEs from the kernel's head to our tail were never taken (io_uring_submit() publishes
  // the tail before it enters, so some may be published): the kernel reads them only inside our
  // own io_uring_enter calls, so rewriting them here is safe. Each becomes a NOP with the same
  // user_data: it completes (res 0) when the ring next submits, and reaches no device.
  const unsigned head = io_uring_smp_load_acquire(ring_.sq.khead);
  int n = 0;
  for (unsigned i = head; i != ring_.sq.sqe_tail && n < max; ++i) {
    const uint32_t idx = ring_.sq.array[i & ring_.sq.ring_mask];
    io_uring_sqe* sqe = &ring_.sq.sqes[idx << 1];  // SQE128
    if (sqe->opcode == IORING_OP_NOP) continue;  // dropped by an earlier call
    std::memset(sqe, 0, 2 * sizeof(io_uring_sqe));
    sqe->opcode = IORING_OP_NOP;
    sqe->fd = -1;
    sqe->user_data = idx;  // keeps its SQE, and so its tag, until reaped
    tags[n++] = sqe_tag_[idx];
  }
  return n;
}

absl::Status UringTransport::SetFile(int path, int fd) {
  if (path < 0 || path >= kMaxPaths) return absl::InvalidArgumentError("file slot out of range");
  if (int r = CheckThread(false); r != 0)
    return absl::ErrnoToStatus(-r, fmt::format("slot {}: the ring belongs to another thread", path));
  int r = io_uring_register_files_update(&ring_, unsigned(path), &fd, 1);
  if (r < 0) return absl::ErrnoToStatus(-r, fmt::format("io_uring_register_files_update slot {}", path));
  has_file_[path] = fd >= 0;
  FileId id;
  struct stat st {};
  if (fd >= 0 && fstat(fd, &st) == 0) id = FileId{fd, st.st_dev, st.st_ino};
  files_[path] = id;
  return absl::OkStatus();
}

}  // namespace nvme_mpath::internal
