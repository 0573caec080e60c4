#!/usr/bin/env bash
# setup.sh — install every Debian 12 package that nvme-mpath's build, VM lab and tests need,
# and fetch the fio source matching the installed fio (the fio engine compiles against it).
#
#   scripts/setup.sh                 # as root; idempotent; a second run takes a few seconds
#
# Environment:
#   NVME_MPATH_KERNEL=6.1|6.12   the lab kernel (bookworm-backports, same mirror, is always added:
#                                6.12 and the PCIe lab's QEMU come from there)
#   FIO_SRC_DIR=DIR              where the fio source tree goes (default: .deps/fio-src)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)

die() { echo "setup: error: $*" >&2; exit 2; }
log() { echo "setup: $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs Debian packages with apt-get and the lab boots QEMU); as a user with sudo: sudo $0"
command -v apt-get >/dev/null && command -v dpkg-query >/dev/null \
    || die "this host has no apt-get/dpkg: nvme-mpath's setup supports Debian 12 (bookworm) only"
. /etc/os-release 2>/dev/null || true
if [ "${ID:-}" != debian ] || [ "${VERSION_ID:-}" != 12 ]; then
    log "warning: host is '${PRETTY_NAME:-unknown}', not Debian 12; continuing, but only Debian 12 is supported"
fi

PKGS=(
  # build
  build-essential cmake pkg-config git
  liburing-dev libnvme-dev libjson-c-dev libfmt-dev libabsl-dev libgtest-dev libgmock-dev
  libsqlite3-dev sqlite3
  # lab: kernel + initramfs + qemu
  qemu-system-x86 busybox-static cpio kmod file xz-utils dpkg-dev
  # inside the guest (the host root is shared read-only with the guest)
  nvme-cli fio nftables iproute2 procps util-linux
  # hardening and benchmarks
  clang libclang-rt-14-dev valgrind gnuplot-nox python3
  # the independent parser that checks nvme-mpath-ctl stats -o prometheus (unit.ctl_prometheus)
  python3-prometheus-client
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# A deb-src entry for the suites the machine already uses (same mirror): fio's source comes from it.
ensure_src() {
  if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
    local f=/etc/apt/sources.list.d/debian.sources
    [ -f "$f" ] || die "no $f: cannot add a deb-src entry for 'apt-get source fio'"
    log "adding deb-src to $f"
    sed -i 's/^Types: deb$/Types: deb deb-src/' "$f"
    return 1
  fi
  return 0
}
need_update=0
ensure_src || need_update=1

ensure_backports() {
  grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
  local uri
  uri=$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  [ -n "$uri" ] || uri=$(awk '/^deb .*bookworm /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  [ -n "$uri" ] || die "cannot find the Debian mirror in apt's sources to add bookworm-backports"
  log "adding bookworm-backports from $uri"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" > /etc/apt/sources.list.d/nvme-mpath-backports.sources
  return 1
}
# bookworm-backports: the 6.12 lab kernel, and the QEMU of the PCIe lab topology
# (tests/lab/fetch-qemu.sh: downloaded and unpacked into the lab directory, never installed).
ensure_backports || need_update=1

stamp=/var/lib/apt/lists/.nvme-mpath-updated
if [ ${#missing[@]} -gt 0 ] || [ $need_update = 1 ] || [ ! -f "$stamp" ]; then
  log "apt-get update"
  apt-get update -qq || die "apt-get update failed"
  touch "$stamp"
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install failed"
fi

# fio source, same version as the installed fio (the engine is compiled against its headers).
FIO_SRC_DIR=${FIO_SRC_DIR:-$TOP/.deps/fio-src}
fio_ver=$(dpkg-query -W -f='${Version}' fio)
if [ ! -f "$FIO_SRC_DIR/.nvme-mpath-fio-$fio_ver" ]; then
  log "fetching fio $fio_ver source"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get source -qq --download-only "fio=$fio_ver" >/dev/null 2>&1) \
    || { apt-get update -qq; (cd "$tmp" && apt-get source -qq --download-only "fio=$fio_ver" >/dev/null); } \
    || die "apt-get source fio=$fio_ver failed"
  (cd "$tmp" && dpkg-source --no-check -x ./*.dsc src >/dev/null) || die "cannot unpack fio source"
  # Configure as Debian built it (debian/rules), so that struct layouts match the installed fio.
  (cd "$tmp/src" && ./configure --disable-native --prefix=/usr >/dev/null) || die "fio ./configure failed"
  (cd "$tmp/src" && sh FIO-VERSION-GEN >/dev/null) || die "fio FIO-VERSION-GEN failed"
  rm -rf "$FIO_SRC_DIR"; mkdir -p "$(dirname "$FIO_SRC_DIR")"
  mv "$tmp/src" "$FIO_SRC_DIR"; rm -rf "$tmp"
  touch "$FIO_SRC_DIR/.nvme-mpath-fio-$fio_ver"
fi
log "ok (fio $fio_ver source in $FIO_SRC_DIR)"
