// File: identify.h
//
// The fields of Identify Controller / Identify Namespace that the engine uses, extracted from
// libnvme's structures, and the calls that read them through a char device.
#ifndef NVME_MPATH_SRC_IDENTIFY_H_
#define NVME_MPATH_SRC_IDENTIFY_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

struct nvme_id_ctrl;
struct nvme_id_ns;

namespace nvme_mpath::internal {

struct ControllerIdentity {
  uint16_t cntlid = 0;
  std::string subnqn, serial, model, firmware;
  uint8_t mdts = 0;                     // raw, 2^mdts units of the minimum page size; 0 = none
  uint32_t max_transfer_bytes = 0;      // from MDTS with a 4 KiB page (0 = no limit)
  std::array<uint16_t, 3> crdt = {};    // command retry delay times, units of 100 ms
  uint8_t anatt_s = 0;                  // ANA transition time, seconds
  uint8_t anacap = 0;
  uint32_t anagrpmax = 0, nanagrpid = 0;
  uint32_t nn = 0, mnan = 0;            // number of namespaces / max allocated namespaces
  uint8_t cmic = 0;
  uint32_t ctratt = 0;                  // controller attributes
  uint16_t cqt_ms = 0;                  // Command Quiesce Time (bytes 387:386), ms; 0 = not reported
  uint16_t awupf = 0;                   // Atomic Write Unit Power Fail, LBAs, 0's based
  bool ana_supported() const { return cmic & 0x8; }
  // Returns true when the controller supports Flexible Data Placement (CTRATT bit 19, FDPS).
  bool fdp_supported() const { return ctratt & kCtrattFdps; }
  static constexpr uint32_t kCtrattFdps = 1u << 19;
  // Returns true when the controller restarts its keep-alive timer on any command (CTRATT bit 6,
  // the kernel's NVME_CTRL_ATTR_TBKAS; nvmet sets it).
  bool tbkas() const { return ctratt & kCtrattTbkas; }
  static constexpr uint32_t kCtrattTbkas = 1u << 6;
  // Returns the Command Retry Delay for a CRD field value (1..3) in ms (kernel: crdt[crd-1]).
  uint32_t CrdDelayMs(uint8_t crd) const { return crd >= 1 && crd <= 3 ? crdt[crd - 1] * 100u : 0; }
};

struct NamespaceIdentity {
  uint32_t nsid = 0;
  uint64_t nsze = 0, ncap = 0;
  uint32_t lba_size = 0;       // bytes, from the in-use LBA format
  uint32_t metadata_size = 0;  // bytes per LBA
  bool extended_lba = false;   // metadata interleaved with data
  uint8_t flbas_index = 0;
  // End-to-end Data Protection Type Settings (DPS): bits 2:0 the protection information type
  // (0 none, 1-3), bit 3 PI in the first bytes of the metadata (else the last).
  uint8_t dps = 0;
  uint8_t pi_type() const { return dps & 0x7; }
  uint32_t anagrpid = 0;
  uint16_t noiob = 0;          // optimal I/O boundary in LBAs (0 = none)
  uint8_t nmic = 0;
  uint8_t nsfeat = 0;          // bit 1 (NSABP): nawupf, nabo, nabspf are defined
  uint16_t nawupf = 0;         // Namespace Atomic Write Unit Power Fail, LBAs, 0's based
  uint16_t nabo = 0;           // Namespace Atomic Boundary Offset, LBAs
  uint16_t nabspf = 0;         // Namespace Atomic Boundary Size Power Fail, LBAs, 0's based; 0 = none
  std::array<uint8_t, 16> nguid = {};
  std::array<uint8_t, 8> eui64 = {};
  std::array<uint8_t, 16> uuid = {};  // from the NS identification descriptor list

  bool has_nguid() const;
  bool has_eui64() const;
  bool has_uuid() const;
  // Returns the namespace identifier used to group paths: "nguid:<hex>", else "uuid:<...>",
  // else "eui64:<hex>", else "" (an all-zero ID never matches: nvmet reports EUI64 = 0).
  std::string GroupingId() const;
  // Returns true when the format (LBA size, metadata and its layout, protection information type
  // and location, size) matches `o`.
  bool SameFormat(const NamespaceIdentity& o) const;
};

// Returns how many LBAs a write is guaranteed to land atomically across a power failure, when the
// write is aligned to its own size and that size is a power of two (what SQLite's
// SQLITE_IOCAP_ATOMICnnn promises): AWUPF + 1, or NAWUPF + 1 when the namespace defines its own
// (NSFEAT bit 1). With atomic boundaries (NABSPF != 0) the answer is also capped at the largest
// power of two dividing both the boundary size and NABO, so that no such write crosses one.
// Never less than 1: every controller writes one LBA atomically (AWUPF is 0's based).
uint32_t AtomicWriteLbas(const ControllerIdentity& c, const NamespaceIdentity& ns);

// Extracts the engine's fields. Errors (kDataLoss) on an LBA format index out of range or an
// LBA data size outside 2^9..2^16.
absl::StatusOr<ControllerIdentity> ParseIdCtrl(const nvme_id_ctrl& id);
absl::StatusOr<NamespaceIdentity> ParseIdNs(const nvme_id_ns& id, uint32_t nsid);
// Fills `ns->uuid` (and NGUID/EUI64 when present) from an NS identification descriptor list.
// Errors (kDataLoss) on a descriptor that runs past the 4 KiB buffer.
absl::Status ParseNsDescriptors(absl::Span<const uint8_t> buf, NamespaceIdentity* ns);

// How long the engine lets any admin command it sends (Identify, Get Log Page) take: the
// ioctl's timeout_ms, instead of the kernel's 60 s admin default (nvme_core.admin_timeout). A
// controller whose admin queue hangs then holds up only its own refresh, for at most this long.
// When it expires the kernel's timeout handler runs (on fabrics: error recovery, a reconnect),
// as it would after 60 s.
inline constexpr uint32_t kAdminTimeoutMs = 10'000;

// Identify through a char device (NVME_IOCTL_ADMIN_CMD via libnvme, kAdminTimeoutMs).
absl::StatusOr<ControllerIdentity> IdentifyController(int fd);
absl::StatusOr<NamespaceIdentity> IdentifyNamespace(int fd, uint32_t nsid);

// Returns lowercase hex of `bytes`.
std::string HexString(absl::Span<const uint8_t> bytes);

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_IDENTIFY_H_
