#!/bin/bash
# tests/fuzz/run.sh [--build-only | --no-build] [SECONDS_PER_TARGET | --runs N] [TARGET...] —
# builds the libFuzzer targets with clang (ASan+UBSan+libFuzzer) into build-fuzz/ and runs each
# over its checked-in corpus (tests/fuzz/corpus/<target>/; new inputs go to a scratch copy).
# Prints executions per target.
# CI runs each for a few seconds; locally: tests/fuzz/run.sh --runs 10000000.
#   --build-only   build the targets, run nothing (scripts/test.sh builds them while the lab runs)
#   --no-build     run the targets a --build-only of this tree left in build-fuzz/
#   FUZZ_JOBS=N    compiles, and targets, run N at a time (default: nproc). Each target is one
#                  single-threaded process, so with N <= the cores each still has a core of its
#                  own for its SECONDS_PER_TARGET (or its N runs).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=${FUZZ_BUILD_DIR:-$TOP/build-fuzz}
JOBS=${FUZZ_JOBS:-$(nproc)}
build=1 run=1
case "${1:-}" in
  --build-only) run=0; shift ;;
  --no-build) build=0; shift ;;
esac
mode=(-max_total_time=10)
if [ "${1:-}" = --runs ]; then mode=(-runs="$2"); shift 2
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then mode=(-max_total_time="$1"); shift; fi
mkdir -p "$OUT"
CXX=${CXX_FUZZ:-clang++}
CC=${CC_FUZZ:-clang}
command -v "$CXX" >/dev/null || { echo "fuzz: $CXX not found (scripts/setup.sh installs clang)"; exit 1; }
san=(-O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
flags=(-std=c++20 "${san[@]}" -I"$TOP/include" -I"$TOP/src" -DNVME_MPATH_VERSION_STRING=\"fuzz\")
libs=($(pkg-config --libs libnvme fmt absl_status absl_statusor absl_strings json-c))
# Library sources every target links (pure code: no device is ever opened).
common=("$TOP/src/ana.cc" "$TOP/src/identify.cc" "$TOP/src/status.cc" "$TOP/src/disposition.cc" "$TOP/src/types.cc"
        "$TOP/src/address.cc" "$TOP/src/log.cc")
# Per target: the sources it adds (.c files are compiled as C).
declare -A extra=(
  [ana]="" [status]="" [identify]="" [parse]=""
  [capi_opts]="$TOP/src/options.cc $TOP/src/c_options.cc"
  [fio_opts]="$TOP/fio-engine/options.c"
  [ctl_args]="$TOP/tools/nvme-mpath-ctl/args.cc"
  [json]="$TOP/tools/json/mpath_json.c"
)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(ana status identify parse capi_opts fio_opts ctl_args json)
for t in "${targets[@]}"; do
  [ -v "extra[$t]" ] || { echo "fuzz: unknown target $t"; exit 1; }
done

# At most $JOBS of these at once: CMD... runs in the background; a failure is counted when it is
# reaped (wait -n), and every job is reaped before the caller goes on (drain).
njobs=0 nfailed=0
spawn() {
  if [ "$njobs" -ge "$JOBS" ]; then wait -n || nfailed=$((nfailed + 1)); njobs=$((njobs - 1)); fi
  "$@" &
  njobs=$((njobs + 1))
}
drain() { while [ "$njobs" -gt 0 ]; do wait -n || nfailed=$((nfailed + 1)); njobs=$((njobs - 1)); done; }

# Every source is compiled once, with the flags it always had (a source several targets share,
# such as the common ones, gives one object), then each target is linked from its objects.
obj() { local s=${1#"$TOP/"}; echo "$OUT/obj/${s//\//_}.o"; }
compile() {  # SOURCE OBJECT
  if [[ $1 == *.c ]]; then "$CC" -std=gnu11 "${san[@]}" -I"$TOP/include" -c "$1" -o "$2"
  else "$CXX" "${flags[@]}" -c "$1" -o "$2"; fi
}
link() {  # TARGET
  local t=$1 s objs=()
  for s in "$HERE/${t}_fuzz.cc" "${common[@]}" ${extra[$t]}; do objs+=("$(obj "$s")"); done
  "$CXX" "${flags[@]}" "${objs[@]}" "${libs[@]}" -o "$OUT/${t}_fuzz"
}
if [ $build = 1 ]; then
  mkdir -p "$OUT/obj"
  declare -A seen=()
  for t in "${targets[@]}"; do
    rm -f "$OUT/${t}_fuzz"
    for s in "$HERE/${t}_fuzz.cc" "${common[@]}" ${extra[$t]}; do
      [ -v "seen[$s]" ] && continue
      seen[$s]=1
      spawn compile "$s" "$(obj "$s")"
    done
  done
  drain
  [ "$nfailed" = 0 ] || { echo "fuzz: $nfailed source(s) did not compile"; exit 1; }
  for t in "${targets[@]}"; do spawn link "$t"; done
  drain
  [ "$nfailed" = 0 ] || { echo "fuzz: $nfailed target(s) did not link"; exit 1; }
fi
[ $run = 1 ] || { echo "fuzz: built ${targets[*]} in $OUT"; exit 0; }

fuzz() {  # TARGET: its result line goes to $OUT/$t.result, printed in target order below
  local t=$1 work=$OUT/corpus-$1 execs
  rm -rf "$work"; mkdir -p "$HERE/corpus/$t"; cp -r "$HERE/corpus/$t" "$work"
  if "$OUT/${t}_fuzz" "${mode[@]}" -print_final_stats=1 -artifact_prefix="$OUT/$t-" "$work" > "$OUT/$t.log" 2>&1; then
    execs=$(awk '/stat::number_of_executed_units/{print $2}' "$OUT/$t.log")
    echo "fuzz: $t: $execs executions, no crash" > "$OUT/$t.result"
  else
    { echo "fuzz: $t: CRASH (see $OUT/$t.log; the input is in $OUT): turn it into a unit test"
      tail -30 "$OUT/$t.log"; } > "$OUT/$t.result"
    return 1
  fi
}
for t in "${targets[@]}"; do
  [ -x "$OUT/${t}_fuzz" ] || { echo "fuzz: no $OUT/${t}_fuzz (--no-build needs a --build-only of this tree first)"; exit 1; }
  rm -f "$OUT/$t.result"
done
for t in "${targets[@]}"; do spawn fuzz "$t"; done
drain
for t in "${targets[@]}"; do cat "$OUT/$t.result" 2>/dev/null || echo "fuzz: $t: no result"; done
[ "$nfailed" = 0 ]
