#!/bin/bash
# sqlite_bench.sh — SQLite on the nvme_mpath VFS against SQLite on ext4 on the kernel's block
# device of the same lab namespace, same VM, interleaved runs (NVME_MPATH_BENCH_REPS, 3, of
# NVME_MPATH_BENCH_SECONDS, 20 s each): the bank workload (transfers between 1000 accounts, a
# transaction each, rollback journal, synchronous=FULL). Prints min/median/max transactions/s,
# the median CPU per transaction and the ratios of the medians, and redraws docs/sqlite.png.
# Figures, not a test: under TCG
# the emulation dominates; compare only figures of one run (docs/benchmarks.md quotes one).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export NVME_MPATH_BUILD_DIR=${NVME_MPATH_BUILD_DIR:-$TOP/build}
[ -x "$NVME_MPATH_BUILD_DIR/sqlite/nvme-mpath-sqlite-bank" ] || { echo "sqlite_bench: build the SQLite VFS first ($NVME_MPATH_BUILD_DIR/sqlite)" >&2; exit 2; }
OUT=$(mktemp -d /var/tmp/nvme-mpath-sqlite-bench.XXXXXX)
"$TOP/tests/lab/vm.sh" --ports 2 --timeout 900 --out "$OUT" -- /bin/bash "$TOP/bench/sqlite_bench_guest.sh" > "$OUT/vm.log" 2>&1 \
  || { tail -20 "$OUT/vm.log"; exit 1; }
PYTHONPATH=$TOP/bench python3 - "$OUT" "$TOP/docs" <<'PY'
import glob, json, os, statistics, sys
import benchlib
out, docs = sys.argv[1], sys.argv[2]
def runs(t):
    v = []
    for f in sorted(glob.glob(os.path.join(out, t + ".*.json"))):
        d = json.loads(open(f).read().strip().splitlines()[-1])
        u, s = map(float, open(f[:-5] + ".cpu").read().split()[-2:])
        assert d["errors"] == 0 and d["integrity"] == "ok" and d["invariant"], f"{f}: {d}"
        v.append((d["tps"], (u + s) / d["transactions"] * 1e6))
    if not v: sys.exit(f"sqlite_bench: no results for {t}")
    return v
res = {t: runs(t) for t in ("vfs", "ext4")}
names = {"vfs": "nvme_mpath VFS on /dev/ngXnY (2 paths)", "ext4": "unix VFS on ext4 on /dev/nvmeXnY"}
med = {}
for t, v in res.items():
    tps = [x[0] for x in v]
    med[t] = (statistics.median(tps), statistics.median([x[1] for x in v]))
    print(f"sqlite_bench: {names[t]:40s} runs {len(v)}  tx/s min/median/max {min(tps):6.1f} {med[t][0]:6.1f} {max(tps):6.1f}  CPU/tx median {med[t][1]:7.0f} us")
print(f"sqlite_bench: ratio VFS / ext4: tx/s {med['vfs'][0] / med['ext4'][0]:.2f}x, CPU per transaction {med['vfs'][1] / med['ext4'][1]:.2f}x (medians)")
kernel, accel = benchlib.vm_kernel(os.path.join(out, "vm.log"))
benchlib.bars(f"{docs}/sqlite.png", f"{out}/sqlite.dat",
              [(names[t], med[t][0], min(x[0] for x in v), max(x[0] for x in v)) for t, v in res.items()],
              "transactions/s", f"SQLite bank, synchronous=FULL ({accel}, kernel {kernel}): median of {len(res['vfs'])} runs, bars min..max")
PY
grep -h "sqlite_bench: kernel" "$OUT/vm.log" || true
echo "sqlite_bench: output in $OUT"
