// File: main.cc — nvme-mpath-ctl: topology, ANA, probe, live per-path stats and path
// maintenance (path disable|enable) of nvme-mpath.
//
// Exit statuses: help.h (0 ok, 1 no such device / not an NVMe generic char device, 2 usage,
// 3 permission denied, 4 no such namespace, 5 no engine running, 6 I/O or other error).
#include <fcntl.h>
#include <linux/nvme_ioctl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include <nvme_mpath/status.h>

#include "absl/strings/escaping.h"

#include "ana.h"
#include "args.h"
#include "command_builder.h"
#include "help.h"
#include "identify.h"
#include "list.h"
#include "log.h"
#include "model.h"
#include "path_admin.h"
#include "stats_shm.h"
#include "topology.h"

namespace nvme_mpath::ctl {
namespace {

int Fail(int code, const std::string& msg) {
  if (code == kUsage) {
    fputs(UsageError(msg).c_str(), stderr);
    return code;
  }
  fprintf(stderr, "nvme-mpath-ctl: %s\n", msg.c_str());
  return code;
}

int ExitFor(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kNotFound: return kNoDevice;
    case absl::StatusCode::kInvalidArgument: return kNoDevice;
    case absl::StatusCode::kPermissionDenied: return kPermission;
    default: return kError;
  }
}

int Help(std::string_view cmd) {
  fputs(HelpText(cmd), stdout);
  return kOk;
}

// ---- list -------------------------------------------------------------------------------

// The real ANA reader: the log of the controller behind d's ng device.
absl::StatusOr<internal::AnaLog> ReadPathAnaLog(const internal::PathDesc& d) {
  int fd = open(d.ng_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    return absl::ErrnoToStatus(e, fmt::format("open {}", d.ng_path));
  }
  auto log = internal::ReadAnaLog(fd, d.ctrl.max_transfer_bytes, d.ctrl.anagrpmax, d.ctrl.nanagrpid);
  close(fd);
  if (!log.ok()) return absl::Status(log.status().code(), fmt::format("ANA log: {}", log.status().message()));
  return log;
}

std::string ShmDir() {
  const char* dir_env = getenv("NVME_MPATH_SHM_DIR");  // tests
  return dir_env ? dir_env : "/dev/shm";
}

// The paths each running engine this user can read has disabled (for list; engines it cannot
// read are left out silently: list shows what it can see).
std::vector<EngineDisabledPaths> DisabledPaths() {
  const std::string dir = ShmDir();
  std::vector<EngineDisabledPaths> out;
  for (const internal::ShmSegmentInfo& s : internal::ListStatsSegments(dir)) {
    if (!s.alive) continue;
    auto r = internal::StatsReader::Open(dir + "/" + s.name);
    if (!r.ok()) continue;
    const internal::ShmHeader& h = (*r)->header();
    EngineDisabledPaths e{{h.pid, std::string(h.name, strnlen(h.name, sizeof(h.name)))}, {}};
    for (const internal::ShmPath& p : (*r)->Paths())
      if (p.disabled) e.ng_paths.emplace_back(p.ng_path);
    if (!e.ng_paths.empty()) out.push_back(std::move(e));
  }
  return out;
}

int CmdList(const Args& a) {
  if (!a.pos.empty()) return Fail(kUsage, "list takes no argument (see list --help)");
  auto all = internal::DiscoverAll();
  if (!all.ok()) return Fail(ExitFor(all.status()), std::string(all.status().message()));
  std::vector<SubsystemRow> subs = BuildList(ReadSysfsSubsystems("/sys"), *all, ReadPathAnaLog);
  MarkDisabledPaths(&subs, DisabledPaths());
  fputs((a.json ? ListJson(subs, a.verbose) : ListText(subs, a.verbose)).c_str(), stdout);
  return kOk;
}

// ---- ana-log ----------------------------------------------------------------------------

int CmdAnaLog(const Args& a) {
  if (a.pos.size() != 1) return Fail(kUsage, "ana-log takes one device (see ana-log --help)");
  const std::string& dev = a.pos[0];
  if (absl::Status st = internal::CheckGenericCharDevice(dev); !st.ok())
    return Fail(ExitFor(st), std::string(st.message()));
  int fd = open(dev.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return Fail(e == EACCES || e == EPERM ? kPermission : kNoDevice,
                fmt::format("open {}: {}", dev, strerror(e)));
  }
  auto ctrl = internal::IdentifyController(fd);
  if (!ctrl.ok()) {
    close(fd);
    return Fail(ctrl.status().code() == absl::StatusCode::kPermissionDenied ? kPermission : kError,
                fmt::format("{}: {}", dev, ctrl.status().message()));
  }
  if (!ctrl->ana_supported()) {
    close(fd);
    return Fail(kError, fmt::format("{}: the controller does not report ANA (CMIC bit 3 clear)", dev));
  }
  auto log = internal::ReadAnaLog(fd, ctrl->max_transfer_bytes, ctrl->anagrpmax, ctrl->nanagrpid);
  close(fd);
  if (!log.ok()) return Fail(kError, fmt::format("{}: {}", dev, log.status().message()));
  fputs((a.json ? AnaLogJson(dev, *log) : AnaLogText(dev, *log)).c_str(), stdout);
  return kOk;
}

// ---- probe ------------------------------------------------------------------------------

ProbeRow Probe(const internal::PathDesc& d, int timeout_ms) {
  ProbeRow r;
  r.ng = d.ng_path;
  r.ctrl = d.ctrl_name;
  int fd = open(d.ng_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.res = -errno;
    return r;
  }
  // The engine's probe read (an extended LBA carries its metadata in the data buffer).
  const uint32_t lba_bytes =
      d.ns.lba_size == 0 ? 4096 : d.ns.lba_size + (d.ns.extended_lba ? d.ns.metadata_size : 0);
  internal::ProbeRead probe(d.nsid, lba_bytes, uint32_t(timeout_ms));
  timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int ret = ioctl(fd, NVME_IOCTL_IO64_CMD, probe.cmd());
  clock_gettime(CLOCK_MONOTONIC, &t1);
  r.res = ret < 0 ? -errno : ret;
  r.latency_us = double(t1.tv_sec - t0.tv_sec) * 1e6 + double(t1.tv_nsec - t0.tv_nsec) / 1e3;
  close(fd);
  return r;
}

int CmdProbe(const Args& a) {
  absl::StatusOr<internal::NamespaceTopology> topo = absl::UnknownError("");
  std::string target;
  if (a.pos.size() == 1) {
    target = a.pos[0];
    topo = internal::DiscoverFromDevice(target);
  } else if (a.pos.size() == 2) {
    target = a.pos[0] + " nsid " + a.pos[1];
    std::optional<uint32_t> nsid = ParseNsid(a.pos[1]);
    if (!nsid)
      return Fail(kUsage, fmt::format("NSID must be a number in 1..4294967294 (decimal or 0x hex), not '{}' "
                                      "(see probe --help)", absl::CHexEscape(a.pos[1])));
    topo = internal::DiscoverByNqn(a.pos[0], *nsid);
    if (!topo.ok() && absl::IsNotFound(topo.status()))
      return Fail(kNoNamespace, std::string(topo.status().message()));
  } else {
    return Fail(kUsage, "probe takes DEV or NQN NSID (see probe --help)");
  }
  if (!topo.ok()) return Fail(ExitFor(topo.status()), std::string(topo.status().message()));
  std::vector<ProbeRow> rows;
  for (const internal::PathDesc& d : topo->paths) rows.push_back(Probe(d, a.timeout_ms));
  fputs((a.json ? ProbeJson(target, rows) : ProbeText(target, rows)).c_str(), stdout);
  for (const ProbeRow& r : rows)
    if (r.res != 0) return kError;
  return kOk;
}

// ---- stats / watch ----------------------------------------------------------------------

struct Engine {
  internal::ShmSegmentInfo seg;
  std::unique_ptr<internal::StatsReader> reader;
};

StatsView ViewOf(const Engine& e) {
  const internal::ShmHeader& h = e.reader->header();
  StatsView v;
  v.pid = h.pid;
  v.segment = e.seg.name;
  v.name = std::string(h.name, strnlen(h.name, sizeof(h.name)));
  v.subsysnqn = std::string(h.subsysnqn, strnlen(h.subsysnqn, sizeof(h.subsysnqn)));
  v.policy = std::string(h.policy, strnlen(h.policy, sizeof(h.policy)));
  v.mode = std::string(h.mode, strnlen(h.mode, sizeof(h.mode)));
  v.nsid = h.nsid;
  auto paths = e.reader->Paths();
  auto sums = e.reader->Sum();
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  v.sampled_at_ms = int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1'000'000;
  for (size_t i = 0; i < paths.size(); ++i) {
    StatsPath p;
    p.ng = paths[i].ng_path;
    p.ctrl = paths[i].ctrl;
    p.address = paths[i].address;
    p.ana_state = AnaStateName(static_cast<AnaState>(paths[i].ana));
    p.health = PathHealthName(static_cast<PathHealth>(paths[i].health));
    p.usable = paths[i].usable;
    p.marginal = paths[i].marginal;
    p.disabled = paths[i].disabled;
    if (i < sums.size()) p.counters = sums[i];
    v.paths.push_back(std::move(p));
  }
  return v;
}

// Opens the segments of the running engines --pid/--name select (read-write for `path`).
// Returns kOk with at least one engine, or fails saying why there is none; *denied (when not
// null) gets how many this user could not open.
int OpenEngines(const Args& a, const std::string& dir, std::vector<Engine>* out,
                internal::StatsReader::Access access = internal::StatsReader::Access::kReadOnly,
                int* denied_out = nullptr) {
  const bool rw = access == internal::StatsReader::Access::kReadWrite;
  auto segs = internal::ListStatsSegments(dir);
  int stale = 0, denied = 0;
  for (const auto& s : segs) {
    if (!s.alive) {
      ++stale;
      if (a.gc) {
        if (unlink((dir + "/" + s.name).c_str()) == 0)
          fprintf(stderr, "nvme-mpath-ctl: removed stale segment %s (pid %d is gone)\n", s.name.c_str(), s.pid);
      }
      continue;
    }
    if (a.pid != 0 && s.pid != a.pid) continue;
    auto r = internal::StatsReader::Open(dir + "/" + s.name, access);
    if (!r.ok()) {
      if (absl::IsPermissionDenied(r.status())) ++denied;
      else fprintf(stderr, "nvme-mpath-ctl: %s\n", std::string(r.status().message()).c_str());
      continue;
    }
    Engine e{s, std::move(*r)};
    if (!a.name.empty()) {
      const auto& h = e.reader->header();
      if (std::string(h.name, strnlen(h.name, sizeof(h.name))) != a.name) continue;
    }
    out->push_back(std::move(e));
  }
  if (denied_out != nullptr) *denied_out = denied;
  if (!out->empty()) return kOk;
  if (denied && rw)
    return Fail(kPermission, fmt::format("{} running engine(s) not writable by this user: path asks an engine through its stats segment, which it must open read-write (segments are mode 0600: run as the engine's user or root)", denied));
  if (denied) return Fail(kPermission, fmt::format("{} running engine(s) not readable by this user (segments are mode 0600: run as their user or root)", denied));
  std::string which = a.pid ? fmt::format(" with pid {}", a.pid) : !a.name.empty() ? " named " + a.name : "";
  return Fail(kNoEngine, fmt::format("no nvme-mpath engine{} running{}", which,
                                     stale && !a.gc ? fmt::format(" ({} stale segment(s): --gc removes them)", stale) : ""));
}

volatile sig_atomic_t g_stop = 0;

int CmdStats(const Args& a, bool watch) {
  if (!a.pos.empty()) return Fail(kUsage, fmt::format("{} takes no argument (see {} --help)", a.cmd, a.cmd));
  const std::string dir = ShmDir();
  std::vector<Engine> engines;
  if (int rc = OpenEngines(a, dir, &engines); rc != kOk) return rc;
  if (!watch) {
    std::vector<StatsView> views;
    for (const Engine& e : engines) views.push_back(ViewOf(e));
    if (a.json) {
      fputs(StatsJson(views).c_str(), stdout);
    } else if (a.prometheus) {
      fputs(StatsPrometheus(views).c_str(), stdout);
    } else {
      for (const StatsView& v : views) fputs(StatsText(v).c_str(), stdout);
    }
    return kOk;
  }
  signal(SIGINT, [](int) { g_stop = 1; });
  const bool tty = isatty(1);
  std::vector<std::vector<uint64_t>> prev(engines.size());
  for (int n = 0; !g_stop && (a.count == 0 || n < a.count); ++n) {
    if (n > 0) usleep(useconds_t(a.interval * 1e6));
    std::string screen;
    std::vector<StatsView> views;
    for (size_t i = 0; i < engines.size(); ++i) {
      StatsView v = ViewOf(engines[i]);
      if (n > 0) {
        v.interval_s = a.interval;
        v.prev_ios = prev[i];
      }
      prev[i].clear();
      for (const auto& p : v.paths) prev[i].push_back(p.counters.ios);
      if (kill(v.pid, 0) != 0 && errno == ESRCH) screen += fmt::format("engine pid {} has exited\n", v.pid);
      screen += StatsText(v);
      views.push_back(std::move(v));
    }
    if (a.json) {
      fputs(StatsJson(views).c_str(), stdout);
    } else {
      if (tty) fputs("\033[H\033[2J", stdout);
      time_t now = time(nullptr);
      char ts[32];
      strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&now));
      fprintf(stdout, "nvme-mpath-ctl watch  %s  every %.1fs\n%s", ts, a.interval, screen.c_str());
    }
    fflush(stdout);
  }
  return kOk;
}

