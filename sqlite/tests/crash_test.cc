// Crash safety through SQLite, on files.
//  * SIGKILL: a child commits bank transfers and reports each id through a pipe after COMMIT
//    returned; its backend kills it (raise(SIGKILL)) at a random write or flush, chosen by the
//    seed. After each of N kills: integrity ok, the invariant holds, every reported id present.
//  * Power failure: the same in-process over CrashBackend, which at a random write or flush lands
//    only a random subset of the writes not yet flushed (torn multi-LBA writes included) and
//    kills the device. Every transaction whose COMMIT returned is still there.
// Deterministic: the seeds choose every point; no sleeps.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crash_backend.h"
#include "nvme_mpath/sqlite_vfs.h"
#include "sqlite_util.h"
#include "test_util.h"
#include "vfs_internal.h"

namespace nvme_mpath::sqlite {
namespace {

sqlite3* OpenWith(const std::string& vfs, const std::string& f) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(f.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs.c_str()) != SQLITE_OK) {
    sqlite3_close(db);
    return nullptr;
  }
  return db;
}

void RegisterPlain(const std::string& name, uint32_t lba) {
  VfsConfig c;
  c.name = name;
  c.open_backend = [lba](const std::string& n) { return OpenFileBackend(n, lba, false); };
  std::string err;
  ASSERT_EQ(RegisterVfs(c, &err), SQLITE_OK) << err;
}

struct Case {
  const char* journal;
  const char* synchronous;
};
// DELETE mode's commit is the journal's deletion, which SQLite syncs only with synchronous=EXTRA
// (docs/sqlite-vfs.md, "Durability"): with FULL a power failure may roll the last one back.
const Case kCases[] = {{"delete", "extra"}, {"truncate", "full"}, {"persist", "full"}, {"wal", "full"}};

void Configure(sqlite3* db, const Case& c) {
  ASSERT_EQ(Text(db, std::string("PRAGMA journal_mode=") + c.journal), c.journal);
  ASSERT_EQ(Exec(db, std::string("PRAGMA synchronous=") + c.synchronous), SQLITE_OK);
}

TEST(CrashTest, SigkillAtRandomPointsLosesNoAcknowledgedTransaction) {
  RegisterPlain("nvme_mpath_check", 4096);
  const int kRuns = 24;
  for (int run = 0; run < kRuns; ++run) {
    const Case& c = kCases[run % 4];
    const std::string f = TempFile("kill", 32 << 20);
    FormatFile(f, 4096, 0, 8 << 20);
    std::vector<long long> acked;
    std::mt19937_64 rng(run);
    // A few kills per database: each restart recovers what the previous child left.
    for (int kill = 0; kill < 3; ++kill) {
      const uint64_t kill_at = 5 + rng() % 400;
      int fds[2];
      ASSERT_EQ(pipe(fds), 0);
      pid_t pid = fork();
      if (pid == 0) {
        close(fds[0]);
        VfsConfig vc;
        vc.name = "nvme_mpath_kill";
        vc.open_backend = [kill_at](const std::string& n) -> absl::StatusOr<std::unique_ptr<Backend>> {
          auto b = OpenFileBackend(n, 4096, false);
          if (!b.ok()) return b.status();
          return std::unique_ptr<Backend>(new KillBackend(std::move(*b), kill_at));
        };
        std::string err;
        if (RegisterVfs(vc, &err) != SQLITE_OK) _exit(3);
        sqlite3* db = OpenWith("nvme_mpath_kill", f);
        if (db == nullptr) _exit(4);
        Text(db, std::string("PRAGMA journal_mode=") + c.journal);
        Exec(db, std::string("PRAGMA synchronous=") + c.synchronous);
        if (BankSetup(db) != SQLITE_OK) _exit(5);
        // After the last acknowledged one: a transaction may have committed unreported.
        const long long first_id = Query(db, "SELECT coalesce(max(id), 0) + 1 FROM txlog");
        for (long long id = first_id;; ++id) {
          if (int rc = BankTransfer(db, id, unsigned(id * 2654435761u + unsigned(run))); rc != SQLITE_OK) {
            fprintf(stderr, "child: transaction %lld: %s (%s)\n", id, sqlite3_errstr(rc), sqlite3_errmsg(db));
            _exit(6);
          }
          if (write(fds[1], &id, sizeof(id)) != sizeof(id)) _exit(7);
        }
      }
      close(fds[1]);
      long long id;
      while (read(fds[0], &id, sizeof(id)) == sizeof(id)) acked.push_back(id);
      close(fds[0]);
      int st = 0;
      ASSERT_EQ(waitpid(pid, &st, 0), pid);
      ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
          << "run " << run << ": the child ended otherwise (status " << st << ")";
      sqlite3* db = OpenWith("nvme_mpath_check", f);
      ASSERT_NE(db, nullptr) << "run " << run << ": " << nvme_mpath_sqlite_errmsg();
      EXPECT_EQ(BankCheck(db, acked), "") << "run " << run << " (" << c.journal << "), kill " << kill
                                          << " at op " << kill_at << ", " << acked.size() << " acknowledged";
      ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
    }
  }
}

