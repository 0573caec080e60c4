// File: sqlite/vfs.cc
//
// The sqlite3_vfs "nvme_mpath" (include/nvme_mpath/sqlite_vfs.h, docs/sqlite-vfs.md): SQLite's
// main database, rollback journal and WAL of a database map to the three files of a Region;
// temporary files go to the default VFS as it was when the VFS was registered.
//
// Threading: SQLite calls a file's methods from one thread at a time (it serialises a
// connection), but several connections of the process may share a region from several threads:
// the Region, its LockTable and ShmTable each take their own mutex. The VFS's mutex guards its
// table of open regions and its configuration; a region is released under it, so that it is
// closed (its lock released) before another open of the same name can start.
#include <sqlite3.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "nvme_mpath/sqlite_vfs.h"
#include "region.h"
#include "vfs_internal.h"

namespace nvme_mpath::sqlite {
namespace {

thread_local std::string t_errmsg;

struct OpenRegion {
  std::weak_ptr<Region> region;
  uint64_t lba_offset = 0;
};

struct Vfs {
  sqlite3_vfs base;  // first: SQLite hands back &base
  std::string name;
  sqlite3_vfs* fallback = nullptr;
  std::mutex mu;
  VfsConfig cfg;                               // guarded by mu
  std::map<std::string, OpenRegion> regions;   // guarded by mu; by database name
  std::atomic<int> open_files{0};
};

struct FileState {
  Vfs* vfs = nullptr;
  FileKind kind = FileKind::kDb;
  std::shared_ptr<Region> region;
  int lock = kLockNone;
  ShmConn shm;
};

struct MpFile {
  sqlite3_file base;
  FileState* st;
};

std::mutex g_mu;
std::map<std::string, Vfs*>& Registry() {  // VFSs live as long as the process (SQLite keeps pointers)
  static auto* m = new std::map<std::string, Vfs*>;
  return *m;
}

Vfs* VfsOf(sqlite3_vfs* v) { return reinterpret_cast<Vfs*>(v); }
FileState* St(sqlite3_file* f) { return reinterpret_cast<MpFile*>(f)->st; }

int Refuse(int rc, const std::string& msg) {
  t_errmsg = msg;
  sqlite3_log(rc, "%s", msg.c_str());
  return rc;
}

// Logs an I/O error with what failed, and returns `rc`.
int IoError(int rc, const FileState* st, const char* op, int err, uint64_t off = 0, size_t n = 0) {
  sqlite3_log(rc, "nvme_mpath: %s %s of %s at %llu (+%zu): %s", st->region->backend().name().c_str(), op,
              FileKindName(st->kind), static_cast<unsigned long long>(off), n, strerror(-err));
  return rc;
}

// ---- sqlite3_io_methods ------------------------------------------------------------------

void Release(FileState* st) {
  std::lock_guard<std::mutex> l(st->vfs->mu);
  st->region.reset();  // the last one closes the region here, under the VFS's mutex
}

int Close(sqlite3_file* f) {
  FileState* st = St(f);
  st->region->shm().Unmap(&st->shm);
  st->region->locks().Unlock(st, &st->lock, kLockNone);
  Vfs* vfs = st->vfs;
  Release(st);
  delete st;
  --vfs->open_files;
  return SQLITE_OK;
}

int Read(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  FileState* st = St(f);
  int r = st->region->Read(st->kind, uint64_t(off), buf, size_t(amt));
  if (r == 0) return SQLITE_OK;
  if (r == Region::kShortRead) return SQLITE_IOERR_SHORT_READ;
  return IoError(SQLITE_IOERR_READ, st, "read", r, uint64_t(off), size_t(amt));
}

int Write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  FileState* st = St(f);
  int r = st->region->Write(st->kind, uint64_t(off), buf, size_t(amt));
  if (r == 0) return SQLITE_OK;
  if (r == -ENOSPC) {
    sqlite3_log(SQLITE_FULL, "nvme_mpath: %s: the %s is full (its extent is %llu bytes)",
                st->region->backend().name().c_str(), FileKindName(st->kind),
                static_cast<unsigned long long>(st->region->MaxSize(st->kind)));
    return SQLITE_FULL;
  }
  return IoError(SQLITE_IOERR_WRITE, st, "write", r, uint64_t(off), size_t(amt));
}

int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  FileState* st = St(f);
  int r = st->region->Truncate(st->kind, uint64_t(size));
  if (r == 0) return SQLITE_OK;
  return r == -ENOSPC ? SQLITE_FULL : IoError(SQLITE_IOERR_TRUNCATE, st, "truncate", r, uint64_t(size));
}

