/* nvme-mpath-sqlite-bank: a bank-transfer workload on SQLite, for the lab's fault storm and kill
 * test (tests/integration/sqlite_guest.sh) and the comparison with SQLite on ext4.
 *
 *   nvme-mpath-sqlite-bank --db NAME [--vfs nvme_mpath|unix] [--seconds S | --txns N] ...
 *   nvme-mpath-sqlite-bank --db NAME --check [--committed FILE]
 *
 * Run: N accounts of 1000 each; every transaction moves a random amount between two random
 * accounts and logs itself in table txlog under the next id. After COMMIT returned SQLITE_DONE
 * the id is written (write(2), one line) to the committed-ids file (--log; default stdout), so a
 * killed run's file lists exactly the transactions it saw acknowledged. At the end: integrity
 * check, the invariant (the balances sum to N x 1000), and a one-line JSON summary.
 * --check: open, integrity check, invariant, and every id of --committed present in txlog.
 * Exit status 0 when everything held (no SQLite error, integrity ok, invariant ok, no id lost). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include <nvme_mpath/nvme_mpath.h>
#include <nvme_mpath/sqlite_vfs.h>

struct opts {
  const char* db;
  const char* vfs;
  const char* log;
  const char* json;
  const char* committed;
  const char* journal_mode;
  const char* synchronous;
  const char* stop_file; /* the run also ends once this file exists (a fault script is done) */
  long accounts, seconds, txns, seed, cmd_timeout_ms;
  unsigned long long lba_offset;
  int check;
};

