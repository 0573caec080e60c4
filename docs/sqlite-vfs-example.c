/* The embedding example of docs/sqlite-vfs.md, compiled by the install test against the
 * installed pkg-config entry (nvme-mpath-sqlite):
 *   cc sqlite-vfs-example.c $(pkg-config --cflags --libs nvme-mpath-sqlite) -o example
 *   nvme-mpath-sqlite format /dev/ng0n1 && ./example /dev/ng0n1 */
#include <stdio.h>

#include <sqlite3.h>
#include <nvme_mpath/sqlite_vfs.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s /dev/ngXnY\n", argv[0]);
    return 2;
  }
  char err[256];
  if (nvme_mpath_sqlite_register(NULL, err, sizeof(err)) != SQLITE_OK) { /* VFS "nvme_mpath" */
    fprintf(stderr, "register: %s\n", err);
    return 1;
  }
  sqlite3* db;
  if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "nvme_mpath") != SQLITE_OK) {
    fprintf(stderr, "open: %s: %s\n", sqlite3_errmsg(db), nvme_mpath_sqlite_errmsg());
    sqlite3_close(db);
    return 1;
  }
  char* msg = NULL;
  int rc = sqlite3_exec(db,
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                        "CREATE TABLE IF NOT EXISTS kv(k TEXT PRIMARY KEY, v TEXT);"
                        "INSERT OR REPLACE INTO kv VALUES('hello', 'multipath')",
                        NULL, NULL, &msg);
  if (rc != SQLITE_OK) fprintf(stderr, "exec: %s\n", msg);
  sqlite3_free(msg);
  sqlite3_close(db); /* COMMIT returned: durable on the namespace, whichever path carried it */
  return rc == SQLITE_OK ? 0 : 1;
}
