#!/bin/bash
# tests/fuzz/run.sh [SECONDS_PER_TARGET | --runs N] [TARGET...] — builds the libFuzzer targets
# with clang (ASan+UBSan+libFuzzer) into build-fuzz/ and runs each over its checked-in corpus
# (tests/fuzz/corpus/<target>/; new inputs go to a scratch copy). Prints executions per target.
# CI runs each for a few seconds; locally: tests/fuzz/run.sh --runs 10000000.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=${FUZZ_BUILD_DIR:-$TOP/build-fuzz}
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
rc=0
for t in "${targets[@]}"; do
  [ -v "extra[$t]" ] || { echo "fuzz: unknown target $t"; exit 1; }
  srcs=()
  for s in ${extra[$t]}; do
    if [[ $s == *.c ]]; then
      o="$OUT/$t-$(basename "$s" .c).o"
      "$CC" -std=gnu11 "${san[@]}" -I"$TOP/include" -c "$s" -o "$o"
      srcs+=("$o")
    else
      srcs+=("$s")
    fi
  done
  "$CXX" "${flags[@]}" "$HERE/${t}_fuzz.cc" "${common[@]}" "${srcs[@]}" "${libs[@]}" -o "$OUT/${t}_fuzz"
  work=$OUT/corpus-$t
  rm -rf "$work"; mkdir -p "$HERE/corpus/$t"; cp -r "$HERE/corpus/$t" "$work"
  if "$OUT/${t}_fuzz" "${mode[@]}" -print_final_stats=1 -artifact_prefix="$OUT/$t-" "$work" > "$OUT/$t.log" 2>&1; then
    execs=$(awk '/stat::number_of_executed_units/{print $2}' "$OUT/$t.log")
    echo "fuzz: $t: $execs executions, no crash"
  else
    echo "fuzz: $t: CRASH (see $OUT/$t.log; the input is in $OUT): turn it into a unit test"
    tail -30 "$OUT/$t.log"
    rc=1
  fi
done
exit $rc
