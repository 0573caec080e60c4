#!/bin/bash
# iopoll_bench_guest.sh — guest side of bench/iopoll_bench.sh (the PCIe topology): nvme reloaded
# with poll_queues=1, then 4k random read at QD 32 for NVME_MPATH_BENCH_SECONDS (4) after a 1 s
# ramp, NVME_MPATH_BENCH_REPS (5) interleaved rounds of: fio io_uring_cmd on controller 1,
# mpath_nvme over controllers 1 and 2 (round-robin) and mpath_nvme on one of them (numa: every
# command down the first path), each polled (hipri=1) and not; then one polled run of each with
# its io_uring_enter calls counted. fio JSON in $LAB_OUT as TARGET.ROUND.json.
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
export LD_LIBRARY_PATH=$B/fio-engine
cd "${LAB_OUT:?}" || exit 1
RT=${NVME_MPATH_BENCH_SECONDS:-4}
REPS=${NVME_MPATH_BENCH_REPS:-5}
die() { echo "iopoll_bench: $*"; exit 1; }
case $(uname -r) in 6.1.*|6.1-*) die "not on 6.1: polled passthrough crashes it (docs/kernels.md)" ;; esac
rmmod nvme && modprobe nvme poll_queues=1 || die "cannot reload nvme with poll_queues=1"
for p in 1 2; do for ns in $(_lab_pcie_nsids "$p"); do _lab_wait_ng "$p" "$ns" 30 || die "controller $p's ng devices did not come back"; done; done
A=$(lab_ng 1 1) || die "no ng device"
for p in 1 2; do
  q=/sys/block/$(basename "$(lab_ng $p 1)" | sed 's/^ng/nvme/')/queue/io_poll
  [ "$(cat "$q")" = 1 ] || die "$q is not 1"
done
common=(--rw=randread --bs=4k --iodepth=32 --runtime="$RT" --time_based --ramp_time=1 --size=32m --output-format=json)
run() {  # NAME FIO-ARGS...
  local f=$1.$r
  shift
  fio --name="${f%%.*}" "${common[@]}" "$@" > "$f.json" 2> "$f.err" || { cat "$f.err"; die "fio $f failed"; }
}
for ((r = 1; r <= REPS; r++)); do
  for hipri in 1 0; do
    run uc-hipri$hipri --ioengine=io_uring_cmd --cmd_type=nvme --filename="$A" --hipri=$hipri
    run mp-hipri$hipri --ioengine=mpath_nvme --filename="$A" --iopolicy=round-robin --hipri=$hipri
    run mp1-hipri$hipri --ioengine=mpath_nvme --filename="$A" --iopolicy=numa --hipri=$hipri
  done
  echo "iopoll_bench: round $r done"
done
# Then, apart from the rounds above (tracing every call would slow the target that makes more),
# one polled run of each target of a fixed number of I/Os with the kernel counting its
# io_uring_enter calls (a tracefs histogram, as bench/syscall_bench.sh): TARGET.calls.json/.hist.
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs nodev $T || die "cannot mount tracefs"
EV=$T/events/syscalls/sys_enter_io_uring_enter
HIST='hist:keys=common_pid.execname:vals=hitcount:sort=hitcount'
counted() {  # NAME FIO-ARGS... (hipri after them: an engine option, known once --ioengine is)
  local f=$1.calls
  shift
  echo "$HIST" > $EV/trigger || die "cannot set the histogram"
  fio --name="${f%%.*}" --rw=randread --bs=4k --iodepth=32 --size=32m --io_size=40m \
    --output-format=json "$@" --hipri=1 > "$f.json" 2> "$f.err" || { cat "$f.err"; die "fio $f failed"; }
  cat $EV/hist > "$f.hist"
  echo "!$HIST" > $EV/trigger || die "cannot remove the histogram"
}
counted uc --ioengine=io_uring_cmd --cmd_type=nvme --filename="$A"
counted mp --ioengine=mpath_nvme --filename="$A" --iopolicy=round-robin
counted mp1 --ioengine=mpath_nvme --filename="$A" --iopolicy=numa
echo "iopoll_bench: kernel $(uname -r)"
