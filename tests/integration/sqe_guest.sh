#!/bin/bash
# Runs in the VM lab (1 port): SQE ownership on a real /dev/ngXnY. The raw probe shows what this
# kernel does with an SQE rewritten after submission (informational: 6.1 never reads it again,
# Debian's 6.12 does); sqe_lab_test then checks that the transport's reads all return their own
# blocks, and a kprobe on nvme_uring_cmd_io counts how many commands were issued from io-wq
# threads during it: none would mean the test never met the hazard; it runs again then (up to
# 10 runs), and fails if none met it.
set -uo pipefail
B=${NVME_MPATH_BUILD_DIR:?}
source "$LAB_LIB"
fail=0
A=$(lab_ng 1 1) || { echo "FAIL - no ng device for port 1"; exit 1; }
lbs=$(cat "/sys/block/nvme${A#/dev/ng}/queue/logical_block_size") || exit 1
echo "kernel $(uname -r), $A, LBA size $lbs"
"$B/tests/lab/sqe_reread_probe" "$A" "$lbs" 384 || { echo "FAIL - sqe_reread_probe"; fail=1; }
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs nodev $T || { echo "FAIL - no tracefs"; exit 1; }
echo 'p:lab_iowq nvme_uring_cmd_io' >> $T/kprobe_events || { echo "FAIL - cannot add kprobe"; exit 1; }
echo 'comm ~ "iou-wrk*"' > $T/events/kprobes/lab_iowq/filter && echo 1 > $T/events/kprobes/lab_iowq/enable || exit 1
# Whether the kernel punts any command depends on timing: completions that free tags while the
# batch is still being issued leave none short (seen once in a CI run: 0 of 384). So the test
# runs up to 10 times, each run has to pass, and the first run that met the hazard ends it.
n=0
for try in $(seq 10); do
  echo > $T/trace; echo 1 > $T/tracing_on
  "$B/tests/integration/sqe_lab_test" --gtest_color=no || fail=1
  n=$(grep -c 'lab_iowq:' $T/trace)
  echo "run $try: commands issued from io-wq during sqe_lab_test: $n"
  [ "$n" -gt 0 ] && break
done
echo 0 > $T/events/kprobes/lab_iowq/enable
if [ "$n" -gt 0 ]; then echo "PASS - the test met the io-wq re-issue"; else echo "FAIL - no command was issued from io-wq in $try runs: the test did not meet the hazard"; fail=1; fi
exit $fail
