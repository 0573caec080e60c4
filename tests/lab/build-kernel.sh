#!/bin/bash
# build-kernel.sh — fetch Debian's kernel package (apt-get download + dpkg -x: never installed on
# the host) and build the lab's busybox-static initramfs with the modules the lab needs. Cached
# in $NVME_MPATH_LAB_DIR/kernel-<sel>, keyed by the package version and a hash of the init
# script and of this script: a second run returns at once, an edit of guest-init.sh rebuilds.
# Concurrent runs (ctest -j) are serialized by flock. Prints the kernel directory on stdout
# (vmlinuz, initramfs.cpio.gz, kver, key).
#
#   NVME_MPATH_KERNEL=6.1   default: Debian 12's linux-image-amd64 -> linux-image-6.1.0-N-amd64
#   NVME_MPATH_KERNEL=6.12  the newest linux-image-6.12*+deb12-amd64 (bookworm-backports; run
#                           NVME_MPATH_KERNEL=6.12 scripts/setup.sh first to add the suite)
#   NVME_MPATH_KERNEL_PKG=linux-image-...   pin an exact package
#   NVME_MPATH_LAB_DIR=/var/tmp/nvme-mpath-lab
# Offline with a cached kernel: the cache is used as it is.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=${NVME_MPATH_LAB_DIR:-/var/tmp/nvme-mpath-lab}
KSEL=${NVME_MPATH_KERNEL:-6.1}
log() { echo "build-kernel: $*" >&2; }
die() { echo "build-kernel: error: $*" >&2; exit 1; }
case $KSEL in 6.1|6.12) ;; *) die "NVME_MPATH_KERNEL must be 6.1 or 6.12, not '$KSEL'" ;; esac

missing=
for tool in dpkg apt-get apt-cache depmod modprobe cpio gzip sha256sum flock; do
  command -v "$tool" >/dev/null || missing+=" $tool"
done
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -x modprobe >/dev/null || missing+=" busybox(-static)"
[ "$KSEL" = 6.12 ] && { command -v xz >/dev/null || missing+=" xz"; }
[ -z "$missing" ] || die "missing:$missing (install them with scripts/setup.sh: kmod cpio busybox-static xz-utils dpkg apt)"
command -v file >/dev/null && file -L /bin/busybox | grep 'dynamically linked' >/dev/null && die "/bin/busybox is dynamically linked: install busybox-static"

mkdir -p "$LAB/dl" || die "cannot create $LAB"
exec 9>"$LAB/.build.lock"
flock -w 900 9 || die "another build-kernel.sh has held $LAB/.build.lock for 15 minutes"

OUT=$LAB/kernel-$KSEL
have_cache() { [ -f "$OUT/key" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initramfs.cpio.gz" ] && [ -f "$OUT/kver" ]; }
# NVME_MPATH_LAB_KERNELS_CHECKED="6.1 6.12": scripts/test.sh has just run this script for those
# kernels, so the cache is current: its VMs take it without the apt look-ups (about 1.5 s each).
case " ${NVME_MPATH_LAB_KERNELS_CHECKED:-} " in
  *" $KSEL "*) if [ -z "${NVME_MPATH_KERNEL_PKG:-}" ] && have_cache; then echo "$OUT"; exit 0; fi ;;
esac
resolve_pkg() {
  case $KSEL in
    6.1) apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}' ;;
    6.12) apt-cache pkgnames linux-image-6.12 2>/dev/null \
            | grep -E '^linux-image-6\.12\.[0-9.]+\+(deb12|bpo)-amd64$' | sort -V | tail -1 ;;
  esac
}
candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/{print $2}'; }
PKG=${NVME_MPATH_KERNEL_PKG:-$(resolve_pkg)}
if [ -z "$PKG" ] && ! have_cache; then
  log "cannot resolve the $KSEL kernel package from apt's lists; apt-get update"
  apt-get update -qq >/dev/null 2>&1 || true
  PKG=${NVME_MPATH_KERNEL_PKG:-$(resolve_pkg)}
fi
VER=
[ -n "$PKG" ] && VER=$(candidate "$PKG")
[ "$VER" = "(none)" ] && VER=
if [ -z "$PKG" ] || [ -z "$VER" ]; then
  if have_cache; then log "apt cannot resolve the $KSEL kernel now; using the cached $(cat "$OUT/kver")"; echo "$OUT"; exit 0; fi
  [ "$KSEL" = 6.12 ] && die "no linux-image-6.12*+deb12-amd64 in apt's lists: run 'NVME_MPATH_KERNEL=6.12 scripts/setup.sh' (adds bookworm-backports)"
  die "cannot resolve the kernel package for $KSEL (${PKG:-linux-image-amd64}) in apt's lists"
fi
# The cache key: package version + the init script and this script (an edit rebuilds).
key="$PKG=$VER $(cat "$HERE/guest-init.sh" "$HERE/build-kernel.sh" | sha256sum | cut -c1-16)"
if have_cache && [ "$(cat "$OUT/key")" = "$key" ]; then
  echo "$OUT"
  exit 0
fi

