# lab.sh — the lab's guest library (bash, sourced inside the VM by vm.sh and by tests).
#
# Target: nvmet over TCP on 127.0.0.1, subsystem $LAB_NQN with 2 namespaces (64 MiB sparse files
# on the guest's tmpfs, buffered_io=1, fixed NGUID and UUID; nsid 1 in ANA group 1, nsid 2 in
# ANA group 2) on ports 1..N (tcp 4420+N-1), each port with its own ANA state per group (port 1
# optimized, the others non-optimized). Host: one controller per port, so one /dev/ngXnY per
# (port, namespace).
#
#   lab_setup [NPORTS]             target + connect every port (short fault timeouts), waits for
#                                  every ng device (multipath=Y: every head)
#   lab_ctrl PORT                  current controller name of a port (nvmeX), looked up in sysfs
#                                  by subsystem NQN + trsvcid every time (names are reused)
#   lab_ng PORT NSID               its generic char device (/dev/ngXnY)
#   lab_head_ng NSID               multipath=Y: the head's generic char device
#   lab_ana PORT STATE [GROUP]     optimized|non-optimized|inaccessible|persistent-loss|change
#                                  (every group when GROUP is omitted)
#   lab_port_down PORT / lab_port_up PORT     unlink / relink the subsystem on the port
#   lab_reset PORT                 reset the port's controller
#   lab_delete PORT / lab_reconnect PORT      delete the controller (-ENODEV) / connect again
#   lab_blackhole PORT on|off      silent loss: nftables drop of the port's TCP traffic, both ways
#                                  (the table and its hooked chains exist from lab_setup on: a
#                                  blackhole only adds a set element, see _lab_nft_init)
#   lab_inject PORT STATUS [COUNT] [OPCODE]   the port's fault proxy rewrites the completion of
#                                  the next COUNT (1; 0 = until cleared) I/O commands (OPCODE:
#                                  any) to STATUS, as cqe->res reports it (0x4281 = DNR + 0x281)
#   lab_delay PORT MS [down|up]    the proxy holds every PDU from the target (down) or from the
#                                  host (up: commands reach nvmet late, even after the host
#                                  gave up on them) MS ms; 0 ends it
#   lab_proxy PORT CMD...          any proxy command (tests/lab/nvmet_tcp_proxy.cc: rule ...,
#                                  clear, delay, stats); prints the reply, fails on "error"
#   lab_proxy_stat PORT KEY        one counter of the proxy (seen, injected, dropped, delayed,
#                                  held_up, orphans)
#   lab_kill PORT                  the port is gone for good (controller deleted after ctrl-loss-tmo)
#   lab_state PORT                 controller state (live, connecting, resetting, ...; "gone")
#   lab_wait_state PORT STATE SEC  wait (bounded) for that state; "gone" waits for the deletion
#   lab_paths                      one line per path: port, ctrl, state, ng and ANA state per ns
#                                  (as the host reads it: nvme ana-log; multipath=Y: the head's
#                                  ng and the kernel's per-path ana_state)
# Knobs (environment): LAB_CTRL_LOSS_TMO (10), LAB_RECONNECT_DELAY (1), LAB_KATO (2),
# LAB_NS_MB (64), LAB_CONNECT_TIMEOUT (30, per nvme connect), LAB_DEV_TIMEOUT (30, ng devices),
# LAB_CONNECT_EXTRA ("": more nvme connect options, e.g. --nr-poll-queues=1),
# LAB_PROXY_PORTS ("": ports whose host traffic goes through the fault proxy, e.g. "2" or "1 2";
# nvmet then listens on 4520+N-1, the proxy on the port's usual 4420+N-1 and takes commands on
# 4620+N-1), LAB_PROXY_BIN (the proxy binary; default: found in $NVME_MPATH_BUILD_DIR).
# Every wait is bounded. Functions return non-zero and log to stderr on failure.
LAB_NQN=${LAB_NQN:-nqn.2024-01.io.nvme-mpath:lab}
LAB_HOSTNQN=${LAB_HOSTNQN:-nqn.2014-08.org.nvmexpress:uuid:5f1a1c3e-0000-4000-8000-00000000a001}
LAB_HOSTID=${LAB_HOSTID:-5f1a1c3e-0000-4000-8000-00000000a001}
LAB_CFS=/sys/kernel/config/nvmet
LAB_BASE_PORT=4420
LAB_NSIDS="1 2"

