// nvme-mpath-ctl's --help, its man page (docs/nvme-mpath-ctl.1) and docs/nvme-mpath-ctl.md say
// the same: the same commands, every option of --help in both documents, per command the same
// options in the three synopses and exactly those the argument parser lets the command take,
// the same exit statuses. Then the binary itself: help goes to stdout with status 0, a usage
// error is one line plus "Try 'nvme-mpath-ctl --help'." with status 2, and the other statuses
// that need no device.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "args.h"
#include "help.h"
#include "stats_shm.h"

namespace nvme_mpath::ctl {
namespace {

using Options = std::set<std::string>;

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f) << path;
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The man page as text: font escapes dropped, "\-" as "-".
std::string Man() {
  std::string s = ReadFile(std::string(NVME_MPATH_DOCS) + "/nvme-mpath-ctl.1");
  s = std::regex_replace(s, std::regex(R"(\\f[BIRP])"), "");
  s = std::regex_replace(s, std::regex(R"(\\-)"), "-");
  return s;
}

std::string Md() { return ReadFile(std::string(NVME_MPATH_DOCS) + "/nvme-mpath-ctl.md"); }

// Every "-x" / "--long-name" in s that stands alone (not inside a word such as "non-optimized",
// "-ENODEV" or "nvme-mpath").
Options OptionsIn(const std::string& s) {
  Options out;
  static const std::regex re(R"((^|[^A-Za-z0-9_-])(--?[a-z][a-z0-9-]*))");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it)
    out.insert((*it)[2]);
  return out;
}

bool HasWord(const std::string& text, const std::string& w) {
  return std::regex_search(text, std::regex("(^|[^A-Za-z0-9_-])" + std::regex_replace(w, std::regex(R"([-.])"), R"(\$&)") +
                                            "($|[^A-Za-z0-9_-])"));
}

std::string AllHelp() {
  std::string s = HelpText("");
  for (const char* c : kCommands) s += HelpText(c);
  return s;
}

// Synopsis lines "nvme-mpath-ctl CMD ..." of s, options per command (help lines may give a
// command twice: probe DEV / probe NQN NSID).
std::map<std::string, Options> Synopses(const std::string& s) {
  std::map<std::string, Options> out;
  std::istringstream in(s);
  static const std::regex re(R"(^(?:Usage:)?\s*nvme-mpath-ctl ([a-z-]+)(.*)$)");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, re)) continue;
    Options& o = out[m[1]];
    for (const std::string& x : OptionsIn(m[2])) o.insert(x);
  }
  return out;
}

// The man page's SYNOPSIS as lines "nvme-mpath-ctl CMD options" (".B nvme-mpath-ctl CMD",
// then its arguments up to the next ".br").
std::string ManSynopsis() {
  const std::string man = Man();
  const size_t from = man.find(".SH SYNOPSIS"), to = man.find(".SH DESCRIPTION");
  EXPECT_NE(from, std::string::npos);
  std::string syn = man.substr(from, to - from), out;
  std::istringstream in(syn);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(".B nvme-mpath-ctl ", 0) == 0) out += "\n" + line.substr(3);
    else if (line == ".br") out += "\n";
    else if (!line.empty() && line[0] != '.') out += " " + line;
  }
  return out;
}

// The first ``` block of the .md.
std::string MdSynopsis() {
  const std::string md = Md();
  const size_t a = md.find("```\n"), b = md.find("```", a + 4);
  EXPECT_NE(a, std::string::npos);
  return md.substr(a + 4, b - a - 4);
}

// The options (as the synopses spell them) that the parser lets `cmd` take.
Options Accepted(const std::string& cmd) {
  static const std::vector<std::vector<std::string>> kAll = {
      {"-o", "json"}, {"-v"}, {"--gc"}, {"--pid", "1"}, {"--name", "x"}, {"--interval", "1"},
      {"--count", "1"}, {"--timeout-ms", "1"}};
  Options out;
  for (const auto& opt : kAll) {
    std::vector<const char*> argv = {"nvme-mpath-ctl", cmd.c_str()};
    for (const std::string& w : opt) argv.push_back(w.c_str());
    Args a;
    std::string err;
    EXPECT_TRUE(ParseArgs(int(argv.size()), argv.data(), &a, &err)) << err;
    if (CheckOptionsFor(a).empty()) out.insert(opt[0]);
  }
  return out;
}

