// File: c_api_test.cc
//
// The C API without devices: defaults, argument checks, clear errors (nvme_mpath_open's and
// nvme_mpath_queue_create_err's buffers), the absl::Status to -errno mapping, the ABI layout of
// the request struct, names, the version macros against the library, and I/O through
// nvme_mpath_submit/poll over a queue on a fake transport (what each field of the request
// becomes in the NVMe command, and the result and callback it gets back).
#include <nvme_mpath/engine.h>
#include <nvme_mpath/nvme_mpath.h>

#include <signal.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "absl/status/status.h"

#include "path.h"
#include "queue.h"
#include "support/fake_clock.h"
#include "support/fake_transport.h"

namespace nvme_mpath::internal {
int CApiErrno(const absl::Status& s);  // src/c_api.cc
nvme_mpath_engine* CApiWrapEngine(std::unique_ptr<Engine> e);  // src/c_api.cc
nvme_mpath_queue* CApiWrapQueue(std::unique_ptr<Queue> q);  // src/c_api.cc
}  // namespace nvme_mpath::internal

namespace {

using nvme_mpath::internal::CApiErrno;

TEST(CApiTest, StatusKeepsTheOriginalErrno) {
  EXPECT_EQ(CApiErrno(absl::OkStatus()), 0);
  EXPECT_EQ(CApiErrno(absl::ErrnoToStatus(EACCES, "open /dev/ng0n1")), -EACCES);
  EXPECT_EQ(CApiErrno(absl::ErrnoToStatus(EPERM, "open /dev/ng0n1")), -EPERM);
  EXPECT_EQ(CApiErrno(absl::ErrnoToStatus(ENODEV, "identify")), -ENODEV);
  EXPECT_EQ(CApiErrno(absl::ErrnoToStatus(ENOENT, "open /dev/ng9n9")), -ENOENT);
  EXPECT_EQ(CApiErrno(absl::ErrnoToStatus(ENOTTY, "ioctl")), -ENOTTY);
  EXPECT_EQ(CApiErrno(absl::ErrnoToStatus(EBUSY, "x")), -EBUSY);
}

TEST(CApiTest, StatusWithoutErrnoMapsByCode) {
  EXPECT_EQ(CApiErrno(absl::InvalidArgumentError("bad")), -EINVAL);
  EXPECT_EQ(CApiErrno(absl::NotFoundError("nsid 3")), -ENOENT);
  EXPECT_EQ(CApiErrno(absl::PermissionDeniedError("no")), -EACCES);
  EXPECT_EQ(CApiErrno(absl::FailedPreconditionError("io_uring without uring_cmd")), -EOPNOTSUPP);
  EXPECT_EQ(CApiErrno(absl::UnavailableError("later")), -EAGAIN);
  EXPECT_EQ(CApiErrno(absl::UnimplementedError("no")), -ENOSYS);
  EXPECT_EQ(CApiErrno(absl::ResourceExhaustedError("no")), -ENOMEM);
  EXPECT_EQ(CApiErrno(absl::InternalError("?")), -EIO);
  // An errno-looking tail with a code that errno would not give is not taken for one.
  EXPECT_EQ(CApiErrno(absl::InvalidArgumentError("path: Permission denied")), -EINVAL);
}

TEST(CApiTest, IoLayoutIsTheV1Abi) {
  // Growing these breaks every compiled caller: bump NVME_MPATH_API_VERSION instead.
  EXPECT_EQ(sizeof(nvme_mpath_io), 304u);
  EXPECT_EQ(offsetof(nvme_mpath_io, flags), 2u);  // the former reserved0
  EXPECT_EQ(sizeof(nvme_mpath_io::flags), 2u);
  EXPECT_EQ(offsetof(nvme_mpath_io, nlb), 4u);
  EXPECT_EQ(offsetof(nvme_mpath_io, cb), 80u);
  EXPECT_EQ(offsetof(nvme_mpath_io, res), 96u);
  EXPECT_EQ(offsetof(nvme_mpath_io, opaque), 112u);
  EXPECT_EQ(offsetof(nvme_mpath_io, opaque) % 8, 0u);
  EXPECT_EQ(sizeof(nvme_mpath_dsm_range), 16u);
}

TEST(CApiTest, PathStatsLayoutIsTheV1AbiWithDisabledInItsPadding) {
  // API 3 put `disabled` in the padding after `usable`: the size and every other offset stay.
  EXPECT_EQ(sizeof(struct nvme_mpath_path_stats), 288u);
  EXPECT_EQ(offsetof(struct nvme_mpath_path_stats, usable), 200u);
  EXPECT_EQ(offsetof(struct nvme_mpath_path_stats, disabled), 204u);
  struct nvme_mpath_path_stats one {};
  EXPECT_EQ(sizeof(one.disabled), 4u);
  EXPECT_EQ(offsetof(struct nvme_mpath_path_stats, ios), 208u);
  EXPECT_EQ(offsetof(struct nvme_mpath_path_stats, busy_ns), 280u);
}

TEST(CApiTest, ErrorMessagesAreTruncatedAndTerminated) {
  nvme_mpath_options o;
  nvme_mpath_options_init(&o);
  nvme_mpath_engine* e = nullptr;
  char err[8];
  memset(err, 'x', sizeof(err));
  EXPECT_EQ(nvme_mpath_open(&o, &e, err, sizeof(err)), -EINVAL);
  EXPECT_EQ(strlen(err), sizeof(err) - 1);
  EXPECT_EQ(nvme_mpath_open(&o, &e, nullptr, 0), -EINVAL);  // no buffer is fine
}

TEST(CApiTest, OptionsDefaults) {
  nvme_mpath_options o;
  nvme_mpath_options_init(&o);
  EXPECT_EQ(o.size, sizeof(o));
  EXPECT_EQ(o.policy, NVME_MPATH_POLICY_NUMA);
  EXPECT_EQ(o.no_path_timeout_ms, 30000u);
  EXPECT_EQ(o.ana_poll_interval_ms, 1000u);
  EXPECT_EQ(o.max_retries, 5u);
  EXPECT_EQ(o.write_hold_ms, -1);
  EXPECT_EQ(o.publish_stats, 1);
  nvme_mpath_queue_options q;
  nvme_mpath_queue_options_init(&q);
  EXPECT_EQ(q.depth, 128u);
}

TEST(CApiTest, OpenWithoutNamespaceIsEinvalWithMessage) {
  nvme_mpath_options o;
  nvme_mpath_options_init(&o);
  nvme_mpath_engine* e = nullptr;
  char err[256];
  EXPECT_EQ(nvme_mpath_open(&o, &e, err, sizeof(err)), -EINVAL);
  EXPECT_EQ(e, nullptr);
  EXPECT_NE(std::string(err).find("no namespace given"), std::string::npos) << err;
  EXPECT_EQ(nvme_mpath_open(nullptr, &e, err, sizeof(err)), -EINVAL);
  o.size = 4;
  EXPECT_EQ(nvme_mpath_open(&o, &e, err, sizeof(err)), -EINVAL);
  EXPECT_NE(std::string(err).find("nvme_mpath_options_init"), std::string::npos) << err;
}

TEST(CApiTest, BadOptionsAreRefusedBeforeAnythingIsOpened) {
  const char* paths[] = {"/dev/ng99n99"};  // would be ENOENT if it were opened
  nvme_mpath_options o;
  nvme_mpath_options_init(&o);
  o.paths = paths;
  o.npaths = 1;
  o.rr_min_io = 0;
  nvme_mpath_engine* e = nullptr;
  char err[256];
  EXPECT_EQ(nvme_mpath_open(&o, &e, err, sizeof(err)), -EINVAL);
  EXPECT_STREQ(err, "nvme_mpath_open: rr_min_io must be at least 1");
  EXPECT_EQ(e, nullptr);
  o.rr_min_io = 1;
  o.io_timeout_ms = 0xffffffff;
  EXPECT_EQ(nvme_mpath_open(&o, &e, err, sizeof(err)), -EINVAL);
  EXPECT_STREQ(err, "nvme_mpath_open: io_timeout_ms = 4294967295 ms: at most 86400000 (24 h)");
}

TEST(CApiTest, OpenOfANonNvmeDeviceNamesIt) {
  const char* paths[] = {"/dev/null"};
  nvme_mpath_options o;
  nvme_mpath_options_init(&o);
  o.paths = paths;
  o.npaths = 1;
  nvme_mpath_engine* e = nullptr;
  char err[256];
  EXPECT_EQ(nvme_mpath_open(&o, &e, err, sizeof(err)), -EINVAL);
  EXPECT_NE(std::string(err).find("/dev/null is not an NVMe generic char device"), std::string::npos) << err;
  const char* file[] = {"/etc/hostname"};
  o.paths = file;
  EXPECT_EQ(nvme_mpath_open(&o, &e, err, sizeof(err)), -EINVAL);
  EXPECT_NE(std::string(err).find("regular file"), std::string::npos) << err;
  const char* missing[] = {"/dev/ng99n99"};
  o.paths = missing;
  EXPECT_EQ(nvme_mpath_open(&o, &e, err, sizeof(err)), -ENOENT);
}

TEST(CApiTest, NullHandlesAreRejected) {
  nvme_mpath_io io;
  nvme_mpath_io_init(&io);
  EXPECT_EQ(io.buf_index, -1);
  EXPECT_EQ(nvme_mpath_submit(nullptr, &io), -EINVAL);
  EXPECT_EQ(nvme_mpath_poll(nullptr, 0, 0), -EINVAL);
  EXPECT_EQ(nvme_mpath_queue_create(nullptr, nullptr, nullptr), -EINVAL);
  EXPECT_EQ(nvme_mpath_ns_info(nullptr, nullptr), -EINVAL);
  EXPECT_EQ(nvme_mpath_head_mode(nullptr), -EINVAL);
  EXPECT_EQ(nvme_mpath_atomic_write_bytes(nullptr), -EINVAL);
  EXPECT_EQ(nvme_mpath_path_stats(nullptr, nullptr, 0), -EINVAL);
  EXPECT_EQ(nvme_mpath_set_policy(nullptr, NVME_MPATH_POLICY_NUMA, nullptr), -EINVAL);
  EXPECT_EQ(nvme_mpath_set_path_enabled(nullptr, "/dev/ng0n1", 0), -EINVAL);
  EXPECT_EQ(nvme_mpath_execute(nullptr, &io), -EINVAL);
  EXPECT_EQ(nvme_mpath_flush(nullptr), -EINVAL);
  EXPECT_EQ(nvme_mpath_read(nullptr, 0, 1, nullptr, nullptr), -EINVAL);
  EXPECT_EQ(nvme_mpath_queue_fd(nullptr), -EINVAL);
  EXPECT_EQ(nvme_mpath_queue_inflight(nullptr), 0u);
  EXPECT_STREQ(nvme_mpath_stats_segment(nullptr), "");
  nvme_mpath_close(nullptr);
  nvme_mpath_queue_destroy(nullptr);
}

TEST(CApiTest, Names) {
  EXPECT_STREQ(nvme_mpath_status_name(0x2302), "ANA_INACCESSIBLE");
  EXPECT_STREQ(nvme_mpath_status_name(-ENODEV), "-ENODEV");
  EXPECT_STREQ(nvme_mpath_status_name(0), "SUCCESS");
  EXPECT_STREQ(nvme_mpath_status_name(0x370), "HOST_PATH_ERROR");
  EXPECT_TRUE(std::regex_match(nvme_mpath_version(), std::regex(R"(\d+\.\d+\.\d+)")))
      << nvme_mpath_version();
}

TEST(CApiTest, QueueCreateErrNamesTheBadOption) {
  nvme_mpath_queue_options o;
  nvme_mpath_queue_options_init(&o);
  o.depth = 0;
  nvme_mpath_queue* q = nullptr;
  char err[256];
  memset(err, 'x', sizeof(err));
  // The options are checked first: named even without an engine.
  EXPECT_EQ(nvme_mpath_queue_create_err(nullptr, &o, &q, err, sizeof(err)), -EINVAL);
  EXPECT_STREQ(err, "nvme_mpath_queue_create: queue depth 0 out of range 1..65536");
  EXPECT_EQ(q, nullptr);
  o.depth = 8;
  o.nbuffers = 2;
  EXPECT_EQ(nvme_mpath_queue_create_err(nullptr, &o, &q, err, sizeof(err)), -EINVAL);
  EXPECT_STREQ(err, "nvme_mpath_queue_create: nbuffers is 2 but buffers is NULL");
  o.nbuffers = 0;
  o.sqpoll_cpu = 0;  // API 3
  EXPECT_EQ(nvme_mpath_queue_create_err(nullptr, &o, &q, err, sizeof(err)), -EINVAL);
  EXPECT_STREQ(err, "nvme_mpath_queue_create: sqpoll_cpu = 0 without sqpoll: it pins the SQPOLL thread");
  o.sqpoll_cpu = -1;
  o.size = 12;
  EXPECT_EQ(nvme_mpath_queue_create_err(nullptr, &o, &q, err, sizeof(err)), -EINVAL);
  EXPECT_NE(std::string(err).find("call nvme_mpath_queue_options_init()"), std::string::npos) << err;
  nvme_mpath_queue_options_init(&o);
  EXPECT_EQ(nvme_mpath_queue_create_err(nullptr, &o, &q, err, sizeof(err)), -EINVAL);
  EXPECT_STREQ(err, "nvme_mpath_queue_create: engine must not be NULL");
  EXPECT_EQ(nvme_mpath_queue_create_err(nullptr, &o, nullptr, err, sizeof(err)), -EINVAL);
  EXPECT_STREQ(err, "nvme_mpath_queue_create: out must not be NULL");
  char small[10];
  EXPECT_EQ(nvme_mpath_queue_create_err(nullptr, &o, &q, small, sizeof(small)), -EINVAL);
  EXPECT_EQ(strlen(small), sizeof(small) - 1);
  EXPECT_EQ(nvme_mpath_queue_create_err(nullptr, &o, &q, nullptr, 0), -EINVAL);  // no buffer
}

TEST(CApiTest, VersionMacrosMatchTheLibrary) {
  const std::string macros = std::to_string(NVME_MPATH_VERSION_MAJOR) + "." +
                             std::to_string(NVME_MPATH_VERSION_MINOR) + "." +
                             std::to_string(NVME_MPATH_VERSION_PATCH);
  EXPECT_EQ(nvme_mpath_version(), macros);
  EXPECT_EQ(NVME_MPATH_VERSION_CHECK(), 1);
  // Older minors of the same major are compatible; a newer minor or another major is not.
  EXPECT_EQ(nvme_mpath_version_check(NVME_MPATH_VERSION_MAJOR, 0), 1);
  EXPECT_EQ(nvme_mpath_version_check(NVME_MPATH_VERSION_MAJOR, NVME_MPATH_VERSION_MINOR + 1), 0);
  EXPECT_EQ(nvme_mpath_version_check(NVME_MPATH_VERSION_MAJOR + 1, 0), 0);
  EXPECT_EQ(nvme_mpath_version_check(NVME_MPATH_VERSION_MAJOR, -1), 0);
}

// An Engine without devices, for the C entry points: two paths, SetPathEnabled as the engine's
// rules say (InvalidArgument for a path it does not have, FailedPrecondition in head mode).
class FakeEngine final : public nvme_mpath::Engine {
 public:
  explicit FakeEngine(bool head) { info_.head_mode = head; }
  const nvme_mpath::NamespaceInfo& info() const override { return info_; }
  nvme_mpath::NamespaceInfo& mutable_info() { return info_; }
  const nvme_mpath::EngineOptions& options() const override { return opts_; }
  absl::StatusOr<std::unique_ptr<nvme_mpath::Queue>> CreateQueue(const nvme_mpath::QueueOptions&) override {
    return absl::UnimplementedError("fake");
  }
  std::vector<nvme_mpath::PathInfo> Paths() const override {
    std::vector<nvme_mpath::PathInfo> out(2);
    for (int i = 0; i < 2; ++i) {
      out[size_t(i)].index = i;
      out[size_t(i)].ng_path = "/dev/ng" + std::to_string(i) + "n1";
      out[size_t(i)].ctrl = "nvme" + std::to_string(i);
      out[size_t(i)].usable = true;
      out[size_t(i)].disabled = disabled_[size_t(i)];
    }
    return out;
  }
  std::vector<nvme_mpath::PathStatsSnapshot> Stats() const override { return {}; }
  absl::Status SetPolicy(nvme_mpath::IoPolicy, std::string_view) override { return absl::OkStatus(); }
  absl::Status SetPathEnabled(std::string_view path, bool enabled) override {
    calls.emplace_back(std::string(path), enabled);
    if (info_.head_mode) return absl::FailedPreconditionError("head mode");
    for (size_t i = 0; i < 2; ++i) {
      if (path == "/dev/ng" + std::to_string(i) + "n1" || path == "nvme" + std::to_string(i)) {
        disabled_[i] = !enabled;
        return absl::OkStatus();
      }
    }
    return absl::InvalidArgumentError(std::string(path) + " is not a path of this namespace");
  }
  absl::Status Refresh() override { return absl::OkStatus(); }
  std::string stats_segment() const override { return ""; }

