#!/bin/bash
# Runs in the VM lab: 2 threads x QD 128 x 2 namespaces for 60 s through the engine while ANA
# flips, a port goes down and back, and a controller is reset: 0 errors, 0 mismatches, bounded
# memory (peak RSS printed).
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
( sleep 8; lab_ana 1 inaccessible; lab_ana 2 optimized; sleep 8; lab_ana 1 optimized; lab_ana 2 non-optimized
  sleep 8; lab_port_down 2; sleep 4; lab_port_up 2; sleep 8; lab_reset 1; sleep 8; lab_ana 2 change
  sleep 4; lab_ana 2 non-optimized ) &
"$B/tests/integration/nvme-mpath-load" --dev "$(lab_ng 1 1)" --dev "$(lab_ng 1 2)" --threads 2 --qd 128 --seconds 60
rc=$?
wait
echo "load test exit $rc"
[ $rc -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $rc
