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
phase "tests"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 --timeout 900 "$@"
if [ $# -eq 0 ] && [ "${NVME_MPATH_SANITIZE_STAGE:-1}" = 1 ]; then
  # AddressSanitizer + UndefinedBehaviorSanitizer: unit tests, the simulator, the engine's lab
  # tests. Any report aborts the binary (-fno-sanitize-recover), so it fails the stage.
  phase "sanitizers: build (ASan+UBSan)"
  A=$BUILD_DIR-asan
  cmake -S . -B "$A" -DNVME_MPATH_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
    -DNVME_MPATH_WERROR=ON -DNVME_MPATH_LAB_EXTRA_KERNELS= >/dev/null
  cmake --build "$A" -j "$JOBS"
  phase "sanitizers: unit tests and simulator"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
  ctest --test-dir "$A" -L unit -E 'unit\.(sim|install|fio_enghelp)' --output-on-failure --timeout 600
  "$A/tests/sim/nvme_mpath_sim" --seeds 300 --ios 2000
  phase "sanitizers: lab (C++ API, C API, fio engine)"
  NVME_MPATH_BUILD_DIR=$(cd "$A" && pwd) tests/lab/vm.sh --timeout 800 -- \
    /bin/bash tests/integration/sanitize_guest.sh
  # The library runs clean under the sanitizers.
  echo "sanitizers: 0 reports"
  # ThreadSanitizer: the path table and the counters are shared lock-free between the control
  # thread and the queues; the unit tests and the simulator run with every race fatal.
  phase "sanitizers: build (TSan)"
  T=$BUILD_DIR-tsan
  cmake -S . -B "$T" -DNVME_MPATH_TSAN=ON -DNVME_MPATH_BUILD_FIO=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DNVME_MPATH_WERROR=ON -DNVME_MPATH_LAB_EXTRA_KERNELS= >/dev/null
  cmake --build "$T" -j "$JOBS"
  phase "sanitizers: unit tests and simulator (TSan)"
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --test-dir "$T" -L unit \
    -E 'unit\.(sim|install|fio_enghelp)' --output-on-failure --timeout 600
  TSAN_OPTIONS=halt_on_error=1 "$T/tests/sim/nvme_mpath_sim" --seeds 100 --ios 2000
  phase "fuzzing: each libFuzzer target for 5 s over its checked-in corpus"
  FUZZ_BUILD_DIR=$(pwd)/$BUILD_DIR-fuzz tests/fuzz/run.sh 5
fi
phase "done"