TEST(CtlHelpTest, EveryOptionOfHelpIsInTheManPageAndTheMd) {
  const Options opts = OptionsIn(AllHelp());
  for (const char* must : {"-o", "--output-format", "-v", "--verbose", "-h", "--help", "--pid", "--name",
                           "--gc", "--interval", "--count", "--timeout-ms"})
    EXPECT_TRUE(opts.count(must)) << must << " missing from --help";
  const std::string man = Man(), md = Md();
  for (const std::string& o : opts) {
    EXPECT_TRUE(HasWord(man, o)) << o << " (in --help) is not in docs/nvme-mpath-ctl.1";
    EXPECT_TRUE(HasWord(md, o)) << o << " (in --help) is not in docs/nvme-mpath-ctl.md";
  }
  // And the man page mentions no option that --help does not know.
  for (const std::string& o : OptionsIn(man))
    EXPECT_TRUE(opts.count(o)) << o << " (in docs/nvme-mpath-ctl.1) is not in --help";
}

TEST(CtlHelpTest, EveryCommandIsInTheThreeSynopses) {
  const std::string main = HelpText("");
  const auto help = Synopses(AllHelp()), man = Synopses(ManSynopsis()), md = Synopses(MdSynopsis());
  for (const char* c : kCommands) {
    EXPECT_TRUE(std::regex_search(main, std::regex(std::string("\n  ") + c + " "))) << c << " not under Commands: in --help";
    if (std::string(c) != "help") {
      EXPECT_TRUE(help.count(c)) << c << " has no usage line in its --help";
    }
    EXPECT_TRUE(man.count(c)) << c << " not in the man page's SYNOPSIS";
    EXPECT_TRUE(md.count(c)) << c << " not in the .md's synopsis";
  }
  std::set<std::string> known(std::begin(kCommands), std::end(kCommands));
  for (const auto* syn : {&man, &md})
    for (const auto& [c, o] : *syn) EXPECT_TRUE(known.count(c)) << c << " is documented but not a command";
  // The list under "Commands:" names no command the tool does not dispatch.
  std::istringstream in(main.substr(main.find("Commands:")));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line) && !line.empty()) {
    const std::string c = line.substr(2, line.find(' ', 2) - 2);
    EXPECT_TRUE(known.count(c)) << c << " is under Commands: but not a command";
  }
}

TEST(CtlHelpTest, SynopsesListTheOptionsTheParserAccepts) {
  const auto help = Synopses(AllHelp()), man = Synopses(ManSynopsis()), md = Synopses(MdSynopsis());
  for (const char* c : kCommands) {
    if (std::string(c) == "help") continue;
    Options want = Accepted(c);
    EXPECT_EQ(help.at(c), want) << c << ": --help's usage line vs the parser";
    EXPECT_EQ(man.at(c), want) << c << ": the man page's SYNOPSIS vs the parser";
    EXPECT_EQ(md.at(c), want) << c << ": the .md's synopsis vs the parser";
  }
  EXPECT_TRUE(man.at("help").empty());
  EXPECT_TRUE(md.at("help").empty());
}

TEST(CtlHelpTest, ExitStatusesAgree) {
  struct Code {
    int code;
    const char* help;  // what follows the number in --help and the .md
    const char* man;   // the first line under it in the man page's EXIT STATUS
  };
  const Code kCodes[] = {
      {kOk, "ok", "success"},
      {kNoDevice, "no such device", "no such device"},
      {kUsage, "usage error", "usage error"},
      {kPermission, "permission denied", "permission denied"},
      {kNoNamespace, "no such namespace", "no such namespace"},
      {kNoEngine, "no engine running", "no engine running"},
      {kError, "I/O or other error", "I/O or other error"},
  };
  auto flat = [](std::string s) { return std::regex_replace(s, std::regex(R"(\s+)"), " "); };
  const std::string help = flat(HelpText("")), md = flat(Md()), man = Man();
  const std::string man_exit = man.substr(man.find(".SH EXIT STATUS"));
  for (const Code& c : kCodes) {
    const std::string h = std::to_string(c.code) + " " + c.help;
    EXPECT_NE(help.find(h), std::string::npos) << "--help lacks '" << h << "'";
    EXPECT_NE(md.find(h), std::string::npos) << "docs/nvme-mpath-ctl.md lacks '" << h << "'";
    const std::string m = ".TP\n" + std::to_string(c.code) + "\n" + c.man;
    EXPECT_NE(man_exit.find(m), std::string::npos) << "the man page's EXIT STATUS lacks " << c.code << " " << c.man;
  }
}

