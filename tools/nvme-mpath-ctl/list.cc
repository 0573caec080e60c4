// File: list.cc — subsystems, controllers, namespaces and ANA states for `nvme-mpath-ctl list`
// (see list.h).
#include "list.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <system_error>

#include <fmt/format.h>

#include "identify.h"

namespace nvme_mpath::ctl {
namespace {

namespace fs = std::filesystem;

// The first line of a sysfs attribute, without its newline; "" when it cannot be read.
std::string Attr(const fs::path& p) {
  std::ifstream f(p);
  std::string s;
  if (!f || !std::getline(f, s)) return "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Returns the number after `prefix` when name is prefix + digits only, else -1.
long NumberAfter(const std::string& name, const std::string& prefix) {
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return -1;
  long n = 0;
  for (size_t i = prefix.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || n > 1'000'000'000) return -1;
    n = n * 10 + (name[i] - '0');
  }
  return n;
}

// Names in dir that are prefix + a number, in numeric order.
std::vector<std::string> Numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<long, std::string>> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (long n = NumberAfter(name, prefix); n >= 0) found.emplace_back(n, std::move(name));
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [n, name] : found) out.push_back(std::move(name));
  return out;
}

}  // namespace

std::vector<SubsystemRow> ReadSysfsSubsystems(const std::string& sysfs_root) {
  const fs::path root(sysfs_root);
  std::vector<SubsystemRow> out;
  for (const std::string& sname : Numbered(root / "class/nvme-subsystem", "nvme-subsys")) {
    const fs::path dir = root / "class/nvme-subsystem" / sname;
    SubsystemRow s;
    s.name = sname;
    s.nqn = Attr(dir / "subsysnqn");
    s.iopolicy = Attr(dir / "iopolicy");
    // The subsystem links each of its controllers as nvmeX (namespaces are nvmeXnY, hidden
    // paths nvmeXcYnZ: Numbered() takes digits only).
    for (const std::string& c : Numbered(dir, "nvme")) {
      const fs::path cdir = root / "class/nvme" / c;
      s.ctrls.push_back(CtrlRow{c, Attr(cdir / "transport"), Attr(cdir / "address"),
                                Attr(cdir / "state"), Attr(cdir / "hostnqn")});
    }
    // nvme list-subsys shows one host NQN above its subsystems; here it is the subsystem's when
    // every controller has the same one (connections may each give their own --hostnqn).
    if (!s.ctrls.empty()) s.hostnqn = s.ctrls[0].hostnqn;
    for (const CtrlRow& c : s.ctrls)
      if (c.hostnqn != s.hostnqn) s.hostnqn.clear();
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

// The row of path `d` before its ANA state is known: what sysfs and Identify said of it.
PathRow BaseRow(const internal::PathDesc& d) {
  PathRow r;
  r.ctrl = d.ctrl_name.empty() ? "(head)" : d.ctrl_name;
  r.ng = d.ng_path;
  r.transport = d.key.transport;
  r.address = d.key.address;
  r.state = internal::CtrlStateName(d.ctrl_state);
  r.numa_node = d.numa_node;
  r.cntlid = d.key.cntlid;
  r.mdts_bytes = d.ctrl.max_transfer_bytes;
  r.anatt_s = d.ctrl.anatt_s;
  r.ana_state = AnaStateName(AnaState::kUnknown);
  r.ana_supported = d.ctrl.ana_supported();
  return r;
}

}  // namespace

PathRow PathRowOf(const internal::PathDesc& d, const absl::StatusOr<internal::AnaLog>* log) {
  PathRow r = BaseRow(d);
  if (!r.ana_supported) {
    // What the kernel and the engine (path_decision.cc) take such a path to be.
    r.ana_state = AnaStateName(AnaState::kOptimized);
    return r;
  }
  if (log == nullptr) {
    r.error = "ANA log not read";
    return r;
  }
  if (!log->ok()) {
    r.error = std::string(log->status().message());
    return r;
  }
  const internal::AnaGroup* g = (*log)->GroupOf(d.nsid);
  if (g == nullptr) {
    r.error = fmt::format("nsid {} is in no group of the controller's ANA log", d.nsid);
    return r;
  }
  r.ana_grpid = g->grpid;
  if (g->state == AnaState::kUnknown) {
    r.error = fmt::format("ANA group {} has the reserved state {:#x}", g->grpid, g->raw_state);
    return r;
  }
  r.ana_state = AnaStateName(g->state);
  return r;
}

// A multipath head (nvme_core.multipath=Y, the engine's head mode): one row per controller
// behind it, all on the head's ng device, with the kernel's own view of each path (sysfs state
// and ana_state): the kernel picks among them per command.
std::vector<PathRow> HeadRows(const internal::PathDesc& d) {
  std::vector<PathRow> rows;
  for (const internal::HeadMember& m : internal::ReadHeadMembers(d.head_block)) {
    PathRow r = BaseRow(d);  // the head's ng device and Identify, this controller's endpoint
    r.ctrl = m.ctrl_name;
    r.transport = m.key.transport;
    r.address = m.key.address;
    r.state = internal::CtrlStateName(m.state);
    r.cntlid = m.key.cntlid;
    r.ana_grpid = m.ana_grpid;
    const std::optional<AnaState> a = ParseAnaState(m.ana_state);
    r.ana_state = AnaStateName(a.value_or(AnaState::kUnknown));
    if (!a) r.error = fmt::format("{}: ana_state unreadable or unknown ('{}')", m.path_ns, m.ana_state);
    rows.push_back(std::move(r));
  }
  if (rows.empty()) {
    PathRow r = BaseRow(d);
    r.error = "no controller behind the multipath head";
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<SubsystemRow> BuildList(std::vector<SubsystemRow> subs,
                                    const std::vector<internal::NamespaceTopology>& topo,
                                    const PathAnaReader& read_ana) {
  // One read per controller: its ANA log covers all its namespaces.
  std::map<std::string, absl::StatusOr<internal::AnaLog>> logs;
  auto log_of = [&](const internal::PathDesc& d) -> const absl::StatusOr<internal::AnaLog>* {
    if (!d.ctrl.ana_supported()) return nullptr;
    const std::string key = d.ctrl_name.empty() ? d.ng_path : d.ctrl_name;
    auto it = logs.find(key);
    if (it == logs.end()) it = logs.emplace(key, read_ana(d)).first;
    return &it->second;
  };
  for (const internal::NamespaceTopology& t : topo) {
    if (t.paths.empty()) continue;
    const internal::PathDesc& first = t.paths.front();
    SubsystemRow* s = nullptr;
    for (SubsystemRow& x : subs)
      for (const CtrlRow& c : x.ctrls)
        if (s == nullptr && !first.ctrl_name.empty() && c.name == first.ctrl_name) s = &x;
    for (SubsystemRow& x : subs)
      if (s == nullptr && x.nqn == t.subsysnqn) s = &x;
    if (s == nullptr) {
      subs.push_back(SubsystemRow{t.subsysnqn, {}, "", "", "", {}});
      s = &subs.back();
    }
    NamespaceRow n;
    n.nsid = t.nsid;
    const internal::NamespaceIdentity& id = first.ns;
    n.nguid = id.has_nguid() ? internal::HexString(id.nguid) : "";
    n.uuid = id.has_uuid() ? internal::HexString(id.uuid) : "";
    n.nsze = id.nsze;
    n.lba_size = id.lba_size;
    for (const internal::PathDesc& d : t.paths) {
      if (d.is_head()) {
        for (PathRow& r : HeadRows(d)) n.paths.push_back(std::move(r));
        continue;
      }
      n.paths.push_back(PathRowOf(d, log_of(d)));
    }
    s->namespaces.push_back(std::move(n));
  }
  for (SubsystemRow& s : subs)
    std::stable_sort(s.namespaces.begin(), s.namespaces.end(),
                     [](const NamespaceRow& a, const NamespaceRow& b) { return a.nsid < b.nsid; });
  return subs;
}

void MarkDisabledPaths(std::vector<SubsystemRow>* subs, const std::vector<EngineDisabledPaths>& engines) {
  for (SubsystemRow& s : *subs)
    for (NamespaceRow& n : s.namespaces)
      for (PathRow& r : n.paths)
        for (const EngineDisabledPaths& e : engines)
          if (std::find(e.ng_paths.begin(), e.ng_paths.end(), r.ng) != e.ng_paths.end())
            r.disabled_by.push_back(e.engine);
}

}  // namespace nvme_mpath::ctl
