# lab.sh — the lab's guest library (bash, sourced inside the VM by vm.sh and by tests).
#
# Target: nvmet over TCP on 127.0.0.1, subsystem $LAB_NQN with 2 namespaces (64 MiB files on
# the guest's tmpfs, fixed NGUID and UUID; nsid 1 in ANA group 1, nsid 2 in ANA group 2) on
# ports 1..N (tcp 4420+N-1), each port with its own ANA state per group. Host: one controller
# per port, so one /dev/ngXnY per (port, namespace).
#
#   lab_setup [NPORTS]             target + connect every port (short fault timeouts)
#   lab_ctrl PORT                  current controller name of a port (nvmeX), never cached
#   lab_ng PORT NSID               its generic char device (/dev/ngXnY)
#   lab_ana PORT STATE [GROUP]     optimized|non-optimized|inaccessible|persistent-loss|change
#   lab_port_down PORT / lab_port_up PORT     unlink / relink the subsystem on the port
#   lab_reset PORT                 reset the port's controller
#   lab_delete PORT / lab_reconnect PORT      delete the controller (-ENODEV) / connect again
#   lab_blackhole PORT on|off      silent loss: nftables drop of the port's TCP traffic
#   lab_kill PORT                  port gone for good (the controller is deleted after ctrl-loss-tmo)
#   lab_wait_state PORT STATE SEC  wait for the controller state (live, connecting, gone...)
#   lab_paths                      one line per path: port, controller, state, ng per ns, ANA
# Knobs (environment): LAB_CTRL_LOSS_TMO (10), LAB_RECONNECT_DELAY (1), LAB_KATO (2),
# LAB_NS_MB (64).
LAB_NQN=${LAB_NQN:-nqn.2024-01.io.nvme-mpath:lab}
LAB_HOSTNQN=${LAB_HOSTNQN:-nqn.2014-08.org.nvmexpress:uuid:5f1a1c3e-0000-4000-8000-00000000a001}
LAB_HOSTID=${LAB_HOSTID:-5f1a1c3e-0000-4000-8000-00000000a001}
LAB_CFS=/sys/kernel/config/nvmet
LAB_BASE_PORT=4420

_lab_log() { echo "[lab $(cut -d' ' -f1 /proc/uptime)] $*" >&2; }
_lab_svc() { echo $((LAB_BASE_PORT + $1 - 1)); }
_lab_nguid() { printf '5f1a1c3e-%04x-4222-8333-4444555566%02x' "$1" "$1"; }
_lab_uuid() { printf '7a2b3c4d-%04x-4e5f-9a0b-1c2d3e4f5a%02x' "$1" "$1"; }

lab_setup() {
  local nports=${1:-${LAB_PORTS:-2}} p ns
  modprobe nvmet && modprobe nvmet-tcp && modprobe nvme-tcp || { _lab_log "modprobe failed"; return 1; }
  mkdir -p "$LAB_CFS/subsystems/$LAB_NQN" || return 1
  echo 1 > "$LAB_CFS/subsystems/$LAB_NQN/attr_allow_any_host"
  for ns in 1 2; do
    local d=$LAB_CFS/subsystems/$LAB_NQN/namespaces/$ns
    mkdir -p "$d"
    truncate -s "${LAB_NS_MB:-64}M" "/tmp/lab-ns$ns.img"
    echo -n "/tmp/lab-ns$ns.img" > "$d/device_path"
    echo 1 > "$d/buffered_io"      # tmpfs has no O_DIRECT in 6.1
    _lab_nguid $ns > "$d/device_nguid"
    _lab_uuid $ns > "$d/device_uuid"
    echo $ns > "$d/ana_grpid"
    echo 1 > "$d/enable" || { _lab_log "cannot enable namespace $ns"; return 1; }
  done
  for p in $(seq 1 "$nports"); do
    local pd=$LAB_CFS/ports/$p
    mkdir -p "$pd"
    echo tcp > "$pd/addr_trtype"
    echo ipv4 > "$pd/addr_adrfam"
    echo 127.0.0.1 > "$pd/addr_traddr"
    _lab_svc $p > "$pd/addr_trsvcid"
    mkdir -p "$pd/ana_groups/2"
    lab_port_up $p || return 1
    if [ "$p" = 1 ]; then lab_ana $p optimized; else lab_ana $p non-optimized; fi
  done
  for p in $(seq 1 "$nports"); do lab_connect $p || return 1; done
  if [ "$(cat /sys/module/nvme_core/parameters/multipath 2>/dev/null)" = Y ]; then
    # Native multipath: one head per namespace, no per-path ng device.
    for ns in 1 2; do
      local i
      for i in $(seq 1 200); do lab_head_ng $ns >/dev/null && break; sleep 0.1; done
      lab_head_ng $ns >/dev/null || { _lab_log "no multipath head for nsid $ns"; return 1; }
    done
    return 0
  fi
  for p in $(seq 1 "$nports"); do
    for ns in 1 2; do
      _lab_wait_ng $p $ns 20 || { _lab_log "no ng device for port $p nsid $ns"; return 1; }
    done
  done
  return 0
}

lab_connect() {
  local p=$1 out
  out=$(nvme connect -t tcp -a 127.0.0.1 -s "$(_lab_svc "$p")" -n "$LAB_NQN" \
        --hostnqn="$LAB_HOSTNQN" --hostid="$LAB_HOSTID" \
        --ctrl-loss-tmo="${LAB_CTRL_LOSS_TMO:-10}" --reconnect-delay="${LAB_RECONNECT_DELAY:-1}" \
        --keep-alive-tmo="${LAB_KATO:-2}" 2>&1) || { _lab_log "connect port $p failed: $out"; return 1; }
  return 0
}
lab_reconnect() { lab_connect "$1" && _lab_wait_ng "$1" 1 20 && _lab_wait_ng "$1" 2 20; }