CrashBackend* g_dev = nullptr;
uint64_t g_seed = 0, g_fail_after = 0;

TEST(CrashTest, PowerFailureAtRandomPointsLosesNoAcknowledgedTransaction) {
  RegisterPlain("nvme_mpath_check", 512);
  VfsConfig vc;
  vc.name = "nvme_mpath_power";
  vc.open_backend = [](const std::string& n) -> absl::StatusOr<std::unique_ptr<Backend>> {
    auto b = OpenFileBackend(n, 512, false);
    if (!b.ok()) return b.status();
    auto* d = new CrashBackend(std::move(*b), g_seed, g_fail_after);
    g_dev = d;
    return std::unique_ptr<Backend>(d);
  };
  std::string err;
  ASSERT_EQ(RegisterVfs(vc, &err), SQLITE_OK) << err;
  const int kRuns = 200;
  int lost_writes_runs = 0;
  for (int run = 0; run < kRuns; ++run) {
    const Case& c = kCases[run % 4];
    const std::string f = TempFile("power", 16 << 20);
    FormatFile(f, 512, 0, 4 << 20);
    {  // the bank, made durable, before the faults
      RegisterPlain("nvme_mpath_check", 512);
      sqlite3* db = OpenWith("nvme_mpath_check", f);
      ASSERT_NE(db, nullptr);
      Configure(db, c);
      ASSERT_EQ(BankSetup(db), SQLITE_OK);
      ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
    }
    std::mt19937_64 rng(1000 + run);
    g_seed = rng();
    g_fail_after = 10 + rng() % 600;
    std::vector<long long> acked;
    sqlite3* db = OpenWith("nvme_mpath_power", f);
    ASSERT_NE(db, nullptr) << nvme_mpath_sqlite_errmsg();
    Configure(db, c);
    for (long long id = 1; id < 100000; ++id) {
      if (BankTransfer(db, id, unsigned(rng())) != SQLITE_OK) break;
      acked.push_back(id);
    }
    ASSERT_TRUE(g_dev->dead()) << "run " << run << ": stopped before the power failure";
    if (g_dev->lost() > 0) ++lost_writes_runs;
    sqlite3_close_v2(db);  // its writes fail: the device is gone
    db = OpenWith("nvme_mpath_check", f);
    ASSERT_NE(db, nullptr) << "run " << run << ": " << nvme_mpath_sqlite_errmsg();
    EXPECT_EQ(BankCheck(db, acked), "") << "run " << run << " (" << c.journal << "), power failure at op "
                                        << g_fail_after << ", " << acked.size() << " acknowledged";
    ASSERT_EQ(sqlite3_close(db), SQLITE_OK);
  }
  EXPECT_GT(lost_writes_runs, kRuns / 4) << "the failures must really drop unflushed writes";
}

}  // namespace
}  // namespace nvme_mpath::sqlite
