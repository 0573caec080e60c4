#!/bin/bash
# install_test.sh BUILD_DIR PREFIX — installs nvme-mpath into PREFIX and checks the package as
# its consumers see it:
#   * the shared library exports only the C API, every symbol in a version node
#     (NVME_MPATH_<level>), its SONAME is libnvme_mpath.so.MAJOR (MAJOR from the header), and
#     programs linked against API 1 keep API 1's _init functions (abi_v1.c);
#   * a C-only consumer needs neither Abseil nor fmt (nor liburing/libnvme) development files:
#     the exported CMake targets and nvme-mpath.pc name none of them, and applog-c and epoll-c
#     build with find_package while Abseil and fmt cannot be found, and with pkg-config seeing
#     no .pc file but ours;
#   * no -std= in any .pc Cflags;
#   * applog-cpp (C++ API, static) builds with find_package(COMPONENTS cpp) and pkg-config;
#   * when the SQLite VFS was built: docs/sqlite-vfs-example.c builds with pkg-config
#     nvme-mpath-sqlite and runs on a file formatted by the installed nvme-mpath-sqlite, and
#     libnvme_mpath_sqlite.so exports only its API.
set -euo pipefail
B=$(cd "$1" && pwd)
P=$(realpath -m "$2")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$P"
cmake --install "$B" --prefix "$P" >/dev/null
libdir=$(dirname "$(find "$P" -name 'libnvme_mpath.so' | head -1)")
pcdir=$libdir/pkgconfig
cmakedir=$libdir/cmake/nvme_mpath
[ -f "$pcdir/nvme-mpath.pc" ] || fail "no nvme-mpath.pc"
[ -f "$cmakedir/nvme_mpathConfig.cmake" ] || fail "no CMake package"
[ -f "$P/include/nvme_mpath/nvme_mpath.h" ] || fail "no C header"

# ---- the shared library: SONAME, exports, symbol versions ---------------------------------
major=$(awk '/^#define NVME_MPATH_VERSION_MAJOR /{print $3}' "$P/include/nvme_mpath/nvme_mpath.h")
soname=$(objdump -p "$libdir/libnvme_mpath.so" | awk '/SONAME/{print $2}')
echo "soname: $soname"
[ "$soname" = "libnvme_mpath.so.$major" ] || fail "SONAME $soname, expected libnvme_mpath.so.$major"
bad=$(nm -D --defined-only "$libdir/libnvme_mpath.so" | awk '$2 ~ /[TDBRW]/ && $3 !~ /^nvme_mpath_/ {print $3}' | head -5)
[ -z "$bad" ] || fail "the shared library exports non-API symbols: $bad"
# objdump -T: "... g DF .text size VERSION name", VERSION in parentheses when not the default.
unversioned=$(objdump -T "$libdir/libnvme_mpath.so" | awk '$4 == ".text" && $NF ~ /^nvme_mpath_/ && $(NF-1) !~ /^\(?NVME_MPATH_[0-9]+\)?$/ {print $NF}')
[ -z "$unversioned" ] || fail "C API symbols outside a NVME_MPATH_<level> node: $unversioned"
# Every function the header declares is exported, with a version: a function added to the
# header but not to src/nvme_mpath.map (which lists names, no wildcard) would be missing here.
exported=$(objdump -T "$libdir/libnvme_mpath.so" | awk '$4 == ".text" {print $NF}' | sort -u)
for f in $(grep -oE '^NVME_MPATH_API [^(]*\bnvme_mpath_[a-z0-9_]+\(' "$P/include/nvme_mpath/nvme_mpath.h" |
           grep -oE 'nvme_mpath_[a-z0-9_]+\($' | tr -d '('); do
  grep -qx "$f" <<<"$exported" || fail "$f is declared in nvme_mpath.h but not exported: add it to the newest node of src/nvme_mpath.map"
done
# (objdump's output is kept, not piped into grep -q: grep exiting at the first match kills
# objdump with SIGPIPE, which pipefail turns into a failure now and then.)
dynsyms=$(objdump -T "$libdir/libnvme_mpath.so")
for f in nvme_mpath_options_init nvme_mpath_queue_options_init; do
  grep -q "(NVME_MPATH_1) *$f\$" <<<"$dynsyms" || fail "no $f@NVME_MPATH_1"
