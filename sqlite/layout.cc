// File: sqlite/layout.cc
#include "layout.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace nvme_mpath::sqlite {
namespace {

// Superblock field offsets (layout version 1). 0..16 are the same in every version.
constexpr size_t kOffMagic = 0, kOffVersion = 8, kOffCrc = 12, kOffHeaderBytes = 16,
                 kOffLbaSize = 20, kOffRegionLbas = 24, kOffLbaOffset = 32, kOffUuid = 40,
                 kOffTableLbas = 56, kOffNumFiles = 60, kOffTableLba0 = 64, kOffTableLba1 = 72,
                 kOffFormatTime = 80;
// Table header offsets; then the entries from kTableHeaderBytes.
constexpr size_t kTOffSeq = 24, kTOffNumFiles = 20, kTOffBytes = 16, kTOffUuid = 32;
// Entry offsets.
constexpr size_t kEOffKind = 0, kEOffFlags = 4, kEOffStart = 8, kEOffExtent = 16, kEOffSize = 24;
constexpr uint32_t kFlagExists = 1;

void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
void Put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (8 * i));
}
uint32_t Get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(p[i]) << (8 * i);
  return v;
}
uint64_t Get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

// The crc32c of in[0, n) with the 4 bytes at kOffCrc taken as zero.
uint32_t CrcWithHole(const uint8_t* in, size_t n) {
  static const uint8_t kZero[4] = {};
  uint32_t c = Crc32c({in, kOffCrc});
  c = Crc32c({kZero, 4}, c);
  return Crc32c({in + kOffCrc + 4, n - kOffCrc - 4}, c);
}

bool IsPow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

uint64_t RoundUp(uint64_t v, uint64_t m) { return (v + m - 1) / m * m; }

// The common head of a superblock or table copy: magic, then version and checksum.
// kNotFound without the magic; kDataLoss when the checksum over `covered` bytes fails (checked
// before the version, so that a damaged version field reads as damage);
// kFailedPrecondition for another version.
absl::Status CheckHead(const char (&magic)[8], const char* what, absl::Span<const uint8_t> in,
                       size_t covered) {
  if (in.size() < kOffHeaderBytes + 4 || memcmp(in.data(), magic, 8) != 0)
    return absl::NotFoundError(fmt::format("no {} magic", what));
  if (covered < kOffHeaderBytes + 4 || covered > in.size())
    return absl::DataLossError(fmt::format("{} is corrupt (it claims {} header bytes in a {}-byte block)",
                                           what, covered, in.size()));
  const uint32_t want = Get32(in.data() + kOffCrc), got = CrcWithHole(in.data(), covered);
  if (want != got)
    return absl::DataLossError(
        fmt::format("{} checksum mismatch (stored {:#010x}, computed {:#010x}): corrupt", what, want, got));
  const uint32_t version = Get32(in.data() + kOffVersion);
  if (version != kLayoutVersion)
    return absl::FailedPreconditionError(fmt::format(
        "{} has layout version {}; this build reads layout version {}", what, version, kLayoutVersion));
  return absl::OkStatus();
}

}  // namespace

const char* FileKindName(FileKind k) {
  switch (k) {
    case FileKind::kDb: return "db";
    case FileKind::kJournal: return "journal";
    case FileKind::kWal: return "wal";
  }
  return "?";
}

int FileIndex(FileKind k) { return int(k) - 1; }

std::string UuidString(const Uuid& u) {
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += fmt::format("{:02x}", u[i]);
  }
  return s;
}

