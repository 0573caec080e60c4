#!/bin/bash
# iopoll_guest.sh — runs in the VM lab on 6.12 (tests/lab/vm.sh): polled I/O (fio hipri=1,
# QueueOptions::iopoll) on real nvme-tcp paths.
#  1. Without poll queues on a path, mpath_nvme hipri=1 is refused before any I/O, naming the
#     path, its io_poll attribute and `nvme connect --nr-poll-queues`.
#  2. Both ports reconnected with --nr-poll-queues=1 (io_poll 1): fio io_uring_cmd hipri=1 and
#     mpath_nvme hipri=1 (both paths optimized, round-robin), 4k randread QD32, alternating, 3
#     runs each: 0 errors; the IOPS and the CPU per I/O of each are printed (figures, not a test:
#     under TCG polling gains nothing). The engine's ring is polled (its log says +iopoll).
#  3. randrw + crc32c verify with hipri=1 while port 1's ANA flips, port 1 goes down and up, and
#     its controller is reset: fio exits 0, no verify or I/O error, and the engine failed over
#     (its failovers counter moved) and both paths carried I/O.
# Prints "ok - ..." / "FAIL - ..." per check; exits 0 only when every check passed.
set -uo pipefail
source "${LAB_LIB:?run me through tests/lab/vm.sh}"
B=${NVME_MPATH_BUILD_DIR:?}
[ -f "$B/fio-engine/mpath_nvme" ] || { echo "no $B/fio-engine/mpath_nvme: build the fio engine"; exit 1; }
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
clean_log() { ! grep -qE "verify: bad|verify failed|bad magic|crc32c: verify|err= *[1-9]|fio: pid=.*err=|BUG:" "$1"; }
io_poll() { local c; c=$(lab_ctrl "$1") || return 1; cat "/sys/block/${c}n1/queue/io_poll"; }
reconnect_polled() {  # PORT: disconnect and connect again with one poll queue
  local c
  c=$(lab_ctrl "$1") || return 1
  nvme disconnect -d "$c" > /dev/null || return 1
  lab_wait_state "$1" gone 20 || return 1
  LAB_CONNECT_EXTRA="--nr-poll-queues=1" lab_reconnect "$1"
}
case $(uname -r) in 6.1.*|6.1-*) echo "iopoll_guest: not on 6.1 (polled passthrough crashes it)"; exit 1 ;; esac
lab_ana 1 optimized && lab_ana 2 optimized || exit 1

# ---- 1. refused without poll queues ----------------------------------------------------------
DESC="the lab's default connect has no poll queues (io_poll $(io_poll 1))"
check test "$(io_poll 1)" = 0
fio --name=nopoll --ioengine=mpath_nvme --filename="$(lab_ng 1 1)" --rw=randread --bs=4k --size=1m \
  --hipri=1 > nopoll.log 2>&1; rc=$?
DESC="mpath_nvme hipri=1 without poll queues: fio fails ($rc) naming the path and the fix, no I/O"
check bash -c "[ $rc -ne 0 ] && grep -q 'has no poll queues' nopoll.log && grep -q 'nr-poll-queues' nopoll.log && ! grep -q 'IOPS=' nopoll.log"
grep -m1 "poll queues" nopoll.log | sed 's/^/     /'

# ---- 2. polled, against fio's own io_uring_cmd hipri=1 ---------------------------------------
reconnect_polled 1 && reconnect_polled 2; rc=$?
DESC="both ports reconnected with --nr-poll-queues=1 ($rc)"
check test $rc -eq 0
lab_ana 1 optimized && lab_ana 2 optimized
DESC="io_poll is 1 on both paths ($(io_poll 1) $(io_poll 2))"
check test "$(io_poll 1)" = 1 -a "$(io_poll 2)" = 1
A=$(lab_ng 1 1)
fio --name=fill --ioengine=io_uring_cmd --cmd_type=nvme --filename="$A" --rw=write --bs=128k --size=64m > /dev/null 2>&1
# hipri after --ioengine: fio parses an engine's options only once the engine is known.
common=(--rw=randread --bs=4k --iodepth=32 --runtime=4 --time_based --ramp_time=1 --output-format=json)
for r in 1 2 3; do
  fio --name=uc "${common[@]}" --ioengine=io_uring_cmd --hipri=1 --cmd_type=nvme --filename="$A" > "uc.$r.json" 2> "uc.$r.err"; rc1=$?
  NVME_MPATH_LOG=debug fio --name=mp "${common[@]}" --ioengine=mpath_nvme --hipri=1 --filename="$A" --iopolicy=round-robin \
    --stats_json="mp-paths.$r.json" > "mp.$r.json" 2> "mp.$r.err"; rc2=$?
  DESC="round $r: io_uring_cmd hipri=1 ($rc1) and mpath_nvme hipri=1 ($rc2) exit 0"
  check test $rc1 -eq 0 -a $rc2 -eq 0
