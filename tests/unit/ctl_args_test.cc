// nvme-mpath-ctl's argument parser (tools/nvme-mpath-ctl/args.cc): every accepted form, and every
// rejection with its message. Crashes found by tests/fuzz/ctl_args_fuzz.cc become cases here.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "args.h"

namespace nvme_mpath::ctl {
namespace {

struct Parsed {
  bool ok;
  Args a;
  std::string err;
};

Parsed Parse(std::vector<std::string> args) {
  std::vector<const char*> argv{"nvme-mpath-ctl"};
  for (const std::string& s : args) argv.push_back(s.c_str());
  argv.push_back(nullptr);
  Parsed p;
  p.a.cmd = "stale";  // ParseArgs must start from the defaults, whatever *a held
  p.err = "stale";
  p.ok = ParseArgs(int(argv.size()) - 1, argv.data(), &p.a, &p.err);
  return p;
}

// The message of a rejected command line (and that it was rejected).
std::string Err(std::vector<std::string> args) {
  Parsed p = Parse(std::move(args));
  EXPECT_FALSE(p.ok);
  EXPECT_FALSE(p.err.empty());
  return p.err;
}

TEST(CtlArgs, Defaults) {
  Parsed p = Parse({});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.err, "");
  EXPECT_EQ(p.a.cmd, "");
  EXPECT_TRUE(p.a.pos.empty());
  EXPECT_FALSE(p.a.json || p.a.verbose || p.a.gc || p.a.help);
  EXPECT_EQ(p.a.pid, 0);
  EXPECT_EQ(p.a.name, "");
  EXPECT_EQ(p.a.interval, 1.0);
  EXPECT_EQ(p.a.count, 0);
  EXPECT_EQ(p.a.timeout_ms, 5000);
}

TEST(CtlArgs, CommandOperandsAndFlagsInAnyOrder) {
  Parsed p = Parse({"-v", "probe", "--help", "nqn.2024-01.io.nvme-mpath:lab", "--gc", "7"});
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(p.a.cmd, "probe");
  EXPECT_EQ(p.a.pos, (std::vector<std::string>{"nqn.2024-01.io.nvme-mpath:lab", "7"}));
  EXPECT_TRUE(p.a.verbose && p.a.help && p.a.gc);
  p = Parse({"list", "--verbose", "-h"});
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(p.a.verbose && p.a.help);
}

TEST(CtlArgs, OutputFormat) {
  for (const std::vector<std::string>& json :
       {std::vector<std::string>{"-o", "json"}, {"--output-format", "json"}, {"--output-format=json"},
        {"-o=json"}, {"-o", "normal", "-o", "json"}}) {
    Parsed p = Parse(json);
    ASSERT_TRUE(p.ok) << p.err;
    EXPECT_TRUE(p.a.json) << json.back();
  }
  // The last -o wins: "-o normal" turns JSON off again (it used to be ignored).
  for (const std::vector<std::string>& normal :
       {std::vector<std::string>{"-o", "normal"}, {"--output-format=normal"}, {"-o", "json", "-o=normal"}}) {
    Parsed p = Parse(normal);
    ASSERT_TRUE(p.ok) << p.err;
    EXPECT_FALSE(p.a.json);
  }
  EXPECT_EQ(Err({"-o", "xml"}), "-o takes normal, json or prometheus (stats only), not 'xml'");
  EXPECT_EQ(Err({"--output-format=JSON"}),
            "--output-format takes normal, json or prometheus (stats only), not 'JSON'");
  Parsed prom = Parse({"stats", "-o", "json", "-o", "prometheus"});
  ASSERT_TRUE(prom.ok) << prom.err;
  EXPECT_TRUE(prom.a.prometheus);
  EXPECT_FALSE(prom.a.json);  // the last -o wins
  EXPECT_FALSE(Parse({"stats", "-o", "prometheus", "-o", "normal"}).a.prometheus);
  EXPECT_EQ(Err({"-o="}), "-o takes normal, json or prometheus (stats only), not ''");
  EXPECT_EQ(Err({"-o", ""}), "-o takes normal, json or prometheus (stats only), not ''");
  EXPECT_EQ(Err({"stats", "-o"}), "-o needs a value");
  EXPECT_EQ(Err({"--output-format"}), "--output-format needs a value");
}

TEST(CtlArgs, Pid) {
  EXPECT_EQ(Parse({"--pid", "4242"}).a.pid, 4242);
  EXPECT_EQ(Parse({"--pid=1"}).a.pid, 1);
  EXPECT_EQ(Parse({"--pid", "+7"}).a.pid, 7);
  EXPECT_EQ(Parse({"--pid", "2147483647"}).a.pid, 2147483647);
  EXPECT_EQ(Parse({"--pid", "1", "--pid", "2"}).a.pid, 2);  // last wins
  const std::string want = "--pid needs a process id (an integer in 1..2147483647), not ";
  EXPECT_EQ(Err({"--pid", "12abc"}), want + "'12abc'");
  EXPECT_EQ(Err({"--pid", "-5"}), want + "'-5'");
  EXPECT_EQ(Err({"--pid", "0"}), want + "'0'");
  EXPECT_EQ(Err({"--pid", "2147483648"}), want + "'2147483648'");
  EXPECT_EQ(Err({"--pid", "99999999999999999999999"}), want + "'99999999999999999999999'");
  EXPECT_EQ(Err({"--pid", " 12"}), want + "' 12'");
  EXPECT_EQ(Err({"--pid", "12\n"}), want + "'12\\n'");
  EXPECT_EQ(Err({"--pid", "0x10"}), want + "'0x10'");
  EXPECT_EQ(Err({"--pid", "1.5"}), want + "'1.5'");
  EXPECT_EQ(Err({"--pid", ""}), want + "''");
  EXPECT_EQ(Err({"--pid="}), want + "''");
  EXPECT_EQ(Err({"--pid", "--count"}), want + "'--count'");
  EXPECT_EQ(Err({"stats", "--pid"}), "--pid needs a value");
}

TEST(CtlArgs, Name) {
  EXPECT_EQ(Parse({"--name", "verify"}).a.name, "verify");
  EXPECT_EQ(Parse({"--name=my job"}).a.name, "my job");
  EXPECT_EQ(Parse({"--name", "a=b"}).a.name, "a=b");
  EXPECT_EQ(Parse({"--name", "-x"}).a.name, "-x");  // the next argument, as getopt takes it
  EXPECT_EQ(Parse({"--name", "a", "--name", "b"}).a.name, "b");
  // An empty name would silently select every engine ("--name $JOB" with JOB unset).
  EXPECT_EQ(Err({"--name", ""}), "--name needs a non-empty job or program name");
  EXPECT_EQ(Err({"--name="}), "--name needs a non-empty job or program name");
  EXPECT_EQ(Err({"--name"}), "--name needs a value");
}

TEST(CtlArgs, Interval) {
  EXPECT_EQ(Parse({"--interval", "2"}).a.interval, 2.0);
  EXPECT_EQ(Parse({"--interval", "0.25"}).a.interval, 0.25);
  EXPECT_EQ(Parse({"--interval=1e1"}).a.interval, 10.0);
  EXPECT_EQ(Parse({"--interval", "3600"}).a.interval, 3600.0);
  EXPECT_EQ(Parse({"--interval", "+.5"}).a.interval, 0.5);
  const std::string want = "--interval must be a number of seconds in [0.1, 3600], not ";
  // NaN passed the old "<= 0 || > 3600" check and reached usleep(nan * 1e6).
  EXPECT_EQ(Err({"--interval", "nan"}), want + "'nan'");
  EXPECT_EQ(Err({"--interval", "NaN"}), want + "'NaN'");
  EXPECT_EQ(Err({"--interval", "-nan"}), want + "'-nan'");
  EXPECT_EQ(Err({"--interval", "inf"}), want + "'inf'");
  EXPECT_EQ(Err({"--interval", "infinity"}), want + "'infinity'");
  EXPECT_EQ(Err({"--interval", "1e400"}), want + "'1e400'");  // SimpleAtod: +inf
  EXPECT_EQ(Err({"--interval", "1e-400"}), want + "'1e-400'");  // underflows to 0
  EXPECT_EQ(Err({"--interval", "3600.001"}), want + "'3600.001'");
  EXPECT_EQ(Err({"--interval", "0"}), want + "'0'");
  EXPECT_EQ(Err({"--interval", "1e-9"}), want + "'1e-9'");  // would busy-loop watch
  EXPECT_EQ(Parse({"--interval", "0.1"}).a.interval, 0.1);
  EXPECT_EQ(Err({"--interval", "-0"}), want + "'-0'");
  EXPECT_EQ(Err({"--interval", "-1"}), want + "'-1'");
  EXPECT_EQ(Err({"--interval", "12abc"}), want + "'12abc'");
  EXPECT_EQ(Err({"--interval", "1s"}), want + "'1s'");
  EXPECT_EQ(Err({"--interval", "0x1p0"}), want + "'0x1p0'");  // strtod would take hex
  EXPECT_EQ(Err({"--interval", "0x10"}), want + "'0x10'");
  EXPECT_EQ(Err({"--interval", "1,5"}), want + "'1,5'");
  EXPECT_EQ(Err({"--interval", "1e"}), want + "'1e'");
  EXPECT_EQ(Err({"--interval", "+-1"}), want + "'+-1'");
  EXPECT_EQ(Err({"--interval", "1 "}), want + "'1 '");
  EXPECT_EQ(Err({"--interval", ""}), want + "''");
  EXPECT_EQ(Err({"watch", "--interval"}), "--interval needs a value");
}

TEST(CtlArgs, Count) {
  EXPECT_EQ(Parse({"--count", "3"}).a.count, 3);
  EXPECT_EQ(Parse({"--count=2147483647"}).a.count, 2147483647);
  const std::string want = "--count must be an integer in 1..2147483647, not ";
  EXPECT_EQ(Err({"--count", "0"}), want + "'0'");
  EXPECT_EQ(Err({"--count", "-5"}), want + "'-5'");
  EXPECT_EQ(Err({"--count", "12abc"}), want + "'12abc'");
  EXPECT_EQ(Err({"--count", "2147483648"}), want + "'2147483648'");  // atoi: UB
  EXPECT_EQ(Err({"--count", "1e3"}), want + "'1e3'");
  EXPECT_EQ(Err({"--count"}), "--count needs a value");
}

TEST(CtlArgs, TimeoutMs) {
  EXPECT_EQ(Parse({"--timeout-ms", "1"}).a.timeout_ms, 1);
  EXPECT_EQ(Parse({"--timeout-ms=3600000"}).a.timeout_ms, 3600000);
  const std::string want = "--timeout-ms must be an integer in 1..3600000 (milliseconds), not ";
  EXPECT_EQ(Err({"--timeout-ms", "0"}), want + "'0'");
  EXPECT_EQ(Err({"--timeout-ms", "3600001"}), want + "'3600001'");
  EXPECT_EQ(Err({"--timeout-ms", "-5"}), want + "'-5'");
  EXPECT_EQ(Err({"--timeout-ms", "5000ms"}), want + "'5000ms'");
  EXPECT_EQ(Err({"--timeout-ms", "4294967296"}), want + "'4294967296'");
  EXPECT_EQ(Err({"--timeout-ms"}), "--timeout-ms needs a value");
}

TEST(CtlArgs, DoubleDashEndsOptions) {
  Parsed p = Parse({"probe", "--", "-odd-dev", "--help"});
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(p.a.cmd, "probe");
  EXPECT_EQ(p.a.pos, (std::vector<std::string>{"-odd-dev", "--help"}));
  EXPECT_FALSE(p.a.help);
  p = Parse({"--", "--", "x"});  // only the first "--" is special
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.a.cmd, "--");
  EXPECT_EQ(p.a.pos, std::vector<std::string>{"x"});
  p = Parse({"-o", "json", "--"});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.a.cmd, "");
  EXPECT_EQ(Parse({"--name", "--"}).a.name, "--");  // an option's value is never special
}

