// File: sqlite/vfs_internal.h
//
// The VFS's C++ side, for the C API (vfs.cc) and the unit tests: a VFS registered with its own
// backend opener (the tests open a file backend, or one that loses unflushed writes at a
// simulated power failure).
#ifndef NVME_MPATH_SQLITE_VFS_INTERNAL_H_
#define NVME_MPATH_SQLITE_VFS_INTERNAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "backend.h"
#include "layout.h"

namespace nvme_mpath::sqlite {

// Opens the backend a database name names.
using BackendOpener = std::function<absl::StatusOr<std::unique_ptr<Backend>>(const std::string& name)>;

struct VfsConfig {
  std::string name = "nvme_mpath";
  bool make_default = false;
  BackendOpener open_backend;  // required
  bool lock = true;            // take the backend's cross-process lock
};

// Registers (or re-configures) a VFS. Returns an SQLite result code; *err says why not.
int RegisterVfs(const VfsConfig& c, std::string* err);
// Unregisters it: SQLITE_BUSY while a file is open on it, SQLITE_NOTFOUND if not registered.
int UnregisterVfs(const std::string& name);

// Returns the xDeviceCharacteristics of a device writing `atomic_bytes` atomically (0: no
// promise) with `lba_size`-byte sectors: SQLITE_IOCAP_ATOMICnnn for every nnn up to atomic_bytes
// (a write smaller than an LBA is one LBA written whole), and SQLITE_IOCAP_POWERSAFE_OVERWRITE
// when at least one LBA is atomic (a write changes no byte outside its range, even the other
// bytes of an LBA it rewrites).
int DeviceCharacteristics(uint64_t atomic_bytes, uint32_t lba_size);

// The database name behind a journal or WAL name ("x-journal", "x-wal" -> "x"), and which file.
// Returns false for a name that is neither (a main database name: *db = name).
bool SplitFileName(const std::string& name, std::string* db, FileKind* kind);

}  // namespace nvme_mpath::sqlite

#endif  // NVME_MPATH_SQLITE_VFS_INTERNAL_H_
