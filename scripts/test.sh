#!/usr/bin/env bash
# test.sh — set up, build and run every nvme-mpath test: unit tests and the simulator on the host,
# then the lab tests in QEMU VMs (real /dev/ngXnY paths over nvmet-tcp). Run as root on Debian 12:
#
#   sudo scripts/test.sh [ctest args...]        e.g.  sudo scripts/test.sh -L unit
#
# Environment: BUILD_DIR (default build), NVME_MPATH_KERNEL=6.1|6.12 (lab kernel), JOBS.
# Exits non-zero when any test fails. With CI=true a lab test that cannot run is a failure,
# not a skip.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
t0=$(date +%s)
phase() { printf '\n=== %s (%ds)\n' "$*" $(( $(date +%s) - t0 )); }

phase "setup"
scripts/setup.sh
phase "build"
cmake -S . -B "$BUILD_DIR" -DNVME_MPATH_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
export NVME_MPATH_BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
if [ "${CI:-}" = true ]; then export NVME_MPATH_LAB_REQUIRED=1; fi
if [ -x tests/lab/build-kernel.sh ]; then
  phase "lab kernel"
  tests/lab/build-kernel.sh
fi
phase "tests"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j 2 --timeout 900 "$@"
phase "done"
