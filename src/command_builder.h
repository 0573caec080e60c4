// File: command_builder.h
//
// The NVMe commands the engine sends: the NVM Command Set opcodes it uses, CommandBuilder, which
// turns one fragment of an Io into an nvme_uring_cmd (NVME_URING_CMD_IO), and ProbeRead, the
// one-LBA read that probes a path through the ioctl interface (the control plane's probe of a
// marginal path, `nvme-mpath-ctl probe`).
//
// A read or write is the hot path: it is written as nine 64-bit words, two of them prebuilt per
// queue (opcode and nsid; timeout), in one inline function with no branch on the layout. The
// other ops are built field by field, out of line (BuildOther). slba goes in cdw10/11 and nlb - 1
// in cdw12, as liburing's test/io_uring_passthrough.c does.
//
// Threading model: a CommandBuilder is immutable after construction; any thread may use one.
#ifndef NVME_MPATH_SRC_COMMAND_BUILDER_H_
#define NVME_MPATH_SRC_COMMAND_BUILDER_H_

#include <linux/nvme_ioctl.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <nvme_mpath/io.h>

#include "absl/base/attributes.h"

#include "debug_assert.h"
#include "split_planner.h"

namespace nvme_mpath::internal {

// NVM Command Set opcodes.
inline constexpr uint8_t kOpFlush = 0x00;
inline constexpr uint8_t kOpWrite = 0x01;
inline constexpr uint8_t kOpRead = 0x02;
inline constexpr uint8_t kOpWriteUncorrectable = 0x04;
inline constexpr uint8_t kOpCompare = 0x05;
inline constexpr uint8_t kOpWriteZeroes = 0x08;
inline constexpr uint8_t kOpDsm = 0x09;
inline constexpr uint8_t kOpVerify = 0x0c;
inline constexpr uint32_t kDsmAttrDeallocate = 1u << 2;  // Dataset Management cdw11 AD
inline constexpr uint32_t kMaxDsmRanges = 256;           // NR is an 8-bit 0's based field

// Returns true when `io` may modify data on the namespace (the write hold applies to it): a
// write, write zeroes, write uncorrectable, deallocate, or a raw command that is not a plain controller-to-host
// transfer (opcode bits 1:0 other than 10b).
inline bool ModifiesData(const Io& io) {
  switch (io.op) {
    case IoOp::kWrite:
    case IoOp::kWriteZeroes:
    case IoOp::kWriteUncorrectable:
    case IoOp::kDeallocate:
      return true;
    case IoOp::kRaw:
      return (io.raw.opcode & 0x3) != 0x2;
    default:
      return false;
  }
}

class CommandBuilder {
 public:
  // For namespace `nsid`, `buf_lba_bytes` per LBA in Io::buf (data, plus its metadata on an
  // extended-LBA format), `metadata_size` per LBA in a separate Io::md (0: none), and the
  // kernel's per-command timeout `timeout_ms` (0: the kernel's default).
  CommandBuilder(uint32_t nsid, uint32_t buf_lba_bytes, uint32_t metadata_size,
                 uint32_t timeout_ms);

  // Builds the command for fragment `f` of `io` (the whole I/O when unsplit) into `out`.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Build(const Io& io, const Fragment& f,
                                          nvme_uring_cmd* out) const {
    if (static_cast<uint8_t>(io.op) > static_cast<uint8_t>(IoOp::kWrite)) [[unlikely]] {
      BuildOther(io, f, out);
      return;
    }
    BuildReadWrite(io, f, out);
  }

