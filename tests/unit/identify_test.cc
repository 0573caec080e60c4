// Identify Controller / Namespace parsing (src/identify.h) from synthetic libnvme structures.
#include "identify.h"

#include <libnvme.h>

#include <cstring>

#include <gtest/gtest.h>

#include "support/status_matchers.h"

namespace nvme_mpath::internal {
namespace {

TEST(IdentifyTest, Controller) {
  nvme_id_ctrl id;
  memset(&id, 0, sizeof(id));
  memcpy(id.sn, "SN123   ", 8);
  memcpy(id.subnqn, "nqn.x", 5);
  id.mdts = 5;
  id.cntlid = htole16(7);
  id.crdt1 = htole16(5);
  id.crdt2 = htole16(10);
  id.crdt3 = htole16(20);
  id.anatt = 10;
  id.cmic = 0xb;
  id.anagrpmax = htole32(128);
  id.nanagrpid = htole32(128);
  auto c = ParseIdCtrl(id);
  ASSERT_OK(c);
  EXPECT_EQ(c->serial, "SN123");
  EXPECT_EQ(c->subnqn, "nqn.x");
  EXPECT_EQ(c->max_transfer_bytes, 4096u << 5);
  EXPECT_EQ(c->cntlid, 7);
  EXPECT_EQ(c->CrdDelayMs(1), 500u);
  EXPECT_EQ(c->CrdDelayMs(3), 2000u);
  EXPECT_EQ(c->CrdDelayMs(0), 0u);
  EXPECT_TRUE(c->ana_supported());
  EXPECT_EQ(c->anatt_s, 10);
  EXPECT_FALSE(c->tbkas());
  EXPECT_EQ(c->cqt_ms, 0);
  id.mdts = 0;
  EXPECT_EQ(ParseIdCtrl(id)->max_transfer_bytes, 0u);  // no limit
}

TEST(IdentifyTest, ControllerTbkasAndCqt) {
  nvme_id_ctrl id;
  memset(&id, 0, sizeof(id));
  id.ctratt = htole32((1u << 6) | 1u);  // what nvmet reports: TBKAS + 128-bit host ID
  const uint16_t cqt = htole16(1500);
  memcpy(reinterpret_cast<uint8_t*>(&id) + 386, &cqt, 2);  // CQT, bytes 387:386
  auto c = ParseIdCtrl(id);
  ASSERT_OK(c);
  EXPECT_TRUE(c->tbkas());
  EXPECT_EQ(c->cqt_ms, 1500);
  id.ctratt = htole32(1u);
  EXPECT_FALSE(ParseIdCtrl(id)->tbkas());
}

nvme_id_ns Ns(uint8_t flbas, uint8_t ds, uint16_t ms) {
  nvme_id_ns id;
  memset(&id, 0, sizeof(id));
  id.nsze = htole64(16384);
  id.nlbaf = 1;
  id.flbas = flbas;
  id.lbaf[flbas & 0xf].ds = ds;
  id.lbaf[flbas & 0xf].ms = htole16(ms);
  id.anagrpid = htole32(2);
  id.noiob = htole16(64);
  return id;
}

TEST(IdentifyTest, NamespaceFormatAndIds) {
  nvme_id_ns id = Ns(1, 12, 0);
  for (int i = 0; i < 16; ++i) id.nguid[i] = uint8_t(i + 1);
  auto ns = ParseIdNs(id, 3);
  ASSERT_OK(ns);
  EXPECT_EQ(ns->lba_size, 4096u);
  EXPECT_EQ(ns->nsze, 16384u);
  EXPECT_EQ(ns->anagrpid, 2u);
  EXPECT_EQ(ns->noiob, 64);
  EXPECT_TRUE(ns->has_nguid());
  EXPECT_FALSE(ns->has_eui64());
  EXPECT_EQ(ns->GroupingId(), "nguid:0102030405060708090a0b0c0d0e0f10");
}

TEST(IdentifyTest, ZeroIdsNeverGroup) {
  auto ns = ParseIdNs(Ns(0, 9, 0), 1);
  ASSERT_OK(ns);
  EXPECT_EQ(ns->GroupingId(), "");  // nvmet: EUI64 = 0 and no NGUID/UUID
  ns->eui64[7] = 1;
  EXPECT_EQ(ns->GroupingId(), "eui64:0000000000000001");
}

TEST(IdentifyTest, ExtendedLbaAndMetadata) {
  auto ns = ParseIdNs(Ns(0x10, 9, 8), 1);
  ASSERT_OK(ns);
  EXPECT_EQ(ns->metadata_size, 8u);
  EXPECT_TRUE(ns->extended_lba);
  auto sep = ParseIdNs(Ns(0x00, 9, 8), 1);
  EXPECT_FALSE(sep->extended_lba);
  EXPECT_FALSE(ns->SameFormat(*sep));
}

// DPS: protection information type (bits 2:0) and location (bit 3) are part of the format:
// paths that disagree on them would check or generate different tags for the same data.
TEST(IdentifyTest, ProtectionInformationIsPartOfTheFormat) {
  nvme_id_ns id = Ns(0x00, 12, 8);
  id.dps = 0x9;  // type 1, first 8 bytes of the metadata
  auto t1 = ParseIdNs(id, 1);
  ASSERT_OK(t1);
  EXPECT_EQ(t1->pi_type(), 1);
  EXPECT_EQ(t1->dps, 0x9);
  id.dps = 0x1;  // type 1, last bytes
  auto last = ParseIdNs(id, 1);
  id.dps = 0x0;
  auto none = ParseIdNs(id, 1);
  ASSERT_OK(last);
  ASSERT_OK(none);
  EXPECT_EQ(none->pi_type(), 0);
  EXPECT_FALSE(t1->SameFormat(*last));
  EXPECT_FALSE(t1->SameFormat(*none));
  EXPECT_TRUE(t1->SameFormat(*t1));
  id.dps = 0xf9;  // reserved bits 7:4 are not kept
  EXPECT_EQ(ParseIdNs(id, 1)->dps, 0x9);
}

TEST(IdentifyTest, FdpSupportFromCtratt) {
  nvme_id_ctrl ctrl;
  memset(&ctrl, 0, sizeof(ctrl));
  EXPECT_FALSE(ParseIdCtrl(ctrl)->fdp_supported());
  ctrl.ctratt = htole32(1u << 19);
  EXPECT_TRUE(ParseIdCtrl(ctrl)->fdp_supported());
}

TEST(IdentifyTest, AtomicWriteUnitFromAwupfOrNawupf) {
  nvme_id_ctrl ctrl;
  memset(&ctrl, 0, sizeof(ctrl));
  auto c = ParseIdCtrl(ctrl);
  ASSERT_OK(c);
  nvme_id_ns id = Ns(1, 12, 0);
  auto ns = ParseIdNs(id, 1);
  ASSERT_OK(ns);
  EXPECT_EQ(AtomicWriteLbas(*c, *ns), 1u);  // AWUPF 0: one LBA (0's based), what nvmet reports
  ctrl.awupf = htole16(7);
  c = ParseIdCtrl(ctrl);
  EXPECT_EQ(c->awupf, 7);
  EXPECT_EQ(AtomicWriteLbas(*c, *ns), 8u);
  id.nawupf = htole16(15);  // ignored without NSFEAT bit 1
  EXPECT_EQ(AtomicWriteLbas(*c, *ParseIdNs(id, 1)), 8u);
  id.nsfeat = 0x2;  // the namespace's own value wins, larger ...
  EXPECT_EQ(AtomicWriteLbas(*c, *ParseIdNs(id, 1)), 16u);
  id.nawupf = htole16(1);  // ... or smaller
  EXPECT_EQ(AtomicWriteLbas(*c, *ParseIdNs(id, 1)), 2u);
  id.nawupf = 0;
  EXPECT_EQ(AtomicWriteLbas(*c, *ParseIdNs(id, 1)), 1u);
}

TEST(IdentifyTest, AtomicBoundariesCapTheAtomicWriteUnit) {
  nvme_id_ctrl ctrl;
  memset(&ctrl, 0, sizeof(ctrl));
  auto c = ParseIdCtrl(ctrl);
  ASSERT_OK(c);
  nvme_id_ns id = Ns(1, 12, 0);
  id.nsfeat = 0x2;
  id.nawupf = htole16(63);  // 64 LBAs
  EXPECT_EQ(AtomicWriteLbas(*c, *ParseIdNs(id, 1)), 64u);  // NABSPF 0: no boundaries
  id.nabspf = htole16(15);  // boundaries every 16 LBAs from LBA 0
  auto ns = ParseIdNs(id, 1);
  EXPECT_EQ(ns->nabspf, 15);
  EXPECT_EQ(AtomicWriteLbas(*c, *ns), 16u);
  id.nabo = htole16(4);  // from LBA 4: an aligned 8-LBA write could cross one, a 4-LBA one not
  EXPECT_EQ(AtomicWriteLbas(*c, *ParseIdNs(id, 1)), 4u);
  id.nabo = 0;
  id.nabspf = htole16(11);  // every 12 LBAs: 4 divides 12
  EXPECT_EQ(AtomicWriteLbas(*c, *ParseIdNs(id, 1)), 4u);
  id.nabspf = htole16(2);  // every 3 LBAs: only single LBAs are safe
  EXPECT_EQ(AtomicWriteLbas(*c, *ParseIdNs(id, 1)), 1u);
  id.nabspf = htole16(1023);  // boundaries wider than the unit: the unit stays
  EXPECT_EQ(AtomicWriteLbas(*c, *ParseIdNs(id, 1)), 64u);
}

TEST(IdentifyTest, BadFormatsAreErrors) {
  nvme_id_ns id = Ns(1, 12, 0);
  id.flbas = 5;  // beyond nlbaf
  EXPECT_FALSE(ParseIdNs(id, 1).ok());
  id = Ns(1, 8, 0);  // 256-byte LBA
  EXPECT_FALSE(ParseIdNs(id, 1).ok());
  id = Ns(1, 12, 0);
  id.nsze = 0;
  EXPECT_FALSE(ParseIdNs(id, 1).ok());
}

TEST(IdentifyTest, DescriptorList) {
  uint8_t buf[4096] = {};
  // UUID descriptor, then NGUID.
  buf[0] = 3; buf[1] = 16;
  for (int i = 0; i < 16; ++i) buf[4 + i] = uint8_t(0xa0 + i);
  buf[20] = 2; buf[21] = 16;
  for (int i = 0; i < 16; ++i) buf[24 + i] = uint8_t(i);
  NamespaceIdentity ns;
  ASSERT_OK(ParseNsDescriptors(buf, &ns));
  EXPECT_TRUE(ns.has_uuid());
  EXPECT_EQ(ns.uuid[0], 0xa0);
  EXPECT_EQ(ns.nguid[15], 15);
  // A descriptor that runs past the end.
  uint8_t bad[64] = {};
  bad[0] = 3; bad[1] = 200;
  EXPECT_FALSE(ParseNsDescriptors(bad, &ns).ok());
  bad[1] = 15;  // wrong UUID length
  EXPECT_FALSE(ParseNsDescriptors(bad, &ns).ok());
}

}  // namespace
}  // namespace nvme_mpath::internal
