#!/bin/bash
# fio_engine_guest.sh — runs in the VM lab (tests/lab/vm.sh): the fio engine mpath_nvme on real
# /dev/ngXnY paths (nvmet over TCP, 2 ports, port 1 optimized, port 2 non-optimized).
#  1. fio finds the engine by its bare name (--ioengine=mpath_nvme via LD_LIBRARY_PATH) and as
#     external:/path; the file size comes from Identify Namespace (no --size).
#  2. No faults: write + verify crc32c, trim, numjobs=2 (one queue per job, labelled summaries,
#     one JSON file per job), fixedbufs, sqpoll, iopolicy=queue-depth, paths= + active-passive
#     with preferred_path, an io_uring_cmd job file (sqthread_poll, registerfiles, nonvectored,
#     fixedbufs, readfua=1 writefua=1, verify) over 2 paths; bad paths= and preferred_path=, and
#     a bs that is not whole LBAs, refused before any I/O; an unaligned offset fails its I/O.
#  3. randrw + verify crc32c during faults: each fault class on its own, then the whole sequence
#     in one run (ANA flip, port down/up, controller delete + reconnect, reset): fio exits 0 with
#     no verify error and no I/O error.
#  4. The version-mismatch message (NVME_MPATH_FIO_VERSION_OVERRIDE) and --output-format=json.
# Prints "ok - ..." / "FAIL - ..." per check and the figures (IOPS, per-path I/O); exits 0 only
# when every check passed. Logs stay in $LAB_OUT.
set -uo pipefail
source "${LAB_LIB:?run me through tests/lab/vm.sh}"
B=${NVME_MPATH_BUILD_DIR:?}
[ -f "$B/fio-engine/mpath_nvme" ] || { echo "no $B/fio-engine/mpath_nvme: build the fio engine"; exit 1; }
export LD_LIBRARY_PATH=$B/fio-engine
OUT=${LAB_OUT:-/tmp}
cd "$OUT" || exit 1
: > results.txt
pass=0 fail=0
# Results also go to $LAB_OUT/results.txt: the serial console may drop lines under load.
check() {
  local r
  if "$@"; then r="ok   - $DESC"; pass=$((pass+1)); else r="FAIL - $DESC"; fail=$((fail+1)); fi
  echo "$r"; echo "$r" >> results.txt
}
# Controller names change when a test deletes and reconnects one: look the path up each time.
common() { echo "--ioengine=mpath_nvme --filename=$(lab_ng 1 1) --direct=1 --group_reporting"; }
# No I/O error, no verify failure in a fio log.
# "BUG:" is the engine's report of a second completion of one I/O: a defect, never tolerated.
clean_log() {
  ! grep -qE "verify: bad|verify failed|bad magic|crc32c: verify|err= *[1-9]|fio: pid=.*err=|BUG:" "$1"
}
json_ok() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"; }
figures() { grep -E "IOPS=|mpath_nvme: job|  path /dev" "$1" | sed "s/^/     /" | tee -a results.txt; }
restore() {  # both ports up, live, port 1 optimized, port 2 non-optimized
  local p
  for p in 1 2; do
    lab_blackhole $p off 2>/dev/null
    lab_port_up $p 2>/dev/null
    [ "$(lab_state $p)" = gone ] && lab_reconnect $p
    lab_wait_state $p live 30 >/dev/null
  done
  lab_ana 1 optimized; lab_ana 2 non-optimized
} 2>/dev/null
A=$(lab_ng 1 1)

# ---- 1. loading ------------------------------------------------------------------------------
DESC="bare name: fio --ioengine=mpath_nvme randread 4k QD8, size from Identify"
check fio --name=bare $(common) --rw=randread --bs=4k --iodepth=8 --runtime=3 --time_based > bare.log 2>&1
figures bare.log
DESC="size from Identify Namespace: a full sequential read moves 64 MiB"
check bash -c "fio --name=size $(common) --rw=read --bs=256k --iodepth=4 > size.log 2>&1 && grep -q 'io=64.0MiB' size.log"
DESC="external:/path/to/mpath_nvme (no LD_LIBRARY_PATH)"
check env -u LD_LIBRARY_PATH fio --name=ext --ioengine=external:"$B/fio-engine/mpath_nvme" --filename="$A" \
  --rw=read --bs=64k --size=4m > ext.log 2>&1
