// File: nvme_mpath/engine.h
//
// The C++ API. An Engine is one multipath namespace: every path (controller) to one NVMe
// namespace, opened through its generic char device /dev/ngXnY, with ANA state polled in the
// background. A Queue is the per-thread I/O context: it owns one io_uring and submits raw NVMe
// commands down the path the policy picks, fails over, requeues and retries on its own.
//
// Threading model
//   * Engine: control plane. Open/CreateQueue/SetPolicy/SetPathEnabled/Paths/Stats may be
//     called from any thread. The engine runs one background thread that waits for the poll interval, path
//     errors and uevents, and one refresh worker per path that reads ANA logs and controller
//     states, reopens deleted controllers and publishes what it sees to all queues through
//     atomics (a controller that hangs delays only its own path's worker).
//   * Queue: single-threaded. Every Queue method must be called from one thread at a time (the
//     thread that uses it; it may move between threads with external synchronisation).
//     Completion callbacks run inside Poll() on that thread. Create one Queue per I/O thread.
//     With defer_taskrun (the default) the queue's ring belongs to the first thread that enters
//     the kernel with it (Poll, a Flush with commands to send, the synchronous helpers), not to
//     the one that created it. Moving it to another thread works when it
//     has no I/O in flight (inflight() == 0): the queue then switches to a ring any thread may
//     use, for good, and event_fd() changes. Moving it with I/O in flight cannot work, because
//     the kernel completes those commands only on the old thread: on the new thread Flush() and
//     Poll() return -EEXIST (with one warning) until the old thread has polled them to
//     completion. So drain a queue (inflight() == 0) before handing it over. With
//     defer_taskrun = false (a COOP_TASKRUN ring) such a move is accepted, but the kernel
//     posts each completion only when the thread that submitted the command next runs, so a
//     sleeping old thread delays it (at most until the I/O deadline, io_timeout_ms).
//   * A Queue must be destroyed before its Engine. Destroying a Queue fails its parked and held
//     I/O with -ESHUTDOWN and waits for the commands still in the kernel, completing their I/Os
//     (-ESHUTDOWN unless they succeeded). It waits at most 60 s, twice the kernel's default
//     command timeout; I/O still in the kernel then gets no callback, and the kernel may still
//     use its buffers until it completes it.
#ifndef NVME_MPATH_ENGINE_H_
#define NVME_MPATH_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include <nvme_mpath/io.h>
#include <nvme_mpath/stats.h>
#include <nvme_mpath/types.h>

namespace nvme_mpath {

// Engine options. Defaults follow the Linux kernel and multipath-tools where they have one.
struct EngineOptions {
  // Which namespace. Either one or more /dev/ngXnY paths (one path: the engine discovers the
  // others through sysfs; several: exactly those, each checked with Identify), or a subsystem
  // NQN plus NSID.
  std::vector<std::string> paths;
  std::string subsysnqn;
  uint32_t nsid = 0;
  // Use only the paths given in `paths`, do not discover the namespace's other paths.
  bool explicit_paths_only = false;

  IoPolicy policy = IoPolicy::kNuma;
  uint32_t rr_min_io = 1;          // round-robin: I/Os on a path before moving on
  std::string preferred_path;      // active-passive: /dev/ngXnY or controller name; "" = first