  // Build() for an `io` the caller knows is a read or a write.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void BuildReadWrite(const Io& io, const Fragment& f,
                                                   nvme_uring_cmd* out) const {
    const auto op = static_cast<uint8_t>(io.op);
    NVME_MPATH_ASSERT(op <= static_cast<uint8_t>(IoOp::kWrite));
    // No branch on the metadata: with no separate metadata (md_mask_ 0) both words are 0, and
    // without an io.md too.
    const uintptr_t io_md = reinterpret_cast<uintptr_t>(io.md);
    const uint64_t md =
        io_md != 0 ? (io_md + uint64_t{f.offset_lbas} * metadata_size_) & md_mask_ : 0;
    const uint32_t md_len = io_md != 0 ? f.nlb * metadata_size_ : 0;
    // Word by word into `out` (often a submission entry: Transport::Reserve()), not through a
    // local array, which GCC built on the stack and copied.
    static_assert(sizeof(nvme_uring_cmd) == 9 * sizeof(uint64_t));
    auto* w = reinterpret_cast<unsigned char*>(out);
    StoreWord(w, 0, rw_head_[op]);  // opcode, flags, rsvd1, nsid
    StoreWord(w, 1, 0);             // cdw2, cdw3
    StoreWord(w, 2, md);
    StoreWord(w, 3, reinterpret_cast<uintptr_t>(io.buf) + uint64_t{f.offset_lbas} * buf_lba_bytes_);
    StoreWord(w, 4, DwordPair(md_len, f.nlb * buf_lba_bytes_));
    StoreWord(w, 5, DwordPair(static_cast<uint32_t>(f.slba), static_cast<uint32_t>(f.slba >> 32)));
    StoreWord(w, 6, Cdw12And13(io) | (f.nlb - 1));
    StoreWord(w, 7, Cdw14And15(io, f.offset_lbas));
    StoreWord(w, 8, tail_);         // timeout_ms, rsvd2
  }

  // Builds every op but read and write (compare, write zeroes, verify, write uncorrectable,
  // flush, deallocate, raw).
  void BuildOther(const Io& io, const Fragment& f, nvme_uring_cmd* out) const;

 private:
  // CDW12 (without its LBA count) and CDW13 of `io` as the command's word 6: Io keeps
  // cdw12_flags and cdw13 adjacent, in command order, so this is one load.
  static uint64_t Cdw12And13(const Io& io) {
    static_assert(offsetof(Io, cdw13) == offsetof(Io, cdw12_flags) + 4);
    static_assert(std::endian::native == std::endian::little, "word 6 is CDW12 | CDW13 << 32");
    uint64_t w;
    std::memcpy(&w, &io.cdw12_flags, sizeof(w));
    return w & ~uint64_t{0xffff};
  }
  // CDW14 (the fragment's reference tag: the I/O's plus the fragment's offset, modulo 2^32) and
  // CDW15 (application tag and mask) as the command's word 7: Io keeps reftag, apptag and
  // apptag_mask adjacent, in command order.
  static uint64_t Cdw14And15(const Io& io, uint32_t offset_lbas) {
    static_assert(offsetof(Io, apptag) == offsetof(Io, reftag) + 4);
    static_assert(offsetof(Io, apptag_mask) == offsetof(Io, apptag) + 2);
    uint64_t w;
    std::memcpy(&w, &io.reftag, sizeof(w));
    return (w & ~uint64_t{0xffffffff}) | static_cast<uint32_t>(static_cast<uint32_t>(w) + offset_lbas);
  }
  // The CDW15 of `io`: LBATM in bits 31:16, LBAT in 15:0.
  static uint32_t Cdw15(const Io& io) { return uint32_t{io.apptag_mask} << 16 | io.apptag; }
  // Stores word `i` (8 bytes) of a command at `w`.
  static void StoreWord(unsigned char* w, int i, uint64_t v) { std::memcpy(w + 8 * i, &v, 8); }
  // The word holding two adjacent dwords, `first` at the lower address.
  static constexpr uint64_t DwordPair(uint32_t first, uint32_t second) {
    return std::endian::native == std::endian::little ? uint64_t{first} | uint64_t{second} << 32
                                                      : uint64_t{first} << 32 | second;
  }

  const uint32_t nsid_;
  const uint32_t buf_lba_bytes_;
  const uint32_t metadata_size_;
  const uint32_t timeout_ms_;
  const uint64_t md_mask_;    // ~0 with a separate metadata buffer (metadata_size_ != 0), else 0
  uint64_t rw_head_[2] = {};  // the first word of a read (IoOp::kRead) and a write (kWrite)
  uint64_t tail_ = 0;         // the last word of every command
};

// The one-LBA read (LBA 0) that probes a path through the ioctl interface
// (NVME_IOCTL_IO64_CMD). `lba_bytes` is one LBA in the data buffer: its data, plus its metadata
// on an extended-LBA format (as in Io::buf). A separate metadata buffer is not passed. It owns its
// buffer, so it cannot be copied.
class ProbeRead {
 public:
  ProbeRead(uint32_t nsid, uint32_t lba_bytes, uint32_t timeout_ms);
  ProbeRead(const ProbeRead&) = delete;
  ProbeRead& operator=(const ProbeRead&) = delete;

  // Returns the command, pointing into this object's buffer.
  nvme_passthru_cmd64* cmd() { return &cmd_; }

 private:
  std::vector<uint8_t> buf_;
  nvme_passthru_cmd64 cmd_{};
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_COMMAND_BUILDER_H_
