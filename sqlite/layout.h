// File: sqlite/layout.h
//
// The on-device layout of an nvme_mpath SQLite region (docs/sqlite-vfs.md, "Layout"): a
// superblock in the region's first LBA and two copies of a fixed file table, then one extent per
// file. Pure encode/decode over byte buffers, no I/O: every corner is unit-tested
// (sqlite/tests/layout_test.cc).
//
//   region LBA 0            superblock: magic, layout version, crc32c, UUID, LBA size, region
//                           size and offset, where the two table copies are (written once, by
//                           format)
//   region LBA 1 .. 1+T     table copy 0  } magic, version, crc32c, sequence number, the
//   region LBA 1+T .. 1+2T  table copy 1  } superblock's UUID, and per file: extent and size
//   then                    the extents of the rollback journal, the WAL and the main database
//
// Every integer is little-endian. Magic, version and crc32c are at the same offsets in every
// layout version, so that a block of another version is recognised as such (and not taken for
// a corrupt one).
#ifndef NVME_MPATH_SQLITE_LAYOUT_H_
#define NVME_MPATH_SQLITE_LAYOUT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace nvme_mpath::sqlite {

inline constexpr uint32_t kLayoutVersion = 1;
inline constexpr char kSuperMagic[8] = {'N', 'V', 'M', 'P', 'S', 'Q', 'L', 'S'};
inline constexpr char kTableMagic[8] = {'N', 'V', 'M', 'P', 'S', 'Q', 'L', 'T'};
inline constexpr uint32_t kSuperBytes = 128;       // bytes the superblock's crc32c covers
inline constexpr uint32_t kTableHeaderBytes = 64;
inline constexpr uint32_t kTableEntryBytes = 48;
inline constexpr uint32_t kMinLbaSize = 512, kMaxLbaSize = 65536;
// Extents start on this many bytes (or on an LBA, if larger).
inline constexpr uint32_t kExtentAlignBytes = 4096;

// The files of the fixed table, in table order. A database has one of each; temp files are not
// stored on the device (the VFS hands them to SQLite's default VFS).
enum class FileKind : uint32_t { kDb = 1, kJournal = 2, kWal = 3 };
inline constexpr int kNumFiles = 3;
inline constexpr std::array<FileKind, kNumFiles> kFileKinds = {FileKind::kDb, FileKind::kJournal,
                                                               FileKind::kWal};
// Returns "db", "journal", "wal".
const char* FileKindName(FileKind k);
// Returns the table index of `k` (0..kNumFiles-1).
int FileIndex(FileKind k);

using Uuid = std::array<uint8_t, 16>;
// Returns "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
std::string UuidString(const Uuid& u);

struct Superblock {
  uint32_t version = kLayoutVersion;
  Uuid uuid = {};
  uint32_t lba_size = 0;
  uint64_t region_lbas = 0;   // total LBAs of the region, this block included
  uint64_t lba_offset = 0;    // the region's first LBA on the namespace
  uint32_t table_lbas = 0;    // LBAs of one table copy
  std::array<uint64_t, 2> table_lba = {};  // region-relative
  uint64_t format_time_s = 0; // unix time of the format
};

struct FileEntry {
  FileKind kind = FileKind::kDb;
  bool exists = false;
  uint64_t start_lba = 0;     // region-relative
  uint64_t extent_lbas = 0;
  uint64_t size_bytes = 0;    // <= extent_lbas * lba_size
};

struct FileTable {
  uint64_t seq = 0;           // the newer of two valid copies wins
  Uuid uuid = {};             // the superblock's: a copy left by an earlier format is not taken
  std::array<FileEntry, kNumFiles> files;  // in kFileKinds order
  FileEntry& file(FileKind k) { return files[FileIndex(k)]; }
  const FileEntry& file(FileKind k) const { return files[FileIndex(k)]; }
};

// Returns the CRC-32C (Castagnoli) of `data`, continuing from `crc` (0 to start).
uint32_t Crc32c(absl::Span<const uint8_t> data, uint32_t crc = 0);

// Writes the superblock into `out` (one LBA: out.size() == sb.lba_size; the bytes after the
// header are zero).
void EncodeSuperblock(const Superblock& sb, absl::Span<uint8_t> out);
// Reads a superblock. Errors, each with one message a user can act on:
//   kNotFound            no superblock magic: not formatted (or another region offset)
//   kDataLoss            magic present but the checksum or a field is wrong: corrupt
//   kFailedPrecondition  a valid superblock of another layout version
absl::StatusOr<Superblock> DecodeSuperblock(absl::Span<const uint8_t> in);

// Bytes of the table's encoding (header + entries); a copy takes ceil(that / lba_size) LBAs.
inline constexpr uint32_t kTableBytes = kTableHeaderBytes + kNumFiles * kTableEntryBytes;
// Writes one table copy into `out` (sb.table_lbas LBAs).
void EncodeTable(const FileTable& t, absl::Span<uint8_t> out);
// Reads one table copy and checks it against the superblock (UUID, every extent inside the
// region's data area, no two extents overlapping, each size within its extent). kNotFound when
// the copy holds no table (never written), kDataLoss when it is corrupt or inconsistent,
// kFailedPrecondition for another layout version.
absl::StatusOr<FileTable> DecodeTable(const Superblock& sb, absl::Span<const uint8_t> in);
// Returns the newer valid copy (`which` gets 0 or 1), or kDataLoss naming why neither is.
absl::StatusOr<FileTable> PickTable(const Superblock& sb, absl::Span<const uint8_t> copy0,
                                    absl::Span<const uint8_t> copy1, int* which);

// What `format` lays out.
struct FormatParams {
  uint32_t lba_size = 0;
  uint64_t region_lbas = 0;
  uint64_t lba_offset = 0;
  uint64_t journal_bytes = 0;  // 0: default (region / 8, 64 KiB .. 1 GiB)
  uint64_t wal_bytes = 0;      // 0: as the journal
  uint64_t db_bytes = 0;       // 0: the rest of the region
  Uuid uuid = {};
  uint64_t format_time_s = 0;
};
struct Layout {
  Superblock sb;
  FileTable table;  // seq 1, every file empty; the database exists (a new, empty database)
};
// Plans a region. kInvalidArgument (with the numbers) when it does not fit or a size is bad.
absl::StatusOr<Layout> PlanLayout(const FormatParams& p);

}  // namespace nvme_mpath::sqlite

#endif  // NVME_MPATH_SQLITE_LAYOUT_H_
