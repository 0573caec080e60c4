#!/bin/bash
# latency_bench.sh — the I/O policies with one slow path (issue #18): two optimized paths, one
# delayed by NVME_MPATH_BENCH_DELAY_MS (30) ms in the lab's fault proxy, 4k random read at QD 1,
# 8 and 32. Every policy of mpath_nvme (numa, round-robin, queue-depth, latency) in one VM, the
# kernel's multipath head (fio io_uring_cmd, iopolicy numa, round-robin, queue-depth) in a
# second, both on kernel NVME_MPATH_BENCH_KERNEL (6.12). Prints per target and QD min/median/max
# IOPS of NVME_MPATH_BENCH_REPS (3) interleaved rounds and the ratio of the median to the
# unimpaired median of the same VM and QD (round-robin, no delay); and, for the latency policy at
# QD 32 with the delay switched on and off, the throughput before, during and after, how long after
# the switch-off it is back and the healed path's share settles. Redraws docs/latency-policies.png
# (the table) and docs/latency-recovery.png (throughput over time). Figures, not
# a test: the lab is QEMU TCG (the emulated CPU bounds the unimpaired figures);
# docs/benchmarks.md quotes one run.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export NVME_MPATH_BUILD_DIR=${NVME_MPATH_BUILD_DIR:-$TOP/build}
K=${NVME_MPATH_BENCH_KERNEL:-6.12}
[ -x "$NVME_MPATH_BUILD_DIR/fio-engine/mpath_nvme" ] || [ -f "$NVME_MPATH_BUILD_DIR/fio-engine/mpath_nvme" ] \
  || { echo "latency_bench: build the fio engine first ($NVME_MPATH_BUILD_DIR)" >&2; exit 2; }
OUT=$(mktemp -d /var/tmp/nvme-mpath-latency-bench.XXXXXX)
# NVME_MPATH_BENCH_RECOVERY_ONLY=1: only the recovery measurement (one VM, no table).
MPS="N Y"; [ "${NVME_MPATH_BENCH_RECOVERY_ONLY:-0}" = 1 ] && MPS=N
for mp in $MPS; do
  mkdir -p "$OUT/$mp"
  LAB_PROXY_PORTS="1 2" "$TOP/tests/lab/vm.sh" --kernel "$K" --mp $mp --ports 2 --timeout 1200 --out "$OUT/$mp" \
    -- /bin/bash "$TOP/bench/latency_bench_guest.sh" > "$OUT/vm.$mp.log" 2>&1 \
    || { tail -20 "$OUT/vm.$mp.log"; exit 1; }
done
PYTHONPATH=$TOP/bench /usr/bin/python3 - "$OUT" "${NVME_MPATH_BENCH_DELAY_MS:-30}" "$TOP/docs" <<'PY'
import glob, json, os, statistics, sys
import benchlib
out, delay, docs, reps = sys.argv[1], sys.argv[2], sys.argv[3], os.environ.get("NVME_MPATH_BENCH_REPS", "3")
def kernel(mp):
    return "kernel %s, %s" % benchlib.vm_kernel(os.path.join(out, f"vm.{mp}.log"))
def iops(mp, name, qd):
    v = []
    for f in sorted(glob.glob(os.path.join(out, mp, f"{name}.qd{qd}.*.json"))):
        j = json.load(open(f))["jobs"][0]
        assert j["error"] == 0 and j["read"]["total_ios"] > 0, f"{f}: error {j['error']}"
        v.append(j["read"]["iops"])
    return v
rows = [("N", "unimpaired-round-robin", "mpath_nvme round-robin, no delay"),
        ("N", "unimpaired-latency", "mpath_nvme latency, no delay"),
        ("N", "numa", "mpath_nvme numa"), ("N", "round-robin", "mpath_nvme round-robin"),
        ("N", "queue-depth", "mpath_nvme queue-depth"), ("N", "latency", "mpath_nvme latency"),
        ("Y", "head-unimpaired", "kernel head round-robin, no delay"),
        ("Y", "head-numa", "kernel head numa"), ("Y", "head-round-robin", "kernel head round-robin"),
        ("Y", "head-queue-depth", "kernel head queue-depth")]
only_recovery = os.environ.get("NVME_MPATH_BENCH_RECOVERY_ONLY") == "1"
for qd in () if only_recovery else (1, 8, 32):
    base = {mp: statistics.median(iops(mp, n, qd)) for mp, n in (("N", "unimpaired-round-robin"), ("Y", "head-unimpaired"))}
    print(f"latency_bench: QD {qd}, port 1 delayed {delay} ms unless 'no delay'")
    for mp, n, label in rows:
        v = iops(mp, n, qd)
        if not v: sys.exit(f"latency_bench: no results for {n} QD {qd}")
        med = statistics.median(v)
        print(f"latency_bench:   {label:36s} runs {len(v)}  IOPS min/median/max {min(v):8.1f} {med:8.1f} {max(v):8.1f}  {med / base[mp]:5.3f}x unimpaired")
