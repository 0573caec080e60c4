// The fio engine's option handling (fio-engine/options.c, linked as mpath_fio_options): every
// accepted form of the options and every rejection, with its message. The fio engine logs these
// messages as "mpath_nvme: <message>".
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nvme_mpath/engine.h>
#include <nvme_mpath/nvme_mpath.h>

#include "options.h"

// The fio engine is C and cannot see the library's constant: its copy must match.
static_assert(MPATH_OPTS_MAX_PATHS == nvme_mpath::kMaxEnginePaths);

namespace {

using ::testing::HasSubstr;

// What fio fills in with every option at its default (the option table's .def values).
mpath_options Defaults() {
  mpath_options o{};
  o.iopolicy = const_cast<char*>("numa");
  o.rr_min_io = 1;
  o.no_path_timeout = 30000;
  o.io_timeout = 120000;
  o.max_retries = 5;
  o.write_hold = -1;
  o.ana_poll = 1000;
  o.sqpoll_idle = 1000;
  o.nonvectored = -1;  // io_uring_cmd's
  o.cmd_type = MPATH_OPTS_CMD_TYPE_NVME;
  o.pi_act = 1;
  o.apptag = 0x1234;
  o.apptag_mask = 0xffff;
  return o;
}

struct Built {
  int rc = 0;
  std::string err;
  nvme_mpath_options out{};
  mpath_opts_buf buf{};

  std::string path(uint32_t i) const { return out.paths[i]; }
};

// Owns the strings the options point to.
struct Opts {
  mpath_options o = Defaults();
  std::string paths, policy = "numa", preferred;