// ---- path ------------------------------------------------------------------------------

int64_t MonotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

int CmdPath(const Args& a) {
  PathCommand pc;
  if (std::string e = ParsePathCommand(a, &pc); !e.empty()) return Fail(kUsage, e);
  std::vector<Engine> engines;
  int denied = 0;
  if (int rc = OpenEngines(a, ShmDir(), &engines, internal::StatsReader::Access::kReadWrite, &denied);
      rc != kOk)
    return rc;
  std::vector<PathTarget> targets;
  for (const Engine& e : engines) {
    const int p = FindPath(e.reader->Paths(), pc.dev);
    if (p < 0) continue;
    const internal::ShmHeader& h = e.reader->header();
    targets.push_back(PathTarget{{h.pid, std::string(h.name, strnlen(h.name, sizeof(h.name)))},
                                 e.seg.name, e.reader.get(), p});
  }
  const std::string dev = absl::CHexEscape(pc.dev);
  if (targets.empty()) {
    if (denied != 0)
      return Fail(kPermission, fmt::format("no engine this user can open has {} as a path, and {} "
                                           "running engine(s) are not writable by this user "
                                           "(segments are mode 0600: run as the engine's user or root)",
                                           dev, denied));
    return Fail(kNoEngine, fmt::format("no running nvme-mpath engine{} has {} as a path "
                                       "(stats shows each engine's paths)",
                                       a.pid ? fmt::format(" with pid {}", a.pid)
                                             : !a.name.empty() ? " named " + a.name : "", dev));
  }
  if (denied != 0)
    fprintf(stderr, "nvme-mpath-ctl: warning: %d running engine(s) not writable by this user left "
            "out (segments are mode 0600: run as the engine's user or root)\n", denied);
  PathWaitHooks hooks;
  hooks.now_ms = MonotonicMs;
  hooks.sleep_ms = [](int ms) { usleep(useconds_t(ms) * 1000); };
  hooks.alive = [](int pid) { return kill(pid, 0) == 0 || errno == EPERM; };
  const std::vector<PathAdminResult> results = RunPathRequests(targets, pc.disable, a.timeout_ms, hooks);
  int rc = kOk;
  std::string text;
  for (const PathAdminResult& r : results) {
    if (!r.ok) {
      fprintf(stderr, "nvme-mpath-ctl: %s\n", PathAdminLine(r).c_str());
      rc = kError;
      continue;
    }
    if (r.last_resort)
      fprintf(stderr, "nvme-mpath-ctl: warning: %s is the only usable path of engine %s[%d]: it "
              "stays in use as the last resort until another path is usable\n", r.ng.c_str(),
              r.engine.name.c_str(), r.engine.pid);
    text += PathAdminLine(r) + "\n";
  }
  fputs((a.json ? PathAdminJson(results) : text).c_str(), stdout);
  return rc;
}

}  // namespace