  uint32_t ana_poll_interval_ms = 1000;  // ANA log and controller state poll; 0 = never poll
  uint32_t no_path_timeout_ms = 30000;   // how long I/O waits parked for a path; 0 = fail at once
  uint32_t cmd_timeout_ms = 0;           // nvme_uring_cmd.timeout_ms per command; 0 = kernel's
  // Deadline of one I/O across every retry, wherever it is (parked, held, in the kernel); 0 =
  // none. An I/O still in the kernel then completes with -ETIMEDOUT although the kernel cannot
  // be made to drop it: see io.h (`res`) for what that means for its buffer.
  uint32_t io_timeout_ms = 120000;
  uint32_t max_retries = 5;              // same-path retries per command (kernel: nvme_max_retries)
  int32_t write_hold_ms = -1;            // write hold; -1 = (TBKAS ? 3 : 2) x KATO + CQT (per path)
  bool write_hold_release_on_reset = false;  // end the hold once the controller was reset
  uint32_t failback_delay_ms = 0;        // optimized path back in use after this long usable
  uint32_t marginal_errors = 3;          // path error incidents within marginal_window_ms mark
                                         // it marginal (commands failing together, e.g. in a
                                         // reset, are one; ANA errors never count)
  uint32_t marginal_window_ms = 10000;
  bool publish_stats = true;             // shared-memory counters for nvme-mpath-ctl
  std::string name;                      // shown by nvme-mpath-ctl; default: program name
};

// Most paths one Engine uses (a namespace with more is opened on the first ones, with a warning).
inline constexpr uint32_t kMaxEnginePaths = 16;
// Most buffers a queue registers (io_uring's IORING_MAX_REG_BUFFERS).
inline constexpr uint32_t kMaxFixedBuffers = 16384;

// Per-queue options.
struct QueueOptions {
  uint32_t depth = 128;         // commands in flight or parked on this queue (back-pressure)
  bool sqpoll = false;          // IORING_SETUP_SQPOLL
  uint32_t sqpoll_idle_ms = 1000;
  // IORING_SETUP_SQ_AFF (fio's sqthread_poll_cpu): the SQPOLL thread runs on this CPU only; -1:
  // wherever the scheduler puts it. Only with sqpoll; a CPU below the configured count
  // (get_nprocs_conf()). The kernel also refuses an offline CPU or one outside the caller's
  // cpuset: CreateQueue then says so (InvalidArgument).
  int32_t sqpoll_cpu = -1;
  bool fixed_buffers = false;   // register `buffers` and use IORING_URING_CMD_FIXED
  std::vector<std::pair<void*, size_t>> buffers;
  // SINGLE_ISSUER|DEFER_TASKRUN (else COOP_TASKRUN) when available: the fastest ring, owned by
  // the first thread that uses the queue (see the threading model above).
  bool defer_taskrun = true;
  // IORING_SETUP_IOPOLL (fio's hipri): completions are polled, not interrupt-driven; Poll()
  // spins in the kernel's poll loop instead of sleeping, and event_fd() is -1 (a polled queue
  // cannot be waited on). CreateQueue refuses it unless every path's controller has poll queues
  // (nvme connect --nr-poll-queues=N), and where polled passthrough is known to crash the
  // kernel (the 6.1 series; NVMe/TCP paths on any kernel) unless `iopoll_force`
  // (docs/operations.md, "Polled I/O").
  bool iopoll = false;
  bool iopoll_force = false;
};

// Checks options before anything is opened or allocated. Each bad value gets one
// InvalidArgument naming the field and the accepted range; Engine::Open and CreateQueue call
// these first, so a caller only needs them to check a configuration early. Limits and their
// reasons: docs/bad-inputs.md.
absl::Status ValidateEngineOptions(const EngineOptions& options);
absl::Status ValidateQueueOptions(const QueueOptions& options);

// What the engine knows of one path, for display.
struct PathInfo {
  int index = 0;
  std::string ng_path;   // /dev/ngXnY
  std::string ctrl;      // nvmeX
  PathKey key;
  int numa_node = -1;
  std::string ctrl_state;  // sysfs state: new, live, connecting, resetting, deleting, dead, gone
  AnaState ana_state = AnaState::kUnknown;
  uint32_t ana_grpid = 0;
  PathHealth health = PathHealth::kLive;
  bool marginal = false;
  bool usable = false;
  uint32_t max_transfer_bytes = 0;
  uint32_t anatt_s = 0;
  uint32_t kato_ms = 0;
  // In ANA change on a live controller: parked I/O waits for this path up to io_timeout_ms
  // rather than no_path_timeout_ms (docs/architecture.md, "Requeue").
  bool may_come_back = false;
  bool anatt_exceeded = false;        // in ANA change for longer than anatt_s now
  uint64_t anatt_exceeded_count = 0;  // how often an ANA change outlasted anatt_s
  // Disabled by the operator (Engine::SetPathEnabled, nvme-mpath-ctl path disable): no new I/O
  // while another path is usable. `usable` says whether it could carry I/O at all.
  bool disabled = false;
};

// The namespace, as Identify Namespace reports it (identical on every path).
struct NamespaceInfo {
  std::string subsysnqn;
  uint32_t nsid = 0;
  uint64_t nsze = 0;          // size in logical blocks
  uint32_t lba_size = 0;      // bytes
  uint32_t metadata_size = 0; // bytes per LBA in a separate buffer (0 if none / extended)
  // Extended-LBA format (metadata interleaved with the data): the metadata bytes that follow
  // each LBA's data in Io::buf, which then holds nlb * (lba_size + extended_metadata_size)
  // bytes; 0 if none / separate.
  uint32_t extended_metadata_size = 0;
  // End-to-end protection: the PI type (0 none, 1-3) and whether the PI is the first bytes of
  // each LBA's metadata (else the last), from Identify Namespace DPS. With PI, Io::cdw12_flags
  // PRINFO, Io::reftag/apptag/apptag_mask say what the controller generates and checks.
  uint8_t pi_type = 0;
  bool pi_first = false;
  // The controllers support Flexible Data Placement (CTRATT bit 19): a write may carry a
  // placement handle (Io::cdw12_flags DTYPE 2, Io::cdw13 DSPEC), kept across resends.
  bool fdp = false;
  std::string nguid;          // hex, "" when zero
  std::string uuid;           // "" when absent
  uint32_t max_transfer_bytes = 0;  // the strictest limit over all paths: larger I/O is split
  uint32_t noiob_lbas = 0;          // optimal I/O boundary (0: none): I/O is split at it
  // Bytes a size-aligned power-of-two write lands atomically across a power failure, the
  // smallest over all paths (Identify AWUPF, or NAWUPF when NSFEAT bit 1; at least one LBA).
  uint64_t atomic_write_bytes = 0;
  // Head mode: opened through the kernel's multipath head (nvme_core.multipath=Y). The kernel
  // picks the controller of each command (its iopolicy applies); the engine has one path, the
  // head, and recovers what the kernel hands back (docs/operations.md, "Head mode").
  bool head_mode = false;
};

class Queue;

class Engine {
 public:
  // Opens the namespace: discovers and validates its paths, reads ANA, starts the poller.
  static absl::StatusOr<std::unique_ptr<Engine>> Open(const EngineOptions& options);
  virtual ~Engine() = default;

