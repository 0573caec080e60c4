// File: command_builder.cc
//
// The commands other than read and write, and the probe read (see command_builder.h).
#include "command_builder.h"

namespace nvme_mpath::internal {

// nvme_uring_cmd seen as nine 64-bit words: a read or write is built with one store per word.
static_assert(sizeof(nvme_uring_cmd) == 9 * sizeof(uint64_t));
static_assert(offsetof(nvme_uring_cmd, cdw2) == 8 && offsetof(nvme_uring_cmd, metadata) == 16 &&
              offsetof(nvme_uring_cmd, addr) == 24 && offsetof(nvme_uring_cmd, metadata_len) == 32 &&
              offsetof(nvme_uring_cmd, data_len) == 36 && offsetof(nvme_uring_cmd, cdw10) == 40 &&
              offsetof(nvme_uring_cmd, cdw12) == 48 && offsetof(nvme_uring_cmd, cdw14) == 56 &&
              offsetof(nvme_uring_cmd, timeout_ms) == 64);
static_assert(static_cast<int>(IoOp::kRead) == 0 && static_cast<int>(IoOp::kWrite) == 1,
              "rw_head_ is indexed by the op");

CommandBuilder::CommandBuilder(uint32_t nsid, uint32_t buf_lba_bytes, uint32_t metadata_size,
                               uint32_t timeout_ms)
    : nsid_(nsid),
      buf_lba_bytes_(buf_lba_bytes),
      metadata_size_(metadata_size),
      timeout_ms_(timeout_ms),
      md_mask_(metadata_size != 0 ? ~uint64_t{0} : 0) {
  for (IoOp op : {IoOp::kRead, IoOp::kWrite}) {
    nvme_uring_cmd t{};
    t.opcode = op == IoOp::kRead ? kOpRead : kOpWrite;
    t.nsid = nsid;
    t.timeout_ms = timeout_ms;
    std::memcpy(&rw_head_[static_cast<int>(op)], &t, sizeof(uint64_t));
    std::memcpy(&tail_, reinterpret_cast<const char*>(&t) + offsetof(nvme_uring_cmd, timeout_ms),
                sizeof(uint64_t));
  }
}

void CommandBuilder::BuildOther(const Io& io, const Fragment& f, nvme_uring_cmd* out) const {
  std::memset(out, 0, sizeof(*out));
  out->nsid = nsid_;
  out->timeout_ms = timeout_ms_;
  switch (io.op) {
    case IoOp::kRead:
    case IoOp::kWrite:
    case IoOp::kCompare:
      out->opcode = io.op == IoOp::kRead ? kOpRead : io.op == IoOp::kWrite ? kOpWrite : kOpCompare;
      out->addr = reinterpret_cast<uintptr_t>(io.buf) + uint64_t{f.offset_lbas} * buf_lba_bytes_;
      out->data_len = f.nlb * buf_lba_bytes_;
      if (io.md != nullptr && metadata_size_ != 0) {
        out->metadata = reinterpret_cast<uintptr_t>(io.md) + uint64_t{f.offset_lbas} * metadata_size_;
        out->metadata_len = f.nlb * metadata_size_;
      }
      out->cdw10 = static_cast<uint32_t>(f.slba);
      out->cdw11 = static_cast<uint32_t>(f.slba >> 32);
      out->cdw12 = (f.nlb - 1) | (io.cdw12_flags & ~0xffffu);
      out->cdw13 = io.cdw13;
      out->cdw14 = io.reftag + f.offset_lbas;
      out->cdw15 = Cdw15(io);
      break;
    case IoOp::kWriteZeroes:
      // PRINFO, and the tags the controller writes (PRACT) or checks (NVM Command Set: Write
      // Zeroes CDW12 bits 29:26, CDW14, CDW15); FUA and deallocate bits as given.
      out->opcode = kOpWriteZeroes;
      out->cdw10 = static_cast<uint32_t>(f.slba);
      out->cdw11 = static_cast<uint32_t>(f.slba >> 32);
      out->cdw12 = (f.nlb - 1) | (io.cdw12_flags & ~0xffffu);
      out->cdw14 = io.reftag + f.offset_lbas;
      out->cdw15 = Cdw15(io);
      break;
    case IoOp::kVerify:
      // PRINFO (PRCHK: which tags the controller checks), FUA, LR, and the expected tags.
      out->opcode = kOpVerify;
      out->cdw10 = static_cast<uint32_t>(f.slba);
      out->cdw11 = static_cast<uint32_t>(f.slba >> 32);
      out->cdw12 = (f.nlb - 1) | (io.cdw12_flags & ~0xffffu);
      out->cdw14 = io.reftag + f.offset_lbas;
      out->cdw15 = Cdw15(io);
      break;
    case IoOp::kWriteUncorrectable:
      // CDW12 holds only the LBA count: no protection, FUA or directive fields.
      out->opcode = kOpWriteUncorrectable;
      out->cdw10 = static_cast<uint32_t>(f.slba);
      out->cdw11 = static_cast<uint32_t>(f.slba >> 32);
      out->cdw12 = f.nlb - 1;
      break;
    case IoOp::kFlush:
      out->opcode = kOpFlush;
      break;
    case IoOp::kDeallocate:
      out->opcode = kOpDsm;
      out->addr = reinterpret_cast<uintptr_t>(io.buf);
      out->data_len = io.nlb * sizeof(DsmRange);
      out->cdw10 = io.nlb - 1;
      out->cdw11 = kDsmAttrDeallocate;
      break;
    case IoOp::kRaw:
      out->opcode = io.raw.opcode;
      out->cdw2 = io.raw.cdw2;
      out->cdw3 = io.raw.cdw3;
      out->addr = reinterpret_cast<uintptr_t>(io.buf);
      out->data_len = io.raw.data_len;
      out->metadata = reinterpret_cast<uintptr_t>(io.md);
      out->metadata_len = io.raw.metadata_len;
      out->cdw10 = io.raw.cdw10;
      out->cdw11 = io.raw.cdw11;
      out->cdw12 = io.raw.cdw12;
      out->cdw13 = io.raw.cdw13;
      out->cdw14 = io.raw.cdw14;
      out->cdw15 = io.raw.cdw15;
      break;
  }
}

ProbeRead::ProbeRead(uint32_t nsid, uint32_t lba_bytes, uint32_t timeout_ms) : buf_(lba_bytes) {
  cmd_.opcode = kOpRead;
  cmd_.nsid = nsid;
  cmd_.addr = reinterpret_cast<uintptr_t>(buf_.data());
  cmd_.data_len = lba_bytes;
  cmd_.timeout_ms = timeout_ms;  // cdw10..12 0: LBA 0, one LBA
}

}  // namespace nvme_mpath::internal
