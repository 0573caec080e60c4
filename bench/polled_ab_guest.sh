#!/bin/bash
# polled_ab_guest.sh — the session-11 alternating runs of docs/benchmarks.md ("Lab: polled I/O"),
# as run: fio io_uring_cmd and mpath_nvme (one path, numa), 4k randread QD 32, 3 rounds without
# poll queues, then 3 with nvme poll_queues=1, polled and not; one line per run (IOPS, usr/sys
# CPU %, context switches, mean completion latency). An experiment, not a benchmark. Run from the
# repository root:
#   NVME_MPATH_BUILD_DIR=$PWD/build tests/lab/vm.sh --kernel 6.12 --topology pcie --timeout 600 \
#     -- /bin/bash bench/polled_ab_guest.sh
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
export LD_LIBRARY_PATH=$B/fio-engine
cd "${LAB_OUT:?}" || exit 1
common=(--rw=randread --bs=4k --iodepth=32 --runtime=4 --time_based --ramp_time=1 --size=32m --output-format=json)
one() { # label args
  local l=$1; shift
  fio --name=x "${common[@]}" "$@" > r.json 2>r.err || { cat r.err; return; }
  python3 -c "import json;j=json.load(open('r.json'))['jobs'][0];r=j['read'];print('$l iops %.0f usr %.1f sys %.1f ctx %d lat_us %.1f' % (r['iops'],j['usr_cpu'],j['sys_cpu'],j['ctx'],r['clat_ns']['mean']/1000))"
}
A=$(lab_ng 1 1)
for r in 1 2 3; do
  one "nopollq uc hipri0" --ioengine=io_uring_cmd --cmd_type=nvme --filename="$A"
  one "nopollq mp1 hipri0" --ioengine=mpath_nvme --filename="$A" --iopolicy=numa
done
rmmod nvme && modprobe nvme poll_queues=1
for p in 1 2; do for ns in $(_lab_pcie_nsids "$p"); do _lab_wait_ng "$p" "$ns" 30; done; done
A=$(lab_ng 1 1)
for r in 1 2 3; do
  for h in 0 1; do
  one "pollq uc hipri$h" --ioengine=io_uring_cmd --cmd_type=nvme --filename="$A" --hipri=$h
  one "pollq mp1 hipri$h" --ioengine=mpath_nvme --filename="$A" --iopolicy=numa --hipri=$h
  done
done