  virtual const NamespaceInfo& info() const = 0;
  virtual const EngineOptions& options() const = 0;
  virtual absl::StatusOr<std::unique_ptr<Queue>> CreateQueue(const QueueOptions& options) = 0;
  virtual std::vector<PathInfo> Paths() const = 0;
  // Returns counters summed over all queues, per path: as each queue last published them, when
  // its Poll() or Flush() last returned (up to one batch late; nvme_mpath/stats.h).
  virtual std::vector<PathStatsSnapshot> Stats() const = 0;
  // Switches the I/O policy at run time; queues pick it up on their next submit.
  virtual absl::Status SetPolicy(IoPolicy policy, std::string_view preferred_path = "") = 0;
  // Path maintenance: disables `path` (no new I/O goes down it while another path is usable;
  // commands in flight on it complete as usual; a Flush still reaches it while it holds writes
  // no flush covers) or enables it again. `path`: /dev/ngXnY, ngXnY or the controller name
  // nvmeX. A disabled path is the last resort: when no other path is usable, I/O still goes
  // down it rather than failing. The state survives reconnects, resets and ANA changes, not
  // the engine (a new Engine starts with every path enabled). InvalidArgument: not a path of
  // this namespace; FailedPrecondition: head mode (the kernel's multipath head picks the
  // controller of each command). nvme-mpath-ctl's `path disable|enable` ends up here, through
  // the engine's control thread. docs/operations.md, "Path maintenance".
  virtual absl::Status SetPathEnabled(std::string_view path, bool enabled) = 0;
  // Re-reads ANA logs and controller states now (normally done by the poller), every path in
  // parallel, and waits for them. kUnavailable when a controller has not answered within the
  // admin timeout (10 s); its path is refreshed when it answers.
  virtual absl::Status Refresh() = 0;
  // Returns the shared-memory stats segment name ("" when not published).
  virtual std::string stats_segment() const = 0;
};

class Queue {
 public:
  virtual ~Queue() = default;

