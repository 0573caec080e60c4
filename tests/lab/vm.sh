#!/bin/bash
# vm.sh — boot the lab VM and run a command in it; exits with the command's exit status.
#
#   tests/lab/vm.sh [options] [--] COMMAND [ARGS...]
#
# The guest is QEMU (TCG) running Debian's kernel with nvme_core.multipath=N; the host root is
# shared read-only, so host binaries run unchanged. Before COMMAND, the guest sets up an nvmet
# target (one subsystem, 2 namespaces, --ports ports on 127.0.0.1 with ANA groups) and connects
# every port (tests/lab/lab.sh: lab_setup). COMMAND runs as root with $LAB_LIB pointing at
# lab.sh and $LAB_OUT at a writable directory that is kept on the host afterwards.
#
# Options:
#   --mp N|Y        nvme_core.multipath (default N; Y gives the kernel's native head)
#   --ports N       target ports / paths, 1..4 (default 2)
#   --mem SIZE      guest RAM (default 512M)
#   --smp N         guest vCPUs (default 2)
#   --timeout SEC   kill the VM after SEC seconds (default 900)
#   --no-setup      boot only: no nvmet target, no connect
#   --share DIR     also share DIR (read-only) at the same path; repeatable
#   --out DIR       where $LAB_OUT is kept (default: a new run directory in the lab dir)
#   --kernel 6.1|6.12
# Environment: NVME_MPATH_LAB_DIR (/var/tmp/nvme-mpath-lab), NVME_MPATH_BUILD_DIR, and every
# NVME_MPATH_* / LAB_* variable is passed to COMMAND. NVME_MPATH_LAB_REQUIRED=1 turns "cannot
# run a VM here" (exit 77, skip) into a failure (exit 1), as CI wants.
# Exit: COMMAND's status; 1 when the VM failed to boot or timed out (the console tail is
# printed); 77 when this host cannot run the lab at all (with the reason).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
LAB=${NVME_MPATH_LAB_DIR:-/var/tmp/nvme-mpath-lab}
MP=N PORTS=2 MEM=512M SMP=2 TIMEOUT=900 SETUP=1 OUT= SHARES=()
while [ $# -gt 0 ]; do
  case $1 in
    --mp) MP=$2; shift 2 ;;
    --ports) PORTS=$2; shift 2 ;;
    --mem) MEM=$2; shift 2 ;;
    --smp) SMP=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --no-setup) SETUP=0; shift ;;
    --share) SHARES+=("$(cd "$2" && pwd)"); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --kernel) export NVME_MPATH_KERNEL=$2; shift 2 ;;
    -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) echo "vm.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "vm.sh: no command given (see --help)" >&2; exit 2; }
case $MP in N|Y) ;; *) echo "vm.sh: --mp must be N or Y" >&2; exit 2 ;; esac
case $PORTS in 1|2|3|4) ;; *) echo "vm.sh: --ports must be 1..4" >&2; exit 2 ;; esac

skip() {
  if [ "${NVME_MPATH_LAB_REQUIRED:-0}" = 1 ]; then echo "vm.sh: FAIL: $* (the lab is required here)" >&2; exit 1; fi
  echo "vm.sh: SKIP: $*" >&2; exit 77
}
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed (run scripts/setup.sh)"
[ "$(id -u)" = 0 ] || skip "the lab needs root (QEMU shares the host root over 9p and must read it all)"
KDIR=$("$HERE/build-kernel.sh") || skip "no lab kernel could be built (apt-get download failed?)"
KVER=$(cat "$KDIR/kver")

now() { date +%s.%N; }
el() { awk -v a="$(now)" -v b="$1" 'BEGIN{printf "%.1f", a-b}'; }

# Acceleration: KVM only where it really boots (probed once, cached); TCG otherwise.
ACCEL=${NVME_MPATH_LAB_ACCEL:-}
if [ -z "$ACCEL" ]; then
  if [ -f "$LAB/accel.cache" ]; then ACCEL=$(cat "$LAB/accel.cache"); else
    ACCEL=tcg
    if [ -w /dev/kvm ] && timeout 15 qemu-system-x86_64 -accel kvm -cpu host -M pc -m 256M -nic none \
         -display none -monitor none -serial stdio -no-reboot -kernel "$KDIR/vmlinuz" \
         -append "console=ttyS0 panic=-1 rdinit=/nonexistent" </dev/null 2>/dev/null | grep -q -m1 'Linux version'; then
      ACCEL=kvm
    fi
    echo "$ACCEL" > "$LAB/accel.cache"
  fi
fi
if [ "$ACCEL" = kvm ]; then ACCELARGS=(-accel kvm -cpu host); else ACCELARGS=(-accel "tcg,thread=multi,tb-size=${TB_SIZE:-256}" -cpu max); fi

RUN=$(mktemp -d "$LAB/run.XXXXXX")
[ -n "$OUT" ] || OUT=$RUN/out
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CONSOLE=$RUN/console.log

