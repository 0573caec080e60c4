// `nvme-mpath-ctl list` over a fake sysfs tree: subsystems and controllers read as nvme
// list-subsys reads them, namespaces and paths from the library's sysfs walk (identities filled
// in by hand: Identify needs a device), ANA logs from a fake reader; the text and JSON against
// golden files (tests/unit/testdata/ctl/list-sysfs*), and the rules for ana_state and error.
#include "list.h"

#include <json-c/json.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "golden.h"
#include "topology.h"

namespace nvme_mpath::ctl {
namespace {

namespace fs = std::filesystem;
using nvme_mpath::testing::Golden;
using nvme_mpath::testing::ReadTestdata;

constexpr char kLab[] = "nqn.2024-01.io.nvme-mpath:lab";
constexpr char kHost[] = "nqn.2014-08.org.nvmexpress:uuid:5b6c8e52-3f1d-4a8e-9c2b-7d4e1f0a9b31";

class CtlListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("ctl-list." + std::to_string(getpid()));
    fs::remove_all(root_);
    internal::SetSysfsRootForTest(root_.string());
  }
  void TearDown() override {
    internal::SetSysfsRootForTest("/sys");
    fs::remove_all(root_);
  }
  void Put(const std::string& rel, const std::string& v) {
    fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << v << "\n";
  }
  // A controller in class/nvme, linked from its subsystem as sysfs does.
  void Ctrl(const std::string& subsys, const std::string& c, const std::string& nqn,
            const std::string& transport, const std::string& address, const std::string& state,
            const std::string& hostnqn) {
    const std::string d = "class/nvme/" + c + "/";
    Put(d + "subsysnqn", nqn);
    Put(d + "transport", transport);
    Put(d + "address", address);
    Put(d + "state", state);
    Put(d + "numa_node", "-1");
    if (!hostnqn.empty()) Put(d + "hostnqn", hostnqn);  // PCIe controllers have none
    fs::create_directories(root_ / "class/nvme-subsystem" / subsys);
    fs::create_directory_symlink("../../nvme/" + c, root_ / "class/nvme-subsystem" / subsys / c);
  }
  void Subsys(const std::string& subsys, const std::string& nqn, const std::string& iopolicy) {
    Put("class/nvme-subsystem/" + subsys + "/subsysnqn", nqn);
    if (!iopolicy.empty()) Put("class/nvme-subsystem/" + subsys + "/iopolicy", iopolicy);
  }

  // The lab's two-port subsystem, a local PCIe disk without ANA, and a subsystem whose only
  // controller is reconnecting (its namespace fails Identify, so discovery leaves it out).
  void Host() {
    Subsys("nvme-subsys0", kLab, "numa");
    Ctrl("nvme-subsys0", "nvme0", kLab, "tcp", "traddr=127.0.0.1,trsvcid=4420,src_addr=127.0.0.1", "live", kHost);
    Ctrl("nvme-subsys0", "nvme1", kLab, "tcp", "traddr=127.0.0.1,trsvcid=4421,src_addr=127.0.0.1", "live", kHost);
    Put("class/nvme/nvme0/nvme0n1/nsid", "1");
    Put("class/nvme/nvme0/nvme0n2/nsid", "2");
    Put("class/nvme/nvme1/nvme1n1/nsid", "1");
    Put("class/nvme/nvme1/nvme1n2/nsid", "2");
    Subsys("nvme-subsys10", "nqn.2024-01.io.nvme-mpath:far", "round-robin");
    Ctrl("nvme-subsys10", "nvme3", "nqn.2024-01.io.nvme-mpath:far", "tcp", "traddr=10.0.0.9,trsvcid=4420", "connecting", kHost);
    Put("class/nvme/nvme3/nvme3n1/nsid", "1");
    Subsys("nvme-subsys2", "nqn.2019-08.org.qemu:boot", "numa");
    Ctrl("nvme-subsys2", "nvme2", "nqn.2019-08.org.qemu:boot", "pcie", "0000:00:04.0", "live", "");
    Put("class/nvme/nvme2/nvme2n1/nsid", "1");
  }

