#!/bin/bash
# Runs in the VM lab (2 ports): SQLite on the nvme_mpath VFS (docs/sqlite-vfs.md).
#  1. format the lab namespace (nvme-mpath-sqlite format, info -o json);
#  2. fault storm: the bank workload (rollback journal, synchronous=EXTRA) while ANA
#     flips, port 1 goes down and up, its controller is reset, blackholed (1 s command
#     timeout), controller 2 is deleted and reconnected, and no path is usable for 2 s.
#     Expected: 0 SQLite errors, integrity ok, invariant ok, every acknowledged transaction
#     present (--check), and the engine saw the faults (failovers + requeues > 0);
#  3. kill test: the workload is killed with SIGKILL at a random point 8 times (the journal
#     modes in turn); after each, --check: integrity ok, invariant ok, no acknowledged
#     transaction lost.
# About 2.5 minutes of guest time.
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
OUT=${LAB_OUT:-/tmp}
TOOL=$B/sqlite/nvme-mpath-sqlite
BANK=$B/sqlite/nvme-mpath-sqlite-bank
ACCOUNTS=200
pass=0 fail=0
check() { if "$@"; then echo "PASS - $DESC"; pass=$((pass+1)); else echo "FAIL - $DESC"; fail=$((fail+1)); fi; }
# Every fault action is checked: one that did nothing would make the storm prove nothing.
now() { echo "[storm $(date +%T)] $*"; "$@" || { echo "[storm] FAULT ACTION FAILED: $*"; echo "$*" >> "$OUT/faults.failed"; }; }
at() { sleep "$1"; shift; now "$@"; }
must() { "$@" || { echo "FAIL - fault action failed: $*"; fail=$((fail+1)); }; }
json() { python3 -c "import json,sys; d=json.loads(open('$1').read().strip().splitlines()[-1]); sys.exit(0 if ($2) else 1)"; }

DEV=$(lab_ng 1 1) || { echo "FAIL - no ng device for port 1 nsid 1"; echo "0 passed, 1 failed"; exit 1; }
lab_paths
must lab_ana 1 optimized; must lab_ana 2 non-optimized

# 1. Format.
"$TOOL" format "$DEV" --force > "$OUT/format.log" 2>&1; rc=$?
cat "$OUT/format.log"
DESC="format $DEV (exit $rc)"; check test $rc -eq 0
"$TOOL" info "$DEV" -o json > "$OUT/info.json" 2>&1; rc=$?
"$TOOL" info "$DEV"
DESC="info -o json: layout version 1, three files, the namespace's LBA size (exit $rc)"
check python3 -c "import json,sys; d=json.load(open('$OUT/info.json')); sys.exit(0 if d['layout_version']==1 and len(d['files'])==3 and d['lba_size'] in (512,4096) else 1)"

# 2. The storm.
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
  at 3 lab_blackhole 1 on
  at 5 lab_blackhole 1 off
  now lab_wait_state 1 live 30
  at 3 lab_delete 2
  at 3 lab_reconnect 2
  # No usable path for 2 s: I/O is parked, then re-driven (the no-path timeout is 30 s).
  at 3 lab_ana 1 inaccessible; now lab_ana 2 inaccessible
  at 2 lab_ana 1 optimized; now lab_ana 2 non-optimized
  sleep 2  # transactions in the last state too
  echo "[storm $(date +%T)] done"
  touch "$OUT/storm.done"
}
rm -f "$OUT/faults.failed" "$OUT/storm.ids" "$OUT/storm.done"
# The workload runs until the storm's last step is done (about 50 s), at most 240 s: fault
# actions take longer on a loaded host, and the storm must not outlast it.
NVME_MPATH_LOG=info "$BANK" --db "$DEV" --seconds 240 --stop-file "$OUT/storm.done" \
  --accounts $ACCOUNTS --journal-mode delete \
  --synchronous extra --cmd-timeout-ms 1000 --log "$OUT/storm.ids" --json "$OUT/storm.json" \
  > "$OUT/storm.log" 2>&1 &
bp=$!
storm
wait $bp; rc=$?
grep -v "^\[" "$OUT/storm.log" | tail -8
DESC="storm: every fault action took effect"; check test ! -s "$OUT/faults.failed"
DESC="storm: the workload exited 0 (exit $rc)"; check test $rc -eq 0
DESC="storm: 0 SQLite errors, integrity ok, invariant ok, more than 100 transactions"
check json "$OUT/storm.json" "d['errors']==0 and d['integrity']=='ok' and d['invariant'] and d['transactions']>100"
DESC="storm: the engine saw the faults (failovers + requeues > 0)"
check json "$OUT/storm.json" "d['failovers']+d['requeues']>0"
"$BANK" --db "$DEV" --check --committed "$OUT/storm.ids" --accounts $ACCOUNTS > "$OUT/storm.check" 2>&1; rc=$?
cat "$OUT/storm.check"
DESC="storm: every acknowledged transaction is present after a reopen (exit $rc)"; check test $rc -eq 0
python3 -c "import json; d=json.loads(open('$OUT/storm.json').read().strip().splitlines()[-1]); print('FIGURE sqlite storm: %d transactions, %d errors, %.1f tx/s, longest transaction %.2f s, failovers %d, requeues %d' % (d['transactions'], d['errors'], d['tps'], d['max_txn_s'], d['failovers'], d['requeues']))"

# 3. Kill test.
RANDOM=20
modes=(delete truncate persist wal)
rm -f "$OUT/kill.ids"
for ((i = 0; i < 8; i++)); do
  mode=${modes[$((i % 4))]}
  "$BANK" --db "$DEV" --seconds 30 --accounts $ACCOUNTS --journal-mode "$mode" --synchronous full \
    --log "$OUT/kill.ids" > "$OUT/kill.$i.log" 2>&1 &
  kp=$!
  delay=$(( 1500 + RANDOM % 2500 ))  # ms: after the engine opened, in the middle of commits
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -9 $kp; wait $kp 2>/dev/null; krc=$?
  "$BANK" --db "$DEV" --check --committed "$OUT/kill.ids" --accounts $ACCOUNTS > "$OUT/kill.$i.check" 2>&1; rc=$?
  echo "kill $i ($mode, after ${delay} ms, status $krc): $(cat "$OUT/kill.$i.check")"
  DESC="kill $i ($mode): killed by SIGKILL mid-run (status $krc)"; check test $krc -eq 137
  DESC="kill $i ($mode): integrity ok, invariant ok, no acknowledged transaction lost (exit $rc)"; check test $rc -eq 0
done
DESC="kill test: transactions were acknowledged before the kills"; check test "$(wc -l < "$OUT/kill.ids")" -gt 8

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