  Opts& Paths(std::string s) { paths = std::move(s); o.paths = paths.data(); return *this; }
  Opts& Policy(std::string s) { policy = std::move(s); o.iopolicy = policy.data(); return *this; }
  Opts& Preferred(std::string s) { preferred = std::move(s); o.preferred_path = preferred.data(); return *this; }
};

// Built is returned by pointer: `out` points into its own `buf`.
std::unique_ptr<Built> Build(const mpath_options& o, const char* file = "/dev/ng0n1", int probe = 0,
                             const char* job = "job1") {
  auto b = std::make_unique<Built>();
  nvme_mpath_options_init(&b->out);
  char err[512];
  std::memset(err, 'x', sizeof(err));
  b->rc = mpath_opts_build(&o, file, job, probe, &b->buf, &b->out, err, sizeof(err));
  b->err = err;
  if (b->rc == 0) {
    EXPECT_EQ(b->err, "") << "no message on success";
  } else {
    EXPECT_EQ(b->rc, -EINVAL);
    EXPECT_NE(b->err, "");
    EXPECT_EQ(b->err.find('\n'), std::string::npos) << "one line: " << b->err;
  }
  return b;
}

std::string Err(const mpath_options& o, const char* file = "/dev/ng0n1", int probe = 0) {
  auto b = Build(o, file, probe);
  EXPECT_NE(b->rc, 0) << "accepted";
  return b->err;
}

TEST(FioOptionsTest, PolicyNames) {
  EXPECT_EQ(mpath_opts_policy(nullptr), NVME_MPATH_POLICY_NUMA);  // not given
  EXPECT_EQ(mpath_opts_policy("numa"), NVME_MPATH_POLICY_NUMA);
  EXPECT_EQ(mpath_opts_policy("round-robin"), NVME_MPATH_POLICY_ROUND_ROBIN);
  EXPECT_EQ(mpath_opts_policy("queue-depth"), NVME_MPATH_POLICY_QUEUE_DEPTH);
  EXPECT_EQ(mpath_opts_policy("latency"), NVME_MPATH_POLICY_LATENCY);
  EXPECT_EQ(mpath_opts_policy("active-passive"), NVME_MPATH_POLICY_ACTIVE_PASSIVE);
  for (const char* bad : {"", "NUMA", "round_robin", "rr", "numa ", " numa", "queue-depth\n", "xyz"})
    EXPECT_EQ(mpath_opts_policy(bad), -1) << bad;
}

// hipri_force only means something with hipri: alone it is a mistake, refused.
TEST(FioOptionsTest, HipriForceNeedsHipri) {
  Opts x;
  x.o.hipri_force = 1;
  EXPECT_EQ(Err(x.o), "hipri_force is only used with hipri (polled completions)");
  x.o.hipri = 1;
  EXPECT_EQ(Build(x.o)->rc, 0);
}

TEST(FioOptionsTest, DefaultsOpenTheFileAndDiscover) {
  auto b = Build(Defaults());
  ASSERT_EQ(b->rc, 0) << b->err;
  ASSERT_EQ(b->out.npaths, 1u);
  EXPECT_EQ(b->path(0), "/dev/ng0n1");
  EXPECT_EQ(b->out.explicit_paths_only, 0);
  EXPECT_EQ(b->out.policy, NVME_MPATH_POLICY_NUMA);
  EXPECT_EQ(b->out.preferred_path, nullptr);
  EXPECT_EQ(b->out.rr_min_io, 1u);
  EXPECT_EQ(b->out.no_path_timeout_ms, 30000u);
  EXPECT_EQ(b->out.cmd_timeout_ms, 0u);
  EXPECT_EQ(b->out.io_timeout_ms, 120000u);
  EXPECT_EQ(b->out.max_retries, 5u);
  EXPECT_EQ(b->out.write_hold_ms, -1);
  EXPECT_EQ(b->out.failback_delay_ms, 0u);
  EXPECT_EQ(b->out.ana_poll_interval_ms, 1000u);
  EXPECT_EQ(b->out.publish_stats, 1);  // from nvme_mpath_options_init, untouched
  EXPECT_STREQ(b->out.name, "job1");
  EXPECT_EQ(b->out.size, sizeof(nvme_mpath_options));
}

TEST(FioOptionsTest, EveryValueIsPassedOn) {
  Opts x;
  x.Policy("active-passive").Preferred("nvme1");
  x.o.rr_min_io = 7;
  x.o.no_path_timeout = 11;
  x.o.cmd_timeout = 12;
  x.o.io_timeout = 13;
  x.o.max_retries = 14;
  x.o.write_hold = 15;
  x.o.failback_delay = 16;
  x.o.ana_poll = 17;
  auto b = Build(x.o);
  ASSERT_EQ(b->rc, 0) << b->err;
  EXPECT_EQ(b->out.policy, NVME_MPATH_POLICY_ACTIVE_PASSIVE);
  EXPECT_STREQ(b->out.preferred_path, "nvme1");
  EXPECT_EQ(b->out.rr_min_io, 7u);
  EXPECT_EQ(b->out.no_path_timeout_ms, 11u);
  EXPECT_EQ(b->out.cmd_timeout_ms, 12u);
  EXPECT_EQ(b->out.io_timeout_ms, 13u);
  EXPECT_EQ(b->out.max_retries, 14u);
  EXPECT_EQ(b->out.write_hold_ms, 15);
  EXPECT_EQ(b->out.failback_delay_ms, 16u);
  EXPECT_EQ(b->out.ana_poll_interval_ms, 17u);
  // A job name is optional (the library then shows the program name).
  b = Build(x.o, "/dev/ng0n1", 0, nullptr);
  ASSERT_EQ(b->rc, 0) << b->err;
  EXPECT_EQ(b->out.name, nullptr);
}

TEST(FioOptionsTest, EachPolicy) {
  for (auto [name, val] : {std::pair{"numa", NVME_MPATH_POLICY_NUMA},
                           {"round-robin", NVME_MPATH_POLICY_ROUND_ROBIN},
                           {"queue-depth", NVME_MPATH_POLICY_QUEUE_DEPTH},
                           {"latency", NVME_MPATH_POLICY_LATENCY},
                           {"active-passive", NVME_MPATH_POLICY_ACTIVE_PASSIVE}}) {
    Opts x;
    x.Policy(name);
    auto b = Build(x.o);
    ASSERT_EQ(b->rc, 0) << name << ": " << b->err;
    EXPECT_EQ(b->out.policy, val);
  }
  mpath_options o = Defaults();
  o.iopolicy = nullptr;  // not parsed at all: numa
  auto b = Build(o);
  ASSERT_EQ(b->rc, 0) << b->err;
  EXPECT_EQ(b->out.policy, NVME_MPATH_POLICY_NUMA);
}

TEST(FioOptionsTest, UnknownPolicy) {
  Opts x;
  EXPECT_EQ(Err(x.Policy("xyz").o),
            "iopolicy=xyz: not one of numa, round-robin, queue-depth, active-passive, latency");
  EXPECT_EQ(Err(x.Policy("").o),
            "iopolicy=: not one of numa, round-robin, queue-depth, active-passive, latency");
  EXPECT_THAT(Err(x.Policy("Round-Robin").o), HasSubstr("iopolicy=Round-Robin: not one of"));
  // Control bytes and backslashes are shown escaped: the message stays one printable line.
  EXPECT_EQ(Err(x.Policy("numa\n\x1b[2J\\").o),
            "iopolicy=numa\\x0a\\x1b[2J\\x5c: not one of numa, round-robin, queue-depth, active-passive, latency");
  // A long value is cut in the message.
  EXPECT_THAT(Err(x.Policy(std::string(5000, 'p')).o),
              HasSubstr("iopolicy=" + std::string(64, 'p') + "...: not one of"));
  // Also refused in the probe (sizing the file), before any I/O.
  EXPECT_THAT(Err(x.Policy("xyz").o, "/dev/ng0n1", 1), HasSubstr("iopolicy=xyz"));
}

TEST(FioOptionsTest, PreferredPath) {
  Opts x;
  x.Policy("active-passive").Preferred("/dev/ng1n1");
  auto b = Build(x.o);
  ASSERT_EQ(b->rc, 0) << b->err;
  EXPECT_STREQ(b->out.preferred_path, "/dev/ng1n1");
  // Other policies would ignore it: refused.
  for (const char* p : {"numa", "round-robin", "queue-depth", "latency"})
    EXPECT_EQ(Err(x.Policy(p).o), "preferred_path= is only used with iopolicy=active-passive") << p;
  mpath_options o = x.o;
  o.iopolicy = nullptr;  // the default, numa
  EXPECT_EQ(Err(o), "preferred_path= is only used with iopolicy=active-passive");
  // Empty is "not given".
  x.Policy("numa").Preferred("");
  b = Build(x.o);
  ASSERT_EQ(b->rc, 0) << b->err;
  EXPECT_EQ(b->out.preferred_path, nullptr);
  x.Policy("active-passive");
  b = Build(x.o);
  ASSERT_EQ(b->rc, 0) << b->err;
  EXPECT_EQ(b->out.preferred_path, nullptr);
  // No device name has blanks.
  EXPECT_EQ(Err(x.Preferred("nvme1 ").o),
            "preferred_path=\"nvme1 \": contains a space or control character");
  EXPECT_EQ(Err(x.Preferred("nv\tme1").o),
            "preferred_path=\"nv\\x09me1\": contains a space or control character");
}

TEST(FioOptionsTest, RrMinIoAndWriteHold) {
  mpath_options o = Defaults();
  o.rr_min_io = 0;
  EXPECT_EQ(Err(o), "rr_min_io=0: at least 1");
  o = Defaults();
  for (int wh : {-2, -100, INT_MIN}) {
    o.write_hold = wh;
    EXPECT_EQ(Err(o), "write_hold=" + std::to_string(wh) + ": -1 (the controller's rule: (TBKAS ? 3 : 2) x KATO + CQT) or a time in ms");
  }
  for (int wh : {-1, 0, 1, 86400000, INT_MAX}) {  // ranges are the library's to check
    o.write_hold = wh;
    auto b = Build(o);
    ASSERT_EQ(b->rc, 0) << wh << ": " << b->err;
    EXPECT_EQ(b->out.write_hold_ms, wh);
  }
}

TEST(FioOptionsTest, ExplicitPaths) {
  Opts x;
  auto b = Build(x.Paths("/dev/ng1n1").o);
  ASSERT_EQ(b->rc, 0) << b->err;
  ASSERT_EQ(b->out.npaths, 1u);
  EXPECT_EQ(b->path(0), "/dev/ng1n1");  // filename= is not used
  EXPECT_EQ(b->out.explicit_paths_only, 1);

  b = Build(x.Paths("/dev/ng0n1:/dev/ng1n1:/dev/ng2n1").o);
  ASSERT_EQ(b->rc, 0) << b->err;
  ASSERT_EQ(b->out.npaths, 3u);
  EXPECT_EQ(b->path(0), "/dev/ng0n1");
  EXPECT_EQ(b->path(1), "/dev/ng1n1");
  EXPECT_EQ(b->path(2), "/dev/ng2n1");
  EXPECT_EQ(b->out.explicit_paths_only, 1);
  // The list is a copy: fio's string is left as it was.
  EXPECT_EQ(x.paths, "/dev/ng0n1:/dev/ng1n1:/dev/ng2n1");
  EXPECT_EQ(std::strlen(x.o.paths), x.paths.size());
  // The paths point into the buffer, not into fio's string.
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_GE(b->out.paths[i], b->buf.text);
    EXPECT_LT(b->out.paths[i], b->buf.text + sizeof(b->buf.text));
  }

