// Region (sqlite/region.h) on file backends: bytes onto extents (read-modify-write, holes, the
// extent's end), refusals with their one message, the cross-process lock, and the metadata
// rules under simulated power failures (crash_backend.h).
#include "region.h"

#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "crash_backend.h"
#include "support/status_matchers.h"
#include "test_util.h"

namespace nvme_mpath::sqlite {
namespace {

std::unique_ptr<Region> OpenRegion(std::unique_ptr<Backend> b, uint64_t off = 0) {
  auto r = Region::Open(std::move(b), off, /*lock=*/true);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? std::move(*r) : nullptr;
}

std::vector<uint8_t> Bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i * 7);
  return v;
}

class RegionLbaTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(RegionLbaTest, UnalignedWritesReadBackAndSurviveAReopen) {
  const uint32_t lba = GetParam();
  const std::string f = TempFile("rmw", 8 << 20);
  FormatFile(f, lba);
  std::mt19937 rng(lba);
  std::vector<uint8_t> model;
  {
    auto r = OpenRegion(FileDev(f, lba));
    ASSERT_TRUE(r);
    for (int i = 0; i < 300; ++i) {
      const size_t off = rng() % 200000, n = 1 + rng() % 9000;
      auto data = Bytes(n, uint8_t(i));
      ASSERT_EQ(r->Write(FileKind::kWal, off, data.data(), n), 0);
      if (model.size() < off + n) model.resize(off + n, 0);
      memcpy(model.data() + off, data.data(), n);
      if (i % 50 == 0) {
        ASSERT_EQ(r->Sync(), 0);
      }
    }
    EXPECT_EQ(r->Size(FileKind::kWal), model.size());
    std::vector<uint8_t> got(model.size());
    ASSERT_EQ(r->Read(FileKind::kWal, 0, got.data(), got.size()), 0);
    EXPECT_EQ(got, model);
    ASSERT_EQ(r->Sync(), 0);
  }
  auto r = OpenRegion(FileDev(f, lba));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->Size(FileKind::kWal), model.size());
  std::vector<uint8_t> got(model.size() + 100, 0xee);
  EXPECT_EQ(r->Read(FileKind::kWal, 0, got.data(), got.size()), Region::kShortRead);
  EXPECT_TRUE(std::equal(model.begin(), model.end(), got.begin()));
  for (size_t i = model.size(); i < got.size(); ++i) ASSERT_EQ(got[i], 0) << "past the size reads zeros";
  EXPECT_EQ(r->Size(FileKind::kDb), 0u);
  EXPECT_EQ(r->lba_size(), lba);
}

INSTANTIATE_TEST_SUITE_P(Lba, RegionLbaTest, ::testing::Values(512u, 4096u));

TEST(RegionTest, AGapAndTheRestOfAnLbaReadAsZerosOverStaleData) {
  const std::string f = TempFile("gap", 4 << 20);
  {  // stale bytes everywhere, as a reused namespace has
    auto b = FileDev(f);
    std::vector<uint8_t> ff(4 << 20, 0xff);
    const WriteSeg s = {0, uint32_t(ff.size() / 4096), ff.data()};
    ASSERT_EQ(b->Write({&s, 1}), 0);
  }
  FormatFile(f);
  auto r = OpenRegion(FileDev(f));
  ASSERT_TRUE(r);
  const uint8_t x[3] = {1, 2, 3};
  ASSERT_EQ(r->Write(FileKind::kDb, 10000, x, 3), 0);  // a hole of 10000 bytes before it
  std::vector<uint8_t> got(10003);
  ASSERT_EQ(r->Read(FileKind::kDb, 0, got.data(), got.size()), 0);
  for (size_t i = 0; i < 10000; ++i) ASSERT_EQ(got[i], 0) << i;
  EXPECT_EQ(got[10002], 3);
  ASSERT_EQ(r->Truncate(FileKind::kDb, 5), 0);
  ASSERT_EQ(r->Truncate(FileKind::kDb, 20000), 0);  // extend: zeros, not the old bytes
  ASSERT_EQ(r->Read(FileKind::kDb, 0, got.data(), got.size()), 0);
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], 0) << i;
}