DESC="completion latency and submission latency are measured (issue time stamped at commit)"
check bash -c "fio --name=lat $(common) --rw=randread --bs=4k --iodepth=4 --size=4m --output-format=json > lat.json 2>lat.err && python3 -c 'import json; j=json.load(open(\"lat.json\"))[\"jobs\"][0][\"read\"]; import sys; sys.exit(0 if j[\"clat_ns\"][\"mean\"]>0 and j[\"slat_ns\"][\"mean\"]>0 and j[\"clat_ns\"][\"mean\"]<1e9 else 1)'"

# ---- 2. no faults --------------------------------------------------------------------------
DESC="write + verify crc32c, no faults"
check bash -c "fio --name=wv $(common) --rw=write --bs=8k --iodepth=16 --size=16m --verify=crc32c --do_verify=1 > wv.log 2>&1 && grep -q 'mpath_nvme: job=wv mode=per-path nsid=1 paths=2' wv.log"
figures wv.log
DESC="randrw + verify crc32c with iodepth batching (iodepth_batch_submit=8, iodepth_batch_complete_min=4)"
check fio --name=batch $(common) --rw=randrw --bs=4k --iodepth=32 --iodepth_batch_submit=8 \
  --iodepth_batch_complete_min=4 --size=8m --verify=crc32c > batch.log 2>&1
DESC="trim (Dataset Management deallocate)"
check fio --name=trim $(common) --rw=trim --bs=64k --size=8m --iodepth=4 > trim.log 2>&1
DESC="write with fsync=8 (Flush)"
check fio --name=fsync $(common) --rw=write --bs=4k --size=2m --iodepth=4 --fsync=8 > fsync.log 2>&1
DESC="numjobs=2: one queue per job, verify, a summary and a JSON file per job"
check bash -c "fio --name=nj $(common) --rw=randwrite --bs=4k --iodepth=8 --numjobs=2 --size=8m \
  --offset_increment=16m --verify=crc32c --stats_json=nj.json > nj.log 2>&1 \
  && grep -q 'mpath_nvme: job=nj.0 ' nj.log && grep -q 'mpath_nvme: job=nj.1 ' nj.log \
  && python3 -c 'import json; [json.load(open(f)) for f in (\"nj.0.json\", \"nj.1.json\")]'"
DESC="numjobs=2 --thread: the same, jobs as threads of one process"
check bash -c "fio --name=nt $(common) --thread --rw=randwrite --bs=4k --iodepth=8 --numjobs=2 --size=8m \
  --offset_increment=16m --verify=crc32c > nt.log 2>&1 && grep -c 'mpath_nvme: job=nt\.[01] ' nt.log | grep -q 2"
# bs=1000 is no multiple of any LBA data size (the namespaces here are files on tmpfs: 4096).
DESC="bs=1000 (not whole LBAs) is refused before any I/O, naming bs and the LBA size"
rm -f unal.json
fio --name=unal $(common) --rw=write --bs=1000 --size=1m --stats_json=unal.json > unal.log 2>&1
rc=$?
grep "block size must be" unal.log | sed 's/^/     /' | tee -a results.txt
check bash -c "[ $rc -ne 0 ] && [ \$(grep -c 'block size must be' unal.log) -eq 1 ] \
  && grep -qE '^mpath_nvme: $A: block size must be a multiple of the LBA data size \([0-9]+ bytes\): bs=1000 for reads$' unal.log \
  && ! grep -qE 'mpath_nvme: job=unal|IOPS=' unal.log && [ ! -e unal.json ]"
DESC="an offset that is not whole LBAs (offset=1000) fails its I/O with a clear message"
fio --name=unoff $(common) --rw=read --bs=4k --offset=1000 --size=1m > unoff.log 2>&1
check grep -qE "offset 1000 / length 4096 not a multiple of the [0-9]+-byte LBA size" unoff.log
DESC="fixedbufs (registered buffers, IORING_URING_CMD_FIXED) write + verify"
check fio --name=fixed $(common) --rw=randwrite --bs=16k --iodepth=8 --size=8m --fixedbufs --verify=crc32c > fixed.log 2>&1
DESC="sqpoll write + verify"
check fio --name=sqp $(common) --rw=write --bs=64k --iodepth=8 --size=8m --sqpoll --verify=crc32c > sqp.log 2>&1
DESC="iopolicy=queue-depth with both paths optimized uses both"
lab_ana 2 optimized
check bash -c "fio --name=qd $(common) --rw=randread --bs=4k --iodepth=16 --runtime=3 --time_based --iopolicy=queue-depth --stats_json=qd.json > qd.log 2>&1"
DESC="iopolicy=queue-depth: both paths carried I/O"
check json_ok qd.json "all(p['ios'] > 0 for p in d['paths'])"
figures qd.log
# A job file written for io_uring_cmd (tests/unit/testdata/fio/io_uring_cmd.fio), its ioengine=
# line replaced (the job file's own ioengine= would win over the command line's), with FUA on
# every read and write; round-robin over both paths, both optimized.
DESC="io_uring_cmd job file (sqthread_poll registerfiles nonvectored fixedbufs readfua=1 writefua=1, verify) over 2 paths"
sed -e 's/^ioengine=io_uring_cmd$/ioengine=mpath_nvme/' -e 's/^readfua=0$/readfua=1/' -e 's/^writefua=0$/writefua=1/' \
  "${NVME_MPATH_SOURCE_DIR:?}/tests/unit/testdata/fio/io_uring_cmd.fio" > uring_cmd.fio
