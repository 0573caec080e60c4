#!/bin/bash
# syscall_bench_guest.sh — guest side of bench/syscall_bench.sh: io_uring_enter calls per I/O of
# fio io_uring_cmd on one path and of mpath_nvme over both (round-robin), 4k random read at QD 1,
# 32 and 128, NVME_MPATH_BENCH_REPS (3) interleaved rounds. Each run does a fixed number of I/Os
# (io_size) with the kernel counting every io_uring_enter entry per process (a tracefs histogram
# on syscalls/sys_enter_io_uring_enter, set up before fio starts and read after it exits). Writes
# to $LAB_OUT, per run TARGET.qdQD.ROUND: .json (fio's) and .hist (the histogram).
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
export LD_LIBRARY_PATH=$B/fio-engine
cd "${LAB_OUT:?}" || exit 1
REPS=${NVME_MPATH_BENCH_REPS:-3}
die() { echo "syscall_bench: $*"; exit 1; }
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs nodev $T || die "cannot mount tracefs"
EV=$T/events/syscalls/sys_enter_io_uring_enter
[ -w $EV/trigger ] || die "no $EV/trigger (CONFIG_FTRACE_SYSCALLS, CONFIG_HIST_TRIGGERS)"
HIST='hist:keys=common_pid.execname:vals=hitcount:sort=hitcount'
lab_ana 1 optimized && lab_ana 2 optimized || die "cannot set ANA states"
A=$(lab_ng 1 1) || die "no ng device"
fio --name=fill --ioengine=io_uring_cmd --cmd_type=nvme --filename="$A" --rw=write --bs=128k --size=64m >/dev/null 2>&1 \
  || die "fill failed"
run() {  # NAME QD IOS FIO-ARGS...: one run of IOS I/Os, counted
  local name=$1 qd=$2 ios=$3 f=$1.qd$2.$r
  shift 3
  echo "$HIST" > $EV/trigger || die "cannot set the histogram"
  fio --name="$name" --rw=randread --bs=4k --size=64m --io_size=$((ios * 4))k --iodepth="$qd" \
    --output-format=json "$@" > "$f.json" 2> "$f.err" || { cat "$f.err"; die "fio $f failed"; }
  cat $EV/hist > "$f.hist"
  echo "!$HIST" > $EV/trigger || die "cannot remove the histogram"
}
for ((r = 1; r <= REPS; r++)); do
  for qd in 1 32 128; do
    ios=$((qd == 1 ? 3000 : 20000))
    run io_uring_cmd "$qd" "$ios" --ioengine=io_uring_cmd --cmd_type=nvme --filename="$A"
    run mpath_nvme "$qd" "$ios" --ioengine=mpath_nvme --filename="$A" --iopolicy=round-robin
  done
  echo "syscall_bench: round $r done"
done
echo "syscall_bench: kernel $(uname -r)"
