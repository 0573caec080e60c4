// File: sqlite/nvme_backend.cc
//
// NvmeBackend: a region on an NVMe namespace through nvme-mpath's C API (backend.h). One engine
// (every path of the namespace) and one queue. A batch of writes is submitted as asynchronous
// I/Os together (nvme_mpath_submit, then nvme_mpath_poll until all completed; the engine splits
// each one at the paths' transfer limit into commands in flight together); reads and flushes use
// the synchronous helpers. A path fault costs latency here, not an error: the engine fails over,
// parks and re-drives; an I/O fails only after the no-path or I/O timeout (-ENOLINK,
// -ETIMEDOUT), or with a real NVMe error.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "backend.h"
#include "nvme_mpath/nvme_mpath.h"

namespace nvme_mpath::sqlite {
namespace {

struct FreeDeleter {
  void operator()(void* p) const { free(p); }
};

class NvmeBackend final : public Backend {
 public:
  NvmeBackend(std::string name, nvme_mpath_engine* e, nvme_mpath_queue* q, const struct nvme_mpath_ns_info& ns,
              std::string lock_dir)
      : name_(std::move(name)), e_(e), q_(q), ns_(ns), lock_dir_(std::move(lock_dir)) {
    const int64_t a = nvme_mpath_atomic_write_bytes(e);
    atomic_ = a > 0 ? uint64_t(a) : 0;
  }
  ~NvmeBackend() override {
    nvme_mpath_queue_destroy(q_);
    nvme_mpath_close(e_);
    if (lock_fd_ >= 0) close(lock_fd_);
  }

  uint32_t lba_size() const override { return ns_.lba_size; }
  uint64_t lbas() const override { return ns_.nsze; }
  uint64_t atomic_write_bytes() const override { return atomic_; }
  nvme_mpath_engine* engine() const override { return e_; }
  const std::string& name() const override { return name_; }

  int Read(uint64_t lba, uint32_t nlb, void* buf) override {
    if (Aligned(buf)) return nvme_mpath_read(q_, lba, nlb, buf, nullptr);
    void* b = Bounce(size_t(nlb) * ns_.lba_size);
    if (b == nullptr) return -ENOMEM;
    int r = nvme_mpath_read(q_, lba, nlb, b, nullptr);
    if (r == 0) memcpy(buf, b, size_t(nlb) * ns_.lba_size);
    return r;
  }

  int Write(absl::Span<const WriteSeg> segs) override {
    // A misaligned buffer (the engine wants 4-byte alignment) goes through the bounce buffer,
    // one segment at a time; in practice SQLite's page buffers are aligned and the region's own
    // staging buffers are.
    for (const WriteSeg& s : segs)
      if (!Aligned(s.buf)) return WriteEach(segs);
    ios_.resize(segs.size());
    size_t next = 0, done = 0;
    int first_error = 0;
    while (done < segs.size()) {
      bool full = false;
      while (next < segs.size()) {
        nvme_mpath_io* io = &ios_[next];
        nvme_mpath_io_init(io);
        io->op = NVME_MPATH_OP_WRITE;
        io->slba = segs[next].lba;
        io->nlb = segs[next].nlb;
        io->buf = const_cast<void*>(segs[next].buf);
        io->ctx = this;
        io->cb = [](nvme_mpath_io* c) {
          auto* self = static_cast<NvmeBackend*>(c->ctx);
          ++self->completed_;
          if (c->res != 0 && self->batch_error_ == 0) self->batch_error_ = c->res;
        };
        int r = nvme_mpath_submit(q_, io);
        if (r == -EAGAIN) {  // queue full: reap first
          full = true;
          break;
        }
        if (r != 0) {
          if (first_error == 0) first_error = r;
          ++done;  // never submitted
        }
        ++next;
      }
      if (nvme_mpath_queue_inflight(q_) == 0) {
        if (full) return Drain(-EAGAIN);
        continue;
      }
      if (int r = nvme_mpath_flush(q_); r < 0) return Drain(r);
      completed_ = 0;
      if (int r = nvme_mpath_poll(q_, 1, -1); r < 0) return Drain(r);
      done += completed_;
      if (batch_error_ != 0 && first_error == 0) first_error = batch_error_;
    }
    batch_error_ = 0;
    return first_error;
  }

  int Flush() override { return nvme_mpath_flush_cache(q_, nullptr); }

  absl::Status LockExclusive(uint64_t lba_offset) override {
    absl::StatusOr<int> fd = TakeLockFile(
        lock_dir_, LockFileName(ns_.subsysnqn, ns_.nsid, lba_offset),
        fmt::format("{} (nsid {} of {}, LBA offset {})", name_, ns_.nsid, ns_.subsysnqn, lba_offset));
    if (!fd.ok()) return fd.status();
    lock_fd_ = *fd;
    return absl::OkStatus();
  }

