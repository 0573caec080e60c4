// File: print_text.cc — nvme-mpath-ctl's text printers (in the style of nvme list-subsys).
#include <algorithm>
#include <iterator>

#include <fmt/format.h>

#include <nvme_mpath/engine.h>
#include <nvme_mpath/status.h>

#include "disposition.h"
#include "model.h"

namespace nvme_mpath::ctl {

std::string AnaStateText(const internal::AnaGroup& g) {
  if (g.state == AnaState::kUnknown) return fmt::format("reserved({:#x})", g.raw_state);
  return AnaStateName(g.state);
}

std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (u + 1 < int(std::size(kUnits)) && bytes >= (uint64_t(1) << (10 * (u + 1)))) ++u;
  if (u == 0) return fmt::format("{} B", bytes);
  std::string n = fmt::format("{:.2f}", double(bytes) / double(uint64_t(1) << (10 * u)));
  while (n.back() == '0') n.pop_back();
  if (n.back() == '.') n.pop_back();
  return fmt::format("{} {}", n, kUnits[u]);
}

std::vector<CtrlRow> ControllersOf(const SubsystemRow& s) {
  std::vector<CtrlRow> out = s.ctrls;
  for (const NamespaceRow& n : s.namespaces)
    for (const PathRow& p : n.paths) {
      if (p.ctrl.empty() || p.ctrl[0] == '(') continue;  // "(head)": no controller of its own
      bool known = false;
      for (const CtrlRow& c : out) known |= c.name == p.ctrl;
      if (!known) out.push_back(CtrlRow{p.ctrl, p.transport, p.address, p.state, ""});
    }
  return out;
}

// The subsystem header and its controllers as `nvme list-subsys` prints them, then the
// engine's view: namespace -> paths, each with its ng device, ANA group and state, NUMA node.
std::string ListText(const std::vector<SubsystemRow>& subs, bool verbose) {
  std::string out;
  if (subs.empty()) return "no NVMe namespaces with generic char devices found\n";
  for (size_t i = 0; i < subs.size(); ++i) {
    const SubsystemRow& s = subs[i];
    if (i > 0) out += "\n";
    const std::string head = s.name.empty() ? "" : s.name + " - ";
    const std::string indent(head.size(), ' ');
    out += fmt::format("{}NQN={}\n", head, s.nqn);
    if (!s.hostnqn.empty()) out += fmt::format("{}hostnqn={}\n", indent, s.hostnqn);
    if (!s.iopolicy.empty()) out += fmt::format("{}iopolicy={}\n", indent, s.iopolicy);
    out += "\\\n";
    const std::vector<CtrlRow> ctrls = ControllersOf(s);
    const size_t nitems = ctrls.size() + std::max<size_t>(s.namespaces.size(), 1);
    size_t item = 0;
    auto branch = [&] { return ++item == nitems ? " `-" : " +-"; };
    for (const CtrlRow& c : ctrls) {
      out += fmt::format("{} {} {} {} {}", branch(), c.name, c.transport, c.address, c.state);
      // A controller connected with its own --hostnqn says so (else it is the line above).
      if (!c.hostnqn.empty() && c.hostnqn != s.hostnqn) out += fmt::format(" hostnqn={}", c.hostnqn);
      out += "\n";
    }
    if (s.namespaces.empty())
      out += fmt::format("{} no namespace listed (none with a generic char device, or Identify "
                         "failed: NVME_MPATH_LOG=warn says why)\n", branch());
    for (const NamespaceRow& ns : s.namespaces) {
      const char* b = branch();
      const bool last_ns = item == nitems;
      out += fmt::format("{} nsid {}  {} ({} x {} B)", b, ns.nsid, HumanBytes(ns.size_bytes()),
                         ns.nsze, ns.lba_size);
      if (verbose) {
        if (!ns.nguid.empty()) out += fmt::format("  nguid {}", ns.nguid);
        if (!ns.uuid.empty()) out += fmt::format("  uuid {}", ns.uuid);
      }
      out += fmt::format("  ({} path{})\n", ns.paths.size(), ns.paths.size() == 1 ? "" : "s");
      for (size_t p = 0; p < ns.paths.size(); ++p) {
        const PathRow& r = ns.paths[p];
        const bool last = p + 1 == ns.paths.size();
        // A controller without ANA has no group; its paths are used as optimized.
        const std::string group = r.ana_supported ? fmt::format("{}", r.ana_grpid) : "-";
        const std::string ana = r.ana_supported ? r.ana_state : r.ana_state + " (no ANA)";
        out += fmt::format(" {}  {} {:<7} {:<12} {:<11} ana-group {} {:<15} numa {}",
                           last_ns ? " " : "|", last ? "`-" : "+-", r.ctrl, r.ng, r.state,
                           group, ana, r.numa_node);
        if (verbose)
          out += fmt::format(" cntlid {} mdts {} anatt {}s", r.cntlid,
                             r.mdts_bytes ? HumanBytes(r.mdts_bytes) : "none", r.anatt_s);
        if (!r.disabled_by.empty()) {
          std::string by;
          for (const EngineRef& e : r.disabled_by)
            by += fmt::format("{}{}[{}]", by.empty() ? "" : ",", e.name, e.pid);
          out += fmt::format("  disabled by {}", by);
        }
        if (!r.error.empty()) out += fmt::format("  error: {}", r.error);
        out += "\n";
      }
    }
  }
  return out;
}