TEST(RegionTest, WritesAndTruncatesPastTheExtentAreFull) {
  const std::string f = TempFile("full", 4 << 20);
  FormatFile(f);
  auto r = OpenRegion(FileDev(f));
  ASSERT_TRUE(r);
  const uint64_t max = r->MaxSize(FileKind::kJournal);
  ASSERT_GT(max, 0u);
  std::vector<uint8_t> b(8192, 1);
  EXPECT_EQ(r->Write(FileKind::kJournal, max - 4096, b.data(), 4096), 0);
  EXPECT_EQ(r->Write(FileKind::kJournal, max - 4096, b.data(), 4097), -ENOSPC);
  EXPECT_EQ(r->Write(FileKind::kJournal, max, b.data(), 1), -ENOSPC);
  EXPECT_EQ(r->Write(FileKind::kJournal, UINT64_MAX - 2, b.data(), 10), -ENOSPC);
  EXPECT_EQ(r->Truncate(FileKind::kJournal, max + 1), -ENOSPC);
  EXPECT_EQ(r->Size(FileKind::kJournal), max);
}

TEST(RegionTest, EachRefusalHasOneMessageSayingWhatToDo) {
  const std::string f = TempFile("refuse", 4 << 20);
  auto s = Region::Open(FileDev(f), 0, true).status();
  EXPECT_TRUE(absl::IsNotFound(s));
  EXPECT_NE(s.message().find("not formatted for the nvme_mpath SQLite VFS"), std::string::npos) << s;
  EXPECT_NE(s.message().find("run 'nvme-mpath-sqlite format " + f + "'"), std::string::npos) << s;
  FormatFile(f);
  // Corrupt superblock: one bit.
  {
    auto b = FileDev(f);
    std::vector<uint8_t> blk(4096);
    ASSERT_EQ(b->Read(0, 1, blk.data()), 0);
    blk[30] ^= 4;
    const WriteSeg w = {0, 1, blk.data()};
    ASSERT_EQ(b->Write({&w, 1}), 0);
  }
  s = Region::Open(FileDev(f), 0, true).status();
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find("corrupt nvme_mpath SQLite layout: superblock checksum mismatch"), std::string::npos) << s;
  // Another layout version.
  FormatFile(f);
  {
    auto b = FileDev(f);
    std::vector<uint8_t> blk(4096);
    ASSERT_EQ(b->Read(0, 1, blk.data()), 0);
    blk[8] = 9;
    memset(&blk[12], 0, 4);
    const uint32_t c = Crc32c({blk.data(), kSuperBytes});
    memcpy(&blk[12], &c, 4);
    const WriteSeg w = {0, 1, blk.data()};
    ASSERT_EQ(b->Write({&w, 1}), 0);
  }
  s = Region::Open(FileDev(f), 0, true).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("layout version 9; this build reads layout version 1"), std::string::npos) << s;
  // Read with another block size than formatted with.
  FormatFile(f);
  s = Region::Open(FileDev(f, 512), 0, true).status();
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  // The device got smaller than the region.
  ASSERT_EQ(truncate(f.c_str(), 2 << 20), 0);
  s = Region::Open(FileDev(f), 0, true).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("but the device has 512 LBAs"), std::string::npos) << s;
  // Both table copies bad.
  ASSERT_EQ(truncate(f.c_str(), 4 << 20), 0);
  FormatFile(f);
  {
    auto b = FileDev(f);
    std::vector<uint8_t> z(4096, 0x5a);
    const WriteSeg w[2] = {{1, 1, z.data()}, {2, 1, z.data()}};
    ASSERT_EQ(b->Write(w), 0);
  }
  s = Region::Open(FileDev(f), 0, true).status();
  EXPECT_TRUE(absl::IsNotFound(s) || absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find("no valid file table"), std::string::npos) << s;
}

TEST(RegionTest, ARegionAtAnOffsetStaysInsideItAndIsFoundOnlyThere) {
  const std::string f = TempFile("offset", 8 << 20);
  FormatFile(f, 4096, 1024);
  EXPECT_TRUE(absl::IsNotFound(Region::Open(FileDev(f), 0, true).status()));
  auto s = Region::Open(FileDev(f), 1025, true).status();
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  {
    auto r = OpenRegion(FileDev(f), 1024);
    ASSERT_TRUE(r);
    std::vector<uint8_t> d(r->MaxSize(FileKind::kDb), 0x77);
    ASSERT_EQ(r->Write(FileKind::kDb, 0, d.data(), d.size()), 0);
    ASSERT_EQ(r->Sync(), 0);
  }
  auto b = FileDev(f);
  std::vector<uint8_t> below(1024 * 4096);
  ASSERT_EQ(b->Read(0, 1024, below.data()), 0);
  for (uint8_t c : below) ASSERT_EQ(c, 0);
}