// xSync = the engine's flush (NVMe Flush; docs/durability.md for what it covers across paths),
// and the file table when a size changed. The flags (FULL, DATAONLY) change nothing: a flush
// is a flush, and sizes are metadata SQLite needs durable too.
int Sync(sqlite3_file* f, int) {
  FileState* st = St(f);
  int r = st->region->Sync();
  return r == 0 ? SQLITE_OK : IoError(SQLITE_IOERR_FSYNC, st, "sync", r);
}

int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  FileState* st = St(f);
  *size = sqlite3_int64(st->region->Size(st->kind));
  return SQLITE_OK;
}

int Lock(sqlite3_file* f, int level) {
  FileState* st = St(f);
  return st->region->locks().Lock(st, &st->lock, level) ? SQLITE_OK : SQLITE_BUSY;
}

int Unlock(sqlite3_file* f, int level) {
  FileState* st = St(f);
  st->region->locks().Unlock(st, &st->lock, level);
  return SQLITE_OK;
}

int CheckReservedLock(sqlite3_file* f, int* out) {
  *out = St(f)->region->locks().Reserved() ? 1 : 0;
  return SQLITE_OK;
}

int FileControl(sqlite3_file* f, int op, void* arg) {
  FileState* st = St(f);
  switch (op) {
    case NVME_MPATH_SQLITE_FCNTL_ENGINE:
      *static_cast<nvme_mpath_engine**>(arg) = st->region->backend().engine();
      return SQLITE_OK;
    case SQLITE_FCNTL_VFSNAME:
      *static_cast<char**>(arg) = sqlite3_mprintf("%s", st->vfs->name.c_str());
      return SQLITE_OK;
    case SQLITE_FCNTL_SIZE_HINT:  // a file that will not fit is refused now, not half-way
      return uint64_t(*static_cast<sqlite3_int64*>(arg)) > st->region->MaxSize(st->kind) ? SQLITE_FULL : SQLITE_OK;
    default:
      return SQLITE_NOTFOUND;
  }
}

int SectorSize(sqlite3_file* f) { return int(St(f)->region->lba_size()); }

int DeviceChars(sqlite3_file* f) {
  Region& r = *St(f)->region;
  return DeviceCharacteristics(r.atomic_write_bytes(), r.lba_size());
}

int ShmMap(sqlite3_file* f, int i, int size, int extend, void volatile** pp) {
  FileState* st = St(f);
  bool nomem = false;
  *pp = st->region->shm().Map(&st->shm, i, size, extend != 0, &nomem);
  return nomem ? SQLITE_NOMEM : SQLITE_OK;
}

int ShmLock(sqlite3_file* f, int ofst, int n, int flags) {
  FileState* st = St(f);
  return st->region->shm().Lock(&st->shm, ofst, n, flags) ? SQLITE_OK : SQLITE_BUSY;
}

void ShmBarrier(sqlite3_file*) { std::atomic_thread_fence(std::memory_order_seq_cst); }

int ShmUnmap(sqlite3_file* f, int) {
  FileState* st = St(f);
  st->region->shm().Unmap(&st->shm);
  return SQLITE_OK;
}

const sqlite3_io_methods kMethods = {
    2,  // iVersion: with the shared-memory methods (WAL), without xFetch (no mmap)
    Close, Read, Write, Truncate, Sync, FileSize, Lock, Unlock, CheckReservedLock, FileControl,
    SectorSize, DeviceChars, ShmMap, ShmLock, ShmBarrier, ShmUnmap, nullptr, nullptr,
};

// ---- sqlite3_vfs -------------------------------------------------------------------------

