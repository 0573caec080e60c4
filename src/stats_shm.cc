// File: stats_shm.cc
#include "stats_shm.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "log.h"

namespace nvme_mpath::internal {

static_assert(sizeof(PathCounters) % 8 == 0);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

size_t ShmSize(uint32_t max_queues) {
  size_t header = (sizeof(ShmHeader) + 63) & ~size_t{63};
  return header + size_t{max_queues} * kMaxPaths * sizeof(PathCounters);
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
  char* counters = static_cast<char*>(r->base_) + ((sizeof(ShmHeader) + 63) & ~size_t{63});
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

absl::StatusOr<std::unique_ptr<StatsReader>> StatsReader::Open(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return absl::ErrnoToStatus(e, fmt::format("open {}", path));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || size_t(st.st_size) < sizeof(ShmHeader)) {
    close(fd);
    return absl::DataLossError(fmt::format("{}: too small to be an nvme-mpath stats segment", path));
  }
  void* p = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return absl::ErrnoToStatus(errno, fmt::format("mmap {}", path));
  std::unique_ptr<StatsReader> r(new StatsReader());
  r->base_ = p;
  r->size_ = size_t(st.st_size);
  r->header_ = static_cast<const ShmHeader*>(p);
  if (memcmp(r->header_->magic, kShmMagic, sizeof(kShmMagic)) != 0)
    return absl::DataLossError(fmt::format("{}: not an nvme-mpath stats segment (bad magic)", path));
  if (r->header_->version != kShmVersion || r->header_->header_size != sizeof(ShmHeader))
    return absl::FailedPreconditionError(fmt::format(
        "{}: stats segment version {} (header {} bytes); this tool reads version {}", path,
        r->header_->version, r->header_->header_size, kShmVersion));
  if (r->header_->max_queues > kShmMaxQueues || r->header_->max_paths != kMaxPaths ||
      r->header_->npaths > kMaxPaths || ShmSize(r->header_->max_queues) > r->size_)
    return absl::DataLossError(fmt::format("{}: inconsistent stats segment geometry", path));
  r->counters_ = reinterpret_cast<const PathCounters*>(static_cast<const char*>(p) +
                                                      ((sizeof(ShmHeader) + 63) & ~size_t{63}));
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
