// File: stats_shm.h
//
// The shared-memory segment through which a running engine publishes its paths and per-path
// counters to nvme-mpath-ctl in another process, and through which nvme-mpath-ctl asks it to
// disable or enable a path (`nvme-mpath-ctl path disable|enable`). One segment per Engine,
// created with mode 0600 under /dev/shm as "nvme-mpath.<pid>.<engine-id>", removed when the
// engine closes.
//
// Layout (version 3): ShmHeader, then, from header_size rounded up to 64 bytes
// (ShmCountersOffset()), max_queues x kMaxPaths PathCounters blocks, queue-major.
//   * Version 1 had no `mode`.
//   * Version 2 ended after `paths` (its header_size, kShmHeaderSizeV2, includes 4 bytes of tail
//     padding), and ShmPath's `disabled` byte was part of a zero `reserved` word.
//   * Version 3 appends `admin_want` after those 4 bytes, so a version 2 header is a prefix of
//     it, and takes `disabled` out of `reserved` (ShmPath keeps its size). The counters start at
//     the same offset in both.
// StatsReader reads versions 2 and 3 (a v2 engine's paths show as enabled, and it cannot take
// requests); anything else is refused, naming the versions it reads.
//
// Threading model:
//   * The engine's refresh workers (and SetPolicy/SetPathEnabled) write the header's path
//     descriptors, one at a time (the engine's publish lock), inside a seqlock (`seq` odd while
//     writing); readers (other processes) retry descriptor reads while `seq` is odd or changed.
//   * Each queue is the single writer of its own counter blocks; readers use relaxed loads. The
//     per-I/O counters are stored once per batch (queue_counters.h): up to one batch late.
//   * `admin_want` is the one part another process writes: nvme-mpath-ctl, which maps the
//     segment read-write for `path` only, stores a request (AdminWant) for one path; the
//     engine's control thread takes it (ApplyAdminRequests(): applies it, then compare-exchanges
//     it back to kNone, so a newer request stored meanwhile stays for its next pass) and
//     republishes the descriptors, whose `disabled` the ctl then waits for. Requests for one path
//     from two ctl processes at once: the last store wins, and each ctl waits for its own state
//     (one of them then times out, saying so). Nothing else in the segment is trusted from, or
//     written by, another process.
#ifndef NVME_MPATH_SRC_STATS_SHM_H_
#define NVME_MPATH_SRC_STATS_SHM_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"

#include <nvme_mpath/stats.h>
#include <nvme_mpath/types.h>

#include "transport.h"

namespace nvme_mpath::internal {

inline constexpr char kShmMagic[8] = {'N', 'V', 'M', 'P', 'S', 'T', 'A', 'T'};
inline constexpr uint32_t kShmVersion = 3;
// The oldest layout StatsReader reads, and the header_size it had.
inline constexpr uint32_t kShmVersionV2 = 2;
inline constexpr uint32_t kShmHeaderSizeV2 = 3744;
inline constexpr uint32_t kShmMaxQueues = 64;
inline constexpr char kShmPrefix[] = "nvme-mpath.";

struct ShmPath {
  char ng_path[32];
  char ctrl[16];
  char address[128];
  uint8_t ana;       // AnaState
  uint8_t health;    // PathHealth
  uint8_t marginal;
  uint8_t usable;
  int32_t numa_node;
  uint32_t ana_grpid;
  uint8_t disabled;  // version 3: disabled by the operator (version 2: 0, part of `reserved`)
  uint8_t reserved[3];
};

// A request of nvme-mpath-ctl in ShmHeader::admin_want, per path.
enum class AdminWant : uint8_t { kNone = 0, kEnable = 1, kDisable = 2 };

struct ShmHeader {
  char magic[8];
  uint32_t version;
  uint32_t header_size;
  uint32_t max_queues;
  uint32_t max_paths;
  uint32_t npaths;
  int32_t pid;
  uint64_t start_realtime_ns;
  char name[64];
  char subsysnqn[256];
  uint32_t nsid;
  uint32_t lba_size;
  uint64_t nsze;
  char policy[16];                     // the engine's I/O policy; "kernel" in head mode
  char mode[16];                       // "per-path" or "head" (the kernel's multipath head); set once at open
  std::atomic<uint32_t> seq;           // seqlock over paths[] and policy
  std::atomic<uint32_t> queue_used[kShmMaxQueues];
  ShmPath paths[kMaxPaths];
  uint8_t reserved_v2_tail[4];  // version 2's tail padding: its header ended here
  // ---- version 3 ----
  // Written by nvme-mpath-ctl (an AdminWant per path), taken by the engine's control thread.
  std::atomic<uint8_t> admin_want[kMaxPaths];
};

// Returns where the counter blocks start after a header of `header_size` bytes.
constexpr size_t ShmCountersOffsetFor(size_t header_size) { return (header_size + 63) & ~size_t{63}; }
size_t ShmCountersOffset(uint32_t header_size);
// Returns the byte size of a segment with `max_queues` queues and a header of `header_size`.
size_t ShmSize(uint32_t max_queues, uint32_t header_size = sizeof(ShmHeader));

// The engine's side of nvme-mpath-ctl's requests, called by its control thread each time it
// wakes: for each of the first `npaths` paths with a request in `h->admin_want`, calls
// apply(path, disable) when the wanted state differs from disabled(path), then clears the
// request back to kNone unless a newer one replaced it meanwhile (compare-exchange: that one is
// taken on the next call). A value that is no AdminWant is cleared and ignored. Returns the
// number of requests taken (applied or not), so that the caller republishes when it is not 0.
int ApplyAdminRequests(ShmHeader* h, int npaths, absl::FunctionRef<bool(int)> disabled,
                       absl::FunctionRef<void(int, bool)> apply);

// The writer side, owned by an Engine.
class StatsRegion {
 public:
  // Creates and maps the segment; on failure (no /dev/shm, EMFILE...) falls back to private
  // memory and `name()` is "".
  static std::unique_ptr<StatsRegion> Create(bool publish);
  ~StatsRegion();

