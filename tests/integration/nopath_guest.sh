#!/bin/bash
# nopath_guest.sh — runs in the VM lab with 3 ports, port 2 behind the fault proxy
# (LAB_PROXY_PORTS=2): how long I/O waits when no path is usable, and one stuck controller.
#  1. Every path in ANA change for 40 s (an array's controller failover; longer than the 30 s
#     no-path timeout and than nvmet's ANATT of 10 s) under fio randrw + verify: the controllers
#     stay live, so the engine keeps the I/O parked: 0 errors; the engine logs the ANATT once.
#  2. Every controller deleted and none coming back: parked I/O fails at once (-ENOLINK within
#     a few seconds), not after the 30 s no-path timeout.
#  3. Port 2's admin queue hangs (the proxy swallows every admin completion) while port 1 returns
#     ANA errors (inaccessible) and port 3 becomes optimized: the engine's per-controller refresh
#     sees port 3 optimized within a few poll intervals (0.5 s); the stuck controller does not
#     hold it up.
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
V=$B/tests/integration/nvme-mpath-verify
OUT=${LAB_OUT:-/tmp}
cd "$OUT" || exit 1
export LD_LIBRARY_PATH=$B/fio-engine
pass=0 fail=0
check() { if "$@"; then echo "ok   - $DESC"; pass=$((pass+1)); else echo "FAIL - $DESC"; fail=$((fail+1)); fi; }
json_ok() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"; }
[ "${LAB_PORTS:-}" = 3 ] && _lab_proxied 2 || { echo "FAIL - run with 3 ports and LAB_PROXY_PORTS=2"; echo "0 passed, 1 failed"; exit 1; }
all_ana() { local p; for p in 1 2 3; do lab_ana "$p" "$1" || return 1; done; }
lab_ana 1 optimized && lab_ana 2 non-optimized && lab_ana 3 non-optimized || exit 1

# ---- 1. every path in ANA change for 40 s --------------------------------------------------
rm -f /dev/shm/nvme-mpath.*
NVME_MPATH_LOG=info fio --name=change --ioengine=mpath_nvme --filename="$(lab_ng 1 1)" --direct=1 \
  --rw=randrw --bs=4k --iodepth=8 --size=8m --verify=crc32c --verify_backlog=32 --runtime=55 \
  --time_based --stats_json="$OUT/change.json" > change.log 2>&1 &
fpid=$!
for ((i = 0; i < 300; i++)); do compgen -G "/dev/shm/nvme-mpath.*" > /dev/null && break; sleep 0.1; done
sleep 3
( set -e; all_ana change; sleep 40; lab_ana 1 optimized; lab_ana 2 non-optimized; lab_ana 3 non-optimized ) > change.faults 2>&1
frc=$?
wait $fpid; rc=$?
grep -E "IOPS=|  path /dev|ANATT|err=" change.log | sed 's/^/     /'
DESC="ANA change on every path for 40 s: the fault actions took effect (exit $frc)"; check test $frc -eq 0
DESC="ANA change for 40 s: fio exit 0, no verify or I/O error (exit $rc)"
check bash -c "[ $rc -eq 0 ] && ! grep -qE 'verify: bad|err= *[1-9]|BUG:' change.log"
DESC="ANA change for 40 s: io_errors 0 in the engine's JSON, I/O parked (requeues > 0)"
check json_ok change.json "d['io_errors'] == 0 and sum(p['requeues'] for p in d['paths']) > 0"
DESC="ANA change for 40 s: the engine said the change outlasted ANATT"
check grep -q "longer than ANATT" change.log

# ---- 2. every controller deleted, none coming back ---------------------------------------------
lab_ana 1 optimized && lab_ana 2 non-optimized && lab_ana 3 non-optimized
"$V" --dev "$(lab_ng 1 1)" --qd 8 --seconds 25 --region-mb 1 --expect-errors --json "$OUT/gone.json" > gone.log 2>&1 &
vpid=$!
for ((i = 0; i < 100; i++)); do grep -q "t=  *1s" gone.log 2>/dev/null && break; sleep 0.1; done
( set -e; lab_delete 1; lab_delete 2; lab_delete 3 ) > gone.faults 2>&1; r=$?
t_del=$(grep -c "^verify: t=" gone.log)
wait $vpid; rc=$?
grep -E "^verify: (t=|done|path)" gone.log
# Seconds (progress lines) from the deletes to the first error the workload saw.
lag=$(awk -v t0="$t_del" '/^verify: t=/ { n++; for (i = 1; i <= NF; i++) if ($i ~ /^errors=/) { split($i, a, "="); if (n > t0 && a[2] > 0 && !f) { print n - t0; f = 1 } } } END { if (!f) print 99 }' gone.log)
echo "FIGURE every controller deleted: the first -ENOLINK came ${lag} s after the deletes"
DESC="every controller deleted (exit $r)"; check test $r -eq 0
DESC="nothing can come back: every error is -ENOLINK and nothing hangs (exit $rc)"; check test $rc -eq 0
DESC="nothing can come back: I/O failed within 10 s of the deletes, not after the 30 s no-path timeout (${lag} s)"
check test "$lag" -le 10
for p in 1 2 3; do lab_reconnect "$p" > /dev/null || { echo "FAIL - reconnect port $p"; fail=$((fail+1)); }; done

# ---- 3. one controller's admin queue hangs (last: the controller's reconnect stays stuck in the
# kernel's 60 s admin timeouts for a while after the queue comes back) ----------------------------------------------------
lab_ana 1 optimized && lab_ana 2 non-optimized && lab_ana 3 non-optimized
"$V" --dev "$(lab_ng 1 1)" --qd 8 --seconds 14 --region-mb 4 --ana-poll-ms 500 --json "$OUT/stuck.json" > stuck.log 2>&1 &
vpid=$!
for ((i = 0; i < 100; i++)); do grep -q "t=  *2s" stuck.log 2>/dev/null && break; sleep 0.1; done
lab_proxy 2 rule drop queue=admin count=0 > /dev/null; r1=$?
sleep 1
t_flip=$(grep -c "t=  *[0-9]*s" stuck.log)
lab_ana 1 inaccessible && lab_ana 3 optimized; r2=$?
wait $vpid; rc=$?
lab_proxy 2 clear > /dev/null
cat stuck.log | grep -E "^verify: (path|t=|done)"
# The path index of port 3 (trsvcid 4422) in the engine, then the seconds from the flip until it
# carried I/O.
idx=$(sed -n 's/^verify: path \([0-9]*\) .*trsvcid=4422.*/\1/p' stuck.log | head -1)
lag=$(awk -v idx="$idx" -v t0="$t_flip" '/^verify: t=/ { n++; for (i = 1; i <= NF; i++) if ($i ~ "^p" idx "=") { split($i, a, "="); v = a[2] }
  if (n > t0 && v > base && !found) { print n - t0; found = 1 } if (n <= t0) base = v } END { if (!found) print 99 }' stuck.log)
echo "FIGURE stuck admin queue on port 2: port 3 carried I/O ${lag} s after it became optimized"
DESC="admin queue of port 2 frozen (proxy swallows admin completions: exit $r1), port 1 inaccessible and port 3 optimized (exit $r2)"
check test $r1 -eq 0 -a $r2 -eq 0
DESC="stuck controller: the healthy path (port 3) is used within 3 s of becoming optimized (took ${lag} s)"
check test "${lag:-99}" -le 3
DESC="stuck controller: the workload saw no error (exit $rc)"; check test $rc -eq 0
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
