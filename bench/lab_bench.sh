#!/bin/bash
# lab_bench.sh — the lab benchmark: 4k random read, QD32, fio, in one run of the lab:
#   mpath_nvme over 2 paths, io_uring_cmd on one path (both with nvme_core.multipath=N), and
#   io_uring_cmd on the kernel's multipath=Y head (a second VM). Prints IOPS and CPU per I/O with
#   the ratios and the kernel, redraws docs/benchmarks.png and leaves a markdown table in the
#   output directory (docs/benchmarks.md quotes a run).
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
import json, sys, os, datetime, subprocess
out, docs, kver = sys.argv[1:4]
def load(name):
    j = json.load(open(os.path.join(out, name + ".json")))["jobs"][0]
    ios = j["read"]["total_ios"]; rt = j["read"]["runtime"] / 1000.0
    cpu = (j["usr_cpu"] + j["sys_cpu"]) / 100.0 * rt
    return {"iops": j["read"]["iops"], "cpu_us_per_io": cpu / ios * 1e6 if ios else 0,
            "lat_p50_us": j["read"]["clat_ns"]["percentile"].get("50.000000", 0) / 1000}
r = {"mpath_nvme (2 paths, round-robin)": load("mpath"), "io_uring_cmd (1 path)": load("single"),
     "io_uring_cmd (multipath=Y head)": load("head")}
short = ["mpath_nvme, 2 paths", "io_uring_cmd, 1 path", "io_uring_cmd, mp=Y head"]
m = r["mpath_nvme (2 paths, round-robin)"]
lines = ["| target | IOPS | CPU per I/O (us) | p50 latency (us) | IOPS ratio mpath/peer | CPU ratio mpath/peer |",
         "| --- | --- | --- | --- | --- | --- |"]
for k, v in r.items():
    ratio = m["iops"] / v["iops"] if v["iops"] else 0
    cr = m["cpu_us_per_io"] / v["cpu_us_per_io"] if v["cpu_us_per_io"] else 0
    lines.append(f"| {k} | {v['iops']:.0f} | {v['cpu_us_per_io']:.1f} | {v['lat_p50_us']:.0f} | {ratio:.2f}x | {cr:.2f}x |")
    print(f"bench: {k:36s} IOPS {v['iops']:8.0f}  CPU/IO {v['cpu_us_per_io']:6.1f} us  mpath/peer IOPS {ratio:.2f}x CPU {cr:.2f}x")
paths = json.load(open(os.path.join(out, "mpath-paths.json")))["paths"]
split = ", ".join(f"{p['ng']} {p['ios']} I/Os" for p in paths)
print("bench: kernel", kver)
print("bench: mpath_nvme per path:", split)
with open(os.path.join(out, "bench.dat"), "w") as f:
    for i, (k, v) in enumerate(r.items()):
        f.write(f'{i} "{short[i]}" {v["iops"]:.0f}\n')
png = os.path.join(docs, "benchmarks.png")
subprocess.run(["gnuplot", "-e", f"""set terminal png size 800,400 noenhanced; set output '{png}';
set style fill solid; set boxwidth 0.6; set ylabel 'IOPS (4k randread QD32)'; set yrange [0:*];
set title 'lab (TCG, kernel {kver}): one run'; unset key;
plot '{out}/bench.dat' using 1:3:xtic(2) with boxes"""], check=False)
with open(os.path.join(out, "benchmarks-lab.md"), "w") as f:
    f.write(f"kernel {kver}, 4k randread QD32\n\n" + "\n".join(lines) + f"\n\nmpath_nvme per path: {split}\n")
print("bench: results in", out)
PY
echo "$OUT"