  std::vector<std::pair<std::string, bool>> calls;

 private:
  nvme_mpath::NamespaceInfo info_;
  nvme_mpath::EngineOptions opts_;
  bool disabled_[2] = {false, false};
};

TEST(CApiTest, SetPathEnabledReachesTheEngineAndPathStatsShowsIt) {
  auto owned = std::make_unique<FakeEngine>(false);
  FakeEngine* fake = owned.get();
  nvme_mpath_engine* e = nvme_mpath::internal::CApiWrapEngine(std::move(owned));
  EXPECT_EQ(nvme_mpath_set_path_enabled(e, "/dev/ng1n1", 0), 0);
  struct nvme_mpath_path_stats ps[2];
  memset(ps, 0x5a, sizeof(ps));
  ASSERT_EQ(nvme_mpath_path_stats(e, ps, 2), 2);
  EXPECT_EQ(ps[0].disabled, 0);
  EXPECT_EQ(ps[1].disabled, 1);
  EXPECT_EQ(ps[1].usable, 1);
  EXPECT_EQ(nvme_mpath_set_path_enabled(e, "nvme1", 7), 0);  // any non-zero enables
  ASSERT_EQ(nvme_mpath_path_stats(e, ps, 2), 2);
  EXPECT_EQ(ps[1].disabled, 0);
  EXPECT_EQ(nvme_mpath_set_path_enabled(e, "/dev/ng9n9", 0), -EINVAL);
  EXPECT_EQ(nvme_mpath_set_path_enabled(e, nullptr, 0), -EINVAL);
  EXPECT_EQ(fake->calls, (std::vector<std::pair<std::string, bool>>{
                             {"/dev/ng1n1", false}, {"nvme1", true}, {"/dev/ng9n9", false}}));
  nvme_mpath_close(e);

  nvme_mpath_engine* head = nvme_mpath::internal::CApiWrapEngine(std::make_unique<FakeEngine>(true));
  EXPECT_EQ(nvme_mpath_set_path_enabled(head, "/dev/ng0n1", 0), -EOPNOTSUPP);
  nvme_mpath_close(head);
}

// The C view of the LBA format: separate metadata with PI, then extended metadata (its size
// from extended_metadata_size, never from the separate one).
TEST(CApiTest, NsFormatReportsSeparateAndExtendedMetadataAndPi) {
  EXPECT_EQ(nvme_mpath_ns_format(nullptr, nullptr), -EINVAL);
  auto owned = std::make_unique<FakeEngine>(false);
  FakeEngine* fake = owned.get();
  nvme_mpath::NamespaceInfo& i = fake->mutable_info();
  i.lba_size = 4096;
  i.metadata_size = 8;
  i.pi_type = 1;
  i.pi_first = true;
  nvme_mpath_engine* e = nvme_mpath::internal::CApiWrapEngine(std::move(owned));
  EXPECT_EQ(nvme_mpath_ns_format(e, nullptr), -EINVAL);
  struct nvme_mpath_ns_format f;
  memset(&f, 0x5a, sizeof(f));
  ASSERT_EQ(nvme_mpath_ns_format(e, &f), 0);
  EXPECT_EQ(f.lba_data_size, 4096u);
  EXPECT_EQ(f.metadata_size, 8u);
  EXPECT_EQ(f.extended, 0);
  EXPECT_EQ(f.pi_type, 1);
  EXPECT_EQ(f.pi_first, 1);
  EXPECT_EQ(f.fdp, 0);
  for (uint32_t r : f.reserved) EXPECT_EQ(r, 0u);
  i.metadata_size = 0;
  i.extended_metadata_size = 16;
  i.pi_type = 0;
  i.pi_first = false;
  i.fdp = true;
  ASSERT_EQ(nvme_mpath_ns_format(e, &f), 0);
  EXPECT_EQ(f.metadata_size, 16u);
  EXPECT_EQ(f.extended, 1);
  EXPECT_EQ(f.pi_type, 0);
  EXPECT_EQ(f.fdp, 1);
  nvme_mpath_close(e);
}

}  // namespace