  // What DiscoverAll makes of Host(): the sysfs walk, then Identify (here by hand).
  std::vector<internal::NamespaceTopology> Discover() {
    std::map<std::string, internal::PathDesc> by_ng;
    for (internal::PathDesc& d : internal::ScanSysfsPaths()) by_ng[d.ng_path] = d;
    auto identified = [&](const std::string& ng, uint16_t cntlid) {
      internal::PathDesc d = by_ng.at(ng);
      d.key.cntlid = cntlid;
      const bool lab = d.key.subsysnqn == kLab;
      d.ctrl.cmic = lab ? 0x8 : 0;  // the PCIe disk reports no ANA
      d.ctrl.max_transfer_bytes = lab ? 131072 : 524288;
      d.ctrl.anatt_s = lab ? 10 : 0;
      d.ns.nsid = d.nsid;
      d.ns.nsze = lab ? 16384 : 2097152;
      d.ns.lba_size = lab ? 4096 : 512;
      d.ns.nguid = {0x5f, 0x1a, 0x1c, 0x3e, 0, uint8_t(d.nsid), 0x42, 0x22, 0x83, 0x33, 0x44, 0x44, 0x55, 0x55, 0x66, uint8_t(d.nsid)};
      return d;
    };
    std::vector<internal::NamespaceTopology> t(3);
    t[0] = {kLab, 1, "", {identified("/dev/ng0n1", 1), identified("/dev/ng1n1", 2)}};
    t[1] = {kLab, 2, "", {identified("/dev/ng0n2", 1), identified("/dev/ng1n2", 2)}};
    t[2] = {"nqn.2019-08.org.qemu:boot", 1, "", {identified("/dev/ng2n1", 0)}};
    // DiscoverAll's order is by NQN and namespace ID, not the subsystem's number.
    std::swap(t[0], t[2]);
    return t;
  }

  // nvme0: group 1 optimized (nsid 1), group 2 non-optimized (nsid 2). nvme1: group 1
  // inaccessible, group 2 in a reserved state.
  PathAnaReader Reader() {
    return [this](const internal::PathDesc& d) -> absl::StatusOr<internal::AnaLog> {
      ++reads_[d.ctrl_name];
      internal::AnaLog log;
      log.chgcnt = 4;
      if (d.ctrl_name == "nvme0") {
        log.groups.push_back({1, 1, AnaState::kOptimized, 0x1, {1}});
        log.groups.push_back({2, 1, AnaState::kNonOptimized, 0x2, {2}});
      } else {
        log.groups.push_back({1, 2, AnaState::kInaccessible, 0x3, {1}});
        log.groups.push_back({2, 2, AnaState::kUnknown, 0x9, {2}});
      }
      return log;
    };
  }

  fs::path root_;
  std::map<std::string, int> reads_;
};

TEST_F(CtlListTest, ReadsSubsystemsAsNvmeListSubsysDoes) {
  Host();
  std::vector<SubsystemRow> subs = ReadSysfsSubsystems(root_.string());
  ASSERT_EQ(subs.size(), 3u);
  EXPECT_EQ(subs[0].name, "nvme-subsys0");
  EXPECT_EQ(subs[1].name, "nvme-subsys2");  // numeric order, not "nvme-subsys10" first
  EXPECT_EQ(subs[2].name, "nvme-subsys10");
  EXPECT_EQ(subs[0].nqn, kLab);
  EXPECT_EQ(subs[0].iopolicy, "numa");
  EXPECT_EQ(subs[0].hostnqn, kHost);
  ASSERT_EQ(subs[0].ctrls.size(), 2u);
  EXPECT_EQ(subs[0].ctrls[1].name, "nvme1");
  EXPECT_EQ(subs[0].ctrls[1].transport, "tcp");
  EXPECT_EQ(subs[0].ctrls[1].address, "traddr=127.0.0.1,trsvcid=4421,src_addr=127.0.0.1");
  EXPECT_EQ(subs[0].ctrls[1].state, "live");
  EXPECT_EQ(subs[0].ctrls[1].hostnqn, kHost);
  EXPECT_EQ(subs[1].hostnqn, "");  // PCIe: no hostnqn attribute
  EXPECT_EQ(subs[2].ctrls[0].state, "connecting");
  EXPECT_TRUE(subs[0].namespaces.empty());
  EXPECT_TRUE(ReadSysfsSubsystems((root_ / "missing").string()).empty());
}

