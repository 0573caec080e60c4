// The nvme_mpath VFS through SQLite, on files: databases in every journal mode, reopen and
// integrity, the refusals (unformatted, corrupt, other version: SQLITE_CANTOPEN, one log line,
// nvme_mpath_sqlite_errmsg), a second process (SQLITE_BUSY), SQLITE_FULL, connections sharing
// a region, temp files, the C API and the loadable extension.
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "nvme_mpath/sqlite_vfs.h"
#include "sqlite_util.h"
#include "test_util.h"
#include "vfs_internal.h"

namespace nvme_mpath::sqlite {
namespace {

std::vector<std::string>* g_log = new std::vector<std::string>;
void LogCallback(void*, int, const char* msg) { g_log->push_back(msg); }
// sqlite3_config must come before SQLite initialises.
const int kLogConfigured = sqlite3_config(SQLITE_CONFIG_LOG, LogCallback, nullptr);

uint32_t g_lba = 4096;

void Register(const char* name = "nvme_mpath_test") {
  VfsConfig c;
  c.name = name;
  c.open_backend = [](const std::string& n) { return OpenFileBackend(n, g_lba, false); };
  std::string err;
  ASSERT_EQ(RegisterVfs(c, &err), SQLITE_OK) << err;
}

sqlite3* Open(const std::string& name, int* rc_out = nullptr, const char* vfs = "nvme_mpath_test") {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(name.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, vfs);
  if (rc_out) *rc_out = rc;
  if (rc != SQLITE_OK) {
    sqlite3_close(db);
    return nullptr;
  }
  return db;
}

struct Mode {
  const char* journal;
  uint32_t lba;
};

class VfsModeTest : public ::testing::TestWithParam<Mode> {};

TEST_P(VfsModeTest, TransactionsSurviveAReopenWithIntegrity) {
  ASSERT_EQ(kLogConfigured, SQLITE_OK);
  g_lba = GetParam().lba;
  Register();
  // The WAL's extent holds the frames until a checkpoint: 1000 pages by default
  // (wal_autocheckpoint), plus the largest transaction (docs/sqlite-vfs.md, "Limits").
  const std::string f = TempFile("mode", 32 << 20);
  FormatFile(f, g_lba, 0, 8 << 20);
  std::vector<long long> acked;
  {
    sqlite3* db = Open(f);
    ASSERT_NE(db, nullptr) << nvme_mpath_sqlite_errmsg();
    ASSERT_EQ(Text(db, std::string("PRAGMA journal_mode=") + GetParam().journal), GetParam().journal);
    ASSERT_EQ(BankSetup(db), SQLITE_OK) << sqlite3_errmsg(db);
    for (long long id = 1; id <= 200; ++id) {
      ASSERT_EQ(BankTransfer(db, id, unsigned(id * 2654435761u)), SQLITE_OK) << sqlite3_errmsg(db);
      acked.push_back(id);
    }
    // A big transaction: many pages in the journal, a WAL well past its first frames.
    ASSERT_EQ(Exec(db, "CREATE TABLE big(x); INSERT INTO big WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 400) SELECT randomblob(3000) FROM c"),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    EXPECT_EQ(BankCheck(db, acked), "");
    ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
  }
  sqlite3* db = Open(f);
  ASSERT_NE(db, nullptr) << nvme_mpath_sqlite_errmsg();
  EXPECT_EQ(BankCheck(db, acked), "");
  EXPECT_EQ(Query(db, "SELECT count(*) FROM big"), 400);
  EXPECT_EQ(Query(db, "SELECT count(*) FROM txlog"), 200);
  // The VFS says what it is.
  sqlite3_file* fp = nullptr;
  ASSERT_EQ(sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &fp), SQLITE_OK);
  EXPECT_EQ(fp->pMethods->xSectorSize(fp), int(g_lba));
  EXPECT_EQ(fp->pMethods->xDeviceCharacteristics(fp), DeviceCharacteristics(g_lba, g_lba));
  nvme_mpath_engine* e = reinterpret_cast<nvme_mpath_engine*>(1);
  ASSERT_EQ(sqlite3_file_control(db, "main", NVME_MPATH_SQLITE_FCNTL_ENGINE, &e), SQLITE_OK);
  EXPECT_EQ(e, nullptr) << "a file has no engine";
  ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
}

INSTANTIATE_TEST_SUITE_P(Journals, VfsModeTest,
                         ::testing::Values(Mode{"delete", 4096}, Mode{"truncate", 4096}, Mode{"persist", 4096},
                                           Mode{"wal", 4096}, Mode{"delete", 512}, Mode{"wal", 512},
                                           Mode{"memory", 4096}),
                         [](const auto& i) { return std::string(i.param.journal) + std::to_string(i.param.lba); });

TEST(VfsTest, RefusalsAreCantOpenWithOneClearMessage) {
  g_lba = 4096;
  Register();
  const std::string f = TempFile("refuse", 4 << 20);
  auto expect = [&](const std::string& want) {
    g_log->clear();
    int rc = 0;
    EXPECT_EQ(Open(f, &rc), nullptr);
    EXPECT_EQ(rc, SQLITE_CANTOPEN);
    EXPECT_NE(std::string(nvme_mpath_sqlite_errmsg()).find(want), std::string::npos) << nvme_mpath_sqlite_errmsg();
    ASSERT_FALSE(g_log->empty());
    EXPECT_EQ(g_log->front(), nvme_mpath_sqlite_errmsg()) << "the same line goes to sqlite3_log";
  };
  expect("not formatted for the nvme_mpath SQLite VFS (no superblock at LBA 0); run 'nvme-mpath-sqlite format");
  FormatFile(f);
  auto patch = [&](size_t at, uint8_t v, bool recrc) {
    auto b = FileDev(f);
    std::vector<uint8_t> blk(4096);
    ASSERT_EQ(b->Read(0, 1, blk.data()), 0);
    blk[at] = v;
    if (recrc) {
      memset(&blk[12], 0, 4);
      const uint32_t c = Crc32c({blk.data(), kSuperBytes});
      memcpy(&blk[12], &c, 4);
    }
    const WriteSeg w = {0, 1, blk.data()};
    ASSERT_EQ(b->Write({&w, 1}), 0);
  };
  patch(40, 0x99, false);
  expect("corrupt nvme_mpath SQLite layout: superblock checksum mismatch");
  FormatFile(f);
  patch(8, 2, true);
  expect("layout version 2; this build reads layout version 1");
  FormatFile(f);
  int rc = 0;
  sqlite3* db = Open("file:" + f + "?lba_offset=8", &rc);
  EXPECT_EQ(db, nullptr);
  EXPECT_EQ(rc, SQLITE_CANTOPEN);
  EXPECT_NE(std::string(nvme_mpath_sqlite_errmsg()).find("(LBA offset 8): not formatted"), std::string::npos);
  db = Open(f, &rc);
  ASSERT_NE(db, nullptr) << nvme_mpath_sqlite_errmsg();
  EXPECT_STREQ(nvme_mpath_sqlite_errmsg(), "");
  sqlite3_close(db);
  EXPECT_EQ(Open(::testing::TempDir() + "no-such-file", &rc), nullptr);
  EXPECT_EQ(rc, SQLITE_CANTOPEN);
  EXPECT_NE(std::string(nvme_mpath_sqlite_errmsg()).find("No such file"), std::string::npos);
}

TEST(VfsTest, ASecondProcessGetsBusy) {
  g_lba = 4096;
  Register();
  const std::string f = TempFile("busy", 4 << 20);
  FormatFile(f);
  sqlite3* db = Open(f);
  ASSERT_NE(db, nullptr);
  ASSERT_EQ(BankSetup(db), SQLITE_OK);
  // The child is another process: it must not inherit the parent's open region (and its lock,
  // which a forked child shares), so it opens through a VFS of its own, as a new program would.
  pid_t pid = fork();
  if (pid == 0) {
    Register("nvme_mpath_child");
    int rc = 0;
    sqlite3* d = Open(f, &rc, "nvme_mpath_child");
    const bool msg = strstr(nvme_mpath_sqlite_errmsg(), "in use by another process") != nullptr;
    if (!msg || rc != SQLITE_BUSY) fprintf(stderr, "child: rc %d: %s\n", rc, nvme_mpath_sqlite_errmsg());
    _exit(d == nullptr && rc == SQLITE_BUSY && msg ? 0 : 1);
  }
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "the child did not get SQLITE_BUSY";
  sqlite3_close(db);
  pid = fork();  // and once the first closed, it can
  if (pid == 0) {
    sqlite3* d = Open(f);
    _exit(d != nullptr && Query(d, "SELECT count(*) FROM accounts") == kAccounts ? 0 : 1);
  }
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

TEST(VfsTest, ConnectionsOfOneProcessShareTheRegionWithSqlitesLocking) {
  g_lba = 4096;
  Register();
  const std::string f = TempFile("share", 8 << 20);
  FormatFile(f);
  for (const char* mode : {"delete", "wal"}) {
    sqlite3* a = Open(f);
    sqlite3* b = Open(f);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    ASSERT_EQ(Text(a, std::string("PRAGMA journal_mode=") + mode), mode);
    ASSERT_EQ(BankSetup(a), SQLITE_OK) << sqlite3_errmsg(a);
    ASSERT_EQ(Exec(a, "BEGIN IMMEDIATE; UPDATE accounts SET balance = balance + 1 WHERE id = 1"), SQLITE_OK);
    EXPECT_EQ(Exec(b, "BEGIN IMMEDIATE"), SQLITE_BUSY) << "one writer";
    EXPECT_EQ(Query(b, "SELECT total(balance) FROM accounts"), kAccounts * 1000) << "b reads the committed state";
    ASSERT_EQ(Exec(a, "UPDATE accounts SET balance = balance - 1 WHERE id = 2; COMMIT"), SQLITE_OK);
    EXPECT_EQ(Query(b, "SELECT balance FROM accounts WHERE id = 1"), Query(a, "SELECT balance FROM accounts WHERE id = 1"));
    EXPECT_EQ(BankTransfer(b, 1000 + (mode[0] == 'w'), 5), SQLITE_OK) << sqlite3_errmsg(b);
    sqlite3_close(a);
    sqlite3_close(b);
  }
}

TEST(VfsTest, FullExtentIsSqliteFullAndTheDatabaseStaysIntact) {
  g_lba = 4096;
  Register();
  const std::string f = TempFile("full", 4 << 20);
  FormatFile(f);
  sqlite3* db = Open(f);
  ASSERT_NE(db, nullptr);
  ASSERT_EQ(BankSetup(db), SQLITE_OK);
  int rc = SQLITE_OK;
  for (int i = 0; i < 100 && rc == SQLITE_OK; ++i)
    rc = Exec(db, "INSERT INTO txlog(note) WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 50) SELECT randomblob(4000) FROM c");
  EXPECT_EQ(rc, SQLITE_FULL) << sqlite3_errmsg(db);
  EXPECT_EQ(BankCheck(db, {}), "");
  EXPECT_EQ(BankTransfer(db, 1 << 30, 3, 10), SQLITE_OK) << "small transactions still fit";
  sqlite3_close(db);
}

TEST(VfsTest, TempFilesGoToTheDefaultVfs) {
  g_lba = 4096;
  Register();
  const std::string f = TempFile("temp", 4 << 20);
  FormatFile(f);
  sqlite3* db = Open(f);
  ASSERT_NE(db, nullptr);
  ASSERT_EQ(Exec(db, "PRAGMA temp_store=FILE; CREATE TEMP TABLE t(x); "
                     "INSERT INTO t WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000) SELECT randomblob(1000) FROM c"),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  EXPECT_EQ(Query(db, "SELECT count(*) FROM t"), 3000);
  auto r = Region::Open(FileDev(f), 0, false);  // nothing of it in the region
  sqlite3_close(db);
}

TEST(VfsTest, DeviceCharacteristicsFollowTheAtomicWriteSize) {
  EXPECT_EQ(DeviceCharacteristics(0, 4096), 0);
  EXPECT_EQ(DeviceCharacteristics(512, 4096), 0) << "less than an LBA: no promise";
  EXPECT_EQ(DeviceCharacteristics(4096, 4096), SQLITE_IOCAP_POWERSAFE_OVERWRITE | SQLITE_IOCAP_ATOMIC512 |
                                                   SQLITE_IOCAP_ATOMIC1K | SQLITE_IOCAP_ATOMIC2K | SQLITE_IOCAP_ATOMIC4K);
  EXPECT_EQ(DeviceCharacteristics(512, 512), SQLITE_IOCAP_POWERSAFE_OVERWRITE | SQLITE_IOCAP_ATOMIC512);
  const int all = DeviceCharacteristics(1 << 20, 4096);
  EXPECT_TRUE(all & SQLITE_IOCAP_ATOMIC64K);
  EXPECT_FALSE(all & SQLITE_IOCAP_ATOMIC) << "never the whole file";
  EXPECT_FALSE(all & SQLITE_IOCAP_SAFE_APPEND) << "a size is metadata, written after the data";
  EXPECT_FALSE(all & SQLITE_IOCAP_SEQUENTIAL) << "NVMe does not order writes";
}

TEST(VfsTest, FileNamesSplitIntoDatabaseAndKind) {
  std::string db;
  FileKind k;
  EXPECT_TRUE(SplitFileName("/dev/ng0n1-journal", &db, &k));
  EXPECT_EQ(db, "/dev/ng0n1");
  EXPECT_EQ(k, FileKind::kJournal);
  EXPECT_TRUE(SplitFileName("/x/y.db-wal", &db, &k));
  EXPECT_EQ(db, "/x/y.db");
  EXPECT_EQ(k, FileKind::kWal);
  EXPECT_FALSE(SplitFileName("/dev/ng0n1", &db, &k));
  EXPECT_EQ(k, FileKind::kDb);
  EXPECT_FALSE(SplitFileName("-wal", &db, &k));
}

TEST(VfsTest, TheCApiRegistersChecksOptionsAndUnregisters) {
  char err[256] = "";
  nvme_mpath_sqlite_options o;
  nvme_mpath_sqlite_options_init(&o);
  EXPECT_STREQ(o.vfs_name, "nvme_mpath");
  EXPECT_EQ(o.file_lba_size, 4096u);
  o.size = 8;
  EXPECT_EQ(nvme_mpath_sqlite_register(&o, err, sizeof(err)), SQLITE_MISUSE);
  EXPECT_NE(std::string(err).find("nvme_mpath_sqlite_options_init"), std::string::npos) << err;
  nvme_mpath_sqlite_options_init(&o);
  o.file_lba_size = 1000;
  EXPECT_EQ(nvme_mpath_sqlite_register(&o, err, sizeof(err)), SQLITE_MISUSE);
  EXPECT_NE(std::string(err).find("1000"), std::string::npos) << err;
  nvme_mpath_sqlite_options_init(&o);
  o.vfs_name = "nvme_mpath_capi";
  o.file_lba_size = 512;
  ASSERT_EQ(nvme_mpath_sqlite_register(&o, err, sizeof(err)), SQLITE_OK) << err;
  ASSERT_NE(sqlite3_vfs_find("nvme_mpath_capi"), nullptr);
  const std::string f = TempFile("capi", 4 << 20);
  FormatFile(f, 512);
  int rc = 0;
  sqlite3* db = Open(f, &rc, "nvme_mpath_capi");
  ASSERT_NE(db, nullptr) << nvme_mpath_sqlite_errmsg();
  EXPECT_EQ(BankSetup(db), SQLITE_OK);
  EXPECT_EQ(nvme_mpath_sqlite_unregister("nvme_mpath_capi"), SQLITE_BUSY);
  sqlite3_close(db);
  EXPECT_EQ(nvme_mpath_sqlite_unregister("nvme_mpath_capi"), SQLITE_OK);
  EXPECT_EQ(sqlite3_vfs_find("nvme_mpath_capi"), nullptr);
  EXPECT_EQ(nvme_mpath_sqlite_unregister("never_registered"), SQLITE_NOTFOUND);
}

TEST(VfsTest, TheSharedLibraryLoadsAsAnSqliteExtension) {
  sqlite3* mem = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &mem), SQLITE_OK);
  ASSERT_EQ(sqlite3_enable_load_extension(mem, 1), SQLITE_OK);
  char* err = nullptr;
  // No entry point named: SQLite derives sqlite3_nvmempathsqlite_init from the file name.
  ASSERT_EQ(sqlite3_load_extension(mem, NVME_MPATH_SQLITE_SO, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_close(mem);
  ASSERT_NE(sqlite3_vfs_find("nvme_mpath"), nullptr) << "registered for good (SQLITE_OK_LOAD_PERMANENTLY)";
  // The short entry point exists too.
  void* h = dlopen(NVME_MPATH_SQLITE_SO, RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(h, nullptr);
  EXPECT_NE(dlsym(h, "sqlite3_nvmempath_init"), nullptr);
  const std::string f = TempFile("ext", 4 << 20);
  FormatFile(f, 4096);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(("file:" + f + "?vfs=nvme_mpath").c_str(), &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nullptr),
            SQLITE_OK);
  EXPECT_EQ(BankSetup(db), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
  dlclose(h);
}

}  // namespace
}  // namespace nvme_mpath::sqlite