// ---- the binary ------------------------------------------------------------------------

struct Result {
  int rc = -1;
  std::string out, err;
};

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

Result Exec(const std::vector<std::string>& args, const std::string& shm_dir = "") {
  const std::string dir = ::testing::TempDir();
  const std::string out = dir + "ctl-help-out." + std::to_string(getpid());
  const std::string err = dir + "ctl-help-err." + std::to_string(getpid());
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, 1);
    dup2(e, 2);
    if (!shm_dir.empty()) setenv("NVME_MPATH_SHM_DIR", shm_dir.c_str(), 1);
    std::vector<char*> argv = {const_cast<char*>(NVME_MPATH_CTL_BIN)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(NVME_MPATH_CTL_BIN, argv.data());
    _exit(127);
  }
  Result r;
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = Slurp(out);
  r.err = Slurp(err);
  unlink(out.c_str());
  unlink(err.c_str());
  return r;
}

TEST(CtlBinaryTest, HelpGoesToStdout) {
  const std::map<std::vector<std::string>, std::string> cases = {
      {{"--help"}, ""}, {{"-h"}, ""}, {{"help"}, ""}, {{"help", "help"}, ""},
      {{"help", "list"}, "list"}, {{"list", "--help"}, "list"}, {{"list", "-h"}, "list"},
      {{"help", "ana-log"}, "ana-log"}, {{"probe", "--help"}, "probe"},
      {{"help", "watch"}, "watch"}, {{"stats", "-h"}, "stats"}, {{"path", "--help"}, "path"},
      {{"help", "path"}, "path"}};
  for (const auto& [args, cmd] : cases) {
    Result r = Exec(args);
    EXPECT_EQ(r.rc, kOk) << args[0];
    EXPECT_EQ(r.out, HelpText(cmd)) << args[0];
    EXPECT_EQ(r.err, "") << args[0];
  }
}

TEST(CtlBinaryTest, UsageErrorsAreOneLineThenTryAndExit2) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "no command given"},
      {{"bogus"}, "unknown command 'bogus'"},
      {{"help", "bogus"}, "unknown command 'bogus'"},
      {{"help", "list", "probe"}, "help takes at most one command"},
      {{"list", "--bogus"}, "unknown option '--bogus'"},
      {{"list", "--count", "3"}, "list does not take --count (see list --help)"},
      {{"list", "extra"}, "list takes no argument (see list --help)"},
      {{"watch", "extra"}, "watch takes no argument (see watch --help)"},
      {{"watch", "--interval", "nan", "--count", "1"}, "--interval must be a number of seconds in [0.1, 3600], not 'nan'"},
      {{"probe", "nqn.none", "0x0"}, "NSID must be a number in 1..4294967294 (decimal or 0x hex), not '0x0' (see probe --help)"},
      {{"ana-log"}, "ana-log takes one device (see ana-log --help)"},
      {{"stats", "--pid"}, "--pid needs a value"},
      {{"path"}, "path needs disable or enable, then a device (see path --help)"},
      {{"path", "off", "ng0n1"}, "path takes disable or enable, not 'off' (see path --help)"},
      {{"path", "disable"}, "path disable needs a device (/dev/ngXnY, ngXnY or nvmeX) (see path --help)"},
      {{"path", "enable", "ng0n1", "ng1n1"}, "path enable takes one device, not 'ng1n1' too (see path --help)"},
      {{"path", "disable", "ng0n1", "--gc"}, "path does not take --gc (see path --help)"},
      {{""}, "argument 1 is empty"},
  };
  for (const auto& [args, msg] : cases) {
    Result r = Exec(args);
    const std::string what = args.empty() ? "(no argument)" : args[0] + (args.size() > 1 ? " " + args[1] : "");
    EXPECT_EQ(r.rc, kUsage) << what;
    EXPECT_EQ(r.err, "nvme-mpath-ctl: " + msg + "\nTry 'nvme-mpath-ctl --help'.\n") << what;
    EXPECT_EQ(r.err, UsageError(msg)) << what;
    EXPECT_EQ(r.out, "") << what;
  }
}

