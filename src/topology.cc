// File: topology.cc
//
// Discovery of the paths of a namespace: a sysfs walk gives subsystems, controllers and, with
// nvme_core.multipath=N, each controller's own namespaces and their generic char devices;
// Identify through each ng device (libnvme's ioctl helpers) then checks that they really are
// one namespace.
#include "topology.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dirent.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "log.h"

namespace nvme_mpath::internal {
namespace {

std::string& SysfsRoot() {
  static std::string root = "/sys";
  return root;
}

std::string ReadSysfs(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  if (!f || !std::getline(f, s)) return "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// A controller's `address`, read only once its `state` says it is not being torn down: on
// Debian's 6.12.118, reading an NVMe/TCP controller's address while it is deleted oopses the
// kernel (nvme_tcp_get_address() tests the admin queue live, then uses its socket, freed
// meanwhile: a NULL dereference in kernel_getsockname, seen in lab.badinput.6.12). A
// controller on its way out needs no address (it is no path); "" then, as for one gone.
std::string ReadAddress(const std::string& ctrl_dir, CtrlState state) {
  return CtrlDeleted(state) ? "" : ReadSysfs(ctrl_dir + "/address");
}

uint32_t ReadSysfsU32(const std::string& path) {
  std::string s = ReadSysfs(path);
  return s.empty() ? 0 : uint32_t(strtoul(s.c_str(), nullptr, 0));
}


// Fills the sysfs-only fields of a path.
void FillSysfs(PathDesc* d, const std::string& block_name) {
  const std::string ctrl_dir = SysfsRoot() + "/class/nvme/" + d->ctrl_name;
  d->kato_ms = ReadSysfsU32(ctrl_dir + "/kato") * 1000;
  if (d->key.cntlid == 0) d->key.cntlid = uint16_t(ReadSysfsU32(ctrl_dir + "/cntlid"));
  if (!block_name.empty()) {
    const std::string q = SysfsRoot() + "/block/" + block_name + "/queue/";
    d->max_hw_bytes = ReadSysfsU32(q + "max_hw_sectors_kb") * 1024;
    d->max_segments = ReadSysfsU32(q + "max_segments");
  }
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;  // gone meanwhile: sysfs changes under us, that is fine
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') out.push_back(e->d_name);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

bool IsNvmeName(const std::string& s, size_t from) {  // digits, then the rest is ours to check
  return s.size() > from && isdigit(static_cast<unsigned char>(s[from]));
}

// Every controller-level namespace path on the host (multipath=N), plus subsystem-level heads
// (multipath=Y) flagged by an empty ctrl_name. Read from sysfs directly, the attributes
// libnvme's tree scan reads: libnvme 1.3 (Debian 12) double-frees when a controller disappears
// during its scan (scandir failure in nvme_ctrl_scan_namespaces, libnvme issue #840), which is
// exactly when the engine looks for a reconnected controller.
}  // namespace

std::vector<PathDesc> ScanSysfsPaths() {
  std::vector<PathDesc> out;
  const std::string cls = SysfsRoot() + "/class/nvme";
  for (const std::string& c : ListDir(cls)) {
    if (c.rfind("nvme", 0) != 0 || !IsNvmeName(c, 4)) continue;
    const std::string dir = cls + "/" + c;
    PathDesc base;
    base.ctrl_name = c;
    base.ctrl_dev = "/dev/" + c;
    base.key.subsysnqn = ReadSysfs(dir + "/subsysnqn");
    base.key.transport = ReadSysfs(dir + "/transport");
    base.ctrl_state = ParseCtrlState(ReadSysfs(dir + "/state"));
    base.key.address = ReadAddress(dir, base.ctrl_state);
    const std::string numa = ReadSysfs(dir + "/numa_node");
    base.numa_node = numa.empty() ? -1 : atoi(numa.c_str());
    if (base.key.subsysnqn.empty()) continue;  // being deleted
    for (const std::string& n : ListDir(dir)) {
      // multipath=N: the controller's own namespaces are nvme<C>n<N> (nvme<C>c<X>n<N> are the
      // hidden per-path devices of multipath=Y, which have no generic char device).
      if (n.rfind(c + "n", 0) != 0 || !IsNvmeName(n, c.size() + 1)) continue;
      PathDesc d = base;
      d.nsid = ReadSysfsU32(dir + "/" + n + "/nsid");
      d.ng_path = "/dev/ng" + n.substr(4);
      if (d.nsid == 0) continue;
      FillSysfs(&d, n);
      out.push_back(std::move(d));
    }
  }
  // multipath=Y: the heads hang under their subsystem.
  const std::string subs = SysfsRoot() + "/class/nvme-subsystem";
  for (const std::string& s : ListDir(subs)) {
    const std::string dir = subs + "/" + s;
    const std::string nqn = ReadSysfs(dir + "/subsysnqn");
    for (const std::string& n : ListDir(dir)) {
      if (n.rfind("nvme", 0) != 0 || n.find('c') != std::string::npos ||
          n.find('n', 4) == std::string::npos || !IsNvmeName(n, 4))
        continue;
      PathDesc d;
      d.ng_path = "/dev/ng" + n.substr(4);
      d.key.subsysnqn = nqn;
      d.ctrl_state = CtrlState::kLive;
      d.nsid = ReadSysfsU32(dir + "/" + n + "/nsid");
      if (d.nsid == 0) continue;
      d.head_block = n;
      d.head_subsys = s;
      d.head_iopolicy = ReadSysfs(dir + "/iopolicy");
      FillSysfs(&d, n);
      // The write hold needs the longest keep-alive of the controllers the kernel may use.
      for (const HeadMember& m : ReadHeadMembers(n)) d.kato_ms = std::max(d.kato_ms, m.kato_ms);
      out.push_back(std::move(d));
    }
  }
  return out;
}

namespace {
// A namespace format as messages show it: "4096+8e PI type 1 (first bytes) x 16384".
std::string FormatOf(const NamespaceIdentity& ns) {
  std::string pi;
  if (ns.pi_type() != 0)
    pi = fmt::format(" PI type {} ({} bytes)", ns.pi_type(), (ns.dps & 0x8) ? "first" : "last");
  return fmt::format("{}+{}{}{} x {}", ns.lba_size, ns.metadata_size, ns.extended_lba ? "e" : "",
                     pi, ns.nsze);
}
}  // namespace

std::string PathMismatch(const PathDesc& ref, const PathDesc& d) {
  if (d.key.subsysnqn != ref.key.subsysnqn)
    return fmt::format("{} is in subsystem {}, {} in {}", d.ng_path, d.key.subsysnqn, ref.ng_path,
                       ref.key.subsysnqn);
  if (d.nsid != ref.nsid)
    return fmt::format("{} is nsid {}, {} is nsid {}", d.ng_path, d.nsid, ref.ng_path, ref.nsid);
  const std::string a = ref.ns.GroupingId(), b = d.ns.GroupingId();
  if (a.empty() || b.empty() || a != b)
    return fmt::format("{} belongs to namespace {} but {} is {}", d.ng_path,
                       b.empty() ? "(no NGUID/UUID/EUI64)" : b, ref.ng_path,
                       a.empty() ? "(no NGUID/UUID/EUI64)" : a);
  if (!d.ns.SameFormat(ref.ns))
    return fmt::format("{}: LBA format differs: {} vs {} on {}", d.ng_path, FormatOf(d.ns),
                       FormatOf(ref.ns), ref.ng_path);
  // Placement handles mean what the endurance group's FDP configuration says: a write's handle
  // must mean the same on every path it may be resent on.
  if (d.ctrl.fdp_supported() != ref.ctrl.fdp_supported())
    return fmt::format("{}: Flexible Data Placement {} on {} but {} on {} ({})", d.ng_path,
                       d.ctrl.fdp_supported() ? "supported" : "not supported", d.ctrl_name,
                       ref.ctrl.fdp_supported() ? "supported" : "not supported", ref.ctrl_name,
                       ref.ng_path);
  return "";
}

namespace {

std::vector<PathDesc> ScanPaths() { return ScanSysfsPaths(); }

// The device Identify asks: the path's own char device, or for a head the char device of one
// of its live controllers (admin commands through a head go to the controller the kernel would
// pick for I/O, and fail with EAGAIN when no path is usable: with every path inaccessible the
// head could not be opened at all).
std::string IdentifyDevice(const PathDesc& d) {
  if (d.is_head())
    for (const HeadMember& m : ReadHeadMembers(d.head_block))
      if (m.state == CtrlState::kLive) return "/dev/" + m.ctrl_name;
  return d.ng_path;
}

absl::Status Identify(PathDesc* d) {
  const std::string dev = IdentifyDevice(*d);
  int fd = open(dev.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return absl::ErrnoToStatus(e, fmt::format("open {}", dev));
  }
  absl::StatusOr<ControllerIdentity> c = IdentifyController(fd);
  absl::StatusOr<NamespaceIdentity> ns =
      c.ok() ? IdentifyNamespace(fd, d->nsid) : absl::StatusOr<NamespaceIdentity>(c.status());
  close(fd);
  if (!c.ok())
    return absl::Status(c.status().code(), fmt::format("{}: {}", d->ng_path, c.status().message()));
  if (!ns.ok())
    return absl::Status(ns.status().code(), fmt::format("{}: {}", d->ng_path, ns.status().message()));
  d->ctrl = *c;
  d->ns = *ns;
  if (d->key.cntlid == 0) d->key.cntlid = c->cntlid;
  return absl::OkStatus();
}

std::string Canonical(std::string_view path) {
  char buf[PATH_MAX];
  std::string p(path);
  if (realpath(p.c_str(), buf) != nullptr) return buf;
  return p;
}



// Builds a topology from `ref` and the other scanned paths of its namespace.
NamespaceTopology Collect(const PathDesc& ref, std::vector<PathDesc>& all) {
  NamespaceTopology t;
  t.subsysnqn = ref.key.subsysnqn;
  t.nsid = ref.nsid;
  t.grouping_id = ref.ns.GroupingId();
  t.paths.push_back(ref);
  for (PathDesc& d : all) {
    if (d.ng_path == ref.ng_path || d.ctrl_name.empty()) continue;
    if (d.key.subsysnqn != ref.key.subsysnqn || d.nsid != ref.nsid) continue;
    if (absl::Status st = Identify(&d); !st.ok()) {
      MPLOG_WARN("path {} ({}) left out: {}", d.ng_path, d.ctrl_name, st.message());
      continue;
    }
    if (std::string why = PathMismatch(ref, d); !why.empty()) {
      MPLOG_WARN("path {} left out: {}", d.ng_path, why);
      continue;
    }
    MPLOG_INFO("path {} ({} {}) is a path of {} nsid {}", d.ng_path, d.ctrl_name, d.key.address,
               t.subsysnqn, t.nsid);
    t.paths.push_back(d);
  }
  return t;
}

}  // namespace

void SetSysfsRootForTest(const std::string& root) { SysfsRoot() = root; }

uint32_t PathDesc::MaxTransferBytes() const {
  uint32_t m = 0;
  auto take = [&m](uint32_t v) {
    if (v != 0 && (m == 0 || v < m)) m = v;
  };
  take(ctrl.max_transfer_bytes);
  take(max_hw_bytes);
  if (max_segments != 0 && max_segments < (1u << 20) / 4096) take(max_segments * 4096);
  return m;
}

std::vector<HeadMember> ReadHeadMembers(std::string_view head_block) {
  // nvme<S>n<N> -> the prefix "nvme<S>c" and the suffix "n<N>" of its per-path namespaces.
  std::vector<HeadMember> out;
  const std::string head(head_block);
  const size_t npos = head.find('n', 4);
  if (head.rfind("nvme", 0) != 0 || npos == std::string::npos) return out;
  const std::string prefix = head.substr(0, npos) + "c", suffix = head.substr(npos);
  const std::string cls = SysfsRoot() + "/class/nvme";
  for (const std::string& c : ListDir(cls)) {
    if (c.rfind("nvme", 0) != 0 || !IsNvmeName(c, 4)) continue;
    // The per-path namespace is nvme<S>c<C>n<N> with <C> this controller's instance.
    const std::string ns = prefix + c.substr(4) + suffix;
    const std::string dir = cls + "/" + c;
    if (ReadSysfs(dir + "/" + ns + "/nsid").empty()) continue;
    HeadMember m;
    m.ctrl_name = c;
    m.path_ns = ns;
    m.key.subsysnqn = ReadSysfs(dir + "/subsysnqn");
    m.key.transport = ReadSysfs(dir + "/transport");
    m.key.cntlid = uint16_t(ReadSysfsU32(dir + "/cntlid"));
    m.state = ParseCtrlState(ReadSysfs(dir + "/state"));  // "" (vanished): kGone
    m.key.address = ReadAddress(dir, m.state);
    m.ana_state = ReadSysfs(dir + "/" + ns + "/ana_state");
    m.ana_grpid = ReadSysfsU32(dir + "/" + ns + "/ana_grpid");
    m.kato_ms = ReadSysfsU32(dir + "/kato") * 1000;
    out.push_back(std::move(m));
  }
  return out;
}

bool HeadExists(std::string_view head_block) {
  return !ReadSysfs(SysfsRoot() + "/block/" + std::string(head_block) + "/nsid").empty();
}

absl::StatusOr<PathDesc> FindHead(std::string_view subsysnqn, uint32_t nsid) {
  for (PathDesc& d : ScanSysfsPaths()) {
    if (!d.is_head() || d.nsid != nsid || d.key.subsysnqn != subsysnqn) continue;
    bool live = false;
    for (const HeadMember& m : ReadHeadMembers(d.head_block)) live |= m.state == CtrlState::kLive;
    if (!live)
      return absl::UnavailableError(fmt::format("{}: no live controller behind the head", d.ng_path));
    if (absl::Status st = Identify(&d); !st.ok()) return st;
    return d;
  }
  return absl::NotFoundError(fmt::format("no multipath head for nsid {} of {}", nsid, subsysnqn));
}

CtrlState ReadCtrlState(std::string_view ctrl_name) {
  if (ctrl_name.empty()) return CtrlState::kGone;
  // A missing attribute reads as "", which parses as kGone.
  return ParseCtrlState(ReadSysfs(SysfsRoot() + "/class/nvme/" + std::string(ctrl_name) + "/state"));
}

absl::Status CheckGenericCharDevice(std::string_view path) {
  std::string p(path);
  struct stat st;
  if (stat(p.c_str(), &st) != 0) {
    int e = errno;
    if (e == ENOENT) return absl::NotFoundError(fmt::format("{}: no such device", p));
    if (e == EACCES) return absl::PermissionDeniedError(fmt::format("{}: permission denied", p));
    return absl::ErrnoToStatus(e, p);
  }
  if (!S_ISCHR(st.st_mode))
    return absl::InvalidArgumentError(fmt::format(
        "{} is not an NVMe generic char device (/dev/ngXnY): it is {}", p,
        S_ISREG(st.st_mode) ? "a regular file" : S_ISBLK(st.st_mode) ? "a block device" : "not a char device"));
  // The major number must be the one registered as "nvme-generic" in /proc/devices.
  std::ifstream devs("/proc/devices");
  std::string line;
  bool in_char = false;
  unsigned want = ~0u;
  while (std::getline(devs, line)) {
    if (line == "Character devices:") in_char = true;
    else if (line == "Block devices:") in_char = false;
    else if (in_char && line.size() > 4 && line.substr(4) == "nvme-generic")
      want = unsigned(atoi(line.c_str()));
  }
  if (major(st.st_rdev) != want)
    return absl::InvalidArgumentError(fmt::format(
        "{} is not an NVMe generic char device (/dev/ngXnY): char device {}:{}{}", p,
        major(st.st_rdev), minor(st.st_rdev),
        want == ~0u ? " (no nvme-generic driver is registered: is the nvme module loaded?)" : ""));
  return absl::OkStatus();
}

// Passthrough needs the device read-write: say so before a scan that would only find nothing.
absl::Status CheckAccess(const std::string& path) {
  if (access(path.c_str(), R_OK | W_OK) == 0) return absl::OkStatus();
  const int e = errno;
  if (e == EACCES || e == EPERM)
    return absl::PermissionDeniedError(fmt::format(
        "open {}: Permission denied (I/O passthrough needs read-write access to the NVMe "
        "generic char device: run as root or grant access, see docs/operations.md)", path));
  return absl::ErrnoToStatus(e, fmt::format("access {}", path));
}

absl::StatusOr<NamespaceTopology> DiscoverFromDevice(std::string_view ng_path) {
  if (absl::Status st = CheckGenericCharDevice(ng_path); !st.ok()) return st;
  if (absl::Status st = CheckAccess(std::string(ng_path)); !st.ok()) return st;
  const std::string want = Canonical(ng_path);
  std::vector<PathDesc> all = ScanPaths();
  for (PathDesc& d : all) {
    if (d.ng_path != want) continue;
    if (absl::Status st = Identify(&d); !st.ok()) return st;
    if (d.is_head()) {
      std::string members;
      for (const HeadMember& m : ReadHeadMembers(d.head_block))
        members += fmt::format("{}{} ({}, {}, {})", members.empty() ? "" : ", ", m.ctrl_name,
                               m.key.transport, CtrlStateName(m.state), m.ana_state.empty() ? "-" : m.ana_state);
      MPLOG_INFO("head mode: {} is the multipath head of {} ({}, nsid {}; nvme_core.multipath=Y), "
                 "kernel iopolicy {}; controllers: {}. The kernel picks the path of each command; "
                 "the engine recovers what it hands back",
                 d.ng_path, d.head_subsys, d.key.subsysnqn, d.nsid,
                 d.head_iopolicy.empty() ? "-" : d.head_iopolicy, members.empty() ? "none" : members);
      NamespaceTopology t{d.key.subsysnqn, d.nsid, d.ns.GroupingId(), {d}};
      return t;
    }
    if (d.ns.GroupingId().empty())
      MPLOG_WARN("{}: namespace has no NGUID, UUID or EUI64: its other paths cannot be found", d.ng_path);
    return Collect(d, all);
  }
  return absl::NotFoundError(fmt::format(
      "{} is not a namespace of any NVMe controller in sysfs (controller deleted?)", ng_path));
}

absl::StatusOr<NamespaceTopology> DiscoverByNqn(std::string_view subsysnqn, uint32_t nsid) {
  std::vector<PathDesc> all = ScanPaths();
  absl::Status last = absl::NotFoundError(
      fmt::format("no path to namespace {} of subsystem {}", nsid, subsysnqn));
  for (PathDesc& d : all) {
    if (d.key.subsysnqn != subsysnqn || d.nsid != nsid || d.ctrl_name.empty()) continue;
    if (absl::Status st = Identify(&d); !st.ok()) {
      last = st;
      MPLOG_WARN("path {} left out: {}", d.ng_path, st.message());
      continue;
    }
    return Collect(d, all);
  }
  // nvme_core.multipath=Y: no per-controller path, but a head: head mode.
  for (const PathDesc& d : all)
    if (d.is_head() && d.key.subsysnqn == subsysnqn && d.nsid == nsid)
      return DiscoverFromDevice(d.ng_path);
  return last;
}

absl::StatusOr<NamespaceTopology> ValidatePaths(const std::vector<std::string>& ng_paths) {
  if (ng_paths.empty()) return absl::InvalidArgumentError("no path given");
  std::vector<PathDesc> all = ScanPaths();
  NamespaceTopology t;
  for (const std::string& p : ng_paths) {
    if (absl::Status st = CheckGenericCharDevice(p); !st.ok()) return st;
    if (absl::Status st = CheckAccess(p); !st.ok()) return st;
    const std::string want = Canonical(p);
    PathDesc* found = nullptr;
    for (PathDesc& d : all)
      if (d.ng_path == want) found = &d;
    if (found == nullptr)
      return absl::NotFoundError(fmt::format(
          "{} is not a namespace of any NVMe controller in sysfs (controller deleted?)", p));
    for (const PathDesc& d : t.paths)
      if (d.ng_path == found->ng_path)
        return absl::InvalidArgumentError(fmt::format("{} is given twice", p));
    if (found->is_head() && ng_paths.size() > 1)
      return absl::InvalidArgumentError(fmt::format(
          "{} is a multipath head (nvme_core.multipath=Y): give it alone (head mode), not with "
          "other paths", p));
    if (found->is_head()) return DiscoverFromDevice(p);
    if (absl::Status st = Identify(found); !st.ok()) return st;
    if (!t.paths.empty()) {
      if (std::string why = PathMismatch(t.paths[0], *found); !why.empty())
        return absl::InvalidArgumentError(why);
    } else {
      t.subsysnqn = found->key.subsysnqn;
      t.nsid = found->nsid;
      t.grouping_id = found->ns.GroupingId();
    }
    t.paths.push_back(*found);
  }
  return t;
}

absl::StatusOr<std::vector<NamespaceTopology>> DiscoverAll() {
  std::vector<PathDesc> all = ScanPaths();
  std::map<std::pair<std::string, uint32_t>, NamespaceTopology> by_ns;
  for (PathDesc& d : all) {
    if (absl::Status st = Identify(&d); !st.ok()) {
      MPLOG_WARN("{}: {}", d.ng_path, st.message());
      continue;
    }
    auto key = std::make_pair(d.key.subsysnqn + "|" + d.ns.GroupingId(), d.nsid);
    NamespaceTopology& t = by_ns[key];
    if (t.paths.empty()) {
      t.subsysnqn = d.key.subsysnqn;
      t.nsid = d.nsid;
      t.grouping_id = d.ns.GroupingId();
    }
    t.paths.push_back(d);
  }
  std::vector<NamespaceTopology> out;
  for (auto& [k, t] : by_ns) out.push_back(std::move(t));
  return out;
}

absl::StatusOr<PathDesc> FindPath(const PathKey& key, uint32_t nsid) {
  std::vector<PathDesc> all = ScanPaths();
  for (PathDesc& d : all) {
    if (d.ctrl_name.empty() || d.nsid != nsid || !d.key.SameEndpoint(key)) continue;
    if (d.ctrl_state != CtrlState::kLive)
      return absl::UnavailableError(fmt::format("{} ({}) is {}", d.ctrl_name, d.key.address,
                                                CtrlStateName(d.ctrl_state)));
    if (absl::Status st = Identify(&d); !st.ok()) return st;
    return d;
  }
  return absl::NotFoundError(fmt::format("no controller at {} of {} exposes nsid {}", key.address,
                                         key.subsysnqn, nsid));
}

}  // namespace nvme_mpath::internal
