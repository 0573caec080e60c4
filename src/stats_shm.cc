// File: stats_shm.cc
#include "stats_shm.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "log.h"

namespace nvme_mpath::internal {

static_assert(sizeof(PathCounters) % 8 == 0);
static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<uint8_t>::is_always_lock_free && sizeof(std::atomic<uint8_t>) == 1);
// The layouts (stats_shm.h): a version 2 header is a prefix of version 3's, and ShmPath kept its
// size when `disabled` was taken from `reserved`.
static_assert(sizeof(ShmPath) == 192);
static_assert(offsetof(ShmHeader, reserved_v2_tail) + sizeof(ShmHeader::reserved_v2_tail) ==
              kShmHeaderSizeV2);
static_assert(offsetof(ShmHeader, admin_want) == kShmHeaderSizeV2);
static_assert(ShmCountersOffsetFor(kShmHeaderSizeV2) == ShmCountersOffsetFor(sizeof(ShmHeader)),
              "the counters start where version 2 had them");

size_t ShmCountersOffset(uint32_t header_size) { return ShmCountersOffsetFor(header_size); }

size_t ShmSize(uint32_t max_queues, uint32_t header_size) {
  return ShmCountersOffset(header_size) + size_t{max_queues} * kMaxPaths * sizeof(PathCounters);
}

int ApplyAdminRequests(ShmHeader* h, int npaths, absl::FunctionRef<bool(int)> disabled,
                       absl::FunctionRef<void(int, bool)> apply) {
  int taken = 0;
  for (int i = 0; i < npaths && i < kMaxPaths; ++i) {
    uint8_t want = h->admin_want[i].load(std::memory_order_acquire);
    if (want == uint8_t(AdminWant::kNone)) continue;
    if (want == uint8_t(AdminWant::kEnable) || want == uint8_t(AdminWant::kDisable)) {
      const bool disable = want == uint8_t(AdminWant::kDisable);
      if (disabled(i) != disable) apply(i, disable);
    } else {
      MPLOG_WARN("stats segment: request {} for path {} is none of nvme-mpath-ctl's; ignored", want, i);
    }
    // A request stored since the load stays: it is taken on the next call.
    h->admin_want[i].compare_exchange_strong(want, uint8_t(AdminWant::kNone), std::memory_order_acq_rel);
    ++taken;
  }
  return taken;
}

std::unique_ptr<StatsRegion> StatsRegion::Create(bool publish) {
  std::unique_ptr<StatsRegion> r(new StatsRegion());
  r->size_ = ShmSize(kShmMaxQueues);
  if (publish) {
    static std::atomic<int> engine_id{0};
    std::string name = fmt::format("/{}{}.{}", kShmPrefix, getpid(), engine_id.fetch_add(1));
    int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) {  // left over by a dead process with our pid
      shm_unlink(name.c_str());
      fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    }
    if (fd >= 0 && ftruncate(fd, static_cast<off_t>(r->size_)) == 0) {
      void* p = mmap(nullptr, r->size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (p != MAP_FAILED) {
        r->base_ = p;
        r->name_ = name.substr(1);
      }
    }
    if (fd >= 0) close(fd);
    if (r->base_ == nullptr) {
      MPLOG_WARN("cannot publish stats in /dev/shm{}: {}; nvme-mpath-ctl stats will not see this engine",
               name, strerror(errno));
      if (fd >= 0) shm_unlink(name.c_str());
    }
  }
  if (r->base_ == nullptr) {
    void* p = mmap(nullptr, r->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    r->base_ = p;
  }
  // The mapping is zero-filled: placement-new the header and counters (all-zero atomics).
  r->header_ = new (r->base_) ShmHeader();
  std::memset(static_cast<void*>(r->header_), 0, sizeof(ShmHeader));
  std::memcpy(r->header_->magic, kShmMagic, sizeof(kShmMagic));
  r->header_->version = kShmVersion;
  r->header_->header_size = sizeof(ShmHeader);
  r->header_->max_queues = kShmMaxQueues;
  r->header_->max_paths = kMaxPaths;
  r->header_->pid = getpid();
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  r->header_->start_realtime_ns = uint64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  char* counters = static_cast<char*>(r->base_) + ShmCountersOffset(sizeof(ShmHeader));
  r->counters_ = new (counters) PathCounters[size_t{kShmMaxQueues} * kMaxPaths];
  return r;
}

StatsRegion::~StatsRegion() {
  if (base_ != nullptr) munmap(base_, size_);
  if (!name_.empty()) shm_unlink(("/" + name_).c_str());
}

PathCounters* StatsRegion::AcquireQueue(int* slot) {
  for (uint32_t i = 0; i < kShmMaxQueues; ++i) {
    uint32_t expected = 0;
    if (header_->queue_used[i].compare_exchange_strong(expected, 1)) {
      // A reused slot keeps its old counters: they still count towards the path totals.
      *slot = static_cast<int>(i);
      return counters(static_cast<int>(i));
    }
  }
  return nullptr;
}

void StatsRegion::ReleaseQueue(int slot) {
  // Counters of a closed queue keep counting in Sum(); only the slot is freed (value 2 = was
  // used, so readers still add it up).
  header_->queue_used[slot].store(2, std::memory_order_release);
}

namespace {
std::vector<PathStatsSnapshot> SumBlocks(const ShmHeader* h, const PathCounters* blocks, int npaths) {
  std::vector<PathStatsSnapshot> out(npaths);
  for (int p = 0; p < npaths; ++p) out[p].path = p;
  for (uint32_t q = 0; q < h->max_queues; ++q) {
    if (h->queue_used[q].load(std::memory_order_acquire) == 0) continue;
    for (int p = 0; p < npaths; ++p) out[p].Accumulate(blocks[size_t(q) * kMaxPaths + p]);
  }
  return out;
}
}  // namespace

std::vector<PathStatsSnapshot> StatsRegion::Sum(int npaths) const {
  return SumBlocks(header_, counters_, npaths);
}

std::vector<ShmSegmentInfo> ListStatsSegments(const std::string& dir) {
  std::vector<ShmSegmentInfo> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind(kShmPrefix, 0) != 0) continue;
    ShmSegmentInfo info;
    info.name = n;
    info.pid = atoi(n.c_str() + strlen(kShmPrefix));
    info.alive = info.pid > 0 && (kill(info.pid, 0) == 0 || errno == EPERM);
    out.push_back(info);
  }
  closedir(d);
  return out;
}