namespace nvme_mpath {
namespace {

// NVMe/TCP can raise SIGPIPE in a thread that submits I/O (engine.cc, IgnoreDefaultSigpipe):
// opening an engine turns the default disposition (terminate) into "ignore", even when the
// open itself then fails.
TEST(EngineOpenTest, IgnoresSigpipeLeftAtItsDefault) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ASSERT_EQ(sigaction(SIGPIPE, &dfl, nullptr), 0);
  EngineOptions o;
  o.paths = {"/nonexistent/ng9n1"};
  EXPECT_FALSE(Engine::Open(o).ok());
  struct sigaction now {};
  ASSERT_EQ(sigaction(SIGPIPE, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, SIG_IGN);
}

}  // namespace
}  // namespace nvme_mpath

namespace nvme_mpath::internal {
namespace {

// I/O through the C entry points, over a queue on a fake transport (two paths, path 0
// optimized): each request field reaches the NVMe command, and the result and the callback come
// back to the C request.
class CApiIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    using namespace nvme_mpath::internal;
    table_ = std::make_unique<PathTable>(2);
    for (int i = 0; i < 2; ++i) {
      table_->path(i).ana =
          i == 0 ? nvme_mpath::AnaState::kOptimized : nvme_mpath::AnaState::kNonOptimized;
      table_->path(i).fd = 100 + i;
    }
    QueueConfig cfg;
    cfg.nsid = 3;
    cfg.nsze = 1 << 20;
    cfg.lba_size = 512;
    auto t = std::make_unique<nvme_mpath::testing::FakeTransport>();
    transport_ = t.get();
    q_ = CApiWrapQueue(
        std::make_unique<QueueCore>(cfg, table_.get(), std::move(t), &clock_, nullptr));
  }
  void TearDown() override { nvme_mpath_queue_destroy(q_); }