TEST(RegionTest, ASecondOpenerIsRefusedAsUnavailable) {
  const std::string f = TempFile("lock", 4 << 20);
  FormatFile(f);
  auto r = OpenRegion(FileDev(f));
  ASSERT_TRUE(r);
  auto s = Region::Open(FileDev(f), 0, true).status();
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_NE(s.message().find("in use by another process"), std::string::npos) << s;
  r.reset();
  EXPECT_OK(Region::Open(FileDev(f), 0, true));
}

TEST(RegionTest, TheNamespaceLockFileIsMadeWithItsDirectoryAndTakenOnce) {
  const std::string dir = ::testing::TempDir() + "nvme_mpath_lock_" + std::to_string(getpid());
  rmdir(dir.c_str());
  const std::string file = LockFileName("nqn.2024-01.io.x:lab/with space", 3, 2048);
  EXPECT_EQ(file, "nvme-mpath-sqlite.nqn.2024-01.io.x:lab_with_space.3.2048.lock");
  auto fd = TakeLockFile(dir, file, "/dev/ngXnY");  // no directory yet (the lab's root has no /run/lock)
  ASSERT_OK(fd);
  auto again = TakeLockFile(dir, file, "/dev/ngXnY");
  EXPECT_TRUE(absl::IsUnavailable(again.status())) << again.status();
  EXPECT_NE(again.status().message().find("/dev/ngXnY is in use by another process (flock " + dir), std::string::npos)
      << again.status();
  close(*fd);
  fd = TakeLockFile(dir, file, "/dev/ngXnY");
  EXPECT_OK(fd);
  close(*fd);
  unlink((dir + "/" + file).c_str());
  rmdir(dir.c_str());
  auto bad = TakeLockFile("/proc/no/such/dir", file, "x");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("lock_dir"), std::string::npos) << bad.status();
}

TEST(RegionTest, GrowthIsDurableOnlyAfterSyncAndShrinkAtOnce) {
  const std::string f = TempFile("grow", 4 << 20);
  FormatFile(f);
  std::vector<uint8_t> d = Bytes(10000, 3);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    {  // synced, then more without a sync: the power fails
      auto cb = std::make_unique<CrashBackend>(FileDev(f), seed);
      CrashBackend* dev = cb.get();
      auto r = OpenRegion(std::move(cb));
      ASSERT_TRUE(r);
      ASSERT_EQ(r->Truncate(FileKind::kJournal, 0), 0);
      ASSERT_EQ(r->Write(FileKind::kJournal, 0, d.data(), 5000), 0);
      ASSERT_EQ(r->Sync(), 0);
      ASSERT_EQ(r->Write(FileKind::kJournal, 5000, d.data() + 5000, 5000), 0);
      dev->PowerFail();
    }
    auto r = OpenRegion(FileDev(f));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->Size(FileKind::kJournal), 5000u) << "seed " << seed;
    std::vector<uint8_t> got(5000);
    ASSERT_EQ(r->Read(FileKind::kJournal, 0, got.data(), 5000), 0);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), d.begin())) << "seed " << seed;
  }
  {  // a delete with sync is durable at once; a truncate is in the table at once
    auto cb = std::make_unique<CrashBackend>(FileDev(f), 99);
    CrashBackend* dev = cb.get();
    auto r = OpenRegion(std::move(cb));
    ASSERT_EQ(r->Delete(FileKind::kJournal, /*sync=*/true), 0);
    EXPECT_FALSE(r->Exists(FileKind::kJournal));
    dev->PowerFail();
  }
  {
    auto r = OpenRegion(FileDev(f));
    EXPECT_EQ(r->Size(FileKind::kJournal), 0u);
    EXPECT_FALSE(r->Exists(FileKind::kJournal));
    r->Create(FileKind::kJournal);
    ASSERT_EQ(r->Write(FileKind::kJournal, 0, d.data(), 8000), 0);
    ASSERT_EQ(r->Sync(), 0);
    ASSERT_EQ(r->Truncate(FileKind::kJournal, 100), 0);
    EXPECT_EQ(r->table().file(FileKind::kJournal).size_bytes, 100u) << "the shrink is in the table at once";
  }
  auto r = OpenRegion(FileDev(f));  // a process that ended after the truncate: its shrink is there
  EXPECT_EQ(r->Size(FileKind::kJournal), 100u);
  EXPECT_TRUE(r->Exists(FileKind::kJournal));
}

