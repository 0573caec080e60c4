#!/bin/bash
# Runs in the VM lab: the installed examples (built against the installed package by the
# unit.install test, with find_package and with pkg-config) run across a failover with no error:
# applog-c (C API, synchronous), epoll-c (C API, a queue in an epoll loop through its fd: it
# must have been woken by the fd, not only by its 10 ms timer polls) and applog-cpp (C++ API).
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
P=$B/install-test
libdir=$(dirname "$(find "$P" -name libnvme_mpath.so | head -1)")
export LD_LIBRARY_PATH=$libdir
cd "${LAB_OUT:-/tmp}" || exit 1
pass=0 fail=0
for bin in "$P"/examples/applog-c-pkgconfig "$P"/examples/applog-c-cmake/applog-c \
           "$P"/examples/epoll-c-pkgconfig "$P"/examples/epoll-c-cmake/epoll-c \
           "$P"/examples/applog-cpp-pkgconfig "$P"/examples/applog-cpp-cmake/applog-cpp; do
  [ -x "$bin" ] || { echo "FAIL - $bin not built (run the unit.install test first)"; fail=$((fail+1)); continue; }
  lab_ana 1 optimized && lab_ana 2 non-optimized || { echo "FAIL - lab_ana"; fail=$((fail+1)); }
  # Each fault action must succeed (&&): the subshell's status says whether the failover happened.
  ( sleep 1 && lab_ana 1 inaccessible && lab_ana 2 optimized && sleep 2 && lab_port_down 2 && sleep 2 &&
    lab_ana 1 optimized && lab_port_up 2 ) &
  fpid=$!
  "$bin" "$(lab_ng 1 1)" 3000 > ex.log 2>&1
  rc=$?
  wait $fpid; frc=$?
  lab_wait_state 2 live 20 >/dev/null; wrc=$?
  cat ex.log
  fdrc=0
  case $bin in *epoll-c*) grep -Eq "queue fd wake-ups: [1-9]" ex.log || fdrc=1 ;; esac
  if [ $rc = 0 ] && [ $frc = 0 ] && [ $wrc = 0 ] && [ $fdrc = 0 ] && grep -q "written, flushed and verified" ex.log; then
    echo "ok   - $(basename "$bin") across a failover"; pass=$((pass+1))
  else echo "FAIL - $(basename "$bin") exit $rc (fault actions exit $frc, port 2 live again: exit $wrc, no fd wake-up: $fdrc)"; fail=$((fail+1)); fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
