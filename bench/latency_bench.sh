#!/bin/bash
# latency_bench.sh — the I/O policies with one slow path (issue #18): two optimized paths, one
# delayed by NVME_MPATH_BENCH_DELAY_MS (30) ms in the lab's fault proxy, 4k random read at QD 1,
# 8 and 32. Every policy of mpath_nvme (numa, round-robin, queue-depth, latency) in one VM, the
# kernel's multipath head (fio io_uring_cmd, iopolicy numa, round-robin, queue-depth) in a
# second, both on kernel NVME_MPATH_BENCH_KERNEL (6.12). Prints per target and QD min/median/max
# IOPS of NVME_MPATH_BENCH_REPS (3) interleaved rounds and the ratio of the median to the
# unimpaired median of the same VM and QD (round-robin, no delay); and how long after the delay
# is switched off the healed path carries its share again (latency policy, QD 32). Figures, not
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
/usr/bin/python3 - "$OUT" "${NVME_MPATH_BENCH_DELAY_MS:-30}" <<'PY'
import glob, json, os, re, statistics, sys
out, delay = sys.argv[1], sys.argv[2]
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
# Recovery: per-path ios every ~100 ms; when the healed path carries >= 30 % of a 300 ms window.
slow, off, samples = None, None, []
for line in open(os.path.join(out, "N", "recovery.txt")):
    w = line.split()
    if w[0] == "delay-off": off = int(w[1]) * 1000  # ms -> us
    elif w[0] == "slow": slow = w[1]
for line in open(os.path.join(out, "N", "recovery.jsonl")):
    try:
        e = json.loads(line)["engines"][0]
    except (ValueError, KeyError, IndexError):
        continue  # the last line, cut when the watcher stopped
    samples.append((e["sampled_at_ms"] * 1000, {p["ng"]: p["ios"] for p in e["paths"]}))
assert slow and off and len(samples) > 20, "recovery.txt incomplete"
back = None
for i in range(len(samples)):
    t, c = samples[i]
    j = next((k for k in range(i, len(samples)) if samples[k][0] - t >= 300_000), None)
    if j is None or t < off: continue
    d = {p: samples[j][1][p] - c[p] for p in c}
    tot = sum(d.values())
    if tot > 0 and d[slow] >= 0.3 * tot:
        back = t
        break
def rate(t_from, t_to):
    a = [s for s in samples if t_from <= s[0] <= t_to]
    return (sum(a[-1][1].values()) - sum(a[0][1].values())) / ((a[-1][0] - a[0][0]) / 1e6) if len(a) > 1 else 0
print(f"latency_bench: recovery (latency, QD 32): IOPS {rate(off - 2_000_000, off):.0f} in the 2 s before the delay went off, "
      f"{rate(off + 2_000_000, off + 4_000_000):.0f} 2-4 s after; the healed path carried >= 30 % again "
      + (f"{(back - off) / 1e6:.2f} s after" if back else "never (within the run)"))
for mp in ("N",) if only_recovery else ("N", "Y"):
    k = re.search(r"vm.sh: kernel (\S+), accel (\S+)", open(os.path.join(out, f"vm.{mp}.log")).read())
    print(f"latency_bench: multipath={mp}: kernel {k.group(1) if k else '?'}, accel {k.group(2).rstrip(',') if k else '?'}")
PY
echo "latency_bench: output in $OUT"