TEST_F(CtlListTest, Text) {
  Host();
  auto subs = BuildList(ReadSysfsSubsystems(root_.string()), Discover(), Reader());
  Golden("ctl/list-sysfs.txt", ListText(subs, false));
  Golden("ctl/list-sysfs-v.txt", ListText(subs, true));
}

TEST_F(CtlListTest, Json) {
  Host();
  auto subs = BuildList(ReadSysfsSubsystems(root_.string()), Discover(), Reader());
  Golden("ctl/list-sysfs.json", ListJson(subs, false));
}

TEST_F(CtlListTest, ReadsEachControllersAnaLogOnce) {
  Host();
  auto subs = BuildList(ReadSysfsSubsystems(root_.string()), Discover(), Reader());
  EXPECT_EQ(reads_, (std::map<std::string, int>{{"nvme0", 1}, {"nvme1", 1}}));  // nvme2: no ANA
  ASSERT_EQ(subs[0].namespaces.size(), 2u);
  EXPECT_EQ(subs[0].namespaces[0].nsid, 1u);
  EXPECT_EQ(subs[0].namespaces[0].paths[1].ana_state, "inaccessible");
  EXPECT_EQ(subs[0].namespaces[1].paths[0].ana_state, "non-optimized");
  EXPECT_EQ(subs[0].namespaces[1].paths[1].ana_state, "unknown");
  EXPECT_EQ(subs[0].namespaces[1].paths[1].error, "ANA group 2 has the reserved state 0x9");
  EXPECT_EQ(subs[1].namespaces[0].paths[0].ana_state, "optimized");
  EXPECT_FALSE(subs[1].namespaces[0].paths[0].ana_supported);
  EXPECT_TRUE(subs[2].namespaces.empty());
}

TEST_F(CtlListTest, HostNqnPerControllerWhenTheyDiffer) {
  Subsys("nvme-subsys0", kLab, "");
  Ctrl("nvme-subsys0", "nvme0", kLab, "tcp", "traddr=127.0.0.1,trsvcid=4420", "live", kHost);
  Ctrl("nvme-subsys0", "nvme1", kLab, "tcp", "traddr=127.0.0.1,trsvcid=4421", "live", "nqn.other-host");
  auto subs = ReadSysfsSubsystems(root_.string());
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].hostnqn, "");
  EXPECT_EQ(subs[0].iopolicy, "");
  std::string text = ListText(subs, false);
  EXPECT_NE(text.find(" +- nvme0 tcp traddr=127.0.0.1,trsvcid=4420 live hostnqn=" + std::string(kHost) + "\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find(" +- nvme1 tcp traddr=127.0.0.1,trsvcid=4421 live hostnqn=nqn.other-host\n"),
            std::string::npos) << text;
  EXPECT_EQ(text.find("iopolicy="), std::string::npos) << text;
  EXPECT_NE(text.find(" `- no namespace"), std::string::npos) << text;
}