done
grep -q " NVME_MPATH_2 *nvme_mpath_options_init\$" <<<"$dynsyms" || fail "no nvme_mpath_options_init@@NVME_MPATH_2"
# The queue options grew again in API 3: API 2's version stays, the default is API 3's.
grep -q "(NVME_MPATH_2) *nvme_mpath_queue_options_init\$" <<<"$dynsyms" || fail "no nvme_mpath_queue_options_init@NVME_MPATH_2"
grep -q " NVME_MPATH_3 *nvme_mpath_queue_options_init\$" <<<"$dynsyms" || fail "no nvme_mpath_queue_options_init@@NVME_MPATH_3"
# API 4 added the batch submit: in its own node, not in an older one.
grep -q " NVME_MPATH_4 *nvme_mpath_submit_batch\$" <<<"$dynsyms" || fail "no nvme_mpath_submit_batch@@NVME_MPATH_4"
echo "exports: $(nm -D --defined-only "$libdir/libnvme_mpath.so" | grep -c ' T nvme_mpath_') C API symbols, in nodes $(objdump -T "$libdir/libnvme_mpath.so" | grep -o 'NVME_MPATH_[0-9]*' | sort -u | tr '\n' ' ')"
out=$P/examples
mkdir -p "$out"
cc -O2 -Wall -Wextra -I"$P/include" -o "$out/abi_v1" "$SRC/tests/install/abi_v1.c" -ldl
"$out/abi_v1" "$libdir/libnvme_mpath.so" || fail "API 1 callers"

# ---- what consumers are told: CMake targets, .pc files ------------------------------------
if grep -E 'absl|fmt|URING|LIBNVME' "$cmakedir/nvme_mpathTargets.cmake" >/dev/null; then
  fail "nvme_mpath::nvme_mpath's exported interface names a dependency: $(grep -E 'absl|fmt|URING|LIBNVME' "$cmakedir/nvme_mpathTargets.cmake" | head -3)"
fi
grep -q '^Requires' "$pcdir/nvme-mpath.pc" && fail "nvme-mpath.pc has a Requires line (consumers would need its -dev packages)"
grep -E '^Cflags:.*-std=' "$pcdir"/*.pc && fail "a .pc file sets -std= in Cflags"
c_flags=$(PKG_CONFIG_LIBDIR="$pcdir" PKG_CONFIG_PATH= pkg-config --cflags --libs nvme-mpath) ||
  fail "pkg-config nvme-mpath needs another module's .pc file"
echo "pkg-config nvme-mpath: $c_flags"

# ---- the examples ------------------------------------------------------------------------
# C consumers: find_package with Abseil and fmt out of reach, pkg-config with only our .pc.
for ex in applog-c epoll-c; do
  cmake -S "$SRC/examples/$ex" -B "$out/$ex-cmake" -DCMAKE_PREFIX_PATH="$P" \
    -DCMAKE_DISABLE_FIND_PACKAGE_absl=ON -DCMAKE_DISABLE_FIND_PACKAGE_fmt=ON >/dev/null
  cmake --build "$out/$ex-cmake" >/dev/null
  PKG_CONFIG_LIBDIR="$pcdir" PKG_CONFIG_PATH= make -s -C "$SRC/examples/$ex" "$ex" >/dev/null
  mv "$SRC/examples/$ex/$ex" "$out/$ex-pkgconfig"
  # Linked against the current API: the default (newest) versions.
  grep -q '(NVME_MPATH_2) *nvme_mpath_options_init$' <<<"$(objdump -T "$out/$ex-pkgconfig")" ||
    fail "$ex does not link nvme_mpath_options_init@NVME_MPATH_2"
  echo "built $ex (C only) with find_package ($out/$ex-cmake/$ex) and pkg-config ($out/$ex-pkgconfig)"
done
# The C++ API needs its dependencies: asking for it without them fails, naming them.
if cmake -S "$SRC/examples/applog-cpp" -B "$out/applog-cpp-noabsl" -DCMAKE_PREFIX_PATH="$P" \
     -DCMAKE_DISABLE_FIND_PACKAGE_absl=ON > "$out/applog-cpp-noabsl.log" 2>&1; then
  fail "find_package(nvme_mpath COMPONENTS cpp) succeeded without Abseil"
fi
grep -q "needs: absl" "$out/applog-cpp-noabsl.log" || fail "the cpp component's failure does not name absl: $(cat "$out/applog-cpp-noabsl.log")"
rm -rf "$out/applog-cpp-noabsl"
ex=applog-cpp
cmake -S "$SRC/examples/$ex" -B "$out/$ex-cmake" -DCMAKE_PREFIX_PATH="$P" >/dev/null
cmake --build "$out/$ex-cmake" >/dev/null
PKG_CONFIG_PATH="$pcdir" make -s -C "$SRC/examples/$ex" "$ex" >/dev/null
mv "$SRC/examples/$ex/$ex" "$out/$ex-pkgconfig"
echo "built $ex with find_package ($out/$ex-cmake/$ex) and pkg-config ($out/$ex-pkgconfig)"

# Each binary starts and prints its usage (the lab runs them for real across a failover).
for b in "$out"/*-pkgconfig "$out"/applog-c-cmake/applog-c "$out"/epoll-c-cmake/epoll-c \
         "$out"/applog-cpp-cmake/applog-cpp; do
  o=$(LD_LIBRARY_PATH="$libdir" "$b" 2>&1 || true)
  case $o in *usage*) ;; *) fail "$b does not run: $o" ;; esac
done

# ---- the SQLite VFS, when it was built ------------------------------------------------------
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