_lab_log() { local up; _lab_rd up /proc/uptime; echo "[lab ${up%% *}] $*" >&2; }
_lab_svc() { echo $((LAB_BASE_PORT + $1 - 1)); }            # where the host connects
_lab_proxied() { case " ${LAB_PROXY_PORTS:-} " in *" $1 "*) return 0 ;; esac; return 1; }
_lab_target_svc() { if _lab_proxied "$1"; then echo $((LAB_BASE_PORT + 100 + $1 - 1)); else _lab_svc "$1"; fi; }
_lab_ctl_svc() { echo $((LAB_BASE_PORT + 200 + $1 - 1)); }
_lab_nguid() { printf '5f1a1c3e-%04x-4222-8333-4444555566%02x' "$1" "$1"; }
_lab_uuid() { printf '7a2b3c4d-%04x-4e5f-9a0b-1c2d3e4f5a%02x' "$1" "$1"; }
_lab_ports() { local i; for ((i = 1; i <= ${1:-${LAB_PORTS:-2}}; i++)); do echo $i; done; }

# Helpers that do not fork: under TCG every exec of a host binary over 9p costs tens of ms.
_lab_rd() {  # VAR FILE: the first line of FILE into VAR
  local __l=
  IFS= read -r __l 2>/dev/null < "$2" || [ -n "$__l" ] || { printf -v "$1" ''; return 1; }
  printf -v "$1" '%s' "$__l"
}
_lab_now_us() { echo "${EPOCHREALTIME/./}"; }
_lab_sleep() {  # SEC (fractions ok): a read timeout on a private fifo, no exec
  if [ -z "${_LAB_SLEEP_FD:-}" ]; then
    local f=/run/lab-sleep.$$
    if mkfifo "$f" 2>/dev/null && exec {_LAB_SLEEP_FD}<>"$f"; then rm -f "$f"; else
      _LAB_SLEEP_FD=none
    fi
  fi
  if [ "$_LAB_SLEEP_FD" = none ]; then sleep "$1"; else read -r -t "$1" -u "$_LAB_SLEEP_FD" _ 2>/dev/null || :; fi
}
# _lab_until SEC CMD...: run CMD every 0.1 s until it succeeds or SEC seconds pass.
_lab_until() {
  local sec=$1 end
  shift
  end=$(( $(_lab_now_us) + ${sec%.*} * 1000000 ))
  while :; do
    "$@" && return 0
    [ "$(_lab_now_us)" -lt "$end" ] || return 1
    _lab_sleep 0.1
  done
}

