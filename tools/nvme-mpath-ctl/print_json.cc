// File: print_json.cc — nvme-mpath-ctl's JSON printers. Every document has "schema_version".
//
// Documents are built with json-c (as nvme-cli's are) and serialized compact, '/' unescaped;
// every string goes through mpath_json_string*() (tools/json), which makes it valid UTF-8
// first: json-c escapes control characters but copies bytes >= 0x80 unchecked. Keys and layout
// are those of schema_version 1: keys may be added (at the end of their object), never removed
// or renamed without a version bump.
#include <json-c/json.h>

#include <memory>
#include <string_view>

#include <fmt/format.h>

#include <nvme_mpath/status.h>

#include "model.h"
#include "mpath_json.h"

namespace nvme_mpath::ctl {
namespace {

// Each helper returns a new reference that the object or array it is added to takes over.
json_object* Str(std::string_view s) { return mpath_json_string_len(s.data(), s.size()); }
json_object* Uint(uint64_t v) { return json_object_new_uint64(v); }
json_object* Int(int64_t v) { return json_object_new_int64(v); }
json_object* Bool(bool v) { return json_object_new_boolean(v ? 1 : 0); }
// A number printed with one decimal, as schema 1 always printed latencies.
json_object* Fixed1(double v) { return json_object_new_double_s(v, fmt::format("{:.1f}", v).c_str()); }

void Add(json_object* o, const char* key, json_object* v) { json_object_object_add(o, key, v); }

template <typename T, typename F>
json_object* Array(const std::vector<T>& v, F&& f) {
  json_object* a = json_object_new_array();
  for (const T& x : v) json_object_array_add(a, f(x));
  return a;
}

json_object* Hist(const uint64_t* h) {
  json_object* a = json_object_new_array();
  for (int i = 0; i < kLatencyBuckets; ++i) json_object_array_add(a, Uint(h[i]));
  return a;
}

struct Put {
  void operator()(json_object* o) const { json_object_put(o); }
};

// Starts a document: {"schema_version": 1, ...}.
std::unique_ptr<json_object, Put> Document() {
  std::unique_ptr<json_object, Put> root(json_object_new_object());
  Add(root.get(), "schema_version", Int(kSchemaVersion));
  return root;
}

std::string Serialize(const std::unique_ptr<json_object, Put>& root) {
  size_t len = 0;
  const char* s = json_object_to_json_string_length(
      root.get(), JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  return std::string(s, len) + "\n";
}

}  // namespace

std::string ListJson(const std::vector<SubsystemRow>& subs, bool verbose) {
  auto root = Document();
  Add(root.get(), "subsystems", Array(subs, [&](const SubsystemRow& s) {
    json_object* so = json_object_new_object();
    Add(so, "nqn", Str(s.nqn));
    Add(so, "namespaces", Array(s.namespaces, [&](const NamespaceRow& n) {
      json_object* no = json_object_new_object();
      Add(no, "nsid", Uint(n.nsid));
      Add(no, "nguid", Str(n.nguid));
      Add(no, "uuid", Str(n.uuid));
      Add(no, "nsze", Uint(n.nsze));
      Add(no, "lba_size", Uint(n.lba_size));
      Add(no, "paths", Array(n.paths, [&](const PathRow& p) {
        json_object* po = json_object_new_object();
        Add(po, "ctrl", Str(p.ctrl));
        Add(po, "ng", Str(p.ng));
        Add(po, "transport", Str(p.transport));
        Add(po, "address", Str(p.address));
        Add(po, "state", Str(p.state));
        Add(po, "ana_group", Uint(p.ana_grpid));
        Add(po, "ana_state", Str(p.ana_state));
        Add(po, "numa_node", Int(p.numa_node));
        if (verbose) {
          Add(po, "cntlid", Uint(p.cntlid));
          Add(po, "mdts_bytes", Uint(p.mdts_bytes));
          Add(po, "anatt_s", Uint(p.anatt_s));
        }
        Add(po, "ana_supported", Bool(p.ana_supported));
        Add(po, "error", Str(p.error));
        Add(po, "disabled_by", Array(p.disabled_by, [](const EngineRef& e) {
          json_object* eo = json_object_new_object();
          Add(eo, "pid", Int(e.pid));
          Add(eo, "name", Str(e.name));
          return eo;
        }));
        return po;
      }));
      Add(no, "size_bytes", Uint(n.size_bytes()));
      return no;
    }));
    Add(so, "name", Str(s.name));
    Add(so, "hostnqn", Str(s.hostnqn));
    Add(so, "iopolicy", Str(s.iopolicy));
    Add(so, "controllers", Array(ControllersOf(s), [](const CtrlRow& c) {
      json_object* co = json_object_new_object();
      Add(co, "name", Str(c.name));
      Add(co, "transport", Str(c.transport));
      Add(co, "address", Str(c.address));
      Add(co, "state", Str(c.state));
      Add(co, "hostnqn", Str(c.hostnqn));
      return co;
    }));
    return so;
  }));
  return Serialize(root);
}

std::string AnaLogJson(const std::string& dev, const internal::AnaLog& log) {
  auto root = Document();
  Add(root.get(), "device", Str(dev));
  Add(root.get(), "chgcnt", Uint(log.chgcnt));
  Add(root.get(), "groups", Array(log.groups, [](const internal::AnaGroup& g) {
    json_object* go = json_object_new_object();
    Add(go, "grpid", Uint(g.grpid));
    Add(go, "state", Str(AnaStateText(g)));
    Add(go, "chgcnt", Uint(g.chgcnt));
    Add(go, "nsids", Array(g.nsids, [](uint32_t n) { return Uint(n); }));
    return go;
  }));
  return Serialize(root);
}

std::string ProbeJson(const std::string& target, const std::vector<ProbeRow>& rows) {
  auto root = Document();
  Add(root.get(), "target", Str(target));
  Add(root.get(), "paths", Array(rows, [](const ProbeRow& r) {
    json_object* po = json_object_new_object();
    Add(po, "ng", Str(r.ng));
    Add(po, "ctrl", Str(r.ctrl));
    Add(po, "res", Int(r.res));
    Add(po, "status", Str(StatusName(r.res)));
    Add(po, "disposition", Str(ProbeDispositionName(r.res)));
    Add(po, "latency_us", Fixed1(r.latency_us));
    return po;
  }));
  return Serialize(root);
}

std::string StatsJson(const std::vector<StatsView>& views) {
  auto root = Document();
  Add(root.get(), "engines", Array(views, [](const StatsView& v) {
    json_object* eo = json_object_new_object();
    Add(eo, "pid", Int(v.pid));
    Add(eo, "segment", Str(v.segment));
    Add(eo, "name", Str(v.name));
    Add(eo, "subsysnqn", Str(v.subsysnqn));
    Add(eo, "nsid", Uint(v.nsid));
    Add(eo, "mode", Str(v.mode));
    Add(eo, "policy", Str(v.policy));
    if (v.sampled_at_ms != 0) Add(eo, "sampled_at_ms", Int(v.sampled_at_ms));
    Add(eo, "paths", Array(v.paths, [](const StatsPath& p) {
      const PathStatsSnapshot& c = p.counters;
      json_object* po = json_object_new_object();
      Add(po, "ng", Str(p.ng));
      Add(po, "ctrl", Str(p.ctrl));
      Add(po, "address", Str(p.address));
      Add(po, "ana_state", Str(p.ana_state));
      Add(po, "health", Str(p.health));
      Add(po, "usable", Bool(p.usable));
      Add(po, "marginal", Bool(p.marginal));
      Add(po, "ios", Uint(c.ios));
      Add(po, "bytes", Uint(c.bytes));
      Add(po, "reads", Uint(c.reads));
      Add(po, "writes", Uint(c.writes));
      Add(po, "inflight", Uint(c.inflight));
      Add(po, "errors", Uint(c.errors));
      json_object* errs = json_object_new_object();
      for (int k = 0; k < kErrorClassCount; ++k)
        Add(errs, ErrorClassName(ErrorClass(k)), Uint(c.errors_by_class[k]));
      Add(po, "errors_by_class", errs);
      Add(po, "retries", Uint(c.retries));
      Add(po, "failovers", Uint(c.failovers));
      Add(po, "requeues", Uint(c.requeues));
      Add(po, "busy_ns", Uint(c.busy_ns));
      Add(po, "latency_hist_log2_us", Hist(c.latency_hist));
      Add(po, "failover_hist_log2_us", Hist(c.failover_hist));
      Add(po, "disabled", Bool(p.disabled));
      return po;
    }));
    return eo;
  }));
  return Serialize(root);
}

}  // namespace nvme_mpath::ctl

namespace nvme_mpath::ctl {

std::string PathAdminJson(const std::vector<PathAdminResult>& results) {
  auto root = Document();
  Add(root.get(), "results", Array(results, [](const PathAdminResult& r) {
    json_object* ro = json_object_new_object();
    Add(ro, "pid", Int(r.engine.pid));
    Add(ro, "name", Str(r.engine.name));
    Add(ro, "segment", Str(r.segment));
    Add(ro, "ng", Str(r.ng));
    Add(ro, "ctrl", Str(r.ctrl));
    Add(ro, "request", Str(r.disable ? "disable" : "enable"));
    Add(ro, "ok", Bool(r.ok));
    Add(ro, "already", Bool(r.already));
    Add(ro, "drained", Bool(r.drained));
    Add(ro, "last_resort", Bool(r.last_resort));
    Add(ro, "inflight", Uint(r.inflight));
    Add(ro, "error", Str(r.error));
    return ro;
  }));
  return Serialize(root);
}

}  // namespace nvme_mpath::ctl