TEST(RegionTest, TableWritesAlternateAndNeverOverwriteTheDurableCopy) {
  const std::string f = TempFile("alt", 4 << 20);
  FormatFile(f);
  auto r = OpenRegion(FileDev(f));
  ASSERT_TRUE(r);
  const int c0 = r->durable_copy();
  uint8_t x = 1;
  ASSERT_EQ(r->Write(FileKind::kDb, 0, &x, 1), 0);
  ASSERT_EQ(r->Sync(), 0);
  EXPECT_EQ(r->durable_copy(), 1 - c0);
  // Two unflushed table writes (shrinks) go to the same, non-durable copy.
  ASSERT_EQ(r->Truncate(FileKind::kDb, 0), 0);
  EXPECT_EQ(r->durable_copy(), 1 - c0);
  ASSERT_EQ(r->Write(FileKind::kWal, 0, &x, 1), 0);
  ASSERT_EQ(r->Sync(), 0);  // flush (the shrink's copy is durable), the table to the other, flush
  EXPECT_EQ(r->durable_copy(), 1 - c0);
  ASSERT_EQ(r->Delete(FileKind::kWal, false), 0);
  EXPECT_EQ(r->durable_copy(), 1 - c0);
  ASSERT_EQ(r->Sync(), 0);  // the flush makes the delete's copy the durable one
  EXPECT_EQ(r->durable_copy(), c0);
}

// Power fails at a random write or flush while files grow, shrink, sync and get deleted: the
// region always opens again, and its table is the last durable one or one written after it.
TEST(RegionTest, APowerFailureAnywhereLeavesAnOpenableRegionWithADurableOrLaterTable) {
  const std::string f = TempFile("pf", 4 << 20);
  for (uint64_t seed = 0; seed < 200; ++seed) {
    FormatFile(f, 512);
    std::mt19937_64 rng(seed);
    std::vector<std::array<uint64_t, kNumFiles>> acceptable;
    auto sizes = [](const FileTable& t) {
      std::array<uint64_t, kNumFiles> s;
      for (int i = 0; i < kNumFiles; ++i) s[i] = t.files[i].size_bytes;
      return s;
    };
    {
      auto cb = std::make_unique<CrashBackend>(FileDev(f, 512), seed, 2 + rng() % 60);  // op 1 is the open's flush
      auto r = OpenRegion(std::move(cb));
      ASSERT_TRUE(r);
      acceptable.push_back(sizes(r->table()));
      std::vector<uint8_t> d = Bytes(3000, uint8_t(seed));
      for (int op = 0; op < 80; ++op) {
        const FileKind k = kFileKinds[rng() % kNumFiles];
        int rc = 0;
        switch (rng() % 5) {
          case 0:
          case 1: rc = r->Write(k, rng() % 20000, d.data(), 1 + rng() % d.size()); break;
          case 2: rc = r->Truncate(k, rng() % 4000); break;
          case 3: rc = r->Delete(k, rng() % 2); if (rc == 0) r->Create(k); break;
          case 4:
            rc = r->Sync();
            if (rc == 0) acceptable.clear();  // nothing older can come back
            break;
        }
        acceptable.push_back(sizes(r->table()));  // also after a failure: its table may have landed
        if (rc != 0) break;  // the device died
      }
    }
    auto r = Region::Open(FileDev(f, 512), 0, true);
    ASSERT_OK(r) << "seed " << seed;
    const auto got = sizes((*r)->table());
    EXPECT_NE(std::find(acceptable.begin(), acceptable.end(), got), acceptable.end()) << "seed " << seed;
  }
}

}  // namespace
}  // namespace nvme_mpath::sqlite
