#!/bin/bash
# iopoll_pcie_guest.sh — runs in the PCIe lab on 6.12 (tests/lab/vm.sh --topology pcie --kernel
# 6.12): polled I/O (fio hipri=1, QueueOptions::iopoll) on QEMU's emulated NVMe controllers.
#  1. The nvme module's default has no poll queues: mpath_nvme hipri=1 is refused before any I/O,
#     naming the path, its io_poll attribute and poll_queues.
#  2. nvme reloaded with poll_queues=1 (io_poll 1 on both controllers of the plain namespace):
#     fio io_uring_cmd hipri=1 on one controller and mpath_nvme hipri=1 over both (round-robin),
#     4k randread QD32, alternating, 3 runs each: every run exits 0 with no error, both paths
#     carried mpath_nvme's I/O, its ring is polled (+iopoll). The figures of such runs are
#     bench/iopoll_bench.sh's.
#  3. randrw + crc32c verify with hipri=1 across 3 resets of controller 2 and its hot-unplug and
#     replug: fio exits 0, no verify or I/O error, the engine saw the path go (not usable) and
#     reopened it.
# Prints "ok - ..." / "FAIL - ..." per check; exits 0 only when every check passed.
set -uo pipefail
source "${LAB_LIB:?run me through tests/lab/vm.sh --topology pcie}"
[ "${LAB_TOPOLOGY:-}" = pcie ] || { echo "iopoll_pcie_guest.sh: needs vm.sh --topology pcie"; exit 1; }
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
case $(uname -r) in 6.1.*|6.1-*) echo "iopoll_pcie_guest: not on 6.1 (polled passthrough crashes it)"; exit 1 ;; esac
io_poll() { local c; c=$(lab_ctrl "$1") || return 1; cat "/sys/block/$(basename "$(lab_ng "$1" 1)" | sed 's/^ng/nvme/')/queue/io_poll"; }
JOB=storm
snap() { "$CTL" stats --name "$JOB" -o json > "$1" 2> "$1.err"; }
usable() {  # SNAPSHOT NG: the path's usable flag (True/False)
  python3 -c "
import json, sys
p = [p for p in json.load(open('$1'))['engines'][0]['paths'] if p['ng'] == '$2']
print(p[0]['usable'] if len(p) == 1 else 'absent')"
}

# ---- 1. refused without poll queues ----------------------------------------------------------
A=$(lab_ng 1 1)
DESC="the nvme module's default has no poll queues (io_poll $(io_poll 1))"
check test "$(io_poll 1)" = 0
fio --name=nopoll --ioengine=mpath_nvme --filename="$A" --rw=randread --bs=4k --size=1m --hipri=1 > nopoll.log 2>&1; rc=$?
DESC="mpath_nvme hipri=1 without poll queues: fio fails ($rc) naming the path and poll_queues, no I/O"
check bash -c "[ $rc -ne 0 ] && grep -q 'has no poll queues' nopoll.log && grep -q 'poll_queues=N' nopoll.log && ! grep -q 'IOPS=' nopoll.log"

# ---- 2. polled, against fio's own io_uring_cmd hipri=1 ---------------------------------------
ok=1
rmmod nvme && modprobe nvme poll_queues=1 || ok=0
for p in 1 2 3 4; do for ns in $(_lab_pcie_nsids "$p"); do _lab_wait_ng "$p" "$ns" 30 || ok=0; done; done
DESC="nvme reloaded with poll_queues=1, every controller's ng devices back"; check test $ok = 1
A=$(lab_ng 1 1)
DESC="io_poll is 1 on both controllers ($(io_poll 1) $(io_poll 2)), transport pcie"
check test "$(io_poll 1)" = 1 -a "$(io_poll 2)" = 1 -a "$(cat /sys/class/nvme/"$(lab_ctrl 1)"/transport)" = pcie
common=(--rw=randread --bs=4k --iodepth=32 --runtime=4 --time_based --ramp_time=1 --size=32m --output-format=json)
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

# ---- 3. faults under polling -----------------------------------------------------------------
O=$(lab_ng 2 1)
fio --name=$JOB --ioengine=mpath_nvme --filename="$A" --rw=randrw --bs=4k --iodepth=16 --size=16m \
  --verify=crc32c --verify_backlog=256 --runtime=60 --time_based --hipri=1 --iopolicy=round-robin \
  --stats_json=$JOB.json > $JOB.log 2>&1 &
fpid=$!
sleep 5
rok=1
for r in 1 2 3; do lab_reset 2 && lab_wait_state 2 live 30 || rok=0; sleep 2; done
DESC="fault: 3 resets of controller 2 under polled I/O, live again after each"; check test $rok = 1
DESC="fault: device_del controller 2 under polled I/O"; check lab_unplug 2
sleep 2; snap s1.json
DESC="the engine saw the path go: $O $(usable s1.json "$O")"; check test "$(usable s1.json "$O")" = False
DESC="fault: device_add controller 2"; check lab_plug 2
O2=$(lab_ng 2 1 || echo none) ok=0
for ((i = 0; i < 60; i++)); do snap s2.json && [ "$(usable s2.json "$O2")" = True ] && { ok=1; break; }; sleep 0.5; done
DESC="the engine reopened the replugged path ($O -> $O2) within 30 s"; check test $ok = 1
DESC="fio still ran through every fault"; check kill -0 $fpid
wait $fpid; rc=$?
grep -E "IOPS=|  path /dev|err=" $JOB.log | sed 's/^/     /' | tee -a results.txt
DESC="randrw + verify with hipri=1 through resets and a hot-unplug: fio exit 0 ($rc)"; check test $rc -eq 0
DESC="no verify or I/O error in fio's log"
check bash -c "! grep -qE 'verify: bad|verify failed|bad magic|crc32c: verify|err= *[1-9]|fio: pid=.*err=|BUG:' $JOB.log"
DESC="io_errors 0 in the engine's JSON"
check python3 -c "import json; d = json.load(open('$JOB.json')); assert d['io_errors'] == 0, d['io_errors']"
echo "iopoll: $pass passed, $fail failed"
[ $fail = 0 ]
