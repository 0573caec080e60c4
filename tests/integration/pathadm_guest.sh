#!/bin/bash
# pathadm_guest.sh — runs in the VM lab (tests/lab/vm.sh): path maintenance with nvme-mpath-ctl
# under real I/O. Both ports optimized, so that round-robin spreads a fio job (mpath_nvme, randrw
# + verify crc32c, iopolicy=round-robin) over the two paths for 90 s (the checks below take
# about 25 s under TCG on an idle host; the margin is for a loaded one: a first run with 24 s
# saw fio end before the enable was checked; a check that finds fio gone says so). While it runs:
#  1. both paths carry I/O;
#  2. `path disable` port 1's path: exit 0, "disabled, drained"; then, sampled from
#     `stats -o json` twice 1 s apart, that path is disabled with nothing in flight and its I/O
#     count stands still while the other path's grows; `list` says who disabled it;
#  3. `path enable` it: exit 0; its I/O count grows again;
#  4. fio exits 0 with no verify or I/O error (log and the engine's JSON), and the engine logged
#     both changes;
#  5. refusals: a device the engine does not have (exit 5, while it runs), no engine at all once
#     the job is gone (5), a bad verb (2).
# Every ctl call's exit status is checked. Prints "ok - ..." / "FAIL - ..." per check (also in
# $LAB_OUT/results.txt); exits 0 only when every check passed. Logs stay in $LAB_OUT.
set -uo pipefail
source "${LAB_LIB:?run me through tests/lab/vm.sh}"
B=${NVME_MPATH_BUILD_DIR:?}
[ -f "$B/fio-engine/mpath_nvme" ] || { echo "no $B/fio-engine/mpath_nvme: build the fio engine"; exit 1; }
CTL=$B/tools/nvme-mpath-ctl/nvme-mpath-ctl
export LD_LIBRARY_PATH=$B/fio-engine
OUT=${LAB_OUT:-/tmp}
cd "$OUT" || exit 1
: > results.txt
pass=0 fail=0
check() {
  local r
  if "$@"; then r="ok   - $DESC"; pass=$((pass+1)); else r="FAIL - $DESC"; fail=$((fail+1)); fi
  echo "$r"; echo "$r" >> results.txt
}
JOB=pathadm
# `stats --name $JOB -o json` into FILE; the ctl's exit status is the function's.
snap() { "$CTL" stats --name "$JOB" -o json > "$1" 2> "$1.err"; }
# FIELD of the path NG in a stats snapshot (ios, inflight, disabled): python's repr.
field() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
f, ng, key = sys.argv[1:4]
e = json.load(open(f))["engines"]
assert len(e) == 1, ("one engine expected", len(e))
p = [p for p in e[0]["paths"] if p["ng"] == ng]
assert len(p) == 1, ("path not in stats", ng)
print(p[0][key])
PY
}

lab_ana 1 optimized; lab_ana 2 optimized  # both in the best tier: round-robin uses both
A=$(lab_ng 1 1) && O=$(lab_ng 2 1) || { echo "no ng devices for nsid 1"; lab_paths; exit 1; }
echo "disabling $A, the other path $O"
rm -f /dev/shm/nvme-mpath.*
NVME_MPATH_LOG=info fio --name=$JOB --ioengine=mpath_nvme --filename="$A" --direct=1 \
  --rw=randrw --bs=4k --iodepth=16 --size=16m --verify=crc32c --verify_backlog=64 \
  --runtime=90 --time_based --iopolicy=round-robin --stats_json="$OUT/$JOB.json" > $JOB.log 2>&1 &
fpid=$!
# Until the job's engine publishes its stats (fio takes seconds to start under TCG), then 2 s
# of I/O on both paths.
for ((i = 0; i < 300; i++)); do "$CTL" stats --name $JOB > /dev/null 2>&1 && break; sleep 0.1; done
sleep 2

# ---- 1. both paths carry I/O -----------------------------------------------------------------
DESC="stats before: exit 0"
check snap s0.json
DESC="round-robin: both paths carried I/O before the disable ($(field s0.json "$A" ios) / $(field s0.json "$O" ios))"
check test "$(field s0.json "$A" ios)" -gt 0 -a "$(field s0.json "$O" ios)" -gt 0
DESC="stats before: the path is not disabled"
check test "$(field s0.json "$A" disabled)" = False