  static void OnDone(nvme_mpath_io* io) { static_cast<CApiIoTest*>(io->ctx)->done_.push_back(io); }
  nvme_mpath_io Request(uint8_t op) {
    nvme_mpath_io io;
    nvme_mpath_io_init(&io);
    io.op = op;
    io.cb = OnDone;
    io.ctx = this;
    return io;
  }

  nvme_mpath::testing::FakeClock clock_;
  std::unique_ptr<nvme_mpath::internal::PathTable> table_;
  nvme_mpath::testing::FakeTransport* transport_ = nullptr;
  nvme_mpath_queue* q_ = nullptr;
  std::vector<nvme_mpath_io*> done_;
  alignas(4096) uint8_t buf_[8192] = {};
};

TEST_F(CApiIoTest, AWriteCarriesEveryFieldAndGetsItsResultBack) {
  nvme_mpath_io io = Request(NVME_MPATH_OP_WRITE);
  io.slba = 0x1234;
  io.nlb = 4;
  io.buf = buf_;
  io.flags = NVME_MPATH_IO_FUA;
  io.cdw12 = 0x00500000;  // DTYPE bits, passed through (bits 15:0 are the engine's)
  io.cdw13 = 0x77;
  io.cdw14 = 0xabcd;
  io.cdw15 = 0xff001234;
  io.res = -EIO;  // left from an earlier use: cleared at submit
  ASSERT_EQ(nvme_mpath_submit(q_, &io), 0);
  ASSERT_EQ(nvme_mpath_flush(q_), 1);
  ASSERT_EQ(transport_->inflight().size(), 1u);
  const nvme_uring_cmd& c = transport_->inflight()[0].cmd;
  EXPECT_EQ(c.opcode, 0x01);
  EXPECT_EQ(c.nsid, 3u);
  EXPECT_EQ(c.addr, reinterpret_cast<uintptr_t>(buf_));
  EXPECT_EQ(c.data_len, 4u * 512);
  EXPECT_EQ(c.cdw10, 0x1234u);
  EXPECT_EQ(c.cdw11, 0u);
  EXPECT_EQ(c.cdw12, 3u | 0x00500000u | (1u << 30));  // NLB 0-based, DTYPE, FUA
  EXPECT_EQ(c.cdw13, 0x77u);
  EXPECT_EQ(c.cdw14, 0xabcdu);
  EXPECT_EQ(c.cdw15, 0xff001234u);
  transport_->Complete(0, 0, 0x5a);
  ASSERT_EQ(nvme_mpath_poll(q_, 1, 0), 1);
  ASSERT_EQ(done_.size(), 1u);
  EXPECT_EQ(done_[0], &io);
  EXPECT_EQ(io.res, 0);
  EXPECT_EQ(io.status, 0);
  EXPECT_EQ(io.result, 0x5au);
}

