#!/usr/bin/env bash
# run-hotpath.sh BUILD_DIR [PAIRS] — the host hot-path benchmark. Runs the engine and the bare
# peer alternately PAIRS times (default 5, 10 M I/Os each) and prints min / median / max ns/I/O
# for each, the ratio of the medians and heap allocations per I/O (the worst run); then the
# instructions per I/O under callgrind (exact: the difference of two run lengths, so set-up cost
# cancels out), at batch 32 and at batch 1, of the engine through the C API (as the fio engine
# and C programs drive it), and those of the real io_uring transport per command
# (user space; no device: a regular file refuses each command); the first line names the host
# kernel. Redraws docs/hotpath.png (ns/io of every run). Every line starts with "hotpath".
# Figures only; exits non-zero only if a run fails.
set -euo pipefail
B=${1:-build}
pairs=${2:-5}
bin=$B/bench/hotpath_bench
[ -x "$bin" ] || { echo "run-hotpath: build $bin first" >&2; exit 2; }
echo "hotpath host: kernel $(uname -r), $(nproc) cpus, $pairs engine/peer pairs of 10000000 I/Os"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((i = 0; i < pairs; i++)); do
  for m in engine peer; do
    # "hotpath M: X ns/io, Y heap allocations/io (...)": keep X and Y.
    "$bin" --mode $m --ios 10000000 | awk -v m=$m '$2 == m":" {print $3, $5}' >>"$tmp/$m"
  done
done
stats() {  # min median max of column 1, max of column 2, of file $1
  sort -n "$1" | awk '{ns[NR] = $1; if ($2 > a) a = $2}
    END {printf "%.1f %.1f %.1f %.3f\n", ns[1], (NR % 2 ? ns[(NR + 1) / 2] : (ns[NR / 2] + ns[NR / 2 + 1]) / 2), ns[NR], a}'
}
read -r emin emed emax ealloc < <(stats "$tmp/engine")
read -r pmin pmed pmax palloc < <(stats "$tmp/peer")
echo "hotpath engine: ns/io min $emin median $emed max $emax, $ealloc heap allocations/io"
echo "hotpath peer (bare uring_cmd prep/reap): ns/io min $pmin median $pmed max $pmax, $palloc heap allocations/io"
if command -v gnuplot >/dev/null; then  # docs/hotpath.png: ns/io of each run, engine and peer
  paste <(awk '{print $1}' "$tmp/engine") <(awk '{print $1}' "$tmp/peer") | awk '{print NR, $1, $2}' >"$tmp/runs.dat"
  gnuplot -e "set terminal png size 800,380 noenhanced; set output '$(dirname "$0")/../docs/hotpath.png';
    set xlabel 'pair (engine, then peer)'; set ylabel 'ns per I/O'; set yrange [0:*]; set xtics 1; set key below;
    set title 'host hot path, batch 32, 10 M I/Os per run (kernel $(uname -r))';
    plot '$tmp/runs.dat' using 1:2 with linespoints title 'engine', '' using 1:3 with linespoints title 'peer (bare prep/reap)'" || true
fi
echo "hotpath ratio engine/peer: $(awk -v e="$emed" -v p="$pmed" 'BEGIN {printf "%.2f", e / p}')x time (medians)"
if command -v valgrind >/dev/null; then
  count() {  # instructions of one run of N I/Os in mode M, batch B
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1.$2.$3" "$bin" --mode "$1" --ios "$2" --batch "$3" \
      >/dev/null 2>"$tmp/log"
    awk '/^summary:/{print $2}' "$tmp/cg.$1.$2.$3"
  }
  per_io() {  # instructions per I/O of mode M at batch B: the difference of two run lengths
    echo $(( ($(count "$1" 300000 "$2") - $(count "$1" 100000 "$2")) / 200000 ))
  }
  for m in engine peer; do echo "hotpath $m: $(per_io $m 32) instructions/io (callgrind)"; done
  # One I/O per Poll() (a synchronous caller at QD 1): what is paid per batch is paid per I/O.
  for m in engine peer; do echo "hotpath $m at batch 1: $(per_io $m 1) instructions/io (callgrind)"; done
  # The engine as C programs and the fio engine drive it: the same queue through the C API
  # (nvme_mpath_submit/flush/poll on nvme_mpath_io requests).
  echo "hotpath engine through the C API: $(per_io capi 32) instructions/io (callgrind; batch 1: $(per_io capi 1))"
  # The same with each round's I/Os in one call (Queue::SubmitBatch, nvme_mpath_submit_batch):
  # the queue's own checks made once per call instead of once per I/O.
  echo "hotpath engine, batch submit: $(per_io engine-batch 32) instructions/io (callgrind)"
  echo "hotpath engine through the C API, batch submit: $(per_io capi-batch 32) instructions/io (callgrind)"
  # The real io_uring transport under both (a regular file refuses each uring_cmd at once):
  # user-space instructions per command of reserving the SQE, building the command in it as the
  # peer does, submitting and reaping, batch 32. Not part of the figures above.
  echo "hotpath uring transport: $(per_io uring 32) instructions/command (callgrind, user space)"
else
  echo "hotpath: no valgrind, no instruction counts"
fi
