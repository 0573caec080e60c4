// nvme-mpath-sqlite: its argument parser, and the binary on files (format, info in both
// formats, every refusal with its exit status); and nvme-mpath-sqlite-bank's run and --check.
#include <json-c/json.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "support/status_matchers.h"
#include "test_util.h"
#include "tool_args.h"

namespace nvme_mpath::sqlite {
namespace {

absl::StatusOr<ToolArgs> Parse(std::vector<std::string> a) { return ParseToolArgs(a); }

TEST(ToolArgsTest, CommandsAndOptions) {
  auto a = Parse({"format", "/dev/ng0n1", "--db-mib", "16", "--journal-mib=4", "--wal-mib", "8",
                  "--lba-offset", "0x100", "--lbas", "4096", "--force"});
  ASSERT_OK(a);
  EXPECT_EQ(a->cmd, ToolArgs::Cmd::kFormat);
  EXPECT_EQ(a->dev, "/dev/ng0n1");
  EXPECT_EQ(a->db_mib, 16u);
  EXPECT_EQ(a->journal_mib, 4u);
  EXPECT_EQ(a->wal_mib, 8u);
  EXPECT_EQ(a->lba_offset, 256u);
  EXPECT_EQ(a->lbas, 4096u);
  EXPECT_TRUE(a->force);
  a = Parse({"info", "/dev/ng1n1", "-o", "json", "--file-lba-size", "512"});
  ASSERT_OK(a);
  EXPECT_EQ(a->cmd, ToolArgs::Cmd::kInfo);
  EXPECT_TRUE(a->json);
  EXPECT_EQ(a->file_lba_size, 512u);
  EXPECT_FALSE(Parse({"info", "x", "--output=normal"})->json);
  EXPECT_EQ(Parse({"--help"})->cmd, ToolArgs::Cmd::kHelp);
  EXPECT_EQ(Parse({"format", "-h"})->cmd, ToolArgs::Cmd::kHelp);
  EXPECT_EQ(Parse({"--version"})->cmd, ToolArgs::Cmd::kVersion);
}

TEST(ToolArgsTest, EveryUsageErrorSaysWhat) {
  auto err = [](std::vector<std::string> a) { return std::string(Parse(a).status().message()); };
  EXPECT_EQ(err({}), "no command (format, info)");
  EXPECT_EQ(err({"frmat", "x"}), "unknown command 'frmat' (format, info)");
  EXPECT_EQ(err({"format"}), "format needs a device (DEV)");
  EXPECT_EQ(err({"format", "a", "b"}), "format takes one device, not also 'b'");
  EXPECT_EQ(err({"format", "a", "--db-mib"}), "--db-mib needs a value");
  EXPECT_EQ(err({"format", "a", "--db-mib", "x"}), "--db-mib wants a number, not 'x'");
  EXPECT_EQ(err({"format", "a", "--db-mib", "-1"}), "--db-mib wants a number, not '-1'");
  EXPECT_EQ(err({"format", "a", "--db-mib", "0"}), "--db-mib 0: give at least 1 (MiB)");
  EXPECT_EQ(err({"format", "a", "--db-mib", "99999999999"}), "--db-mib 99999999999 is more than 1073741824");
  EXPECT_EQ(err({"format", "a", "--lbas", "0"}), "--lbas 0: a region needs LBAs");
  EXPECT_EQ(err({"format", "a", "--file-lba-size", "1000"}), "--file-lba-size 1000 is not a power of two in 512..65536");
  EXPECT_EQ(err({"format", "a", "-o", "json"}), "format takes no option '-o'");
  EXPECT_EQ(err({"info", "a", "--force"}), "info takes no option '--force'");
  EXPECT_EQ(err({"info", "a", "--db-mib", "3"}), "info takes no option '--db-mib'");
  EXPECT_EQ(err({"info", "a", "-o", "xml"}), "-o wants normal or json, not 'xml'");
  EXPECT_EQ(err({"format", "a", "--force=1"}), "format takes no option '--force=1'");
}

TEST(ToolArgsTest, HelpNamesEveryOptionAndExitStatus) {
  const std::string h = kToolHelp;
  for (const char* o : {"--db-mib", "--journal-mib", "--wal-mib", "--lba-offset", "--lbas", "--force",
                        "--file-lba-size", "-o, --output", "--help", "--version", "format DEV", "info DEV"})
    EXPECT_NE(h.find(o), std::string::npos) << o;
  for (const char* s : {"\n  0  success", "\n  1  error", "\n  2  usage error", "\n  3  info"})
    EXPECT_NE(h.find(s), std::string::npos) << s;
}

struct Result {
  int status;
  std::string out;  // stdout and stderr
};
Result Sh(const std::string& cmd) {
  Result r{-1, ""};
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::array<char, 4096> b;
  size_t n;
  while ((n = fread(b.data(), 1, b.size(), p)) > 0) r.out.append(b.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}
const std::string kTool = NVME_MPATH_SQLITE_TOOL;

TEST(ToolTest, FormatInfoAndRefusalsOnAFile) {
  const std::string f = TempFile("tool", 64 << 20);
  Result r = Sh(kTool + " --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("Usage: nvme-mpath-sqlite format DEV", 0), 0u) << r.out;
  r = Sh(kTool + " bogus");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "nvme-mpath-sqlite: unknown command 'bogus' (format, info)\nTry 'nvme-mpath-sqlite --help'.\n");
  r = Sh(kTool + " info " + f);
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.out.find("not formatted for the nvme_mpath SQLite VFS"), std::string::npos) << r.out;
  r = Sh(kTool + " format " + f + " --journal-mib 4 --wal-mib 8");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("formatted " + f), std::string::npos) << r.out;
  r = Sh(kTool + " format " + f);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("already holds an nvme_mpath SQLite layout; --force erases it"), std::string::npos) << r.out;
  r = Sh(kTool + " info " + f);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("layout       version 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("table copy 0 ok (in use, seq 1)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("journal "), std::string::npos) << r.out;
  r = Sh(kTool + " info " + f + " -o json");
  ASSERT_EQ(r.status, 0) << r.out;
  json_object* j = json_tokener_parse(r.out.c_str());
  ASSERT_NE(j, nullptr) << r.out;
  json_object *v, *files;
  ASSERT_TRUE(json_object_object_get_ex(j, "schema_version", &v));
  EXPECT_EQ(json_object_get_int(v), 1);
  ASSERT_TRUE(json_object_object_get_ex(j, "lba_size", &v));
  EXPECT_EQ(json_object_get_int(v), 4096);
  ASSERT_TRUE(json_object_object_get_ex(j, "files", &files));
  ASSERT_EQ(json_object_array_length(files), 3u);
  json_object* wal = json_object_array_get_idx(files, 2);
  ASSERT_TRUE(json_object_object_get_ex(wal, "extent_bytes", &v));
  EXPECT_EQ(json_object_get_int64(v), 8 << 20);
  json_object_put(j);
  // Corrupt it: info says the one message, exit 3.
  ASSERT_EQ(Sh("printf 'X' | dd of=" + f + " bs=1 seek=44 conv=notrunc status=none").status, 0);
  r = Sh(kTool + " info " + f);
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.out.find("corrupt nvme_mpath SQLite layout: superblock checksum mismatch"), std::string::npos) << r.out;
  r = Sh(kTool + " format " + f + " --db-mib 100");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("do not fit"), std::string::npos) << r.out;
  r = Sh(kTool + " format " + f);  // a corrupt layout is still someone's database
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("--force erases it"), std::string::npos) << r.out;
  r = Sh(kTool + " info /nonexistent/x");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("No such file"), std::string::npos) << r.out;
  // At an offset.
  r = Sh(kTool + " format " + f + " --lba-offset 4096 --force");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(Sh(kTool + " info " + f + " --lba-offset 4096").status, 0);
}