lab_setup() {
  local nports=${1:-${LAB_PORTS:-2}} p ns t0
  case $nports in 1|2|3|4) ;; *) _lab_log "lab_setup: NPORTS must be 1..4, not '$nports'"; return 2 ;; esac
  export LAB_PORTS=$nports
  t0=$(_lab_now_us)
  local m
  for m in nvmet nvmet-tcp nvme-tcp; do
    [ -d "/sys/module/${m//-/_}" ] || modprobe "$m" || { _lab_log "modprobe $m failed"; return 1; }
  done
  _lab_nft_init || return 1
  [ -d "$LAB_CFS" ] || { _lab_log "no $LAB_CFS (configfs not mounted?)"; return 1; }
  local s=$LAB_CFS/subsystems/$LAB_NQN
  mkdir -p "$s" && echo 1 > "$s/attr_allow_any_host" || { _lab_log "cannot create subsystem $LAB_NQN"; return 1; }
  for ns in $LAB_NSIDS; do
    local d=$s/namespaces/$ns img=/tmp/lab-ns$ns.img
    mkdir -p "$d" || return 1
    truncate -s "${LAB_NS_MB:-64}M" "$img" || { _lab_log "cannot create $img"; return 1; }
    echo -n "$img" > "$d/device_path"
    echo 1 > "$d/buffered_io"      # tmpfs has no O_DIRECT in 6.1
    _lab_nguid "$ns" > "$d/device_nguid"
    _lab_uuid "$ns" > "$d/device_uuid"
    echo "$ns" > "$d/ana_grpid"
    echo 1 > "$d/enable" || { _lab_log "cannot enable namespace $ns (see dmesg)"; return 1; }
  done
  for p in $(_lab_ports "$nports"); do
    local pd=$LAB_CFS/ports/$p
    mkdir -p "$pd" "$pd/ana_groups/2" || { _lab_log "cannot create port $p"; return 1; }
    echo tcp > "$pd/addr_trtype"
    echo ipv4 > "$pd/addr_adrfam"
    echo 127.0.0.1 > "$pd/addr_traddr"
    _lab_target_svc "$p" > "$pd/addr_trsvcid"
    if [ "$p" = 1 ]; then lab_ana "$p" optimized; else lab_ana "$p" non-optimized; fi || return 1
    lab_port_up "$p" || return 1
    if _lab_proxied "$p"; then _lab_proxy_start "$p" || return 1; fi
  done
  _lab_log "target ready in $(( ($(_lab_now_us) - t0) / 1000 )) ms"
  for p in $(_lab_ports "$nports"); do lab_connect "$p" || return 1; done
  local mp
  _lab_rd mp /sys/module/nvme_core/parameters/multipath
  if [ "$mp" = Y ]; then
    # Native multipath: one head per namespace, no per-path ng device.
    for ns in $LAB_NSIDS; do
      _lab_until "${LAB_DEV_TIMEOUT:-30}" _lab_head_ready "$ns" || { _lab_log "no multipath head for nsid $ns"; return 1; }
    done
  else
    for p in $(_lab_ports "$nports"); do
      for ns in $LAB_NSIDS; do
        _lab_wait_ng "$p" "$ns" "${LAB_DEV_TIMEOUT:-30}" || { _lab_log "no ng device for port $p nsid $ns ($(lab_state "$p"))"; return 1; }
      done
    done
  fi
  _lab_log "$nports port(s) connected, setup took $(( ($(_lab_now_us) - t0) / 1000 )) ms"
}

lab_connect() {
  local p=$1 out
  out=$(timeout "${LAB_CONNECT_TIMEOUT:-30}" nvme connect -t tcp -a 127.0.0.1 -s "$(_lab_svc "$p")" -n "$LAB_NQN" \
        --hostnqn="$LAB_HOSTNQN" --hostid="$LAB_HOSTID" \
        --ctrl-loss-tmo="${LAB_CTRL_LOSS_TMO:-10}" --reconnect-delay="${LAB_RECONNECT_DELAY:-1}" \
        --keep-alive-tmo="${LAB_KATO:-2}" ${LAB_CONNECT_EXTRA:-} 2>&1) || { _lab_log "connect port $p failed: $out"; return 1; }
}
lab_reconnect() {
  lab_connect "$1" || return 1
  local ns
  for ns in $LAB_NSIDS; do _lab_wait_ng "$1" "$ns" "${LAB_DEV_TIMEOUT:-30}" || { _lab_log "reconnect: no ng for port $1 nsid $ns"; return 1; }; done
  _lab_log "port $1 reconnected as $(lab_ctrl "$1")"
}

