// The sysfs walk of src/topology.cc over a fake sysfs tree: per-controller namespaces
// (multipath=N), hidden per-path devices skipped, multipath=Y heads, queue limits, controllers
// that vanish mid-walk; and the generic-char-device check.
#include "topology.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace nvme_mpath::internal {
namespace {

namespace fs = std::filesystem;

class TopologyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("topo." + std::to_string(getpid()));
    fs::remove_all(root_);
    SetSysfsRootForTest(root_.string());
  }
  void TearDown() override {
    SetSysfsRootForTest("/sys");
    fs::remove_all(root_);
  }
  void Put(const std::string& rel, const std::string& v) {
    fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << v << "\n";
  }
  void Ctrl(const std::string& c, const std::string& svc, const std::string& state) {
    Put("class/nvme/" + c + "/subsysnqn", "nqn.test:sub");
    Put("class/nvme/" + c + "/transport", "tcp");
    Put("class/nvme/" + c + "/address", "traddr=127.0.0.1,trsvcid=" + svc + ",src_addr=127.0.0.1");
    Put("class/nvme/" + c + "/state", state);
    Put("class/nvme/" + c + "/numa_node", "-1");
    Put("class/nvme/" + c + "/kato", "2");
    Put("class/nvme/" + c + "/cntlid", c == "nvme0" ? "1" : "2");
  }
  fs::path root_;
};

TEST_F(TopologyTest, WalksControllerNamespaces) {
  Ctrl("nvme0", "4420", "live");
  Ctrl("nvme1", "4421", "connecting");
  Put("class/nvme/nvme0/nvme0n1/nsid", "1");
  Put("class/nvme/nvme0/nvme0n2/nsid", "2");
  Put("class/nvme/nvme1/nvme1n1/nsid", "1");
  Put("class/nvme/nvme1/nvme1c1n1/nsid", "1");  // hidden per-path device: no ng
  Put("block/nvme0n1/queue/max_hw_sectors_kb", "128");
  Put("block/nvme0n1/queue/max_segments", "33");
  auto paths = ScanSysfsPaths();
  ASSERT_EQ(paths.size(), 3u);
  EXPECT_EQ(paths[0].ng_path, "/dev/ng0n1");
  EXPECT_EQ(paths[0].nsid, 1u);
  EXPECT_EQ(paths[0].ctrl_name, "nvme0");
  EXPECT_EQ(paths[0].key.subsysnqn, "nqn.test:sub");
  EXPECT_EQ(paths[0].key.cntlid, 1);
  EXPECT_EQ(paths[0].kato_ms, 2000u);
  EXPECT_EQ(paths[0].max_hw_bytes, 128u * 1024);
  EXPECT_EQ(paths[0].max_segments, 33u);
  EXPECT_EQ(paths[0].MaxTransferBytes(), 128u * 1024);
  EXPECT_EQ(paths[1].ng_path, "/dev/ng0n2");
  EXPECT_EQ(paths[2].ng_path, "/dev/ng1n1");
  EXPECT_EQ(paths[0].ctrl_state, CtrlState::kLive);
  EXPECT_EQ(paths[2].ctrl_state, CtrlState::kConnecting);
  EXPECT_EQ(ReadCtrlState("nvme1"), CtrlState::kConnecting);
  EXPECT_EQ(ReadCtrlState("nvme7"), CtrlState::kGone);
  EXPECT_TRUE(paths[0].key.SameEndpoint(PathKey{"nqn.test:sub", "tcp", "traddr=127.0.0.1,trsvcid=4420", 9}));
  EXPECT_FALSE(paths[0].key.SameEndpoint(paths[2].key));
}

TEST_F(TopologyTest, FindsMultipathHeads) {
  Put("class/nvme-subsystem/nvme-subsys0/subsysnqn", "nqn.test:sub");
  Put("class/nvme-subsystem/nvme-subsys0/nvme0n1/nsid", "1");
  Put("class/nvme-subsystem/nvme-subsys0/nvme0c0n1/nsid", "1");
  auto paths = ScanSysfsPaths();
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_EQ(paths[0].ng_path, "/dev/ng0n1");
  EXPECT_TRUE(paths[0].ctrl_name.empty());
}

