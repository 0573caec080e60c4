// The C API without devices: defaults, argument checks, clear errors, names.
#include <nvme_mpath/nvme_mpath.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace {

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
  nvme_mpath_close(nullptr);
  nvme_mpath_queue_destroy(nullptr);
}

TEST(CApiTest, Names) {
  EXPECT_STREQ(nvme_mpath_status_name(0x2302), "ANA_INACCESSIBLE");
  EXPECT_STREQ(nvme_mpath_status_name(-ENODEV), "-ENODEV");
  EXPECT_STRNE(nvme_mpath_version(), "");
}

}  // namespace