// Returns the open region of database `db`, opening it (`kind` kDb: at `lba_offset`) when it is
// not. Sets *rc on failure.
std::shared_ptr<Region> GetRegion(Vfs* vfs, const std::string& db, FileKind kind, uint64_t lba_offset, int* rc) {
  std::lock_guard<std::mutex> l(vfs->mu);
  auto it = vfs->regions.find(db);
  if (it != vfs->regions.end()) {
    if (std::shared_ptr<Region> r = it->second.region.lock()) {
      if (kind == FileKind::kDb && it->second.lba_offset != lba_offset) {
        *rc = Refuse(SQLITE_CANTOPEN, fmt::format("nvme_mpath: {} is open at LBA offset {} in this process, not {}",
                                                  db, it->second.lba_offset, lba_offset));
        return nullptr;
      }
      return r;
    }
  }
  if (kind != FileKind::kDb) {
    *rc = Refuse(SQLITE_CANTOPEN, fmt::format("nvme_mpath: {} of {}: the database is not open", FileKindName(kind), db));
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<Backend>> b = vfs->cfg.open_backend(db);
  absl::StatusOr<std::unique_ptr<Region>> region =
      b.ok() ? Region::Open(std::move(*b), lba_offset, vfs->cfg.lock) : absl::StatusOr<std::unique_ptr<Region>>(b.status());
  if (!region.ok()) {
    const absl::Status& s = region.status();
    std::string msg(s.message());
    if (msg.rfind("nvme_mpath:", 0) != 0) msg = fmt::format("nvme_mpath: {}: {}", db, msg);
    *rc = Refuse(absl::IsUnavailable(s) ? SQLITE_BUSY : SQLITE_CANTOPEN, msg);
    return nullptr;
  }
  std::shared_ptr<Region> r(std::move(*region));
  vfs->regions[db] = {r, lba_offset};
  return r;
}

int Open(sqlite3_vfs* v, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  Vfs* vfs = VfsOf(v);
  f->pMethods = nullptr;
  constexpr int kTemp = SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_TEMP_JOURNAL | SQLITE_OPEN_TRANSIENT_DB |
                        SQLITE_OPEN_SUBJOURNAL;
  if (name == nullptr || (flags & kTemp)) return vfs->fallback->xOpen(vfs->fallback, name, f, flags, out_flags);
  FileKind kind;
  std::string db;
  if (flags & SQLITE_OPEN_MAIN_DB) {
    kind = FileKind::kDb;
    db = name;
  } else if (flags & (SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_WAL)) {
    kind = (flags & SQLITE_OPEN_WAL) ? FileKind::kWal : FileKind::kJournal;
    db = sqlite3_filename_database(name);
  } else {
    return Refuse(SQLITE_CANTOPEN, fmt::format("nvme_mpath: {}: only a main database, its rollback journal and "
                                               "its WAL are stored (a super-journal, for a transaction over "
                                               "several attached databases, is not supported)", name));
  }
  const uint64_t lba_offset = kind == FileKind::kDb ? uint64_t(sqlite3_uri_int64(name, "lba_offset", 0)) : 0;
  int rc = SQLITE_OK;
  std::shared_ptr<Region> region = GetRegion(vfs, db, kind, lba_offset, &rc);
  if (!region) return rc;
  if (!region->Exists(kind)) {
    if (!(flags & SQLITE_OPEN_CREATE)) {
      std::lock_guard<std::mutex> l(vfs->mu);
      region.reset();
      return SQLITE_CANTOPEN;  // not there (SQLite asks without CREATE to see whether it is)
    }
    region->Create(kind);
  }
  auto* st = new (std::nothrow) FileState;
  if (st == nullptr) {
    std::lock_guard<std::mutex> l(vfs->mu);
    region.reset();
    return SQLITE_NOMEM;
  }
  st->vfs = vfs;
  st->kind = kind;
  st->region = std::move(region);
  reinterpret_cast<MpFile*>(f)->st = st;
  ++vfs->open_files;
  f->pMethods = &kMethods;
  if (out_flags) *out_flags = flags;
  t_errmsg.clear();
  return SQLITE_OK;
}

std::shared_ptr<Region> FindRegion(Vfs* vfs, const std::string& db) {
  std::lock_guard<std::mutex> l(vfs->mu);
  auto it = vfs->regions.find(db);
  return it == vfs->regions.end() ? nullptr : it->second.region.lock();
}

void Drop(Vfs* vfs, std::shared_ptr<Region>* r) {
  std::lock_guard<std::mutex> l(vfs->mu);
  r->reset();
}

// xDelete of a journal or WAL: size 0 and gone, durable now when SQLite asks (syncDir: the
// hot-journal check depends on it).
int Delete(sqlite3_vfs* v, const char* name, int sync_dir) {
  Vfs* vfs = VfsOf(v);
  std::string db;
  FileKind kind;
  if (!SplitFileName(name, &db, &kind)) return vfs->fallback->xDelete(vfs->fallback, name, sync_dir);
  std::shared_ptr<Region> region = FindRegion(vfs, db);
  if (!region) return SQLITE_IOERR_DELETE_NOENT;
  int r = region->Delete(kind, sync_dir != 0);
  Drop(vfs, &region);
  if (r == 0) return SQLITE_OK;
  sqlite3_log(SQLITE_IOERR_DELETE, "nvme_mpath: %s: delete %s: %s", db.c_str(), FileKindName(kind), strerror(-r));
  return SQLITE_IOERR_DELETE;
}

// xAccess: a journal or WAL "exists" when it has bytes (as the unix VFS answers for an empty
// file); the database when its region is open or its device or file exists.
int Access(sqlite3_vfs* v, const char* name, int flags, int* out) {
  Vfs* vfs = VfsOf(v);
  std::string db;
  FileKind kind;
  const bool sub = SplitFileName(name, &db, &kind);
  std::shared_ptr<Region> region = FindRegion(vfs, db);
  if (region) {
    *out = kind == FileKind::kDb ? 1 : (region->Exists(kind) && region->Size(kind) > 0);
    Drop(vfs, &region);
    return SQLITE_OK;
  }
  if (sub) {
    *out = 0;
    return SQLITE_OK;
  }
  return vfs->fallback->xAccess(vfs->fallback, name, flags, out);
}

int FullPathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  Vfs* vfs = VfsOf(v);
  return vfs->fallback->xFullPathname(vfs->fallback, name, n, out);
}

