// File: nvme_mpath/io.h
//
// The I/O request an application hands to a Queue. The caller owns the Io object and keeps it
// alive, untouched, from Submit() until its `done` callback has run: the engine keeps its
// per-I/O state inside it, so the hot path allocates nothing (as SPDK's bdev_io or an iocb).
// Submitting it again before then is refused (-EALREADY); a copy of it is a request of its own.
#ifndef NVME_MPATH_IO_H_
#define NVME_MPATH_IO_H_

#include <cstdint>

#include <nvme_mpath/status.h>

namespace nvme_mpath {

enum class IoOp : uint8_t {
  kRead,         // NVMe Read (0x02)
  kWrite,        // NVMe Write (0x01)
  kFlush,        // NVMe Flush (0x00)
  kWriteZeroes,  // NVMe Write Zeroes (0x08)
  kDeallocate,   // NVMe Dataset Management (0x09) with AD: `buf` holds `nlb` nvme_dsm_range
  kCompare,      // NVMe Compare (0x05)
  kRaw,          // any I/O command: opcode and dwords from `raw`, never split
  // Non-data commands over an LBA range (no buffer):
  kVerify,              // NVMe Verify (0x0C): reads and checks the LBAs (PI with PRCHK); split
                        // as a read of the same LBAs (split_planner.h: the Verify Size Limit)
  kWriteUncorrectable,  // NVMe Write Uncorrectable (0x04): later reads of the LBAs fail; split
                        // like Write Zeroes, by the 16-bit NLB only
};
const char* IoOpName(IoOp op);

// Io::cdw12_flags bits.
inline constexpr uint32_t kCdw12Fua = 1u << 30;  // Force Unit Access

// One 16-byte Dataset Management range (NVMe Base Specification, "Dataset Management Range").
struct DsmRange {
  uint32_t cattr = 0;
  uint32_t nlb = 0;  // number of logical blocks (1-based)
  uint64_t slba = 0;
};
static_assert(sizeof(DsmRange) == 16);

struct Io;
// Completion callback. Runs exactly once per submitted Io, from Queue::Poll() on the queue's
// thread. The Io may be reused or freed from inside the callback.
using IoDoneFn = void (*)(Io* io);

namespace internal {
// Engine-private per-I/O state. Do not touch. A copy of an Io is a new request: its copy of this
// state starts afresh (so a copy of an Io in flight is not in flight).
struct IoPrivate {
  IoPrivate() = default;
  IoPrivate(const IoPrivate&) {}
  IoPrivate& operator=(const IoPrivate&) {
    submit_ns = 0;
    flush_todo = 0;
    children_left = 0;
    return *this;
  }
  int64_t submit_ns = 0;
  uint32_t flush_todo = 0;    // a Flush: paths that still need their flush command (bit p)
  uint16_t children_left = 0;  // commands not completed yet
};
}  // namespace internal

struct Io {
  // ---- request: set by the caller before Submit() ----
  IoOp op = IoOp::kRead;
  uint64_t slba = 0;      // first LBA (read, write, compare, write zeroes)
  uint32_t nlb = 0;       // LBAs (1-based); for kDeallocate the number of DsmRange in `buf`
  void* buf = nullptr;    // data: nlb * lba_size bytes (read/write/compare); on an extended-LBA
                          // namespace nlb * (lba_size + extended_metadata_size), each LBA's
                          // metadata after its data (NamespaceInfo)
  void* md = nullptr;     // optional separate metadata buffer: nlb * metadata_size bytes
  int32_t buf_index = -1; // index of a buffer registered with the queue (fixed buffers), or -1
  // Read/write/compare/write zeroes CDW12 bits 16-31, passed through (bits 0-15, the LBA count,
  // are the engine's and ignored here): kCdw12Fua (Force Unit Access: the write completes only once its
  // data is on non-volatile media, the read reads from it; docs/durability.md), and the
  // protection and directive fields. Every command of a split I/O carries them.
  uint32_t cdw12_flags = 0;
  uint32_t cdw13 = 0;     // dataset-management hints etc. for read/write (passed through)
  // End-to-end protection (read, write, compare, write zeroes), with the PRINFO bits in
  // cdw12_flags (bits 29:26: PRACT, PRCHK guard/application/reference tag): the Initial Logical
  // Block Reference Tag of the I/O's first LBA (CDW14; for PI type 1 its LBA's low 32 bits), and
  // the Logical Block Application Tag and its mask (CDW15). Each command of a split I/O carries
  // reftag + its first LBA's offset in the I/O, so that type 1 and 2 tags stay right per
  // fragment; a resent command carries exactly the same dwords.
  uint32_t reftag = 0;
  uint16_t apptag = 0;
  uint16_t apptag_mask = 0;

  // Raw passthrough (op == kRaw): the command as given; data length is raw_data_len bytes.
  // A raw command is sent again (retried on the same path, or failed over) only when its failing
  // completion proves it did not execute (a host path error 0x370 raised before sending, an ANA
  // refusal, a file or namespace gone at submission, our own -EAGAIN/-EBUSY/-ENOMEM); after a
  // failure that leaves open that it ran (a cancel or timeout, a transport error, any other NVMe
  // status) it completes with that result: a Zone Append, a reservation or a vendor command must
  // not run twice. Set `idempotent` for a command that may run twice with the same effect: it is
  // then retried and failed over as a read or write is (a data-modifying one, opcode bits 1:0
  // not 10b, still waits out the write hold). docs/architecture.md, "Raw commands".
  struct Raw {
    uint8_t opcode = 0;
    bool idempotent = false;
    uint32_t cdw2 = 0, cdw3 = 0;
    uint32_t cdw10 = 0, cdw11 = 0, cdw12 = 0, cdw13 = 0, cdw14 = 0, cdw15 = 0;
    uint32_t data_len = 0;
    uint32_t metadata_len = 0;
  } raw;

  IoDoneFn done = nullptr;  // required
  void* ctx = nullptr;      // the caller's own pointer; the engine never touches it

  // ---- result: valid inside `done` ----
  // 0 on success; otherwise -errno. An NVMe error completes with -EIO and `status` set.
  // -ENOLINK: no usable path within the no-path timeout. -ETIMEDOUT: the I/O deadline
  // (io_timeout_ms) passed. If a command of the I/O was still in the kernel then (the device
  // or the ring never answered), it cannot be revoked: the engine never resends it (a write
  // may still land, so its outcome is unknown) and drops its completion when it comes, but
  // until then the kernel may still read or write the buffer. Keep the buffer valid until the
  // queue is destroyed (which waits for such commands, bounded), or accept the risk.
  // -EAGAIN / -EBUSY / -ENOMEM: the kernel would not take the command for 1 s (out of memory).
  int res = 0;
  NvmeStatus status;    // NVMe status of the failing command (0 when none)
  uint32_t result = 0;  // command-specific result dword (CQE DW0)

  internal::IoPrivate priv;
};

}  // namespace nvme_mpath

#endif  // NVME_MPATH_IO_H_