t0=$(date +%s.%N)
find_deb() { ls "$LAB"/dl/"${PKG}"_"${VER//:/%3a}"_*.deb 2>/dev/null | head -1 || true; }
deb=$(find_deb)
if [ -z "$deb" ]; then
  log "downloading $PKG $VER"
  (cd "$LAB/dl" && apt-get download -q "$PKG=$VER" 2>&1 | grep -v -i unsandboxed >&2) || true
  deb=$(find_deb)
  if [ -z "$deb" ]; then  # stale lists (the mirror moved on): refresh once
    log "download failed; apt-get update and retry"
    apt-get update -qq >/dev/null 2>&1 || true
    VER=$(candidate "$PKG")
    (cd "$LAB/dl" && apt-get download -q "$PKG=$VER" 2>&1 | grep -v -i unsandboxed >&2) || true
    deb=$(find_deb)
  fi
  if [ -z "$deb" ]; then
    if have_cache; then log "apt-get download $PKG=$VER failed; using the cached $(cat "$OUT/kver")"; echo "$OUT"; exit 0; fi
    die "apt-get download $PKG=$VER failed (network? apt sources?)"
  fi
  key="$PKG=$VER ${key#* }"
  # Keep the download cache small: the newest 2 .debs of this kernel series.
  case $KSEL in 6.1) glob='linux-image-6.1.0-*' ;; 6.12) glob='linux-image-6.12.*' ;; esac
  ls -t "$LAB"/dl/$glob.deb 2>/dev/null | tail -n +3 | xargs -r rm -f
fi
tmp=$LAB/build.$$
rm -rf "$tmp"
trap 'rm -rf "$tmp" "$OUT.tmp.$$"' EXIT
mkdir -p "$tmp/pkg"
dpkg -x "$deb" "$tmp/pkg" || die "dpkg -x $deb failed (disk full?)"
KVER=$(ls "$tmp/pkg/lib/modules" | head -1)
[ -n "$KVER" ] && [ -f "$tmp/pkg/boot/vmlinuz-$KVER" ] || die "$deb holds no kernel/modules"
depmod -b "$tmp/pkg" "$KVER"   # the .deb ships no modules.dep (its postinst runs depmod)
ROOT=$tmp/initramfs
mkdir -p "$ROOT"/{bin,sbin,dev,proc,sys,mnt/host,etc,lib/modules/$KVER}
cp /bin/busybox "$ROOT/bin/busybox"
# 9p root, configfs, the NVMe PCIe driver (vm.sh --topology pcie), NVMe/TCP host and target, nftables (blackhole), crc32c (nvme-tcp digests),
# ext4 (bench/sqlite_bench.sh: SQLite on ext4 on the block device, the VFS's peer).
MODS="virtio_pci 9pnet_virtio 9p configfs nvme-core nvme nvme-fabrics nvme-tcp nvmet nvmet-tcp nf_tables crc32c_generic ext4"
for m in $MODS; do
  modprobe -d "$tmp/pkg" -S "$KVER" --show-depends "$m" 2>/dev/null | awk '$1=="insmod"{print $2}' | grep . \
    || { modprobe -d "$tmp/pkg" -S "$KVER" --show-depends "$m" 2>&1 | grep -q builtin || die "module $m not found in $PKG"; }
done | sort -u | while read -r ko; do
  rel=${ko#"$tmp/pkg/lib/modules/$KVER/"}
  mkdir -p "$ROOT/lib/modules/$KVER/$(dirname "$rel")"
  case $ko in
    *.ko.xz) xz -dc "$ko" > "$ROOT/lib/modules/$KVER/${rel%.xz}" ;;   # busybox modprobe can't load .xz
    *.ko.zst) zstd -qdc "$ko" > "$ROOT/lib/modules/$KVER/${rel%.zst}" ;;
    *) cp "$ko" "$ROOT/lib/modules/$KVER/$rel" ;;
  esac
done
cp "$tmp/pkg/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$ROOT/lib/modules/$KVER/" 2>/dev/null || true
sed -i 's/\.ko\.\(xz\|zst\)$/.ko/' "$ROOT/lib/modules/$KVER/modules.order"
depmod -b "$ROOT" "$KVER"
nmod=$(find "$ROOT/lib/modules" -name '*.ko' | wc -l)
[ "$nmod" -ge 10 ] || die "only $nmod modules made it into the initramfs"
cp "$HERE/guest-init.sh" "$ROOT/init"
chmod 755 "$ROOT/init"
rm -rf "$OUT.tmp.$$"; mkdir -p "$OUT.tmp.$$"
cp "$tmp/pkg/boot/vmlinuz-$KVER" "$OUT.tmp.$$/vmlinuz"
(cd "$ROOT" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$OUT.tmp.$$/initramfs.cpio.gz"
echo "$KVER" > "$OUT.tmp.$$/kver"
echo "$key" > "$OUT.tmp.$$/key"
rm -rf "$OUT"
mv "$OUT.tmp.$$" "$OUT"
log "kernel $KVER ($PKG $VER) ready in $OUT: $nmod modules, $(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{printf "%.1f", a-b}') s"
echo "$OUT"
