#!/bin/bash
# unit.timeline: scripts/timeline.sh on a synthetic demo recording (two paths; path 0 carries
# 1000 IOPS until a fault from 2 s to 4 s moves everything to path 1, then it fails back): the
# data file has the right IOPS per path and interval, the PNG is a PNG, a cut last line (the
# watcher stopped mid-write) is skipped, and missing inputs are refused with one line.
set -uo pipefail
TOP=${1:?usage: timeline_test.sh SOURCE_DIR}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then echo "PASS - $1"; pass=$((pass + 1)); else echo "FAIL - $1"; fail=$((fail + 1)); fi; }
t0=1796192000000 a=0 b=0 fo=0
for ((i = 0; i <= 60; i++)); do  # 6 s, a sample every 100 ms
  t=$((t0 + i * 100))
  printf '{"schema_version":1,"engines":[{"pid":1,"name":"demo","sampled_at_ms":%d,"paths":[{"ng":"/dev/ng0n1","ios":%d,"failovers":%d},{"ng":"/dev/ng1n1","ios":%d,"failovers":0}]}]}\n' "$t" "$a" "$fo" "$b"
  if [ $i -ge 20 ] && [ $i -lt 40 ]; then b=$((b + 100)); [ $i = 20 ] && fo=16; else a=$((a + 100)); fi
done > "$T/timeline.jsonl"
echo '{"schema_version":1,"engines":[{"pid":1,"na' >> "$T/timeline.jsonl"
printf 'start %d port 1 down\nend %d port 1 down\n' $((t0 + 2000)) $((t0 + 4000)) > "$T/faults.txt"
echo "fio_exit=0 verify_errors=0 err=0" > "$T/result.txt"
out=$("$TOP/scripts/timeline.sh" "$T" 2>&1); rc=$?
echo "$out"
check "exits 0" '[ $rc = 0 ]'
check "says what it drew" 'grep -q "61 samples, 1 faults, 16 commands resent" <<<"$out"'
check "writes a PNG" '[ "$(head -c 8 "$T/timeline.png" | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ]'
check "60 intervals in the data file" '[ "$(grep -vc "^#" "$T/timeline.dat")" = 60 ]'
check "path 0 at 1000 IOPS before the fault, path 1 idle" 'grep -q "^1.00 1000 0$" "$T/timeline.dat"'
check "path 1 at 1000 IOPS during the fault, path 0 idle" 'grep -q "^3.00 0 1000$" "$T/timeline.dat"'
check "the fault is a shaded, labelled interval" 'grep -q "rect from 2.00, graph 0 to 4.00" "$T/timeline.gp" && grep -q "label 1 \"port 1 down\"" "$T/timeline.gp"'
check "the title gives the application errors" 'grep -q "application errors 0, verify errors 0; the engine resent 16 commands" "$T/timeline.gp"'
rm "$T/result.txt"
out=$("$TOP/scripts/timeline.sh" "$T" 2>&1); rc=$?
check "a missing input: exit 1, one line naming it" '[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "no $T/result.txt" <<<"$out"'
out=$("$TOP/scripts/timeline.sh" 2>&1); rc=$?
check "no DIR: exit 2 and a pointer to --help" '[ $rc = 2 ] && grep -q "Try .scripts/timeline.sh --help." <<<"$out"'
echo "$pass passed, $fail failed"
[ $fail = 0 ]
