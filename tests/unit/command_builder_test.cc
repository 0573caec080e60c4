// The NVMe commands as the spec lays them out: the 64-bit-word read/write against a field-by-field
// build, every other op, which ops may modify data, and the probe read.
#include "command_builder.h"

#include <cstring>

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

alignas(4096) uint8_t g_buf[1 << 16];
alignas(64) uint8_t g_md[1 << 12];

Io MakeIo(IoOp op, uint64_t slba, uint32_t nlb) {
  Io io;
  io.op = op;
  io.slba = slba;
  io.nlb = nlb;
  io.buf = g_buf;
  return io;
}

TEST(CommandBuilderTest, ReadIsBuiltPerSpec) {
  const CommandBuilder b(7, 512, 0, 1500);
  const Io io = MakeIo(IoOp::kRead, 0x1'2345'6789, 8);
  nvme_uring_cmd c;
  std::memset(&c, 0xa5, sizeof(c));  // every byte is written
  b.Build(io, Fragment{io.slba, io.nlb, 0}, &c);
  EXPECT_EQ(c.opcode, kOpRead);
  EXPECT_EQ(c.flags, 0);
  EXPECT_EQ(c.nsid, 7u);
  EXPECT_EQ(c.cdw2, 0u);
  EXPECT_EQ(c.cdw3, 0u);
  EXPECT_EQ(c.addr, reinterpret_cast<uintptr_t>(g_buf));
  EXPECT_EQ(c.data_len, 8u * 512);
  EXPECT_EQ(c.metadata, 0u);
  EXPECT_EQ(c.metadata_len, 0u);
  EXPECT_EQ(c.cdw10, 0x2345'6789u);  // slba, low dword
  EXPECT_EQ(c.cdw11, 0x1u);          // slba, high dword
  EXPECT_EQ(c.cdw12, 7u);            // nlb - 1
  EXPECT_EQ(c.cdw13, 0u);
  EXPECT_EQ(c.cdw14, 0u);
  EXPECT_EQ(c.cdw15, 0u);
  EXPECT_EQ(c.timeout_ms, 1500u);
  EXPECT_EQ(c.rsvd2, 0u);
}

// The hot path's word-by-word build and the field-by-field one give the same bytes, for a read
// and a write, split or not, with separate metadata, interleaved metadata and cdw13 hints.
TEST(CommandBuilderTest, WordBuildEqualsFieldBuild) {
  struct Case {
    uint32_t buf_lba_bytes, metadata_size;
    IoOp op;
    Fragment f;
    uint32_t cdw13;
    bool md;
    uint32_t cdw12_flags = 0, reftag = 0;
    uint16_t apptag = 0, apptag_mask = 0;
  };
  const Case cases[] = {
      {512, 0, IoOp::kRead, {0, 1, 0}, 0, false},
      {4096, 0, IoOp::kWrite, {1u << 20, 16, 4}, 0x12, false},
      {512, 8, IoOp::kRead, {100, 8, 8}, 0, true},       // separate metadata, a later fragment
      {520, 0, IoOp::kWrite, {5, 7, 7}, 0, false},       // extended LBA: 512 + 8 per LBA in buf
      {512, 8, IoOp::kWrite, {~0ull >> 20, 3, 0}, 0, false},  // metadata format, no md given
      // PI: PRACT + PRCHK, a later fragment's reference tag (wraps at 2^32), app tag and mask
      {4096, 8, IoOp::kWrite, {1000, 4, 12}, 0, true, 0x3c000000u, 0xfffffffeu, 0xbeef, 0xff00},
      {4096, 8, IoOp::kRead, {1000, 4, 0}, 0, true, 0x1c000000u, 988, 0x1234, 0xffff},
  };
  for (const Case& k : cases) {
    const CommandBuilder b(3, k.buf_lba_bytes, k.metadata_size, 0);
    Io io = MakeIo(k.op, k.f.slba, k.f.nlb);
    io.cdw13 = k.cdw13;
    io.cdw12_flags = k.cdw12_flags;
    io.reftag = k.reftag;
    io.apptag = k.apptag;
    io.apptag_mask = k.apptag_mask;
    if (k.md) io.md = g_md;
    nvme_uring_cmd word, field;
    std::memset(&word, 0xa5, sizeof(word));
    b.Build(io, k.f, &word);
    b.BuildOther(io, k.f, &field);
    EXPECT_EQ(std::memcmp(&word, &field, sizeof(word)), 0) << "slba " << k.f.slba;
    EXPECT_EQ(word.addr, reinterpret_cast<uintptr_t>(g_buf) + uint64_t{k.f.offset_lbas} * k.buf_lba_bytes);
    EXPECT_EQ(word.data_len, k.f.nlb * k.buf_lba_bytes);
    EXPECT_EQ(word.cdw12, (k.f.nlb - 1) | k.cdw12_flags);
    EXPECT_EQ(word.cdw14, static_cast<uint32_t>(k.reftag + k.f.offset_lbas));  // the fragment's
    EXPECT_EQ(word.cdw15, uint32_t{k.apptag_mask} << 16 | k.apptag);
    if (k.md) {
      EXPECT_EQ(word.metadata, reinterpret_cast<uintptr_t>(g_md) + uint64_t{k.f.offset_lbas} * k.metadata_size);
      EXPECT_EQ(word.metadata_len, k.f.nlb * k.metadata_size);
    }
  }
}

TEST(CommandBuilderTest, OtherOpsAreBuiltPerSpec) {
  const CommandBuilder b(9, 512, 0, 0);
  nvme_uring_cmd c;

  Io wz = MakeIo(IoOp::kWriteZeroes, 1ull << 33, 100);
  b.Build(wz, Fragment{wz.slba, wz.nlb, 0}, &c);
  EXPECT_EQ(c.opcode, kOpWriteZeroes);
  EXPECT_EQ(c.nsid, 9u);
  EXPECT_EQ(c.cdw10, 0u);
  EXPECT_EQ(c.cdw11, 2u);
  EXPECT_EQ(c.cdw12, 99u);
  EXPECT_EQ(c.addr, 0u);
  EXPECT_EQ(c.data_len, 0u);
  EXPECT_EQ(c.cdw14, 0u);
  // Write Zeroes with PRACT (the controller writes the PI) and the tags of a later fragment.
  wz.cdw12_flags = 1u << 29;
  wz.reftag = 7;
  wz.apptag = 0x55;
  wz.apptag_mask = 0xff;
  b.Build(wz, Fragment{wz.slba + 10, 90, 10}, &c);
  EXPECT_EQ(c.cdw12, 89u | 1u << 29);
  EXPECT_EQ(c.cdw14, 17u);
  EXPECT_EQ(c.cdw15, 0xff0055u);

  // Verify: no data; PRCHK and FUA pass, the tags of the fragment.
  Io vf = MakeIo(IoOp::kVerify, 5, 700);
  vf.cdw12_flags = 0x7u << 26 | kCdw12Fua;
  vf.reftag = 5;
  vf.apptag = 1;
  b.Build(vf, Fragment{5 + 256, 700 - 256, 256}, &c);
  EXPECT_EQ(c.opcode, kOpVerify);
  EXPECT_EQ(c.nsid, 9u);
  EXPECT_EQ(c.cdw10, 261u);
  EXPECT_EQ(c.cdw12, (700u - 256 - 1) | 0x7u << 26 | kCdw12Fua);
  EXPECT_EQ(c.cdw14, 261u);
  EXPECT_EQ(c.cdw15, 1u);
  EXPECT_EQ(c.addr, 0u);
  EXPECT_EQ(c.data_len, 0u);
  // Write Uncorrectable: the LBA count only (its CDW12 has no other field).
  Io wu = MakeIo(IoOp::kWriteUncorrectable, 1ull << 32, 3);
  wu.cdw12_flags = kCdw12Fua;
  b.Build(wu, Fragment{wu.slba, wu.nlb, 0}, &c);
  EXPECT_EQ(c.opcode, kOpWriteUncorrectable);
  EXPECT_EQ(c.cdw10, 0u);
  EXPECT_EQ(c.cdw11, 1u);
  EXPECT_EQ(c.cdw12, 2u);
  EXPECT_EQ(c.addr, 0u);
  EXPECT_EQ(c.data_len, 0u);

  Io fl = MakeIo(IoOp::kFlush, 0, 0);
  b.Build(fl, Fragment{}, &c);
  EXPECT_EQ(c.opcode, kOpFlush);
  EXPECT_EQ(c.nsid, 9u);
  EXPECT_EQ(c.addr, 0u);
  EXPECT_EQ(c.cdw10, 0u);

  DsmRange ranges[3] = {};
  Io dsm = MakeIo(IoOp::kDeallocate, 0, 3);
  dsm.buf = ranges;
  b.Build(dsm, Fragment{0, 3, 0}, &c);
  EXPECT_EQ(c.opcode, kOpDsm);
  EXPECT_EQ(c.addr, reinterpret_cast<uintptr_t>(ranges));
  EXPECT_EQ(c.data_len, 3 * sizeof(DsmRange));
  EXPECT_EQ(c.cdw10, 2u);                  // NR, 0's based
  EXPECT_EQ(c.cdw11, kDsmAttrDeallocate);  // AD

  Io cmp = MakeIo(IoOp::kCompare, 40, 2);
  b.Build(cmp, Fragment{40, 2, 0}, &c);
  EXPECT_EQ(c.opcode, kOpCompare);
  EXPECT_EQ(c.cdw10, 40u);
  EXPECT_EQ(c.cdw12, 1u);
  EXPECT_EQ(c.data_len, 1024u);

  Io raw = MakeIo(IoOp::kRaw, 0, 0);
  raw.raw.opcode = 0x7d;
  raw.raw.cdw2 = 2;
  raw.raw.cdw3 = 3;
  raw.raw.cdw10 = 10;
  raw.raw.cdw11 = 11;
  raw.raw.cdw12 = 12;
  raw.raw.cdw13 = 13;
  raw.raw.cdw14 = 14;
  raw.raw.cdw15 = 15;
  raw.raw.data_len = 4096;
  raw.raw.metadata_len = 64;
  raw.md = g_md;
  b.Build(raw, Fragment{}, &c);
  EXPECT_EQ(c.opcode, 0x7d);
  EXPECT_EQ(c.nsid, 9u);
  EXPECT_EQ(c.cdw2, 2u);
  EXPECT_EQ(c.cdw3, 3u);
  EXPECT_EQ(c.cdw10, 10u);
  EXPECT_EQ(c.cdw15, 15u);
  EXPECT_EQ(c.addr, reinterpret_cast<uintptr_t>(g_buf));
  EXPECT_EQ(c.data_len, 4096u);
  EXPECT_EQ(c.metadata, reinterpret_cast<uintptr_t>(g_md));
  EXPECT_EQ(c.metadata_len, 64u);
}

TEST(CommandBuilderTest, WhatMayModifyData) {
  Io io;
  const IoOp modify[] = {IoOp::kWrite, IoOp::kWriteZeroes, IoOp::kDeallocate,
                         IoOp::kWriteUncorrectable};
  const IoOp keep[] = {IoOp::kRead, IoOp::kCompare, IoOp::kFlush, IoOp::kVerify};
  for (IoOp op : modify) {
    io.op = op;
    EXPECT_TRUE(ModifiesData(io)) << IoOpName(op);
  }
  for (IoOp op : keep) {
    io.op = op;
    EXPECT_FALSE(ModifiesData(io)) << IoOpName(op);
  }
  io.op = IoOp::kRaw;
  io.raw.opcode = 0x02;  // read: controller to host
  EXPECT_FALSE(ModifiesData(io));
  io.raw.opcode = 0x7d;  // zone append (bits 01: host to controller)
  EXPECT_TRUE(ModifiesData(io));
  io.raw.opcode = 0x0d;  // reservation register (01)
  EXPECT_TRUE(ModifiesData(io));
  io.raw.opcode = 0x0c;  // verify: bits 00, no data; the rule cannot tell, so it may
  EXPECT_TRUE(ModifiesData(io));
}

TEST(CommandBuilderTest, ProbeReadsOneLbaAtZero) {
  ProbeRead p(5, 4096 + 8, 2000);  // an extended LBA: data and metadata in one buffer
  const nvme_passthru_cmd64& c = *p.cmd();
  EXPECT_EQ(c.opcode, kOpRead);
  EXPECT_EQ(c.nsid, 5u);
  EXPECT_NE(c.addr, 0u);
  EXPECT_EQ(c.data_len, 4096u + 8);
  EXPECT_EQ(c.metadata, 0u);
  EXPECT_EQ(c.metadata_len, 0u);
  EXPECT_EQ(c.cdw10, 0u);
  EXPECT_EQ(c.cdw11, 0u);
  EXPECT_EQ(c.cdw12, 0u);  // one LBA (0's based)
  EXPECT_EQ(c.timeout_ms, 2000u);
}

}  // namespace
}  // namespace nvme_mpath::internal
