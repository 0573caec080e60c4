#!/bin/bash
# fetch-qemu.sh — the QEMU of the PCIe lab topology: qemu-system-x86 from bookworm-backports
# (10.x), fetched with apt-get download and unpacked with dpkg -x into the lab directory, never
# installed: the TCP lab keeps Debian 12's own QEMU 7.2, and the PCIe lab gets what 7.2 lacks
# (Flexible Data Placement in nvme-subsys, QEMU 8 and later). Its libraries are all Debian 12's;
# its BIOS is the backports seabios, copied into its data directory.
# Prints the directory holding bin/qemu-system-x86_64, share/qemu (pass it as -L) and modules/
# (pass it as QEMU_MODULE_DIR).
#
#   tests/lab/fetch-qemu.sh           # cached in $NVME_MPATH_LAB_DIR/qemu-bpo, keyed by version
#
# Needs the bookworm-backports suite in apt's sources (scripts/setup.sh adds it). Offline, a
# cached copy is used. Exit 2 with a reason when none can be had.
set -euo pipefail
LAB=${NVME_MPATH_LAB_DIR:-/var/tmp/nvme-mpath-lab}
OUT=$LAB/qemu-bpo
die() { echo "fetch-qemu: error: $*" >&2; exit 2; }
log() { echo "fetch-qemu: $*" >&2; }
mkdir -p "$LAB/dl"
exec 9>"$LAB/.qemu.lock" && flock 9
have_cache() { [ -x "$OUT/bin/qemu-system-x86_64" ] && [ -f "$OUT/key" ]; }
# seabios too: with Debian 12's 1.16.2, QEMU 10's q35 spends 37 s in the BIOS before the kernel
# runs (measured under TCG: 40.7 s to the kernel banner, 6.6 s with the backports 1.16.3).
PKGS="qemu-system-x86 qemu-system-common qemu-system-data seabios"
# The backports candidate of each package: "Version" of the bookworm-backports entry.
bpo_version() {
  apt-cache madison "$1" 2>/dev/null | awk -F'|' '$3 ~ /bookworm-backports/ {gsub(/ /, "", $2); print $2; exit}'
}
VER=$(bpo_version qemu-system-x86 || true)
if [ -z "$VER" ]; then
  have_cache && { log "no bookworm-backports qemu-system-x86 in apt's lists; using the cached $(cat "$OUT/key")"; echo "$OUT"; exit 0; }
  die "no qemu-system-x86 in bookworm-backports (apt sources lack the suite? run scripts/setup.sh)"
fi
key="qemu-system-x86=$VER"
if have_cache && [ "$(cat "$OUT/key")" = "$key" ]; then echo "$OUT"; exit 0; fi
t0=$(date +%s.%N)
debs=()
for p in $PKGS; do
  v=$(bpo_version "$p"); [ -n "$v" ] || die "no $p in bookworm-backports"
  f=$(ls "$LAB"/dl/"${p}_${v//:/%3a}"_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$f" ]; then
    log "downloading $p $v"
    (cd "$LAB/dl" && apt-get download -q "$p=$v" 2>&1 | grep -v -i unsandboxed >&2) || true
    f=$(ls "$LAB"/dl/"${p}_${v//:/%3a}"_*.deb 2>/dev/null | head -1 || true)
  fi
  if [ -z "$f" ]; then
    have_cache && { log "apt-get download $p=$v failed; using the cached $(cat "$OUT/key")"; echo "$OUT"; exit 0; }
    die "apt-get download $p=$v failed (network? apt sources?)"
  fi
  debs+=("$f")
done
tmp=$OUT.tmp.$$
rm -rf "$tmp"; trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/x" "$tmp/bin"
for f in "${debs[@]}"; do dpkg -x "$f" "$tmp/x" || die "dpkg -x $f failed"; done
cp "$tmp/x/usr/bin/qemu-system-x86_64" "$tmp/bin/"
# Its own loadable modules (QEMU_MODULE_DIR): it refuses the system QEMU's ("Only modules from
# the same build can be loaded").
mv "$tmp/x/usr/lib/x86_64-linux-gnu/qemu" "$tmp/modules"
mv "$tmp/x/usr/share/qemu" "$tmp/share-qemu"
cp -f "$tmp/x/usr/share/seabios/"*.bin "$tmp/share-qemu/" || die "no seabios firmware in the packages"
rm -rf "$tmp/x"; mkdir -p "$tmp/share"; mv "$tmp/share-qemu" "$tmp/share/qemu"
missing=$(ldd "$tmp/bin/qemu-system-x86_64" | awk '/not found/{print $1}' | paste -sd' ')
[ -z "$missing" ] || die "QEMU $VER needs libraries this host lacks: $missing"
"$tmp/bin/qemu-system-x86_64" -L "$tmp/share/qemu" -device nvme-subsys,help 2>&1 | grep -q 'fdp=' \
  || die "QEMU $VER has no FDP in nvme-subsys"
echo "$key" > "$tmp/key"
rm -rf "$OUT"; mv "$tmp" "$OUT"; trap - EXIT
ls -t "$LAB"/dl/qemu-system-*.deb 2>/dev/null | tail -n +7 | xargs -r rm -f
log "QEMU $VER ready in $OUT ($(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{printf "%.1f", a-b}') s)"
echo "$OUT"
