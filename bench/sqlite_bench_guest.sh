#!/bin/bash
# sqlite_bench_guest.sh — guest side of bench/sqlite_bench.sh: the bank workload (SQLite,
# rollback journal, synchronous=FULL: a flush per commit) on one namespace, REPS interleaved
# runs of each target:
#   vfs   the nvme_mpath VFS on the namespace's ng device (2 paths, the engine's flush fan-out)
#   ext4  SQLite's own unix VFS on a file of ext4 on the kernel's block device of the same
#         namespace (/dev/nvmeXnY: the block layer, no multipath)
# Each run writes OUT/<target>.<i>.json (the bank's summary) and OUT/<target>.<i>.cpu
# ("user sys" seconds of the process).
set -uo pipefail
source "${LAB_LIB:?}"
B=${NVME_MPATH_BUILD_DIR:?}
OUT=${LAB_OUT:?}
SECS=${NVME_MPATH_BENCH_SECONDS:-20}
REPS=${NVME_MPATH_BENCH_REPS:-3}
BANK=$B/sqlite/nvme-mpath-sqlite-bank
TOOL=$B/sqlite/nvme-mpath-sqlite
DEV=$(lab_ng 1 1) || { echo "sqlite_bench: no ng device"; exit 1; }
BLK=/dev/nvme${DEV#/dev/ng}   # /dev/ng0n1 -> /dev/nvme0n1: the same namespace, block layer
[ -b "$BLK" ] || { echo "sqlite_bench: no block device $BLK"; exit 1; }
MNT=/tmp/ext4
mkdir -p "$MNT"
lab_ana 1 optimized && lab_ana 2 non-optimized || exit 1
common=(--accounts 1000 --seconds "$SECS" --journal-mode delete --synchronous full)
TIMEFORMAT='%U %S'
for ((i = 1; i <= REPS; i++)); do
  "$TOOL" format "$DEV" --force > /dev/null || { echo "sqlite_bench: format failed"; exit 1; }
  { time "$BANK" --db "$DEV" "${common[@]}" --json "$OUT/vfs.$i.json" > "$OUT/vfs.$i.log" 2>&1; } 2> "$OUT/vfs.$i.cpu" \
    || { echo "sqlite_bench: vfs run $i failed"; tail -5 "$OUT/vfs.$i.log"; exit 1; }
  { [ -d /sys/module/ext4 ] || modprobe ext4; } && mkfs.ext4 -F -q "$BLK" && mount -t ext4 "$BLK" "$MNT" || { echo "sqlite_bench: mkfs/mount $BLK failed"; exit 1; }
  { time "$BANK" --db "$MNT/bank.db" --vfs unix "${common[@]}" --json "$OUT/ext4.$i.json" > "$OUT/ext4.$i.log" 2>&1; } 2> "$OUT/ext4.$i.cpu"
  rc=$?
  umount "$MNT"
  [ $rc -eq 0 ] || { echo "sqlite_bench: ext4 run $i failed"; tail -5 "$OUT/ext4.$i.log"; exit 1; }
  echo "sqlite_bench: run $i done"
done
echo "sqlite_bench: kernel $(uname -r)"