  // filename= need not be one of them, nor be given at all.
  b = Build(x.Paths("/dev/ng1n1:/dev/ng2n1").o, nullptr);
  ASSERT_EQ(b->rc, 0) << b->err;
  EXPECT_EQ(b->out.npaths, 2u);
  b = Build(x.o, "");
  ASSERT_EQ(b->rc, 0) << b->err;

  // Anything but ':' and blanks is a path character (the library opens it, or says why not).
  b = Build(x.Paths("relative:/dev/disk/by-id/nvme-é").o);
  ASSERT_EQ(b->rc, 0) << b->err;
  EXPECT_EQ(b->path(0), "relative");
  EXPECT_EQ(b->path(1), "/dev/disk/by-id/nvme-é");

  // Empty paths= is "not given": the file, with discovery.
  b = Build(x.Paths("").o);
  ASSERT_EQ(b->rc, 0) << b->err;
  ASSERT_EQ(b->out.npaths, 1u);
  EXPECT_EQ(b->path(0), "/dev/ng0n1");
  EXPECT_EQ(b->out.explicit_paths_only, 0);
}

TEST(FioOptionsTest, SixteenPathsAtMost) {
  std::string list;
  for (int i = 0; i < 16; ++i) list += (i ? ":" : "") + ("/dev/ng" + std::to_string(i) + "n1");
  Opts x;
  auto b = Build(x.Paths(list).o);
  ASSERT_EQ(b->rc, 0) << b->err;
  ASSERT_EQ(b->out.npaths, 16u);
  EXPECT_EQ(b->path(15), "/dev/ng15n1");
  EXPECT_EQ(Err(x.Paths(list + ":/dev/ng16n1").o), "paths=: at most 16 paths, 17 given");
  EXPECT_EQ(Err(x.Paths(std::string(40, ':')).o), "paths=: at most 16 paths, 41 given");
}

TEST(FioOptionsTest, EmptyPathsAreRefused) {
  // strtok_r used to drop them silently: "paths=::" opened no path at all.
  Opts x;
  EXPECT_EQ(Err(x.Paths(":").o), "paths=: empty path before the first ':'");
  EXPECT_EQ(Err(x.Paths("::").o), "paths=: empty path before the first ':'");
  EXPECT_EQ(Err(x.Paths(":/dev/ng0n1").o), "paths=: empty path before the first ':'");
  EXPECT_EQ(Err(x.Paths("/dev/ng0n1:").o), "paths=: empty path after the last ':'");
  EXPECT_EQ(Err(x.Paths("/dev/ng0n1::/dev/ng1n1").o), "paths=: empty path between ':'");
  EXPECT_EQ(Err(x.Paths("a:b::c:d").o), "paths=: empty path between ':'");
}

TEST(FioOptionsTest, BlanksAreRefusedNotTrimmed) {
  Opts x;
  EXPECT_EQ(Err(x.Paths("/dev/ng0n1 /dev/ng1n1").o),
            "paths=: \"/dev/ng0n1 /dev/ng1n1\" contains a space or control character");
  EXPECT_EQ(Err(x.Paths("/dev/ng0n1: /dev/ng1n1").o),
            "paths=: \" /dev/ng1n1\" contains a space or control character");
  EXPECT_EQ(Err(x.Paths("/dev/ng0n1\t").o),
            "paths=: \"/dev/ng0n1\\x09\" contains a space or control character");
  EXPECT_EQ(Err(x.Paths("/dev/ng0n1\r\n").o),
            "paths=: \"/dev/ng0n1\\x0d\\x0a\" contains a space or control character");
  EXPECT_EQ(Err(x.Paths("a\x7f").o), "paths=: \"a\\x7f\" contains a space or control character");
  EXPECT_EQ(Err(x.Paths(" ").o), "paths=: \" \" contains a space or control character");
}

