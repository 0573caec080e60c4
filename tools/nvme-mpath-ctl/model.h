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

struct PathRow {
  std::string ctrl, ng, transport, address, state;
  uint32_t ana_grpid = 0;
  std::string ana_state;  // "optimized", ..., or "unknown" / the read error
  int numa_node = -1;
  uint16_t cntlid = 0;
  uint32_t mdts_bytes = 0;
  uint32_t anatt_s = 0;
};

struct NamespaceRow {
  uint32_t nsid = 0;
  std::string nguid, uuid;
  uint64_t nsze = 0;
  uint32_t lba_size = 0;
  std::vector<PathRow> paths;
};

struct SubsystemRow {
  std::string nqn;
  std::vector<NamespaceRow> namespaces;
};

struct ProbeRow {
  std::string ng, ctrl;
  int res = 0;           // 0, NVMe status (>0) or -errno
  double latency_us = 0;
};

struct StatsPath {
  std::string ng, ctrl, address, ana_state, health;
  bool usable = false, marginal = false;
  PathStatsSnapshot counters;
};

struct StatsView {
  int pid = 0;
  std::string segment, name, subsysnqn, policy;
  uint32_t nsid = 0;
  std::vector<StatsPath> paths;
  double interval_s = 0;              // watch: time since the previous sample (0: none)
  std::vector<uint64_t> prev_ios;     // watch: ios at the previous sample
};

// Text printers.
std::string ListText(const std::vector<SubsystemRow>& subs, bool verbose);
std::string AnaLogText(const std::string& dev, const internal::AnaLog& log);
std::string ProbeText(const std::string& target, const std::vector<ProbeRow>& rows);
std::string StatsText(const StatsView& v);

// JSON printers (every document carries "schema_version").
std::string ListJson(const std::vector<SubsystemRow>& subs, bool verbose);
std::string AnaLogJson(const std::string& dev, const internal::AnaLog& log);
std::string ProbeJson(const std::string& target, const std::vector<ProbeRow>& rows);
std::string StatsJson(const std::vector<StatsView>& views);

// Returns what the engine's disposition table does with a probe's result on a first attempt
// (default retry budget): "complete", "retry", "failover", "ana-failover" or "reopen".
const char* ProbeDispositionName(int res);

// Returns the NVMe state name of a raw ANA state value.
std::string AnaStateText(const internal::AnaGroup& g);

}  // namespace nvme_mpath::ctl

#endif  // NVME_MPATH_CTL_MODEL_H_
