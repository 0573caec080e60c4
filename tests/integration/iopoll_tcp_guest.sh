#!/bin/bash
# iopoll_tcp_guest.sh — runs in the VM lab (tests/lab/vm.sh, NVMe/TCP) on 6.12: where polled
# I/O (fio hipri=1, QueueOptions::iopoll) is refused on NVMe/TCP paths, and why. No polled
# command is sent: polled passthrough over nvme-tcp crashed this kernel (6.12.117: a NULL pointer
# dereference in nvme_tcp_poll() from io_do_iopoll(), on the third polled run of fio's own
# io_uring_cmd hipri=1 (the fifth polled run of the boot), no fault; docs/kernels.md). Polled I/O itself is lab.iopoll.6.12 (PCIe).
#  1. Without poll queues, mpath_nvme hipri=1 is refused before any I/O, naming the path, its
#     io_poll attribute and `nvme connect --nr-poll-queues`.
#  2. Both ports reconnected with --nr-poll-queues=1 (io_poll 1 on both): hipri=1 is refused
#     again, now naming nvme-tcp, the crash and hipri_force; no I/O.
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
io_poll() { local c; c=$(lab_ctrl "$1") || return 1; cat "/sys/block/${c}n1/queue/io_poll"; }
reconnect_polled() {  # PORT: disconnect and connect again with one poll queue
  local c
  c=$(lab_ctrl "$1") || return 1
  nvme disconnect -d "$c" > /dev/null || return 1
  lab_wait_state "$1" gone 20 || return 1
  LAB_CONNECT_EXTRA="--nr-poll-queues=1" lab_reconnect "$1"
}
# hipri after --ioengine: fio parses an engine's options only once the engine is known.
polled_fio() {  # LOG: one polled mpath_nvme job over both paths; its exit status
  fio --name=poll --ioengine=mpath_nvme --filename="$(lab_ng 1 1)" --rw=randread --bs=4k --size=1m \
    --hipri=1 --iopolicy=round-robin > "$1" 2>&1
}
case $(uname -r) in 6.1.*|6.1-*) echo "iopoll_tcp_guest: for 6.12 (6.1 is refused for its kernel first)"; exit 1 ;; esac
lab_ana 1 optimized && lab_ana 2 optimized || exit 1

# ---- 1. refused without poll queues ----------------------------------------------------------
DESC="the lab's default connect has no poll queues (io_poll $(io_poll 1))"
check test "$(io_poll 1)" = 0
polled_fio nopoll.log; rc=$?
DESC="mpath_nvme hipri=1 without poll queues: fio fails ($rc) naming the path and the fix, no I/O"
check bash -c "[ $rc -ne 0 ] && grep -q 'has no poll queues' nopoll.log && grep -q 'nr-poll-queues' nopoll.log && ! grep -q 'IOPS=' nopoll.log"
grep -m1 "poll queues" nopoll.log | sed 's/^/     /'

# ---- 2. refused on nvme-tcp with poll queues -------------------------------------------------
reconnect_polled 1 && reconnect_polled 2; rc=$?
DESC="both ports reconnected with --nr-poll-queues=1 ($rc)"
check test $rc -eq 0
lab_ana 1 optimized && lab_ana 2 optimized
DESC="io_poll is 1 on both paths ($(io_poll 1) $(io_poll 2)), their transport tcp ($(cat /sys/class/nvme/"$(lab_ctrl 1)"/transport))"
check test "$(io_poll 1)" = 1 -a "$(io_poll 2)" = 1 -a "$(cat /sys/class/nvme/"$(lab_ctrl 1)"/transport)" = tcp
polled_fio tcp.log; rc=$?
DESC="mpath_nvme hipri=1 on nvme-tcp paths with poll queues: fio fails ($rc) naming nvme-tcp, the crash and hipri_force, no I/O"
check bash -c "[ $rc -ne 0 ] && grep -q 'over nvme-tcp crashes the kernel' tcp.log && grep -q 'nvme_tcp_poll' tcp.log && grep -q 'hipri_force=1' tcp.log && ! grep -q 'IOPS=' tcp.log"
grep -m1 "nvme-tcp" tcp.log | sed 's/^/     /'
echo "$pass passed, $fail failed"
[ $fail = 0 ]
