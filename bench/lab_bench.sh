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
KVER=$(cat "${NVME_MPATH_LAB_DIR:-/var/tmp/nvme-mpath-lab}/kernel-${NVME_MPATH_KERNEL:-6.1}/kver")
python3 - "$OUT" "$TOP/docs" "$KVER" <<'PY'
import json, sys, os, glob, statistics, subprocess
out, docs, kver = sys.argv[1:4]
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
print("bench: kernel", kver)
print("bench: mpath_nvme per path (last run):", split)
with open(os.path.join(out, "bench.dat"), "w") as f:
    for i, (name, v) in enumerate(dat):
        f.write(f'{i} "{name.split(" (")[0]}" {v[1]:.0f} {v[0]:.0f} {v[2]:.0f}\n')
png = os.path.join(docs, "benchmarks.png")
subprocess.run(["gnuplot", "-e", f"""set terminal png size 900,420 noenhanced; set output '{png}';
set style fill solid; set boxwidth 0.6; set ylabel 'IOPS (4k randread QD32)'; set yrange [0:*];
set title 'lab (TCG, kernel {kver}): median of {len(pairs[0][1])} runs, bars min..max'; unset key;
set xtics rotate by -15;
plot '{out}/bench.dat' using 1:3:xtic(2) with boxes, '' using 1:3:4:5 with yerrorbars lc rgb 'black'"""], check=False)
with open(os.path.join(out, "benchmarks-lab.md"), "w") as f:
    f.write(f"kernel {kver}, 4k randread QD32\n\n" + "\n".join(lines) + f"\n\nmpath_nvme per path (last run): {split}\n")
print("bench: results in", out)
PY
echo "$OUT"