TEST(ToolTest, TheBankWorkloadRunsAndChecks) {
  const std::string f = TempFile("bank", 32 << 20);
  ASSERT_EQ(Sh(kTool + " format " + f).status, 0);
  const std::string bank = NVME_MPATH_SQLITE_BANK, ids = f + ".ids";
  Result r = Sh(bank + " --db " + f + " --txns 300 --journal-mode wal --log " + ids + " --accounts 50");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\"transactions\": 300, \"errors\": 0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"integrity\": \"ok\", \"invariant\": true"), std::string::npos) << r.out;
  r = Sh(bank + " --db " + f + " --check --committed " + ids + " --accounts 50");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\"committed_ids\": 300, \"missing\": 0"), std::string::npos) << r.out;
  // An id that never committed is reported missing.
  ASSERT_EQ(Sh("echo 999999 >> " + ids).status, 0);
  r = Sh(bank + " --db " + f + " --check --committed " + ids + " --accounts 50");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("committed transaction 999999 is missing"), std::string::npos) << r.out;
  // The unix VFS on a plain file, for the comparison.
  const std::string plain = ::testing::TempDir() + "bank-unix.db";
  unlink(plain.c_str());
  r = Sh(bank + " --db " + plain + " --vfs unix --txns 50 --log /dev/null");
  EXPECT_EQ(r.status, 0) << r.out;
  unlink(plain.c_str());
  EXPECT_EQ(Sh(bank + " --db x --vfs bogus").status, 1);
  EXPECT_EQ(Sh(bank + " --bogus").status, 2);
}

}  // namespace
}  // namespace nvme_mpath::sqlite
