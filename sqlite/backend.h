// File: sqlite/backend.h
//
// Backend: the block storage under a region (read, write, flush, size, LBA size), the seam that
// lets the layout, the region and the VFS run in unit tests on a plain file. Two
// implementations: NvmeBackend (the namespace through nvme-mpath's C API) and FileBackend (a
// regular file: tests, and development without NVMe). Tests add a volatile-cache decorator that
// loses unflushed writes at a simulated power failure (sqlite/tests/crash_backend.h).
//
// Threading: not thread-safe; the Region that owns a backend serialises every call under its
// mutex (the C API's queue is single-threaded; it may move between threads while idle, which a
// synchronous call always leaves it: docs/architecture.md, "Which thread owns a ring").
//
// I/O calls return 0 or -errno (they are per-I/O: no absl::Status). LBAs are absolute on the
// device; the region adds its offset.
#ifndef NVME_MPATH_SQLITE_BACKEND_H_
#define NVME_MPATH_SQLITE_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

struct nvme_mpath_engine;
struct nvme_mpath_options;

namespace nvme_mpath::sqlite {

// One write of a batch: nlb LBAs from `lba`, out of `buf`.
struct WriteSeg {
  uint64_t lba = 0;
  uint32_t nlb = 0;
  const void* buf = nullptr;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual uint32_t lba_size() const = 0;
  // LBAs of the device (namespace or file).
  virtual uint64_t lbas() const = 0;
  // Bytes written atomically across a power failure (size-aligned, power of two; see
  // nvme_mpath_atomic_write_bytes). 0 = no guarantee claimed.
  virtual uint64_t atomic_write_bytes() const = 0;
  virtual int Read(uint64_t lba, uint32_t nlb, void* buf) = 0;
  // Writes every segment; they may be in flight together, in any order (the caller never gives
  // two overlapping segments). Returns the first error; then some segments may have landed.
  virtual int Write(absl::Span<const WriteSeg> segs) = 0;
  // Makes every completed write durable (NVMe Flush).
  virtual int Flush() = 0;
  // Takes the cross-process lock of this device (one process per region), held until the
  // backend is destroyed. kUnavailable when another process holds it, naming the lock.
  virtual absl::Status LockExclusive(uint64_t lba_offset) = 0;
  // The C API engine, or nullptr (files).
  virtual nvme_mpath_engine* engine() const { return nullptr; }
  // What the user named: "/dev/ng0n1", a file path.
  virtual const std::string& name() const = 0;
};

// A regular file (or any seekable file), in `lba_size` blocks. flush_fdatasync: Flush() calls
// fdatasync (off in tests: the page cache survives a SIGKILL, and that is what the fork tests
// kill). The lock is flock(LOCK_EX | LOCK_NB) on the file itself.
absl::StatusOr<std::unique_ptr<Backend>> OpenFileBackend(const std::string& path, uint32_t lba_size,
                                                         bool flush_fdatasync);

struct NvmeBackendOptions {
  const nvme_mpath_options* engine = nullptr;  // nullptr: the C API's defaults
  uint32_t queue_depth = 32;
  std::string lock_dir = "/run/lock";
};
// The namespace of `dev_or_paths` ("/dev/ng0n1", or "/dev/ng0n1,/dev/ng1n1": an explicit list;
// one path: the engine finds the others) through nvme_mpath_open. The lock is flock on
// <lock_dir>/nvme-mpath-sqlite.<subsystem NQN>.<nsid>.<lba offset>.lock: the same for every
// path of the namespace, which a flock on one /dev/ngXnY would not be.
absl::StatusOr<std::unique_ptr<Backend>> OpenNvmeBackend(const std::string& dev_or_paths,
                                                         const NvmeBackendOptions& o);

// Takes flock(LOCK_EX | LOCK_NB) on dir/file (made if missing; the directory too, mode 1777 as
// /run/lock is, when it does not exist: a minimal root such as the lab's has none). Returns the
// fd that holds it; kUnavailable naming `what` when another process holds it.
absl::StatusOr<int> TakeLockFile(const std::string& dir, const std::string& file, const std::string& what);

// The lock file name for a namespace (pure; NQN characters outside [A-Za-z0-9.:_-] become '_').
std::string LockFileName(const std::string& subsysnqn, uint32_t nsid, uint64_t lba_offset);

// Opens what `name` is: a character device through the engine, anything else as a file with
// `file_lba_size`-byte blocks.
absl::StatusOr<std::unique_ptr<Backend>> OpenBackend(const std::string& name,
                                                     const NvmeBackendOptions& o,
                                                     uint32_t file_lba_size);

}  // namespace nvme_mpath::sqlite

#endif  // NVME_MPATH_SQLITE_BACKEND_H_
