#!/bin/bash
# build-kernel.sh — fetch Debian's kernel package (apt-get download + dpkg -x: never installed on
# the host) and build the lab's busybox initramfs. Cached in $NVME_MPATH_LAB_DIR; a second run
# returns at once. Prints the kernel directory on stdout.
#
#   NVME_MPATH_KERNEL=6.1 (default: linux-image-amd64 of Debian 12) | 6.12 (bookworm-backports)
#   NVME_MPATH_LAB_DIR=/var/tmp/nvme-mpath-lab
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=${NVME_MPATH_LAB_DIR:-/var/tmp/nvme-mpath-lab}
KSEL=${NVME_MPATH_KERNEL:-6.1}
mkdir -p "$LAB/dl"
log() { echo "build-kernel: $*" >&2; }
die() { echo "build-kernel: error: $*" >&2; exit 1; }

for tool in dpkg apt-get apt-cache depmod modprobe cpio gzip busybox; do
  command -v "$tool" >/dev/null || [ -x /bin/busybox ] || die "$tool missing: run scripts/setup.sh"
done
[ -x /bin/busybox ] || die "/bin/busybox missing: install busybox-static (scripts/setup.sh)"

exec 9>"$LAB/.build.lock"
flock -w 600 9 || die "another build holds $LAB/.build.lock for 10 minutes"

resolve_pkg() {
  case $KSEL in
    6.1) apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}' ;;
    6.12) apt-cache pkgnames linux-image-6.12 2>/dev/null | grep -E '^linux-image-6\.12\.[0-9.]+\+bpo-amd64$|^linux-image-6\.12\.[0-9.]+\+deb12-amd64$' | sort -V | tail -1 ;;
    *) die "NVME_MPATH_KERNEL must be 6.1 or 6.12, not '$KSEL'" ;;
  esac
}
PKG=${NVME_MPATH_KERNEL_PKG:-$(resolve_pkg)}
if [ -z "$PKG" ]; then
  apt-get update -qq >/dev/null 2>&1 || true
  PKG=$(resolve_pkg)
fi
[ -n "$PKG" ] || die "cannot resolve the kernel package for $KSEL (for 6.12: NVME_MPATH_KERNEL=6.12 scripts/setup.sh adds bookworm-backports)"
VER=$(apt-cache policy "$PKG" 2>/dev/null | awk '/Candidate:/{print $2}')
[ -n "$VER" ] && [ "$VER" != "(none)" ] || die "$PKG has no installable version in apt's lists"
# The cache key: package version + the init script (an edit rebuilds the initramfs).
key="$PKG=$VER $(sha256sum "$HERE/guest-init.sh" "$HERE/build-kernel.sh" | sha256sum | cut -c1-16)"
OUT=$LAB/kernel-$KSEL
if [ -f "$OUT/key" ] && [ "$(cat "$OUT/key")" = "$key" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initramfs.cpio.gz" ]; then
  echo "$OUT"
  exit 0
fi
t0=$(date +%s.%N)
deb=$(ls "$LAB"/dl/"${PKG}"_"${VER//:/%3a}"_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
  log "downloading $PKG $VER"
  (cd "$LAB/dl" && apt-get download -q "$PKG=$VER" 2>&1 | grep -v -i unsandboxed >&2) || true
  deb=$(ls "$LAB"/dl/"${PKG}"_*.deb 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$deb" ] || die "apt-get download $PKG=$VER failed"
fi
tmp=$LAB/build.$$
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/pkg"
dpkg -x "$deb" "$tmp/pkg"
KVER=$(ls "$tmp/pkg/lib/modules" | head -1)
[ -n "$KVER" ] || die "$deb holds no modules"
depmod -b "$tmp/pkg" "$KVER"
ROOT=$tmp/initramfs
mkdir -p "$ROOT"/{bin,sbin,dev,proc,sys,mnt/host,etc,lib/modules/$KVER}
cp /bin/busybox "$ROOT/bin/busybox"
MODS="virtio_pci 9pnet_virtio 9p configfs nvme-core nvme-fabrics nvme-tcp nvmet nvmet-tcp nf_tables crc32c_generic"
for m in $MODS; do
  modprobe -d "$tmp/pkg" -S "$KVER" --show-depends "$m" | awk '$1=="insmod"{print $2}'
done | sort -u | while read -r ko; do
  rel=${ko#"$tmp/pkg/lib/modules/$KVER/"}
  mkdir -p "$ROOT/lib/modules/$KVER/$(dirname "$rel")"
  case $ko in
    *.ko.xz) xz -dc "$ko" > "$ROOT/lib/modules/$KVER/${rel%.xz}" ;;  # busybox can't load .xz
    *.ko.zst) zstd -qdc "$ko" > "$ROOT/lib/modules/$KVER/${rel%.zst}" ;;
    *) cp "$ko" "$ROOT/lib/modules/$KVER/$rel" ;;
  esac
done
cp "$tmp/pkg/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$ROOT/lib/modules/$KVER/" 2>/dev/null || true
# modules.order names .ko.xz on 6.12: point it at the decompressed files.
sed -i 's/\.ko\.\(xz\|zst\)$/.ko/' "$ROOT/lib/modules/$KVER/modules.order"
depmod -b "$ROOT" "$KVER"
cp "$HERE/guest-init.sh" "$ROOT/init"
chmod 755 "$ROOT/init"
mkdir -p "$OUT.tmp"
cp "$tmp/pkg/boot/vmlinuz-$KVER" "$OUT.tmp/vmlinuz"
(cd "$ROOT" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$OUT.tmp/initramfs.cpio.gz"
echo "$KVER" > "$OUT.tmp/kver"
echo "$key" > "$OUT.tmp/key"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
log "kernel $KVER ready in $OUT ($(find "$ROOT/lib/modules" -name '*.ko' | wc -l) modules, $(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{printf "%.1f", a-b}') s)"
echo "$OUT"