absl::StatusOr<std::unique_ptr<StatsReader>> StatsReader::Open(const std::string& path,
                                                               Access access) {
  const bool rw = access == Access::kReadWrite;
  int fd = open(path.c_str(), (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return absl::ErrnoToStatus(e, fmt::format("open {}{}", path, rw ? " read-write" : ""));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || size_t(st.st_size) < kShmHeaderSizeV2) {
    close(fd);
    return absl::DataLossError(fmt::format("{}: too small to be an nvme-mpath stats segment", path));
  }
  void* p = mmap(nullptr, size_t(st.st_size), rw ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED,
                 fd, 0);
  close(fd);
  if (p == MAP_FAILED) return absl::ErrnoToStatus(errno, fmt::format("mmap {}", path));
  std::unique_ptr<StatsReader> r(new StatsReader());
  r->base_ = p;
  r->size_ = size_t(st.st_size);
  r->writable_ = rw;
  r->header_ = static_cast<ShmHeader*>(p);
  const ShmHeader& h = *r->header_;
  if (memcmp(h.magic, kShmMagic, sizeof(kShmMagic)) != 0)
    return absl::DataLossError(fmt::format("{}: not an nvme-mpath stats segment (bad magic)", path));
  const bool v3 = h.version == kShmVersion && h.header_size == sizeof(ShmHeader);
  const bool v2 = h.version == kShmVersionV2 && h.header_size == kShmHeaderSizeV2;
  r->version_ = h.version;
  if (!v3 && !v2)
    return absl::FailedPreconditionError(fmt::format(
        "{}: stats segment version {} (header {} bytes); this tool reads versions {} and {}", path,
        h.version, h.header_size, kShmVersionV2, kShmVersion));
  if (h.max_queues > kShmMaxQueues || h.max_paths != kMaxPaths || h.npaths > kMaxPaths ||
      ShmSize(h.max_queues, h.header_size) > r->size_)
    return absl::DataLossError(fmt::format("{}: inconsistent stats segment geometry", path));
  r->counters_ = reinterpret_cast<const PathCounters*>(static_cast<const char*>(p) +
                                                      ShmCountersOffset(h.header_size));
  return r;
}

StatsReader::~StatsReader() {
  if (base_ != nullptr) munmap(base_, size_);
}

std::vector<ShmPath> StatsReader::Paths() const {
  std::vector<ShmPath> out;
  for (int tries = 0; tries < 1000; ++tries) {
    uint32_t s1 = header_->seq.load(std::memory_order_acquire);
    if (s1 & 1) continue;
    uint32_t n = header_->npaths;
    out.assign(header_->paths, header_->paths + (n > kMaxPaths ? kMaxPaths : n));
    std::atomic_thread_fence(std::memory_order_acquire);
    if (header_->seq.load(std::memory_order_relaxed) == s1) break;
  }
  for (ShmPath& p : out) {  // never trust another process's strings to be terminated
    if (!takes_requests()) p.disabled = 0;  // version 2: part of a reserved word
    p.ng_path[sizeof(p.ng_path) - 1] = 0;
    p.ctrl[sizeof(p.ctrl) - 1] = 0;
    p.address[sizeof(p.address) - 1] = 0;
  }
  return out;
}

std::vector<PathStatsSnapshot> StatsReader::Sum() const {
  uint32_t n = header_->npaths;
  return SumBlocks(header_, counters_, int(n > kMaxPaths ? kMaxPaths : n));
}

}  // namespace nvme_mpath::internal

namespace nvme_mpath::internal {

absl::Status StatsReader::RequestPathState(int path, bool disable) {
  if (!takes_requests())
    return absl::FailedPreconditionError(fmt::format(
        "the engine is too old to take path requests (its stats segment is version {}; they "
        "need version {}, nvme-mpath 0.3 or later)", version_, kShmVersion));
  if (!writable_)
    return absl::FailedPreconditionError("the stats segment was opened read-only");
  if (path < 0 || path >= int(std::min<uint32_t>(header_->npaths, kMaxPaths)))
    return absl::InvalidArgumentError(fmt::format("the engine has no path {}", path));
  header_->admin_want[path].store(uint8_t(disable ? AdminWant::kDisable : AdminWant::kEnable),
                                  std::memory_order_release);
  return absl::OkStatus();
}

void StatsReader::WithdrawRequest(int path, bool disable) {
  if (!takes_requests() || !writable_ || path < 0 || path >= kMaxPaths) return;
  uint8_t want = uint8_t(disable ? AdminWant::kDisable : AdminWant::kEnable);
  header_->admin_want[path].compare_exchange_strong(want, uint8_t(AdminWant::kNone),
                                                    std::memory_order_acq_rel);
}

AdminWant StatsReader::PendingRequest(int path) const {
  if (!takes_requests() || path < 0 || path >= kMaxPaths) return AdminWant::kNone;
  return AdminWant(header_->admin_want[path].load(std::memory_order_acquire));
}

}  // namespace nvme_mpath::internal
