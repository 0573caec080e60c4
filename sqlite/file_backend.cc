// File: sqlite/file_backend.cc
//
// FileBackend: a region on a regular file (backend.h). Reads and writes are pread/pwrite of
// whole blocks; Flush() is fdatasync when asked for, else nothing (the page cache outlives the
// process, which is what a SIGKILL test needs).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "backend.h"

namespace nvme_mpath::sqlite {
namespace {

class FileBackend final : public Backend {
 public:
  FileBackend(std::string name, int fd, uint32_t lba_size, uint64_t lbas, bool fdatasync)
      : name_(std::move(name)), fd_(fd), lba_size_(lba_size), lbas_(lbas), fdatasync_(fdatasync) {}
  ~FileBackend() override { close(fd_); }  // also drops the flock

  uint32_t lba_size() const override { return lba_size_; }
  uint64_t lbas() const override { return lbas_; }
  // A file system promises no atomicity across a power failure; one block is what the layout
  // tests assume of any device (AWUPF is 0's based, so every namespace writes one LBA atomically).
  uint64_t atomic_write_bytes() const override { return lba_size_; }
  const std::string& name() const override { return name_; }

  int Read(uint64_t lba, uint32_t nlb, void* buf) override {
    auto* p = static_cast<char*>(buf);
    size_t n = size_t(nlb) * lba_size_;
    off_t off = off_t(lba * lba_size_);
    while (n > 0) {
      ssize_t r = pread(fd_, p, n, off);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return -errno;
      if (r == 0) {  // past the end of the file: reads as zeros (a sparse region)
        memset(p, 0, n);
        return 0;
      }
      p += r;
      n -= size_t(r);
      off += r;
    }
    return 0;
  }
  int Write(absl::Span<const WriteSeg> segs) override {
    for (const WriteSeg& s : segs) {
      const char* p = static_cast<const char*>(s.buf);
      size_t n = size_t(s.nlb) * lba_size_;
      off_t off = off_t(s.lba * lba_size_);
      while (n > 0) {
        ssize_t r = pwrite(fd_, p, n, off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return r < 0 ? -errno : -EIO;
        p += r;
        n -= size_t(r);
        off += r;
      }
    }
    return 0;
  }
  int Flush() override { return fdatasync_ && fdatasync(fd_) != 0 ? -errno : 0; }

  absl::Status LockExclusive(uint64_t) override {
    if (flock(fd_, LOCK_EX | LOCK_NB) == 0) return absl::OkStatus();
    if (errno == EWOULDBLOCK)
      return absl::UnavailableError(fmt::format("{} is in use by another process (flock)", name_));
    return absl::ErrnoToStatus(errno, fmt::format("flock {}", name_));
  }

 private:
  const std::string name_;
  const int fd_;
  const uint32_t lba_size_;
  const uint64_t lbas_;
  const bool fdatasync_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> OpenFileBackend(const std::string& path, uint32_t lba_size,
                                                         bool flush_fdatasync) {
  if (lba_size < 512 || lba_size > 65536 || (lba_size & (lba_size - 1)) != 0)
    return absl::InvalidArgumentError(fmt::format("block size {} is not a power of two in 512..65536", lba_size));
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, fmt::format("open {}", path));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return absl::ErrnoToStatus(e, fmt::format("stat {}", path));
  }
  return std::make_unique<FileBackend>(path, fd, lba_size, uint64_t(st.st_size) / lba_size, flush_fdatasync);
}

absl::StatusOr<std::unique_ptr<Backend>> OpenBackend(const std::string& name, const NvmeBackendOptions& o,
                                                     uint32_t file_lba_size) {
  struct stat st;
  const std::string first = name.substr(0, name.find(','));
  if (stat(first.c_str(), &st) == 0 && S_ISCHR(st.st_mode)) return OpenNvmeBackend(name, o);
  return OpenFileBackend(name, file_lba_size, /*flush_fdatasync=*/true);
}

}  // namespace nvme_mpath::sqlite
