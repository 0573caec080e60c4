#!/usr/bin/env bash
# demo.sh — the main job: on a fresh Debian 12 machine (as root) install everything, build,
# boot the VM lab, and run fio through the mpath_nvme engine across a scripted failover
# sequence (ANA flip, port down and up, controller delete and reconnect), then print the
# per-path stats and the verify result. Exits 0 when fio saw no error and verify passed.
#
#   scripts/demo.sh [--help]         as root (a non-root user with sudo: sudo scripts/demo.sh)
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
usage() {
  cat <<'USAGE'
Usage: scripts/demo.sh [--help]

Installs what nvme-mpath needs (Debian 12 packages, the fio source), builds the fio engine and
nvme-mpath-ctl, boots the VM lab (QEMU, an nvmet-tcp target with 2 ports), and runs
fio --ioengine=mpath_nvme with crc32c verify while a script flips ANA states, takes a port down
and up, and deletes and reconnects the controller carrying the I/O. Prints the paths, progress,
fio's summary, the per-path stats, and "fio exit 0, verify errors 0", and draws the failover
timeline (I/O per second of each path every 100 ms, the faults shaded, the application's
errors in the title) as BUILD_DIR/demo/timeline.png (scripts/timeline.sh).

Run it as root (it installs packages with apt-get and boots QEMU); a non-root user with sudo
runs "sudo scripts/demo.sh". The first run takes about 2 minutes on 2 cores once the packages
are downloaded (installing them, the build, the lab kernel download); later runs about 80 s.

Environment:
  NVME_MPATH_DEMO_SECONDS  fio run time in seconds (default 60)
  BUILD_DIR                build directory (default build)

Exit status: 0 when fio saw no error and verify passed; non-zero otherwise.
USAGE
}
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "demo.sh: unknown argument '$1'" >&2; echo "Try 'scripts/demo.sh --help'." >&2; exit 2 ;;
esac
BUILD_DIR=${BUILD_DIR:-build}
t0=$(date +%s)
phase() { printf '\n=== %s (%ds)\n' "$*" $(( $(date +%s) - t0 )); }
# One line per built target instead of silence (the first build takes about a minute).
progress() { awk '/Built target/ {sub(/^\[ *[0-9]+%\] /, ""); print "  " $0; fflush()} /error|Error/ {print; fflush()}'; }
echo "nvme-mpath demo: the first run takes about 2 minutes (packages, build, lab kernel); later runs about 80 s."
phase "setup (Debian packages, fio source)"
scripts/setup.sh
phase "build (configure, then a line per target)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target mpath_nvme nvme-mpath-ctl lab_probe | progress
[ "${PIPESTATUS[0]}" = 0 ] || { echo "demo.sh: build failed (run: cmake --build $BUILD_DIR)" >&2; exit 1; }
export NVME_MPATH_BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
phase "lab kernel"
tests/lab/build-kernel.sh >/dev/null
phase "lab VM: nvmet target with 2 ports, fio through mpath_nvme across failovers"
rc=0
OUT=$NVME_MPATH_BUILD_DIR/demo
rm -rf "$OUT" && mkdir -p "$OUT"
tests/lab/vm.sh --timeout 600 --out "$OUT" -- /bin/bash tests/lab/demo-guest.sh || rc=$?
phase "failover timeline"
scripts/timeline.sh "$OUT" || echo "demo.sh: no timeline drawn (see above)" >&2
echo "demo output (fio log, per-path stats, the timeline): $OUT"
phase "done (exit $rc)"
exit $rc
