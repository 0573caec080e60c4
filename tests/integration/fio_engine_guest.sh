#!/bin/bash
# Runs in the VM lab: the fio engine mpath_nvme.
#  1. fio finds it by its bare name (--ioengine=mpath_nvme via the loader path) and as external:;
#     the file size comes from Identify Namespace (no --size).
#  2. write + verify (crc32c) without faults; trim; numjobs=2 (one queue per job).
#  3. randrw with verify during each fault class: ANA flip, port down/up, controller reset,
#     controller delete + reconnect, blackhole with cmd_timeout: fio exits 0, 0 verify errors.
#  4. JSON output: the per-path stats file with schema_version.
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
export LD_LIBRARY_PATH=$B/fio-engine
OUT=${LAB_OUT:-/tmp}
cd "$OUT" || exit 1
pass=0 fail=0
check() { if "$@"; then echo "ok   - $DESC"; pass=$((pass+1)); else echo "FAIL - $DESC"; fail=$((fail+1)); fi; }
# Controller names change when a test deletes and reconnects one: look the path up each time.
common() { echo "--ioengine=mpath_nvme --filename=$(lab_ng 1 1) --direct=1 --group_reporting"; }
A=$(lab_ng 1 1)

DESC="bare name: fio --ioengine=mpath_nvme randread, size from Identify"
check fio --name=bare $(common) --rw=randread --bs=4k --iodepth=8 --runtime=2 --time_based > bare.log 2>&1
grep -E "IOPS|mpath_nvme|path " bare.log | head -8
DESC="size came from Identify Namespace: a full sequential read moves 64 MiB"
check bash -c "fio --name=size $(common) --rw=read --bs=256k --iodepth=4 > size.log 2>&1 && grep -q 'io=64.0MiB' size.log"
DESC="external:/path/to/mpath_nvme works"
check env -u LD_LIBRARY_PATH fio --name=ext --ioengine=external:"$B/fio-engine/mpath_nvme" --filename="$A" \
  --rw=read --bs=64k --size=4m > ext.log 2>&1

DESC="write + verify crc32c, no faults"
check fio --name=wv $(common) --rw=write --bs=8k --iodepth=16 --size=16m --verify=crc32c \
  --do_verify=1 > wv.log 2>&1
DESC="trim (deallocate) then write+verify"
check fio --name=trim $(common) --rw=trim --bs=64k --size=8m --iodepth=4 > trim.log 2>&1
DESC="numjobs=2, one queue per job, verify"
check fio --name=nj $(common) --rw=randwrite --bs=4k --iodepth=8 --numjobs=2 --size=8m \
  --offset_increment=16m --verify=crc32c > nj.log 2>&1

DESC="fixedbufs (registered buffers, IORING_URING_CMD_FIXED) write + verify"
check fio --name=fixed $(common) --rw=randwrite --bs=16k --iodepth=8 --size=8m --fixedbufs --verify=crc32c > fixed.log 2>&1
DESC="sqpoll write + verify"
check fio --name=sqp $(common) --rw=write --bs=64k --iodepth=8 --size=8m --sqpoll --verify=crc32c > sqp.log 2>&1
DESC="iopolicy=queue-depth with both paths optimized uses both"
lab_ana 2 optimized
check bash -c "fio --name=qd $(common) --rw=randread --bs=4k --iodepth=16 --runtime=3 --time_based --iopolicy=queue-depth --stats_json=qd.json > qd.log 2>&1 && python3 -c 'import json,sys; d=json.load(open(\"qd.json\")); sys.exit(0 if all(p[\"ios\"]>0 for p in d[\"paths\"]) else 1)'"
lab_ana 2 non-optimized

# 3. fault classes under randrw + verify.
fault_run() {  # name, then the fault commands run in the background after 2 s
  local name=$1; shift
  lab_ana 1 optimized; lab_ana 2 non-optimized
  ( sleep 2; eval "$*" ) &
  local bg=$!
  fio --name="$name" $(common) --rw=randrw --bs=4k --iodepth=16 --size=16m \
    --verify=crc32c --verify_backlog=64 --runtime=12 --time_based --cmd_timeout=1000 \
    --stats_json="$OUT/$name.json" > "$name.log" 2>&1
  local rc=$?
  wait $bg
  grep -E "mpath_nvme|path /dev|verify|err=" "$name.log" | head -8
  DESC="fault $name: fio exit $rc, no verify error"
  check test $rc -eq 0 -a "$(grep -c 'verify:.*bad\|VERIFY\|err= *[1-9]' "$name.log")" = 0
}
fault_run ana 'lab_ana 1 inaccessible; lab_ana 2 optimized; sleep 3; lab_ana 1 optimized; lab_ana 2 non-optimized'
fault_run portdown 'lab_port_down 1; sleep 3; lab_port_up 1'
fault_run reset 'lab_reset 1; sleep 2; lab_reset 2'
fault_run delete 'lab_delete 1; sleep 2; lab_reconnect 1'
fault_run blackhole 'lab_blackhole 1 on; sleep 4; lab_blackhole 1 off'
for p in 1 2; do lab_wait_state $p live 30 >/dev/null; done

DESC="stats JSON written with schema_version and per-path counters"
check python3 -c "import json,sys; d=json.load(open('$OUT/ana.json')); sys.exit(0 if d['schema_version']==1 and len(d['paths'])==2 and sum(p['ios'] for p in d['paths'])>0 else 1)"
DESC="failover moved I/O: both paths carried I/O in the ANA run"
check python3 -c "import json,sys; d=json.load(open('$OUT/ana.json')); sys.exit(0 if all(p['ios']>0 for p in d['paths']) else 1)"
DESC="--output-format=json keeps stdout JSON and writes the stats file"
check bash -c "fio --name=js $(common) --rw=read --bs=64k --size=4m --output-format=json > js.out 2>js.err && python3 -c 'import json; json.load(open(\"js.out\"))' && ls mpath_nvme-stats.js.*.json >/dev/null"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