TEST(CtlArgs, EmptyArgument) {
  // Nearly always an unset shell variable: as a command or a device it would fail later, obscurely.
  EXPECT_EQ(Err({""}), "argument 1 is empty");
  EXPECT_EQ(Err({"ana-log", ""}), "argument 2 is empty");
  EXPECT_EQ(Err({"probe", "--", ""}), "argument 3 is empty");
}

TEST(CtlArgs, UnknownOptions) {
  EXPECT_EQ(Err({"list", "--bogus"}), "unknown option '--bogus'");
  EXPECT_EQ(Err({"-"}), "unknown option '-'");
  EXPECT_EQ(Err({"-vh"}), "unknown option '-vh'");  // no bundling of short options
  EXPECT_EQ(Err({"-ojson"}), "unknown option '-ojson'");
  EXPECT_EQ(Err({"-p=1"}), "unknown option '-p=1'");
  EXPECT_EQ(Err({"--bogus=1"}), "unknown option '--bogus=1'");
  EXPECT_EQ(Err({"--gc=1"}), "--gc takes no value");
  EXPECT_EQ(Err({"--help="}), "--help takes no value");
  // User text in a message is escaped (one line) and cut.
  EXPECT_EQ(Err({"--a\nb'\x01"}), "unknown option '--a\\nb\\'\\x01'");
  EXPECT_EQ(Err({"--" + std::string(100, 'x')}), "unknown option '--" + std::string(62, 'x') + "'...");
}