uint32_t Crc32c(absl::Span<const uint8_t> data, uint32_t crc) {
  static const auto kTable = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (uint8_t b : data) crc = kTable[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

void EncodeSuperblock(const Superblock& sb, absl::Span<uint8_t> out) {
  std::fill(out.begin(), out.end(), 0);
  uint8_t* p = out.data();
  memcpy(p + kOffMagic, kSuperMagic, 8);
  Put32(p + kOffVersion, sb.version);
  Put32(p + kOffHeaderBytes, kSuperBytes);
  Put32(p + kOffLbaSize, sb.lba_size);
  Put64(p + kOffRegionLbas, sb.region_lbas);
  Put64(p + kOffLbaOffset, sb.lba_offset);
  memcpy(p + kOffUuid, sb.uuid.data(), 16);
  Put32(p + kOffTableLbas, sb.table_lbas);
  Put32(p + kOffNumFiles, kNumFiles);
  Put64(p + kOffTableLba0, sb.table_lba[0]);
  Put64(p + kOffTableLba1, sb.table_lba[1]);
  Put64(p + kOffFormatTime, sb.format_time_s);
  Put32(p + kOffCrc, CrcWithHole(p, kSuperBytes));
}

absl::StatusOr<Superblock> DecodeSuperblock(absl::Span<const uint8_t> in) {
  const size_t covered = in.size() >= kOffHeaderBytes + 4 ? Get32(in.data() + kOffHeaderBytes) : 0;
  if (absl::Status s = CheckHead(kSuperMagic, "superblock", in, covered); !s.ok()) return s;
  const uint8_t* p = in.data();
  Superblock sb;
  sb.version = Get32(p + kOffVersion);
  sb.lba_size = Get32(p + kOffLbaSize);
  sb.region_lbas = Get64(p + kOffRegionLbas);
  sb.lba_offset = Get64(p + kOffLbaOffset);
  memcpy(sb.uuid.data(), p + kOffUuid, 16);
  sb.table_lbas = Get32(p + kOffTableLbas);
  sb.table_lba = {Get64(p + kOffTableLba0), Get64(p + kOffTableLba1)};
  sb.format_time_s = Get64(p + kOffFormatTime);
  const uint32_t nfiles = Get32(p + kOffNumFiles);
  // A valid checksum over wrong fields is a bug of whoever wrote it; say what is wrong.
  auto bad = [](std::string why) { return absl::DataLossError("superblock is inconsistent: " + why); };
  if (covered != kSuperBytes) return bad(fmt::format("header of {} bytes, not {}", covered, kSuperBytes));
  if (!IsPow2(sb.lba_size) || sb.lba_size < kMinLbaSize || sb.lba_size > kMaxLbaSize)
    return bad(fmt::format("LBA size {}", sb.lba_size));
  if (sb.lba_size != in.size())
    return bad(fmt::format("formatted with {}-byte LBAs, read as {}-byte LBAs", sb.lba_size, in.size()));
  if (nfiles != kNumFiles) return bad(fmt::format("{} files, not {}", nfiles, kNumFiles));
  const uint64_t need = (kTableBytes + sb.lba_size - 1) / sb.lba_size;
  if (sb.table_lbas < need || sb.table_lbas > 64) return bad(fmt::format("table of {} LBAs", sb.table_lbas));
  for (uint64_t t : sb.table_lba)
    if (t < 1 || t + sb.table_lbas > sb.region_lbas) return bad(fmt::format("table at LBA {}", t));
  if (sb.table_lba[0] + sb.table_lbas > sb.table_lba[1] && sb.table_lba[1] + sb.table_lbas > sb.table_lba[0])
    return bad("the two table copies overlap");
  return sb;
}

void EncodeTable(const FileTable& t, absl::Span<uint8_t> out) {
  std::fill(out.begin(), out.end(), 0);
  uint8_t* p = out.data();
  memcpy(p + kOffMagic, kTableMagic, 8);
  Put32(p + kOffVersion, kLayoutVersion);
  Put32(p + kTOffBytes, kTableBytes);
  Put32(p + kTOffNumFiles, kNumFiles);
  Put64(p + kTOffSeq, t.seq);
  memcpy(p + kTOffUuid, t.uuid.data(), 16);
  for (int i = 0; i < kNumFiles; ++i) {
    const FileEntry& f = t.files[i];
    uint8_t* e = p + kTableHeaderBytes + i * kTableEntryBytes;
    Put32(e + kEOffKind, uint32_t(f.kind));
    Put32(e + kEOffFlags, f.exists ? kFlagExists : 0);
    Put64(e + kEOffStart, f.start_lba);
    Put64(e + kEOffExtent, f.extent_lbas);
    Put64(e + kEOffSize, f.size_bytes);
  }
  Put32(p + kOffCrc, CrcWithHole(p, kTableBytes));
}

absl::StatusOr<FileTable> DecodeTable(const Superblock& sb, absl::Span<const uint8_t> in) {
  const size_t covered = in.size() >= kTOffBytes + 4 ? Get32(in.data() + kTOffBytes) : 0;
  if (absl::Status s = CheckHead(kTableMagic, "file table", in, covered); !s.ok()) return s;
  const uint8_t* p = in.data();
  auto bad = [](std::string why) { return absl::DataLossError("file table is inconsistent: " + why); };
  if (covered != kTableBytes) return bad(fmt::format("{} bytes, not {}", covered, kTableBytes));
  if (Get32(p + kTOffNumFiles) != kNumFiles) return bad("wrong number of files");
  FileTable t;
  t.seq = Get64(p + kTOffSeq);
  memcpy(t.uuid.data(), p + kTOffUuid, 16);
  if (t.uuid != sb.uuid)
    return bad(fmt::format("UUID {} is not the superblock's {} (left by an earlier format)",
                           UuidString(t.uuid), UuidString(sb.uuid)));
  const uint64_t data_start = std::max(sb.table_lba[0], sb.table_lba[1]) + sb.table_lbas;
  for (int i = 0; i < kNumFiles; ++i) {
    const uint8_t* e = p + kTableHeaderBytes + i * kTableEntryBytes;
    FileEntry& f = t.files[i];
    const uint32_t kind = Get32(e + kEOffKind), flags = Get32(e + kEOffFlags);
    if (kind != uint32_t(kFileKinds[i])) return bad(fmt::format("entry {} has kind {}", i, kind));
    if (flags & ~kFlagExists) return bad(fmt::format("entry {} has unknown flags {:#x}", i, flags));
    f.kind = FileKind(kind);
    f.exists = flags & kFlagExists;
    f.start_lba = Get64(e + kEOffStart);
    f.extent_lbas = Get64(e + kEOffExtent);
    f.size_bytes = Get64(e + kEOffSize);
    const char* name = FileKindName(f.kind);
    if (f.start_lba < data_start || f.extent_lbas > sb.region_lbas ||
        f.start_lba > sb.region_lbas - f.extent_lbas)
      return bad(fmt::format("{} extent LBA {} + {} outside the data area {}..{}", name, f.start_lba,
                             f.extent_lbas, data_start, sb.region_lbas));
    if (f.size_bytes > f.extent_lbas * sb.lba_size)
      return bad(fmt::format("{} size {} beyond its extent of {} bytes", name, f.size_bytes,
                             f.extent_lbas * sb.lba_size));
  }
  for (int i = 0; i < kNumFiles; ++i)
    for (int j = i + 1; j < kNumFiles; ++j) {
      const FileEntry &a = t.files[i], &b = t.files[j];
      if (a.start_lba < b.start_lba + b.extent_lbas && b.start_lba < a.start_lba + a.extent_lbas)
        return bad(fmt::format("{} and {} extents overlap", FileKindName(a.kind), FileKindName(b.kind)));
    }
  return t;
}

absl::StatusOr<FileTable> PickTable(const Superblock& sb, absl::Span<const uint8_t> copy0,
                                    absl::Span<const uint8_t> copy1, int* which) {
  absl::StatusOr<FileTable> t[2] = {DecodeTable(sb, copy0), DecodeTable(sb, copy1)};
  int w = -1;
  if (t[0].ok() && t[1].ok()) w = t[1]->seq > t[0]->seq ? 1 : 0;
  else if (t[0].ok()) w = 0;
  else if (t[1].ok()) w = 1;
  if (w < 0) {
    // Both bad. Another version in either copy is that, not damage.
    for (const auto& c : t)
      if (absl::IsFailedPrecondition(c.status())) return c.status();
    return absl::DataLossError(fmt::format("no valid file table: copy 0: {}; copy 1: {}",
                                           std::string(t[0].status().message()), std::string(t[1].status().message())));
  }
  if (which) *which = w;
  return std::move(t[w]);
}

absl::StatusOr<Layout> PlanLayout(const FormatParams& p) {
  if (!IsPow2(p.lba_size) || p.lba_size < kMinLbaSize || p.lba_size > kMaxLbaSize)
    return absl::InvalidArgumentError(fmt::format("LBA size {} is not a power of two in 512..65536", p.lba_size));
  const uint64_t L = p.lba_size;
  const uint64_t align = std::max<uint64_t>(1, kExtentAlignBytes / L);
  Layout out;
  Superblock& sb = out.sb;
  sb.uuid = p.uuid;
  sb.lba_size = p.lba_size;
  sb.region_lbas = p.region_lbas;
  sb.lba_offset = p.lba_offset;
  sb.table_lbas = uint32_t((kTableBytes + L - 1) / L);
  sb.table_lba = {1, 1 + uint64_t(sb.table_lbas)};
  sb.format_time_s = p.format_time_s;
  const uint64_t meta_lbas = 1 + 2 * uint64_t(sb.table_lbas);
  const uint64_t data_start = RoundUp(meta_lbas, align);
  if (p.region_lbas < data_start + 3 * align)
    return absl::InvalidArgumentError(fmt::format(
        "a region of {} LBAs is too small: metadata takes {} LBAs and each file needs at least {}",
        p.region_lbas, data_start, align));
  const uint64_t region_bytes = p.region_lbas * L;
  uint64_t journal = p.journal_bytes;
  if (journal == 0) journal = std::clamp<uint64_t>(region_bytes / 8, 64 << 10, 1ull << 30);
  uint64_t wal = p.wal_bytes ? p.wal_bytes : journal;
  auto lbas = [&](uint64_t bytes) { return RoundUp((bytes + L - 1) / L, align); };
  uint64_t next = data_start;
  auto place = [&](FileKind k, uint64_t n) {
    FileEntry& f = out.table.file(k);
    f.kind = k;
    f.start_lba = next;
    f.extent_lbas = n;
    next += n;
  };
  const uint64_t jl = lbas(journal), wl = lbas(wal);
  const uint64_t avail = p.region_lbas - data_start;
  if (jl > avail || wl > avail - jl || (p.db_bytes == 0 && jl + wl + align > avail) ||
      (p.db_bytes != 0 && lbas(p.db_bytes) > avail - jl - wl))
    return absl::InvalidArgumentError(fmt::format(
        "journal {} B + WAL {} B + database {} do not fit in the region's {} B after {} B of metadata",
        jl * L, wl * L, p.db_bytes ? fmt::format("{} B", lbas(p.db_bytes) * L) : std::string("(at least 4 KiB)"),
        avail * L, data_start * L));
  place(FileKind::kJournal, jl);
  place(FileKind::kWal, wl);
  place(FileKind::kDb, p.db_bytes ? lbas(p.db_bytes) : (p.region_lbas - next) / align * align);
  out.table.seq = 1;
  out.table.uuid = p.uuid;
  out.table.file(FileKind::kDb).exists = true;
  return out;
}

}  // namespace nvme_mpath::sqlite
