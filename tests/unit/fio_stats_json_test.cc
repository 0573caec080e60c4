// The fio engine's per-job JSON document (fio-engine/stats_json.c), without fio: the layout of
// schema_version 1 (golden file testdata/fio/stats.json, the keys in the order the hand-written
// writer used), and hostile job names and paths that still parse strictly.
#include "stats_json.h"

#include <json-c/json.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "golden.h"

namespace {

using nvme_mpath::testing::Golden;
// "struct": nvme_mpath_path_stats is also the name of the C API function that fills it.
using PathStats = struct nvme_mpath_path_stats;

std::string Doc(const mpath_stats_doc& d) {
  char* s = mpath_stats_json(&d);
  EXPECT_NE(s, nullptr);
  std::string out = s ? s : "";
  free(s);
  return out;
}

PathStats Path(const char* ng, const char* ctrl, const char* ana, int usable, uint64_t ios) {
  PathStats p{};
  strncpy(p.ng_path, ng, sizeof(p.ng_path) - 1);
  strncpy(p.ctrl, ctrl, sizeof(p.ctrl) - 1);
  strncpy(p.address, "traddr=127.0.0.1,trsvcid=4420", sizeof(p.address) - 1);
  strncpy(p.ana_state, ana, sizeof(p.ana_state) - 1);
  strncpy(p.health, "live", sizeof(p.health) - 1);
  p.usable = usable;
  p.ios = ios;
  p.bytes = ios * 4096;
  p.reads = ios / 3 * 2;
  p.writes = ios - p.reads;
  p.errors = 26;
  p.failovers = 26;
  p.busy_ns = 309410000000ull;
  return p;
}

mpath_stats_doc Demo(const std::vector<PathStats>& paths, const std::vector<mpath_err_kind>& errs) {
  mpath_stats_doc d{};
  d.library_version = "0.1.0";
  d.fio_version = "fio-3.33";
  d.job = "demo";
  d.subjob = 0;
  d.pid = 378;
  d.policy = nullptr;  // fio's default: numa
  d.subsysnqn = "nqn.2024-01.io.nvme-mpath:lab";
  d.nsid = 1;
  d.lba_size = 4096;
  d.nsze = 16384;
  d.io_errors = 0;
  for (const auto& e : errs) d.io_errors += e.count;
  d.errs = errs.data();
  d.nerrs = unsigned(errs.size());
  d.paths = paths.data();
  d.npaths = int(paths.size());
  return d;
}

json_object* ParseStrict(std::string doc) {
  if (!doc.empty() && doc.back() == '\n') doc.pop_back();
  json_tokener* tok = json_tokener_new();
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  json_object* o = json_tokener_parse_ex(tok, doc.data(), int(doc.size()));
  const json_tokener_error e = json_tokener_get_error(tok);
  json_tokener_free(tok);
  EXPECT_EQ(e, json_tokener_success) << json_tokener_error_desc(e) << " in " << doc;
  if (e != json_tokener_success) {
    json_object_put(o);
    return nullptr;
  }
  return o;
}

std::vector<std::string> Keys(json_object* o) {
  std::vector<std::string> k;
  json_object_object_foreach(o, key, v) {
    (void)v;
    k.push_back(key);
  }
  return k;
}

std::string Str(json_object* o, const char* key) {
  json_object* v;
  if (!json_object_object_get_ex(o, key, &v)) return "<missing>";
  return json_object_get_string(v);
}

TEST(FioStatsJsonTest, Schema1Layout) {
  std::vector<PathStats> paths = {Path("/dev/ng0n1", "nvme0", "optimized", 1, 99656),
                                              Path("/dev/ng1n1", "nvme1", "inaccessible", 0, 0)};
  std::vector<mpath_err_kind> errs = {{-67, 0, 3}, {0, 0x0302, 1}};  // -ENOLINK x3, ANA inaccessible
  const std::string doc = Doc(Demo(paths, errs));
  Golden("fio/stats.json", doc);
  json_object* o = ParseStrict(doc);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(Keys(o), (std::vector<std::string>{"schema_version", "engine", "library_version", "fio_version",
                                               "job", "subjob", "pid", "policy", "subsysnqn", "nsid",
                                               "lba_size", "nsze", "io_errors", "io_error_kinds", "paths"}));
  EXPECT_EQ(Str(o, "policy"), "numa");
  json_object *kinds, *ps;
  ASSERT_TRUE(json_object_object_get_ex(o, "io_error_kinds", &kinds));
  ASSERT_EQ(json_object_array_length(kinds), 2u);
  EXPECT_EQ(Keys(json_object_array_get_idx(kinds, 0)), (std::vector<std::string>{"res", "status", "name", "count"}));
  EXPECT_EQ(Str(json_object_array_get_idx(kinds, 0), "name"), "-ENOLINK");
  ASSERT_TRUE(json_object_object_get_ex(o, "paths", &ps));
  ASSERT_EQ(json_object_array_length(ps), 2u);
  EXPECT_EQ(Keys(json_object_array_get_idx(ps, 1)),
            (std::vector<std::string>{"ng", "ctrl", "address", "ana_state", "health", "usable", "ios", "bytes",
                                      "reads", "writes", "errors", "retries", "failovers", "requeues", "busy_ns",
                                      "disabled"}));
  json_object* usable;
  ASSERT_TRUE(json_object_object_get_ex(json_object_array_get_idx(ps, 1), "usable", &usable));
  EXPECT_TRUE(json_object_is_type(usable, json_type_boolean));
  json_object_put(o);
}

TEST(FioStatsJsonTest, NoPathsNoErrors) {
  json_object* o = ParseStrict(Doc(Demo({}, {})));
  ASSERT_NE(o, nullptr);
  json_object* v;
  ASSERT_TRUE(json_object_object_get_ex(o, "paths", &v));
  EXPECT_EQ(json_object_array_length(v), 0u);
  ASSERT_TRUE(json_object_object_get_ex(o, "io_error_kinds", &v));
  EXPECT_EQ(json_object_array_length(v), 0u);
  json_object_put(o);
}

// fio takes the job name from the job file as it is: control characters and bytes that are not
// UTF-8 used to go into the document unchecked (and control characters were dropped).
TEST(FioStatsJsonTest, HostileNamesParseStrictly) {
  std::vector<PathStats> paths = {Path("/dev/ng0n1\x80", "nvme0\t", "optimized", 1, 1)};
  memset(paths[0].health, 'x', sizeof(paths[0].health));  // no NUL: read at most its size
  mpath_stats_doc d = Demo(paths, {});
  d.job = "job\n\x01\x7f \"q\" \xC3\xA9\xE6\x97\xA5 \xE2\x82 \xC0\xAF \xED\xA0\x80";
  d.policy = "round-robin";
  json_object* o = ParseStrict(Doc(d));
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(Str(o, "job"), "job\n\x01\x7f \"q\" \xC3\xA9\xE6\x97\xA5 \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD "
                           "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(Str(o, "policy"), "round-robin");
  json_object* ps;
  ASSERT_TRUE(json_object_object_get_ex(o, "paths", &ps));
  EXPECT_EQ(Str(json_object_array_get_idx(ps, 0), "ng"), "/dev/ng0n1\xEF\xBF\xBD");
  EXPECT_EQ(Str(json_object_array_get_idx(ps, 0), "ctrl"), "nvme0\t");
  EXPECT_EQ(Str(json_object_array_get_idx(ps, 0), "health"), std::string(sizeof(paths[0].health), 'x'));
  json_object_put(o);
}

}  // namespace