TEST(FioOptionsTest, DuplicatesAreRefused) {
  Opts x;
  EXPECT_EQ(Err(x.Paths("/dev/ng0n1:/dev/ng0n1").o), "paths=: /dev/ng0n1 given twice");
  EXPECT_EQ(Err(x.Paths("/dev/ng0n1:/dev/ng1n1:/dev/ng2n1:/dev/ng1n1").o), "paths=: /dev/ng1n1 given twice");
  // Same text only: whether two names are one device is the library's to find.
  auto b = Build(x.Paths("/dev/ng0n1:/dev//ng0n1").o);
  EXPECT_EQ(b->rc, 0) << b->err;
  // A prefix is not a duplicate.
  b = Build(x.Paths("/dev/ng1n1:/dev/ng1n10:/dev/ng1n").o);
  EXPECT_EQ(b->rc, 0) << b->err;
  EXPECT_EQ(b->out.npaths, 3u);
}

TEST(FioOptionsTest, LongPathsAreRefusedNotCut) {
  Opts x;
  const size_t max = sizeof(mpath_opts_buf::text) - 1;
  auto b = Build(x.Paths(std::string(max, 'a')).o);
  ASSERT_EQ(b->rc, 0) << b->err;
  EXPECT_EQ(std::strlen(b->out.paths[0]), max);
  std::string two = std::string(max / 2, 'a') + ":" + std::string(max - max / 2 - 1, 'b');
  b = Build(x.Paths(two).o);
  ASSERT_EQ(b->rc, 0) << b->err;
  EXPECT_EQ(b->out.npaths, 2u);
  EXPECT_EQ(Err(x.Paths(std::string(max + 1, 'a')).o),
            "paths=: " + std::to_string(max + 1) + " bytes long, at most " + std::to_string(max));
  EXPECT_THAT(Err(x.Paths(std::string(1 << 20, 'a')).o), HasSubstr("paths=: 1048576 bytes long"));
  // A long duplicate is shown cut.
  std::string p(300, 'd');
  EXPECT_EQ(Err(x.Paths(p + ":" + p).o), "paths=: " + std::string(64, 'd') + "... given twice");
}

TEST(FioOptionsTest, FilenameIsNeededWithoutPaths) {
  mpath_options o = Defaults();
  EXPECT_EQ(Err(o, nullptr), "no filename= (the /dev/ngXnY to open)");
  EXPECT_EQ(Err(o, ""), "no filename= (the /dev/ngXnY to open)");
  // Whatever fio names the file is passed on: the library says if it cannot open it.
  auto b = Build(o, "job1.0.0");
  ASSERT_EQ(b->rc, 0) << b->err;
  EXPECT_EQ(b->path(0), "job1.0.0");
}

TEST(FioOptionsTest, ProbeOpensOnePathAloneWithDefaults) {
  Opts x;
  auto f = Build(x.o, "/dev/ng0n1", 1);  // without paths=: the file
  ASSERT_EQ(f->rc, 0) << f->err;
  ASSERT_EQ(f->out.npaths, 1u);
  EXPECT_EQ(f->path(0), "/dev/ng0n1");
  x.Policy("active-passive").Preferred("nvme1").Paths("/dev/ng1n1:/dev/ng2n1");
  x.o.rr_min_io = 9;
  x.o.ana_poll = 50;
  x.o.io_timeout = 77;
  auto b = Build(x.o, "/dev/ng0n1", 1);  // with paths=: the first of them, the I/O's namespace
  ASSERT_EQ(b->rc, 0) << b->err;
  ASSERT_EQ(b->out.npaths, 1u);
  EXPECT_EQ(b->path(0), "/dev/ng1n1");
  EXPECT_EQ(b->out.explicit_paths_only, 1);
  EXPECT_EQ(b->out.publish_stats, 0);
  EXPECT_EQ(b->out.ana_poll_interval_ms, 0u);
  nvme_mpath_options d;
  nvme_mpath_options_init(&d);
  EXPECT_EQ(b->out.policy, d.policy);
  EXPECT_EQ(b->out.preferred_path, nullptr);  // might not be this path: not passed
  EXPECT_EQ(b->out.rr_min_io, d.rr_min_io);
  EXPECT_EQ(b->out.io_timeout_ms, d.io_timeout_ms);
  EXPECT_EQ(b->out.name, nullptr);
  // ... yet every option is checked there.
  EXPECT_EQ(Err(x.Paths("/dev/ng1n1::").o, "/dev/ng0n1", 1), "paths=: empty path between ':'");
  EXPECT_EQ(Build(x.Paths("/dev/ng1n1").o, nullptr, 1)->rc, 0);  // paths= needs no filename=
  EXPECT_EQ(Err(Defaults(), nullptr, 1), "no filename= (the /dev/ngXnY to open)");
  mpath_options o = Defaults();
  o.write_hold = -5;
  EXPECT_THAT(Err(o, "/dev/ng0n1", 1), HasSubstr("write_hold=-5"));
}

