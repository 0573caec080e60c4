#!/usr/bin/env bash
# test.sh — set up, build and run every nvme-mpath test: unit tests and the simulator on the host,
# then the lab tests in QEMU VMs (real /dev/ngXnY paths over nvmet-tcp). Run as root on Debian 12:
#
#   scripts/test.sh [ctest args...]             as root, e.g.  scripts/test.sh -L unit
#
# Environment: BUILD_DIR (default build), NVME_MPATH_LAB_KERNELS ("6.1 6.12": the lab kernels;
# every lab test runs on 6.1, the smoke, engine and fault-storm tests on 6.12 too), JOBS.
# Then (full runs only) the sanitizer stages: ASan+UBSan (unit tests, simulator, and in the lab
# the C++ API, the C API and the fio engine), ThreadSanitizer (unit tests, simulator), and 5 s
# of each fuzz target.
# Exits non-zero when any test fails. With CI=true a lab test that cannot run is a failure,
# not a skip.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
case "${1:-}" in
  -h|--help)
    cat <<'USAGE'
Usage: scripts/test.sh [ctest arguments...]

Installs what the tests need (Debian 12 packages, the fio source, the lab kernels), builds, and
runs every test with ctest: unit tests, the simulator, the install test, and the lab tests in
QEMU VMs on kernels 6.1 and 6.12; then (with no arguments) the ASan+UBSan, ThreadSanitizer and
fuzzing stages. With arguments, only ctest runs, with them (e.g. -L unit, -R lab.fio).

Run it as root (a non-root user with sudo: sudo scripts/test.sh). A full run takes about
45 minutes on 2 cores once the packages are downloaded.

Environment:
  BUILD_DIR               build directory (default build)
  NVME_MPATH_LAB_KERNELS  lab kernels (default "6.1 6.12")
  JOBS                    build parallelism (default: nproc)
  CI=true                 a lab test that cannot boot its VM fails instead of skipping

Exit status: 0 when every test passed; non-zero otherwise.
USAGE
    exit 0 ;;
esac
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
t0=$(date +%s)
phase() { printf '\n=== %s (%ds)\n' "$*" $(( $(date +%s) - t0 )); }

# Lab kernels: Debian 12's 6.1, and 6.12 from bookworm-backports (the kernel matrix).
KERNELS=${NVME_MPATH_LAB_KERNELS:-6.1 6.12}
phase "setup"
case " $KERNELS " in *" 6.12 "*) NVME_MPATH_KERNEL=6.12 scripts/setup.sh ;; *) scripts/setup.sh ;; esac
phase "build"
extra=$(echo "$KERNELS" | tr ' ' '\n' | grep -v '^6.1$' | paste -sd';' || true)
cmake -S . -B "$BUILD_DIR" -DNVME_MPATH_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DNVME_MPATH_LAB_EXTRA_KERNELS=$extra" >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
export NVME_MPATH_BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
if [ "${CI:-}" = true ]; then export NVME_MPATH_LAB_REQUIRED=1; fi
phase "lab kernels: $KERNELS"
for k in $KERNELS; do NVME_MPATH_KERNEL=$k tests/lab/build-kernel.sh; done
tests/lab/fetch-qemu.sh >/dev/null  # the PCIe topology's QEMU (bookworm-backports)
# Checked just now: each VM of this run takes the cached kernel without asking apt again.
export NVME_MPATH_LAB_KERNELS_CHECKED=$KERNELS

