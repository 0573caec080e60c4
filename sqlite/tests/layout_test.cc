// The on-device layout (sqlite/layout.h): encode/decode of the superblock and the file table,
// every refusal with its code, picking the table copy, and planning a region.
#include "layout.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "support/status_matchers.h"

namespace nvme_mpath::sqlite {
namespace {

FormatParams Params(uint32_t lba, uint64_t lbas) {
  FormatParams p;
  p.lba_size = lba;
  p.region_lbas = lbas;
  for (int i = 0; i < 16; ++i) p.uuid[i] = uint8_t(0xa0 + i);
  p.format_time_s = 1700000000;
  return p;
}

std::vector<uint8_t> Super(const Superblock& sb) {
  std::vector<uint8_t> b(sb.lba_size);
  EncodeSuperblock(sb, absl::MakeSpan(b));
  return b;
}

std::vector<uint8_t> Table(const Superblock& sb, const FileTable& t) {
  std::vector<uint8_t> b(size_t(sb.table_lbas) * sb.lba_size);
  EncodeTable(t, absl::MakeSpan(b));
  return b;
}

// Rewrites the crc32c (bytes 12..16) of a block after a test changed a field, as a writer
// of another version or a buggy one would have.
void Recrc(std::vector<uint8_t>& b, size_t covered) {
  memset(&b[12], 0, 4);
  uint32_t c = Crc32c({b.data(), covered});
  for (int i = 0; i < 4; ++i) b[12 + i] = uint8_t(c >> (8 * i));
}

TEST(LayoutTest, Crc32cKnownVectors) {
  const char* s = "123456789";
  EXPECT_EQ(Crc32c({reinterpret_cast<const uint8_t*>(s), 9}), 0xe3069283u);
  EXPECT_EQ(Crc32c({}), 0u);
  // Continuation: the crc of a+b from the crc of a.
  EXPECT_EQ(Crc32c({reinterpret_cast<const uint8_t*>(s) + 4, 5}, Crc32c({reinterpret_cast<const uint8_t*>(s), 4})),
            0xe3069283u);
}

TEST(LayoutTest, SuperblockRoundTripsAtEveryLbaSize) {
  for (uint32_t lba : {512u, 4096u, 65536u}) {
    auto l = PlanLayout(Params(lba, 4096));
    ASSERT_OK(l);
    auto b = Super(l->sb);
    auto sb = DecodeSuperblock(b);
    ASSERT_OK(sb);
    EXPECT_EQ(sb->uuid, l->sb.uuid);
    EXPECT_EQ(sb->lba_size, lba);
    EXPECT_EQ(sb->region_lbas, 4096u);
    EXPECT_EQ(sb->table_lba, l->sb.table_lba);
    EXPECT_EQ(sb->format_time_s, 1700000000u);
    EXPECT_EQ(UuidString(sb->uuid), "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");
  }
}

TEST(LayoutTest, ZerosAreNotFormatted) {
  std::vector<uint8_t> z(4096);
  EXPECT_TRUE(absl::IsNotFound(DecodeSuperblock(z).status()));
  std::vector<uint8_t> tiny(8);
  EXPECT_TRUE(absl::IsNotFound(DecodeSuperblock(tiny).status()));
}

TEST(LayoutTest, AnyFlippedByteInTheHeaderIsCorruption) {
  auto l = PlanLayout(Params(4096, 4096));
  ASSERT_OK(l);
  const auto good = Super(l->sb);
  for (size_t i = 8; i < kSuperBytes; ++i) {  // past the magic: every byte the crc covers
    auto b = good;
    b[i] ^= 0x40;
    auto s = DecodeSuperblock(b).status();
    EXPECT_TRUE(absl::IsDataLoss(s)) << "byte " << i << ": " << s;
  }
  auto b = good;
  b[0] ^= 1;  // the magic itself: not ours at all
  EXPECT_TRUE(absl::IsNotFound(DecodeSuperblock(b).status()));
}

TEST(LayoutTest, AnotherLayoutVersionIsNamedAsSuch) {
  auto l = PlanLayout(Params(4096, 4096));
  ASSERT_OK(l);
  auto b = Super(l->sb);
  b[8] = 2;  // version 2, with a valid checksum
  Recrc(b, kSuperBytes);
  auto s = DecodeSuperblock(b).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("layout version 2; this build reads layout version 1"), std::string::npos) << s;
}

TEST(LayoutTest, InconsistentSuperblockFieldsAreRefused) {
  auto l = PlanLayout(Params(4096, 4096));
  ASSERT_OK(l);
  auto check = [&](auto change, const char* what) {
    Superblock sb = l->sb;
    change(sb);
    auto b = Super(sb);
    b.resize(4096);
    EXPECT_TRUE(absl::IsDataLoss(DecodeSuperblock(b).status())) << what;
  };
  check([](Superblock& s) { s.table_lbas = 0; }, "table of 0 LBAs");
  check([](Superblock& s) { s.table_lba = {1, 1}; }, "overlapping copies");
  check([](Superblock& s) { s.table_lba[1] = s.region_lbas; }, "copy past the region");
  check([](Superblock& s) { s.table_lba[0] = 0; }, "copy on the superblock");
  // Read with another LBA size than it was formatted with.
  auto b = Super(l->sb);
  b.resize(512);
  EXPECT_TRUE(absl::IsDataLoss(DecodeSuperblock(b).status()));
}

TEST(LayoutTest, TableRoundTripsAndChecksAgainstTheSuperblock) {
  auto l = PlanLayout(Params(512, 8192));
  ASSERT_OK(l);
  FileTable t = l->table;
  t.seq = 42;
  t.file(FileKind::kWal).exists = true;
  t.file(FileKind::kWal).size_bytes = 12345;
  auto b = Table(l->sb, t);
  auto d = DecodeTable(l->sb, b);
  ASSERT_OK(d);
  EXPECT_EQ(d->seq, 42u);
  EXPECT_TRUE(d->file(FileKind::kWal).exists);
  EXPECT_EQ(d->file(FileKind::kWal).size_bytes, 12345u);
  EXPECT_TRUE(d->file(FileKind::kDb).exists);
  EXPECT_FALSE(d->file(FileKind::kJournal).exists);
  for (int i = 0; i < kNumFiles; ++i) {
    EXPECT_EQ(d->files[i].start_lba, t.files[i].start_lba);
    EXPECT_EQ(d->files[i].extent_lbas, t.files[i].extent_lbas);
  }
  // Another format's table (other UUID) is not taken.
  Superblock other = l->sb;
  other.uuid[0] ^= 1;
  EXPECT_TRUE(absl::IsDataLoss(DecodeTable(other, b).status()));
  // Never written.
  std::vector<uint8_t> z(b.size());
  EXPECT_TRUE(absl::IsNotFound(DecodeTable(l->sb, z).status()));
  // Torn: the second half of the block lost.
  auto torn = b;
  memset(torn.data() + 100, 0, torn.size() - 100);
  EXPECT_TRUE(absl::IsDataLoss(DecodeTable(l->sb, torn).status()));
}

TEST(LayoutTest, TableWithBadExtentsOrSizesIsRefusedEvenWithAValidChecksum) {
  auto l = PlanLayout(Params(4096, 4096));
  ASSERT_OK(l);
  auto bad = [&](auto change, const char* what) {
    FileTable t = l->table;
    change(t);
    auto s = DecodeTable(l->sb, Table(l->sb, t)).status();
    EXPECT_TRUE(absl::IsDataLoss(s)) << what << ": " << s;
  };
  bad([](FileTable& t) { t.file(FileKind::kDb).size_bytes = t.file(FileKind::kDb).extent_lbas * 4096 + 1; },
      "size beyond extent");
  bad([](FileTable& t) { t.file(FileKind::kWal).start_lba = t.file(FileKind::kJournal).start_lba; }, "overlap");
  bad([](FileTable& t) { t.file(FileKind::kJournal).start_lba = 0; }, "extent over the metadata");
  bad([](FileTable& t) { t.file(FileKind::kDb).extent_lbas += 1; }, "extent past the region");
  bad([](FileTable& t) { t.file(FileKind::kDb).extent_lbas = UINT64_MAX; }, "extent overflow");
  bad([](FileTable& t) { t.files[0].kind = FileKind::kWal; }, "wrong kind in a slot");
}

TEST(LayoutTest, PickTableTakesTheNewerValidCopy) {
  auto l = PlanLayout(Params(4096, 4096));
  ASSERT_OK(l);
  FileTable a = l->table, b = l->table;
  a.seq = 7;
  b.seq = 8;
  auto ba = Table(l->sb, a), bb = Table(l->sb, b);
  int which = -1;
  EXPECT_EQ(PickTable(l->sb, ba, bb, &which)->seq, 8u);
  EXPECT_EQ(which, 1);
  EXPECT_EQ(PickTable(l->sb, bb, ba, &which)->seq, 8u);
  EXPECT_EQ(which, 0);
  // The newer one torn: the older wins.
  auto torn = bb;
  torn[200] ^= 1;
  EXPECT_EQ(PickTable(l->sb, ba, torn, &which)->seq, 7u);
  EXPECT_EQ(which, 0);
  std::vector<uint8_t> z(ba.size());
  EXPECT_EQ(PickTable(l->sb, z, ba, &which)->seq, 7u);
  EXPECT_EQ(which, 1);
  // Both bad: one message naming both.
  auto s = PickTable(l->sb, z, torn, &which).status();
  EXPECT_TRUE(absl::IsDataLoss(s));
  EXPECT_NE(s.message().find("copy 0"), std::string::npos);
  EXPECT_NE(s.message().find("copy 1"), std::string::npos);
  // A table of another version is reported as that.
  auto v2 = ba;
  v2[8] = 2;
  Recrc(v2, kTableBytes);
  EXPECT_TRUE(absl::IsFailedPrecondition(PickTable(l->sb, v2, z, &which).status()));
}

TEST(LayoutTest, PlanLayoutDefaultsAndLimits) {
  // The lab's 64 MiB namespace, 4 KiB LBAs: journal and WAL 8 MiB each, the rest the database.
  auto l = PlanLayout(Params(4096, 16384));
  ASSERT_OK(l);
  EXPECT_EQ(l->sb.table_lbas, 1u);
  EXPECT_EQ(l->table.file(FileKind::kJournal).extent_lbas * 4096, 8u << 20);
  EXPECT_EQ(l->table.file(FileKind::kWal).extent_lbas * 4096, 8u << 20);
  const auto& db = l->table.file(FileKind::kDb);
  EXPECT_EQ(db.start_lba + db.extent_lbas, 16384u);
  EXPECT_TRUE(db.exists);
  EXPECT_EQ(l->table.seq, 1u);
  // 512-byte LBAs: extents start on 4 KiB.
  auto s = PlanLayout(Params(512, 1 << 17));
  ASSERT_OK(s);
  for (const auto& f : s->table.files) EXPECT_EQ(f.start_lba % 8, 0u) << FileKindName(f.kind);
  // Explicit sizes.
  FormatParams p = Params(4096, 16384);
  p.journal_bytes = 1 << 20;
  p.wal_bytes = 2 << 20;
  p.db_bytes = 16 << 20;
  auto e = PlanLayout(p);
  ASSERT_OK(e);
  EXPECT_EQ(e->table.file(FileKind::kDb).extent_lbas * 4096, 16u << 20);
  EXPECT_EQ(e->table.file(FileKind::kWal).extent_lbas * 4096, 2u << 20);
  // Round-trips through the decoder.
  EXPECT_OK(DecodeTable(e->sb, Table(e->sb, e->table)));
  // Too small, does not fit, bad LBA size.
  EXPECT_TRUE(absl::IsInvalidArgument(PlanLayout(Params(4096, 3)).status()));
  p.db_bytes = 64 << 20;
  EXPECT_TRUE(absl::IsInvalidArgument(PlanLayout(p).status()));
  p.db_bytes = 0;
  p.journal_bytes = 63 << 20;
  EXPECT_TRUE(absl::IsInvalidArgument(PlanLayout(p).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(PlanLayout(Params(1000, 16384)).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(PlanLayout(Params(256, 16384)).status()));
}

}  // namespace
}  // namespace nvme_mpath::sqlite