TEST(FioOptionsTest, OutIsUntouchedOnFailure) {
  Opts x;
  x.Paths("/dev/ng0n1:/dev/ng0n1");
  nvme_mpath_options out, before;
  nvme_mpath_options_init(&out);
  out.nsid = 42;  // a marker
  before = out;
  mpath_opts_buf buf;
  char err[128];
  EXPECT_EQ(mpath_opts_build(&x.o, "/dev/ng0n1", "j", 0, &buf, &out, err, sizeof(err)), -EINVAL);
  EXPECT_EQ(std::memcmp(&out, &before, sizeof(out)), 0);
  // And fields the options do not set keep the caller's values on success.
  x.Paths("/dev/ng0n1");
  EXPECT_EQ(mpath_opts_build(&x.o, "/dev/ng0n1", "j", 0, &buf, &out, err, sizeof(err)), 0);
  EXPECT_EQ(out.nsid, 42u);
  EXPECT_EQ(out.subsysnqn, nullptr);
}

TEST(FioOptionsTest, CallerMistakes) {
  mpath_options o = Defaults();
  nvme_mpath_options out;
  mpath_opts_buf buf;
  char err[256];
  nvme_mpath_options_init(&out);
  EXPECT_EQ(mpath_opts_build(nullptr, "f", "j", 0, &buf, &out, err, sizeof(err)), -EINVAL);
  EXPECT_THAT(err, HasSubstr("NULL"));
  EXPECT_EQ(mpath_opts_build(&o, "f", "j", 0, nullptr, &out, err, sizeof(err)), -EINVAL);
  EXPECT_EQ(mpath_opts_build(&o, "f", "j", 0, &buf, nullptr, err, sizeof(err)), -EINVAL);
  // `out` must come from nvme_mpath_options_init().
  std::memset(&out, 0, sizeof(out));
  EXPECT_EQ(mpath_opts_build(&o, "f", "j", 0, &buf, &out, err, sizeof(err)), -EINVAL);
  EXPECT_THAT(err, HasSubstr("nvme_mpath_options_init"));
  // No message buffer, or a tiny one: the result is the same, the message cut.
  nvme_mpath_options_init(&out);
  o.rr_min_io = 0;
  EXPECT_EQ(mpath_opts_build(&o, "f", "j", 0, &buf, &out, nullptr, 0), -EINVAL);
  EXPECT_EQ(mpath_opts_build(&o, "f", "j", 0, &buf, &out, err, 0), -EINVAL);
  EXPECT_EQ(mpath_opts_build(&o, "f", "j", 0, &buf, &out, err, 5), -EINVAL);
  EXPECT_STREQ(err, "rr_m");
  o.rr_min_io = 1;
  std::strcpy(err, "stale");
  EXPECT_EQ(mpath_opts_build(&o, "f", "j", 0, &buf, &out, err, sizeof(err)), 0);
  EXPECT_STREQ(err, "");  // cleared on success
}

// ---- io_uring_cmd's options (mpath_opts_check_init) ----------------------------------------

// What mpath_opts_check_init says: "" when it accepts.
std::string InitErr(const mpath_options& o, int ncpu = 4) {
  char err[512];
  std::memset(err, 'x', sizeof(err));
  const int rc = mpath_opts_check_init(&o, ncpu, err, sizeof(err));
  if (rc == 0) {
    EXPECT_STREQ(err, "");
    return "";
  }
  EXPECT_EQ(rc, -EINVAL);
  EXPECT_NE(std::string(err), "");
  EXPECT_EQ(std::string(err).find('\n'), std::string::npos) << err;
  return err;
}

TEST(FioOptionsTest, IoUringCmdDefaultsAndAlwaysOnOptionsAreAccepted) {
  mpath_options o = Defaults();
  EXPECT_EQ(InitErr(o), "");
  o = mpath_options{};  // not from fio's table: cmd_type 0 is "not set"
  EXPECT_EQ(InitErr(o), "");
  o = Defaults();
  o.registerfiles = 1;  // always on
  o.nonvectored = 0;    // always non-vectored, whatever the value
  o.readfua = 1;
  o.writefua = 1;
  EXPECT_EQ(InitErr(o), "");
  EXPECT_EQ(mpath_opts_sqpoll_cpu(&o), -1);
  // They change nothing mpath_opts_build() passes on.
  auto a = Build(Defaults()), b = Build(o);
  ASSERT_EQ(a->rc, 0);
  ASSERT_EQ(b->rc, 0);
  EXPECT_EQ(a->out.npaths, b->out.npaths);
  EXPECT_EQ(a->out.policy, b->out.policy);
  EXPECT_EQ(a->out.explicit_paths_only, b->out.explicit_paths_only);
  EXPECT_EQ(a->out.io_timeout_ms, b->out.io_timeout_ms);
  EXPECT_EQ(a->out.publish_stats, b->out.publish_stats);
}

TEST(FioOptionsTest, CmdTypeIsNvmeOnly) {
  mpath_options o = Defaults();
  o.cmd_type = 2;  // fio's posval stops it first
  EXPECT_EQ(InitErr(o), "cmd_type=2: only nvme (NVMe passthrough) exists");
}

