#!/usr/bin/env bash
# demo.sh — the main job: on a fresh Debian 12 machine (as root) install everything, build,
# boot the VM lab, and run fio through the mpath_nvme engine across a scripted failover
# sequence (ANA flip, port down and up, controller delete and reconnect), then print the
# per-path stats and the verify result. Exits 0 when fio saw no error and verify passed.
#
#   sudo scripts/demo.sh             NVME_MPATH_DEMO_SECONDS=60 (fio run time), BUILD_DIR=build
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
BUILD_DIR=${BUILD_DIR:-build}
t0=$(date +%s)
phase() { printf '\n=== %s (%ds)\n' "$*" $(( $(date +%s) - t0 )); }
phase "setup (Debian packages, fio source)"
scripts/setup.sh
phase "build"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target mpath_nvme nvme-mpath-ctl lab_probe >/dev/null
export NVME_MPATH_BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
phase "lab kernel"
tests/lab/build-kernel.sh >/dev/null
phase "lab VM: nvmet target with 2 ports, fio through mpath_nvme across failovers"
rc=0
tests/lab/vm.sh --timeout 600 -- /bin/bash tests/lab/demo-guest.sh || rc=$?
phase "done (exit $rc)"
exit $rc