# Controller of a port: matched on subsystem NQN + traddr/trsvcid, skipping controllers being
# deleted. Never cache the answer: names are reused after a deletion.
lab_ctrl() {
  local svc c nqn addr state
  svc=$(( LAB_BASE_PORT + $1 - 1 ))
  for c in /sys/class/nvme/nvme*; do
    _lab_rd nqn "$c/subsysnqn" && [ "$nqn" = "$LAB_NQN" ] || continue
    _lab_rd addr "$c/address" || continue
    case ",$addr," in *",trsvcid=$svc,"*) ;; *) continue ;; esac
    case ",$addr," in *",traddr=127.0.0.1,"*) ;; *) continue ;; esac
    _lab_rd state "$c/state"
    case $state in deleting*) continue ;; esac
    echo "${c##*/}"
    return 0
  done
  return 1
}

lab_ng() {
  local c d nsid name
  c=$(lab_ctrl "$1") || return 1
  for d in /sys/class/nvme/"$c"/"$c"n*; do
    _lab_rd nsid "$d/nsid" && [ "$nsid" = "$2" ] || continue
    name=${d##*/}
    echo "/dev/ng${name#nvme}"
    return 0
  done
  return 1
}

# With nvme_core.multipath=Y: the head's generic char device of namespace NSID.
lab_head_ng() {
  local d name nsid
  for d in /sys/block/nvme*n*; do
    name=${d##*/}
    case $name in *c*) continue ;; esac   # nvmeXcYnZ: hidden per-path namespaces
    _lab_rd nsid "$d/nsid" && [ "$nsid" = "$1" ] || continue
    [ -c "/dev/ng${name#nvme}" ] && { echo "/dev/ng${name#nvme}"; return 0; }
  done
  return 1
}
_lab_head_ready() { lab_head_ng "$1" >/dev/null; }

_lab_ng_ready() { local ng; ng=$(lab_ng "$1" "$2") && [ -c "$ng" ]; }
_lab_wait_ng() { _lab_until "${3:-10}" _lab_ng_ready "$1" "$2"; }  # port nsid timeout

lab_ana() {
  local p=$1 state=$2 g
  case $state in optimized|non-optimized|inaccessible|persistent-loss|change) ;;
    *) _lab_log "lab_ana: bad state '$state' (optimized|non-optimized|inaccessible|persistent-loss|change)"; return 2 ;; esac
  [ -d "$LAB_CFS/ports/$p" ] || { _lab_log "lab_ana: no port $p"; return 1; }
  for g in ${3:-$LAB_NSIDS}; do
    echo "$state" > "$LAB_CFS/ports/$p/ana_groups/$g/ana_state" || { _lab_log "lab_ana: cannot set port $p group $g"; return 1; }
  done
  _lab_log "port $p ANA ${3:+group $3 }$state"
}
lab_ana_get() { local s; _lab_rd s "$LAB_CFS/ports/$1/ana_groups/${2:-1}/ana_state" && echo "$s"; }

lab_port_down() {
  [ -d "$LAB_CFS/ports/$1" ] || { _lab_log "lab_port_down: no port $1"; return 1; }
  rm -f "$LAB_CFS/ports/$1/subsystems/$LAB_NQN" && _lab_log "port $1 down"
}
lab_port_up() {
  [ -d "$LAB_CFS/ports/$1" ] || { _lab_log "lab_port_up: no port $1"; return 1; }
  [ -e "$LAB_CFS/ports/$1/subsystems/$LAB_NQN" ] || ln -s "$LAB_CFS/subsystems/$LAB_NQN" "$LAB_CFS/ports/$1/subsystems/$LAB_NQN" \
    || { _lab_log "lab_port_up: cannot link port $1 (port in use?)"; return 1; }
  _lab_log "port $1 up"
}
# The kernel resets synchronously: the write returns once the reset work ran. It fails with
# EBUSY when the controller cannot be reset now (already resetting, connecting, deleting), and
# with ENETRESET when the reset was done but the controller did not come back live (a blackholed
# or unlinked port): that reset happened, and counts as done.
lab_reset() {
  local c err
  c=$(lab_ctrl "$1") || { _lab_log "reset: no controller on port $1"; return 1; }
  if ! err=$( { echo 1 > "/sys/class/nvme/$c/reset_controller"; } 2>&1 ); then
    case $err in
      *"Network dropped connection on reset"*) _lab_log "port $1 controller $c reset (not live after it: $(lab_state "$1"))"; return 0 ;;
    esac
    _lab_log "reset of $c refused (state $(lab_state "$1")): $err"
    return 1
  fi
  _lab_log "port $1 controller $c reset"
}
lab_delete() {
  local c
  c=$(lab_ctrl "$1") || { _lab_log "delete: no controller on port $1"; return 1; }
  echo 1 > "/sys/class/nvme/$c/delete_controller" || { _lab_log "delete of $c failed"; return 1; }
  _lab_log "port $1 controller $c deleted"
}
# For good: the target stops listening; the host reconnects (0x370) until ctrl-loss-tmo, then
# deletes the controller (-ENODEV on open fds). Only lab_port_up brings the port back.
lab_kill() { lab_port_down "$1" && _lab_log "port $1 killed (controller deleted after ctrl-loss-tmo ${LAB_CTRL_LOSS_TMO:-10}s)"; }