  ShmHeader* header() { return header_; }
  const std::string& name() const { return name_; }
  // Takes a free queue slot; returns its counter blocks (kMaxPaths of them) or null when all
  // slots are taken.
  PathCounters* AcquireQueue(int* slot);
  void ReleaseQueue(int slot);
  PathCounters* counters(int slot) { return counters_ + size_t(slot) * kMaxPaths; }
  // Returns the per-path sums over every queue slot in use (or ever used).
  std::vector<PathStatsSnapshot> Sum(int npaths) const;
  // Seqlock writer bracket for header_->paths / policy.
  void BeginUpdate() { header_->seq.fetch_add(1, std::memory_order_acq_rel); }
  void EndUpdate() { header_->seq.fetch_add(1, std::memory_order_release); }

 private:
  StatsRegion() = default;
  std::string name_;
  void* base_ = nullptr;
  size_t size_ = 0;
  ShmHeader* header_ = nullptr;
  PathCounters* counters_ = nullptr;
};

// The reader side (nvme-mpath-ctl): a mapped segment of another process.
struct ShmSegmentInfo {
  std::string name;  // without the /dev/shm/ prefix
  int pid = 0;
  bool alive = false;
};
// Lists the segments in `dir` (default /dev/shm).
std::vector<ShmSegmentInfo> ListStatsSegments(const std::string& dir = "/dev/shm");

class StatsReader {
 public:
  enum class Access { kReadOnly, kReadWrite };
  // Maps `path` (a file under /dev/shm, or any file with the layout) and checks magic, version
  // and size. kReadWrite (open O_RDWR, for RequestPathState only) fails with PermissionDenied
  // where the user may not write the segment.
  static absl::StatusOr<std::unique_ptr<StatsReader>> Open(const std::string& path,
                                                           Access access = Access::kReadOnly);
  ~StatsReader();
  // The header: only its version 2 prefix when version() is 2 (no admin_want).
  const ShmHeader& header() const { return *header_; }
  uint32_t version() const { return version_; }
  // Whether the engine takes path requests (version 3).
  bool takes_requests() const { return version_ >= 3; }
  // A consistent copy of the path descriptors (seqlock read); `disabled` is 0 in version 2.
  std::vector<ShmPath> Paths() const;
  std::vector<PathStatsSnapshot> Sum() const;
  // Asks the engine to disable or enable path `path` (admin_want). FailedPrecondition when the
  // engine is too old to take requests (version 2) or the segment was opened read-only;
  // InvalidArgument for a path the engine does not have.
  absl::Status RequestPathState(int path, bool disable);
  // The request still waiting for the engine on `path` (kNone once it was taken).
  AdminWant PendingRequest(int path) const;
  // Withdraws the request RequestPathState(path, disable) wrote, unless the engine took it (or
  // another request replaced it) already: a compare-exchange.
  void WithdrawRequest(int path, bool disable);

 private:
  StatsReader() = default;
  void* base_ = nullptr;
  size_t size_ = 0;
  bool writable_ = false;
  uint32_t version_ = 0;  // as checked at Open (the header is another process's memory)
  ShmHeader* header_ = nullptr;
  const PathCounters* counters_ = nullptr;
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_STATS_SHM_H_
