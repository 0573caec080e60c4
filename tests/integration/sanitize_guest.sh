#!/bin/bash
# sanitize_guest.sh — runs in the VM lab from the ASan+UBSan build (scripts/test.sh, sanitizer
# stage): the library's three front doors on real /dev/ngXnY paths with every sanitizer report
# fatal (-fno-sanitize-recover, abort_on_error=1):
#  1. the C++ API: the engine's lab tests (engine_lab_test);
#  2. the C API I/O path: examples/applog-c (built as applog-c-lab) across a failover;
#  3. the fio engine (the C API inside fio): write + verify across an ANA flip and a port down,
#     fio itself not instrumented, so the sanitizer runtimes are preloaded.
# One "ok"/"FAIL" line per check, then "N passed, M failed".
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
OUT=${LAB_OUT:-/tmp}
cd "$OUT" || exit 1
pass=0 fail=0
check() { if "$@"; then echo "ok   - $DESC"; pass=$((pass+1)); else echo "FAIL - $DESC"; fail=$((fail+1)); fi; }
no_report() { ! grep -qE "ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:" "$1"; }
restore() { lab_ana 1 optimized && lab_ana 2 non-optimized && lab_port_up 2 && lab_wait_state 2 live 30; }

# 1. C++ API
"$B/tests/integration/engine_lab_test" --gtest_color=no > engine.log 2>&1
rc=$?
tail -3 engine.log
DESC="C++ API: engine_lab_test under ASan+UBSan (exit $rc)"; check test $rc -eq 0
DESC="C++ API: no sanitizer report"; check no_report engine.log

# 2. C API: applog-c across a failover (ANA flip, then the other port down and up).
restore
( sleep 1 && lab_ana 1 inaccessible && lab_ana 2 optimized && sleep 2 && lab_ana 1 optimized && lab_ana 2 non-optimized ) &
fpid=$!
"$B/tests/integration/applog-c-lab" "$(lab_ng 1 1)" 2000 > applog.log 2>&1
rc=$?
wait $fpid; frc=$?
cat applog.log
DESC="C API: applog-c under ASan+UBSan across an ANA failover (exit $rc, faults exit $frc)"
check bash -c "[ $rc -eq 0 ] && [ $frc -eq 0 ] && grep -q 'written, flushed and verified' applog.log"
DESC="C API: no sanitizer report (leaks included)"; check no_report applog.log

# 3. fio engine, instrumented, loaded into the distribution's fio.
restore
pre="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
( sleep 3 && lab_ana 1 inaccessible && lab_ana 2 optimized && sleep 2 && lab_ana 1 optimized && lab_ana 2 non-optimized \
  && sleep 1 && lab_port_down 1 && sleep 2 && lab_port_up 1 ) &
fpid=$!
# fio's own allocations are not ours to judge: leak checking off for this one.
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 LD_PRELOAD=$pre LD_LIBRARY_PATH=$B/fio-engine \
  fio --name=asan --ioengine=mpath_nvme --filename="$(lab_ng 1 1)" --direct=1 --rw=randrw --bs=4k \
  --iodepth=16 --size=8m --runtime=12 --time_based --verify=crc32c --cmd_timeout=1000 \
  --stats_json="$OUT/asan.json" > fio.log 2>&1
rc=$?
wait $fpid; frc=$?
grep -E "IOPS=|  path /dev|err=" fio.log | sed 's/^/     /'
DESC="fio engine under ASan+UBSan: randrw + verify across an ANA flip and a port down (exit $rc, faults exit $frc)"
check bash -c "[ $rc -eq 0 ] && [ $frc -eq 0 ] && ! grep -qE 'verify: bad|err= *[1-9]|BUG:' fio.log"
DESC="fio engine: the engine saw the faults (errors or failovers counted)"
check python3 -c "import json,sys; d=json.load(open('$OUT/asan.json')); sys.exit(0 if sum(p['errors']+p['failovers'] for p in d['paths'])>0 and d['io_errors']==0 else 1)"
DESC="fio engine: no sanitizer report"; check no_report fio.log
restore

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