TEST_F(CApiIoTest, AnNvmeErrorReachesTheRequestWithItsStatus) {
  nvme_mpath_io io = Request(NVME_MPATH_OP_READ);
  io.slba = 8;
  io.nlb = 1;
  io.buf = buf_;
  ASSERT_EQ(nvme_mpath_submit(q_, &io), 0);
  ASSERT_EQ(nvme_mpath_flush(q_), 1);
  transport_->Complete(0, 0x4281);  // DNR, SCT 2 / SC 0x81: unrecovered read error, no retry
  ASSERT_EQ(nvme_mpath_poll(q_, 1, 0), 1);
  ASSERT_EQ(done_.size(), 1u);
  EXPECT_EQ(io.res, -EIO);
  EXPECT_EQ(io.status & 0x7ff, 0x281);
}

// A raw command's own fields make the command; a read or write never looks at them (the C API
// copies them for NVME_MPATH_OP_RAW only).
TEST_F(CApiIoTest, ARawCommandIsBuiltFromItsOwnFields) {
  nvme_mpath_io io = Request(NVME_MPATH_OP_RAW);
  io.raw_opcode = 0x81;
  io.buf = buf_;
  io.raw_data_len = 4096;
  io.cdw2 = 2;
  io.cdw3 = 3;
  io.cdw10 = 10;
  io.cdw11 = 11;
  io.cdw12 = 12;
  io.cdw13 = 13;
  io.cdw14 = 14;
  io.cdw15 = 15;
  ASSERT_EQ(nvme_mpath_submit(q_, &io), 0);
  ASSERT_EQ(nvme_mpath_flush(q_), 1);
  const nvme_uring_cmd& c = transport_->inflight()[0].cmd;
  EXPECT_EQ(c.opcode, 0x81);
  EXPECT_EQ(c.nsid, 3u);
  EXPECT_EQ(c.addr, reinterpret_cast<uintptr_t>(buf_));
  EXPECT_EQ(c.data_len, 4096u);
  EXPECT_EQ(c.cdw2, 2u);
  EXPECT_EQ(c.cdw3, 3u);
  EXPECT_EQ(c.cdw10, 10u);
  EXPECT_EQ(c.cdw11, 11u);
  EXPECT_EQ(c.cdw12, 12u);
  EXPECT_EQ(c.cdw13, 13u);
  EXPECT_EQ(c.cdw14, 14u);
  EXPECT_EQ(c.cdw15, 15u);
  transport_->Complete(0, 0);
  ASSERT_EQ(nvme_mpath_poll(q_, 1, 0), 1);
  // The same request, reused as a read with its dwords cleared: nothing of the raw command is
  // left in the read.
  io.op = NVME_MPATH_OP_READ;
  io.slba = 5;
  io.nlb = 1;
  io.cdw2 = io.cdw3 = io.cdw10 = io.cdw11 = io.cdw12 = io.cdw13 = io.cdw14 = io.cdw15 = 0;
  ASSERT_EQ(nvme_mpath_submit(q_, &io), 0);
  ASSERT_EQ(nvme_mpath_flush(q_), 1);
  const nvme_uring_cmd& r = transport_->inflight()[0].cmd;
  EXPECT_EQ(r.opcode, 0x02);
  EXPECT_EQ(r.cdw2, 0u);
  EXPECT_EQ(r.cdw10, 5u);
  EXPECT_EQ(r.cdw12, 0u);
  EXPECT_EQ(r.data_len, 512u);
  transport_->Complete(0, 0);
  ASSERT_EQ(nvme_mpath_poll(q_, 1, 0), 1);
}

