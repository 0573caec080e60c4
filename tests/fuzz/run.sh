#!/bin/bash
# tests/fuzz/run.sh [SECONDS_PER_TARGET | --runs N] — builds the libFuzzer targets with clang
# (ASan+UBSan+libFuzzer) into build-fuzz/ and runs each over its checked-in corpus
# (tests/fuzz/corpus/<target>/; new inputs go to a scratch copy). Prints executions per target.
# CI runs each for a few seconds; locally: tests/fuzz/run.sh --runs 10000000.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=${FUZZ_BUILD_DIR:-$TOP/build-fuzz}
mode=(-max_total_time="${1:-10}")
[ "${1:-}" = --runs ] && mode=(-runs="$2")
mkdir -p "$OUT"
CXX=${CXX_FUZZ:-clang++}
command -v "$CXX" >/dev/null || { echo "fuzz: $CXX not found (scripts/setup.sh installs clang)"; exit 1; }
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -I"$TOP/include" -I"$TOP/src" -DNVME_MPATH_VERSION_STRING=\"fuzz\")
libs=($(pkg-config --libs libnvme fmt absl_status absl_statusor absl_strings))
srcs=("$TOP/src/ana.cc" "$TOP/src/identify.cc" "$TOP/src/status.cc" "$TOP/src/types.cc"
      "$TOP/src/address.cc" "$TOP/src/log.cc")
rc=0
for t in ana status identify parse; do
  "$CXX" "${flags[@]}" "$HERE/${t}_fuzz.cc" "${srcs[@]}" "${libs[@]}" -o "$OUT/${t}_fuzz"
  work=$OUT/corpus-$t
  rm -rf "$work"; cp -r "$HERE/corpus/$t" "$work"
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