TEST(FioOptionsTest, SqthreadPollCpu) {
  mpath_options o = Defaults();
  o.sqpoll = 1;
  o.sqpoll_cpu_set = 1;
  o.sqpoll_cpu = 3;
  EXPECT_EQ(InitErr(o, 4), "");
  EXPECT_EQ(mpath_opts_sqpoll_cpu(&o), 3);
  o.sqpoll_cpu = 0;
  EXPECT_EQ(InitErr(o, 1), "");
  EXPECT_EQ(mpath_opts_sqpoll_cpu(&o), 0);
  o.sqpoll_cpu = 4;
  EXPECT_EQ(InitErr(o, 4), "sqthread_poll_cpu=4: not a CPU of this machine (0..3)");
  o.sqpoll_cpu = -1;  // what the callback keeps of "-1" (fio splits it at '-')
  EXPECT_EQ(InitErr(o, 4), "sqthread_poll_cpu=-1: not a CPU of this machine (0..3)");
  o.sqpoll_cpu = LLONG_MAX;
  EXPECT_THAT(InitErr(o, 4), HasSubstr("not a CPU"));
  EXPECT_EQ(mpath_opts_sqpoll_cpu(&o), -1);
  // io_uring_cmd ignores it without sqthread_poll; here the job is told.
  o.sqpoll = 0;
  o.sqpoll_cpu = 1;
  EXPECT_EQ(InitErr(o, 4), "sqthread_poll_cpu=1 without sqthread_poll (sqpoll): there is no SQ thread to pin");
  // Given or not is what counts, not the value: 0 is CPU 0.
  o.sqpoll_cpu = 0;
  EXPECT_THAT(InitErr(o, 4), HasSubstr("without sqthread_poll"));
  o.sqpoll_cpu_set = 0;
  EXPECT_EQ(InitErr(o, 4), "");
  EXPECT_EQ(mpath_opts_sqpoll_cpu(&o), -1);
}

// A job that sets one of these needs it: refused at init with one line naming the option.
TEST(FioOptionsTest, IoUringCmdFeaturesNotHereAreRefusedUnlessDefault) {
  struct Case {
    void (*set)(mpath_options*);
    const char* err;
  } cases[] = {
      {[](mpath_options* o) { o->cmdprio_percentage[0] = o->cmdprio_percentage[1] = 10; },
       "cmdprio_percentage=10: not supported yet by mpath_nvme (per-I/O priorities)"},
      {[](mpath_options* o) { o->cmdprio_percentage[1] = 20; },
       "cmdprio_percentage=0,20: not supported yet by mpath_nvme (per-I/O priorities)"},
      {[](mpath_options* o) { o->cmdprio_class[0] = o->cmdprio_class[1] = 1; },
       "cmdprio_class=1: not supported yet by mpath_nvme (per-I/O priorities)"},
      {[](mpath_options* o) { o->cmdprio[0] = 7; },
       "cmdprio=7,0: not supported yet by mpath_nvme (per-I/O priorities)"},
      {[](mpath_options* o) { o->cmdprio_bssplit = const_cast<char*>("4k/10:64k/50"); },
       "cmdprio_bssplit=4k/10:64k/50: not supported yet by mpath_nvme (per-I/O priorities)"},
      {[](mpath_options* o) { o->force_async = 4; },
       "force_async=4: not supported yet by mpath_nvme (IOSQE_ASYNC every N commands)"},
      {[](mpath_options* o) { o->uncached = 1; },
       "uncached=1: not supported by mpath_nvme: RWF_UNCACHED is for buffered file I/O, NVMe passthrough has no page cache"},
      {[](mpath_options* o) { o->nowait = 1; },
       "nowait=1: not supported by mpath_nvme: RWF_NOWAIT is for file reads and writes, not NVMe passthrough commands"},
  };
  for (const Case& c : cases) {
    mpath_options o = Defaults();
    c.set(&o);
    EXPECT_EQ(InitErr(o), c.err);
  }
  // The string is shown escaped, one line.
  mpath_options o = Defaults();
  o.cmdprio_bssplit = const_cast<char*>("4k\n/10");
  EXPECT_EQ(InitErr(o), "cmdprio_bssplit=4k\\x0a/10: not supported yet by mpath_nvme (per-I/O priorities)");
  o.cmdprio_bssplit = const_cast<char*>("");  // as not given
  EXPECT_EQ(InitErr(o), "");
  char err[8];
  EXPECT_EQ(mpath_opts_check_init(nullptr, 4, err, sizeof(err)), -EINVAL);
}

// ---- block sizes against the LBA size (mpath_opts_check_bs) ---------------------------------

struct Bs {
  mpath_bs_dir d[3];
  std::vector<unsigned long long> split[3];
  int unaligned = 0;

  // bs=N for every direction, blockalign = N (fio's default).
  explicit Bs(unsigned long long bs) {
    for (auto& x : d) x = mpath_bs_dir{bs, bs, bs, nullptr, 0};
  }
  Bs& Dir(int i, unsigned long long min, unsigned long long max, unsigned long long ba = 0) {
    d[i].min_bs = min;
    d[i].max_bs = max;
    d[i].ba = ba ? ba : min;
    return *this;
  }
  Bs& Split(int i, std::vector<unsigned long long> s) {
    split[i] = std::move(s);
    d[i].split = split[i].data();
    d[i].nsplit = unsigned(split[i].size());
    return *this;
  }
  std::string Err(unsigned int lba = 512) const {
    char err[512];
    std::memset(err, 'x', sizeof(err));
    const int rc = mpath_opts_check_bs(d, unaligned, lba, "/dev/ng0n1", err, sizeof(err));
    if (rc == 0) {
      EXPECT_STREQ(err, "");
      return "";
    }
    EXPECT_EQ(rc, -EINVAL);
    return err;
  }
};