# ---- 2. disable: drained, then no I/O on it --------------------------------------------------
"$CTL" path disable "$A" --name $JOB --timeout-ms 10000 > disable.out 2> disable.err
rc=$?
cat disable.out disable.err
DESC="path disable $A: exit 0 ($rc)"
check test $rc -eq 0
DESC="path disable: one line, disabled and drained"
check bash -c "[ \$(wc -l < disable.out) -eq 1 ] && grep -q '^$A (nvme[0-9]*) on engine $JOB\[[0-9]*\]: disabled, drained (0 in flight)\$' disable.out"
DESC="path disable: no warning (the other path is usable)"
check test ! -s disable.err
sleep 0.5
snap s1.json; r1=$?; sleep 1; snap s2.json; r2=$?
DESC="stats after the disable: exit 0 (twice, 1 s apart: $r1 $r2)"
check test $r1 -eq 0 -a $r2 -eq 0
DESC="stats after the disable: the path shows disabled, nothing in flight on it"
check test "$(field s2.json "$A" disabled)" = True -a "$(field s2.json "$A" inflight)" -eq 0
a1=$(field s1.json "$A" ios) a2=$(field s2.json "$A" ios) o1=$(field s1.json "$O" ios) o2=$(field s2.json "$O" ios)
DESC="disabled: its I/O count stands still ($a1 -> $a2) while the other path's grows ($o1 -> $o2)"
check test "$a2" -eq "$a1" -a "$o2" -gt "$o1"
"$CTL" stats --name $JOB > stats.txt; rc=$?
cat stats.txt
DESC="stats (text): exit 0 ($rc)"; check test $rc -eq 0
DESC="stats (text): the path's USE column says disabled"; check grep -qE "^  $A +nvme[0-9]+ +optimized +disabled " stats.txt
"$CTL" path disable /dev/ng99n99 --name $JOB 2> none.err; rc=$?
cat none.err
DESC="path disable of a device the engine does not have: exit 5 ($rc)"
check test $rc -eq 5
"$CTL" stats --name $JOB -o prometheus > s2.prom; rc=$?
DESC="stats -o prometheus: exit 0 ($rc), nvme_mpath_path_disabled 1 for the path"
check grep -q "^nvme_mpath_path_disabled{engine=\"$JOB\",pid=\"[0-9]*\",path=\"$A\"} 1\$" s2.prom
check test $rc -eq 0
"$CTL" list > list.txt; rc=$?
DESC="list: exit 0 ($rc), the path's line says disabled by $JOB[pid]"
check grep -q "$A .*disabled by $JOB\[[0-9]*\]" list.txt
check test $rc -eq 0
"$CTL" path disable "$A" --name $JOB > again.out 2>&1; rc=$?
DESC="path disable again: exit 0 ($rc), already disabled"
check grep -q "already disabled, drained" again.out
check test $rc -eq 0

# ---- 3. enable: the path carries I/O again ---------------------------------------------------
DESC="fio still runs for the enable checks (else its 90 s runtime is too short on this host)"
check kill -0 $fpid
"$CTL" path enable "$A" --name $JOB -o json > enable.json 2> enable.err
rc=$?
cat enable.json enable.err
DESC="path enable $A -o json: exit 0 ($rc)"
check test $rc -eq 0
DESC="path enable: the JSON result says ok, enabled"
check python3 -c "
import json; d = json.load(open('enable.json')); r = d['results']
assert d['schema_version'] == 1 and len(r) == 1, d
assert r[0]['ok'] and r[0]['request'] == 'enable' and r[0]['ng'] == '$A' and r[0]['name'] == '$JOB', r[0]"
sleep 1
snap s3.json; r3=$?; sleep 1; snap s4.json; r4=$?
DESC="stats after the enable: exit 0 (twice, 1 s apart: $r3 $r4)"
check test $r3 -eq 0 -a $r4 -eq 0
a3=$(field s3.json "$A" ios) a4=$(field s4.json "$A" ios)
DESC="enabled: the path is not disabled and its I/O count grows again ($a2 -> $a3 -> $a4)"
check test "$(field s4.json "$A" disabled)" = False -a "$a4" -gt "$a3" -a "$a3" -ge "$a2"

# ---- 4. fio saw nothing ----------------------------------------------------------------------
wait $fpid
rc=$?
grep -E "IOPS=|mpath_nvme: job|  path /dev|err=" $JOB.log | sed 's/^/     /' | tee -a results.txt
DESC="fio exit status $rc"
check test $rc -eq 0
DESC="no verify error, no I/O error in the fio log"
check bash -c "! grep -qE 'verify: bad|verify failed|bad magic|crc32c: verify|err= *[1-9]|fio: pid=.*err=|BUG:' $JOB.log"
DESC="io_errors 0 in the engine's JSON, and both paths carried I/O"
check python3 -c "
import json; d = json.load(open('$JOB.json'))
assert d['io_errors'] == 0, d['io_errors']
assert all(p['ios'] > 0 for p in d['paths']) and not any(p['disabled'] for p in d['paths']), d['paths']"
DESC="the engine logged the disable and the enable (nvme-mpath-ctl)"
check bash -c "grep -q 'disabled by the operator (nvme-mpath-ctl): no new I/O while another path is usable' $JOB.log && grep -q 'enabled by the operator (nvme-mpath-ctl)' $JOB.log"

# ---- 5. refusals ------------------------------------------------------------------------------
"$CTL" path disable "$A" 2> gone.err; rc=$?
DESC="path disable after the job ended: no engine running, exit 5 ($rc)"
check test $rc -eq 5
"$CTL" path frobnicate "$A" 2> usage.err; rc=$?
DESC="path frobnicate: usage error, exit 2 ($rc), Try 'nvme-mpath-ctl --help'."
check test $rc -eq 2
check test "$(sed -n 2p usage.err)" = "Try 'nvme-mpath-ctl --help'."

lab_ana 2 non-optimized
echo "$pass passed, $fail failed" | tee -a results.txt
[ "$fail" -eq 0 ]
