// File: ana.cc
#include "ana.h"

#include <libnvme.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "identify.h"
#include "log.h"

namespace nvme_mpath::internal {
namespace {

constexpr size_t kHeader = 16;
constexpr size_t kDesc = 32;
constexpr size_t kMaxLog = 1 << 20;  // 1 MiB: far above any real ANA log
constexpr int kTornRetries = 5;

template <typename T>
T Le(const uint8_t* p) {
  T v;
  memcpy(&v, p, sizeof(v));
  if constexpr (sizeof(T) == 2) return le16toh(v);
  if constexpr (sizeof(T) == 4) return le32toh(v);
  if constexpr (sizeof(T) == 8) return le64toh(v);
}

AnaState StateFromRaw(uint8_t raw) {
  switch (raw & 0xf) {
    case 0x1: return AnaState::kOptimized;
    case 0x2: return AnaState::kNonOptimized;
    case 0x3: return AnaState::kInaccessible;
    case 0x4: return AnaState::kPersistentLoss;
    case 0xf: return AnaState::kChange;
    default: return AnaState::kUnknown;
  }
}

// Returns the byte size the log claims for itself (header + every descriptor), walking what is
// present in `buf`; `complete` is false when `buf` ends before the claimed end.
size_t ClaimedSize(absl::Span<const uint8_t> buf, bool* complete) {
  *complete = false;
  if (buf.size() < kHeader) return kHeader;
  const uint16_t ngrps = Le<uint16_t>(buf.data() + 8);
  size_t off = kHeader;
  for (uint32_t g = 0; g < ngrps; ++g) {
    if (off + kDesc > buf.size()) return off + kDesc * (ngrps - g);  // lower bound
    const uint32_t nnsids = Le<uint32_t>(buf.data() + off + 4);
    off += kDesc + size_t{nnsids} * 4;
    if (off > kMaxLog) return off;
  }
  *complete = off <= buf.size();
  return off;
}

}  // namespace

const AnaGroup* AnaLog::GroupOf(uint32_t nsid) const {
  for (const AnaGroup& g : groups)
    for (uint32_t n : g.nsids)
      if (n == nsid) return &g;
  return nullptr;
}

std::optional<AnaState> AnaLog::StateOf(uint32_t nsid) const {
  const AnaGroup* g = GroupOf(nsid);
  if (g == nullptr) return std::nullopt;
  return g->state;
}

size_t AnaLogSize(size_t ngroups, size_t nnsids) { return kHeader + ngroups * kDesc + nnsids * 4; }

absl::StatusOr<AnaLog> ParseAnaLog(absl::Span<const uint8_t> buf) {
  if (buf.size() < kHeader)
    return absl::DataLossError(fmt::format("ANA log truncated: {} bytes, the header alone is 16",
                                           buf.size()));
  AnaLog log;
  log.chgcnt = Le<uint64_t>(buf.data());
  const uint16_t ngrps = Le<uint16_t>(buf.data() + 8);
  size_t off = kHeader;
  log.groups.reserve(ngrps);
  for (uint32_t g = 0; g < ngrps; ++g) {
    if (buf.size() - off < kDesc)
      return absl::DataLossError(fmt::format(
          "ANA log truncated: header says {} groups, descriptor {} starts at byte {} of {}", ngrps,
          g, off, buf.size()));
    const uint8_t* d = buf.data() + off;
    AnaGroup grp;
    grp.grpid = Le<uint32_t>(d);
    const uint32_t nnsids = Le<uint32_t>(d + 4);
    grp.chgcnt = Le<uint64_t>(d + 8);
    grp.raw_state = d[16];
    grp.state = StateFromRaw(d[16]);
    off += kDesc;
    if ((buf.size() - off) / 4 < nnsids)
      return absl::DataLossError(fmt::format(
          "ANA log truncated: group {} lists {} NSIDs but only {} bytes remain", grp.grpid,
          nnsids, buf.size() - off));
    grp.nsids.resize(nnsids);
    for (uint32_t i = 0; i < nnsids; ++i) grp.nsids[i] = Le<uint32_t>(buf.data() + off + 4 * i);
    off += size_t{nnsids} * 4;
    log.groups.push_back(std::move(grp));
  }
  return log;
}

absl::StatusOr<AnaLog> ReadAnaLogWith(const AnaLogReader& read, uint32_t max_chunk_bytes,
                                      size_t max_log_bytes, const std::string& what) {
  if (max_log_bytes == 0 || max_log_bytes > kMaxLog) max_log_bytes = kMaxLog;
  uint32_t chunk = max_chunk_bytes == 0 ? 1u << 20 : max_chunk_bytes;
  chunk &= ~3u;
  if (chunk < 512) chunk = 512;
  auto fail = [&](int r, uint64_t off) -> absl::Status {
    const std::string msg = fmt::format("{}: Get Log Page ANA at offset {}", what, off);
    if (r == -ENODEV || r == -ENXIO)  // the only kNotFound (IsControllerGone())
      return absl::NotFoundError(fmt::format("{}: controller gone: {}", msg, strerror(-r)));
    if (r < 0) {
      // ErrnoToStatus() also gives kNotFound to ENOENT and ESRCH, which do not mean that the
      // controller is gone: they are read failures like any other.
      absl::Status st = absl::ErrnoToStatus(-r, msg);
      return absl::IsNotFound(st) ? absl::UnavailableError(st.message()) : st;
    }
    return absl::UnavailableError(
        fmt::format("{}: Get Log Page ANA at offset {} failed with NVMe status {:#x}", what, off, r));
  };
  std::vector<uint8_t> buf;
  for (int attempt = 0; attempt < kTornRetries; ++attempt) {
    // First chunk: the header and, usually, the whole log.
    size_t want = std::min<size_t>(chunk, max_log_bytes);
    want = std::max<size_t>(want & ~size_t{3}, kHeader);
    buf.assign(want, 0);
    if (int r = read(0, uint32_t(want), buf.data()); r != 0) return fail(r, 0);
    bool complete = false;
    size_t need = ClaimedSize(absl::MakeConstSpan(buf), &complete);
    size_t chunks = 1;
    while (!complete) {
      if (need > max_log_bytes)
        return absl::DataLossError(fmt::format(
            "{}: ANA log claims at least {} bytes, more than the controller's limits allow ({})",
            what, need, max_log_bytes));
      size_t have = buf.size();
      size_t target = (need + 3) & ~size_t{3};
      buf.resize(target);
      while (have < target) {
        uint32_t len = uint32_t(std::min<size_t>(chunk, target - have));
        if (int r = read(have, len, buf.data() + have); r != 0) return fail(r, have);
        have += len;
        ++chunks;
      }
      need = ClaimedSize(absl::MakeConstSpan(buf), &complete);
    }
    buf.resize(need);
    if (chunks > 1) {
      // Torn read: the log may have changed between chunks. Re-read the header.
      uint8_t hdr[kHeader];
      if (int r = read(0, kHeader, hdr); r != 0) return fail(r, 0);
      if (memcmp(hdr, buf.data(), 8) != 0) {
        MPLOG_DEBUG("{}: ANA log changed during a {}-chunk read; reading again", what, chunks);
        continue;
      }
    }
    return ParseAnaLog(absl::MakeConstSpan(buf));
  }
  return absl::UnavailableError(fmt::format(
      "{}: ANA log kept changing while it was read ({} attempts)", what, kTornRetries));
}

AnaState EffectiveAnaState(AnaState reported, int64_t now_ns, uint32_t anatt_s,
                           int64_t* change_since_ns) {
  if (reported != AnaState::kChange) {
    *change_since_ns = 0;
    return reported;
  }
  if (*change_since_ns == 0) *change_since_ns = now_ns;
  const int64_t anatt_ns = int64_t{anatt_s} * 1'000'000'000;
  if (anatt_ns > 0 && now_ns - *change_since_ns > anatt_ns) return AnaState::kInaccessible;
  return AnaState::kChange;
}

absl::StatusOr<AnaLog> ReadAnaLog(int fd, uint32_t max_chunk_bytes, uint32_t anagrpmax,
                                  uint32_t nanagrpid) {
  // Largest possible log: every group, and every namespace listed once (the kernel sizes its
  // buffer the same way, with max_namespaces).
  const uint32_t groups = std::max(anagrpmax, nanagrpid);
  size_t max_log = kHeader + size_t{groups ? groups : 1024} * kDesc + size_t{1024} * 4 * 64;
  AnaLogReader read = [fd](uint64_t offset, uint32_t len, void* out) -> int {
    nvme_get_log_args args;
    memset(&args, 0, sizeof(args));
    args.lpo = offset;
    args.result = nullptr;
    args.log = out;
    args.args_size = sizeof(args);
    args.fd = fd;
    args.timeout = kAdminTimeoutMs;  // not the kernel's 60 s admin default
    args.lid = NVME_LOG_LID_ANA;
    args.len = len;
    args.nsid = NVME_NSID_NONE;
    args.csi = NVME_CSI_NVM;
    args.lsi = NVME_LOG_LSI_NONE;
    args.lsp = NVME_LOG_ANA_LSP_RGO_NAMESPACES;
    args.uuidx = NVME_UUID_NONE;
    args.rae = false;  // RAE=0: re-arm the ANA change AEN on the target
    args.ot = false;
    int r = nvme_get_log(&args);
    if (r < 0) return -errno;
    return r;
  };
  return ReadAnaLogWith(read, max_chunk_bytes, max_log, fmt::format("fd {}", fd));
}

}  // namespace nvme_mpath::internal
