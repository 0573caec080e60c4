// File: stats_shm.h
//
// The shared-memory segment through which a running engine publishes its paths and per-path
// counters to nvme-mpath-ctl in another process. One segment per Engine, created with mode 0600
// under /dev/shm as "nvme-mpath.<pid>.<engine-id>", removed when the engine closes.
//
// Layout (version 2; version 1 had no `mode`): ShmHeader, then max_queues x kMaxPaths PathCounters blocks, queue-major.
//
// Threading model: the engine's refresh workers write the header's path descriptors, one at a
// time (the engine's publish lock), inside a seqlock (`seq` odd while writing); each queue is the single writer of its own counter blocks;
// readers (other processes) map the segment read-only, retry descriptor reads while `seq` is odd
// or changed, and read counters with relaxed loads.
#ifndef NVME_MPATH_SRC_STATS_SHM_H_
#define NVME_MPATH_SRC_STATS_SHM_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

#include <nvme_mpath/stats.h>
#include <nvme_mpath/types.h>

#include "transport.h"

namespace nvme_mpath::internal {

inline constexpr char kShmMagic[8] = {'N', 'V', 'M', 'P', 'S', 'T', 'A', 'T'};
inline constexpr uint32_t kShmVersion = 2;
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
  uint32_t reserved;
};

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
};

// Returns the byte size of a segment with `max_queues` queues.
size_t ShmSize(uint32_t max_queues);

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
  // Maps `path` (a file under /dev/shm, or any file with the layout) read-only and checks magic,
  // version and size.
  static absl::StatusOr<std::unique_ptr<StatsReader>> Open(const std::string& path);
  ~StatsReader();
  const ShmHeader& header() const { return *header_; }
  // A consistent copy of the path descriptors (seqlock read).
  std::vector<ShmPath> Paths() const;
  std::vector<PathStatsSnapshot> Sum() const;

 private:
  StatsReader() = default;
  void* base_ = nullptr;
  size_t size_ = 0;
  const ShmHeader* header_ = nullptr;
  const PathCounters* counters_ = nullptr;
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_STATS_SHM_H_
