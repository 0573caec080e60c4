/* File: nvme_mpath/sqlite_vfs.h
 *
 * An SQLite VFS on an NVMe multipath namespace (libnvme_mpath_sqlite.so, pkg-config
 * nvme-mpath-sqlite; docs/sqlite-vfs.md). The database name is the device:
 *
 *   nvme_mpath_sqlite_register(NULL, NULL, 0);
 *   sqlite3_open_v2("/dev/ng0n1", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "nvme_mpath");
 *
 * opens the region that `nvme-mpath-sqlite format /dev/ng0n1` laid out, through any one path of
 * the namespace (the engine finds the others and fails over between them). A URI name takes the
 * region's first LBA: "file:/dev/ng0n1?vfs=nvme_mpath&lba_offset=2048". A regular file is
 * accepted too (formatted the same way; for tests and development).
 *
 * One process per region (a second one gets SQLITE_BUSY); any number of connections and threads
 * in that process. Journal modes DELETE, TRUNCATE, PERSIST and WAL (its shared memory lives in the
 * process's heap); MEMORY and OFF as SQLite does them. Temporary files go to SQLite's default VFS.
 *
 * The library is also a loadable SQLite extension: `.load libnvme_mpath_sqlite` in the sqlite3
 * shell (entry point sqlite3_nvmempathsqlite_init, also named sqlite3_nvmempath_init) registers
 * the VFS "nvme_mpath" with the defaults.
 */
#ifndef NVME_MPATH_SQLITE_VFS_H_
#define NVME_MPATH_SQLITE_VFS_H_

#include <stddef.h>
#include <stdint.h>

#include <nvme_mpath/nvme_mpath.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define NVME_MPATH_SQLITE_API __attribute__((visibility("default")))
#else
#define NVME_MPATH_SQLITE_API
#endif

/* The default VFS name. */
#define NVME_MPATH_SQLITE_VFS "nvme_mpath"

/* sqlite3_file_control(db, "main", NVME_MPATH_SQLITE_FCNTL_ENGINE, &engine) sets
 * `nvme_mpath_engine* engine` to the engine under the database (for nvme_mpath_path_stats and
 * the other C API calls; NULL on a regular file). Valid while the database is open. */
#define NVME_MPATH_SQLITE_FCNTL_ENGINE 0x4e4d5001

struct nvme_mpath_sqlite_options {
  uint32_t size;                          /* sizeof(struct nvme_mpath_sqlite_options), set by _init */
  const char* vfs_name;                   /* default NVME_MPATH_SQLITE_VFS */
  int make_default;                       /* 1: the default VFS of every sqlite3_open */
  const struct nvme_mpath_options* engine;/* engine options for every namespace the VFS opens;
                                             NULL = nvme_mpath_options_init()'s; its paths,
                                             subsysnqn and nsid are ignored (the name says) */
  uint32_t queue_depth;                   /* per opened namespace; default 32 */
  const char* lock_dir;                   /* the cross-process lock files; default /run/lock */
  uint32_t file_lba_size;                 /* block size on a regular file; default 4096 */
};

/* Fills `o` with the defaults. */
NVME_MPATH_SQLITE_API void nvme_mpath_sqlite_options_init(struct nvme_mpath_sqlite_options* o);

/* Registers the VFS (o = NULL: the defaults). Returns SQLITE_OK, SQLITE_MISUSE for bad options
 * (with a message in errbuf when not NULL), SQLITE_NOMEM, or sqlite3_vfs_register's error. A
 * second registration of the same name replaces the options for namespaces opened afterwards. */
NVME_MPATH_SQLITE_API int nvme_mpath_sqlite_register(const struct nvme_mpath_sqlite_options* o,
                                                     char* errbuf, size_t errlen);

/* Unregisters the VFS `vfs_name` (NULL: the default name). SQLITE_BUSY while a database is open
 * on it, SQLITE_NOTFOUND when it is not registered. */
NVME_MPATH_SQLITE_API int nvme_mpath_sqlite_unregister(const char* vfs_name);

/* The message of the last open of this thread that the VFS refused (not formatted, corrupt,
 * another layout version, in use by another process, the device could not be opened), "" when
 * none. SQLite itself says only "unable to open database file"; the same line goes to
 * sqlite3_log(). */
NVME_MPATH_SQLITE_API const char* nvme_mpath_sqlite_errmsg(void);

#ifdef __cplusplus
}
#endif

#endif /* NVME_MPATH_SQLITE_VFS_H_ */