int Randomness(sqlite3_vfs* v, int n, char* out) {
  Vfs* vfs = VfsOf(v);
  return vfs->fallback->xRandomness(vfs->fallback, n, out);
}
int Sleep(sqlite3_vfs* v, int us) {
  Vfs* vfs = VfsOf(v);
  return vfs->fallback->xSleep(vfs->fallback, us);
}
int CurrentTime(sqlite3_vfs* v, double* t) {
  Vfs* vfs = VfsOf(v);
  return vfs->fallback->xCurrentTime(vfs->fallback, t);
}
int GetLastError(sqlite3_vfs*, int n, char* out) {
  if (n > 0) snprintf(out, size_t(n), "%s", t_errmsg.c_str());
  return 0;
}
int CurrentTimeInt64(sqlite3_vfs* v, sqlite3_int64* t) {
  Vfs* vfs = VfsOf(v);
  if (vfs->fallback->iVersion >= 2 && vfs->fallback->xCurrentTimeInt64)
    return vfs->fallback->xCurrentTimeInt64(vfs->fallback, t);
  double d;
  int rc = vfs->fallback->xCurrentTime(vfs->fallback, &d);
  *t = sqlite3_int64(d * 86400000.0);
  return rc;
}

}  // namespace

bool SplitFileName(const std::string& name, std::string* db, FileKind* kind) {
  auto ends = [&](const char* s) {
    const size_t n = strlen(s);
    return name.size() > n && name.compare(name.size() - n, n, s) == 0 ? n : size_t(0);
  };
  if (size_t n = ends("-journal")) {
    *db = name.substr(0, name.size() - n);
    *kind = FileKind::kJournal;
    return true;
  }
  if (size_t n = ends("-wal")) {
    *db = name.substr(0, name.size() - n);
    *kind = FileKind::kWal;
    return true;
  }
  *db = name;
  *kind = FileKind::kDb;
  return false;
}

