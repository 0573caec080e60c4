// File: sqlite/region.cc
#include "region.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace nvme_mpath::sqlite {
namespace {

// The largest single read or write the region takes (SQLite's are a page, at most 64 KiB, or a
// WAL frame): bounds the staging buffers.
constexpr size_t kMaxIoBytes = size_t(1) << 30;
constexpr size_t kZeroChunkBytes = size_t(1) << 20;

}  // namespace

absl::Status RegionError(const std::string& name, uint64_t lba_offset, const absl::Status& s) {
  std::string what;
  switch (s.code()) {
    case absl::StatusCode::kNotFound:
      what = fmt::format("not formatted for the nvme_mpath SQLite VFS ({}); run 'nvme-mpath-sqlite format {}{}'",
                         std::string(s.message()), name, lba_offset ? fmt::format(" --lba-offset {}", lba_offset) : "");
      break;
    case absl::StatusCode::kDataLoss:
      what = fmt::format("corrupt nvme_mpath SQLite layout: {}", std::string(s.message()));
      break;
    case absl::StatusCode::kFailedPrecondition:
      what = fmt::format("cannot use this nvme_mpath SQLite layout: {}", std::string(s.message()));
      break;
    default:
      what = std::string(s.message());
  }
  return absl::Status(s.code(), fmt::format("nvme_mpath: {} (LBA offset {}): {}", name, lba_offset, what));
}

absl::StatusOr<RegionInfo> ReadRegion(Backend& b, uint64_t lba_offset) {
  const uint32_t L = b.lba_size();
  auto fail = [&](absl::Status s) { return RegionError(b.name(), lba_offset, s); };
  if (lba_offset >= b.lbas())
    return fail(absl::NotFoundError(fmt::format("the device has only {} LBAs", b.lbas())));
  std::vector<uint8_t> blk(L);
  if (int r = b.Read(lba_offset, 1, blk.data()); r != 0)
    return fail(absl::ErrnoToStatus(-r, fmt::format("read superblock at LBA {}", lba_offset)));
  absl::StatusOr<Superblock> sb = DecodeSuperblock(blk);
  if (!sb.ok()) {
    if (absl::IsNotFound(sb.status()))
      return fail(absl::NotFoundError(fmt::format("no superblock at LBA {}", lba_offset)));
    return fail(sb.status());
  }
  if (sb->lba_offset != lba_offset)
    return fail(absl::FailedPreconditionError(fmt::format(
        "the superblock at LBA {} says it was formatted at LBA {}", lba_offset, sb->lba_offset)));
  if (sb->region_lbas > b.lbas() - lba_offset)
    return fail(absl::FailedPreconditionError(fmt::format(
        "formatted for {} LBAs from LBA {}, but the device has {} LBAs", sb->region_lbas, lba_offset, b.lbas())));
  RegionInfo info;
  info.sb = *sb;
  std::array<std::vector<uint8_t>, 2> copy;
  for (int i = 0; i < 2; ++i) {
    copy[i].resize(size_t(sb->table_lbas) * L);
    if (int r = b.Read(lba_offset + sb->table_lba[i], sb->table_lbas, copy[i].data()); r != 0)
      return fail(absl::ErrnoToStatus(-r, fmt::format("read file table copy {}", i)));
    info.copy_status[i] = DecodeTable(*sb, copy[i]).status();
  }
  absl::StatusOr<FileTable> t = PickTable(*sb, copy[0], copy[1], &info.table_copy);
  if (!t.ok()) return fail(t.status());
  info.table = *t;
  return info;
}

