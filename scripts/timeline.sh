#!/usr/bin/env bash
# timeline.sh — draws the demo's failover timeline: I/O per second of each path (lines, from
# the engine's counters sampled every 100 ms), the faults (shaded intervals, labelled) and the
# errors the application saw (fio's count, in the title).
#
#   scripts/timeline.sh DIR      DIR holds the demo's timeline.jsonl, faults.txt, result.txt
#                                (tests/lab/demo-guest.sh writes them); writes DIR/timeline.png
#                                and DIR/timeline.dat (seconds, then IOPS per path)
set -euo pipefail
case "${1:-}" in
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") echo "timeline.sh: missing DIR" >&2; echo "Try 'scripts/timeline.sh --help'." >&2; exit 2 ;;
esac
D=$1
for f in timeline.jsonl faults.txt result.txt; do
  [ -s "$D/$f" ] || { echo "timeline.sh: no $D/$f (run scripts/demo.sh)" >&2; exit 1; }
done
command -v gnuplot >/dev/null || { echo "timeline.sh: no gnuplot (scripts/setup.sh installs gnuplot-nox)" >&2; exit 1; }
/usr/bin/python3 - "$D" <<'PY'
import json, sys
d = sys.argv[1]
samples = []
for line in open(f"{d}/timeline.jsonl"):
    try:
        e = json.loads(line)["engines"][0]
    except (ValueError, KeyError, IndexError):
        continue  # a line cut short when the watcher was stopped
    samples.append((e["sampled_at_ms"], [(p["ng"], p["ios"], p["failovers"]) for p in e["paths"]]))
if len(samples) < 10: sys.exit(f"timeline.sh: only {len(samples)} samples in {d}/timeline.jsonl")
t0 = samples[0][0]
# A path's device name changes when its controller is deleted and reconnected under a new name.
names = []
for _, paths in samples:
    for i, (n, _, _) in enumerate(paths):
        if i == len(names): names.append([])
        if n not in names[i]: names[i].append(n)
with open(f"{d}/timeline.dat", "w") as f:
    f.write("# seconds " + " ".join("|".join(n) for n in names) + "  (I/O per second over the previous sample)\n")
    for (ta, a), (tb, b) in zip(samples, samples[1:]):
        dt = (tb - ta) / 1000
        if dt <= 0: continue
        f.write(f"{(tb - t0) / 1000:.2f} " + " ".join(f"{(y[1] - x[1]) / dt:.0f}" for x, y in zip(a, b)) + "\n")
faults, open_ = [], {}
for line in open(f"{d}/faults.txt"):
    kind, ms, label = line.rstrip("\n").split(" ", 2)
    if kind == "start": open_[label] = (int(ms) - t0) / 1000
    elif label in open_: faults.append((open_.pop(label), (int(ms) - t0) / 1000, label))
res = dict(kv.split("=", 1) for kv in open(f"{d}/result.txt").read().split())
failovers = sum(x[2] for x in samples[-1][1])
title = (f"fio through mpath_nvme, randrw 4k QD16 with crc32c verify: application errors {res.get('err', '?')}, "
         f"verify errors {res.get('verify_errors', '?')}; the engine resent {failovers} commands")
with open(f"{d}/timeline.gp", "w") as g:
    g.write(f'set terminal png size 1200,520 font ",10"\nset output "{d}/timeline.png"\n')
    g.write(f'set title "{title}" noenhanced\nset xlabel "seconds"\nset ylabel "I/O per second"\n')
    g.write('set key below\nset grid ytics\nset yrange [0:*]\n')
    for i, (a, b, label) in enumerate(faults, 1):
        g.write(f'set object {i} rect from {a:.2f}, graph 0 to {b:.2f}, graph 1 fc rgb "#f4c7c3" fs solid 0.6 noborder behind\n')
        g.write(f'set label {i} "{label}" at {a:.2f}, graph 0.96 left font ",9"\n')
    plots = [f'"{d}/timeline.dat" using 1:{i + 2} with lines lw 2 title "path {i}: {", then ".join(n)}" noenhanced'
             for i, n in enumerate(names)]
    g.write("plot " + ", ".join(plots) + "\n")
print(f"timeline.sh: {len(samples)} samples, {len(faults)} faults, {failovers} commands resent")
PY
gnuplot "$D/timeline.gp"
echo "timeline.sh: wrote $D/timeline.png"