done
DESC="no errors in the 6 polled runs; both paths carried mpath_nvme's I/O"
check python3 - <<'PY'
import json
for t in ("uc", "mp"):
    for r in (1, 2, 3):
        j = json.load(open(f"{t}.{r}.json"))["jobs"][0]
        assert j["error"] == 0 and j["read"]["total_ios"] > 0, (t, r, j["error"])
        if t == "mp":
            p = json.load(open(f"mp-paths.{r}.json"))
            assert p["io_errors"] == 0 and all(x["ios"] > 0 for x in p["paths"]), p
PY
DESC="the engine's ring is polled (+iopoll in its log)"
check grep -q "+iopoll" mp.1.err
python3 - <<'PY' | tee -a results.txt
import json, statistics
for t, name in (("uc", "fio io_uring_cmd hipri=1, one path"), ("mp", "mpath_nvme hipri=1, 2 paths")):
    iops, cpu = [], []
    for r in (1, 2, 3):
        j = json.load(open(f"{t}.{r}.json"))["jobs"][0]
        iops.append(j["read"]["iops"])
        cpu.append((j["usr_cpu"] + j["sys_cpu"]) / 100 * j["job_runtime"] / 1000 / j["read"]["total_ios"] * 1e6)
    print(f"     iopoll: {name:36s} IOPS min/median/max {min(iops):7.0f} {statistics.median(iops):7.0f} {max(iops):7.0f}  CPU/IO median {statistics.median(cpu):6.1f} us")
PY

# ---- 3. faults under polling -----------------------------------------------------------------
lab_ana 1 optimized && lab_ana 2 non-optimized
fio --name=storm --ioengine=mpath_nvme --filename="$A" --rw=randrw --bs=4k --iodepth=16 --size=32m \
  --verify=crc32c --verify_backlog=256 --runtime=45 --time_based --hipri=1 --cmd_timeout=1000 \
  --stats_json=storm-paths.json > storm.log 2>&1 &
fpid=$!
sleep 5
ok=1
step() { "$@" || { echo "fault action failed: $*"; ok=0; }; }
step lab_ana 1 inaccessible; step lab_ana 2 optimized; sleep 5
step lab_ana 1 optimized; step lab_ana 2 non-optimized; sleep 5
step lab_port_down 1; sleep 5; step lab_port_up 1; step lab_wait_state 1 live 30; sleep 5
step lab_reset 1; step lab_wait_state 1 live 30
wait $fpid; rc=$?
DESC="fault actions all took effect"
check test $ok = 1
DESC="randrw + verify with hipri=1 through ANA flip, port down/up, reset: fio exit 0 ($rc)"
check test $rc -eq 0
DESC="randrw + verify with hipri=1: no verify or I/O error in fio's log"
check clean_log storm.log
DESC="the engine failed over under polling and both paths carried I/O"
check python3 -c "
import json; p = json.load(open('storm-paths.json'))
assert p['io_errors'] == 0, p['io_errors']
assert sum(x['failovers'] for x in p['paths']) > 0 and all(x['ios'] > 0 for x in p['paths']), p['paths']"
grep -E "IOPS=|  path /dev" storm.log | sed 's/^/     /' | tee -a results.txt
echo "$pass passed, $fail failed"
[ $fail = 0 ]
