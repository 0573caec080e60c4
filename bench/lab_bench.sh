#!/bin/bash
# lab_bench.sh — the lab benchmark: 4k random read, QD32, fio, NVME_MPATH_BENCH_REPS (3) runs of
# each target, interleaved: mpath_nvme over 2 paths against io_uring_cmd on one path (both with
# nvme_core.multipath=N), and mpath_nvme in head mode against io_uring_cmd on the kernel's
# multipath=Y head (a second VM). Prints min/median/max IOPS, median CPU per I/O, the ratios of
# the medians and the kernel, redraws docs/benchmarks.png and leaves a markdown table in the
# output directory (docs/benchmarks.md quotes a run).
# Figures, not a test: under TCG the emulation dominates, compare only figures of one run.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export NVME_MPATH_BUILD_DIR=${NVME_MPATH_BUILD_DIR:-$TOP/build}
OUT=$(mktemp -d /var/tmp/nvme-mpath-bench.XXXXXX)
"$TOP/tests/lab/vm.sh" --mp N --out "$OUT" -- /bin/bash "$TOP/bench/lab_bench_guest.sh" >"$OUT/vmN.log" 2>&1 \
  || { tail -20 "$OUT/vmN.log"; exit 1; }
"$TOP/tests/lab/vm.sh" --mp Y --out "$OUT" -- /bin/bash "$TOP/bench/lab_bench_guest.sh" >"$OUT/vmY.log" 2>&1 \
  || { tail -20 "$OUT/vmY.log"; exit 1; }
PYTHONPATH=$TOP/bench python3 - "$OUT" "$TOP/docs" <<'PY'
import json, sys, os, glob, statistics
import benchlib
out, docs = sys.argv[1:3]
kver, accel = benchlib.vm_kernel(os.path.join(out, "vmN.log"))
def runs(name):
    v = []
    for f in sorted(glob.glob(os.path.join(out, name + ".*.json"))):
        j = json.load(open(f))["jobs"][0]
        ios = j["read"]["total_ios"]; rt = j["read"]["runtime"] / 1000.0
        cpu = (j["usr_cpu"] + j["sys_cpu"]) / 100.0 * rt
        v.append({"iops": j["read"]["iops"], "cpu": cpu / ios * 1e6 if ios else 0})
    if not v: sys.exit(f"bench: no results for {name}")
    return v
def mmm(xs):
    return min(xs), statistics.median(xs), max(xs)
# (label, engine runs, peer label, peer runs)
pairs = [("mpath_nvme, 2 paths (multipath=N, round-robin)", runs("mpath"), "io_uring_cmd, 1 path", runs("single")),
         ("mpath_nvme on the head (multipath=Y, head mode)", runs("mpath_head"), "io_uring_cmd on that head", runs("head"))]
lines = ["| target | runs | IOPS min / median / max | CPU per I/O (us) median | IOPS ratio (medians) | CPU ratio (medians) |",
         "| --- | --- | --- | --- | --- | --- |"]
dat = []
for label, e, plabel, p in pairs:
    ei, pi = mmm([x["iops"] for x in e]), mmm([x["iops"] for x in p])
    ec, pc = statistics.median([x["cpu"] for x in e]), statistics.median([x["cpu"] for x in p])
    ratio, cr = ei[1] / pi[1], ec / pc if pc else 0
    for name, v, c, r, q in ((label, ei, ec, f"**{ratio:.2f}x**", f"**{cr:.2f}x**"), (plabel, pi, pc, "", "")):
        lines.append(f"| {name} | {len(e)} | {v[0]:.0f} / {v[1]:.0f} / {v[2]:.0f} | {c:.1f} | {r} | {q} |")
        print(f"bench: {name:48s} IOPS min/median/max {v[0]:7.0f} {v[1]:7.0f} {v[2]:7.0f}  CPU/IO median {c:6.1f} us")
        dat.append((name, v))
    print(f"bench: ratio {label} / {plabel}: IOPS {ratio:.2f}x, CPU per I/O {cr:.2f}x (medians)")
paths = json.load(open(sorted(glob.glob(os.path.join(out, "mpath-paths.*.json")))[-1]))["paths"]
split = ", ".join(f"{p['ng']} {p['ios']} I/Os" for p in paths)
print(f"bench: kernel {kver}, accel {accel}")
print("bench: mpath_nvme per path (last run):", split)
benchlib.bars(os.path.join(docs, "benchmarks.png"), os.path.join(out, "bench.dat"),
              [(name.split(" (")[0], v[1], v[0], v[2]) for name, v in dat], "IOPS (4k randread QD32)",
              f"lab ({accel}, kernel {kver}): median of {len(pairs[0][1])} runs, bars min..max")
with open(os.path.join(out, "benchmarks-lab.md"), "w") as f:
    f.write(f"kernel {kver}, accel {accel}, 4k randread QD32\n\n" + "\n".join(lines) + f"\n\nmpath_nvme per path (last run): {split}\n")
print("bench: results in", out)
PY
echo "$OUT"