# Under QEMU TCG, registering netfilter hooks patches kernel text (static keys) while the other
# vCPU may be running through it: armed during I/O, that panicked the 6.12 guest ("Oops: int3"
# in ip_local_deliver). So the table, its hooked chains and an empty set of blackholed ports are
# made once here, before any NVMe traffic, and a blackhole only adds or removes a set element.
_lab_nft_init() {
  [ -d /sys/module/nf_tables ] || modprobe nf_tables || { _lab_log "modprobe nf_tables failed"; return 1; }
  nft -f - <<EOF || { _lab_log "nft: cannot create the lab table"; return 1; }
table inet lab {
  set blackhole { type inet_service; }
  chain input { type filter hook input priority 0; policy accept; tcp dport @blackhole drop; tcp sport @blackhole drop; }
  chain output { type filter hook output priority 0; policy accept; tcp dport @blackhole drop; tcp sport @blackhole drop; }
}
EOF
}
lab_blackhole() {
  local p=$1 svc
  [ -d "$LAB_CFS/ports/$p" ] || { _lab_log "lab_blackhole: no port $p"; return 1; }
  svc=$(_lab_svc "$p")
  case $2 in
    on) nft add element inet lab blackhole "{ $svc }" || { _lab_log "blackhole port $p: nft failed"; return 1; } ;;
    off) nft delete element inet lab blackhole "{ $svc }" || { _lab_log "blackhole port $p off: nft failed (was it on?)"; return 1; } ;;
    *) _lab_log "lab_blackhole: want on|off, not '$2'"; return 2 ;;
  esac
  _lab_log "port $p blackhole $2"
}

