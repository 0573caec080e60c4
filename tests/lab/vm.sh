#!/bin/bash
# vm.sh — boot the lab VM and run a command in it; exits with the command's exit status.
#
#   tests/lab/vm.sh [options] [--] COMMAND [ARGS...]
#
# The guest is QEMU (TCG unless KVM really works) running Debian's kernel with
# nvme_core.multipath=N; the host root is shared read-only, so host binaries run unchanged, as
# root, in a chroot of the host root. The repository top directory and $NVME_MPATH_BUILD_DIR are
# always shared again at their own paths (the guest's /tmp, /run are its own tmpfs, so a checkout
# under the host's /tmp would be invisible otherwise). Before COMMAND, the guest sets up an nvmet
# target (one subsystem, 2 namespaces, --ports ports on 127.0.0.1 with ANA groups) and connects
# every port (tests/lab/lab.sh: lab_setup). COMMAND sees $LAB_LIB (lab.sh), $LAB_OUT (a writable
# directory kept on the host), $LAB_PORTS, $LAB_MP, $NVME_MPATH_SOURCE_DIR and every NVME_MPATH_*
# and LAB_* variable of the host environment, and ASAN_OPTIONS, UBSAN_OPTIONS and TSAN_OPTIONS.
#
# Options:
#   --topology tcp|pcie  tcp (default): nvmet over NVMe/TCP, --ports paths. pcie: no nvmet; QEMU's
#                   emulated NVMe: 2 subsystems (nvme-subsys) of 2 PCIe controllers each, every
#                   controller on its own root port (tests/lab/pcie.sh: the first shares a plain
#                   namespace, one with 8-byte separate metadata and PI type 1 and one with 8-byte
#                   extended LBAs; the second an FDP namespace), run by the bookworm-backports QEMU
#                   (tests/lab/fetch-qemu.sh); the guest drives the QEMU monitor for hot-plug
#   --mp N|Y        nvme_core.multipath (default N; Y gives the kernel's native head)
#   --ports N       target ports / paths, 1..4 (default 2)
#   --mem SIZE      guest RAM (default 512M)
#   --smp N         guest vCPUs (default 2)
#   --timeout SEC   kill the VM after SEC seconds (default 900)
#   --no-setup      boot only: no nvmet target, no connect
#   --share DIR     also share DIR read-only at the same path; repeatable
#   --share-rw DIR  also share DIR read-write at the same path; repeatable
#   --out DIR       where $LAB_OUT is kept (default: out/ in a new run directory of the lab dir)
#   --log FILE      also write the guest console (with host timestamps) to FILE
#   --kernel 6.1|6.12  guest kernel (default $NVME_MPATH_KERNEL or 6.1)
#   --accel auto|tcg|kvm  (default auto: KVM only if a probe boot works; the verdict is cached)
# Environment: NVME_MPATH_LAB_DIR (/var/tmp/nvme-mpath-lab), NVME_MPATH_BUILD_DIR.
# NVME_MPATH_LAB_REQUIRED=1 turns "cannot run a VM here" (exit 77, skip) into a failure (exit 1).
# Exit: COMMAND's status; 1 when the VM failed to boot, the lab set-up failed or the VM timed out
# (the console tail is printed); 77 only when this host cannot run the lab at all (with a reason).
# Timings go to stderr as "vm.sh: TIMING ...".
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
LAB=${NVME_MPATH_LAB_DIR:-/var/tmp/nvme-mpath-lab}
TOPO=tcp MP=N PORTS=2 MEM=512M SMP=2 TIMEOUT=900 SETUP=1 OUT= LOG= ACCEL=${NVME_MPATH_LAB_ACCEL:-auto}
RO_SHARES=() RW_SHARES=()
die() { echo "vm.sh: error: $*" >&2; exit 2; }
absdir() { [ -d "$1" ] || die "$2: '$1' is not a directory"; (cd "$1" && pwd -P); }
while [ $# -gt 0 ]; do
  case $1 in
    --topology) TOPO=${2:-}; shift 2 ;;
    --mp) MP=${2:-}; shift 2 ;;
    --ports) PORTS=${2:-}; shift 2 ;;
    --mem) MEM=${2:-}; shift 2 ;;
    --smp) SMP=${2:-}; shift 2 ;;
    --timeout) TIMEOUT=${2:-}; shift 2 ;;
    --no-setup) SETUP=0; shift ;;
    --share) d=$(absdir "${2:-}" --share) || exit 2; RO_SHARES+=("$d"); shift 2 ;;
    --share-rw) d=$(absdir "${2:-}" --share-rw) || exit 2; RW_SHARES+=("$d"); shift 2 ;;
    --out) OUT=${2:-}; shift 2 ;;
    --log) LOG=${2:-}; shift 2 ;;
    --kernel) export NVME_MPATH_KERNEL=${2:-}; shift 2 ;;
    --accel) ACCEL=${2:-}; shift 2 ;;
    -h|--help) sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || die "no command given (see --help)"
