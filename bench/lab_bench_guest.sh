#!/bin/bash
# Guest side of bench/lab_bench.sh: 4k random read at QD32 with fio, NVME_MPATH_BENCH_REPS runs
# of each target, interleaved (a, b, a, b, ...) so that drift hits both alike; fio JSON results
# in $LAB_OUT as NAME.RUN.json.
#   multipath=N: mpath_nvme over 2 paths (both optimized, round-robin) and io_uring_cmd on one path
#   multipath=Y: mpath_nvme on the kernel's native head (head mode) and io_uring_cmd on that head
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
export LD_LIBRARY_PATH=$B/fio-engine
cd "${LAB_OUT:?}" || exit 1
RT=${NVME_MPATH_BENCH_SECONDS:-10}
REPS=${NVME_MPATH_BENCH_REPS:-3}
common=(--rw=randread --bs=4k --iodepth=32 --runtime="$RT" --time_based --ramp_time=2 --output-format=json)
if [ "$(cat /sys/module/nvme_core/parameters/multipath)" = Y ]; then
  H=$(lab_head_ng 1) || exit 1
  fio --name=fill --ioengine=io_uring_cmd --cmd_type=nvme --filename="$H" --rw=write --bs=128k --size=64m >/dev/null 2>&1
  for r in $(seq 1 "$REPS"); do
    fio --name=head "${common[@]}" --ioengine=io_uring_cmd --cmd_type=nvme --filename="$H" > "head.$r.json" || exit 1
    fio --name=mpath_head "${common[@]}" --ioengine=mpath_nvme --filename="$H" > "mpath_head.$r.json" || exit 1
  done
else
  lab_ana 1 optimized; lab_ana 2 optimized
  fio --name=fill --ioengine=io_uring_cmd --cmd_type=nvme --filename="$(lab_ng 1 1)" --rw=write --bs=128k --size=64m >/dev/null 2>&1
  for r in $(seq 1 "$REPS"); do
    fio --name=single "${common[@]}" --ioengine=io_uring_cmd --cmd_type=nvme --filename="$(lab_ng 1 1)" > "single.$r.json" || exit 1
    fio --name=mpath "${common[@]}" --ioengine=mpath_nvme --filename="$(lab_ng 1 1)" --iopolicy=round-robin \
      --stats_json="mpath-paths.$r.json" > "mpath.$r.json" || exit 1
  done
  lab_ana 2 non-optimized
fi