check bash -c "grep -qx readfua=1 uring_cmd.fio && grep -qx writefua=1 uring_cmd.fio && grep -qx ioengine=mpath_nvme uring_cmd.fio \
  && fio $(common) --iopolicy=round-robin --stats_json=uc.json uring_cmd.fio > uc.log 2>&1 \
  && grep -q 'mpath_nvme: job=uring_cmd_verify mode=per-path nsid=1 paths=2 policy=round-robin' uc.log"
figures uc.log
DESC="io_uring_cmd job file: no verify error, no I/O error in the fio log"
check clean_log uc.log
DESC="io_uring_cmd job file: io_errors 0, both paths carried I/O without errors (per-path JSON)"
check json_ok uc.json "d['io_errors'] == 0 and len(d['paths']) == 2 and all(p['ios'] > 0 and p['errors'] == 0 for p in d['paths'])"
B2=$(lab_ng 2 1)
DESC="paths=A:B iopolicy=active-passive preferred_path=B (explicit paths, both optimized)"
check bash -c "fio --name=ap $(common) --paths=$A:$B2 --iopolicy=active-passive --preferred_path=$B2 \
  --rw=randread --bs=4k --iodepth=8 --size=4m --stats_json=ap.json > ap.log 2>&1"
DESC="active-passive: I/O on the preferred path only (per-path JSON)"
check json_ok ap.json "len(d['paths']) == 2 and all((p['ios'] > 0) == (p['ng'] == '$B2') for p in d['paths'])"
figures ap.log
lab_ana 2 non-optimized
DESC="a bad paths= (empty entry) fails before any I/O, naming the option"
check bash -c "! fio --name=badp $(common) --paths=$A::$B2 --rw=read --bs=4k --size=1m > badp.log 2>&1 \
  && grep -q \"mpath_nvme: paths=: empty path between ':'\" badp.log"
DESC="preferred_path= without iopolicy=active-passive is refused"
check bash -c "! fio --name=badpref $(common) --preferred_path=$B2 --rw=read --bs=4k --size=1m > badpref.log 2>&1 \
  && grep -q 'preferred_path= is only used with iopolicy=active-passive' badpref.log"

# ---- 3. faults under randrw + verify ---------------------------------------------------------
# NAME RUNTIME 'fault commands' [SAW]: the faults run once the job's engine is open, plus 2 s;
# each must succeed (set -e), and the shell command SAW must show the engine saw them (default:
# some path of the engine's JSON counted errors or failovers).
SAW_ERRORS="json_ok \$name.json \"sum(p['errors'] + p['failovers'] for p in d['paths']) > 0\""
fault_run() {
  local name=$1 runtime=$2 faults=$3 saw=${4-$SAW_ERRORS} i
  restore
  rm -f /dev/shm/nvme-mpath.*
  NVME_MPATH_LOG=info fio --name="$name" $(common) --rw=randrw --bs=4k --iodepth=16 --size=16m \
    --verify=crc32c --verify_backlog=64 --runtime="$runtime" --time_based --cmd_timeout="${CMD_TIMEOUT:-1000}" \
    --stats_json="$OUT/$name.json" > "$name.log" 2>&1 &
  local fpid=$!
  # Faults start only once the job's engine is open (it publishes its stats segment): under TCG
  # fio takes seconds to start, and a path deleted while the engine opens is a different test
  # (tests/integration/badinput_guest.sh).
  for ((i = 0; i < 300; i++)); do compgen -G "/dev/shm/nvme-mpath.*" > /dev/null && break; sleep 0.1; done
  sleep 2
  ( set -e; eval "$faults" ) > "$name.faults" 2>&1
  local frc=$?
  wait $fpid
  local rc=$?
  figures "$name.log"
  if [ $rc -ne 0 ]; then  # what the host saw, for the report
    { date; lab_paths; ls -l /dev/ng* /dev/nvme*; for c in /sys/class/nvme/nvme*; do echo "$c: $(cat $c/state) $(ls $c | grep -E '^nvme[0-9]+c?[0-9]*n[0-9]+$' | tr '\n' ' ')"; done; } > "$name.diag" 2>&1
    grep -v "^ *|" "$name.log" | head -20 | sed 's/^/     /'
  fi
  DESC="fault $name: every fault action took effect (exit $frc; $name.faults)"
  check test $frc -eq 0
  DESC="fault $name: the engine saw it ($(eval echo "$saw"))"
  check eval "$saw"
  DESC="fault $name: fio exit status $rc"
  check test $rc -eq 0
  DESC="fault $name: no verify error, no I/O error in the fio log"
  check clean_log "$name.log"
  DESC="fault $name: io_errors 0 in the engine's JSON"
  check json_ok "$name.json" "d['io_errors'] == 0"
}
# The ANA poll may move I/O before any command fails: that I/O moved is what the engine saw.
fault_run ana 12 'lab_ana 1 inaccessible; lab_ana 2 optimized; sleep 3; lab_ana 1 optimized; lab_ana 2 non-optimized' \
  "json_ok ana.json \"len(d['paths']) == 2 and all(p['ios'] > 0 for p in d['paths'])\""