case $MP in N|Y) ;; *) die "--mp must be N or Y" ;; esac
case $TOPO in tcp|pcie) ;; *) die "--topology must be tcp or pcie" ;; esac
case $PORTS in 1|2|3|4) ;; *) die "--ports must be 1..4" ;; esac
case $TIMEOUT in ''|*[!0-9]*) die "--timeout wants seconds" ;; esac
case $ACCEL in auto|tcg|kvm) ;; *) die "--accel must be auto, tcg or kvm" ;; esac
case ${NVME_MPATH_KERNEL:-6.1} in 6.1|6.12) ;; *) die "--kernel must be 6.1 or 6.12" ;; esac

skip() {
  if [ "${NVME_MPATH_LAB_REQUIRED:-0}" = 1 ]; then echo "vm.sh: FAIL: $* (NVME_MPATH_LAB_REQUIRED=1)" >&2; exit 1; fi
  echo "vm.sh: SKIP: $*" >&2; exit 77
}
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed (run scripts/setup.sh)"
[ "$(id -u)" = 0 ] || skip "the lab needs root (QEMU shares the host root over 9p and must read all of it)"
mkdir -p "$LAB" || skip "cannot create the lab directory $LAB"
KDIR=$("$HERE/build-kernel.sh") || skip "no lab kernel could be fetched or built (see build-kernel.sh's message above)"
KVER=$(cat "$KDIR/kver")
QEMU_BIN=qemu-system-x86_64 QEMU_DATA=()
if [ "$TOPO" = pcie ]; then
  QDIR=$("$HERE/fetch-qemu.sh") || skip "no QEMU with FDP for the PCIe topology (see fetch-qemu.sh's message above)"
  QEMU_BIN=$QDIR/bin/qemu-system-x86_64 QEMU_DATA=(-L "$QDIR/share/qemu")
  export QEMU_MODULE_DIR=$QDIR/modules
  PORTS=2  # two controllers
fi

now() { date +%s.%N; }
el() { awk -v a="$(now)" -v b="$1" 'BEGIN{printf "%.1f", a-b}'; }

# Acceleration: KVM only where it really boots a kernel (probed once, verdict cached); TCG
# otherwise. On this kind of host /dev/kvm may exist but abort or hang with -cpu host/max.
if [ "$ACCEL" = auto ]; then
  if [ -f "$LAB/accel.cache" ]; then ACCEL=$(cat "$LAB/accel.cache"); else
    ACCEL=tcg
    if [ -w /dev/kvm ] && timeout -k 2 15 qemu-system-x86_64 -accel kvm -cpu host -M pc -m 256M -nic none \
         -display none -monitor none -serial stdio -no-reboot -kernel "$KDIR/vmlinuz" \
         -append "console=ttyS0 panic=-1 rdinit=/nonexistent" </dev/null 2>/dev/null | grep -q -m1 'Linux version'; then
      ACCEL=kvm
    fi
    echo "$ACCEL" > "$LAB/accel.cache.$$" && mv -f "$LAB/accel.cache.$$" "$LAB/accel.cache"
  fi
