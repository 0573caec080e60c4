#!/bin/bash
# boot.sh — the lab.boot test: boots the lab VM with no set-up and runs `true`. Passes only when
# vm.sh exits 0 AND printed its boot timing (a regex alone would let a failed boot pass); 77
# (cannot run a VM here) is passed through for CTest's skip.
set -uo pipefail
out=$("$(dirname "$0")/vm.sh" --no-setup --timeout "${1:-160}" -- true 2>&1)
rc=$?
printf '%s\n' "$out"
[ "$rc" -eq 0 ] || { echo "lab.boot: vm.sh exited $rc"; exit "$rc"; }
grep -q 'TIMING qemu start -> first guest command' <<<"$out" || { echo "lab.boot: no boot timing printed"; exit 1; }