# The fault proxy (tests/lab/nvmet_tcp_proxy.cc) of a port in LAB_PROXY_PORTS.
_lab_proxy_bin() {
  local b
  for b in "${LAB_PROXY_BIN:-}" "${NVME_MPATH_BUILD_DIR:-}/tests/lab/nvmet_tcp_proxy" "${NVME_MPATH_BUILD_DIR:-}/nvmet_tcp_proxy"; do
    [ -n "$b" ] && [ -x "$b" ] && { echo "$b"; return 0; }
  done
  _lab_log "no nvmet_tcp_proxy binary (build it, or set LAB_PROXY_BIN)"
  return 1
}
_lab_proxy_start() {
  local p=$1 bin
  bin=$(_lab_proxy_bin) || return 1
  "$bin" --listen "$(_lab_svc "$p")" --target "$(_lab_target_svc "$p")" --control "$(_lab_ctl_svc "$p")" \
    2>> "${LAB_OUT:-/tmp}/proxy.$p.log" &
  _lab_until 10 _lab_proxy_ready "$p" || { _lab_log "proxy of port $p did not start (${LAB_OUT:-/tmp}/proxy.$p.log)"; return 1; }
  _lab_log "port $p: fault proxy on $(_lab_svc "$p") -> nvmet $(_lab_target_svc "$p")"
}
_lab_proxy_ready() { lab_proxy "$1" stats >/dev/null 2>&1; }
lab_proxy() {
  local p=$1 fd reply
  shift
  _lab_proxied "$p" || { _lab_log "lab_proxy: port $p has no fault proxy (LAB_PROXY_PORTS='${LAB_PROXY_PORTS:-}')"; return 1; }
  exec {fd}<>"/dev/tcp/127.0.0.1/$(_lab_ctl_svc "$p")" 2>/dev/null || { _lab_log "lab_proxy: port $p: proxy not reachable"; return 1; }
  echo "$*" >&"$fd"
  read -r -t 10 reply <&"$fd"
  exec {fd}>&-
  echo "$reply"
  case $reply in ok*) return 0 ;; esac
  _lab_log "lab_proxy port $p '$*': ${reply:-no reply}"
  return 1
}
lab_proxy_stat() {
  local r kv
  r=$(lab_proxy "$1" stats) || return 1
  for kv in $r; do case $kv in "$2"=*) echo "${kv#*=}"; return 0 ;; esac; done
  _lab_log "lab_proxy_stat: no counter '$2' in '$r'"
  return 1
}
lab_inject() {
  local p=$1 st=${2:?lab_inject PORT STATUS [COUNT] [OPCODE]} n=${3:-1} opc=${4:-}
  lab_proxy "$p" rule "status=$st" "count=$n" ${opc:+"opcode=$opc"} >/dev/null || return 1
  _lab_log "port $p: next $n I/O completion(s)${opc:+ of opcode $opc} -> status $st (count 0: until cleared)"
}
lab_delay() {
  lab_proxy "$1" delay "${2:?lab_delay PORT MS [down|up]}" "${3:-down}" >/dev/null || return 1
  _lab_log "port $1: ${3:-down} traffic delayed ${2} ms"
}

lab_state() {
  local c s
  c=$(lab_ctrl "$1") || { echo gone; return 0; }
  _lab_rd s "/sys/class/nvme/$c/state" && echo "$s" || echo gone
}
_lab_state_is() { [ "$(lab_state "$1")" = "$2" ]; }
lab_wait_state() {
  _lab_until "${3:-10}" _lab_state_is "$1" "$2" && return 0
  _lab_log "port $1 not $2 after ${3:-10}s (is $(lab_state "$1"))"
  return 1
}

lab_paths() {
  local p ns c ng ana line mp
  _lab_rd mp /sys/module/nvme_core/parameters/multipath
  printf '%-5s %-7s %-11s %-12s %-15s %-12s %-15s\n' PORT CTRL STATE NS1 ANA NS2 ANA
  for p in $(_lab_ports); do
    c=$(lab_ctrl "$p") || c=-
    line=$(printf '%-5s %-7s %-11s' "$p" "$c" "$(lab_state "$p")")
    for ns in $LAB_NSIDS; do
      ana=-
      if [ "$mp" = Y ]; then
        # Native multipath: the head's ng device, and the kernel's per-path ANA state
        # (hidden namespace nvmeYcXnZ under the controller).
        ng=$(lab_head_ng "$ns") || ng=-
        local d nsid
        for d in /sys/class/nvme/"$c"/nvme*c*n*; do
          _lab_rd nsid "$d/nsid" && [ "$nsid" = "$ns" ] && _lab_rd ana "$d/ana_state" && break
          ana=-
        done
        line+=$(printf ' %-12s %-15s' "$ng" "${ana:--}")
        continue
      fi
      ng=$(lab_ng "$p" "$ns") || ng=-
      if [ -c "$ng" ]; then
        # The host's view: the ANA log page read on that path (bounded: a dead path may hang).
        ana=$(timeout 5 nvme ana-log "$ng" 2>/dev/null | awk -v g="$ns" '$1=="grpid"{id=$NF} $1=="state"{if (id==g) {print $NF; exit}}')
      fi
      line+=$(printf ' %-12s %-15s' "$ng" "${ana:--}")
    done
    echo "$line"
  done
}
