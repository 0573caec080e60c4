#!/bin/bash
# The README demo, guest side: show every path and its ANA state, run fio through mpath_nvme
# (randrw, crc32c verify) while a scripted sequence flips ANA, takes a port down and back, and
# deletes and reconnects the controller carrying the I/O; end with the per-path stats and the verify result.
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
export LD_LIBRARY_PATH=$B/fio-engine
cd "${LAB_OUT:-/tmp}" || exit 1
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
RUNTIME=${NVME_MPATH_DEMO_SECONDS:-60}

say "kernel $(uname -r), nvme_core.multipath=$(cat /sys/module/nvme_core/parameters/multipath)"
say "paths of $LAB_NQN (one controller per port, one /dev/ngXnY per path)"
lab_paths
nvme list-subsys 2>/dev/null | sed -n '1,12p'

# The lab part alone (NVME_MPATH_DEMO_LAB_ONLY=1, or no fio engine built yet): flip the ANA
# states and show the paths as the host sees them.
if [ "${NVME_MPATH_DEMO_LAB_ONLY:-0}" = 1 ] || [ ! -e "$B/fio-engine/mpath_nvme" ]; then
  [ "${NVME_MPATH_DEMO_LAB_ONLY:-0}" = 1 ] || say "no fio engine in $B/fio-engine: lab part only"
  say "ANA flip: port 1 -> inaccessible, port 2 -> optimized"
  lab_ana 1 inaccessible && lab_ana 2 optimized || exit 1
  lab_paths
  say "and back: port 1 -> optimized, port 2 -> non-optimized"
  lab_ana 1 optimized && lab_ana 2 non-optimized || exit 1
  lab_paths
  exit 0
fi

say "fio --ioengine=mpath_nvme --filename=$(lab_ng 1 1): randrw 4k QD16 with crc32c verify, ${RUNTIME}s"
fio --name=demo --ioengine=mpath_nvme --filename="$(lab_ng 1 1)" --rw=randrw --bs=4k --iodepth=16 \
  --size=32m --verify=crc32c --verify_backlog=256 --runtime="$RUNTIME" --time_based \
  --cmd_timeout=1000 --stats_json=demo-stats.json > fio.log 2>&1 &
fpid=$!
# Progress: the engine's live per-path counters (nvme-mpath-ctl stats), every 5 s.
CTL=$B/tools/nvme-mpath-ctl/nvme-mpath-ctl
( sleep 2; while kill -0 $fpid 2>/dev/null; do
    "$CTL" stats --name demo 2>/dev/null | awk 'NR>2 && $1 ~ /^\/dev/ {printf "   progress %s: %s %s ios=%s errors=%s failovers=%s\n", strftime("%T"), $1, $3, $5, $8, $10}'
    sleep 5
  done ) &
tpid=$!

# The timeline (scripts/timeline.sh draws it): the engine's per-path counters every 100 ms
# (watch -o json, one document per line with its sampled_at_ms), and each fault's interval.
( for ((i = 0; i < 300; i++)); do "$CTL" stats --name demo > /dev/null 2>&1 && break; sleep 0.1; done
  exec "$CTL" watch --name demo --interval 0.1 -o json ) > timeline.jsonl 2> timeline.err &
wpid=$!
: > faults.txt
mark() { echo "$1 $(date +%s%3N) $2" >> faults.txt; }  # start|end LABEL
step() { sleep "$1"; shift; say "$(date +%T) fault: $*"; must "$@"; }
fault_ok=1
must() { "$@" || { echo "demo: fault action failed: $*"; fault_ok=0; }; }
sleep 6; mark start "port 1 ANA inaccessible"
step 0 lab_ana 1 inaccessible
must lab_ana 2 optimized
sleep 3; lab_paths
step 6 lab_ana 1 optimized
must lab_ana 2 non-optimized
mark end "port 1 ANA inaccessible"
sleep 6; mark start "port 1 down"
step 0 lab_port_down 1
sleep 3; lab_paths
step 1 lab_port_up 1
must lab_wait_state 1 live 20; lab_paths
mark end "port 1 down"
# Delete the controller carrying the I/O (port 1, optimized): its commands fail over to port 2,
# and when it is reconnected under the same name the engine reopens it and fails back.
sleep 6; mark start "controller 1 deleted"
step 0 lab_delete 1
sleep 2; lab_paths
step 1 lab_reconnect 1
must lab_wait_state 1 live 20; lab_paths
mark end "controller 1 deleted"
say "waiting for fio to finish"
wait $fpid
rc=$?
kill $tpid $wpid 2>/dev/null
say "fio summary"
grep -E "err=|read: IOPS|write: IOPS|READ:|WRITE:|verify|fio: " fio.log | grep -v "Jobs:"
say "per-path stats (mpath_nvme)"
grep -a -A3 "mpath_nvme: job=demo" fio.log | tr -d "\r"
verify_errors=$(grep -c -i "verify.*bad\|crc32c.*wanted" fio.log)
say "result: fio exit $rc, application errors $(grep -o 'err= *[0-9]*' fio.log | head -1), verify errors $verify_errors"
echo "fio_exit=$rc verify_errors=$verify_errors $(grep -o 'err= *[0-9]*' fio.log | head -1 | tr -d ' ')" > result.txt
[ "$fault_ok" = 1 ] || say "a fault action failed (see above)"
[ "$rc" = 0 ] && [ "$verify_errors" = 0 ] && [ "$fault_ok" = 1 ]
