#!/bin/bash
# Runs in the VM lab: bad inputs that need real devices (docs/bad-inputs.md lists every row and
# the test that covers it). Each gets one clear error, nothing hangs, data already written stays.
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
V=$B/tests/integration/nvme-mpath-verify
cd "${LAB_OUT:-/tmp}" || exit 1
pass=0 fail=0
check() { if "$@"; then echo "ok   - $DESC"; pass=$((pass+1)); else echo "FAIL - $DESC"; fail=$((fail+1)); fi; }
A=$(lab_ng 1 1)

PROBE=$B/tests/lab/lab_probe
# Data written before the bad inputs must survive them (namespace 2, which nothing else writes).
"$PROBE" -p 0x77 -l 1000 -n 4 write "$(lab_ng 1 2)" >/dev/null

# EACCES on /dev/ng*: an unprivileged user.
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$V" --dev "$A" --seconds 1 2>&1); rc=$?
echo "$out" | tail -2
DESC="EACCES on $A: one clear error naming the device (exit $rc)"
check bash -c "[ $rc -eq 1 ] && grep -q 'Permission denied' <<<\"\$0\" && grep -q '$A' <<<\"\$0\"" "$out"

# io_uring disabled: the sysctl exists from Linux 6.6 (the 6.12 lab run covers it).
if [ -w /proc/sys/kernel/io_uring_disabled ]; then
  echo 2 > /proc/sys/kernel/io_uring_disabled
  out=$("$V" --dev "$A" --seconds 1 2>&1); rc=$?
  echo 0 > /proc/sys/kernel/io_uring_disabled
  echo "$out" | tail -2
  DESC="io_uring disabled (sysctl = 2): clear error naming the sysctl (exit $rc)"
  check bash -c "[ $rc -eq 1 ] && grep -q 'io_uring_disabled' <<<\"\$0\"" "$out"
else
  echo "skip - kernel.io_uring_disabled does not exist on $(uname -r) (added in 6.6; covered on 6.12)"
fi

# A controller that disappears while the engine opens.
for i in 1 2 3; do
  ( sleep 0.$((i * 2)); lab_delete 2 ) &
  out=$(timeout 60 "$V" --dev "$A" --seconds 2 --region-mb 1 2>&1); rc=$?
  wait
  echo "$out" | grep -E "verify: done|left out|gone|verify: [a-z/]" | head -4
  DESC="controller deleted during open (try $i): no hang, no error or one clear error (exit $rc)"
  check bash -c "[ $rc -eq 0 ] || { [ $rc -eq 1 ] && [ \$(grep -c . <<<\"\$0\") -ge 1 ]; }" "$out"
  lab_reconnect 2 >/dev/null 2>&1
done

# Out-of-range, misaligned and zero-length requests are rejected before anything is sent:
# engine_lab_test (BadRequestsGetClearErrorsAndNothingIsSent) covers them on real paths.

DESC="data written before the bad inputs is intact"
check "$PROBE" -e 0x77 -l 1000 -n 4 read "$(lab_ng 2 2)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
