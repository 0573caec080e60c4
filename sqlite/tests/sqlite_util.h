// File: sqlite/tests/sqlite_util.h — the bank transactions the VFS and crash tests run.
#ifndef NVME_MPATH_SQLITE_TESTS_SQLITE_UTIL_H_
#define NVME_MPATH_SQLITE_TESTS_SQLITE_UTIL_H_

#include <sqlite3.h>

#include <string>
#include <vector>

namespace nvme_mpath::sqlite {

inline int Exec(sqlite3* db, const std::string& sql) { return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr); }

inline long long Query(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  long long v = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

inline std::string Text(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  std::string v = "(no row)";
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return v;
}

constexpr int kAccounts = 20;

// Creates the bank (kAccounts x 1000) when it is not there. Returns an SQLite code.
inline int BankSetup(sqlite3* db) {
  int rc = Exec(db, "CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);"
                    "CREATE TABLE IF NOT EXISTS txlog(id INTEGER PRIMARY KEY, note BLOB)");
  if (rc != SQLITE_OK || Query(db, "SELECT count(*) FROM accounts") > 0) return rc;
  std::string sql = "BEGIN;";
  for (int i = 1; i <= kAccounts; ++i) sql += "INSERT INTO accounts VALUES(" + std::to_string(i) + ", 1000);";
  return Exec(db, sql + "COMMIT");
}

// One transfer, logged under `id` with a note of `note_bytes` (to make transactions span pages).
// Returns the COMMIT's code (SQLITE_OK: acknowledged).
inline int BankTransfer(sqlite3* db, long long id, unsigned r, int note_bytes = 600) {
  const int a = 1 + int(r % kAccounts), b = 1 + int((r / kAccounts) % kAccounts), amt = 1 + int(r % 97);
  std::string sql = "BEGIN IMMEDIATE;UPDATE accounts SET balance = balance - " + std::to_string(amt) +
                    " WHERE id = " + std::to_string(a) + ";UPDATE accounts SET balance = balance + " +
                    std::to_string(amt) + " WHERE id = " + std::to_string(b) + ";INSERT INTO txlog VALUES(" +
                    std::to_string(id) + ", randomblob(" + std::to_string(note_bytes) + "));";
  if (int rc = Exec(db, sql); rc != SQLITE_OK) {
    Exec(db, "ROLLBACK");
    return rc;
  }
  int rc = Exec(db, "COMMIT");
  if (rc != SQLITE_OK) Exec(db, "ROLLBACK");
  return rc;
}

// "" when integrity_check is ok, the invariant holds and every id is in txlog; else what is wrong.
inline std::string BankCheck(sqlite3* db, const std::vector<long long>& acked) {
  std::string ic = Text(db, "PRAGMA integrity_check");
  if (ic != "ok") return "integrity_check: " + ic;
  if (Query(db, "SELECT count(*) FROM sqlite_master WHERE name = 'accounts'") == 0)
    return acked.empty() ? "" : "no accounts table but acknowledged transactions";
  if (Query(db, "SELECT count(*) FROM accounts") != 0 &&
      (Query(db, "SELECT count(*) FROM accounts") != kAccounts || Query(db, "SELECT total(balance) FROM accounts") != kAccounts * 1000))
    return "invariant: sum " + std::to_string(Query(db, "SELECT total(balance) FROM accounts"));
  for (long long id : acked)
    if (Query(db, "SELECT count(*) FROM txlog WHERE id = " + std::to_string(id)) != 1)
      return "acknowledged transaction " + std::to_string(id) + " is missing";
  return "";
}

}  // namespace nvme_mpath::sqlite

#endif  // NVME_MPATH_SQLITE_TESTS_SQLITE_UTIL_H_
