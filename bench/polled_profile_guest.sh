#!/bin/bash
# polled_profile_guest.sh — the session-11 profile of docs/benchmarks.md ("Lab: polled I/O"), as
# run: one polled 8 s fio run of io_uring_cmd and of mpath_nvme (one path, numa) under perf record,
# then the share of samples by binary and the top user-space symbols. An experiment, not a
# benchmark (one run each, no peer ratio). Run from the repository root:
#   NVME_MPATH_BUILD_DIR=$PWD/build tests/lab/vm.sh --kernel 6.12 --topology pcie --timeout 600 \
#     -- /bin/bash bench/polled_profile_guest.sh
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
export LD_LIBRARY_PATH=$B/fio-engine
cd "${LAB_OUT:?}" || exit 1
rmmod nvme && modprobe nvme poll_queues=1
for p in 1 2; do for ns in $(_lab_pcie_nsids "$p"); do _lab_wait_ng "$p" "$ns" 30; done; done
A=$(lab_ng 1 1)
common=(--rw=randread --bs=4k --iodepth=32 --runtime=8 --time_based --ramp_time=1 --size=32m --hipri=1)
for t in uc mp1; do
  case $t in
    uc) args=(--ioengine=io_uring_cmd --cmd_type=nvme --filename="$A") ;;
    mp1) args=(--ioengine=mpath_nvme --filename="$A" --iopolicy=numa) ;;
  esac
  perf record -F 999 -g -o $t.perf -- fio --name=$t "${common[@]:0:7}" "${args[@]}" --hipri=1 --output-format=json > $t.json 2>$t.err
  python3 -c "import json;j=json.load(open('$t.json'))['jobs'][0];print('$t iops',j['read']['iops'],'usr',j['usr_cpu'],'sys',j['sys_cpu'])"
  echo "== $t by dso"; perf report -i $t.perf --no-children --sort dso --stdio 2>/dev/null | grep '%' | grep -v '^ *|' | head -12
  echo "== $t user symbols"; perf report -i $t.perf --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep '%' | grep -v kernel | head -40
done
