// File: identify.cc
#include "identify.h"

#include <libnvme.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include <fmt/format.h>

namespace nvme_mpath::internal {
namespace {

template <size_t N>
std::string Trimmed(const char (&field)[N]) {
  size_t n = strnlen(field, N);
  while (n > 0 && (field[n - 1] == ' ' || field[n - 1] == '\0')) --n;
  return std::string(field, n);
}

bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i]) return false;
  return true;
}

uint16_t Le16(const void* p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return le16toh(v);
}

}  // namespace

std::string HexString(absl::Span<const uint8_t> bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

bool NamespaceIdentity::has_nguid() const { return !AllZero(nguid.data(), nguid.size()); }
bool NamespaceIdentity::has_eui64() const { return !AllZero(eui64.data(), eui64.size()); }
bool NamespaceIdentity::has_uuid() const { return !AllZero(uuid.data(), uuid.size()); }

std::string NamespaceIdentity::GroupingId() const {
  if (has_nguid()) return "nguid:" + HexString(nguid);
  if (has_uuid()) return "uuid:" + HexString(uuid);
  if (has_eui64()) return "eui64:" + HexString(eui64);
  return "";
}

bool NamespaceIdentity::SameFormat(const NamespaceIdentity& o) const {
  return lba_size == o.lba_size && metadata_size == o.metadata_size &&
         extended_lba == o.extended_lba && dps == o.dps && nsze == o.nsze;
}

uint32_t AtomicWriteLbas(const ControllerIdentity& c, const NamespaceIdentity& ns) {
  const bool ns_defined = (ns.nsfeat & 0x2) != 0;
  uint32_t lbas = (ns_defined ? ns.nawupf : c.awupf) + 1u;
  if (ns_defined && ns.nabspf != 0) {
    // Boundaries at NABO + k * (NABSPF + 1): a power-of-two write aligned to its size never
    // crosses one when its size divides both.
    uint32_t g = ns.nabspf + 1u;
    while (g & (g - 1)) g &= g - 1;  // largest power of two <= boundary size ...
    while (g > 1 && ((ns.nabspf + 1u) % g != 0 || ns.nabo % g != 0)) g >>= 1;  // ... dividing both
    if (g < lbas) lbas = g;
  }
  return lbas;
}

absl::StatusOr<ControllerIdentity> ParseIdCtrl(const nvme_id_ctrl& id) {
  ControllerIdentity c;
  c.cntlid = le16toh(id.cntlid);
  c.subnqn = Trimmed(id.subnqn);
  c.serial = Trimmed(id.sn);
  c.model = Trimmed(id.mn);
  c.firmware = Trimmed(id.fr);
  c.mdts = id.mdts;
  // MDTS is in units of the minimum memory page size (CAP.MPSMIN); 4 KiB on every controller
  // Linux drives here (the kernel assumes the same for fabrics). Cap the shift at 1 GiB.
  c.max_transfer_bytes = id.mdts == 0 ? 0 : uint32_t(4096) << (id.mdts > 18 ? 18 : id.mdts);
  c.crdt = {le16toh(id.crdt1), le16toh(id.crdt2), le16toh(id.crdt3)};
  c.anatt_s = id.anatt;
  c.anacap = id.anacap;
  c.anagrpmax = le32toh(id.anagrpmax);
  c.nanagrpid = le32toh(id.nanagrpid);
  c.nn = le32toh(id.nn);
  c.mnan = le32toh(id.mnan);
  c.cmic = id.cmic;
  c.ctratt = le32toh(id.ctratt);
  // CQT is bytes 387:386 (NVMe Base 2.0; the kernel's struct nvme_id_ctrl `cqt`). libnvme 1.3
  // predates it: there it is the third and fourth byte of rsvd384.
  static_assert(offsetof(nvme_id_ctrl, rsvd384) == 384);
  c.cqt_ms = Le16(&id.rsvd384[386 - 384]);
  c.awupf = le16toh(id.awupf);
  return c;
}

absl::StatusOr<NamespaceIdentity> ParseIdNs(const nvme_id_ns& id, uint32_t nsid) {
  NamespaceIdentity ns;
  ns.nsid = nsid;
  ns.nsze = le64toh(id.nsze);
  ns.ncap = le64toh(id.ncap);
  const uint8_t index = (id.flbas & NVME_NS_FLBAS_LOWER_MASK) |
                        ((id.flbas & NVME_NS_FLBAS_HIGHER_MASK) >> 1);
  if (index > id.nlbaf || index >= 64)
    return absl::DataLossError(fmt::format(
        "Identify Namespace {}: in-use LBA format {} beyond the {} formats reported", nsid, index,
        int(id.nlbaf) + 1));
  const nvme_lbaf& f = id.lbaf[index];
  if (f.ds < 9 || f.ds > 16)
    return absl::DataLossError(fmt::format(
        "Identify Namespace {}: LBA data size 2^{} outside 512 B..64 KiB", nsid, f.ds));
  ns.flbas_index = index;
  ns.lba_size = 1u << f.ds;
  ns.metadata_size = le16toh(f.ms);
  ns.extended_lba = (id.flbas & NVME_NS_FLBAS_META_EXT) != 0 && ns.metadata_size != 0;
  ns.dps = id.dps & 0xf;
  ns.anagrpid = le32toh(id.anagrpid);
  ns.noiob = le16toh(id.noiob);
  ns.nmic = id.nmic;
  ns.nsfeat = id.nsfeat;
  ns.nawupf = le16toh(id.nawupf);
  ns.nabo = le16toh(id.nabo);
  ns.nabspf = le16toh(id.nabspf);
  memcpy(ns.nguid.data(), id.nguid, 16);
  memcpy(ns.eui64.data(), id.eui64, 8);
  if (ns.nsze == 0)
    return absl::FailedPreconditionError(fmt::format("namespace {} has size 0 (inactive?)", nsid));
  return ns;
}

absl::Status ParseNsDescriptors(absl::Span<const uint8_t> buf, NamespaceIdentity* ns) {
  size_t off = 0;
  while (off + 4 <= buf.size()) {
    const uint8_t nidt = buf[off];
    const uint8_t nidl = buf[off + 1];
    if (nidt == 0) break;  // end of list
    if (off + 4 + nidl > buf.size())
      return absl::DataLossError(fmt::format(
          "namespace identification descriptor at {} (type {}, length {}) runs past the end",
          off, nidt, nidl));
    const uint8_t* nid = buf.data() + off + 4;
    switch (nidt) {
      case NVME_NIDT_EUI64:
        if (nidl != 8) return absl::DataLossError("EUI64 descriptor with length != 8");
        memcpy(ns->eui64.data(), nid, 8);
        break;
      case NVME_NIDT_NGUID:
        if (nidl != 16) return absl::DataLossError("NGUID descriptor with length != 16");
        memcpy(ns->nguid.data(), nid, 16);
        break;
      case NVME_NIDT_UUID:
        if (nidl != 16) return absl::DataLossError("UUID descriptor with length != 16");
        memcpy(ns->uuid.data(), nid, 16);
        break;
      default:
        break;  // CSI and future types: skip
    }
    off += 4 + nidl;
  }
  return absl::OkStatus();
}

namespace {

// nvme_identify_cns_nsid() with kAdminTimeoutMs (libnvme's inline helpers pass
// NVME_DEFAULT_IOCTL_TIMEOUT, 0: the kernel's 60 s admin timeout).
int IdentifyCns(int fd, nvme_identify_cns cns, uint32_t nsid, void* data) {
  nvme_identify_args args;
  memset(&args, 0, sizeof(args));
  args.result = nullptr;
  args.data = data;
  args.args_size = sizeof(args);
  args.fd = fd;
  args.timeout = kAdminTimeoutMs;
  args.cns = cns;
  args.csi = NVME_CSI_NVM;
  args.nsid = nsid;
  args.cntid = NVME_CNTLID_NONE;
  args.cns_specific_id = NVME_CNSSPECID_NONE;
  args.uuidx = NVME_UUID_NONE;
  return nvme_identify(&args);
}

}  // namespace

absl::StatusOr<ControllerIdentity> IdentifyController(int fd) {
  nvme_id_ctrl id;
  memset(&id, 0, sizeof(id));
  if (int r = IdentifyCns(fd, NVME_IDENTIFY_CNS_CTRL, NVME_NSID_NONE, &id); r != 0) {
    if (r < 0) return absl::ErrnoToStatus(errno, "Identify Controller");
    return absl::UnavailableError(fmt::format("Identify Controller failed with NVMe status {:#x}", r));
  }
  return ParseIdCtrl(id);
}

absl::StatusOr<NamespaceIdentity> IdentifyNamespace(int fd, uint32_t nsid) {
  nvme_id_ns id;
  memset(&id, 0, sizeof(id));
  if (int r = IdentifyCns(fd, NVME_IDENTIFY_CNS_NS, nsid, &id); r != 0) {
    if (r < 0) return absl::ErrnoToStatus(errno, fmt::format("Identify Namespace {}", nsid));
    return absl::UnavailableError(
        fmt::format("Identify Namespace {} failed with NVMe status {:#x}", nsid, r));
  }
  absl::StatusOr<NamespaceIdentity> ns = ParseIdNs(id, nsid);
  if (!ns.ok()) return ns;
  alignas(4096) static thread_local uint8_t descs[NVME_IDENTIFY_DATA_SIZE];
  memset(descs, 0, sizeof(descs));
  if (IdentifyCns(fd, NVME_IDENTIFY_CNS_NS_DESC_LIST, nsid, descs) == 0) {
    if (absl::Status st = ParseNsDescriptors(absl::MakeConstSpan(descs, sizeof(descs)), &*ns);
        !st.ok())
      return st;
  }
  return ns;
}

}  // namespace nvme_mpath::internal