if not only_recovery:  # the table as a plot: each target's median against the unimpaired pair, bars min..max
    with open(os.path.join(out, "policies.dat"), "w") as f:
        for mp, n, label in rows:
            f.write(f'"{label}"')
            for qd in (1, 8, 32):
                base = statistics.median(iops(mp, "unimpaired-round-robin" if mp == "N" else "head-unimpaired", qd))
                v = iops(mp, n, qd)
                f.write(f" {statistics.median(v) / base:.3f} {min(v) / base:.3f} {max(v) / base:.3f}")
            f.write("\n")
    benchlib.plot(os.path.join(docs, "latency-policies.png"), f"""set style data histogram; set style histogram errorbars gap 1 lw 1; set style fill solid border -1;
set ylabel 'IOPS / unimpaired (median, min..max)'; set yrange [0:*]; set key top right;
set title 'one path delayed {delay} ms, 4k randread, {reps} runs each ({kernel("N")})'; set xtics rotate by -25;
plot '{out}/policies.dat' using 2:3:4:xtic(1) title 'QD 1', '' using 5:6:7 title 'QD 8', '' using 8:9:10 title 'QD 32'""",
                  size="1000,540")
# Recovery: the engine's per-path ios every ~100 ms while port 1 is delayed (on) and healed (off).
slow, marks, samples = None, {}, []
for line in open(os.path.join(out, "N", "recovery.txt")):
    w = line.split()
    if w[0] in ("delay-on", "delay-off"): marks[w[0]] = int(w[1]) * 1000  # ms -> us
    elif w[0] == "slow": slow = w[1]
for line in open(os.path.join(out, "N", "recovery.jsonl")):
    try:
        e = json.loads(line)["engines"][0]
    except (ValueError, KeyError, IndexError):
        continue  # the last line, cut when the watcher stopped
    samples.append((e["sampled_at_ms"] * 1000, {p["ng"]: p["ios"] for p in e["paths"]}))
assert slow and len(marks) == 2 and len(samples) > 50, "recovery.txt/jsonl incomplete"
on, off, end = marks["delay-on"], marks["delay-off"], samples[-1][0]
W = 500_000  # us: the window of every rate and share below
def window(i):  # (IOPS, the slow path's share) over the W from sample i, or None near the end
    j = next((k for k in range(i, len(samples)) if samples[k][0] - samples[i][0] >= W), None)
    if j is None: return None
    d = {p: samples[j][1][p] - samples[i][1].get(p, 0) for p in samples[j][1]}
    tot = sum(d.values())
    return tot / ((samples[j][0] - samples[i][0]) / 1e6), (d[slow] / tot if tot else 0)
wins = [(samples[i][0], window(i)) for i in range(len(samples))]
wins = [(t, w) for t, w in wins if w]
def rate(t_from, t_to):
    a = [s for s in samples if t_from <= s[0] <= t_to]
    return (sum(a[-1][1].values()) - sum(a[0][1].values())) / ((a[-1][0] - a[0][0]) / 1e6) if len(a) > 1 else 0
before, during, after = rate(on - 3_000_000, on), rate(on + 1_000_000, off), rate(off + 2_000_000, end)
back = next((t for t, (r, _) in wins if t >= off and r >= 0.9 * before), None)
# Settled: from this window on, every window gives the healed path 25-75 % of the I/O.
after_w = [(t, sh) for t, (_, sh) in wins if t >= off]
settle = next((after_w[k][0] for k in range(len(after_w)) if all(0.25 <= sh <= 0.75 for _, sh in after_w[k:])), None)
shares = [sh for t, sh in after_w if settle and t >= settle]
slow_during = [sh for t, (_, sh) in wins if on + 1_000_000 <= t <= off - W]
print(f"latency_bench: recovery (latency, QD 32, {W // 1000} ms windows): IOPS {before:.0f} before the delay, {during:.0f} with it "
      f"(slow path's share {min(slow_during):.2f}-{max(slow_during):.2f}), {after:.0f} from 2 s after it went off")
print("latency_bench: recovery: throughput back to >= 0.9x the undelayed rate "
      + (f"{(back - off) / 1e6:.2f} s after the delay went off" if back else "never (within the run)")
      + "; the healed path's share settled in 25-75 % "
      + (f"{(settle - off) / 1e6:.2f} s after (then {min(shares):.2f}-{max(shares):.2f})" if settle else "never (within the run)"))
t0 = samples[0][0]
with open(os.path.join(out, "recovery.dat"), "w") as f:
    fast = next(p for p in samples[-1][1] if p != slow)
    for t, (r, sh) in wins:
        f.write(f"{(t + W / 2 - t0) / 1e6:.2f} {r:.0f} {r * (1 - sh):.0f} {r * sh:.0f}\n")  # at the window's middle
benchlib.plot(os.path.join(docs, "latency-recovery.png"), f"""set xlabel 's (the first sample at 0)'; set ylabel 'IOPS ({W // 1000} ms windows)'; set yrange [0:*]; set key below;
set object 1 rect from {(on - t0) / 1e6:.2f},graph 0 to {(off - t0) / 1e6:.2f},graph 1 fc rgb '#eeeeee' behind;
set title 'latency policy, QD 32: {slow} delayed {delay} ms while shaded ({kernel("N")})';
plot '{out}/recovery.dat' using 1:2 with lines lw 2 title 'total', '' using 1:3 with lines title '{fast}', '' using 1:4 with lines title '{slow} (delayed, then healed)'""")
for mp in ("N",) if only_recovery else ("N", "Y"):
    print("latency_bench: multipath=%s: kernel %s, accel %s" % ((mp,) + benchlib.vm_kernel(os.path.join(out, f"vm.{mp}.log"))))
PY
echo "latency_bench: output in $OUT"
