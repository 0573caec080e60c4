#!/bin/bash
# Runs in the VM lab with nvme_core.multipath=Y (2 ports): head mode. Only the kernel's head
# /dev/ngXnY exists; the kernel picks the controller of each command and fails no passthrough
# command over itself.
#  1. the peer: fio io_uring_cmd on the head fails when no path is usable for 2 s (the fault
#     reaches the application: what head mode is for);
#  2. a data-verifying workload through the engine on the head for 40 s while ANA flips, a port
#     goes down and up, the carrying controller is reset, and both paths are inaccessible for
#     3 s. Expected: 0 application errors, 0 mismatches, and the engine recovered (failovers).
#  3. all paths inaccessible for longer than the no-path timeout: -ENOLINK after it, no hang.
set -uo pipefail
B=${NVME_MPATH_BUILD_DIR:?}
source "$LAB_LIB"
OUT=${LAB_OUT:-/tmp}
V=$B/tests/integration/nvme-mpath-verify
pass=0 fail=0
check() { if "$@"; then echo "PASS - $DESC"; pass=$((pass+1)); else echo "FAIL - $DESC"; fail=$((fail+1)); fi; }
now() { echo "[storm $(date +%T)] $*"; "$@" || { echo "[storm] FAULT ACTION FAILED: $*"; echo "$*" >> "$OUT/faults.failed"; }; }
at() { sleep "$1"; shift; now "$@"; }
must() { "$@" || { echo "FAIL - fault action failed: $*"; fail=$((fail+1)); }; }
# After DELAY s, both paths inaccessible for 2 s, then both back. The kernel can route nothing
# then (a single ANA move is sometimes absorbed by the kernel, when its AEN handling switches
# paths before a command meets it), so whoever does I/O on the head must meet the fault.
no_usable_path_2s() {
  sleep "$1"; must lab_ana 1 inaccessible; must lab_ana 2 inaccessible
  sleep 2; must lab_ana 2 optimized
}
# Waits (30 s at most) until the fio writing LOG (run with --eta=always --eta-newline=1) reports
# a non-zero read rate: under load fio takes seconds to start, and a fault that is over before
# its first I/O tests nothing (a 6.12 run in a 5-run loop: the peer's first I/O came 7 s after
# its start, 2 s after the outage, so it "survived" a fault it never met). fio shows a rate
# about 3 s after its I/O starts: the runtimes leave room for that and the fault.
wait_fio_io() {
  local i
  for ((i = 0; i < 300; i++)); do grep -qE '\]\[r=[1-9]' "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "fio ($1) did no I/O within 30 s"; return 1
}
H=$(lab_head_ng 1) || { echo "FAIL - no multipath head for nsid 1"; echo "0 passed, 1 failed"; exit 1; }
echo "kernel $(uname -r), head $H"
lab_paths

# nvme-mpath-ctl list on the head: each controller behind it, with the kernel's ANA state.
CTL=$B/tools/nvme-mpath-ctl/nvme-mpath-ctl
"$CTL" list
"$CTL" list -o json > "$OUT/list.json"
DESC="ctl list on the head: one row per controller (nvme0 optimized, nvme1 non-optimized), on $H"
check python3 -c "
import json, sys
d = json.load(open('$OUT/list.json'))
rows = [p for s in d['subsystems'] for n in s['namespaces'] if n['nsid'] == 1 for p in n['paths']]
got = sorted((p['ana_state'], p['ng'], p['state']) for p in rows)
print(got)
sys.exit(0 if got == [('non-optimized', '$H', 'live'), ('optimized', '$H', 'live')] else 1)"

# 1. The peer on the head.
fio --name=peer --ioengine=io_uring_cmd --cmd_type=nvme --filename="$H" --rw=randread --bs=4k \
  --iodepth=8 --size=16m --runtime=12 --time_based --eta=always --eta-newline=1 > "$OUT/peer.log" 2>&1 &
fp=$!
must wait_fio_io "$OUT/peer.log"
no_usable_path_2s 1  # the same fault the engine's fio meets below
# (wait_fio_io: its I/O was under way before the fault; the peer may die at the fault itself.)
wait $fp; prc=$?
must lab_ana 1 optimized; must lab_ana 2 non-optimized
grep -E "err=|error" "$OUT/peer.log" | head -3
DESC="peer: fio io_uring_cmd on the head fails with 2 s without a usable path (exit $prc)"; check test $prc -ne 0

# 2. The storm through the engine.
storm() {
  at 4 lab_ana 1 inaccessible; now lab_ana 2 optimized
  at 4 lab_ana 1 optimized; now lab_ana 2 non-optimized
  at 3 lab_ana 1 change
  at 3 lab_ana 1 optimized
  at 2 lab_port_down 1
  at 4 lab_port_up 1
  now lab_wait_state 1 live 20
  at 3 lab_reset 1
  now lab_wait_state 1 live 20
  at 3 lab_ana 1 inaccessible; now lab_ana 2 inaccessible
  at 3 lab_ana 2 optimized
  at 3 lab_ana 1 optimized; now lab_ana 2 non-optimized
  sleep 2  # I/O in the last state too
  echo "[storm $(date +%T)] done"
  touch "$OUT/storm.done"
}
rm -f "$OUT/faults.failed" "$OUT/storm.done"
# The mix runs until the storm is done (about 45 s), at most 180 s.
NVME_MPATH_LOG=info "$V" --dev "$H" --qd 16 --seconds 180 --stop-file "$OUT/storm.done" \
  --region-mb 16 --cmd-timeout-ms 1000 --json "$OUT/storm.json" > "$OUT/storm.log" 2>&1 &