# Controller of a port: matched on subsystem NQN + trsvcid, skipping controllers being deleted.
lab_ctrl() {
  local svc c addr state
  svc=$(_lab_svc "$1")
  for c in /sys/class/nvme/nvme*; do
    [ -e "$c/address" ] || continue
    [ "$(cat "$c/subsysnqn" 2>/dev/null)" = "$LAB_NQN" ] || continue
    addr=$(cat "$c/address" 2>/dev/null)
    case ",$addr," in *",trsvcid=$svc,"*) ;; *) continue ;; esac
    state=$(cat "$c/state" 2>/dev/null)
    case $state in deleting*) continue ;; esac
    echo "${c##*/}"
    return 0
  done
  return 1
}

lab_ng() {
  local c d
  c=$(lab_ctrl "$1") || return 1
  for d in /sys/class/nvme/"$c"/"$c"n*; do
    [ -e "$d/nsid" ] || continue
    if [ "$(cat "$d/nsid")" = "$2" ]; then
      local name=${d##*/}
      echo "/dev/ng${name#nvme}"
      return 0
    fi
  done
  return 1
}

# With nvme_core.multipath=Y: the head's generic char device of namespace NSID.
lab_head_ng() {
  local d name
  for d in /sys/block/nvme*n*; do
    name=${d##*/}
    case $name in *c*) continue ;; esac   # nvmeXcYnZ: hidden per-path namespaces
    [ "$(cat "$d/nsid" 2>/dev/null)" = "$1" ] || continue
    [ -c "/dev/ng${name#nvme}" ] && { echo "/dev/ng${name#nvme}"; return 0; }
  done
  return 1
}

_lab_wait_ng() {  # port nsid timeout
  local i ng
  for i in $(seq 1 $(( ${3:-10} * 10 ))); do
    ng=$(lab_ng "$1" "$2") && [ -c "$ng" ] && return 0
    sleep 0.1
  done
  return 1
}

lab_ana() {
  local p=$1 state=$2 g
  case $state in optimized|non-optimized|inaccessible|persistent-loss|change) ;;
    *) _lab_log "lab_ana: bad state '$state'"; return 2 ;; esac
  for g in ${3:-1 2}; do
    echo "$state" > "$LAB_CFS/ports/$p/ana_groups/$g/ana_state" || return 1
  done
  _lab_log "port $p ANA ${3:+group $3 }$state"
}
lab_ana_get() { cat "$LAB_CFS/ports/$1/ana_groups/${2:-1}/ana_state"; }

lab_port_down() { rm -f "$LAB_CFS/ports/$1/subsystems/$LAB_NQN"; _lab_log "port $1 down"; }
lab_port_up() {
  [ -e "$LAB_CFS/ports/$1/subsystems/$LAB_NQN" ] || ln -s "$LAB_CFS/subsystems/$LAB_NQN" "$LAB_CFS/ports/$1/subsystems/$LAB_NQN"
  _lab_log "port $1 up"
}
lab_reset() {
  local c
  c=$(lab_ctrl "$1") || { _lab_log "reset: no controller on port $1"; return 1; }
  echo 1 > "/sys/class/nvme/$c/reset_controller"
  _lab_log "port $1 controller $c reset"
}
lab_delete() {
  local c
  c=$(lab_ctrl "$1") || { _lab_log "delete: no controller on port $1"; return 1; }
  echo 1 > "/sys/class/nvme/$c/delete_controller"
  _lab_log "port $1 controller $c deleted"
}
lab_kill() { lab_port_down "$1"; _lab_log "port $1 killed for good"; }

lab_blackhole() {
  local p=$1 svc
  svc=$(_lab_svc "$p")
  if [ "$2" = on ]; then
    modprobe nf_tables 2>/dev/null
    nft add table inet lab_p$p &&
    nft add chain inet lab_p$p input '{ type filter hook input priority 0; policy accept; }' &&
    nft add rule inet lab_p$p input tcp dport "$svc" drop &&
    nft add rule inet lab_p$p input tcp sport "$svc" drop || return 1
  else
    nft delete table inet lab_p$p 2>/dev/null
  fi
  _lab_log "port $p blackhole $2"
}

lab_state() { local c; c=$(lab_ctrl "$1") || { echo gone; return 0; }; cat "/sys/class/nvme/$c/state" 2>/dev/null || echo gone; }
lab_wait_state() {
  local i
  for i in $(seq 1 $(( ${3:-10} * 10 ))); do
    [ "$(lab_state "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  _lab_log "port $1 not $2 after ${3:-10}s (is $(lab_state "$1"))"
  return 1
}

lab_paths() {
  local p ns c ng
  printf '%-5s %-7s %-11s %-12s %-15s %-12s %-15s\n' PORT CTRL STATE NS1 ANA NS2 ANA
  for p in $(seq 1 "${LAB_PORTS:-2}"); do
    c=$(lab_ctrl "$p" || echo -)
    local line
    line=$(printf '%-5s %-7s %-11s' "$p" "$c" "$(lab_state "$p")")
    for ns in 1 2; do
      ng=$(lab_ng "$p" "$ns" || echo -)
      local ana=-
      if [ -c "$ng" ]; then
        ana=$(nvme ana-log "$ng" 2>/dev/null | awk -v g=$ns '$1=="grpid"{id=$NF} $1=="state"{if (id==g) print $NF}' | head -1)
      fi
      line+=$(printf ' %-12s %-15s' "$ng" "${ana:--}")
    done
    echo "$line"
  done
}