// A multipath=Y head has no controller of its own: it goes to the subsystem with its NQN.
TEST_F(CtlListTest, HeadGoesToTheSubsystemOfItsNqn) {
  Subsys("nvme-subsys0", kLab, "numa");
  Ctrl("nvme-subsys0", "nvme0", kLab, "tcp", "traddr=127.0.0.1,trsvcid=4420", "live", kHost);
  internal::PathDesc head;
  head.ng_path = "/dev/ng0n1";
  head.key.subsysnqn = kLab;
  head.nsid = 1;
  head.ctrl_state = internal::CtrlState::kLive;
  std::vector<internal::NamespaceTopology> topo = {{kLab, 1, "", {head}}};
  topo.push_back({"nqn.elsewhere", 1, "", {head}});
  topo.back().paths[0].key.subsysnqn = "nqn.elsewhere";
  auto subs = BuildList(ReadSysfsSubsystems(root_.string()), topo, Reader());
  ASSERT_EQ(subs.size(), 2u);
  ASSERT_EQ(subs[0].namespaces.size(), 1u);
  EXPECT_EQ(subs[0].namespaces[0].paths[0].ctrl, "(head)");
  EXPECT_EQ(subs[1].name, "");  // not in sysfs (gone meanwhile): listed under its NQN alone
  EXPECT_EQ(subs[1].nqn, "nqn.elsewhere");
  EXPECT_EQ(ControllersOf(subs[0]).size(), 1u);  // the head adds no controller
  const std::string text = ListText(subs, false);
  EXPECT_EQ(text.rfind("nvme-subsys0 - NQN=" + std::string(kLab) + "\n", 0), 0u) << text;
  EXPECT_NE(text.find("\n\nNQN=nqn.elsewhere\n"), std::string::npos) << text;
}

// Head mode (nvme_core.multipath=Y): the head's namespace lists each controller behind it, on
// the head's ng device, with the kernel's state and ANA state of that path.
TEST_F(CtlListTest, HeadListsEachControllerBehindIt) {
  Subsys("nvme-subsys0", kLab, "round-robin");
  Ctrl("nvme-subsys0", "nvme0", kLab, "tcp", "traddr=127.0.0.1,trsvcid=4420", "live", kHost);
  Ctrl("nvme-subsys0", "nvme1", kLab, "tcp", "traddr=127.0.0.1,trsvcid=4421", "connecting", kHost);
  Put("class/nvme/nvme0/nvme0c0n1/nsid", "1");
  Put("class/nvme/nvme0/nvme0c0n1/ana_state", "optimized");
  Put("class/nvme/nvme0/nvme0c0n1/ana_grpid", "1");
  Put("class/nvme/nvme1/nvme0c1n1/nsid", "1");
  Put("class/nvme/nvme1/nvme0c1n1/ana_state", "garbage");
  Put("class/nvme/nvme1/nvme0c1n1/ana_grpid", "1");
  internal::PathDesc head;
  head.ng_path = "/dev/ng0n1";
  head.key.subsysnqn = kLab;
  head.nsid = 1;
  head.head_block = "nvme0n1";
  head.head_subsys = "nvme-subsys0";
  std::vector<internal::NamespaceTopology> topo = {{kLab, 1, "", {head}}};
  auto subs = BuildList(ReadSysfsSubsystems(root_.string()), topo, Reader());
  ASSERT_EQ(subs.size(), 1u);
  ASSERT_EQ(subs[0].namespaces.size(), 1u);
  const auto& rows = subs[0].namespaces[0].paths;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].ctrl, "nvme0");
  EXPECT_EQ(rows[0].ng, "/dev/ng0n1");
  EXPECT_EQ(rows[0].state, "live");
  EXPECT_EQ(rows[0].ana_state, "optimized");
  EXPECT_EQ(rows[0].ana_grpid, 1u);
  EXPECT_EQ(rows[0].address, "traddr=127.0.0.1,trsvcid=4420");
  EXPECT_TRUE(rows[0].error.empty());
  EXPECT_EQ(rows[1].ctrl, "nvme1");
  EXPECT_EQ(rows[1].state, "connecting");
  EXPECT_EQ(rows[1].ana_state, "unknown") << "always a state name";
  EXPECT_NE(rows[1].error.find("nvme0c1n1"), std::string::npos) << rows[1].error;
  EXPECT_EQ(subs[0].iopolicy, "round-robin");
}