// Fuzzer crash e33b31cc (waa\0--count\02\377\377...): the value was cut to 64 bytes before
// escaping, and each of those takes four characters (\xff): the message grew past its bound.
TEST(CtlArgs, LongValueQuotedWithinBound) {
  std::string cut;  // 64 characters at most: "2" and 15 escaped bytes
  for (int i = 0; i < 15; ++i) cut += "\\xff";
  EXPECT_EQ(Err({"waa", "--count", "2" + std::string(300, '\377')}),
            "--count must be an integer in 1..2147483647, not '2" + cut + "'...");
}

TEST(CtlArgs, FirstErrorWins) {
  EXPECT_EQ(Err({"--pid", "x", "--count", "y"}),
            "--pid needs a process id (an integer in 1..2147483647), not 'x'");
}

// What CheckOptionsFor says of a command line that parses.
std::string Suits(std::vector<std::string> args) {
  Parsed p = Parse(std::move(args));
  EXPECT_TRUE(p.ok) << p.err;
  return CheckOptionsFor(p.a);
}

TEST(CtlArgs, OptionsMustSuitTheCommand) {
  EXPECT_EQ(Suits({"list", "-v", "-o", "json"}), "");
  EXPECT_EQ(Suits({"ana-log", "/dev/ng0n1", "-o", "json"}), "");
  EXPECT_EQ(Suits({"probe", "/dev/ng0n1", "--timeout-ms", "100", "-o", "json"}), "");
  EXPECT_EQ(Suits({"stats", "--pid", "7", "--name", "db", "--gc", "-o", "json"}), "");
  EXPECT_EQ(Suits({"watch", "--pid", "7", "--name", "db", "--interval", "2", "--count", "3"}), "");
  EXPECT_EQ(Suits({"list", "-h", "-o", "json"}), "");  // -h and -o suit every command
  EXPECT_EQ(Suits({"list", "--count", "3"}), "list does not take --count (see list --help)");
  EXPECT_EQ(Suits({"stats", "--interval", "2"}), "stats does not take --interval (see stats --help)");
  EXPECT_EQ(Suits({"probe", "x", "--pid", "1"}), "probe does not take --pid (see probe --help)");
  EXPECT_EQ(Suits({"ana-log", "x", "-v"}), "ana-log does not take -v (see ana-log --help)");
  EXPECT_EQ(Suits({"watch", "--timeout-ms=5"}), "watch does not take --timeout-ms (see watch --help)");
  EXPECT_EQ(Suits({"list", "--gc"}), "list does not take --gc (see list --help)");
  EXPECT_EQ(Suits({"bogus", "--count", "1"}), "");  // an unknown command is main's to report
  EXPECT_EQ(Suits({"stats", "-o", "prometheus"}), "");
  EXPECT_EQ(Suits({"list", "-o", "prometheus"}), "-o prometheus is for stats only, not list (see list --help)");
  EXPECT_EQ(Suits({"watch", "-o", "prometheus"}), "-o prometheus is for stats only, not watch (see watch --help)");
}

