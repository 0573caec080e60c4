#!/bin/bash
# iopoll_bench.sh — polled I/O (issue #18): the PCIe lab topology (QEMU's emulated NVMe
# controllers; nvme loaded with poll_queues=1) on kernel NVME_MPATH_BENCH_KERNEL (6.12), 4k random
# read at QD 32, NVME_MPATH_BENCH_REPS (5) interleaved rounds of fio io_uring_cmd on one
# controller, mpath_nvme over two (round-robin) and mpath_nvme on one (numa), each with hipri=1
# and without. Prints per
# target min/median/max IOPS and median CPU per I/O (fio's usr + sys over its I/Os), the ratios
# of the medians (mpath_nvme / io_uring_cmd, polled and not), each target's io_uring_enter calls
# per I/O polled (a separate counted run), the kernel and the accelerator, and redraws
# docs/iopoll.png. Figures, not a test (lab.iopoll.6.12 is the test); docs/benchmarks.md
# quotes one run. Under TCG the emulated CPU bounds every target: polling shows no gain there.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export NVME_MPATH_BUILD_DIR=${NVME_MPATH_BUILD_DIR:-$TOP/build}
K=${NVME_MPATH_BENCH_KERNEL:-6.12}
[ -f "$NVME_MPATH_BUILD_DIR/fio-engine/mpath_nvme" ] \
  || { echo "iopoll_bench: build the fio engine first ($NVME_MPATH_BUILD_DIR)" >&2; exit 2; }
OUT=$(mktemp -d /var/tmp/nvme-mpath-iopoll-bench.XXXXXX)
"$TOP/tests/lab/vm.sh" --kernel "$K" --topology pcie --timeout 900 --out "$OUT" \
  -- /bin/bash "$TOP/bench/iopoll_bench_guest.sh" > "$OUT/vm.log" 2>&1 \
  || { tail -20 "$OUT/vm.log"; exit 1; }
PYTHONPATH=$TOP/bench /usr/bin/python3 - "$OUT" "$TOP/docs" <<'PY'
import glob, json, os, statistics, sys
import benchlib
out, docs = sys.argv[1], sys.argv[2]
def runs(name):
    v = []
    for f in sorted(glob.glob(os.path.join(out, f"{name}.*.json"))):
        j = json.load(open(f))["jobs"][0]
        ios = j["read"]["total_ios"]
        assert j["error"] == 0 and ios > 0, f"{f}: error {j['error']}, {ios} I/Os"
        v.append((j["read"]["iops"], (j["usr_cpu"] + j["sys_cpu"]) / 100 * j["job_runtime"] / 1000 / ios * 1e6))
    if not v: sys.exit(f"iopoll_bench: no results for {name}")
    return v
kernel, accel = benchlib.vm_kernel(os.path.join(out, "vm.log"))
med = statistics.median
dat = []
for hipri, mode in (("1", "polled, hipri=1"), ("0", "interrupts, hipri=0")):
    m = {}
    for t, label in (("uc", "fio io_uring_cmd, one path"), ("mp", "mpath_nvme, 2 paths"), ("mp1", "mpath_nvme, one path (numa)")):
        v = runs(f"{t}-hipri{hipri}")
        i = sorted(x[0] for x in v)
        m[t] = (med(i), med(x[1] for x in v))
        print(f"iopoll_bench: {label + ', ' + mode:55s} runs {len(v)}  IOPS min/median/max {i[0]:7.0f} {m[t][0]:7.0f} {i[-1]:7.0f}  CPU/IO median {m[t][1]:6.1f} us")
        dat.append((f"{t} hipri={hipri}", m[t][0], i[0], i[-1]))
    for t, label in (("mp", "2 paths"), ("mp1", "one path")):
        print(f"iopoll_bench: ratio mpath_nvme {label} / io_uring_cmd, {mode} (medians): IOPS {m[t][0] / m['uc'][0]:.2f}x, CPU per I/O {m[t][1] / m['uc'][1]:.2f}x")
for t, label in (("uc", "fio io_uring_cmd, one path"), ("mp", "mpath_nvme, 2 paths"), ("mp1", "mpath_nvme, one path (numa)")):
    j = json.load(open(os.path.join(out, f"{t}.calls.json")))["jobs"][0]
    ios = j["read"]["total_ios"]
    assert j["error"] == 0 and ios > 0, f"{t}.calls: error {j['error']}, {ios} I/Os"
    fio, _ = benchlib.enter_calls(os.path.join(out, f"{t}.calls.hist"))
    print(f"iopoll_bench: {label + ', polled, one counted run':55s} io_uring_enter per I/O {fio / ios:6.3f}")
print(f"iopoll_bench: kernel {kernel}, accel {accel}, PCIe (QEMU's emulated NVMe), nvme poll_queues=1")
benchlib.bars(f"{docs}/iopoll.png", f"{out}/iopoll.dat", dat, "IOPS (4k randread QD32)",
              f"PCIe lab ({accel}, kernel {kernel}): median of {len(runs('uc-hipri1'))} runs, bars min..max")
PY
echo "iopoll_bench: output in $OUT"
