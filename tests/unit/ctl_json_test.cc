// nvme-mpath-ctl's JSON with hostile strings: device names, job names and error messages that
// hold control characters or invalid UTF-8 still make documents that json-c's strict parser
// (JSON_TOKENER_STRICT, and VALIDATE_UTF8) accepts; valid UTF-8 comes back unchanged, invalid
// sequences as U+FFFD.
#include <json-c/json.h>

#include <initializer_list>
#include <string>
#include <variant>

#include <gtest/gtest.h>

#include "model.h"

namespace nvme_mpath::ctl {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";
const std::string kControls = "a\nb\tc\x01" "d\x7f" "e";        // must survive as they are
const std::string kValid = "caf\xC3\xA9-\xE6\x97\xA5\xE6\x9C\xAC";  // "café-日本"
const std::string kLone = "x\x80y";                                 // lone continuation byte
const std::string kTruncated = "x\xE2\x82";                         // truncated 3-byte sequence
const std::string kOverlong = "x\xC0\xAF";                          // overlong '/'
const std::string kSurrogate = "x\xED\xA0\x80";                     // UTF-16 surrogate D800

// Parses doc strictly; fails the test (and returns null) when json-c refuses it.
json_object* Parse(const std::string& doc) {
  json_tokener* tok = json_tokener_new();
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  // The printers end documents with "\n": strict mode refuses trailing characters.
  std::string body = doc;
  if (!body.empty() && body.back() == '\n') body.pop_back();
  json_object* o = json_tokener_parse_ex(tok, body.data(), int(body.size()));
  const json_tokener_error e = json_tokener_get_error(tok);
  json_tokener_free(tok);
  EXPECT_EQ(e, json_tokener_success) << json_tokener_error_desc(e) << " in " << doc;
  if (e != json_tokener_success) {
    json_object_put(o);
    return nullptr;
  }
  return o;
}

// The string at a path of keys and array indexes ("subsystems", 0, "nqn").
std::string At(json_object* o, std::initializer_list<std::variant<const char*, int>> path) {
  for (const auto& step : path) {
    if (o == nullptr) return "<missing>";
    if (std::holds_alternative<int>(step)) o = json_object_array_get_idx(o, size_t(std::get<int>(step)));
    else if (!json_object_object_get_ex(o, std::get<const char*>(step), &o)) return "<missing>";
  }
  if (o == nullptr || !json_object_is_type(o, json_type_string)) return "<not a string>";
  return std::string(json_object_get_string(o), size_t(json_object_get_string_len(o)));
}

TEST(CtlJsonTest, ListWithHostileNamesParsesStrictly) {
  PathRow p{"nvme0" + kControls, "/dev/ng0n1" + kLone, "tcp", "traddr=" + kTruncated, "live",
            1, "unknown", -1, 1, 131072, 10};
  p.error = "open /dev/ng0n1: " + kOverlong + kSurrogate;
  NamespaceRow n{1, "", "", 16384, 4096, {p}};
  SubsystemRow s{"nqn.2024-01.io.nvme-mpath:" + kValid, {n}};
  s.name = "nvme-subsys0";
  s.hostnqn = "nqn.host:" + kControls + kValid;
  s.iopolicy = "numa" + kLone;
  s.ctrls.push_back(CtrlRow{"nvme0" + kControls, "tcp", "traddr=" + kSurrogate, "live", s.hostnqn});
  for (bool verbose : {false, true}) {
    json_object* o = Parse(ListJson({s}, verbose));
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(At(o, {"subsystems", 0, "nqn"}), "nqn.2024-01.io.nvme-mpath:" + kValid);
    EXPECT_EQ(At(o, {"subsystems", 0, "hostnqn"}), "nqn.host:" + kControls + kValid);
    EXPECT_EQ(At(o, {"subsystems", 0, "iopolicy"}), "numax" + kFffd + "y");
    EXPECT_EQ(At(o, {"subsystems", 0, "controllers", 0, "name"}), "nvme0" + kControls);
    EXPECT_EQ(At(o, {"subsystems", 0, "controllers", 0, "address"}),
              "traddr=x" + kFffd + kFffd + kFffd);
    const auto path = [&](const char* k) { return At(o, {"subsystems", 0, "namespaces", 0, "paths", 0, k}); };
    EXPECT_EQ(path("ctrl"), "nvme0" + kControls);
    EXPECT_EQ(path("ng"), "/dev/ng0n1x" + kFffd + "y");
    EXPECT_EQ(path("address"), "traddr=x" + kFffd);
    EXPECT_EQ(path("error"), "open /dev/ng0n1: x" + kFffd + kFffd + "x" + kFffd + kFffd + kFffd);
    EXPECT_EQ(path("ana_state"), "unknown");
    json_object_put(o);
  }
}

TEST(CtlJsonTest, StatsProbeAndAnaLogWithHostileNamesParseStrictly) {
  StatsView v;
  v.pid = 1;
  v.name = "job" + kControls + kLone;
  v.segment = "nvme-mpath.1.0";
  v.subsysnqn = kValid;
  v.policy = "numa";
  v.paths.push_back(StatsPath{"/dev/ng0n1" + kTruncated, "nvme0", kOverlong, "optimized", "live", true, false, {}});
  json_object* o = Parse(StatsJson({v}));
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(At(o, {"engines", 0, "name"}), "job" + kControls + "x" + kFffd + "y");
  EXPECT_EQ(At(o, {"engines", 0, "subsysnqn"}), kValid);
  EXPECT_EQ(At(o, {"engines", 0, "paths", 0, "ng"}), "/dev/ng0n1x" + kFffd);
  EXPECT_EQ(At(o, {"engines", 0, "paths", 0, "address"}), "x" + kFffd + kFffd);
  json_object_put(o);

  o = Parse(ProbeJson(kSurrogate + kControls, {ProbeRow{"/dev/ng0n1" + kValid, "nvme0" + kLone, -19, 1.25}}));
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(At(o, {"target"}), "x" + kFffd + kFffd + kFffd + kControls);
  EXPECT_EQ(At(o, {"paths", 0, "ng"}), "/dev/ng0n1" + kValid);
  EXPECT_EQ(At(o, {"paths", 0, "ctrl"}), "nvme0x" + kFffd + "y");
  json_object_put(o);

  internal::AnaLog log;
  log.groups.push_back({1, 5, AnaState::kOptimized, 1, {1}});
  o = Parse(AnaLogJson("/dev/" + kControls + kTruncated, log));
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(At(o, {"device"}), "/dev/" + kControls + "x" + kFffd);
  json_object_put(o);
}

// The printers write '/' as it is (json-c would write "\/" by default) and escape what JSON
// requires: the golden files of ctl_print_test hold the rest of the format.
TEST(CtlJsonTest, EscapesOnlyWhatJsonNeeds) {
  std::string j = ProbeJson("/dev/ng0n1 \"q\" \\ \n\x01", {});
  EXPECT_NE(j.find(R"("target":"/dev/ng0n1 \"q\" \\ \n\u0001")"), std::string::npos) << j;
}

}  // namespace
}  // namespace nvme_mpath::ctl
