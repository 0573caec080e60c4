#!/bin/bash
# syscall_bench.sh — io_uring_enter calls per I/O (issue #18): fio io_uring_cmd on one path
# against mpath_nvme over two (round-robin, nvme_core.multipath=N), 4k random read at QD 1, 32
# and 128, NVME_MPATH_BENCH_REPS (3) interleaved rounds of a fixed number of I/Os each, in one VM
# on kernel NVME_MPATH_BENCH_KERNEL (6.12). The guest kernel counts the calls (a tracefs
# histogram on sys_enter_io_uring_enter, per process; fio's job processes are summed). Prints per
# target and QD min/median/max calls per I/O and the ratio of the medians (mpath_nvme /
# io_uring_cmd), the kernel and the accelerator, and redraws docs/syscalls.png. Figures, not a
# test; docs/benchmarks.md quotes one run.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export NVME_MPATH_BUILD_DIR=${NVME_MPATH_BUILD_DIR:-$TOP/build}
K=${NVME_MPATH_BENCH_KERNEL:-6.12}
[ -f "$NVME_MPATH_BUILD_DIR/fio-engine/mpath_nvme" ] \
  || { echo "syscall_bench: build the fio engine first ($NVME_MPATH_BUILD_DIR)" >&2; exit 2; }
OUT=$(mktemp -d /var/tmp/nvme-mpath-syscall-bench.XXXXXX)
"$TOP/tests/lab/vm.sh" --kernel "$K" --mp N --ports 2 --timeout 1200 --out "$OUT" \
  -- /bin/bash "$TOP/bench/syscall_bench_guest.sh" > "$OUT/vm.log" 2>&1 \
  || { tail -20 "$OUT/vm.log"; exit 1; }
PYTHONPATH=$TOP/bench /usr/bin/python3 - "$OUT" "$TOP/docs" <<'PY'
import glob, json, os, statistics, sys
import benchlib
out, docs = sys.argv[1], sys.argv[2]
def runs(name, qd):
    v = []
    for f in sorted(glob.glob(os.path.join(out, f"{name}.qd{qd}.*.json"))):
        j = json.load(open(f))["jobs"][0]
        ios = j["read"]["total_ios"]
        assert j["error"] == 0 and ios > 0, f"{f}: error {j['error']}, {ios} I/Os"
        fio, other = benchlib.enter_calls(f[:-5] + ".hist")
        assert fio > 0, f"{f[:-5]}.hist: no io_uring_enter counted"
        v.append((fio / ios, other, j["read"]["iops"]))
    if not v: sys.exit(f"syscall_bench: no results for {name} QD {qd}")
    return v
kernel, accel = benchlib.vm_kernel(os.path.join(out, "vm.log"))
labels = {"io_uring_cmd": "fio io_uring_cmd, one path", "mpath_nvme": "mpath_nvme, 2 paths (round-robin)"}
dat = []
for qd in (1, 32, 128):
    print(f"syscall_bench: QD {qd}, 4k randread")
    med = {}
    for name in ("io_uring_cmd", "mpath_nvme"):
        v = runs(name, qd)
        c = sorted(x[0] for x in v)
        med[name] = statistics.median(c)
        others = max(x[1] for x in v)
        print(f"syscall_bench:   {labels[name]:36s} runs {len(v)}  io_uring_enter per I/O min/median/max "
              f"{c[0]:6.3f} {med[name]:6.3f} {c[-1]:6.3f}  IOPS median {statistics.median(x[2] for x in v):7.0f}"
              + (f"  (other processes: up to {others} calls)" if others else ""))
        dat.append((f"{name} QD{qd}", med[name], c[0], c[-1]))
    print(f"syscall_bench:   ratio mpath_nvme / io_uring_cmd (medians): {med['mpath_nvme'] / med['io_uring_cmd']:.3f}x")
print(f"syscall_bench: kernel {kernel}, accel {accel}")
benchlib.bars(f"{docs}/syscalls.png", f"{out}/syscalls.dat", dat, "io_uring_enter calls per I/O",
              f"lab ({accel}, kernel {kernel}): 4k randread, median of {len(runs('mpath_nvme', 1))} runs, bars min..max")
PY
echo "syscall_bench: output in $OUT"