int Main(int argc, char** argv) {
  Args a;
  std::string err;
  if (!ParseArgs(argc, argv, &a, &err)) return Fail(kUsage, err);
  if (a.cmd.empty()) {
    if (a.help) return Help("");
    return Fail(kUsage, "no command given");
  }
  const bool known = std::find(std::begin(kCommands), std::end(kCommands), a.cmd) != std::end(kCommands);
  if (!known) return Fail(kUsage, fmt::format("unknown command '{}'", absl::CHexEscape(a.cmd)));
  if (a.cmd == "help") {
    if (a.pos.size() > 1) return Fail(kUsage, "help takes at most one command");
    if (a.pos.empty() || a.pos[0] == "help") return Help("");
    if (std::find(std::begin(kCommands), std::end(kCommands), a.pos[0]) == std::end(kCommands))
      return Fail(kUsage, fmt::format("unknown command '{}'", absl::CHexEscape(a.pos[0])));
    return Help(a.pos[0]);
  }
  if (a.help) return Help(a.cmd);
  // The library logs path decisions at "warn"; a listing tool only wants real errors.
  if (getenv("NVME_MPATH_LOG") == nullptr) internal::SetLogLevel(internal::LogLevel::kError);
  if (std::string e = CheckOptionsFor(a); !e.empty()) return Fail(kUsage, e);
  if (a.cmd == "list") return CmdList(a);
  if (a.cmd == "ana-log") return CmdAnaLog(a);
  if (a.cmd == "probe") return CmdProbe(a);
  if (a.cmd == "stats") return CmdStats(a, false);
  if (a.cmd == "path") return CmdPath(a);
  return CmdStats(a, true);  // watch
}

}  // namespace nvme_mpath::ctl

int main(int argc, char** argv) { return nvme_mpath::ctl::Main(argc, argv); }