fault_run portdown 12 'lab_port_down 1; sleep 3; lab_port_up 1'
# A reset of an idle-looking loopback controller drains what is in flight before it cancels
# anything (measured: 0 errors in 28,277 I/Os across two resets), so the engine would see
# nothing. Resetting a controller whose commands are stuck is the case that matters: the reset
# then cancels them (-EINTR / 0x371) and the engine must fail them over. The reset comes 0.3 s
# into the blackhole; the job runs with the kernel's default command timeout, so that only the
# host's keep-alive (2 s) could start a reset of its own first.
CMD_TIMEOUT=0 fault_run reset 20 'lab_blackhole 1 on; sleep 0.3; lab_reset 1; lab_blackhole 1 off; lab_wait_state 1 live 30; sleep 1; lab_reset 2'
# A deleted controller's commands drain too; what the engine must see is the path gone and
# reopened on the reconnected controller (its log line).
fault_run delete 14 'lab_delete 1; sleep 2; lab_reconnect 1' "grep -q 'reopened as' delete.log"
fault_run blackhole 14 'lab_blackhole 1 on; sleep 4; lab_blackhole 1 off'
# The whole sequence in one run, each step after the previous one has settled.
STORM='lab_ana 1 inaccessible; lab_ana 2 optimized; sleep 3; lab_ana 1 optimized; lab_ana 2 non-optimized; sleep 2;
  lab_port_down 1; sleep 3; lab_port_up 1; lab_wait_state 1 live 20; sleep 2;
  lab_delete 1; sleep 2; lab_reconnect 1; lab_wait_state 1 live 20; sleep 2;
  lab_reset 1; lab_wait_state 1 live 20; sleep 1; lab_reset 2; lab_wait_state 2 live 20'
fault_run storm 45 "$STORM"
restore

DESC="stats JSON: schema_version 1, per-path counters"
check json_ok storm.json "d['schema_version'] == 1 and len(d['paths']) == 2 and sum(p['ios'] for p in d['paths']) > 0 and sum(p['errors'] for p in d['paths']) > 0"

# ---- 4. version safety, JSON output -------------------------------------------------------
DESC="a different fio version is refused with one clear line, no crash"
NVME_MPATH_FIO_VERSION_OVERRIDE=fio-9.99 fio --name=ver $(common) --rw=read --bs=4k --size=1m > ver.log 2>&1
rc=$?
grep "built for" ver.log | sed 's/^/     /'
check bash -c "[ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q 'mpath_nvme: built for fio-3.33 but loaded into fio-9.99; rebuild' ver.log"
DESC="--output-format=json: stdout stays JSON, the stats file is written"
rm -f mpath_nvme-stats.js.*.json
check bash -c "fio --name=js $(common) --rw=read --bs=64k --size=4m --output-format=json > js.out 2>js.err && python3 -c 'import json; json.load(open(\"js.out\"))' && ls mpath_nvme-stats.js.*.json >/dev/null"

DESC="no log of this run reports a second completion of one I/O (BUG:)"
check bash -c "! grep -l 'BUG:' *.log"

echo "$pass passed, $fail failed" | tee -a results.txt
[ "$fail" -eq 0 ]