 private:
  static bool Aligned(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 3) == 0; }
  void* Bounce(size_t n) {
    if (n > bounce_size_) {
      bounce_.reset(static_cast<uint8_t*>(aligned_alloc(4096, (n + 4095) / 4096 * 4096)));
      bounce_size_ = bounce_ ? n : 0;
    }
    return bounce_.get();
  }
  int WriteEach(absl::Span<const WriteSeg> segs) {
    for (const WriteSeg& s : segs) {
      const size_t n = size_t(s.nlb) * ns_.lba_size;
      void* b = Bounce(n);
      if (b == nullptr) return -ENOMEM;
      memcpy(b, s.buf, n);
      if (int r = nvme_mpath_write(q_, s.lba, s.nlb, b, nullptr); r != 0) return r;
    }
    return 0;
  }
  // The ring refused this thread or failed: wait out what is in flight (the queue must be
  // idle before the next call, and the ios_ buffers are ours) and report `r`.
  int Drain(int r) {
    while (nvme_mpath_queue_inflight(q_) > 0 && nvme_mpath_poll(q_, 1, -1) >= 0) {
    }
    batch_error_ = 0;
    return r;
  }

  const std::string name_;
  nvme_mpath_engine* const e_;
  nvme_mpath_queue* const q_;
  const struct nvme_mpath_ns_info ns_;
  const std::string lock_dir_;
  uint64_t atomic_ = 0;
  int lock_fd_ = -1;
  std::vector<nvme_mpath_io> ios_;
  size_t completed_ = 0;
  int batch_error_ = 0;
  std::unique_ptr<uint8_t, FreeDeleter> bounce_;
  size_t bounce_size_ = 0;
};

}  // namespace

absl::StatusOr<int> TakeLockFile(const std::string& dir, const std::string& file, const std::string& what) {
  const std::string path = dir + "/" + file;
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 && errno == ENOENT && mkdir(dir.c_str(), 01777) == 0) {
    chmod(dir.c_str(), 01777);  // past the umask, as /run/lock is
    fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  }
  if (fd < 0)
    return absl::ErrnoToStatus(errno, fmt::format("lock file {} (the lock directory is the option lock_dir)", path));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    close(fd);
    if (e == EWOULDBLOCK)
      return absl::UnavailableError(fmt::format("{} is in use by another process (flock {})", what, path));
    return absl::ErrnoToStatus(e, fmt::format("flock {}", path));
  }
  return fd;
}

std::string LockFileName(const std::string& subsysnqn, uint32_t nsid, uint64_t lba_offset) {
  std::string n;
  for (char c : subsysnqn)
    n += (isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '_' || c == '-') ? c : '_';
  return fmt::format("nvme-mpath-sqlite.{}.{}.{}.lock", n, nsid, lba_offset);
}

absl::StatusOr<std::unique_ptr<Backend>> OpenNvmeBackend(const std::string& dev_or_paths,
                                                         const NvmeBackendOptions& bo) {
  std::vector<std::string> paths;
  for (size_t start = 0; start <= dev_or_paths.size();) {
    size_t comma = dev_or_paths.find(',', start);
    if (comma == std::string::npos) comma = dev_or_paths.size();
    if (comma > start) paths.push_back(dev_or_paths.substr(start, comma - start));
    start = comma + 1;
  }
  if (paths.empty()) return absl::InvalidArgumentError("no device given");
  std::vector<const char*> cpaths;
  for (const std::string& p : paths) cpaths.push_back(p.c_str());
  nvme_mpath_options o;
  if (bo.engine != nullptr) {
    o = *bo.engine;
  } else {
    nvme_mpath_options_init(&o);
  }
  o.paths = cpaths.data();
  o.npaths = uint32_t(cpaths.size());
  o.explicit_paths_only = cpaths.size() > 1 ? 1 : o.explicit_paths_only;
  if (o.name == nullptr) o.name = "sqlite";
  nvme_mpath_engine* e = nullptr;
  char err[512] = "";
  if (int r = nvme_mpath_open(&o, &e, err, sizeof(err)); r < 0)
    return absl::ErrnoToStatus(-r, err[0] ? err : "nvme_mpath_open");
  struct nvme_mpath_ns_info ns;
  if (int r = nvme_mpath_ns_info(e, &ns); r < 0) {
    nvme_mpath_close(e);
    return absl::ErrnoToStatus(-r, "nvme_mpath_ns_info");
  }
  if (ns.metadata_size != 0 || ns.lba_size < 512) {
    nvme_mpath_close(e);
    return absl::FailedPreconditionError(fmt::format(
        "{}: LBA format {}+{} has metadata; the SQLite VFS needs a format without metadata",
        dev_or_paths, ns.lba_size, ns.metadata_size));
  }
  nvme_mpath_queue_options qo;
  nvme_mpath_queue_options_init(&qo);
  qo.depth = bo.queue_depth;
  nvme_mpath_queue* q = nullptr;
  if (int r = nvme_mpath_queue_create(e, &qo, &q); r < 0) {
    nvme_mpath_close(e);
    return absl::ErrnoToStatus(-r, "nvme_mpath_queue_create");
  }
  return std::make_unique<NvmeBackend>(dev_or_paths, e, q, ns, bo.lock_dir);
}

}  // namespace nvme_mpath::sqlite