int DeviceCharacteristics(uint64_t atomic_bytes, uint32_t lba_size) {
  static const struct {
    uint64_t bytes;
    int flag;
  } kAtomic[] = {{512, SQLITE_IOCAP_ATOMIC512}, {1024, SQLITE_IOCAP_ATOMIC1K}, {2048, SQLITE_IOCAP_ATOMIC2K},
                 {4096, SQLITE_IOCAP_ATOMIC4K}, {8192, SQLITE_IOCAP_ATOMIC8K}, {16384, SQLITE_IOCAP_ATOMIC16K},
                 {32768, SQLITE_IOCAP_ATOMIC32K}, {65536, SQLITE_IOCAP_ATOMIC64K}};
  if (atomic_bytes < lba_size || lba_size == 0) return 0;
  int f = SQLITE_IOCAP_POWERSAFE_OVERWRITE;
  for (const auto& a : kAtomic)
    if (a.bytes <= atomic_bytes) f |= a.flag;
  return f;
}

int RegisterVfs(const VfsConfig& c, std::string* err) {
  if (c.name.empty() || !c.open_backend) {
    *err = "nvme_mpath: a VFS needs a name and a backend";
    return SQLITE_MISUSE;
  }
  std::lock_guard<std::mutex> l(g_mu);
  Vfs*& vfs = Registry()[c.name];
  if (vfs == nullptr) {
    vfs = new Vfs;
    vfs->name = c.name;
    vfs->fallback = sqlite3_vfs_find(nullptr);
    if (vfs->fallback == nullptr) {
      *err = "nvme_mpath: SQLite has no default VFS to hand temporary files to";
      return SQLITE_ERROR;
    }
    sqlite3_vfs& b = vfs->base;
    memset(&b, 0, sizeof(b));
    b.iVersion = 2;
    b.szOsFile = int(std::max<size_t>(sizeof(MpFile), size_t(vfs->fallback->szOsFile)));
    b.mxPathname = vfs->fallback->mxPathname;
    b.zName = vfs->name.c_str();
    b.xOpen = Open;
    b.xDelete = Delete;
    b.xAccess = Access;
    b.xFullPathname = FullPathname;
    b.xRandomness = Randomness;
    b.xSleep = Sleep;
    b.xCurrentTime = CurrentTime;
    b.xGetLastError = GetLastError;
    b.xCurrentTimeInt64 = CurrentTimeInt64;
  } else if (vfs->fallback == &vfs->base) {
    vfs->fallback = sqlite3_vfs_find("unix");
  }
  {
    std::lock_guard<std::mutex> vl(vfs->mu);
    vfs->cfg = c;
  }
  return sqlite3_vfs_register(&vfs->base, c.make_default ? 1 : 0);
}

int UnregisterVfs(const std::string& name) {
  std::lock_guard<std::mutex> l(g_mu);
  auto it = Registry().find(name);
  if (it == Registry().end() || it->second == nullptr) return SQLITE_NOTFOUND;
  if (it->second->open_files > 0) return SQLITE_BUSY;
  return sqlite3_vfs_unregister(&it->second->base);  // the Vfs stays: a later register reuses it
}

}  // namespace nvme_mpath::sqlite

// ---- the C API ---------------------------------------------------------------------------

namespace {

// The engine options a VFS copies (its strings too: the caller's may go away).
struct EngineCopy {
  nvme_mpath_options o;
  std::string preferred, name;
};

}  // namespace