FULL=0
if [ $# -eq 0 ] && [ "${NVME_MPATH_SANITIZE_STAGE:-1}" = 1 ]; then FULL=1; fi
phase "tests"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 --timeout 900 "$@"
if [ $FULL = 1 ]; then
  # The sanitizer trees build only what their stages run (nvme_mpath_unit_tests: the unit tests'
  # and the simulator's programs; nvme_mpath_sanitize_lab: what sanitize_guest.sh runs), side by
  # side with each other and the fuzz targets, and each sanitized simulator runs (deterministic:
  # one thread on a fake clock, nothing timed) as soon as its tree is built. Never during ctest:
  # any other load on the host, even at SCHED_IDLE, slowed the lab VMs (boot and set-up by a
  # fifth or more, measured). Each lane's output goes to $L/<lane>.log, printed when all are done.
  A=$BUILD_DIR-asan T=$BUILD_DIR-tsan F=$TOP/$BUILD_DIR-fuzz L=$BUILD_DIR-sanitize-logs
  phase "sanitizers: build (ASan+UBSan, TSan, fuzz targets) and the sanitized simulators"
  rm -rf "$L" && mkdir -p "$L"
  asan_lane() {
    cmake -S . -B "$A" -DNVME_MPATH_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
      -DNVME_MPATH_WERROR=ON -DNVME_MPATH_LAB_EXTRA_KERNELS= >/dev/null &&
    cmake --build "$A" -j "$JOBS" --target nvme_mpath_unit_tests nvme_mpath_sanitize_lab &&
    echo "--- simulator under ASan+UBSan" &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      "$A/tests/sim/nvme_mpath_sim" --seeds 300 --ios 2000
  }
  tsan_lane() {
    cmake -S . -B "$T" -DNVME_MPATH_TSAN=ON -DNVME_MPATH_BUILD_FIO=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DNVME_MPATH_WERROR=ON -DNVME_MPATH_LAB_EXTRA_KERNELS= >/dev/null &&
    cmake --build "$T" -j "$JOBS" --target nvme_mpath_unit_tests &&
    echo "--- simulator under TSan" &&
    TSAN_OPTIONS=halt_on_error=1 "$T/tests/sim/nvme_mpath_sim" --seeds 100 --ios 2000
  }
  fuzz_lane() { FUZZ_BUILD_DIR=$F FUZZ_JOBS=1 tests/fuzz/run.sh --build-only; }
  lanes=(asan tsan fuzz)
  for n in "${lanes[@]}"; do
    ( s=$SECONDS rc=0; "${n}_lane" > "$L/$n.log" 2>&1 || rc=$?; echo "$((SECONDS - s))" > "$L/$n.s"; echo "$rc" > "$L/$n.rc" ) &
  done
  wait
  failed=
  for n in "${lanes[@]}"; do
    rc=$(cat "$L/$n.rc" 2>/dev/null || echo '?')
    echo "--- $n lane (exit $rc after $(cat "$L/$n.s" 2>/dev/null || echo '?') s; $L/$n.log)"
    cat "$L/$n.log"
    [ "$rc" = 0 ] || failed+=" $n"
  done
  [ -z "$failed" ] || { echo "sanitizers: the$failed lane(s) failed; see above"; exit 1; }
  # AddressSanitizer + UndefinedBehaviorSanitizer: unit tests, the simulator (above: 300 seeds),
  # the engine's lab tests. Any report aborts the binary (-fno-sanitize-recover), so it fails
  # the stage.
  phase "sanitizers: unit tests (ASan+UBSan)"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
  ctest --test-dir "$A" -L unit -E 'unit\.(sim|install|fio_enghelp)' --output-on-failure -j 2 --timeout 600
  phase "sanitizers: lab (C++ API, C API, fio engine)"
  NVME_MPATH_BUILD_DIR=$(cd "$A" && pwd) tests/lab/vm.sh --timeout 800 -- \
    /bin/bash tests/integration/sanitize_guest.sh
  # The library runs clean under the sanitizers.
  echo "sanitizers: 0 reports"
  # ThreadSanitizer: the path table and the counters are shared lock-free between the control
  # thread and the queues; the unit tests and the simulator (above: 100 seeds) run with every
  # race fatal.
  phase "sanitizers: unit tests (TSan)"
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --test-dir "$T" -L unit \
    -E 'unit\.(sim|install|fio_enghelp)' --output-on-failure -j 2 --timeout 600
  phase "fuzzing: each libFuzzer target for 5 s over its checked-in corpus"
  FUZZ_BUILD_DIR=$F tests/fuzz/run.sh --no-build 5
fi
phase "done"