TEST(CtlBinaryTest, OtherStatusesThatNeedNoDevice) {
  Result r = Exec({"ana-log", "/dev/null"});
  EXPECT_EQ(r.rc, kNoDevice) << r.err;
  EXPECT_NE(r.err.find("is not an NVMe generic char device"), std::string::npos) << r.err;
  EXPECT_EQ(Exec({"ana-log", "/nonexistent/ng0n1"}).rc, kNoDevice);
  const std::string shm = ::testing::TempDir() + "ctl-help-shm." + std::to_string(getpid());
  std::filesystem::create_directories(shm);
  r = Exec({"stats"}, shm);
  EXPECT_EQ(r.rc, kNoEngine) << r.err;
  EXPECT_EQ(r.err, "nvme-mpath-ctl: no nvme-mpath engine running\n");
  EXPECT_EQ(Exec({"watch", "--name", "nobody", "--count", "1"}, shm).rc, kNoEngine);
  r = Exec({"path", "disable", "ng0n1"}, shm);
  EXPECT_EQ(r.rc, kNoEngine) << r.err;
  EXPECT_EQ(r.err, "nvme-mpath-ctl: no nvme-mpath engine running\n");
  std::filesystem::remove_all(shm);
}

// A segment as an engine of `version` (2 or 3) in `mode` lays it out, with paths /dev/ng0n1
// (nvme0) and /dev/ng1n1 (nvme1), under `dir` as this process's (so that it counts as running).
void WriteSegment(const std::string& dir, uint32_t version, const char* mode) {
  using internal::ShmHeader;
  const uint32_t header_size = version == 2 ? internal::kShmHeaderSizeV2 : uint32_t(sizeof(ShmHeader));
  std::vector<char> seg(internal::ShmSize(1, header_size), 0);
  auto* h = reinterpret_cast<ShmHeader*>(seg.data());
  memcpy(h->magic, internal::kShmMagic, sizeof(h->magic));
  h->version = version;
  h->header_size = header_size;
  h->max_queues = 1;
  h->max_paths = internal::kMaxPaths;
  h->npaths = 2;
  h->pid = getpid();
  strcpy(h->name, "engine");
  strcpy(h->mode, mode);
  for (int i = 0; i < 2; ++i) {
    snprintf(h->paths[i].ng_path, sizeof(h->paths[i].ng_path), "/dev/ng%dn1", i);
    snprintf(h->paths[i].ctrl, sizeof(h->paths[i].ctrl), "nvme%d", i);
    h->paths[i].usable = 1;
  }
  std::ofstream(dir + "/nvme-mpath." + std::to_string(getpid()) + ".0", std::ios::binary)
      .write(seg.data(), std::streamsize(seg.size()));
}

// `path` against segments with no engine behind them: every refusal that needs no engine to
// answer (an engine that answers: ctl_path_test.cc).
TEST(CtlBinaryTest, PathRefusalsThatNeedNoRunningEngine) {
  const std::string shm = ::testing::TempDir() + "ctl-path-shm." + std::to_string(getpid());
  std::filesystem::remove_all(shm);
  std::filesystem::create_directories(shm);
  WriteSegment(shm, 3, "per-path");
  Result r = Exec({"path", "disable", "ng5n1"}, shm);
  EXPECT_EQ(r.rc, kNoEngine) << r.err;
  EXPECT_EQ(r.err, "nvme-mpath-ctl: no running nvme-mpath engine has ng5n1 as a path (stats shows each engine's paths)\n");
  r = Exec({"path", "disable", "nvme1", "--name", "other"}, shm);
  EXPECT_EQ(r.rc, kNoEngine) << r.err;
  EXPECT_EQ(r.out, "");

  WriteSegment(shm, 3, "head");
  r = Exec({"path", "disable", "ng1n1"}, shm);
  EXPECT_EQ(r.rc, kError) << r.err;
  EXPECT_NE(r.err.find("/dev/ng1n1 (nvme1) on engine engine["), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("head mode"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");

  WriteSegment(shm, 2, "per-path");  // an engine of release 0.2
  r = Exec({"path", "enable", "/dev/ng0n1", "-o", "json"}, shm);
  EXPECT_EQ(r.rc, kError) << r.err;
  EXPECT_NE(r.err.find("the engine is too old to take path requests (its stats segment is version 2"),
            std::string::npos) << r.err;
  EXPECT_NE(r.out.find("\"ok\":false"), std::string::npos) << r.out;
  r = Exec({"stats"}, shm);  // but its stats are still shown
  EXPECT_EQ(r.rc, kOk) << r.err;
  EXPECT_NE(r.out.find("/dev/ng1n1"), std::string::npos) << r.out;
  std::filesystem::remove_all(shm);
}

}  // namespace
}  // namespace nvme_mpath::ctl