static void usage(FILE* f) {
  fprintf(f,
          "usage: nvme-mpath-sqlite-bank --db NAME [--vfs nvme_mpath|unix] [--accounts N] [--seconds S]\n"
          "         [--txns N] [--journal-mode delete|truncate|persist|wal] [--synchronous full|extra|normal]\n"
          "         [--log FILE] [--json FILE] [--seed N] [--cmd-timeout-ms MS] [--lba-offset LBA]\n"
          "         [--stop-file F]   (the run also ends once F exists, looked at every 100 transactions)\n"
          "       nvme-mpath-sqlite-bank --db NAME --check [--committed FILE] [--vfs ...] [--lba-offset LBA]\n");
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int exec(sqlite3* db, const char* sql) {
  char* err = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK) {
    fprintf(stderr, "bank: %s: %s\n", sql, err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
  }
  return rc;
}

static long long query1(sqlite3* db, const char* sql, int* rc) {
  sqlite3_stmt* st = NULL;
  long long v = -1;
  *rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (*rc == SQLITE_OK && (*rc = sqlite3_step(st)) == SQLITE_ROW) {
    v = sqlite3_column_int64(st, 0);
    *rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return v;
}

/* "ok", or the first line integrity_check returned (in buf). */
static const char* integrity(sqlite3* db, char* buf, size_t n) {
  sqlite3_stmt* st = NULL;
  snprintf(buf, n, "integrity_check could not run");
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    snprintf(buf, n, "%s", (const char*)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return buf;
}

static int invariant(sqlite3* db, long accounts) {
  int rc1, rc2;
  long long sum = query1(db, "SELECT total(balance) FROM accounts", &rc1);
  long long n = query1(db, "SELECT count(*) FROM accounts", &rc2);
  if (rc1 != SQLITE_OK || rc2 != SQLITE_OK) return 0;
  if (accounts <= 0) accounts = (long)n;
  return n == accounts && sum == (long long)accounts * 1000;
}

static sqlite3* open_db(const struct opts* o) {
  const char* vfs = NULL;
  if (strcmp(o->vfs, "nvme_mpath") == 0) {
    struct nvme_mpath_options eo;
    nvme_mpath_options_init(&eo);
    eo.name = "sqlite-bank";
    if (o->cmd_timeout_ms > 0) eo.cmd_timeout_ms = (uint32_t)o->cmd_timeout_ms;
    struct nvme_mpath_sqlite_options so;
    nvme_mpath_sqlite_options_init(&so);
    so.engine = &eo;
    char err[512];
    if (nvme_mpath_sqlite_register(&so, err, sizeof(err)) != SQLITE_OK) {
      fprintf(stderr, "bank: %s\n", err);
      return NULL;
    }
    vfs = NVME_MPATH_SQLITE_VFS;
  } else if (strcmp(o->vfs, "unix") != 0) {
    fprintf(stderr, "bank: --vfs wants nvme_mpath or unix, not '%s'\n", o->vfs);
    return NULL;
  }
  char name[4096];
  if (o->lba_offset)
    snprintf(name, sizeof(name), "file:%s?lba_offset=%llu", o->db, o->lba_offset);
  else
    snprintf(name, sizeof(name), "%s", o->db);
  sqlite3* db = NULL;
  int rc = sqlite3_open_v2(name, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, vfs);
  if (rc != SQLITE_OK) {
    fprintf(stderr, "bank: open %s: %s%s%s\n", name, sqlite3_errstr(rc), vfs ? ": " : "",
            vfs ? nvme_mpath_sqlite_errmsg() : "");
    sqlite3_close(db);
    return NULL;
  }
  sqlite3_busy_timeout(db, 5000);
  return db;
}

static void engine_counters(sqlite3* db, uint64_t* failovers, uint64_t* retries, uint64_t* requeues) {
  nvme_mpath_engine* e = NULL;
  *failovers = *retries = *requeues = 0;
  if (sqlite3_file_control(db, "main", NVME_MPATH_SQLITE_FCNTL_ENGINE, &e) != SQLITE_OK || e == NULL) return;
  struct nvme_mpath_path_stats ps[16];
  int n = nvme_mpath_path_stats(e, ps, 16);
  for (int i = 0; i < n; i++) {
    *failovers += ps[i].failovers;
    *retries += ps[i].retries;
    *requeues += ps[i].requeues;
  }
}

static int check(const struct opts* o) {
  sqlite3* db = open_db(o);
  if (db == NULL) return 1;
  char ib[512];
  const char* ok = integrity(db, ib, sizeof(ib));
  int inv = invariant(db, o->accounts);
  long long ids = 0, missing = 0;
  if (o->committed) {
    FILE* f = fopen(o->committed, "r");
    if (f == NULL) {
      fprintf(stderr, "bank: %s: %s\n", o->committed, strerror(errno));
      sqlite3_close(db);
      return 1;
    }
    sqlite3_stmt* st = NULL;
    sqlite3_prepare_v2(db, "SELECT 1 FROM txlog WHERE id = ?1", -1, &st, NULL);
    long long id;
    while (fscanf(f, "%lld", &id) == 1) {
      ids++;
      sqlite3_reset(st);
      sqlite3_bind_int64(st, 1, id);
      if (st == NULL || sqlite3_step(st) != SQLITE_ROW) {
        if (missing < 5) fprintf(stderr, "bank: committed transaction %lld is missing\n", id);
        missing++;
      }
    }
    sqlite3_finalize(st);
    fclose(f);
  }
  int rc;
  long long rows = query1(db, "SELECT count(*) FROM txlog", &rc);
  printf("{\"mode\": \"check\", \"integrity\": \"%s\", \"invariant\": %s, \"committed_ids\": %lld, "
         "\"missing\": %lld, \"txlog_rows\": %lld}\n",
         strcmp(ok, "ok") == 0 ? "ok" : "failed", inv ? "true" : "false", ids, missing, rows);
  if (strcmp(ok, "ok") != 0) fprintf(stderr, "bank: integrity_check: %s\n", ok);
  sqlite3_close(db);
  return strcmp(ok, "ok") == 0 && inv && missing == 0 ? 0 : 1;
}

static int run(const struct opts* o) {
  int logfd = 1;
  if (o->log && (logfd = open(o->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
    fprintf(stderr, "bank: %s: %s\n", o->log, strerror(errno));
    return 1;
  }
  sqlite3* db = open_db(o);
  if (db == NULL) return 1;
  char sql[256];
  snprintf(sql, sizeof(sql), "PRAGMA journal_mode=%s", o->journal_mode);
  int rc;
  sqlite3_stmt* jm = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &jm, NULL) != SQLITE_OK || sqlite3_step(jm) != SQLITE_ROW ||
      strcasecmp((const char*)sqlite3_column_text(jm, 0), o->journal_mode) != 0) {
    fprintf(stderr, "bank: %s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(jm);
    sqlite3_close(db);
    return 1;
  }
  sqlite3_finalize(jm);
  snprintf(sql, sizeof(sql), "PRAGMA synchronous=%s", o->synchronous);
  if (exec(db, sql) != SQLITE_OK ||
      exec(db, "CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);"
               "CREATE TABLE IF NOT EXISTS txlog(id INTEGER PRIMARY KEY, src INTEGER, dst INTEGER, amount INTEGER)") !=
          SQLITE_OK) {
    sqlite3_close(db);
    return 1;
  }
  if (query1(db, "SELECT count(*) FROM accounts", &rc) == 0) {
    exec(db, "BEGIN");
    for (long i = 1; i <= o->accounts; i++) {
      snprintf(sql, sizeof(sql), "INSERT INTO accounts VALUES(%ld, 1000)", i);
      exec(db, sql);
    }
    if (exec(db, "COMMIT") != SQLITE_OK) {
      sqlite3_close(db);
      return 1;
    }
  }
  long long next = query1(db, "SELECT coalesce(max(id), 0) + 1 FROM txlog", &rc);
  sqlite3_stmt *begin, *debit, *credit, *logst, *commit, *rollback;
  sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL);
  sqlite3_prepare_v2(db, "UPDATE accounts SET balance = balance - ?1 WHERE id = ?2", -1, &debit, NULL);
  sqlite3_prepare_v2(db, "UPDATE accounts SET balance = balance + ?1 WHERE id = ?2", -1, &credit, NULL);
  sqlite3_prepare_v2(db, "INSERT INTO txlog VALUES(?1, ?2, ?3, ?4)", -1, &logst, NULL);
  sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL);
  sqlite3_prepare_v2(db, "ROLLBACK", -1, &rollback, NULL);
  srandom((unsigned)o->seed);
  const double t0 = now_s();
  long long done = 0, errors = 0, consecutive = 0;
  double max_txn_s = 0;
  while ((o->txns <= 0 || done < o->txns) && (o->seconds <= 0 || now_s() - t0 < (double)o->seconds)) {
    if (o->stop_file != NULL && done % 100 == 0 && access(o->stop_file, F_OK) == 0) break;
    const long a = 1 + random() % o->accounts, b = 1 + random() % o->accounts, amount = 1 + random() % 100;
    const double ts = now_s();
    sqlite3_stmt* steps[] = {begin, debit, credit, logst, commit};
    sqlite3_bind_int64(debit, 1, amount);
    sqlite3_bind_int64(debit, 2, a);
    sqlite3_bind_int64(credit, 1, amount);
    sqlite3_bind_int64(credit, 2, b);
    sqlite3_bind_int64(logst, 1, next);
    sqlite3_bind_int64(logst, 2, a);
    sqlite3_bind_int64(logst, 3, b);
    sqlite3_bind_int64(logst, 4, amount);
    int failed = 0;
    for (int i = 0; i < 5 && !failed; i++) {
      rc = sqlite3_step(steps[i]);
      sqlite3_reset(steps[i]);
      if (rc != SQLITE_DONE) {
        fprintf(stderr, "bank: transaction %lld step %d: %s (%s)\n", next, i, sqlite3_errstr(rc), sqlite3_errmsg(db));
        failed = 1;
      }
    }
    if (failed) {
      errors++;
      if (!sqlite3_get_autocommit(db)) {
        sqlite3_step(rollback);
        sqlite3_reset(rollback);
      }
      if (++consecutive >= 100) break;
      continue;
    }
    consecutive = 0;
    char line[32];
    int n = snprintf(line, sizeof(line), "%lld\n", next);
    if (write(logfd, line, (size_t)n) != n) fprintf(stderr, "bank: committed-ids log: %s\n", strerror(errno));
    if (now_s() - ts > max_txn_s) max_txn_s = now_s() - ts;
    next++;
    done++;
  }
  const double el = now_s() - t0;
  sqlite3_stmt* all[] = {begin, debit, credit, logst, commit, rollback};
  for (int i = 0; i < 6; i++) sqlite3_finalize(all[i]);
  char ib[512];
  const char* ok = integrity(db, ib, sizeof(ib));
  int inv = invariant(db, o->accounts);
  uint64_t failovers, retries, requeues;
  engine_counters(db, &failovers, &retries, &requeues);
  char summary[1024];
  snprintf(summary, sizeof(summary),
           "{\"mode\": \"run\", \"vfs\": \"%s\", \"journal_mode\": \"%s\", \"transactions\": %lld, \"errors\": %lld, "
           "\"seconds\": %.2f, \"tps\": %.1f, \"max_txn_s\": %.3f, \"integrity\": \"%s\", \"invariant\": %s, "
           "\"last_id\": %lld, \"failovers\": %" PRIu64 ", \"retries\": %" PRIu64 ", \"requeues\": %" PRIu64 "}\n",
           o->vfs, o->journal_mode, done, errors, el, el > 0 ? (double)done / el : 0.0, max_txn_s,
           strcmp(ok, "ok") == 0 ? "ok" : "failed", inv ? "true" : "false", next - 1, failovers, retries, requeues);
  if (strcmp(ok, "ok") != 0) fprintf(stderr, "bank: integrity_check: %s\n", ok);
  if (o->json) {
    FILE* f = fopen(o->json, "w");
    if (f) {
      fputs(summary, f);
      fclose(f);
    }
  }
  fputs(summary, logfd == 1 ? stderr : stdout);
  rc = sqlite3_close(db);
  if (logfd != 1) close(logfd);
  return errors == 0 && strcmp(ok, "ok") == 0 && inv && rc == SQLITE_OK ? 0 : 1;
}

int main(int argc, char** argv) {
  struct opts o = {.vfs = "nvme_mpath", .journal_mode = "delete", .synchronous = "full", .accounts = 100,
                   .seconds = 10, .seed = 1};
  static const struct option lo[] = {
      {"db", 1, 0, 'd'},        {"vfs", 1, 0, 'v'},         {"accounts", 1, 0, 'a'},   {"seconds", 1, 0, 's'},
      {"txns", 1, 0, 'n'},      {"journal-mode", 1, 0, 'j'}, {"synchronous", 1, 0, 'y'}, {"log", 1, 0, 'l'},
      {"json", 1, 0, 'J'},      {"seed", 1, 0, 'S'},        {"cmd-timeout-ms", 1, 0, 't'}, {"lba-offset", 1, 0, 'o'},
      {"check", 0, 0, 'c'},     {"committed", 1, 0, 'C'},   {"help", 0, 0, 'h'},       {"stop-file", 1, 0, 'F'},
      {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
    switch (c) {
      case 'd': o.db = optarg; break;
      case 'v': o.vfs = optarg; break;
      case 'a': o.accounts = strtol(optarg, NULL, 0); break;
      case 's': o.seconds = strtol(optarg, NULL, 0); break;
      case 'n': o.txns = strtol(optarg, NULL, 0); break;
      case 'j': o.journal_mode = optarg; break;
      case 'y': o.synchronous = optarg; break;
      case 'l': o.log = optarg; break;
      case 'J': o.json = optarg; break;
      case 'S': o.seed = strtol(optarg, NULL, 0); break;
      case 't': o.cmd_timeout_ms = strtol(optarg, NULL, 0); break;
      case 'o': o.lba_offset = strtoull(optarg, NULL, 0); break;
      case 'c': o.check = 1; break;
      case 'C': o.committed = optarg; break;
      case 'F': o.stop_file = optarg; break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
  }
  if (o.db == NULL || optind != argc || o.accounts < 2 || o.accounts > 1000000) {
    usage(stderr);
    return 2;
  }
  if (o.txns > 0 && o.seconds == 10) o.seconds = 0; /* --txns alone: no time limit */
  return o.check ? check(&o) : run(&o);
}
