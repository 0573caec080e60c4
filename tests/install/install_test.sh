#!/bin/bash
# install_test.sh BUILD_DIR PREFIX — installs nvme-mpath into PREFIX, then builds the examples
# against the installed package: applog-c with find_package and with pkg-config, applog-cpp with
# find_package and with pkg-config. Checks that the shared library exports only the C API. When
# the SQLite VFS was built: builds docs/sqlite-vfs-example.c with pkg-config nvme-mpath-sqlite,
# checks what libnvme_mpath_sqlite.so exports, and runs the example on a file formatted by the
# installed nvme-mpath-sqlite.
set -euo pipefail
B=$(cd "$1" && pwd)
P=$2
SRC=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$P"
cmake --install "$B" --prefix "$P" >/dev/null
libdir=$(dirname "$(find "$P" -name 'libnvme_mpath.so' | head -1)")
[ -f "$libdir/pkgconfig/nvme-mpath.pc" ] || { echo "FAIL: no nvme-mpath.pc"; exit 1; }
[ -f "$libdir/cmake/nvme_mpath/nvme_mpathConfig.cmake" ] || { echo "FAIL: no CMake package"; exit 1; }
[ -f "$P/include/nvme_mpath/nvme_mpath.h" ] || { echo "FAIL: no C header"; exit 1; }
soname=$(objdump -p "$libdir/libnvme_mpath.so" | awk '/SONAME/{print $2}')
echo "soname: $soname"
[ "$soname" = libnvme_mpath.so.0 ] || { echo "FAIL: unexpected SONAME $soname"; exit 1; }
bad=$(nm -D --defined-only "$libdir/libnvme_mpath.so" | awk '$2 ~ /[TDBRW]/ && $3 !~ /^nvme_mpath_/ {print $3}' | head -5)
[ -z "$bad" ] || { echo "FAIL: the shared library exports non-API symbols: $bad"; exit 1; }
echo "exports: $(nm -D --defined-only "$libdir/libnvme_mpath.so" | grep -c ' T nvme_mpath_') C API functions"
out=$P/examples
mkdir -p "$out"
for ex in applog-c applog-cpp; do
  cmake -S "$SRC/examples/$ex" -B "$out/$ex-cmake" -DCMAKE_PREFIX_PATH="$P" >/dev/null
  cmake --build "$out/$ex-cmake" >/dev/null
  PKG_CONFIG_PATH="$libdir/pkgconfig" make -s -C "$SRC/examples/$ex" "$ex" >/dev/null
  mv "$SRC/examples/$ex/$ex" "$out/$ex-pkgconfig"
  echo "built $ex with find_package ($out/$ex-cmake/$ex) and pkg-config ($out/$ex-pkgconfig)"
done
# Each binary starts and prints its usage (the lab runs them for real across a failover).
for b in "$out"/applog-*-pkgconfig "$out"/applog-c-cmake/applog-c "$out"/applog-cpp-cmake/applog-cpp; do
  out=$(LD_LIBRARY_PATH="$libdir" "$b" 2>&1 || true)
  case $out in *usage*) ;; *) echo "FAIL: $b does not run: $out"; exit 1 ;; esac
done
if [ -f "$libdir/pkgconfig/nvme-mpath-sqlite.pc" ]; then
  [ -f "$P/include/nvme_mpath/sqlite_vfs.h" ] || { echo "FAIL: no sqlite_vfs.h"; exit 1; }
  [ -x "$P/bin/nvme-mpath-sqlite" ] || { echo "FAIL: no nvme-mpath-sqlite tool"; exit 1; }
  bad=$(nm -D --defined-only "$libdir/libnvme_mpath_sqlite.so" | awk '$2 ~ /[TDBRW]/ && $3 !~ /^(nvme_mpath_sqlite_|sqlite3_nvmempath)/ {print $3}' | head -5)
  [ -z "$bad" ] || { echo "FAIL: libnvme_mpath_sqlite.so exports non-API symbols: $bad"; exit 1; }
  ex=$P/examples/sqlite-vfs-example
  cc -Wall -Wextra -Werror "$SRC/docs/sqlite-vfs-example.c" \
    $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs nvme-mpath-sqlite) -o "$ex"
  img=$P/examples/sqlite.img
  truncate -s 16M "$img"
  LD_LIBRARY_PATH="$libdir" "$P/bin/nvme-mpath-sqlite" format "$img" >/dev/null
  LD_LIBRARY_PATH="$libdir" "$ex" "$img" || { echo "FAIL: the SQLite VFS example did not run"; exit 1; }
  echo "built and ran docs/sqlite-vfs-example.c with pkg-config nvme-mpath-sqlite ($ex)"
fi
echo "install test: ok"