fi
if [ "$ACCEL" = kvm ]; then ACCELARGS=(-accel kvm -cpu host); else ACCELARGS=(-accel "tcg,thread=multi,tb-size=${TB_SIZE:-256}" -cpu max); fi

# A private run directory (cmd.sh, rc, console.log, out/), locked while this VM lives so that
# the cleanup of old runs by a parallel vm.sh never touches it.
RUN=$(mktemp -d "$LAB/run.XXXXXX") || skip "cannot create a run directory in $LAB"
exec 8>"$RUN/.lock" && flock 8
if [ -z "$OUT" ]; then OUT=$RUN/out; fi
mkdir -p "$OUT" || die "cannot create --out $OUT"
OUT=$(cd "$OUT" && pwd -P)
CONSOLE=$RUN/console.log

# Extra 9p shares, mounted at their host paths after the guest's tmpfs mounts: the repository,
# the build directory, --share/--share-rw and --out (when outside the run directory, which is
# shared read-write anyway). Parents are mounted before their subdirectories.
declare -A MODE=()
add_share() { [ -n "$1" ] || return 0; [ "${MODE[$1]:-}" = rw ] || MODE[$1]=$2; }
add_share "$TOP" ro
if [ -n "${NVME_MPATH_BUILD_DIR:-}" ]; then
  [ -d "$NVME_MPATH_BUILD_DIR" ] || die "NVME_MPATH_BUILD_DIR=$NVME_MPATH_BUILD_DIR is not a directory"
  export NVME_MPATH_BUILD_DIR=$(cd "$NVME_MPATH_BUILD_DIR" && pwd -P)
  add_share "$NVME_MPATH_BUILD_DIR" ro