absl::Status FormatRegion(Backend& b, const FormatParams& p, bool force) {
  if (p.lba_size != b.lba_size())
    return absl::InvalidArgumentError(fmt::format("LBA size {} is not the device's {}", p.lba_size, b.lba_size()));
  if (p.lba_offset >= b.lbas() || p.region_lbas > b.lbas() - p.lba_offset)
    return absl::InvalidArgumentError(fmt::format("LBAs {}..{} are beyond the device's {} LBAs", p.lba_offset,
                                                  p.lba_offset + p.region_lbas, b.lbas()));
  absl::StatusOr<Layout> layout = PlanLayout(p);
  if (!layout.ok()) return layout.status();
  const uint32_t L = p.lba_size;
  std::vector<uint8_t> blk(L);
  if (int r = b.Read(p.lba_offset, 1, blk.data()); r != 0)
    return absl::ErrnoToStatus(-r, fmt::format("read LBA {}", p.lba_offset));
  // Anything with our magic (valid, corrupt, another version) is someone's database.
  if (!force && !absl::IsNotFound(DecodeSuperblock(blk).status()))
    return absl::AlreadyExistsError(fmt::format(
        "{} (LBA offset {}) already holds an nvme_mpath SQLite layout; --force erases it", b.name(), p.lba_offset));
  const Superblock& sb = layout->sb;
  std::vector<uint8_t> t(size_t(sb.table_lbas) * L), empty(t.size());
  EncodeTable(layout->table, absl::MakeSpan(t));
  const WriteSeg tables[2] = {{p.lba_offset + sb.table_lba[0], sb.table_lbas, t.data()},
                              {p.lba_offset + sb.table_lba[1], sb.table_lbas, empty.data()}};
  if (int r = b.Write(tables); r != 0) return absl::ErrnoToStatus(-r, "write the file table");
  if (int r = b.Flush(); r != 0) return absl::ErrnoToStatus(-r, "flush");
  EncodeSuperblock(sb, absl::MakeSpan(blk));
  const WriteSeg super = {p.lba_offset, 1, blk.data()};
  if (int r = b.Write({&super, 1}); r != 0) return absl::ErrnoToStatus(-r, "write the superblock");
  if (int r = b.Flush(); r != 0) return absl::ErrnoToStatus(-r, "flush");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Region>> Region::Open(std::unique_ptr<Backend> b, uint64_t lba_offset, bool lock) {
  if (lock)
    if (absl::Status s = b->LockExclusive(lba_offset); !s.ok()) return s;
  if (int r = b->Flush(); r != 0)
    return RegionError(b->name(), lba_offset, absl::ErrnoToStatus(-r, "flush at open"));
  absl::StatusOr<RegionInfo> info = ReadRegion(*b, lba_offset);
  if (!info.ok()) return info.status();
  return std::unique_ptr<Region>(new Region(std::move(b), *info, lba_offset));
}

Region::Region(std::unique_ptr<Backend> b, const RegionInfo& info, uint64_t lba_offset)
    : backend_(std::move(b)), sb_(info.sb), lba_offset_(lba_offset), lba_size_(info.sb.lba_size) {
  std::lock_guard<std::mutex> l(mu_);
  table_ = info.table;
  durable_copy_ = info.table_copy;
  for (int i = 0; i < kNumFiles; ++i) {
    extent_bytes_[i] = table_.files[i].extent_lbas * lba_size_;
    size_[i] = table_.files[i].size_bytes;
    exists_[i] = table_.files[i].exists;
  }
}

Region::~Region() {
  std::lock_guard<std::mutex> l(mu_);
  if (DirtyLocked()) SyncLocked();  // best effort: a failure leaves the last durable table
}

uint8_t* Region::Staging(int which, size_t n) {
  if (staging_[which].size() < n) staging_[which].resize(n);
  return staging_[which].data();
}

bool Region::DirtyLocked() const {
  for (int i = 0; i < kNumFiles; ++i)
    if (size_[i] != table_.files[i].size_bytes || exists_[i] != table_.files[i].exists) return true;
  return false;
}

FileTable Region::TableLocked() const {
  FileTable t = table_;
  for (int i = 0; i < kNumFiles; ++i) t.files[i].exists = exists_[i];
  return t;
}

FileTable Region::table() {
  std::lock_guard<std::mutex> l(mu_);
  return TableLocked();
}

int Region::durable_copy() {
  std::lock_guard<std::mutex> l(mu_);
  return durable_copy_;
}

bool Region::Exists(FileKind k) {
  std::lock_guard<std::mutex> l(mu_);
  return exists_[FileIndex(k)];
}

uint64_t Region::Size(FileKind k) {
  std::lock_guard<std::mutex> l(mu_);
  return size_[FileIndex(k)];
}

void Region::Create(FileKind k) {
  std::lock_guard<std::mutex> l(mu_);
  exists_[FileIndex(k)] = true;
}

int Region::LoadBlock(FileKind k, uint64_t blk, uint8_t* out) {
  const uint64_t size = size_[FileIndex(k)], start = blk * lba_size_;
  if (start >= size) {
    memset(out, 0, lba_size_);
    return 0;
  }
  const uint64_t lba = FileLba(k, blk);
  if (lba == cached_lba_) {
    memcpy(out, cached_.data(), lba_size_);
  } else if (int r = backend_->Read(lba, 1, out); r != 0) {
    return r;
  }
  if (size - start < lba_size_) memset(out + (size - start), 0, lba_size_ - (size - start));
  return 0;
}

int Region::WriteLocked(FileKind k, uint64_t off, const uint8_t* src, size_t n) {
  const uint32_t L = lba_size_;
  const int fi = FileIndex(k);
  WriteSeg segs[3];
  int nsegs = 0;
  size_t pos = 0;
  uint64_t blk = off / L;
  if (off % L != 0 || n < L) {  // head: read-modify-write
    uint8_t* head = Staging(0, L);
    if (int r = LoadBlock(k, blk, head); r != 0) return r;
    const size_t in = off % L, take = std::min<size_t>(L - in, n);
    memcpy(head + in, src, take);
    segs[nsegs++] = {FileLba(k, blk), 1, head};
    pos = take;
    ++blk;
  }
  const size_t full = (n - pos) / L;
  if (full > 0) {  // the aligned middle, straight from the caller's buffer
    segs[nsegs++] = {FileLba(k, blk), uint32_t(full), src + pos};
    pos += full * L;
    blk += full;
  }
  if (pos < n) {  // tail: read-modify-write
    uint8_t* tail = Staging(1, L);
    if (int r = LoadBlock(k, blk, tail); r != 0) return r;
    memcpy(tail, src + pos, n - pos);
    segs[nsegs++] = {FileLba(k, blk), 1, tail};
  }
  // The segments go to the device together (Backend::Write: in flight at once on NVMe).
  if (int r = backend_->Write({segs, size_t(nsegs)}); r != 0) {
    cached_lba_ = UINT64_MAX;  // what landed is unknown
    return r;
  }
  const WriteSeg& last = segs[nsegs - 1];
  cached_.resize(L);
  memcpy(cached_.data(), static_cast<const uint8_t*>(last.buf) + size_t(last.nlb - 1) * L, L);
  cached_lba_ = last.lba + last.nlb - 1;
  size_[fi] = std::max<uint64_t>(size_[fi], off + n);
  return 0;
}

int Region::ZeroFill(FileKind k, uint64_t from, uint64_t to) {
  static const std::vector<uint8_t> zeros(kZeroChunkBytes);
  while (from < to) {
    const size_t n = size_t(std::min<uint64_t>(to - from, kZeroChunkBytes));
    if (int r = WriteLocked(k, from, zeros.data(), n); r != 0) return r;
    from += n;
  }
  return 0;
}

int Region::Read(FileKind k, uint64_t off, void* buf, size_t n) {
  if (n > kMaxIoBytes) return -EINVAL;
  std::lock_guard<std::mutex> l(mu_);
  const uint32_t L = lba_size_;
  const uint64_t size = size_[FileIndex(k)];
  auto* out = static_cast<uint8_t*>(buf);
  const size_t avail = off >= size ? 0 : size_t(std::min<uint64_t>(n, size - off));
  if (avail > 0) {
    const uint64_t first = off / L, last = (off + avail - 1) / L;
    const uint32_t nlb = uint32_t(last - first + 1);
    if (off % L == 0 && avail % L == 0) {
      if (int r = backend_->Read(FileLba(k, first), nlb, out); r != 0) return r;
    } else {
      uint8_t* s = Staging(2, size_t(nlb) * L);
      if (int r = backend_->Read(FileLba(k, first), nlb, s); r != 0) return r;
      memcpy(out, s + off % L, avail);
    }
  }
  if (avail < n) {
    memset(out + avail, 0, n - avail);
    return kShortRead;
  }
  return 0;
}

int Region::Write(FileKind k, uint64_t off, const void* buf, size_t n) {
  if (n > kMaxIoBytes) return -EINVAL;
  if (n == 0) return 0;
  std::lock_guard<std::mutex> l(mu_);
  const int fi = FileIndex(k);
  if (off > extent_bytes_[fi] || n > extent_bytes_[fi] - off) return -ENOSPC;
  if (off > size_[fi])
    if (int r = ZeroFill(k, size_[fi], off); r != 0) return r;
  return WriteLocked(k, off, static_cast<const uint8_t*>(buf), n);
}

int Region::Truncate(FileKind k, uint64_t size) {
  std::lock_guard<std::mutex> l(mu_);
  const int fi = FileIndex(k);
  if (size > extent_bytes_[fi]) return -ENOSPC;
  if (size > size_[fi]) return ZeroFill(k, size_[fi], size);
  size_[fi] = size;
  if (size >= table_.files[fi].size_bytes) return 0;
  table_.files[fi].size_bytes = size;
  return WriteTable();
}

int Region::Delete(FileKind k, bool sync) {
  std::lock_guard<std::mutex> l(mu_);
  const int fi = FileIndex(k);
  size_[fi] = 0;
  exists_[fi] = false;
  table_.files[fi].size_bytes = 0;
  if (int r = WriteTable(); r != 0) return r;
  return sync ? FlushLocked() : 0;
}

int Region::Sync() {
  std::lock_guard<std::mutex> l(mu_);
  return SyncLocked();
}

int Region::SyncLocked() {
  // 1. The data: every completed write, of every file, durable.
  if (int r = FlushLocked(); r != 0) return r;
  if (!DirtyLocked()) return 0;
  // 2. The table that records the sizes that data gives; 3. durable too. A crash before 3
  // leaves the older copy (and the older sizes) or this one: both describe durable data.
  for (int i = 0; i < kNumFiles; ++i) table_.files[i].size_bytes = size_[i];
  if (int r = WriteTable(); r != 0) return r;
  return FlushLocked();
}

int Region::WriteTable() {
  FileTable t = TableLocked();
  t.seq = table_.seq + 1;
  const int copy = 1 - durable_copy_;
  uint8_t* buf = Staging(0, size_t(sb_.table_lbas) * lba_size_);
  EncodeTable(t, {buf, size_t(sb_.table_lbas) * lba_size_});
  const WriteSeg seg = {Abs(sb_.table_lba[copy]), sb_.table_lbas, buf};
  if (int r = backend_->Write({&seg, 1}); r != 0) {
    table_unflushed_ = false;  // that copy's content is unknown: never take it for durable
    return r;
  }
  table_ = t;
  table_unflushed_ = true;
  return 0;
}

int Region::FlushLocked() {
  if (int r = backend_->Flush(); r != 0) return r;
  if (table_unflushed_) {
    durable_copy_ = 1 - durable_copy_;
    table_unflushed_ = false;
  }
  return 0;
}

}  // namespace nvme_mpath::sqlite
