// File: print_json.cc — nvme-mpath-ctl's JSON printers. Every document has "schema_version".
#include <fmt/format.h>

#include <nvme_mpath/status.h>

#include "model.h"

namespace nvme_mpath::ctl {
namespace {

std::string Q(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) o += fmt::format("\\u{:04x}", int(c));
        else o += c;
    }
  }
  return o + "\"";
}

template <typename T, typename F>
std::string Array(const std::vector<T>& v, F&& f) {
  std::string o = "[";
  for (size_t i = 0; i < v.size(); ++i) o += (i ? "," : "") + f(v[i]);
  return o + "]";
}

std::string Hist(const uint64_t* h) {
  std::string o = "[";
  for (int i = 0; i < kLatencyBuckets; ++i) o += fmt::format("{}{}", i ? "," : "", h[i]);
  return o + "]";
}

}  // namespace

std::string ListJson(const std::vector<SubsystemRow>& subs, bool verbose) {
  return fmt::format("{{\"schema_version\":{},\"subsystems\":{}}}\n", kSchemaVersion,
    Array(subs, [&](const SubsystemRow& s) {
      return fmt::format("{{\"nqn\":{},\"namespaces\":{}}}", Q(s.nqn),
        Array(s.namespaces, [&](const NamespaceRow& n) {
          return fmt::format("{{\"nsid\":{},\"nguid\":{},\"uuid\":{},\"nsze\":{},\"lba_size\":{},\"paths\":{}}}",
            n.nsid, Q(n.nguid), Q(n.uuid), n.nsze, n.lba_size,
            Array(n.paths, [&](const PathRow& p) {
              std::string o = fmt::format(
                  "{{\"ctrl\":{},\"ng\":{},\"transport\":{},\"address\":{},\"state\":{},"
                  "\"ana_group\":{},\"ana_state\":{},\"numa_node\":{}",
                  Q(p.ctrl), Q(p.ng), Q(p.transport), Q(p.address), Q(p.state), p.ana_grpid,
                  Q(p.ana_state), p.numa_node);
              if (verbose)
                o += fmt::format(",\"cntlid\":{},\"mdts_bytes\":{},\"anatt_s\":{}", p.cntlid,
                                 p.mdts_bytes, p.anatt_s);
              return o + "}";
            }));
        }));
    }));
}

std::string AnaLogJson(const std::string& dev, const internal::AnaLog& log) {
  return fmt::format("{{\"schema_version\":{},\"device\":{},\"chgcnt\":{},\"groups\":{}}}\n",
    kSchemaVersion, Q(dev), log.chgcnt, Array(log.groups, [](const internal::AnaGroup& g) {
      return fmt::format("{{\"grpid\":{},\"state\":{},\"chgcnt\":{},\"nsids\":{}}}", g.grpid,
                         Q(AnaStateText(g)), g.chgcnt,
                         Array(g.nsids, [](uint32_t n) { return fmt::format("{}", n); }));
    }));
}

std::string ProbeJson(const std::string& target, const std::vector<ProbeRow>& rows) {
  return fmt::format("{{\"schema_version\":{},\"target\":{},\"paths\":{}}}\n", kSchemaVersion,
    Q(target), Array(rows, [](const ProbeRow& r) {
      return fmt::format("{{\"ng\":{},\"ctrl\":{},\"res\":{},\"status\":{},\"disposition\":{},\"latency_us\":{:.1f}}}",
                         Q(r.ng), Q(r.ctrl), r.res, Q(StatusName(r.res)),
                         Q(ProbeDispositionName(r.res)), r.latency_us);
    }));
}

std::string StatsJson(const std::vector<StatsView>& views) {
  return fmt::format("{{\"schema_version\":{},\"engines\":{}}}\n", kSchemaVersion,
    Array(views, [](const StatsView& v) {
      return fmt::format("{{\"pid\":{},\"segment\":{},\"name\":{},\"subsysnqn\":{},\"nsid\":{},\"policy\":{},\"paths\":{}}}",
        v.pid, Q(v.segment), Q(v.name), Q(v.subsysnqn), v.nsid, Q(v.policy),
        Array(v.paths, [](const StatsPath& p) {
          const PathStatsSnapshot& c = p.counters;
          std::string errs = "{";
          for (int k = 0; k < kErrorClassCount; ++k)
            errs += fmt::format("{}{}:{}", k ? "," : "", Q(ErrorClassName(ErrorClass(k))), c.errors_by_class[k]);
          errs += "}";
          return fmt::format(
              "{{\"ng\":{},\"ctrl\":{},\"address\":{},\"ana_state\":{},\"health\":{},\"usable\":{},"
              "\"marginal\":{},\"ios\":{},\"bytes\":{},\"reads\":{},\"writes\":{},\"inflight\":{},"
              "\"errors\":{},\"errors_by_class\":{},\"retries\":{},\"failovers\":{},\"requeues\":{},"
              "\"busy_ns\":{},\"latency_hist_log2_us\":{},\"failover_hist_log2_us\":{}}}",
              Q(p.ng), Q(p.ctrl), Q(p.address), Q(p.ana_state), Q(p.health), p.usable ? "true" : "false",
              p.marginal ? "true" : "false", c.ios, c.bytes, c.reads, c.writes, c.inflight, c.errors,
              errs, c.retries, c.failovers, c.requeues, c.busy_ns, Hist(c.latency_hist),
              Hist(c.failover_hist));
        }));
    }));
}

}  // namespace nvme_mpath::ctl