TEST(CtlArgs, PathCommand) {
  Parsed p = Parse({"path", "disable", "/dev/ng0n1", "--name", "fio-job", "--timeout-ms", "200"});
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(p.a.cmd, "path");
  EXPECT_EQ(CheckOptionsFor(p.a), "");
  PathCommand pc;
  EXPECT_EQ(ParsePathCommand(p.a, &pc), "");
  EXPECT_TRUE(pc.disable);
  EXPECT_EQ(pc.dev, "/dev/ng0n1");
  EXPECT_EQ(p.a.name, "fio-job");
  EXPECT_EQ(p.a.timeout_ms, 200);
  p = Parse({"--pid=7", "path", "enable", "nvme1", "-o", "json"});
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(CheckOptionsFor(p.a), "");
  pc = PathCommand{true, "stale"};
  EXPECT_EQ(ParsePathCommand(p.a, &pc), "");
  EXPECT_FALSE(pc.disable);
  EXPECT_EQ(pc.dev, "nvme1");
  p = Parse({"path", "--", "disable", "ng0n1"});  // a device after "--"
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(ParsePathCommand(p.a, &pc), "");
  EXPECT_EQ(pc.dev, "ng0n1");
}

TEST(CtlArgs, PathCommandUsageErrors) {
  auto err = [](std::vector<std::string> args) {
    Parsed p = Parse(std::move(args));
    EXPECT_TRUE(p.ok) << p.err;
    PathCommand pc;
    return ParsePathCommand(p.a, &pc);
  };
  EXPECT_EQ(err({"path"}), "path needs disable or enable, then a device (see path --help)");
  EXPECT_EQ(err({"path", "drain", "ng0n1"}), "path takes disable or enable, not 'drain' (see path --help)");
  EXPECT_EQ(err({"path", "ng0n1", "disable"}), "path takes disable or enable, not 'ng0n1' (see path --help)");
  EXPECT_EQ(err({"path", "Disable", "ng0n1"}), "path takes disable or enable, not 'Disable' (see path --help)");
  EXPECT_EQ(err({"path", "disable"}), "path disable needs a device (/dev/ngXnY, ngXnY or nvmeX) (see path --help)");
  EXPECT_EQ(err({"path", "enable", "ng0n1", "ng1n1"}), "path enable takes one device, not 'ng1n1' too (see path --help)");
  EXPECT_EQ(err({"path", "disable", "a\nb", "x\x01"}),
            "path disable takes one device, not 'x\\x01' too (see path --help)");
  // Options that are not path's.
  Parsed p = Parse({"path", "disable", "ng0n1", "--gc"});
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(CheckOptionsFor(p.a), "path does not take --gc (see path --help)");
  p = Parse({"path", "disable", "ng0n1", "--count", "2"});
  EXPECT_EQ(CheckOptionsFor(p.a), "path does not take --count (see path --help)");
  p = Parse({"path", "disable", "ng0n1", "-o", "prometheus"});
  EXPECT_EQ(CheckOptionsFor(p.a), "-o prometheus is for stats only, not path (see path --help)");
}

TEST(CtlArgs, Nsid) {
  EXPECT_EQ(ParseNsid("1"), 1u);
  EXPECT_EQ(ParseNsid("42"), 42u);
  EXPECT_EQ(ParseNsid("010"), 10u);  // decimal, not octal as strtoul(..., 0) read it
  EXPECT_EQ(ParseNsid("4294967294"), 0xFFFFFFFEu);
  EXPECT_EQ(ParseNsid("0x1f"), 0x1Fu);
  EXPECT_EQ(ParseNsid("0XFFFFFFFE"), 0xFFFFFFFEu);
  EXPECT_EQ(ParseNsid("0x00000001"), 1u);
  for (const char* bad : {"", "0", "00", "0x0", "0x", "0X", "x", "-1", "+1", " 1", "1 ", "1abc", "abc",
                          "1.0", "1e3", "4294967295", "0xFFFFFFFF", "4294967296", "0x100000000",
                          "99999999999999999999999999", "0x1g", "0b1", "1\n"})
    EXPECT_EQ(ParseNsid(bad), std::nullopt) << bad;
  EXPECT_EQ(ParseNsid(std::string_view("1\0" "2", 3)), std::nullopt);
}

}  // namespace
}  // namespace nvme_mpath::ctl
