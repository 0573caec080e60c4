// File: print_prometheus.cc — `nvme-mpath-ctl stats -o prometheus`: the per-path counters in the
// Prometheus text exposition format (version 0.0.4), one shot, for node_exporter's textfile
// collector (write to a .prom file atomically: `stats -o prometheus > f.tmp && mv f.tmp f.prom`).
//
// Every family is written once (HELP, TYPE, then one sample per engine and path), labels
// engine (the job or program name), pid and path (the ng device); label values are escaped as
// the format says (backslash, double quote, newline). The latency histograms are the engine's
// log2 buckets, cumulative, in seconds: bucket i holds [2^i, 2^(i+1)) us, so its upper bound is
// le = 2^(i+1) us; the last one is +Inf. Their _sum is the path's busy time (the sum of the
// latencies the histogram counts); the failover histogram has no sum (the engine keeps none).
#include <string>

#include <fmt/format.h>

#include "model.h"

namespace nvme_mpath::ctl {
namespace {

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string Labels(const StatsView& v, const StatsPath& p, const std::string& extra = "") {
  std::string l = fmt::format("engine=\"{}\",pid=\"{}\",path=\"{}\"", Escape(v.name), v.pid, Escape(p.ng));
  if (!extra.empty()) l += "," + extra;
  return l;
}

// A float as Prometheus reads it, exact enough for bucket bounds (2^k us).
std::string Seconds(double s) { return fmt::format("{:.9g}", s); }

class Writer {
 public:
  explicit Writer(const std::vector<StatsView>& views) : views_(views) {}

  // One family: HELP and TYPE, then value(path) for every path of every engine.
  template <typename F>
  void Family(const char* name, const char* type, const char* help, F value) {
    Head(name, type, help);
    for (const StatsView& v : views_)
      for (const StatsPath& p : v.paths) out_ += fmt::format("{}{{{}}} {}\n", name, Labels(v, p), value(p));
  }

  void Info() {
    const char* name = "nvme_mpath_path_info";
    Head(name, "gauge", "The path's controller, address, ANA state and health; the engine's mode and policy.");
    for (const StatsView& v : views_)
      for (const StatsPath& p : v.paths)
        out_ += fmt::format(
            "{}{{{}}} 1\n", name,
            Labels(v, p, fmt::format("ctrl=\"{}\",address=\"{}\",ana_state=\"{}\",health=\"{}\","
                                     "mode=\"{}\",policy=\"{}\",subsysnqn=\"{}\",nsid=\"{}\"",
                                     Escape(p.ctrl), Escape(p.address), Escape(p.ana_state),
                                     Escape(p.health), Escape(v.mode), Escape(v.policy),
                                     Escape(v.subsysnqn), v.nsid)));
  }

  void ErrorsByClass() {
    const char* name = "nvme_mpath_path_errors_total";
    Head(name, "counter", "Error completions on the path, by error class (before any retry).");
    for (const StatsView& v : views_)
      for (const StatsPath& p : v.paths)
        for (int k = 0; k < kErrorClassCount; ++k)
          out_ += fmt::format("{}{{{}}} {}\n", name,
                              Labels(v, p, fmt::format("class=\"{}\"", ErrorClassName(ErrorClass(k)))),
                              p.counters.errors_by_class[k]);
  }

  // A log2-microsecond histogram of every path; with_sum: its _sum is the path's busy time.
  void Histogram(const char* name, const char* help, const uint64_t* (*hist)(const StatsPath&),
                 bool with_sum) {
    Head(name, "histogram", help);
    for (const StatsView& v : views_) {
      for (const StatsPath& p : v.paths) {
        const uint64_t* h = hist(p);
        uint64_t cum = 0;
        for (int i = 0; i < kLatencyBuckets; ++i) {
          cum += h[i];
          const std::string le =
              i + 1 < kLatencyBuckets ? Seconds(double(uint64_t{1} << (i + 1)) * 1e-6) : "+Inf";
          out_ += fmt::format("{}_bucket{{{}}} {}\n", name, Labels(v, p, "le=\"" + le + "\""), cum);
        }
        if (with_sum)
          out_ += fmt::format("{}_sum{{{}}} {}\n", name, Labels(v, p), Seconds(double(p.counters.busy_ns) * 1e-9));
        out_ += fmt::format("{}_count{{{}}} {}\n", name, Labels(v, p), cum);
      }
    }
  }

  std::string Take() { return std::move(out_); }

 private:
  void Head(const char* name, const char* type, const char* help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }

  const std::vector<StatsView>& views_;
  std::string out_;
};

}  // namespace

std::string StatsPrometheus(const std::vector<StatsView>& views) {
  Writer w(views);
  // The descriptive labels live in one info family (value 1), as Prometheus suggests, so that
  // an ANA change does not start new series for every counter.
  w.Info();
  w.Family("nvme_mpath_path_usable", "gauge", "1 when the engine may send I/O down the path (a disabled one only as the last resort), else 0.",
           [](const StatsPath& p) { return uint64_t{p.usable}; });
  w.Family("nvme_mpath_path_marginal", "gauge",
           "1 when the engine judged the path marginal (used only when nothing better is).",
           [](const StatsPath& p) { return uint64_t{p.marginal}; });
  w.Family("nvme_mpath_path_disabled", "gauge",
           "1 when the operator disabled the path (nvme-mpath-ctl path disable): no new I/O while "
           "another path is usable.",
           [](const StatsPath& p) { return uint64_t{p.disabled}; });
  w.Family("nvme_mpath_path_ios_total", "counter", "Commands completed successfully on the path.",
           [](const StatsPath& p) { return p.counters.ios; });
  w.Family("nvme_mpath_path_reads_total", "counter", "Read and compare commands completed successfully on the path.",
           [](const StatsPath& p) { return p.counters.reads; });
  w.Family("nvme_mpath_path_writes_total", "counter", "Write commands completed successfully on the path.",
           [](const StatsPath& p) { return p.counters.writes; });
  w.Family("nvme_mpath_path_bytes_total", "counter",
           "Data bytes of the reads, writes and compares completed on the path.",
           [](const StatsPath& p) { return p.counters.bytes; });
  w.Family("nvme_mpath_path_inflight", "gauge", "Commands in the kernel on the path now.",
           [](const StatsPath& p) { return p.counters.inflight; });
  w.Family("nvme_mpath_path_retries_total", "counter", "Commands retried on the same path.",
           [](const StatsPath& p) { return p.counters.retries; });
  w.Family("nvme_mpath_path_failovers_total", "counter", "Commands moved away from the path after an error.",
           [](const StatsPath& p) { return p.counters.failovers; });
  w.Family("nvme_mpath_path_requeues_total", "counter",
           "Commands parked while no path was usable, this path their last.",
           [](const StatsPath& p) { return p.counters.requeues; });
  w.ErrorsByClass();
  w.Histogram("nvme_mpath_path_latency_seconds", "Latency of every completion on the path (log2 buckets).",
              [](const StatsPath& p) -> const uint64_t* { return p.counters.latency_hist; }, true);
  w.Histogram("nvme_mpath_path_failover_latency_seconds",
              "From a command's first failing completion to its good completion on this path.",
              [](const StatsPath& p) -> const uint64_t* { return p.counters.failover_hist; }, false);
  return w.Take();
}

}  // namespace nvme_mpath::ctl