std::string AnaLogText(const std::string& dev, const internal::AnaLog& log) {
  std::string out = fmt::format("ANA log of the controller behind {}\nchgcnt {}, {} group{}\n",
                                dev, log.chgcnt, log.groups.size(), log.groups.size() == 1 ? "" : "s");
  for (const internal::AnaGroup& g : log.groups) {
    std::string nsids;
    for (uint32_t n : g.nsids) nsids += fmt::format("{}{}", nsids.empty() ? "" : ",", n);
    out += fmt::format("  group {:<4} {:<15} chgcnt {:<6} nsids [{}]\n", g.grpid, AnaStateText(g),
                       g.chgcnt, nsids);
  }
  return out;
}

const char* ProbeDispositionName(int res) {
  return internal::DispositionName(
      internal::Decide(res, /*retries=*/0, EngineOptions{}.max_retries).disposition);
}

std::string ProbeText(const std::string& target, const std::vector<ProbeRow>& rows) {
  std::string out = fmt::format("probe {}: 1-LBA read at LBA 0 on each path\n", target);
  for (const ProbeRow& r : rows) {
    out += fmt::format("  {:<12} {:<7} {:<20} {:<13} {:>10.1f} us\n", r.ng, r.ctrl, StatusName(r.res),
                       ProbeDispositionName(r.res), r.latency_us);
  }
  return out;
}

std::string StatsText(const StatsView& v) {
  std::string out = fmt::format("engine pid {} \"{}\"  {} nsid {}  mode {}  policy {}  ({})\n",
                                v.pid, v.name, v.subsysnqn, v.nsid, v.mode, v.policy, v.segment);
  // CTRL is wide enough for a head's subsystem name ("nvme-subsys12").
  out += fmt::format("  {:<12} {:<13} {:<15} {:<10} {:>10} {:>9} {:>6} {:>7} {:>7} {:>9} {:>9} {:>8} {:>8}\n",
                     "PATH", "CTRL", "ANA", "USE", "IOS", "MIB", "INFL", "ERRORS", "RETRY",
                     "FAILOVER", "REQUEUE", "P50_US", "P99_US");
  for (size_t i = 0; i < v.paths.size(); ++i) {
    const StatsPath& p = v.paths[i];
    const PathStatsSnapshot& c = p.counters;
    // Disabled by the operator: "disabled" while it could still carry I/O (the last resort),
    // "dis," and what else keeps it unused otherwise.
    std::string use = p.usable ? (p.marginal ? "marg" : "yes") : p.health == "live" ? "no" : p.health;
    if (p.disabled) use = p.usable ? "disabled" : "dis," + use;
    out += fmt::format("  {:<12} {:<13} {:<15} {:<10} {:>10} {:>9} {:>6} {:>7} {:>7} {:>9} {:>9} {:>8} {:>8}",
                       p.ng, p.ctrl, p.ana_state, use, c.ios, c.bytes >> 20, c.inflight, c.errors,
                       c.retries, c.failovers, c.requeues, HistogramQuantileUs(c.latency_hist, 0.5),
                       HistogramQuantileUs(c.latency_hist, 0.99));
    if (v.interval_s > 0 && i < v.prev_ios.size())
      out += fmt::format("  {:.0f} io/s", double(c.ios - v.prev_ios[i]) / v.interval_s);
    out += "\n";
    std::string errs;
    for (int k = 0; k < kErrorClassCount; ++k)
      if (c.errors_by_class[k])
        errs += fmt::format(" {}={}", ErrorClassName(ErrorClass(k)), c.errors_by_class[k]);
    if (!errs.empty()) out += fmt::format("  {:<12} errors by class:{}\n", "", errs);
  }
  return out;
}

}  // namespace nvme_mpath::ctl

namespace nvme_mpath::ctl {

std::string PathAdminLine(const PathAdminResult& r) {
  std::string out = fmt::format("{} ({}) on engine {}[{}]: ", r.ng, r.ctrl, r.engine.name, r.engine.pid);
  if (!r.ok) return out + r.error;
  const char* state = r.disable ? "disabled" : "enabled";
  out += r.already ? fmt::format("already {}", state) : state;
  if (r.drained) out += fmt::format(", drained ({} in flight)", r.inflight);
  if (r.last_resort)
    out += fmt::format(", but still in use as the last resort: no other path is usable ({} in "
                       "flight)", r.inflight);
  return out;
}

}  // namespace nvme_mpath::ctl