// ana_state is always a state name; what went wrong is in `error`, never in ana_state.
TEST(CtlPathRowTest, AnaStateIsAlwaysAStateName) {
  const std::set<std::string> names = {"optimized", "non-optimized", "inaccessible",
                                       "persistent-loss", "change", "unknown"};
  internal::PathDesc d;
  d.ctrl_name = "nvme1";
  d.ng_path = "/dev/ng1n1";
  d.nsid = 3;
  d.ctrl.cmic = 0x8;
  internal::AnaLog log;
  log.groups.push_back({1, 1, AnaState::kChange, 0xf, {1}});
  log.groups.push_back({2, 1, AnaState::kPersistentLoss, 0x4, {3}});
  struct Case {
    absl::StatusOr<internal::AnaLog> log;
    std::string state, error;
  };
  std::vector<Case> cases = {
      {log, "persistent-loss", ""},
      {absl::PermissionDeniedError("open /dev/ng1n1: Permission denied"), "unknown",
       "open /dev/ng1n1: Permission denied"},
      {absl::DataLossError("ANA log: truncated descriptor"), "unknown", "ANA log: truncated descriptor"},
      {internal::AnaLog{}, "unknown", "nsid 3 is in no group of the controller's ANA log"},
  };
  internal::AnaLog reserved;
  reserved.groups.push_back({7, 1, AnaState::kUnknown, 0x5, {3}});
  cases.push_back({reserved, "unknown", "ANA group 7 has the reserved state 0x5"});
  for (const Case& c : cases) {
    PathRow r = PathRowOf(d, &c.log);
    EXPECT_TRUE(names.count(r.ana_state)) << r.ana_state;
    EXPECT_EQ(r.ana_state, c.state);
    EXPECT_EQ(r.error, c.error);
  }
  EXPECT_EQ(PathRowOf(d, nullptr).ana_state, "unknown");
  EXPECT_EQ(PathRowOf(d, nullptr).error, "ANA log not read");
  d.ctrl.cmic = 0;  // no ANA: used as optimized, as the kernel and the engine do
  PathRow r = PathRowOf(d, nullptr);
  EXPECT_EQ(r.ana_state, "optimized");
  EXPECT_FALSE(r.ana_supported);
  EXPECT_EQ(r.error, "");
}

TEST(CtlPathRowTest, HumanBytes) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1024), "1 KiB");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(131072), "128 KiB");
  EXPECT_EQ(HumanBytes(16384ull * 4096), "64 MiB");
  EXPECT_EQ(HumanBytes(2097152ull * 512), "1 GiB");
  EXPECT_EQ(HumanBytes(1000204886016ull), "931.51 GiB");  // a "1 TB" disk
  EXPECT_EQ(HumanBytes(~0ull), "16 EiB");
}

// Walks `want` and checks that `got` has every key with the same value (arrays: same length,
// element by element). Returns the first difference, "" if none.
std::string Contains(json_object* got, json_object* want, const std::string& where) {
  if (json_object_get_type(got) != json_object_get_type(want)) return where + ": type differs";
  switch (json_object_get_type(want)) {
    case json_type_object: {
      json_object_object_foreach(want, key, wv) {
        json_object* gv;
        if (!json_object_object_get_ex(got, key, &gv)) return where + "." + key + ": missing";
        if (std::string d = Contains(gv, wv, where + "." + key); !d.empty()) return d;
      }
      return "";
    }
    case json_type_array: {
      if (json_object_array_length(got) != json_object_array_length(want)) return where + ": length differs";
      for (size_t i = 0; i < json_object_array_length(want); ++i)
        if (std::string d = Contains(json_object_array_get_idx(got, i), json_object_array_get_idx(want, i),
                                     where + "[" + std::to_string(i) + "]");
            !d.empty())
          return d;
      return "";
    }
    default:
      return std::string(json_object_to_json_string(got)) == json_object_to_json_string(want)
                 ? ""
                 : where + ": value differs";
  }
}

// list -o json only gains keys: list-schema1-base.json is list.json as schema_version 1 first
// had it, list.json what ctl_print_test checks ListJson() against today.
TEST(CtlListSchemaTest, KeepsEverySchema1KeyAndValue) {
  json_object* base = json_tokener_parse(ReadTestdata("ctl/list-schema1-base.json").c_str());
  json_object* now = json_tokener_parse(ReadTestdata("ctl/list.json").c_str());
  ASSERT_NE(base, nullptr);
  ASSERT_NE(now, nullptr);
  EXPECT_EQ(Contains(now, base, "$"), "");
  json_object_put(base);
  json_object_put(now);
}

}  // namespace
}  // namespace nvme_mpath::ctl