# Paths the guest cannot see through the host root (its own tmpfs hides them) are shared.
BUILD=${NVME_MPATH_BUILD_DIR:-}
extra=("$TOP")
[ -n "$BUILD" ] && [ -d "$BUILD" ] && extra+=("$(cd "$BUILD" && pwd)")
case $OUT in "$RUN"/*) ;; *) extra+=("$OUT") ;; esac
extra+=("${SHARES[@]}")
VIRTFS=() SHARE_ARG=
i=0
for d in "${extra[@]}"; do
  case $d in /tmp|/tmp/*|/run/*|/dev/shm/*) ;; *) [ "$d" = "$OUT" ] || continue ;; esac
  mode=readonly=on gmode=ro; [ "$d" = "$OUT" ] && mode=readonly=off gmode=rw
  i=$((i + 1))
  VIRTFS+=(-virtfs "local,path=$d,mount_tag=x$i,security_model=none,$mode,multidevs=remap")
  SHARE_ARG+="${SHARE_ARG:+,}x$i:$gmode:$d"
done

# The command file: environment, lab set-up, then COMMAND.
{
  echo "set -o pipefail"
  echo "export LAB_LIB=$(printf %q "$HERE/lab.sh") LAB_OUT=$(printf %q "$OUT") LAB_PORTS=$PORTS LAB_MP=$MP"
  echo "export NVME_MPATH_SOURCE_DIR=$(printf %q "$TOP")"
  env | grep -E '^(NVME_MPATH|LAB)_[A-Za-z0-9_]*=' | grep -v -E '^(LAB_LIB|LAB_OUT|LAB_PORTS|LAB_MP)=' \
    | while IFS='=' read -r k v; do echo "export $k=$(printf %q "$v")"; done
  echo "cd $(printf %q "$PWD") 2>/dev/null || cd /"
  echo "echo \"LAB: cmd start uptime=\$(cut -d' ' -f1 /proc/uptime)\""
  if [ $SETUP = 1 ]; then
    echo "source \"\$LAB_LIB\" || exit 125"
    echo "t0=\$(cut -d' ' -f1 /proc/uptime)"
    echo "lab_setup $PORTS || { echo 'LAB: lab_setup failed'; exit 125; }"
    echo "echo \"LAB: setup done in \$(awk -v a=\$(cut -d' ' -f1 /proc/uptime) -v b=\$t0 'BEGIN{printf \"%.2f\", a-b}')s uptime=\$(cut -d' ' -f1 /proc/uptime)\""
  fi
  printf '%q ' "$@"; echo
} > "$RUN/cmd.sh"

APPEND="console=ttyS0 panic=-1 loglevel=4 mitigations=off nvme_core.multipath=$MP lab.run=$RUN"
[ -n "$SHARE_ARG" ] && APPEND+=" lab.shares=$SHARE_ARG"
QEMU=(qemu-system-x86_64 -M pc "${ACCELARGS[@]}" -smp "$SMP" -m "$MEM" -no-reboot -nic none
  -kernel "$KDIR/vmlinuz" -initrd "$KDIR/initramfs.cpio.gz" -append "$APPEND"
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
  -virtfs "local,path=$RUN,mount_tag=run,security_model=none,multidevs=remap"
  "${VIRTFS[@]}" -display none -monitor none -serial stdio)

echo "vm.sh: kernel $KVER, accel $ACCEL, mem $MEM, smp $SMP, multipath=$MP, ports $PORTS, run $RUN" >&2
T0=$(now)
first_cmd=
timeout -k 5 "$TIMEOUT" "${QEMU[@]}" </dev/null 2>&1 | while IFS= read -r line; do
  t=$(el "$T0")
  printf '[%6s] %s\n' "$t" "$line" >> "$CONSOLE"
  case $line in
    *"LAB: cmd start"*) echo "vm.sh: TIMING boot to first command: ${t}s (target <= 10 s)" >&2 ;;
    *"LAB: setup done"*) echo "vm.sh: TIMING boot + nvmet setup + connect: ${t}s (target <= 30 s); ${line#*LAB: }" >&2 ;;
    *"LAB: FATAL"*) echo "vm.sh: $line" >&2 ;;
  esac
  case $line in LAB:*|*"Kernel panic"*|*"BUG:"*|*"Oops"*) ;; *) printf '%s\n' "$line" ;; esac
done
qrc=${PIPESTATUS[0]}
wall=$(el "$T0")
if [ ! -f "$RUN/rc" ]; then
  echo "vm.sh: FAIL: the VM did not finish its command (qemu exit $qrc after ${wall}s; timeout ${TIMEOUT}s). Console tail:" >&2
  tail -n 40 "$CONSOLE" >&2
  exit 1
fi
rc=$(cat "$RUN/rc")
echo "vm.sh: TIMING total wall ${wall}s, command exit $rc; console $CONSOLE, output $OUT" >&2
if [ "$rc" = 125 ]; then
  echo "vm.sh: FAIL: lab set-up failed. Console tail:" >&2
  tail -n 30 "$CONSOLE" >&2
  exit 1
fi
# Keep the last runs only.
ls -dt "$LAB"/run.* 2>/dev/null | tail -n +21 | xargs -r rm -rf
exit "$rc"