  // Queues `io`. Returns 0 when accepted: its `done` runs exactly once, from Poll(). Otherwise
  // returns -errno and nothing was submitted: -EINVAL bad request (alignment, length, op, no
  // callback), -ERANGE LBAs out of range, -EALREADY `io` is in flight (accepted and its `done`
  // not run yet: the one in flight goes on untouched), -EAGAIN queue full (complete some I/O
  // first), -ESHUTDOWN queue closed.
  virtual int Submit(Io* io) = 0;
  // Submit() of ios[0], ios[1], ... in order, stopping at the first one the queue cannot take
  // (as io_submit(2) does). Returns how many it took (their `done` runs exactly once each, from
  // Poll()); when it took none, the error Submit(ios[0]) would have returned (0 when n is 0).
  // The I/Os from the first one not taken on are untouched: Submit() of that one says why.
  // Cheaper per I/O than one Submit() each: the queue's own checks are made once per call.
  virtual int SubmitBatch(Io* const* ios, uint32_t n);
  // Sends prepared commands to the kernel. Returns how many it took, possibly fewer than were
  // prepared, possibly 0 when it is short of resources (io_uring -EAGAIN/-EBUSY/-ENOMEM): the
  // rest stay queued and every Flush() and Poll() sends them again; if the kernel takes none
  // for 1 s they complete with that errno. Or returns -EEXIST: this thread cannot use the
  // queue's ring (see the threading model).
  virtual int Flush() = 0;
  // Flushes, reaps completions, runs timers (retries, holds, no-path and I/O deadlines) and
  // callbacks. Waits up to `timeout_us` (0: do not wait, -1: forever) until at least
  // `min_complete` I/Os have completed; the wait ends early for a timer, for the next I/O
  // deadline (io_timeout_ms) even if the kernel stays silent, and after 1 ms while commands
  // wait to be sent. Returns the number of I/Os completed, or -EEXIST when this thread cannot
  // use the queue's ring (see the threading model).
  virtual int Poll(uint32_t min_complete, int64_t timeout_us) = 0;
  // I/Os submitted and not yet completed.
  virtual uint32_t inflight() const = 0;
  // An fd that becomes readable when Poll() has work (the ring fd), for event loops.
  virtual int event_fd() const = 0;

  // Synchronous helpers (submit, then poll until done). Return 0 or -errno; `status` gets the
  // NVMe status of an NVMe error when non-null. -EEXIST: this thread cannot use the queue's
  // ring, and nothing was submitted.
  int Read(uint64_t slba, uint32_t nlb, void* buf, NvmeStatus* status = nullptr);
  int Write(uint64_t slba, uint32_t nlb, const void* buf, NvmeStatus* status = nullptr);
  int FlushCache(NvmeStatus* status = nullptr);
  int Execute(Io* io);  // any Io, synchronously; returns io->res
};

}  // namespace nvme_mpath

#endif  // NVME_MPATH_ENGINE_H_