fi
for d in "${RO_SHARES[@]}"; do add_share "$d" ro; done
for d in "${RW_SHARES[@]}"; do add_share "$d" rw; done
case $OUT/ in "$RUN"/*) ;; *) add_share "$OUT" rw ;; esac
VIRTFS=() SHARE_ARG= i=0
while IFS= read -r d; do
  [ -n "$d" ] || continue
  case $d in *[,\ :]*) die "cannot share '$d': no commas, colons or spaces in shared paths" ;; esac
  i=$((i + 1))
  ro=on; [ "${MODE[$d]}" = rw ] && ro=off
  VIRTFS+=(-virtfs "local,path=$d,mount_tag=x$i,security_model=none,readonly=$ro,multidevs=remap")
  SHARE_ARG+="${SHARE_ARG:+,}x$i:${MODE[$d]}:$d"
done < <(printf '%s\n' "${!MODE[@]}" | sort)
case $RUN in *[,\ :]*) die "the lab directory '$LAB' must have no commas, colons or spaces" ;; esac

# The command file: environment, lab set-up, then COMMAND. Markers "LAB: ..." on the console give
# the timings; a failed set-up leaves $RUN/setup.failed (so any exit status of COMMAND is its own).
{
  echo "set -o pipefail"
  lib=$HERE/lab.sh; [ "$TOPO" = pcie ] && lib=$HERE/pcie.sh
  echo "export LAB_LIB=$(printf %q "$lib") LAB_OUT=$(printf %q "$OUT") LAB_PORTS=$PORTS LAB_MP=$MP LAB_RUN=$(printf %q "$RUN") LAB_TOPOLOGY=$TOPO"
  echo "export NVME_MPATH_SOURCE_DIR=$(printf %q "$TOP")"
  # The sanitizers' options too, so a sanitized binary behaves in the guest as on the host.
  for k in $(compgen -e | grep -E '^((NVME_MPATH|LAB)_[A-Za-z0-9_]*|[AUT]SAN_OPTIONS)$'); do
    case $k in LAB_LIB|LAB_OUT|LAB_PORTS|LAB_MP|LAB_RUN|LAB_TOPOLOGY|NVME_MPATH_SOURCE_DIR) continue ;; esac
    echo "export $k=$(printf %q "${!k}")"
  done
  echo "cd $(printf %q "$PWD") 2>/dev/null || cd /"
  echo "echo \"LAB: cmd start uptime=\$(cut -d' ' -f1 /proc/uptime)\""
  if [ $SETUP = 1 ]; then
    echo "source \"\$LAB_LIB\" || { : > \"\$LAB_RUN/setup.failed\"; exit 1; }"
    echo "_lab_t0=\$(cut -d' ' -f1 /proc/uptime)"
    echo "lab_setup $PORTS || { echo 'LAB: FATAL: lab_setup failed'; : > \"\$LAB_RUN/setup.failed\"; exit 1; }"
    echo "echo \"LAB: setup done in \$(awk -v a=\$(cut -d' ' -f1 /proc/uptime) -v b=\$_lab_t0 'BEGIN{printf \"%.2f\", a-b}')s uptime=\$(cut -d' ' -f1 /proc/uptime)\""
  fi
  printf '%q ' "$@"; echo
} > "$RUN/cmd.sh"

APPEND="console=ttyS0 panic=-1 loglevel=4 mitigations=off nvme_core.multipath=$MP lab.run=$RUN"
[ -n "$SHARE_ARG" ] && APPEND+=" lab.shares=$SHARE_ARG"
# The PCIe topology (tests/lab/pcie.sh): a q35 machine, one root port per controller (hot-plug
# goes through the port: device_del/device_add), two nvme-subsys of two controllers each (the
# controllers of one subsystem share its serial), shared namespaces on sparse images in the run
# directory, and the human monitor on a socket that
# a host-side relay drives for the guest (monitor_relay below).
MACHINE=pc PCIE=()
if [ "$TOPO" = pcie ]; then
  MACHINE=q35
  # QEMU names a subsystem nqn.2019-08.org.qemu:<nqn>. Two subsystems: FDP makes every namespace of its endurance group (QEMU: the subsystem) use
  # one LBA format, so the FDP namespace has a subsystem of its own, with its own two controllers.
  PCIE=(-monitor "unix:$RUN/monitor.sock,server=on,wait=off"
        -device "nvme-subsys,id=subsys0,nqn=nvme-mpath-pcie"
        -device "nvme-subsys,id=subsys1,nqn=nvme-mpath-pcie-fdp,fdp=on,fdp.nruh=8,fdp.nrg=1,fdp.runs=4M")
  for c in 1 2 3 4; do
    s=0 serial=mpath-pcie; [ $c -ge 3 ] && s=1 serial=mpath-pcie-fdp
    PCIE+=(-device "pcie-root-port,id=rp$c,bus=pcie.0,chassis=$c,slot=$c"
           -device "nvme,id=ctrl$c,serial=$serial,subsys=subsys$s,bus=rp$c")
  done
  # drive: subsystem, nsid, extra nvme-ns properties (pcie.sh describes the same namespaces). A
  # shared namespace is given on its subsystem's first controller, attaches to every controller
  # of the subsystem and lives on the subsystem (a controller's hot-unplug keeps it).
  # A fixed UUID per namespace: the kernel ignores QEMU's namespace IDs (NVME_QUIRK_BOGUS_NID),
  # the engine groups paths by them.
  declare -A NSPROPS=([1]="0 1 " [2]="0 2 ,ms=8,mset=0,pi=1,pil=0" [3]="0 3 ,ms=8,mset=1" [4]="1 1 ,fdp.ruhs=0-3")
  for n in 1 2 3 4; do
    read -r s nsid props <<< "${NSPROPS[$n]}"
    truncate -s "${LAB_NS_MB:-64}M" "$RUN/pcie-ns$n.img" || die "cannot create $RUN/pcie-ns$n.img"
    if [ "$n" = 2 ]; then
      # The PI namespace (fio's under faults) is throttled to LAB_PCIE_IOPS (400) IOPS, so that a
      # queue depth's worth of commands waits inside the controller when a fault hits, as on a
      # real device (unthrottled, under TCG, the page-cache-backed controller has finished
      # nearly every command before the guest looks). pcie_guest.sh checks they were in flight.
      PCIE+=(-object "throttle-group,id=tg$n,x-iops-total=${LAB_PCIE_IOPS:-400}"
             -blockdev "driver=file,filename=$RUN/pcie-ns$n.img,node-name=ns${n}f,cache.direct=off"
             -blockdev "driver=throttle,throttle-group=tg$n,file=ns${n}f,node-name=ns$n")
    else
      PCIE+=(-blockdev "driver=file,filename=$RUN/pcie-ns$n.img,node-name=ns$n,cache.direct=off")
    fi
    PCIE+=(-device "nvme-ns,drive=ns$n,bus=ctrl$((s * 2 + 1)),nsid=$nsid,shared=on,uuid=7a2b3c4d-0000-4e5f-9a0b-1c2d3e4f5a0$n,logical_block_size=4096,physical_block_size=4096$props")
  done
fi
QEMU=("$QEMU_BIN" "${QEMU_DATA[@]}" -M "$MACHINE" "${ACCELARGS[@]}" -smp "$SMP" -m "$MEM" -no-reboot -nic none
  -kernel "$KDIR/vmlinuz" -initrd "$KDIR/initramfs.cpio.gz" -append "$APPEND"
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
  -virtfs "local,path=$RUN,mount_tag=run,security_model=none,multidevs=remap"
  "${VIRTFS[@]}" "${PCIE[@]}" -pidfile "$RUN/qemu.pid" -display none -serial stdio)
[ "$TOPO" = pcie ] || QEMU+=(-monitor none)

# The guest's monitor requests (PCIe topology): the guest writes one HMP command to
# $RUN/monitor/req.N (atomically, by rename); the relay sends it to QEMU's monitor socket and
# writes QEMU's answer to $RUN/monitor/rep.N. pcie.sh: lab_monitor.
monitor_relay() {
  mkdir -p "$RUN/monitor"
  while [ ! -f "$RUN/qemu.rc" ]; do
    for r in "$RUN"/monitor/req.*; do
      [ -f "$r" ] || continue
      n=${r#"$RUN/monitor/req."}
      /usr/bin/python3 "$HERE/hmp.py" "$RUN/monitor.sock" "$(cat "$r")" > "$RUN/monitor/rep.$n.tmp" 2>&1
      echo "rc=$?" >> "$RUN/monitor/rep.$n.tmp"
      rm -f "$r"; mv "$RUN/monitor/rep.$n.tmp" "$RUN/monitor/rep.$n"
    done
    sleep 0.2
  done
}

# Interrupted (ctest timeout, Ctrl-C): take the VM down with us. The pidfile is a regular file in
# the run directory (never a device: QEMU deletes its pidfile on exit).
on_signal() {
  [ -s "$RUN/qemu.pid" ] && kill "$(cat "$RUN/qemu.pid")" 2>/dev/null
  echo "vm.sh: interrupted; VM stopped. Console: $CONSOLE" >&2
  exit 1
}
trap on_signal INT TERM HUP

echo "vm.sh: kernel $KVER, accel $ACCEL, mem $MEM, smp $SMP, multipath=$MP, topology $TOPO, ports $PORTS, run $RUN" >&2
boot() {
T0=$(now)
relay=
if [ "$TOPO" = pcie ]; then monitor_relay & relay=$!; fi
{ timeout -k 5 "$TIMEOUT" "${QEMU[@]}" </dev/null; echo $? > "$RUN/qemu.rc"; } 2>&1 | while IFS= read -r line; do
  line=${line%$'\r'}
  t=$(el "$T0")
  printf '[%6s] %s\n' "$t" "$line" >> "$CONSOLE"
  case $line in
    *"LAB: cmd start"*) echo "vm.sh: TIMING qemu start -> first guest command: ${t}s (target <= 10 s)" >&2 ;;
    *"LAB: setup done"*) echo "vm.sh: TIMING qemu start -> nvmet set-up + connect done: ${t}s (target <= 30 s); ${line#*LAB: }" >&2 ;;
    *"LAB: FATAL"*) echo "vm.sh: $line" >&2 ;;
  esac
  case $line in LAB:*) ;; *) printf '%s\n' "$line" ;; esac
done &
wait $! 2>/dev/null
[ -n "$relay" ] && { kill "$relay" 2>/dev/null; wait "$relay" 2>/dev/null; }
wall=$(el "$T0")
qrc=$(cat "$RUN/qemu.rc" 2>/dev/null || echo '?')
}
boot
# Under TCG with several vCPUs, QEMU has crashed the guest kernel while it booted, before any
# command of ours ran: "Oops: int3" in a function whose text the kernel had just patched (a
# static key; 6.12, sched_clock_tick, once under a loaded host), the same QEMU cross-vCPU code
# modification problem as the netfilter panic (tests/lab/README.md). Only that case boots once
# more: a crash after the command started is the test's.
if [ ! -f "$RUN/rc" ] && [ "$qrc" != 124 ] && [ "$qrc" != 137 ] && ! grep -q "LAB: cmd start" "$CONSOLE" &&
   grep -qE "Oops: |Kernel panic|BUG: " "$CONSOLE"; then
  echo "vm.sh: the guest kernel crashed while booting, before the command started ($(grep -m1 -oE '(Oops: |Kernel panic|BUG: ).*' "$CONSOLE" | cut -c1-80)): a QEMU TCG fault, booting once more (console of the crash: $CONSOLE.boot1)" >&2
  mv "$CONSOLE" "$CONSOLE.boot1"
  rm -f "$RUN/qemu.rc" "$RUN/qemu.pid"
  boot
fi
[ -n "$LOG" ] && { cp "$CONSOLE" "$LOG" 2>/dev/null || echo "vm.sh: warning: cannot write --log $LOG" >&2; }
tail_console() {
  echo "---- console tail ($CONSOLE) ----" >&2
  if [ -s "$CONSOLE" ]; then tail -n "${1:-40}" "$CONSOLE" >&2; else
    echo "(no console output at all: the kernel died before its console came up, e.g. too little --mem ($MEM), a bad vmlinuz/initramfs in $KDIR, or QEMU could not start)" >&2
  fi
  echo "----" >&2
}
if [ ! -f "$RUN/rc" ]; then
  if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
    echo "vm.sh: FAIL: timeout: the VM did not finish within --timeout ${TIMEOUT}s (wall ${wall}s)" >&2
  else
    echo "vm.sh: FAIL: the VM stopped without finishing its command after ${wall}s (qemu exit $qrc; boot failure?)" >&2
  fi
  tail_console 40
  exit 1
fi
rc=$(cat "$RUN/rc")
echo "vm.sh: TIMING total wall ${wall}s; command exit $rc; console $CONSOLE; output $OUT" >&2
if [ -f "$RUN/setup.failed" ]; then
  echo "vm.sh: FAIL: the lab set-up (lab_setup $PORTS) failed in the guest" >&2
  tail_console 30
  exit 1
fi
# Keep the 20 newest runs; never remove one that a running vm.sh holds locked.
for d in $(ls -dt "$LAB"/run.* 2>/dev/null | tail -n +21); do
  [ "$d" = "$RUN" ] && continue
  flock -n "$d/.lock" true 2>/dev/null && rm -rf "$d"
done
exit "$rc"
