#!/bin/bash
# Runs in the VM lab: 2 threads x QD 128 x 2 namespaces for 60 s through the engine while ANA
# flips, a port goes down and back, and a controller is reset: 0 errors, 0 mismatches, bounded
# memory (peak RSS printed).
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
# Each fault action must succeed (&&): the subshell's status says whether the faults happened.
( sleep 8 && lab_ana 1 inaccessible && lab_ana 2 optimized && sleep 8 && lab_ana 1 optimized && lab_ana 2 non-optimized \
  && sleep 8 && lab_port_down 2 && sleep 4 && lab_port_up 2 && sleep 8 && lab_reset 1 && sleep 8 && lab_ana 2 change \
  && sleep 4 && lab_ana 2 non-optimized ) &
fpid=$!
"$B/tests/integration/nvme-mpath-load" --dev "$(lab_ng 1 1)" --dev "$(lab_ng 1 2)" --threads 2 --qd 128 --seconds 60 \
  | tee "${LAB_OUT:-/tmp}/load.log"
rc=${PIPESTATUS[0]}
wait $fpid; frc=$?
pass=0 fail=0
check() { if "$@"; then echo "ok   - $DESC"; pass=$((pass+1)); else echo "FAIL - $DESC"; fail=$((fail+1)); fi; }
DESC="load: 0 errors, 0 mismatches, bounded memory, I/O completed (exit $rc)"; check test $rc -eq 0
DESC="load: every fault action took effect (exit $frc)"; check test $frc -eq 0
# The engine saw the faults: some path of each namespace counted errors or failovers.
DESC="load: the engine saw the faults (errors or failovers counted on both namespaces)"
check awk '/^load: ns [0-9]+ path/ { split($7, e, "="); split($8, f, "="); seen[$3] += e[2] + f[2]; ns[$3] = 1 }
  END { n = 0; for (k in ns) { if (seen[k] == 0) exit 1; n++ } exit n == 2 ? 0 : 1 }' "${LAB_OUT:-/tmp}/load.log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