TEST(FioOptionsTest, BlockSizesThatAreWholeLbasAreAccepted) {
  EXPECT_EQ(Bs(4096).Err(512), "");
  EXPECT_EQ(Bs(4096).Err(4096), "");
  EXPECT_EQ(Bs(512).Dir(1, 512, 1 << 20).Err(512), "");   // bsrange
  EXPECT_EQ(Bs(1536).Dir(0, 1536, 6144).Err(512), "");    // not a power of two: multiples of 1536
  EXPECT_EQ(Bs(4096).Dir(0, 4096, 65536).Split(0, {4096, 8192, 65536}).Err(4096), "");
  Bs b(4096);
  b.Dir(0, 4096, 65536).Split(0, {4096, 65536});
  b.unaligned = 1;  // bssplit sizes are used as given: all whole LBAs here
  EXPECT_EQ(b.Err(4096), "");
  EXPECT_EQ(Bs(0).Err(512), "");  // a direction fio does not use
}

TEST(FioOptionsTest, BlockSizesThatAreNotWholeLbasAreRefused) {
  const std::string head = "/dev/ng0n1: block size must be a multiple of the LBA data size (512 bytes): ";
  EXPECT_EQ(Bs(1000).Err(), head + "bs=1000 for reads");
  EXPECT_EQ(Bs(4096).Err(4096), "");
  EXPECT_EQ(Bs(512).Err(4096),
            "/dev/ng0n1: block size must be a multiple of the LBA data size (4096 bytes): bs=512 for reads");
  EXPECT_EQ(Bs(4096).Dir(1, 1000, 1000).Err(), head + "bs=1000 for writes");
  EXPECT_EQ(Bs(4096).Dir(2, 4095, 4095).Err(), head + "bs=4095 for trims");
  EXPECT_EQ(Bs(4096).Dir(0, 1000, 8192).Err(), head + "smallest block size 1000 (bsrange=/bssplit=) for reads");
  EXPECT_EQ(Bs(4096).Dir(1, 4096, 10000).Err(), head + "largest block size 10000 (bsrange=/bssplit=) for writes");
  EXPECT_EQ(Bs(4096).Dir(0, 4096, 4096, 1000).Err(), head + "blockalign=1000 for reads");
  Bs r(4096);
  r.Dir(0, 4096, 65536);
  r.unaligned = 1;  // any size in the range
  EXPECT_EQ(r.Err(), head + "bs_unaligned with bsrange=4096-65536 for reads (any size in between)");
  Bs s(4096);
  s.Dir(1, 4096, 65536).Split(1, {4096, 6000, 65536});
  EXPECT_EQ(s.Err(), "");  // without bs_unaligned fio rounds 6000 down to a multiple of 4096
  s.unaligned = 1;
  EXPECT_EQ(s.Err(), head + "bssplit size 6000 for writes (with bs_unaligned)");
  char err[8];
  EXPECT_EQ(mpath_opts_check_bs(Bs(4096).d, 0, 0, "f", err, sizeof(err)), -EINVAL);
  EXPECT_EQ(mpath_opts_check_bs(nullptr, 0, 512, "f", err, sizeof(err)), -EINVAL);
}

// fio's option table declares the library's limits: they must be the library's.
TEST(FioOptionsTest, TableRangesAreTheLibrarys) {
  nvme_mpath::EngineOptions e;
  e.paths = {"/dev/ng0n1"};
  e.io_timeout_ms = MPATH_OPTS_MAX_MS;
  e.max_retries = MPATH_OPTS_MAX_RETRIES;
  e.write_hold_ms = MPATH_OPTS_MAX_MS;
  EXPECT_TRUE(nvme_mpath::ValidateEngineOptions(e).ok());
  e.io_timeout_ms = MPATH_OPTS_MAX_MS + 1;
  EXPECT_FALSE(nvme_mpath::ValidateEngineOptions(e).ok());
  e.io_timeout_ms = 0;
  e.max_retries = MPATH_OPTS_MAX_RETRIES + 1;
  EXPECT_FALSE(nvme_mpath::ValidateEngineOptions(e).ok());
  nvme_mpath::QueueOptions q;
  q.sqpoll_idle_ms = MPATH_OPTS_MAX_MS;
  EXPECT_TRUE(nvme_mpath::ValidateQueueOptions(q).ok());
  q.sqpoll_idle_ms = MPATH_OPTS_MAX_MS + 1;
  EXPECT_FALSE(nvme_mpath::ValidateQueueOptions(q).ok());
}

// pi_chk=: io_uring_cmd's words, comma-separated, each once; anything else is named.
TEST(FioPiTest, PiChkTakesGuardReftagApptag) {
  unsigned int bits = 99;
  char err[256];
  EXPECT_EQ(mpath_opts_pi_chk(nullptr, &bits, err, sizeof(err)), 0);
  EXPECT_EQ(bits, 0u);
  EXPECT_EQ(mpath_opts_pi_chk("", &bits, err, sizeof(err)), 0);
  EXPECT_EQ(bits, 0u);
  EXPECT_EQ(mpath_opts_pi_chk("GUARD,REFTAG,APPTAG", &bits, err, sizeof(err)), 0);
  EXPECT_EQ(bits, MPATH_OPTS_PRCHK_GUARD | MPATH_OPTS_PRCHK_REFTAG | MPATH_OPTS_PRCHK_APPTAG);
  EXPECT_EQ(bits, 0x7u << 26);
  EXPECT_EQ(mpath_opts_pi_chk("APPTAG", &bits, err, sizeof(err)), 0);
  EXPECT_EQ(bits, 1u << 27);
  EXPECT_EQ(mpath_opts_pi_chk("guard", &bits, err, sizeof(err)), -EINVAL);
  EXPECT_STREQ(err, "pi_chk=guard: \"guard\" is not one of GUARD, REFTAG, APPTAG (comma-separated)");
  EXPECT_EQ(mpath_opts_pi_chk("GUARD,,APPTAG", &bits, err, sizeof(err)), -EINVAL);
  EXPECT_THAT(err, HasSubstr("\"\" is not one of"));
  EXPECT_EQ(mpath_opts_pi_chk("GUARD,", &bits, err, sizeof(err)), -EINVAL);
  EXPECT_EQ(mpath_opts_pi_chk("GUARD,REFTAG,GUARD", &bits, err, sizeof(err)), -EINVAL);
  EXPECT_STREQ(err, "pi_chk=GUARD,REFTAG,GUARD: GUARD given twice");
  EXPECT_EQ(mpath_opts_pi_chk("GUARD|REFTAG", &bits, err, sizeof(err)), -EINVAL);
}