// A head (nvme-subsys0/nvme0n1) with two controllers: nvme0 carries nvme0c0n1, nvme1 carries
// nvme0c1n1. The head path gets the longest keep-alive of its controllers (for the write hold).
TEST_F(TopologyTest, ReadsTheMembersOfAHead) {
  Put("class/nvme-subsystem/nvme-subsys0/subsysnqn", "nqn.test:sub");
  Put("class/nvme-subsystem/nvme-subsys0/iopolicy", "numa");
  Put("class/nvme-subsystem/nvme-subsys0/nvme0n1/nsid", "1");
  Put("block/nvme0n1/nsid", "1");
  Ctrl("nvme0", "4420", "live");
  Ctrl("nvme1", "4421", "connecting");
  Put("class/nvme/nvme1/kato", "5");
  Put("class/nvme/nvme0/nvme0c0n1/nsid", "1");
  Put("class/nvme/nvme0/nvme0c0n1/ana_state", "optimized");
  Put("class/nvme/nvme0/nvme0c0n1/ana_grpid", "1");
  Put("class/nvme/nvme1/nvme0c1n1/nsid", "1");
  Put("class/nvme/nvme1/nvme0c1n1/ana_state", "non-optimized");
  Put("class/nvme/nvme1/nvme0c1n1/ana_grpid", "1");
  Put("class/nvme/nvme1/nvme0c1n2/nsid", "2");  // another namespace of the same head subsystem
  auto paths = ScanSysfsPaths();
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_TRUE(paths[0].is_head());
  EXPECT_EQ(paths[0].head_block, "nvme0n1");
  EXPECT_EQ(paths[0].head_subsys, "nvme-subsys0");
  EXPECT_EQ(paths[0].head_iopolicy, "numa");
  EXPECT_EQ(paths[0].kato_ms, 5000u);
  auto m = ReadHeadMembers("nvme0n1");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].ctrl_name, "nvme0");
  EXPECT_EQ(m[0].path_ns, "nvme0c0n1");
  EXPECT_EQ(m[0].state, CtrlState::kLive);
  EXPECT_EQ(m[0].ana_state, "optimized");
  EXPECT_EQ(m[0].ana_grpid, 1u);
  EXPECT_EQ(m[0].key.transport, "tcp");
  EXPECT_EQ(m[1].ctrl_name, "nvme1");
  EXPECT_EQ(m[1].state, CtrlState::kConnecting);
  EXPECT_EQ(m[1].ana_state, "non-optimized");
  EXPECT_TRUE(HeadExists("nvme0n1"));
  EXPECT_FALSE(HeadExists("nvme0n2"));
  EXPECT_TRUE(ReadHeadMembers("nvme0n3").empty());
  EXPECT_TRUE(ReadHeadMembers("bogus").empty());
}

TEST_F(TopologyTest, ToleratesHalfDeletedControllers) {
  Ctrl("nvme0", "4420", "live");
  Put("class/nvme/nvme0/nvme0n1/nsid", "1");
  fs::create_directories(root_ / "class/nvme/nvme1");  // being deleted: no attributes left
  fs::create_directories(root_ / "class/nvme/nvme0/nvme0n2");  // namespace without nsid
  auto paths = ScanSysfsPaths();
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_EQ(paths[0].ng_path, "/dev/ng0n1");
  SetSysfsRootForTest((root_ / "missing").string());
  EXPECT_TRUE(ScanSysfsPaths().empty());
}

