// File: sqlite/region.h
//
// Region: one formatted region of a device (layout.h) opened for SQLite: its files' bytes mapped
// onto their extents, the file table kept crash-safe, and the in-process locks. Everything the
// VFS does to storage goes through here; it knows nothing of SQLite's structures, so that it is
// tested on a file backend without SQLite (sqlite/tests/region_test.cc).
//
// Files. A file is `size` bytes at the start of its extent. Reads past the size return zeros
// (a short read); a write past the size first writes zeros over the gap, as a file system's
// hole reads as zeros; a write past the extent fails with -ENOSPC (SQLITE_FULL). A write not
// aligned to the LBA size reads the partial LBAs at its ends and writes them whole
// (read-modify-write); the last LBA written is kept in memory, so that appends (the WAL's
// 24-byte frame headers, journal records) do not read it back.
//
// Metadata (docs/sqlite-vfs.md, "Crash safety of the metadata"). The table has two copies with a
// sequence number and a checksum; the newest valid one wins on open. A table write goes to the
// copy that does not hold the last copy known durable (flushed), so a torn or lost table write
// always leaves that one intact. Sizes grow in the table only in Sync(): flush (the data is
// durable), write the table, flush (the table is). A shrink or a delete is written to the table at
// once (it can expose no unwritten data), and made durable by the next flush, or at once when
// asked (Delete(sync = true)).
//
// Threading: every public method takes the region's mutex, held across its backend I/O (the
// backend is single-threaded). The lock tables have their own.
#ifndef NVME_MPATH_SQLITE_REGION_H_
#define NVME_MPATH_SQLITE_REGION_H_

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backend.h"
#include "layout.h"
#include "locks.h"

namespace nvme_mpath::sqlite {

// What is on a region, as read (RegionInfo) for `nvme-mpath-sqlite info` and Region::Open.
struct RegionInfo {
  Superblock sb;
  FileTable table;    // the newest valid copy
  int table_copy = 0; // which
  std::array<absl::Status, 2> copy_status;  // each copy's own decode result
};
// Reads and checks the superblock at `lba_offset` and both table copies. The error is the one
// message a user sees (RegionError).
absl::StatusOr<RegionInfo> ReadRegion(Backend& b, uint64_t lba_offset);

// Returns the one message for a region that cannot be opened:
// "nvme_mpath: /dev/ng0n1 (LBA offset 0): not formatted ...: run 'nvme-mpath-sqlite format ...'".
// The code stays: kNotFound (not formatted), kDataLoss (corrupt), kFailedPrecondition (another
// layout version, or formatted for another offset / LBA size / a larger device).
absl::Status RegionError(const std::string& name, uint64_t lba_offset, const absl::Status& s);

// Formats the region `p` describes (p.lba_size must be the backend's). Refuses a region that
// holds a superblock (valid, corrupt or of another version: kAlreadyExists) unless `force`. Writes table copy 0, clears copy 1, flushes, then
// writes the superblock and flushes: a format cut short leaves no superblock, so no region.
absl::Status FormatRegion(Backend& b, const FormatParams& p, bool force);

class Region {
 public:
  // Takes the backend's cross-process lock (when `lock`: kUnavailable if another process holds
  // it), flushes (whatever an earlier process left in the device's cache becomes durable before
  // the table copy read now is taken as the durable one), then reads the region.
  static absl::StatusOr<std::unique_ptr<Region>> Open(std::unique_ptr<Backend> b, uint64_t lba_offset,
                                                      bool lock);
  // Sync()s when the table is behind, then releases the backend (and its lock).
  ~Region();

  static constexpr int kShortRead = 1;
  // Returns 0, kShortRead (past the size: the rest of buf is zero), or -errno.
  int Read(FileKind k, uint64_t off, void* buf, size_t n);
  // Returns 0, -ENOSPC past the extent, or -errno.
  int Write(FileKind k, uint64_t off, const void* buf, size_t n);
  // Sets the size; a shrink goes into the table at once. -ENOSPC past the extent.
  int Truncate(FileKind k, uint64_t size);
  // Makes every file's data and size durable (see above).
  int Sync();
  // Size 0 and gone; with `sync`, durable before it returns.
  int Delete(FileKind k, bool sync);
  void Create(FileKind k);
  bool Exists(FileKind k);
  uint64_t Size(FileKind k);
  uint64_t MaxSize(FileKind k) const { return extent_bytes_[FileIndex(k)]; }

  uint32_t lba_size() const { return lba_size_; }
  uint64_t atomic_write_bytes() const { return backend_->atomic_write_bytes(); }
  Backend& backend() { return *backend_; }
  const Superblock& superblock() const { return sb_; }
  // The table as it would be written now, and which copy holds the last durable one.
  FileTable table();
  int durable_copy();
  LockTable& locks() { return locks_; }
  ShmTable& shm() { return shm_; }

 private:
  Region(std::unique_ptr<Backend> b, const RegionInfo& info, uint64_t lba_offset);
  uint64_t Abs(uint64_t region_lba) const { return lba_offset_ + region_lba; }
  uint64_t FileLba(FileKind k, uint64_t blk) const { return Abs(table_.file(k).start_lba + blk); }
  int LoadBlock(FileKind k, uint64_t blk, uint8_t* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int WriteLocked(FileKind k, uint64_t off, const uint8_t* src, size_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int ZeroFill(FileKind k, uint64_t from, uint64_t to) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int WriteTable() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int SyncLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool DirtyLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  FileTable TableLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint8_t* Staging(int which, size_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::mutex mu_;
  const std::unique_ptr<Backend> backend_;
  const Superblock sb_;
  const uint64_t lba_offset_;
  const uint32_t lba_size_;
  std::array<uint64_t, kNumFiles> extent_bytes_ = {};
  // The table as last written (or read): recorded sizes and exists flags, sequence number.
  FileTable table_ ABSL_GUARDED_BY(mu_);
  // The files as they are now.
  std::array<uint64_t, kNumFiles> size_ ABSL_GUARDED_BY(mu_) = {};
  std::array<bool, kNumFiles> exists_ ABSL_GUARDED_BY(mu_) = {};
  int durable_copy_ ABSL_GUARDED_BY(mu_) = 0;     // the table copy known durable
  bool table_unflushed_ ABSL_GUARDED_BY(mu_) = false;  // the other copy was written since the last flush
  // The last LBA written (absolute) and its content, or UINT64_MAX.
  uint64_t cached_lba_ ABSL_GUARDED_BY(mu_) = UINT64_MAX;
  std::vector<uint8_t> cached_ ABSL_GUARDED_BY(mu_);
  std::array<std::vector<uint8_t>, 3> staging_ ABSL_GUARDED_BY(mu_);
  LockTable locks_;
  ShmTable shm_;
};

}  // namespace nvme_mpath::sqlite

#endif  // NVME_MPATH_SQLITE_REGION_H_