// NVME_MPATH_IO_IDEMPOTENT decides whether a raw command cancelled on its path (it may have run)
// is sent again (at once, on the other path: a read-like command needs no write hold).
TEST_F(CApiIoTest, ACancelledRawCommandIsNotResent) {
  nvme_mpath_io io = Request(NVME_MPATH_OP_RAW);
  io.raw_opcode = 0x82;  // a read-like vendor opcode (bits 1:0 10b), no data
  ASSERT_EQ(nvme_mpath_submit(q_, &io), 0);
  ASSERT_EQ(nvme_mpath_flush(q_), 1);
  transport_->Complete(0, -ECANCELED);
  ASSERT_EQ(nvme_mpath_poll(q_, 1, 0), 1);
  EXPECT_TRUE(transport_->inflight().empty()) << "it may have run: not sent again";
  EXPECT_EQ(io.res, -ECANCELED);
}

TEST_F(CApiIoTest, ACancelledIdempotentRawCommandIsResentOnTheOtherPath) {
  nvme_mpath_io io = Request(NVME_MPATH_OP_RAW);
  io.raw_opcode = 0x82;
  io.flags = NVME_MPATH_IO_IDEMPOTENT;
  ASSERT_EQ(nvme_mpath_submit(q_, &io), 0);
  ASSERT_EQ(nvme_mpath_flush(q_), 1);
  transport_->Complete(0, -ECANCELED);
  EXPECT_EQ(nvme_mpath_poll(q_, 0, 0), 0) << "resent, not completed";
  ASSERT_EQ(transport_->inflight().size(), 1u);
  EXPECT_EQ(transport_->inflight()[0].path, 1);
  EXPECT_EQ(transport_->inflight()[0].cmd.opcode, 0x82);
  transport_->Complete(0, 0);
  ASSERT_EQ(nvme_mpath_poll(q_, 1, 0), 1);
  EXPECT_EQ(io.res, 0);
}