// Two descriptions of nsid 1 of one subsystem, same NGUID and format, on controllers nvme0/1.
std::pair<PathDesc, PathDesc> TwoPaths() {
  PathDesc a;
  a.ng_path = "/dev/ng0n1";
  a.ctrl_name = "nvme0";
  a.key.subsysnqn = "nqn.test";
  a.nsid = 1;
  a.ns.nsid = 1;
  a.ns.nsze = 16384;
  a.ns.lba_size = 4096;
  a.ns.nguid[0] = 1;
  PathDesc b = a;
  b.ng_path = "/dev/ng1n1";
  b.ctrl_name = "nvme1";
  return {a, b};
}

TEST(TopologyCheckTest, PathsMustAgreeOnFormatProtectionAndPlacement) {
  auto [a, b] = TwoPaths();
  EXPECT_EQ(PathMismatch(a, b), "");
  b.ns.metadata_size = 8;
  EXPECT_EQ(PathMismatch(a, b),
            "/dev/ng1n1: LBA format differs: 4096+8 x 16384 vs 4096+0 x 16384 on /dev/ng0n1");
  a.ns.metadata_size = 8;
  b.ns.dps = 0x9;
  EXPECT_EQ(PathMismatch(a, b),
            "/dev/ng1n1: LBA format differs: 4096+8 PI type 1 (first bytes) x 16384 vs 4096+8 x "
            "16384 on /dev/ng0n1");
  a.ns.dps = 0x1;
  EXPECT_NE(PathMismatch(a, b), "");  // same type, other location
  a.ns.dps = 0x9;
  EXPECT_EQ(PathMismatch(a, b), "");
  b.ns.extended_lba = true;
  EXPECT_NE(PathMismatch(a, b), "");
  b.ns.extended_lba = false;
  b.ctrl.ctratt = ControllerIdentity::kCtrattFdps;
  EXPECT_EQ(PathMismatch(a, b),
            "/dev/ng1n1: Flexible Data Placement supported on nvme1 but not supported on nvme0 "
            "(/dev/ng0n1)");
  a.ctrl.ctratt = ControllerIdentity::kCtrattFdps;
  EXPECT_EQ(PathMismatch(a, b), "");
  b.nsid = 2;
  EXPECT_EQ(PathMismatch(a, b), "/dev/ng1n1 is nsid 2, /dev/ng0n1 is nsid 1");
}

// A PCIe controller's address is its PCI function: only the same function is the same endpoint
// (a reopen must never land on the other controller of a dual-port device).
TEST(TopologyCheckTest, PcieEndpointsAreTheirPciFunction) {
  const PathKey a{"nqn.q", "pcie", "0000:01:00.0", 0}, b{"nqn.q", "pcie", "0000:02:00.0", 1};
  EXPECT_FALSE(a.SameEndpoint(b));
  EXPECT_TRUE(a.SameEndpoint(PathKey{"nqn.q", "pcie", "0000:01:00.0\n", 5}));
  EXPECT_FALSE(a.SameEndpoint(PathKey{"nqn.q", "pcie", "", 0}));
  EXPECT_FALSE((PathKey{"nqn.q", "pcie", "", 0}).SameEndpoint(PathKey{"nqn.q", "pcie", "", 0}));
  // Fabrics still compare by field, ignoring src_addr.
  EXPECT_TRUE((PathKey{"n", "tcp", "traddr=1.2.3.4,trsvcid=4420,src_addr=9.9.9.9", 0})
                  .SameEndpoint(PathKey{"n", "tcp", "traddr=1.2.3.4,trsvcid=4420", 0}));
  EXPECT_FALSE(a.SameEndpoint(PathKey{"nqn.q", "tcp", "traddr=0000:01:00.0", 0}));
}

TEST(TopologyCheckTest, GenericCharDevice) {
  EXPECT_EQ(CheckGenericCharDevice("/dev/null").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckGenericCharDevice("/etc/hostname").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckGenericCharDevice("/dev/ng98n99").code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(CheckGenericCharDevice("/etc/hostname").message()).find("regular file"),
            std::string::npos);
}

}  // namespace
}  // namespace nvme_mpath::internal
