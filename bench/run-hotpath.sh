#!/usr/bin/env bash
# run-hotpath.sh BUILD_DIR — the host hot-path benchmark: ns/I/O and allocations/I/O against the
# bare peer, then instructions/I/O under callgrind (difference of two run lengths, so set-up
# cost cancels out). Figures only; exits non-zero only if a run fails.
set -euo pipefail
B=${1:-build}
bin=$B/bench/hotpath_bench
[ -x "$bin" ] || { echo "run-hotpath: build $bin first" >&2; exit 2; }
"$bin" --ios 10000000
if command -v valgrind >/dev/null; then
  tmp=$(mktemp -d)
  count() {  # instructions of one run of N I/Os in mode M
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1.$2" "$bin" --mode "$1" --ios "$2" >/dev/null 2>"$tmp/log"
    awk '/^summary:/{print $2}' "$tmp/cg.$1.$2"
  }
  for m in engine peer; do
    a=$(count $m 100000); b=$(count $m 300000)
    echo "hotpath $m: $(( (b - a) / 200000 )) instructions/io (callgrind)"
  done
  rm -rf "$tmp"
fi