TEST_F(CApiIoTest, AnUnknownOpIsEinvalAndNothingIsSent) {
  nvme_mpath_io io = Request(NVME_MPATH_OP_WRITE_UNCORRECTABLE + 1);
  EXPECT_EQ(nvme_mpath_submit(q_, &io), -EINVAL);
  EXPECT_EQ(nvme_mpath_flush(q_), 0);
  EXPECT_TRUE(transport_->inflight().empty());
}

// A request submitted again before its cb ran is refused before its engine state (in its opaque
// area) is overwritten, alone or in a batch; the one in flight completes once, with its own
// result. A struct copy of it is a request of its own; after its cb it may go again.
TEST_F(CApiIoTest, ARequestInFlightIsRefusedWhenSubmittedAgain) {
  nvme_mpath_io io = Request(NVME_MPATH_OP_READ);
  io.slba = 8;
  io.nlb = 1;
  io.buf = buf_;
  ASSERT_EQ(nvme_mpath_submit(q_, &io), 0);
  EXPECT_EQ(nvme_mpath_submit(q_, &io), -EALREADY);
  nvme_mpath_io* again[] = {&io};
  EXPECT_EQ(nvme_mpath_submit_batch(q_, again, 1), -EALREADY);
  EXPECT_EQ(nvme_mpath_execute(q_, &io), -EALREADY);
  nvme_mpath_io copy = io;  // its opaque names the original: not in flight
  copy.slba = 16;
  ASSERT_EQ(nvme_mpath_submit(q_, &copy), 0);
  ASSERT_EQ(nvme_mpath_flush(q_), 2);
  ASSERT_EQ(transport_->inflight().size(), 2u);
  EXPECT_EQ(transport_->inflight()[0].cmd.cdw10, 8u);
  EXPECT_EQ(transport_->inflight()[1].cmd.cdw10, 16u);
  transport_->Complete(0, 0, 0x11);
  transport_->Complete(0, 0, 0x22);
  ASSERT_EQ(nvme_mpath_poll(q_, 2, 0), 2);
  ASSERT_EQ(done_.size(), 2u);
  EXPECT_EQ(done_[0], &io);
  EXPECT_EQ(io.res, 0);
  EXPECT_EQ(io.result, 0x11u);
  EXPECT_EQ(done_[1], &copy);
  // Completed: it may go again; twice in one batch only once.
  nvme_mpath_io* twice[] = {&io, &io};
  EXPECT_EQ(nvme_mpath_submit_batch(q_, twice, 2), 1);
  ASSERT_EQ(nvme_mpath_flush(q_), 1);
  transport_->CompleteAll(0);
  EXPECT_EQ(nvme_mpath_poll(q_, 1, 0), 1);
  EXPECT_EQ(done_.size(), 3u);
  EXPECT_EQ(nvme_mpath_queue_inflight(q_), 0u);
}

