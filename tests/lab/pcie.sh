# pcie.sh — the guest library of the PCIe lab topology (vm.sh --topology pcie), sourced like
# lab.sh, whose helpers it reuses (_lab_until, _lab_rd, lab_state, lab_wait_state, lab_reset).
#
# Target: QEMU's emulated NVMe subsystem $LAB_PCIE_NQN (nvme-subsys, FDP on: 8 reclaim unit
# handles, one reclaim group) with two PCIe controllers, "path" 1 and 2 (serial mpath-pcie-1/2,
# QEMU ids ctrl1/ctrl2, on root ports rp1/rp2), sharing four 64 MiB namespaces, 4096-byte LBAs:
#   nsid 1  plain
#   nsid 2  8 bytes of separate metadata per LBA, protection information type 1 (16-bit guard,
#           first 8 bytes of the metadata)
#   nsid 3  8 bytes of metadata per LBA, extended (interleaved after each LBA's data)
#   nsid 4  Flexible Data Placement: placement handles 0-3
# Booted with nvme_core.multipath=N: one /dev/ngXnY per (controller, namespace).
#
#   lab_setup                      load the PCIe driver, wait for both controllers and every ng
#   lab_ctrl PATH                  controller name (nvmeX) of path 1|2, by serial (names change
#                                  after a hot-plug)
#   lab_ng PATH NSID               its generic char device
#   lab_reset PATH                 reset the controller (lab.sh)
#   lab_unplug PATH                QEMU monitor device_del of the controller: the guest's pciehp
#                                  removes it (attention button); waits until it is gone
#   lab_plug PATH                  device_add it back on its root port; waits for its ng devices
#   lab_monitor CMD...             one QEMU human-monitor command, through vm.sh's relay
#   lab_state PATH / lab_wait_state PATH STATE SEC / lab_paths   as in lab.sh
# Every wait is bounded; functions return non-zero and log to stderr on failure.
source "$(dirname "${BASH_SOURCE[0]}")/lab.sh" || return 1
LAB_PCIE_NQN=${LAB_PCIE_NQN:-nqn.2026-12.io.nvme-mpath:pcie}
LAB_NQN=$LAB_PCIE_NQN
LAB_NSIDS="1 2 3 4"
LAB_PORTS=2

lab_setup() {
  local t0 p ns
  t0=$(_lab_now_us)
  [ -d /sys/module/nvme ] || modprobe nvme || { _lab_log "modprobe nvme failed"; return 1; }
  for p in 1 2; do
    for ns in $LAB_NSIDS; do
      _lab_wait_ng "$p" "$ns" "${LAB_DEV_TIMEOUT:-30}" || { _lab_log "no ng device for controller $p nsid $ns ($(lab_state "$p"))"; return 1; }
    done
  done
  _lab_log "2 PCIe controllers, namespaces $LAB_NSIDS ready in $(( ($(_lab_now_us) - t0) / 1000 )) ms"
}

lab_ctrl() {
  local c nqn serial state
  for c in /sys/class/nvme/nvme*; do
    _lab_rd nqn "$c/subsysnqn" && [ "$nqn" = "$LAB_PCIE_NQN" ] || continue
    _lab_rd serial "$c/serial" || continue
    [ "${serial%% *}" = "mpath-pcie-$1" ] || continue
    _lab_rd state "$c/state"
    case $state in deleting*) continue ;; esac
    echo "${c##*/}"
    return 0
  done
  return 1
}

_lab_mon_seq=0
lab_monitor() {
  local d=$LAB_RUN/monitor n rep
  [ -d "$d" ] || { _lab_log "monitor: no relay ($d): not a PCIe-topology VM?"; return 1; }
  _lab_mon_seq=$((_lab_mon_seq + 1)); n=$$.$_lab_mon_seq
  echo "$*" > "$d/.req.$n" && mv "$d/.req.$n" "$d/req.$n" || return 1
  _lab_until 40 test -f "$d/rep.$n" || { _lab_log "monitor: no answer to '$*' in 40 s"; return 1; }
  rep=$(cat "$d/rep.$n"); rm -f "$d/rep.$n"
  printf '%s\n' "$rep" | sed '$d'
  case $rep in *rc=0) return 0 ;; esac
  _lab_log "monitor: '$*' failed: $rep"
  return 1
}

_lab_gone() { ! lab_ctrl "$1" >/dev/null; }
lab_unplug() {
  local c
  c=$(lab_ctrl "$1") || { _lab_log "unplug: controller $1 is not there"; return 1; }
  lab_monitor device_del "ctrl$1" >/dev/null || return 1
  # pciehp waits 5 s after the attention button before it removes the device.
  _lab_until "${LAB_UNPLUG_TIMEOUT:-30}" _lab_gone "$1" || { _lab_log "unplug: $c still there after ${LAB_UNPLUG_TIMEOUT:-30}s"; return 1; }
  _lab_log "controller $1 ($c) unplugged"
}
lab_plug() {
  local ns
  lab_ctrl "$1" >/dev/null && { _lab_log "plug: controller $1 is already there"; return 1; }
  # QEMU finishes the removal once the guest let the slot go; until then the id is taken.
  _lab_until 20 lab_monitor device_add "nvme,id=ctrl$1,serial=mpath-pcie-$1,subsys=subsys0,bus=rp$1" >/dev/null \
    || { _lab_log "plug: device_add of controller $1 refused"; return 1; }
  for ns in $LAB_NSIDS; do
    _lab_wait_ng "$1" "$ns" "${LAB_DEV_TIMEOUT:-30}" || { _lab_log "plug: no ng for controller $1 nsid $ns"; return 1; }
  done
  _lab_log "controller $1 plugged back as $(lab_ctrl "$1")"
}

lab_paths() {
  local p ns c line
  printf '%-5s %-7s %-11s' PATH CTRL STATE; for ns in $LAB_NSIDS; do printf ' %-11s' "NS$ns"; done; echo
  for p in 1 2; do
    c=$(lab_ctrl "$p") || c=-
    line=$(printf '%-5s %-7s %-11s' "$p" "$c" "$(lab_state "$p")")
    for ns in $LAB_NSIDS; do line+=$(printf ' %-11s' "$(lab_ng "$p" "$ns" || echo -)"); done
    echo "$line"
  done
}