TEST(FioPiTest, JobStartRefusesAMetadataBufferAndABadPiChk) {
  char err[256];
  mpath_options o = Defaults();
  EXPECT_EQ(mpath_opts_check_init(&o, 2, err, sizeof(err)), 0);
  o.md_per_io_size = 64;
  EXPECT_EQ(mpath_opts_check_init(&o, 2, err, sizeof(err)), -EINVAL);
  EXPECT_THAT(err, HasSubstr("md_per_io_size=64: not supported yet by mpath_nvme"));
  o = Defaults();
  o.pi_chk = const_cast<char*>("GUARD,CRC");
  EXPECT_EQ(mpath_opts_check_init(&o, 2, err, sizeof(err)), -EINVAL);
  EXPECT_THAT(err, HasSubstr("\"CRC\" is not one of"));
  o = Defaults();
  o.apptag = 0x10000;
  EXPECT_EQ(mpath_opts_check_init(&o, 2, err, sizeof(err)), -EINVAL);
  EXPECT_STREQ(err, "apptag=65536: at most 0xffff (16 bits)");
}

// The namespace's format against the job: only a format that needs no metadata from fio runs.
TEST(FioPiTest, FormatCheckRunsPlainAndPiOnlyNamespacesAndRefusesTheRest) {
  char err[512];
  mpath_pi pi;
  mpath_options o = Defaults();
  o.pi_chk = const_cast<char*>("GUARD,REFTAG,APPTAG");
  o.apptag = 0x5a5a;
  // No metadata: the PI options do nothing (as io_uring_cmd there).
  memset(&pi, 0x11, sizeof(pi));
  EXPECT_EQ(mpath_opts_check_format(&o, 0, 0, 0, "/dev/ng0n1", &pi, err, sizeof(err)), 0);
  EXPECT_EQ(pi.cdw12, 0u);
  EXPECT_EQ(pi.cdw15, 0u);
  EXPECT_EQ(pi.reftag_is_lba, 0);
  // PI type 1 in 8 bytes of separate metadata, pi_act=1: PRACT + PRCHK, the tags, CDW14 = SLBA.
  EXPECT_EQ(mpath_opts_check_format(&o, 8, 0, 1, "/dev/ng0n2", &pi, err, sizeof(err)), 0);
  EXPECT_EQ(pi.cdw12, MPATH_OPTS_PRACT | 0x7u << 26);
  EXPECT_EQ(pi.cdw15, 0xffff5a5au);
  EXPECT_EQ(pi.reftag_is_lba, 1);
  EXPECT_EQ(mpath_opts_check_format(&o, 8, 0, 2, "/dev/ng0n2", &pi, err, sizeof(err)), 0);
  EXPECT_EQ(pi.reftag_is_lba, 1);
  EXPECT_EQ(mpath_opts_check_format(&o, 8, 0, 3, "/dev/ng0n2", &pi, err, sizeof(err)), 0);
  EXPECT_EQ(pi.reftag_is_lba, 0);  // type 3: the reference tag is not the LBA
  o.pi_chk = nullptr;
  EXPECT_EQ(mpath_opts_check_format(&o, 8, 0, 1, "/dev/ng0n2", &pi, err, sizeof(err)), 0);
  EXPECT_EQ(pi.cdw12, MPATH_OPTS_PRACT);  // insert and strip, check nothing
  // Refused: every one would need a metadata buffer.
  EXPECT_EQ(mpath_opts_check_format(&o, 8, 1, 0, "/dev/ng0n3", &pi, err, sizeof(err)), -EINVAL);
  EXPECT_THAT(err, HasSubstr("/dev/ng0n3: formatted with 8 bytes of metadata per LBA interleaved with the data (extended LBAs)"));
  EXPECT_EQ(mpath_opts_check_format(&o, 8, 1, 1, "/dev/ng0n3", &pi, err, sizeof(err)), -EINVAL);
  EXPECT_EQ(mpath_opts_check_format(&o, 16, 0, 0, "/dev/ng0n4", &pi, err, sizeof(err)), -EINVAL);
  EXPECT_THAT(err, HasSubstr("16 bytes of separate metadata per LBA and no protection information"));
  EXPECT_EQ(mpath_opts_check_format(&o, 16, 0, 1, "/dev/ng0n4", &pi, err, sizeof(err)), -EINVAL);
  EXPECT_THAT(err, HasSubstr("protection information type 1 in 16 bytes of metadata per LBA"));
  o.pi_act = 0;
  EXPECT_EQ(mpath_opts_check_format(&o, 8, 0, 1, "/dev/ng0n2", &pi, err, sizeof(err)), -EINVAL);
  EXPECT_THAT(err, HasSubstr("/dev/ng0n2: pi_act=0 on a namespace with protection information (type 1)"));
  EXPECT_EQ(mpath_opts_check_format(&o, 0, 0, 0, "/dev/ng0n1", &pi, err, sizeof(err)), 0);
}

}  // namespace