// nvme_mpath_submit_batch(): in order, across its chunks of 64, stopping where the queue (128
// slots) or a bad request stops it, as io_submit(2); the count taken, or the first one's error.
TEST_F(CApiIoTest, ABatchIsTakenInOrderUntilTheQueueOrABadRequestStopsIt) {
  std::vector<nvme_mpath_io> ios(130);
  std::vector<nvme_mpath_io*> ptrs;
  for (size_t i = 0; i < ios.size(); ++i) {
    ios[i] = Request(NVME_MPATH_OP_READ);
    ios[i].slba = 1000 + i;
    ios[i].nlb = 1;
    ios[i].buf = buf_;
    ptrs.push_back(&ios[i]);
  }
  EXPECT_EQ(nvme_mpath_submit_batch(nullptr, ptrs.data(), 1), -EINVAL);
  EXPECT_EQ(nvme_mpath_submit_batch(q_, nullptr, 1), -EINVAL);
  EXPECT_EQ(nvme_mpath_submit_batch(q_, nullptr, 0), 0);
  EXPECT_EQ(nvme_mpath_submit_batch(q_, ptrs.data(), 130), 128);  // the queue's 128 slots
  EXPECT_EQ(nvme_mpath_submit_batch(q_, ptrs.data() + 128, 2), -EAGAIN);
  ASSERT_EQ(nvme_mpath_flush(q_), 128);
  ASSERT_EQ(transport_->inflight().size(), 128u);
  for (size_t i = 0; i < 128; ++i) EXPECT_EQ(transport_->inflight()[i].cmd.cdw10, 1000 + i);
  transport_->CompleteAll(0);
  EXPECT_EQ(nvme_mpath_poll(q_, 0, 0), 128);
  ASSERT_EQ(done_.size(), 128u);
  for (size_t i = 0; i < 128; ++i) EXPECT_EQ(done_[i]->res, 0);
  done_.clear();
  // A bad request stops the batch before it; a NULL entry is -EINVAL.
  ios[2].op = NVME_MPATH_OP_WRITE_UNCORRECTABLE + 1;
  EXPECT_EQ(nvme_mpath_submit_batch(q_, ptrs.data(), 4), 2);
  EXPECT_EQ(nvme_mpath_submit_batch(q_, ptrs.data() + 2, 2), -EINVAL);
  nvme_mpath_io* null_first[] = {nullptr, &ios[3]};
  EXPECT_EQ(nvme_mpath_submit_batch(q_, null_first, 2), -EINVAL);
  ASSERT_EQ(nvme_mpath_flush(q_), 2);
  transport_->CompleteAll(0);
  EXPECT_EQ(nvme_mpath_poll(q_, 0, 0), 2);
  EXPECT_EQ(done_.size(), 2u);
}

}  // namespace
}  // namespace nvme_mpath::internal