extern "C" {

NVME_MPATH_SQLITE_API void nvme_mpath_sqlite_options_init(struct nvme_mpath_sqlite_options* o) {
  if (o == nullptr) return;
  memset(o, 0, sizeof(*o));
  o->size = sizeof(*o);
  o->vfs_name = NVME_MPATH_SQLITE_VFS;
  o->queue_depth = 32;
  o->lock_dir = "/run/lock";
  o->file_lba_size = 4096;
}

NVME_MPATH_SQLITE_API int nvme_mpath_sqlite_register(const struct nvme_mpath_sqlite_options* in, char* errbuf,
                                                     size_t errlen) {
  using namespace nvme_mpath::sqlite;
  nvme_mpath_sqlite_options o;
  nvme_mpath_sqlite_options_init(&o);
  std::string err;
  auto fail = [&](int rc, std::string msg) {
    if (errbuf && errlen) snprintf(errbuf, errlen, "%s", msg.c_str());
    return rc;
  };
  if (in != nullptr) {
    if (in->size < offsetof(nvme_mpath_sqlite_options, file_lba_size) + sizeof(uint32_t) || in->size > sizeof(o))
      return fail(SQLITE_MISUSE, fmt::format("nvme_mpath_sqlite_options.size is {}, not {} (call "
                                             "nvme_mpath_sqlite_options_init)", in->size, sizeof(o)));
    o = *in;
    if (o.vfs_name == nullptr) o.vfs_name = NVME_MPATH_SQLITE_VFS;
    if (o.lock_dir == nullptr) o.lock_dir = "/run/lock";
    if (o.queue_depth == 0) o.queue_depth = 32;
    if (o.file_lba_size == 0) o.file_lba_size = 4096;
  }
  if (o.vfs_name[0] == '\0') return fail(SQLITE_MISUSE, "nvme_mpath: empty VFS name");
  if (o.queue_depth > 4096) return fail(SQLITE_MISUSE, fmt::format("nvme_mpath: queue depth {} > 4096", o.queue_depth));
  if (o.file_lba_size < 512 || o.file_lba_size > 65536 || (o.file_lba_size & (o.file_lba_size - 1)))
    return fail(SQLITE_MISUSE, fmt::format("nvme_mpath: file block size {} is not a power of two in 512..65536",
                                           o.file_lba_size));
  auto engine = std::make_shared<EngineCopy>();
  if (o.engine != nullptr) {
    engine->o = *o.engine;
  } else {
    nvme_mpath_options_init(&engine->o);
  }
  if (engine->o.preferred_path) engine->preferred = engine->o.preferred_path;
  engine->name = engine->o.name ? engine->o.name : "sqlite";
  engine->o.preferred_path = engine->preferred.empty() ? nullptr : engine->preferred.c_str();
  engine->o.name = engine->name.c_str();
  engine->o.paths = nullptr;
  engine->o.npaths = 0;
  engine->o.subsysnqn = nullptr;
  NvmeBackendOptions bo;
  bo.queue_depth = o.queue_depth;
  bo.lock_dir = o.lock_dir;
  VfsConfig c;
  c.name = o.vfs_name;
  c.make_default = o.make_default != 0;
  const uint32_t file_lba = o.file_lba_size;
  c.open_backend = [engine, bo, file_lba](const std::string& name) {
    NvmeBackendOptions b = bo;
    b.engine = &engine->o;
    return OpenBackend(name, b, file_lba);
  };
  int rc = RegisterVfs(c, &err);
  return rc == SQLITE_OK ? rc : fail(rc, err.empty() ? std::string(sqlite3_errstr(rc)) : err);
}

NVME_MPATH_SQLITE_API int nvme_mpath_sqlite_unregister(const char* vfs_name) {
  return nvme_mpath::sqlite::UnregisterVfs(vfs_name ? vfs_name : NVME_MPATH_SQLITE_VFS);
}

NVME_MPATH_SQLITE_API const char* nvme_mpath_sqlite_errmsg(void) {
  return nvme_mpath::sqlite::t_errmsg.c_str();
}

// The loadable-extension entry points: SQLite derives sqlite3_nvmempathsqlite_init from the file
// name libnvme_mpath_sqlite.so; sqlite3_nvmempath_init is the short name. The VFS stays
// registered after the connection that loaded it closes (SQLITE_OK_LOAD_PERMANENTLY). The
// library calls SQLite through its own link to libsqlite3, the same library the sqlite3 shell
// and most programs load; a program with SQLite linked in statically must call
// nvme_mpath_sqlite_register instead.
NVME_MPATH_SQLITE_API int sqlite3_nvmempath_init(sqlite3*, char** errmsg, const sqlite3_api_routines*) {
  char err[512] = "";
  int rc = nvme_mpath_sqlite_register(nullptr, err, sizeof(err));
  if (rc != SQLITE_OK) {
    if (errmsg) *errmsg = sqlite3_mprintf("%s", err);
    return rc;
  }
  return SQLITE_OK_LOAD_PERMANENTLY;
}

NVME_MPATH_SQLITE_API int sqlite3_nvmempathsqlite_init(sqlite3* db, char** errmsg, const sqlite3_api_routines* api) {
  return sqlite3_nvmempath_init(db, errmsg, api);
}

}  // extern "C"
