#!/bin/bash
# writehold_guest.sh [WRITE_HOLD_MS] — runs in the VM lab with LAB_PROXY_PORTS=1: a write the
# host gave up on still executes on the target, and the engine's write hold keeps it from
# overwriting newer data (no lost write).
#
# nvme-mpath-verify writes versioned blocks through the engine (port 1 optimized, through the
# fault proxy; port 2 direct) with a 1 s command timeout. For 0.3 s every command to port 1 is
# held 1.5 s by the proxy (lab_delay 1 1500 up): the kernel aborts those commands after 1 s and
# resets the controller, but the proxy still delivers them, so nvmet executes the cancelled
# writes 0.5 s later — before its keep-alive (2 s) expires, as a real target may. An engine that
# resent such a write at once on port 2 and then acknowledged a newer version of the block would
# have that newer version overwritten by the late copy. Writes stop at 5 s (a rewrite would hide
# a late copy), the run reads until 16 s, then reads every block back against its last
# acknowledged version.
#   WRITE_HOLD_MS (default: the engine's own hold) is passed as --write-hold-ms; 0 must make the
#   test find stale blocks (checked by hand: closing note).
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
V=$B/tests/integration/nvme-mpath-verify
OUT=${LAB_OUT:-/tmp}
WH=${1:--1}
pass=0 fail=0
check() { if "$@"; then echo "ok   - $DESC"; pass=$((pass+1)); else echo "FAIL - $DESC"; fail=$((fail+1)); fi; }
stat() { lab_proxy_stat 1 "$1"; }

_lab_proxied 1 || { echo "FAIL - run with LAB_PROXY_PORTS=1"; echo "0 passed, 1 failed"; exit 1; }
lab_ana 1 optimized && lab_ana 2 non-optimized || { echo "FAIL - lab_ana"; exit 1; }
held0=$(stat held_up) orph0=$(stat orphans)
A=$(lab_ng 1 1)
NVME_MPATH_LOG=info "$V" --dev "$A" --qd 16 --seconds 16 --write-seconds 5 --region-mb 1 \
  --cmd-timeout-ms 1000 --write-hold-ms "$WH" --json "$OUT/writehold.json" > "$OUT/writehold.log" 2>&1 &
vpid=$!
# The fault window starts once the workload runs (its first progress line).
for ((i = 0; i < 100; i++)); do grep -q "t=  *1s" "$OUT/writehold.log" 2>/dev/null && break; sleep 0.1; done
( lab_delay 1 1500 up && sleep 0.3 && lab_delay 1 0 up ) > "$OUT/writehold.faults" 2>&1
frc=$?
wait $vpid; rc=$?
cat "$OUT/writehold.log"
held=$(( $(stat held_up) - held0 )) orph=$(( $(stat orphans) - orph0 ))
echo "FIGURE write hold ${WH} ms: proxy held $held PDUs to port 1; $orph answers of the target found the host gone"
DESC="the proxy held port 1's commands (lab_delay 1 1500 up: exit $frc, $held PDUs held)"
check test $frc -eq 0 -a $held -gt 0
DESC="the target executed commands after the host gave up on them ($orph orphaned answers)"
check test $orph -gt 0
DESC="the engine saw the timeouts on port 1 (errors and failovers counted)"
check python3 -c "import json,sys; d=json.load(open('$OUT/writehold.json')); p=[p for p in d['paths'] if p['ng']=='$A'][0]; sys.exit(0 if p['errors']>0 and p['failovers']>0 else 1)"
DESC="every block reads back at its last acknowledged version: 0 mismatches, 0 errors (exit $rc)"
check python3 -c "import json,sys; d=json.load(open('$OUT/writehold.json')); print('verify: %d I/Os, %d errors, %d mismatches' % (d['ios'], d['errors'], d['mismatches'])); sys.exit(0 if d['mismatches']==0 and d['errors']==0 and d['ios']>0 else 1)"
lab_wait_state 1 live 30 >/dev/null
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
