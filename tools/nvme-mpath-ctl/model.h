// File: model.h
//
// What nvme-mpath-ctl prints, as plain values: the commands fill these from sysfs, the ANA log,
// probes and a running engine's stats segment; one printer per format turns them into text or
// JSON (pure functions, tested against golden files).
#ifndef NVME_MPATH_CTL_MODEL_H_
#define NVME_MPATH_CTL_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include <nvme_mpath/stats.h>

#include "ana.h"

namespace nvme_mpath::ctl {

inline constexpr int kSchemaVersion = 1;

// New fields go at the end of these structs, with a default member initializer: tests build
// them with positional aggregates (and -Wmissing-field-initializers spares defaulted members).

// A running engine, as the tool names it: "name[pid]".
struct EngineRef {
  int pid = 0;
  std::string name;
};

// One path: a namespace as seen through one controller.
struct PathRow {
  std::string ctrl, ng, transport, address, state;
  uint32_t ana_grpid = 0;
  // Always one of AnaStateName()'s: optimized, non-optimized, inaccessible, persistent-loss,
  // change or unknown. Why it is "unknown" (the log could not be read, a reserved state, the
  // NSID in no group) is in `error`, never here.
  std::string ana_state;
  int numa_node = -1;
  uint16_t cntlid = 0;
  uint32_t mdts_bytes = 0;
  uint32_t anatt_s = 0;
  std::string error{};        // "" or one line: what failed while reading this path's state
  bool ana_supported = true;  // false: no ANA (CMIC bit 3), used as optimized (as the kernel does)
  // Running engines that disabled this path (nvme-mpath-ctl path disable), from their stats
  // segments (MarkDisabledPaths, list.h); empty when none did or none could be read.
  std::vector<EngineRef> disabled_by{};
};

struct NamespaceRow {
  uint32_t nsid = 0;
  std::string nguid, uuid;
  uint64_t nsze = 0;
  uint32_t lba_size = 0;
  std::vector<PathRow> paths;
  uint64_t size_bytes() const { return nsze * lba_size; }
};

// One controller of a subsystem, as `nvme list-subsys` shows it (sysfs /sys/class/nvme/nvmeX).
struct CtrlRow {
  std::string name, transport, address, state, hostnqn;
};

struct SubsystemRow {
  std::string nqn;
  std::vector<NamespaceRow> namespaces;
  std::string name{};      // nvme-subsysN; "" when sysfs has no subsystem for these paths
  std::string hostnqn{};   // the host NQN all its controllers share, "" if none or they differ
  std::string iopolicy{};  // the kernel's iopolicy attribute ("" when absent); not the engine's
  std::vector<CtrlRow> ctrls{};  // from sysfs; may be empty (rows built by hand)
};

// Returns the controllers to show for s: s.ctrls, then those of its paths that s.ctrls lacks
// (from the paths' own transport, address and state; multipath=Y heads have none).
std::vector<CtrlRow> ControllersOf(const SubsystemRow& s);

// Returns a byte count in binary units for people: "0 B", "512 B", "128 KiB", "1.5 GiB"
// (at most two decimals, trailing zeros dropped).
std::string HumanBytes(uint64_t bytes);

struct ProbeRow {
  std::string ng, ctrl;
  int res = 0;           // 0, NVMe status (>0) or -errno
  double latency_us = 0;
};

struct StatsPath {
  std::string ng, ctrl, address, ana_state, health;
  bool usable = false, marginal = false;
  PathStatsSnapshot counters;
  bool disabled = false;  // by the operator: no new I/O while another path is usable
};

struct StatsView {
  int pid = 0;
  std::string segment, name, subsysnqn, policy;
  uint32_t nsid = 0;
  std::vector<StatsPath> paths;
  double interval_s = 0;              // watch: time since the previous sample (0: none)
  std::vector<uint64_t> prev_ios;     // watch: ios at the previous sample
  std::string mode{"per-path"};       // "per-path" or "head" (the kernel's multipath head)
  int64_t sampled_at_ms = 0;          // when the counters were read (Unix time, ms); 0: not shown
};

// One engine's answer to `path disable|enable DEV` (path_admin.h).
struct PathAdminResult {
  EngineRef engine;
  std::string segment, ng, ctrl;
  bool disable = false;      // what was asked
  bool ok = false;           // the engine shows that state (disable: and drained, or last resort)
  bool already = false;      // the path was in that state before the request
  bool drained = false;      // disable: no command in flight on the path any more
  bool last_resort = false;  // disable: no other path of the engine is usable: it stays in use
  uint64_t inflight = 0;     // commands in flight on the path at the last look
  std::string error{};       // when !ok: what went wrong, one line
};

// Text printers.
std::string ListText(const std::vector<SubsystemRow>& subs, bool verbose);
std::string AnaLogText(const std::string& dev, const internal::AnaLog& log);
std::string ProbeText(const std::string& target, const std::vector<ProbeRow>& rows);
std::string StatsText(const StatsView& v);
// One line (no newline) for one engine's answer: "/dev/ng0n1 (nvme0) on engine fio-job[1234]:
// disabled, drained (0 in flight)", or its error after the colon.
std::string PathAdminLine(const PathAdminResult& r);

// JSON printers (every document carries "schema_version").
std::string ListJson(const std::vector<SubsystemRow>& subs, bool verbose);
std::string AnaLogJson(const std::string& dev, const internal::AnaLog& log);
std::string ProbeJson(const std::string& target, const std::vector<ProbeRow>& rows);
std::string StatsJson(const std::vector<StatsView>& views);
std::string PathAdminJson(const std::vector<PathAdminResult>& results);
// Prometheus text format (print_prometheus.cc).
std::string StatsPrometheus(const std::vector<StatsView>& views);

// Returns what the engine's disposition table does with a probe's result on a first attempt
// (default retry budget): "complete", "retry", "failover", "ana-failover" or "reopen".
const char* ProbeDispositionName(int res);

// Returns the NVMe state name of a raw ANA state value.
std::string AnaStateText(const internal::AnaGroup& g);

}  // namespace nvme_mpath::ctl

#endif  // NVME_MPATH_CTL_MODEL_H_