vp=$!
storm
wait $vp; rc=$?
grep -vE "^verify: t=" "$OUT/storm.log" | tail -12
DESC="head storm: every fault action took effect"; check test ! -s "$OUT/faults.failed"
DESC="head storm: the engine said it runs in head mode"; check grep -q "head mode: $H is the multipath head" "$OUT/storm.log"
DESC="head storm: 0 application errors, 0 mismatches (exit $rc)"; check test $rc -eq 0
DESC="head storm: I/O ran (more than 10000 I/Os)"
check python3 -c "import json,sys; d=json.load(open('$OUT/storm.json')); sys.exit(0 if d['ios']>10000 else 1)"
DESC="head storm: the engine saw the faults and recovered them (failovers > 0)"
check python3 -c "import json,sys; d=json.load(open('$OUT/storm.json')); sys.exit(0 if sum(p['failovers'] for p in d['paths'])>0 else 1)"
python3 -c "import json; d=json.load(open('$OUT/storm.json')); print('FIGURE head storm: %d I/Os, %d errors, %d mismatches, failovers %d, max latency %.2f s' % (d['ios'], d['errors'], d['mismatches'], sum(p['failovers'] for p in d['paths']), d['max_latency_s']))"

# fio through the engine on the head: verify across 2 s with no usable path, and the summary
# names the mode.
export LD_LIBRARY_PATH=$B/fio-engine
fio --name=headfio --ioengine=mpath_nvme --filename="$H" --rw=randrw --bs=4k --iodepth=8 \
  --size=8m --runtime=14 --time_based --verify=crc32c --verify_backlog=64 --eta=always --eta-newline=1 \
  > "$OUT/fio.log" 2>&1 &
fp=$!
must wait_fio_io "$OUT/fio.log"
no_usable_path_2s 1  # the engine must see it: -EINVAL, ANA errors, or parked I/O
# While fio still runs: the engine's shared-memory stats say head mode and count the recovery.
"$CTL" stats --name headfio; "$CTL" stats --name headfio -o json > "$OUT/stats.json"
DESC="ctl stats on the head: mode head, policy kernel, one path, retries + failovers + requeues > 0"
check python3 -c "
import json, sys
e = json.load(open('$OUT/stats.json'))['engines'][0]
n = sum(p['retries'] + p['failovers'] + p['requeues'] for p in e['paths'])
print(e['mode'], e['policy'], len(e['paths']), n)
sys.exit(0 if (e['mode'], e['policy'], len(e['paths'])) == ('head', 'kernel', 1) and n > 0 else 1)"
wait $fp; frc=$?
must lab_ana 1 optimized; must lab_ana 2 non-optimized
grep -E "mpath_nvme: job|path /dev|err=|verify" "$OUT/fio.log" | head -6
DESC="fio mpath_nvme on the head: no error across 2 s with no usable path (exit $frc)"; check test $frc -eq 0
DESC="fio mpath_nvme on the head: the summary says head mode"; check grep -q "mode=head" "$OUT/fio.log"
# The engine saw it: commands failed over (an error came back), or were parked before they were
# sent (the control plane saw the head unusable first): failovers + requeues > 0.
DESC="fio mpath_nvme on the head: the engine saw the outage (failovers + requeues > 0)"
check awk '/path \/dev/ { for (i = 1; i <= NF; i++) if ($i ~ /^(failovers|requeues)=/) { split($i, a, "="); n += a[2] } } END { exit !(n > 0) }' "$OUT/fio.log"

# 3. No usable path for longer than the no-path timeout.
must lab_ana 1 inaccessible; must lab_ana 2 inaccessible
t0=$(date +%s.%N)
timeout 120 "$V" --dev "$H" --qd 8 --seconds 2 --region-mb 1 --bs 65536 --no-path-timeout-ms 3000 \
  --expect-errors > "$OUT/nopath.log" 2>&1
rc=$?
t1=$(date +%s.%N)
tail -3 "$OUT/nopath.log"
el=$(awk -v a="$t1" -v b="$t0" 'BEGIN{printf "%.1f", a-b}')
DESC="head, no usable path: every error is -ENOLINK, nothing hangs (exit $rc after ${el}s)"; check test $rc -eq 0
DESC="head, no usable path: errors only after the 3 s no-path timeout"; check awk -v e="$el" 'BEGIN{exit !(e >= 3.0)}'
must lab_ana 1 optimized; must lab_ana 2 non-optimized

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
