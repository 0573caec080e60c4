#!/bin/bash
# latency_bench_guest.sh — guest side of bench/latency_bench.sh: two optimized paths, port 1's
# traffic from the target delayed by NVME_MPATH_BENCH_DELAY_MS (30) in the fault proxy
# (lab_delay), 4k random read for NVME_MPATH_BENCH_SECONDS (3) after a 1 s ramp, at QD 1, 8 and
# 32, NVME_MPATH_BENCH_REPS (3) interleaved rounds. Writes fio JSON to $LAB_OUT as
# TARGET.qdQD.ROUND.json:
#   multipath=N  mpath_nvme: unimpaired-round-robin, unimpaired-latency (no delay), then with the
#                delay numa, round-robin, queue-depth, latency; and recovery.jsonl/.txt: the
#                latency policy at QD 32 while the delay is switched on (4 s) and off (9 s),
#                the engine's per-path ios every 100 ms
#   multipath=Y  fio io_uring_cmd on the kernel's head: head-unimpaired (round-robin), then with
#                the delay head-numa, head-round-robin, head-queue-depth (the subsystem iopolicy)
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
CTL=$B/tools/nvme-mpath-ctl/nvme-mpath-ctl
export LD_LIBRARY_PATH=$B/fio-engine
cd "${LAB_OUT:?}" || exit 1
RT=${NVME_MPATH_BENCH_SECONDS:-3}
REPS=${NVME_MPATH_BENCH_REPS:-3}
DELAY=${NVME_MPATH_BENCH_DELAY_MS:-30}
common=(--rw=randread --bs=4k --runtime="$RT" --time_based --ramp_time=1 --output-format=json)
die() { echo "latency_bench: $*"; exit 1; }
lab_ana 1 optimized && lab_ana 2 optimized || die "cannot set ANA states"
run() {  # NAME QD FIO-ARGS...
  local name=$1 qd=$2
  shift 2
  fio --name="$name" "${common[@]}" --iodepth="$qd" "$@" > "$name.qd$qd.$r.json" 2> "$name.qd$qd.$r.err" \
    || { cat "$name.qd$qd.$r.err"; die "fio $name QD $qd round $r failed"; }
}
if [ "$(cat /sys/module/nvme_core/parameters/multipath)" = Y ]; then
  H=$(lab_head_ng 1) || die "no head"
  SUB=$(ls -d /sys/class/nvme-subsystem/nvme-subsys*/ | head -1)
  [ -w "$SUB/iopolicy" ] || die "no iopolicy in $SUB"
  pol() { echo "$1" > "$SUB/iopolicy" || die "iopolicy $1 refused"; }
  fio --name=fill --ioengine=io_uring_cmd --cmd_type=nvme --filename="$H" --rw=write --bs=128k --size=64m >/dev/null 2>&1
  for ((r = 1; r <= REPS; r++)); do
    for qd in 1 8 32; do
      lab_delay 1 0 || die "lab_delay"
      pol round-robin; run head-unimpaired "$qd" --ioengine=io_uring_cmd --cmd_type=nvme --filename="$H"
      lab_delay 1 "$DELAY" || die "lab_delay"
      for p in numa round-robin queue-depth; do
        pol "$p"; run "head-$p" "$qd" --ioengine=io_uring_cmd --cmd_type=nvme --filename="$H"
      done
    done
    echo "latency_bench: round $r done"
  done
  lab_delay 1 0
else
  A=$(lab_ng 1 1) || die "no ng device"
  fio --name=fill --ioengine=io_uring_cmd --cmd_type=nvme --filename="$A" --rw=write --bs=128k --size=64m >/dev/null 2>&1
  m=(--ioengine=mpath_nvme --filename="$A")
  [ "${NVME_MPATH_BENCH_RECOVERY_ONLY:-0}" = 1 ] && REPS=0
  for ((r = 1; r <= REPS; r++)); do
    for qd in 1 8 32; do
      lab_delay 1 0 || die "lab_delay"
      run unimpaired-round-robin "$qd" "${m[@]}" --iopolicy=round-robin
      run unimpaired-latency "$qd" "${m[@]}" --iopolicy=latency
      lab_delay 1 "$DELAY" || die "lab_delay"
      for p in numa round-robin queue-depth latency; do run "$p" "$qd" "${m[@]}" --iopolicy="$p"; done
    done
    echo "latency_bench: round $r done"
  done
  # Recovery: the latency policy at QD 32 for 24 s: no delay for 4 s, port 1 delayed from 4 s to
  # 9 s, healed after; the engine's counters every 100 ms, the two switch times marked.
  lab_delay 1 0 || die "lab_delay"
  rm -f /dev/shm/nvme-mpath.*
  fio --name=recovery --rw=randread --bs=4k --iodepth=32 --runtime=24 --time_based \
    --output-format=json "${m[@]}" --iopolicy=latency > recovery.json 2> recovery.err &
  fpid=$!
  for ((i = 0; i < 300; i++)); do "$CTL" stats --name recovery > /dev/null 2>&1 && break; sleep 0.1; done
  # The engine's counters every 100 ms, each sample with its time (watch -o json: one document a
  # line); a ctl + python sample per loop turn took 2-3 s under TCG.
  "$CTL" watch --name recovery --interval 0.1 -o json > recovery.jsonl 2> recovery.watch.err &
  wpid=$!
  # Each switch is marked at the start of its lab_delay call (the call takes ~0.7 s under TCG and
  # the proxy switches within it), so the recovery is timed from the earliest the switch can be.
  sleep 4
  echo "delay-on $(date +%s%3N)" > recovery.txt
  lab_delay 1 "$DELAY" || die "lab_delay"
  sleep 5
  echo "delay-off $(date +%s%3N)" >> recovery.txt
  lab_delay 1 0 || die "lab_delay"
  wait $fpid || { cat recovery.err; die "recovery fio failed"; }
  kill $wpid 2>/dev/null
  echo "slow $A" >> recovery.txt
fi
echo "latency_bench: kernel $(uname -r)"
